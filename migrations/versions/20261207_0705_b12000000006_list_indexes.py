"""speed: an index for every list filter and sort, keyset pagination

The organisation list reads the live rows (``deleted_at IS NULL AND merged_into_id IS NULL``)
in one of six sorts, filtered by municipality, cluster, type, size, criticality or status; its
pages are walked by keyset (``sdd_crm.pagination``). Each sort and each filter (sorted by name,
the municipality also by place) gets a partial index of the live rows, on SQLite and PostgreSQL
alike, so a page is one index range whichever is chosen.

``ix_organisation_list`` (deleted_at, name, id) is replaced by ``ix_organisation_live_name``.
The indexes on ``deleted_at`` and ``merged_into_id`` keep their names but hold only the rows
where the column is set (the recycle bin, purges and merge look-ups all ask for set values):
a full index on them made SQLite read ``deleted_at IS NULL`` — nearly every row — as a narrow
range and sort the whole table instead of walking the sort's index.

Revision ID: b12000000006
Revises: b12000000004
Create Date: 2026-12-07 07:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b12000000006'
down_revision = 'b12000000004'
branch_labels = None
depends_on = None

LIVE = "deleted_at IS NULL AND merged_into_id IS NULL"
LIVE_INDEXES = {
    "ix_organisation_live_name": ["name", "id"],
    "ix_organisation_live_city": ["city", "name", "id"],
    "ix_organisation_live_employees": ["employees", "id"],
    "ix_organisation_live_updated": ["updated_at", "id"],
    "ix_organisation_live_municipality": ["municipality_code", "name", "id"],
    "ix_organisation_live_municipality_city": ["municipality_code", "city", "name", "id"],
    "ix_organisation_live_type": ["org_type", "name", "id"],
    "ix_organisation_live_size": ["size_class", "name", "id"],
    "ix_organisation_live_status": ["status", "name", "id"],
    "ix_organisation_live_critical": ["is_critical", "name", "id"],
}
SET_INDEXES = {"ix_organisation_deleted_at": "deleted_at",
               "ix_organisation_merged_into_id": "merged_into_id"}


def _where(condition: str) -> dict:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade():
    op.drop_index("ix_organisation_list", table_name="organisation")
    for name, column in SET_INDEXES.items():
        op.drop_index(name, table_name="organisation")
        op.create_index(name, "organisation", [column], **_where(f"{column} IS NOT NULL"))
    for name, columns in LIVE_INDEXES.items():
        op.create_index(name, "organisation", columns, **_where(LIVE))


def downgrade():
    for name in LIVE_INDEXES:
        op.drop_index(name, table_name="organisation")
    for name, column in SET_INDEXES.items():
        op.drop_index(name, table_name="organisation")
        op.create_index(name, "organisation", [column])
    op.create_index("ix_organisation_list", "organisation", ["deleted_at", "name", "id"])
