"""account self-service: notification preferences and password-reset links

Revision ID: d14000000004
Revises: d14000000003
Create Date: 2026-12-07 14:04:00

"""
import sqlalchemy as sa
from alembic import op

import sdd_crm.db


# revision identifiers, used by Alembic.
revision = 'd14000000004'
down_revision = 'd14000000003'
branch_labels = None
depends_on = None


def upgrade():
    # Constant defaults ("1"/"0", which PostgreSQL reads as booleans too) let SQLite add the
    # columns in place; an expression default would make batch mode rebuild the user table,
    # which the foreign keys pointing at it refuse.
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_in_app', sa.Boolean(), server_default="1",
                                      nullable=False))
        batch_op.add_column(sa.Column('notify_email', sa.Boolean(), server_default="1",
                                      nullable=False))
        batch_op.add_column(sa.Column('notify_digest', sa.Boolean(), server_default="0",
                                      nullable=False))
        batch_op.add_column(sa.Column('digest_sent_on', sa.Date(), nullable=True))

    op.create_table('password_reset_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sdd_crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sdd_crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', sdd_crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'],
                            name=op.f('fk_password_reset_token_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_reset_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_password_reset_token_token_hash'))
    )
    with op.batch_alter_table('password_reset_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_reset_token_user_id'), ['user_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('password_reset_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_reset_token_user_id'))
    op.drop_table('password_reset_token')

    # SQLite ≥ 3.35 drops a column in place; a rebuilt user table would break its foreign keys.
    with op.batch_alter_table('user', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('digest_sent_on')
        batch_op.drop_column('notify_digest')
        batch_op.drop_column('notify_email')
        batch_op.drop_column('notify_in_app')
