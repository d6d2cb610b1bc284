"""signals that are right: how current the stored criticality is

One row, ``criticality_state`` (id 1): ``network_version`` rises with every committed change of
what the criticality engine reads, and a finished recompute records the version it read and
when (``computed_version``, ``computed_at``). The pages say whether the figures are stale or
missing (issue 14, point 1). A database that already holds a computation counts it as current:
its last finished recompute (or else its newest assessment) gives ``computed_at``.

Revision ID: d14000000001
Revises: c13000000001
Create Date: 2026-12-07 14:01:00

"""
import sqlalchemy as sa
from alembic import op

import sdd_crm.db

# revision identifiers, used by Alembic.
revision = 'd14000000001'
down_revision = 'c13000000001'
branch_labels = None
depends_on = None


def upgrade():
    state = op.create_table(
        'criticality_state',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('network_version', sa.Integer(), nullable=False),
        sa.Column('network_changed_at', sdd_crm.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('network_change_reason', sa.String(length=40), nullable=True),
        sa.Column('computed_version', sa.Integer(), nullable=False),
        sa.Column('computed_at', sdd_crm.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('computed_job_id', sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_criticality_state')),
    )
    conn = op.get_bind()
    job = sa.table('job', sa.column('id', sa.String), sa.column('kind', sa.String),
                   sa.column('status', sa.String),
                   sa.column('started_at', sdd_crm.db.UTCDateTime(timezone=True)))
    last = conn.execute(
        sa.select(job.c.id, job.c.started_at)
        .where(job.c.kind == 'criticality_recompute', job.c.status == 'finished',
               job.c.started_at.is_not(None))
        .order_by(job.c.started_at.desc()).limit(1)).first()
    assessment = sa.table('criticality_assessment',
                          sa.column('computed_at', sdd_crm.db.UTCDateTime(timezone=True)))
    computed_at = last.started_at if last is not None else conn.execute(
        sa.select(sa.func.max(assessment.c.computed_at))).scalar()
    op.bulk_insert(state, [{
        'id': 1, 'network_version': 0, 'network_changed_at': None,
        'network_change_reason': None, 'computed_version': 0, 'computed_at': computed_at,
        'computed_job_id': last.id if last is not None else None}])


def downgrade():
    op.drop_table('criticality_state')
