"""speed: organisation and contact search (SQLite FTS5 trigram, PostgreSQL pg_trgm)

SQLite: the FTS5 table ``organisation_search`` (``trigram`` tokenizer: case-insensitive
substring search) over ``organisation.name`` and ``organisation.city``, as an external content
table (it stores the index only; the text stays in ``organisation``), kept current by triggers
on ``organisation`` so every writer — the ORM, Core bulk inserts, raw SQL — keeps it in step, and
filled for the existing rows by FTS5's ``rebuild``.

The contact list's search gets the same: the FTS5 table ``contact_search`` over
``contact.last_name``, ``first_name`` and ``email``, with its triggers.

PostgreSQL: the ``pg_trgm`` extension and GIN trigram indexes on ``lower(name)`` and
``lower(city)`` of ``organisation`` and on ``lower()`` of the contact's last name, first name and
e-mail address, which ``lower(column) LIKE '%text%'`` uses; PostgreSQL keeps them current itself.

See ``sdd_crm/organisations/search.py`` and ``sdd_crm/contacts/search.py`` for how searches use
them. The models do not declare
these objects (an FTS5 table and expression GIN indexes); ``search.include_name`` keeps them out
of autogenerate's comparison.

Revision ID: b12000000001
Revises: a11000000007
Create Date: 2026-12-07 07:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b12000000001'
down_revision = 'a11000000007'
branch_labels = None
depends_on = None

# The FTS5 'delete' command must be given the values the row was indexed with: the old ones.
SQLITE_UP = (
    "CREATE VIRTUAL TABLE organisation_search USING fts5("
    "name, city, content='organisation', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER organisation_search_insert AFTER INSERT ON organisation BEGIN "
    "INSERT INTO organisation_search (rowid, name, city) VALUES (new.id, new.name, new.city); "
    "END",
    "CREATE TRIGGER organisation_search_delete AFTER DELETE ON organisation BEGIN "
    "INSERT INTO organisation_search (organisation_search, rowid, name, city) "
    "VALUES ('delete', old.id, old.name, old.city); "
    "END",
    "CREATE TRIGGER organisation_search_update AFTER UPDATE OF id, name, city ON organisation "
    "BEGIN "
    "INSERT INTO organisation_search (organisation_search, rowid, name, city) "
    "VALUES ('delete', old.id, old.name, old.city); "
    "INSERT INTO organisation_search (rowid, name, city) VALUES (new.id, new.name, new.city); "
    "END",
    "INSERT INTO organisation_search (organisation_search) VALUES ('rebuild')",
    # The contact search: last name, first name and e-mail address, the same way.
    "CREATE VIRTUAL TABLE contact_search USING fts5("
    "last_name, first_name, email, content='contact', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER contact_search_insert AFTER INSERT ON contact BEGIN "
    "INSERT INTO contact_search (rowid, last_name, first_name, email) "
    "VALUES (new.id, new.last_name, new.first_name, new.email); "
    "END",
    "CREATE TRIGGER contact_search_delete AFTER DELETE ON contact BEGIN "
    "INSERT INTO contact_search (contact_search, rowid, last_name, first_name, email) "
    "VALUES ('delete', old.id, old.last_name, old.first_name, old.email); "
    "END",
    "CREATE TRIGGER contact_search_update "
    "AFTER UPDATE OF id, last_name, first_name, email ON contact BEGIN "
    "INSERT INTO contact_search (contact_search, rowid, last_name, first_name, email) "
    "VALUES ('delete', old.id, old.last_name, old.first_name, old.email); "
    "INSERT INTO contact_search (rowid, last_name, first_name, email) "
    "VALUES (new.id, new.last_name, new.first_name, new.email); "
    "END",
    "INSERT INTO contact_search (contact_search) VALUES ('rebuild')",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS contact_search_update",
    "DROP TRIGGER IF EXISTS contact_search_delete",
    "DROP TRIGGER IF EXISTS contact_search_insert",
    "DROP TABLE IF EXISTS contact_search",
    "DROP TRIGGER IF EXISTS organisation_search_update",
    "DROP TRIGGER IF EXISTS organisation_search_delete",
    "DROP TRIGGER IF EXISTS organisation_search_insert",
    "DROP TABLE IF EXISTS organisation_search",
)
POSTGRESQL_UP = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_organisation_name_trgm ON organisation "
    "USING gin (lower(name) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_organisation_city_trgm ON organisation "
    "USING gin (lower(city) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_contact_last_name_trgm ON contact "
    "USING gin (lower(last_name) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_contact_first_name_trgm ON contact "
    "USING gin (lower(first_name) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_contact_email_trgm ON contact "
    "USING gin (lower(email) gin_trgm_ops)",
)
# The extension stays: other objects may have come to use it.
POSTGRESQL_DOWN = (
    "DROP INDEX IF EXISTS ix_contact_email_trgm",
    "DROP INDEX IF EXISTS ix_contact_first_name_trgm",
    "DROP INDEX IF EXISTS ix_contact_last_name_trgm",
    "DROP INDEX IF EXISTS ix_organisation_city_trgm",
    "DROP INDEX IF EXISTS ix_organisation_name_trgm",
)


def upgrade():
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_UP, "postgresql": POSTGRESQL_UP}.get(dialect, ()):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DOWN, "postgresql": POSTGRESQL_DOWN}.get(dialect, ()):
        op.execute(statement)
