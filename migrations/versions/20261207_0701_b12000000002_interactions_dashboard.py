"""speed: contact moments, dashboard, organisation page and timeline

Indexes that let each list walk its sort order and stop after a page, with DESIGN 4.4's
visibility checked row by row on the way (see the models' ``__table_args__``):

* contact moments: the live ones by date (``ix_interaction_live_date``), by confidentiality
  and date (the "vertrouwelijk" filter; it carries the author and the organisation, so the
  rows outside the user's circle are skipped without reading them), and one author's by date
  (the "door mij" filter and the dashboard); the plain ``author_id`` and ``confidential``
  indexes go (the first is the new one's prefix, the second made SQLite fetch every
  non-confidential row and sort them);
* tasks: each tab of "Mijn taken" (assignee or creator; status; due date or completion);
* leads: the live ones and the new ones (the inboxes) by creation; the ``status`` index goes;
* contacts: the live ones by name (the old ``(deleted_at, last_name, id)`` index did not
  serve PostgreSQL's sort) and the retention list as a partial index of the not anonymised;
* ``deleted_at`` of contact moments, tasks, leads and contacts: only the deleted rows (the
  recycle bin and the purge), so SQLite, which keeps no statistics, is never tempted to read
  every live row through it and sort them.

And the search of contact moments by part of their subject (``sdd_crm/interactions/search.py``),
like the organisation name search of b12000000001: on SQLite the FTS5 table
``interaction_search`` (``trigram`` tokenizer, external content: it stores only the index),
kept current by triggers on ``interaction`` whatever writes the row, filled by ``rebuild``; on
PostgreSQL a ``pg_trgm`` GIN index on ``lower(subject)``. Neither is on the models
(``organisations.search.include_name`` leaves them out of autogenerate's comparison).

Revision ID: b12000000002
Revises: b12000000001
Create Date: 2026-12-07 07:01:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b12000000002'
down_revision = 'b12000000001'
branch_labels = None
depends_on = None

LIVE = "deleted_at IS NULL"
DELETED = "deleted_at IS NOT NULL"
NEW_LEAD = "status = 'new' AND deleted_at IS NULL"
NOT_ANONYMISED = "anonymised_at IS NULL"

# (name, table, columns, partial-index condition or None)
NEW = (
    ("ix_interaction_live_date", "interaction", ["date", "id"], LIVE),
    ("ix_interaction_live_confidential", "interaction",
     ["confidential", "date", "id", "author_id", "organisation_id"], LIVE),
    ("ix_interaction_author_date", "interaction", ["author_id", "date", "id"], None),
    ("ix_interaction_deleted_at", "interaction", ["deleted_at"], DELETED),
    ("ix_task_creator_status_due", "task", ["created_by_id", "status", "due_date", "id"], None),
    ("ix_task_assignee_status_completed", "task",
     ["assignee_id", "status", "completed_at", "id"], None),
    ("ix_task_creator_status_completed", "task",
     ["created_by_id", "status", "completed_at", "id"], None),
    ("ix_task_assignee_due", "task", ["assignee_id", "due_date", "id"], None),
    ("ix_task_deleted_at", "task", ["deleted_at"], DELETED),
    ("ix_lead_live_created", "lead", ["created_at", "id"], LIVE),
    ("ix_lead_new", "lead", ["created_at", "id"], NEW_LEAD),
    ("ix_lead_deleted_at", "lead", ["deleted_at"], DELETED),
    ("ix_contact_live_name", "contact", ["last_name", "first_name", "id"], LIVE),
    ("ix_contact_retention", "contact", ["updated_at", "id"], NOT_ANONYMISED),
    ("ix_contact_deleted_at", "contact", ["deleted_at"], DELETED),
)

# The indexes these replace or make unnecessary: (name, table, columns).
OLD = (
    ("ix_interaction_author_id", "interaction", ["author_id"]),
    ("ix_interaction_confidential", "interaction", ["confidential"]),
    ("ix_interaction_deleted_at", "interaction", ["deleted_at"]),
    ("ix_task_deleted_at", "task", ["deleted_at"]),
    ("ix_lead_status", "lead", ["status"]),
    ("ix_lead_deleted_at", "lead", ["deleted_at"]),
    ("ix_contact_list", "contact", ["deleted_at", "last_name", "id"]),
    ("ix_contact_retention", "contact", ["anonymised_at", "updated_at"]),
    ("ix_contact_deleted_at", "contact", ["deleted_at"]),
)


# The FTS5 'delete' command must be given the values the row was indexed with: the old ones.
SQLITE_SEARCH_UP = (
    "CREATE VIRTUAL TABLE interaction_search USING fts5("
    "subject, content='interaction', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER interaction_search_insert AFTER INSERT ON interaction BEGIN "
    "INSERT INTO interaction_search (rowid, subject) VALUES (new.id, new.subject); "
    "END",
    "CREATE TRIGGER interaction_search_delete AFTER DELETE ON interaction BEGIN "
    "INSERT INTO interaction_search (interaction_search, rowid, subject) "
    "VALUES ('delete', old.id, old.subject); "
    "END",
    "CREATE TRIGGER interaction_search_update AFTER UPDATE OF id, subject ON interaction BEGIN "
    "INSERT INTO interaction_search (interaction_search, rowid, subject) "
    "VALUES ('delete', old.id, old.subject); "
    "INSERT INTO interaction_search (rowid, subject) VALUES (new.id, new.subject); "
    "END",
    "INSERT INTO interaction_search (interaction_search) VALUES ('rebuild')",
)
SQLITE_SEARCH_DOWN = (
    "DROP TRIGGER IF EXISTS interaction_search_update",
    "DROP TRIGGER IF EXISTS interaction_search_delete",
    "DROP TRIGGER IF EXISTS interaction_search_insert",
    "DROP TABLE IF EXISTS interaction_search",
)
POSTGRESQL_SEARCH_UP = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_interaction_subject_trgm ON interaction "
    "USING gin (lower(subject) gin_trgm_ops)",
    # Statistics of lower(subject) exist only once analysed (autovacuum would wait for many
    # changed rows): without them every search looks rare, and a common word is read through
    # the trigram index and sorted (0.6 s at a million contact moments) instead of walked.
    "ANALYZE interaction",
)
POSTGRESQL_SEARCH_DOWN = ("DROP INDEX IF EXISTS ix_interaction_subject_trgm",)


def _where(condition):
    if condition is None:
        return {}
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade():
    for name, table, _columns in OLD:
        op.drop_index(name, table_name=table)
    for name, table, columns, condition in NEW:
        op.create_index(name, table, columns, unique=False, **_where(condition))
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_SEARCH_UP,
                      "postgresql": POSTGRESQL_SEARCH_UP}.get(dialect, ()):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_SEARCH_DOWN,
                      "postgresql": POSTGRESQL_SEARCH_DOWN}.get(dialect, ()):
        op.execute(statement)
    for name, table, _columns, _condition in reversed(NEW):
        op.drop_index(name, table_name=table)
    for name, table, columns in reversed(OLD):
        op.create_index(name, table, columns, unique=False)
