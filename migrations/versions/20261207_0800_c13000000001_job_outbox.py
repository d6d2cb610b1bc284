"""jobs never lost: the job outbox

A job that a committed change asks for is recorded in the same transaction as that change: a
``job_outbox`` row naming the task, the Job row it runs, its timeout and retries (and the id of
the request that asked for it). The dispatcher (``sdd_crm.jobs.outbox``) hands each row to RQ
after the commit and marks it dispatched; when Redis does not take it, the row stays and is
tried again until Redis does. ``job.request_id`` carries the request's id into the job's log;
``job.worker`` names the process running it (host and process id), so that a job whose worker
died is found (``sdd_crm.jobs.reaper``).

Revision ID: c13000000001
Revises: b12000000007
Create Date: 2026-12-07 08:00:00

"""
import sqlalchemy as sa
from alembic import op

import sdd_crm.db


# revision identifiers, used by Alembic.
revision = 'c13000000001'
down_revision = 'b12000000007'
branch_labels = None
depends_on = None

PENDING = {"sqlite_where": sa.text("dispatched_at IS NULL"),
           "postgresql_where": sa.text("dispatched_at IS NULL")}


def upgrade():
    op.create_table(
        'job_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('job_id', sa.String(length=36), nullable=False),
        sa.Column('task', sa.String(length=200), nullable=False),
        sa.Column('timeout', sa.Integer(), nullable=False),
        sa.Column('retries', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.String(length=64), nullable=True),
        sa.Column('created_at', sdd_crm.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('available_at', sdd_crm.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('dispatched_at', sdd_crm.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_job_outbox_job_id_job')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_job_outbox')),
    )
    op.create_index('ix_job_outbox_job_id', 'job_outbox', ['job_id'])
    op.create_index('ix_job_outbox_pending', 'job_outbox', ['available_at', 'id'], **PENDING)
    # Plain ADD COLUMN (no batch): SQLite's table copy would drop triggers of other migrations.
    op.add_column('job', sa.Column('request_id', sa.String(length=64), nullable=True))
    op.add_column('job', sa.Column('worker', sa.String(length=120), nullable=True))


def downgrade():
    op.drop_column('job', 'worker')
    op.drop_column('job', 'request_id')
    op.drop_index('ix_job_outbox_pending', table_name='job_outbox')
    op.drop_index('ix_job_outbox_job_id', table_name='job_outbox')
    op.drop_table('job_outbox')
