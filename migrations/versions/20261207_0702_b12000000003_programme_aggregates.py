"""speed: programme counts kept as aggregates

Two tables hold the count of DESIGN 4.2 so pages read it instead of evaluating the rule over
every participation per request (issue 12): ``participation_verdict`` (the verdict on each live
participation) and ``programme_tally`` (per programme: counted, unverified, excluded per reason,
counted per municipality and per day, the pipeline per status — all, counting, per
municipality — and ``kept`` once counted).
``sdd_crm.programmes.tally`` keeps them current in the transaction of every change. They start
empty: the first reader of a programme's figures counts it (or ``flask programmes recount``).

Revision ID: b12000000003
Revises: b12000000002
Create Date: 2026-12-07 07:02:00

"""
from alembic import op
import sqlalchemy as sa

import sdd_crm.db


# revision identifiers, used by Alembic.
revision = 'b12000000003'
down_revision = 'b12000000002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "participation_verdict",
        sa.Column("participation_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("survivor_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("counts", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=True),
        sa.Column("sme", sa.String(length=20), nullable=True),
        sa.Column("municipality_code", sa.String(length=10), nullable=True),
        sa.Column("own_municipality_code", sa.String(length=10), nullable=True),
        sa.Column("counted_at", sdd_crm.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("counted_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("participation_id", name=op.f("pk_participation_verdict")),
    )
    op.create_index("ix_participation_verdict_programme_counts", "participation_verdict",
                    ["programme_id", "counts", "participation_id"])
    op.create_index("ix_participation_verdict_organisation_id", "participation_verdict",
                    ["organisation_id"])
    op.create_index("ix_participation_verdict_survivor_id", "participation_verdict",
                    ["survivor_id"])
    op.create_table(
        "programme_tally",
        sa.Column("programme_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("key", sa.String(length=24), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("programme_id", "kind", "key", name=op.f("pk_programme_tally")),
    )


def downgrade():
    op.drop_table("programme_tally")
    op.drop_index("ix_participation_verdict_survivor_id", table_name="participation_verdict")
    op.drop_index("ix_participation_verdict_organisation_id", table_name="participation_verdict")
    op.drop_index("ix_participation_verdict_programme_counts", table_name="participation_verdict")
    op.drop_table("participation_verdict")
