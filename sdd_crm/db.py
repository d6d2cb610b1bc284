"""Declarative base, naming convention and the mixins every editable record shares."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, registry

# Named constraints make Alembic migrations reproducible on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """The current time in UTC, timezone-aware."""
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        if value is not None:
            value = value.astimezone(dt.timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: UTCDateTime()},
    )


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class VersionedMixin:
    """Optimistic concurrency: every UPDATE checks and bumps ``version``.

    A stale write raises ``StaleDataError``; forms and the API also compare the version the
    user saw with the stored one, so two people cannot silently overwrite each other.
    """

    version: Mapped[int] = mapped_column(default=1, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.version}


class SoftDeleteMixin:
    """Deletes are soft: the row stays, hidden from every list, restorable by an admin."""

    deleted_at: Mapped[dt.datetime | None] = mapped_column(default=None, index=True)
    deleted_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id"), default=None
    )

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def soft_delete(self, actor) -> None:
        self.deleted_at = utcnow()
        self.deleted_by_id = actor.id


class AuditedMixin:
    """Marks a model whose every insert, update and delete is written to the audit log."""

    __audited__ = True


_pragmas_registered = False


def register_sqlite_pragmas() -> None:
    """On SQLite: enforce foreign keys, and let SQLAlchemy own BEGIN so SAVEPOINTs work.

    Speed at 100,000 organisations (issue 12): WAL with ``synchronous=NORMAL`` (what SQLite
    advises for WAL: a crash of the application loses nothing; a power cut may lose the last
    commits, never corrupt the file), a 64 MB page cache per connection (the default 2 MB held
    a fraction of the organisation table's indexes: an import of 100,000 rows waited on the file
    system twice as long as it computed) and the file mapped into memory (256 MB, shared by all
    connections through the OS), temporary tables (the import's staging tables) and sorts in
    memory."""
    global _pragmas_registered
    if _pragmas_registered:
        return
    _pragmas_registered = True
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_conn, _record):
        if type(dbapi_conn).__module__.startswith("sqlite3"):
            dbapi_conn.isolation_level = None  # pysqlite's own BEGIN handling breaks SAVEPOINT
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA cache_size=-65536")
            cur.execute("PRAGMA mmap_size=268435456")
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.close()

    @event.listens_for(Engine, "begin")
    def _on_begin(conn):
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")


def escape_like(text: str) -> str:
    """``text`` for a LIKE pattern with ``escape="\\"``: its % and _ are literal characters."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
