"""A database of a test's own, for tests where another process or thread (an RQ worker, a live
server) must see committed data, which the per-test rolled-back transaction hides."""

from __future__ import annotations

import contextlib
import os

import sqlalchemy as sa


@contextlib.contextmanager
def throwaway_database(tmp_path, label: str):
    """The URL of a fresh database, committed for real and removed afterwards: on the PostgreSQL
    server of TEST_DATABASE_URL when it is set, else a SQLite file in ``tmp_path``."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield "sqlite:///" + str(tmp_path / f"{label}.sqlite3")
        return
    from sdd_crm.config import _normalise_db_url

    base = sa.engine.make_url(_normalise_db_url(url))
    name = f"{base.database}_{label}_{os.getpid()}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
