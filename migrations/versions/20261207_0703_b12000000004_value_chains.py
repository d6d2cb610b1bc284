"""speed: value chains, network picture and critical companies

- ``ix_chain_role_chain_stage`` and ``ix_supply_link_chain`` cover what a chain's pages read
  (its members, counts per chain and per stage, the links of the picture) without visiting the
  rows: (value_chain_id, stage_id, organisation_id, deleted_at) and (value_chain_id,
  supplier_id, customer_id, deleted_at, sole_source).
- ``ix_chain_role_deleted_at``, ``ix_supply_link_deleted_at``, ``ix_value_chain_deleted_at``
  and ``ix_cluster_deleted_at`` index the deleted rows only (``WHERE deleted_at IS NOT NULL``:
  the recycle bin and the purge). Indexing every live row made SQLite without statistics take
  ``deleted_at IS NULL`` for a selective condition and walk all rows through it, e.g. all links
  for the links among the organisations of the network picture, or every role of every live
  chain to find the chains of fifty organisations.

Revision ID: b12000000004
Revises: b12000000003
Create Date: 2026-12-07 07:03:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b12000000004'
down_revision = 'b12000000003'
branch_labels = None
depends_on = None

DELETED_ONLY = {"sqlite_where": sa.text("deleted_at IS NOT NULL"),
                "postgresql_where": sa.text("deleted_at IS NOT NULL")}
SMALL_TABLES = ('value_chain', 'cluster')


def upgrade():
    for table in SMALL_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_deleted_at')
            batch_op.create_index(f'ix_{table}_deleted_at', ['deleted_at'], unique=False,
                                  **DELETED_ONLY)

    with op.batch_alter_table('chain_role', schema=None) as batch_op:
        batch_op.drop_index('ix_chain_role_chain_stage')
        batch_op.create_index('ix_chain_role_chain_stage',
                              ['value_chain_id', 'stage_id', 'organisation_id', 'deleted_at'],
                              unique=False)
        batch_op.drop_index('ix_chain_role_deleted_at')
        batch_op.create_index('ix_chain_role_deleted_at', ['deleted_at'], unique=False,
                              **DELETED_ONLY)

    with op.batch_alter_table('supply_link', schema=None) as batch_op:
        batch_op.drop_index('ix_supply_link_chain')
        batch_op.create_index('ix_supply_link_chain',
                              ['value_chain_id', 'supplier_id', 'customer_id', 'deleted_at',
                               'sole_source'], unique=False)
        batch_op.drop_index('ix_supply_link_deleted_at')
        batch_op.create_index('ix_supply_link_deleted_at', ['deleted_at'], unique=False,
                              **DELETED_ONLY)


def downgrade():
    with op.batch_alter_table('supply_link', schema=None) as batch_op:
        batch_op.drop_index('ix_supply_link_deleted_at', **DELETED_ONLY)
        batch_op.create_index('ix_supply_link_deleted_at', ['deleted_at'], unique=False)
        batch_op.drop_index('ix_supply_link_chain')
        batch_op.create_index('ix_supply_link_chain',
                              ['value_chain_id', 'supplier_id', 'customer_id'], unique=False)

    with op.batch_alter_table('chain_role', schema=None) as batch_op:
        batch_op.drop_index('ix_chain_role_deleted_at', **DELETED_ONLY)
        batch_op.create_index('ix_chain_role_deleted_at', ['deleted_at'], unique=False)
        batch_op.drop_index('ix_chain_role_chain_stage')
        batch_op.create_index('ix_chain_role_chain_stage', ['value_chain_id', 'stage_id'],
                              unique=False)

    for table in SMALL_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_deleted_at', **DELETED_ONLY)
            batch_op.create_index(f'ix_{table}_deleted_at', ['deleted_at'], unique=False)
