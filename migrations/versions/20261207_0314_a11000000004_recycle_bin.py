"""trust: recycle bin

Revision ID: a11000000004
Revises: a11000000003
Create Date: 2026-12-07 03:14:00

"""
from alembic import op
import sqlalchemy as sa

import sdd_crm.db


# revision identifiers, used by Alembic.
revision = 'a11000000004'
down_revision = 'a11000000003'
branch_labels = None
depends_on = None


def upgrade():
    # When each periodic job (sdd_crm/jobs/schedule.py: the bin purge, …) last started.
    op.create_table('schedule_run',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('last_run_at', sdd_crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_job_id', sa.String(length=36), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_schedule_run'))
    )


def downgrade():
    op.drop_table('schedule_run')
