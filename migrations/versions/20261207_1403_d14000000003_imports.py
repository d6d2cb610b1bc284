"""imports a user can trust: what each import changed, and its undo (issue 14 point 7)

Revision ID: d14000000003
Revises: d14000000001
Create Date: 2026-12-07 14:03:00

"""
import sqlalchemy as sa
from alembic import op

import sdd_crm.db


# revision identifiers, used by Alembic.
revision = 'd14000000003'
down_revision = 'd14000000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.String(length=36), nullable=False),
    sa.Column('entity_type', sa.String(length=20), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=True),
    sa.Column('record_version', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_import_change_job_id_job')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_change'))
    )
    with op.batch_alter_table('import_change', schema=None) as batch_op:
        batch_op.create_index('ix_import_change_job', ['job_id', 'entity_type', 'action'],
                              unique=False)
        batch_op.create_index('ix_import_change_entity', ['entity_type', 'entity_id'],
                              unique=False)

    op.create_table('import_undo',
    sa.Column('job_id', sa.String(length=36), nullable=False),
    sa.Column('undone_at', sdd_crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('undone_by_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_import_undo_job_id_job')),
    sa.ForeignKeyConstraint(['undone_by_id'], ['user.id'],
                            name=op.f('fk_import_undo_undone_by_id_user')),
    sa.PrimaryKeyConstraint('job_id', name=op.f('pk_import_undo'))
    )


def downgrade():
    op.drop_table('import_undo')
    with op.batch_alter_table('import_change', schema=None) as batch_op:
        batch_op.drop_index('ix_import_change_entity')
        batch_op.drop_index('ix_import_change_job')
    op.drop_table('import_change')
