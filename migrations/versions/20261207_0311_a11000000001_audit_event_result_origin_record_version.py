"""trust: audit event result, origin, record version

Revision ID: a11000000001
Revises: 937c09e46491
Create Date: 2026-12-07 03:11:00

"""
from alembic import op
import sqlalchemy as sa

import sdd_crm.db


# revision identifiers, used by Alembic.
revision = 'a11000000001'
down_revision = '937c09e46491'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('action', existing_type=sa.String(length=16),
                              type_=sa.String(length=32), existing_nullable=False)
        batch_op.add_column(sa.Column('result', sa.String(length=16), server_default='success',
                                      nullable=False))
        batch_op.add_column(sa.Column('origin', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('record_version', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('record_version')
        batch_op.drop_column('origin')
        batch_op.drop_column('result')
        batch_op.alter_column('action', existing_type=sa.String(length=32),
                              type_=sa.String(length=16), existing_nullable=False)
