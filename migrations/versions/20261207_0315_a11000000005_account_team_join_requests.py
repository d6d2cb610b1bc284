"""trust: account team join requests

Revision ID: a11000000005
Revises: a11000000004
Create Date: 2026-12-07 03:15:00

"""
from alembic import op
import sqlalchemy as sa

import sdd_crm.db


# revision identifiers, used by Alembic.
revision = 'a11000000005'
down_revision = 'a11000000004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('account_team_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('team_role', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sdd_crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sdd_crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sdd_crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], name=op.f('fk_account_team_request_decided_by_id_user')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_account_team_request_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_account_team_request_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_team_request'))
    )
    with op.batch_alter_table('account_team_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_team_request_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_team_request_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_account_team_request_status', ['status', 'created_at'], unique=False)
        batch_op.create_index('uq_account_team_request_one_open', ['organisation_id', 'user_id'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))


def downgrade():
    with op.batch_alter_table('account_team_request', schema=None) as batch_op:
        batch_op.drop_index('uq_account_team_request_one_open', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index('ix_account_team_request_status')
        batch_op.drop_index(batch_op.f('ix_account_team_request_user_id'))
        batch_op.drop_index(batch_op.f('ix_account_team_request_organisation_id'))

    op.drop_table('account_team_request')
