"""speed: a value chain's roles and links sorted by name through an index

The chain page shows the first roles of each stage and the first links of the chain by
organisation name; the largest chain has thousands of each, and sorting them through a join
with ``organisation`` cost 70 ms a page at 100,000 organisations. The names are now copied onto
the rows — ``chain_role.organisation_name``, ``supply_link.supplier_name`` and
``customer_name`` — and indexed with the chain (live rows only), so a page is a short range.

The copies are written by the database, so every writer keeps them (the ORM, the import's
bulk statements, seeds, raw SQL): a trigger fills them when a role or link is inserted or
pointed at another organisation (a merge), and a trigger on ``organisation`` rewrites them when
a name changes. SQLite has no BEFORE trigger that can change the new row, so it updates the row
just written. A later migration that rebuilds one of these three tables (``batch_alter_table``
on SQLite copies the table) must create the triggers again.

Revision ID: b12000000007
Revises: b12000000006
Create Date: 2026-12-07 07:07:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b12000000007'
down_revision = 'b12000000006'
branch_labels = None
depends_on = None

LIVE = {"sqlite_where": sa.text("deleted_at IS NULL"),
        "postgresql_where": sa.text("deleted_at IS NULL")}
NAME_OF = "(SELECT name FROM organisation WHERE organisation.id = {})"

SQLITE_UP = (
    "CREATE TRIGGER chain_role_name_insert AFTER INSERT ON chain_role BEGIN "
    f"UPDATE chain_role SET organisation_name = {NAME_OF.format('new.organisation_id')} "
    "WHERE id = new.id; END",
    "CREATE TRIGGER chain_role_name_update AFTER UPDATE OF organisation_id ON chain_role BEGIN "
    f"UPDATE chain_role SET organisation_name = {NAME_OF.format('new.organisation_id')} "
    "WHERE id = new.id; END",
    "CREATE TRIGGER supply_link_names_insert AFTER INSERT ON supply_link BEGIN "
    f"UPDATE supply_link SET supplier_name = {NAME_OF.format('new.supplier_id')}, "
    f"customer_name = {NAME_OF.format('new.customer_id')} WHERE id = new.id; END",
    "CREATE TRIGGER supply_link_names_update AFTER UPDATE OF supplier_id, customer_id "
    "ON supply_link BEGIN "
    f"UPDATE supply_link SET supplier_name = {NAME_OF.format('new.supplier_id')}, "
    f"customer_name = {NAME_OF.format('new.customer_id')} WHERE id = new.id; END",
    "CREATE TRIGGER organisation_name_copies AFTER UPDATE OF name ON organisation "
    "WHEN new.name IS NOT old.name BEGIN "
    "UPDATE chain_role SET organisation_name = new.name WHERE organisation_id = new.id; "
    "UPDATE supply_link SET supplier_name = new.name WHERE supplier_id = new.id; "
    "UPDATE supply_link SET customer_name = new.name WHERE customer_id = new.id; END",
)
SQLITE_DOWN = ("chain_role_name_insert", "chain_role_name_update", "supply_link_names_insert",
               "supply_link_names_update", "organisation_name_copies")

PG_UP = (
    "CREATE FUNCTION chain_role_copy_name() RETURNS trigger AS $$ BEGIN "
    f"NEW.organisation_name := {NAME_OF.format('NEW.organisation_id')}; "
    "RETURN NEW; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER chain_role_copy_name BEFORE INSERT OR UPDATE OF organisation_id "
    "ON chain_role FOR EACH ROW EXECUTE FUNCTION chain_role_copy_name()",
    "CREATE FUNCTION supply_link_copy_names() RETURNS trigger AS $$ BEGIN "
    f"NEW.supplier_name := {NAME_OF.format('NEW.supplier_id')}; "
    f"NEW.customer_name := {NAME_OF.format('NEW.customer_id')}; "
    "RETURN NEW; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER supply_link_copy_names BEFORE INSERT OR UPDATE OF supplier_id, customer_id "
    "ON supply_link FOR EACH ROW EXECUTE FUNCTION supply_link_copy_names()",
    "CREATE FUNCTION organisation_name_copies() RETURNS trigger AS $$ BEGIN "
    "UPDATE chain_role SET organisation_name = NEW.name WHERE organisation_id = NEW.id; "
    "UPDATE supply_link SET supplier_name = NEW.name WHERE supplier_id = NEW.id; "
    "UPDATE supply_link SET customer_name = NEW.name WHERE customer_id = NEW.id; "
    "RETURN NULL; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER organisation_name_copies AFTER UPDATE OF name ON organisation "
    "FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) "
    "EXECUTE FUNCTION organisation_name_copies()",
)
PG_DOWN = (
    "DROP TRIGGER IF EXISTS organisation_name_copies ON organisation",
    "DROP FUNCTION IF EXISTS organisation_name_copies()",
    "DROP TRIGGER IF EXISTS supply_link_copy_names ON supply_link",
    "DROP FUNCTION IF EXISTS supply_link_copy_names()",
    "DROP TRIGGER IF EXISTS chain_role_copy_name ON chain_role",
    "DROP FUNCTION IF EXISTS chain_role_copy_name()",
)

BACKFILL = (
    f"UPDATE chain_role SET organisation_name = {NAME_OF.format('chain_role.organisation_id')}",
    f"UPDATE supply_link SET supplier_name = {NAME_OF.format('supply_link.supplier_id')}, "
    f"customer_name = {NAME_OF.format('supply_link.customer_id')}",
)


def upgrade():
    # Plain ADD COLUMN (no batch): SQLite's table copy would drop the tables' triggers.
    op.add_column('chain_role', sa.Column('organisation_name', sa.String(200), nullable=True))
    op.add_column('supply_link', sa.Column('supplier_name', sa.String(200), nullable=True))
    op.add_column('supply_link', sa.Column('customer_name', sa.String(200), nullable=True))
    for statement in BACKFILL:
        op.execute(statement)
    op.create_index('ix_chain_role_chain_stage_name', 'chain_role',
                    ['value_chain_id', 'stage_id', 'organisation_name', 'organisation_id', 'id'],
                    **LIVE)
    op.create_index('ix_supply_link_chain_names', 'supply_link',
                    ['value_chain_id', 'supplier_name', 'customer_name', 'id'], **LIVE)
    op.create_index('ix_supply_link_names', 'supply_link',
                    ['supplier_name', 'customer_name', 'id'], **LIVE)
    for statement in (PG_UP if op.get_bind().dialect.name == 'postgresql' else SQLITE_UP):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for statement in PG_DOWN:
            op.execute(statement)
    else:
        for name in SQLITE_DOWN:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index('ix_supply_link_names', table_name='supply_link')
    op.drop_index('ix_supply_link_chain_names', table_name='supply_link')
    op.drop_index('ix_chain_role_chain_stage_name', table_name='chain_role')
    # SQLite (3.35+) drops a column in place when nothing refers to it; these have no index left.
    op.drop_column('supply_link', 'customer_name')
    op.drop_column('supply_link', 'supplier_name')
    op.drop_column('chain_role', 'organisation_name')
