"""Backup and restore (issue 13 point 3): what ``flask backup create`` writes comes back whole.

A backup reads the database over a connection of its own, so the per-test rolled-back
transaction of conftest.py would hide everything: these tests build databases of their own,
committed for real — a SQLite file, or (when TEST_DATABASE_URL is set) a PostgreSQL database on
that server, dropped afterwards. The source holds the demo region (organisations, contacts,
contact moments, leads, tasks, value chains, programme participations and their kept tallies),
a criticality run, and a job with binary files; it is backed up once per database kind while
another connection holds an uncommitted change, and each test restores it into a fresh, empty
database of its own.

"Equal" means: for every table, the same number of rows and the same SHA-256 over its rows
(ordered by primary key, every value as text, bytes as hex) — job_file's bytes included.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from db_support import throwaway_database

from sdd_crm.backup import backup_cli
from sdd_crm.extensions import db

KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
FILE_BYTES = bytes(range(256)) * 40 + b"\x00end"  # every byte value, NUL included
UNCOMMITTED = "Nooit vastgelegd B.V."


@contextlib.contextmanager
def database(kind: str, folder: Path, label: str):
    """The URL of a fresh, empty database of ``kind``, removed afterwards."""
    if kind == "sqlite":
        yield "sqlite:///" + str(folder / f"{label}.sqlite3")
    else:
        with throwaway_database(folder, label) as url:
            yield url


@contextlib.contextmanager
def app_on(url: str):
    """An app on ``url``, its context pushed, with a session of its own (conftest's session is
    bound to the suite's database)."""
    from sdd_crm import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "backup-test", "SQLALCHEMY_DATABASE_URI": url,
                      "RATELIMIT_STORAGE_URI": "memory://", "CRITICALITY_AUTO_RECOMPUTE": False})
    original, db.session = db.session, db._make_scoped_session({})
    try:
        with app.app_context():
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        db.session = original


def invoke(app, *args: str):
    return app.test_cli_runner().invoke(backup_cli, [str(a) for a in args])


def _text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return str(value)


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Every table of the database: (row count, SHA-256 of its rows ordered by primary key)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            prints = {}
            for name in inspector.get_table_names():
                columns = [c["name"] for c in inspector.get_columns(name)]
                key = inspector.get_pk_constraint(name)["constrained_columns"] or columns
                table = sa.table(name, *(sa.column(c) for c in columns))
                digest, count = hashlib.sha256(), 0
                for row in conn.execute(sa.select(table).order_by(*(table.c[c] for c in key))):
                    digest.update(("\x1f".join(map(_text, row)) + "\x1e").encode())
                    count += 1
                prints[name] = (count, digest.hexdigest())
            return prints
    finally:
        engine.dispose()


def schema_objects(url: str) -> dict[str, list]:
    """What the migrations made besides tables: triggers, functions, indexes, extensions."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                return {"sqlite_master": conn.execute(sa.text(
                    "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")).all()}
            queries = {
                "triggers": "SELECT tgname, tgrelid::regclass::text FROM pg_trigger "
                            "WHERE NOT tgisinternal ORDER BY 1, 2",
                "functions": "SELECT p.proname FROM pg_proc p JOIN pg_namespace n "
                             "ON n.oid = p.pronamespace WHERE n.nspname = current_schema() "
                             "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid "
                             "AND d.deptype = 'e') ORDER BY 1",
                "indexes": "SELECT indexname, indexdef FROM pg_indexes "
                           "WHERE schemaname = current_schema() ORDER BY 1",
                "extensions": "SELECT extname FROM pg_extension ORDER BY 1",
            }
            return {key: conn.execute(sa.text(sql)).all() for key, sql in queries.items()}
    finally:
        engine.dispose()


@dataclass
class Made:
    kind: str
    url: str
    file: Path
    prints: dict
    objects: dict
    output: str
    chained: int  # an organisation with a role in a value chain
    chained_name: str


def _fill() -> int:
    """The demo region, a criticality run and a job with files; returns a chained organisation."""
    from sdd_crm.jobs.files import store_file
    from sdd_crm.jobs.models import Job
    from sdd_crm.reference.services import seed_reference
    from sdd_crm.seeds.demo import seed_demo
    from sdd_crm.valuechains.jobs import create_job, run_job
    from sdd_crm.valuechains.models import ChainRole

    seed_reference()
    seed_demo(40)
    db.session.add(Job(id="backup-export", kind="export_list", status="finished", progress=100))
    db.session.flush()
    store_file("backup-export", "input", "selectie.xlsx", "application/octet-stream", FILE_BYTES)
    store_file("backup-export", "output", "export.csv", "text/csv", "naam;plaats\nWérf;Dordt\n".encode())
    job_id = create_job(trigger="cli").id
    db.session.commit()
    assert run_job(job_id) is not None
    return db.session.scalar(sa.select(ChainRole.organisation_id).where(
        ChainRole.deleted_at.is_(None)).order_by(ChainRole.id).limit(1))


@contextlib.contextmanager
def _uncommitted_change(url: str, org_id: int):
    """Another connection renames an organisation and holds the change uncommitted."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            conn.execute(sa.text("UPDATE organisation SET name = :n WHERE id = :id"),
                         {"n": UNCOMMITTED, "id": org_id})
            yield
            transaction.rollback()
    finally:
        engine.dispose()


@pytest.fixture(scope="module", params=KINDS)
def made(request, app, tmp_path_factory):  # ``app``: the suite's cheap password hashing
    """The source database, filled and committed, and its backup (made while another connection
    holds an uncommitted change)."""
    from flask_migrate import upgrade

    from sdd_crm.organisations.models import Organisation

    kind = request.param
    folder = tmp_path_factory.mktemp(f"backup_{kind}")
    file = folder / "sdd-crm.backup"
    with database(kind, folder, "backup_src") as url:
        with app_on(url) as source:
            upgrade()
            chained = _fill()
            name = db.session.get(Organisation, chained).name
            db.session.remove()
            prints, objects = fingerprint(url), schema_objects(url)
            with _uncommitted_change(url, chained):  # the app keeps working meanwhile
                result = invoke(source, "create", file)
        assert result.exit_code == 0, result.output
        yield Made(kind, url, file, prints, objects, result.output, chained, name)


@pytest.fixture
def target(made, tmp_path):
    """An app on a fresh, empty database of the backup's kind."""
    with database(made.kind, tmp_path, "backup_dst") as url, app_on(url) as app:
        yield app, url


def test_create_says_what_it_wrote_and_keeps_it_private(made):
    tables = set(db.metadata.tables) | {"alembic_version"}  # the app's own, not SQLite's FTS5 index
    rows = f"{sum(made.prints[name][0] for name in tables):,}".replace(",", ".")
    assert f"Reservekopie gemaakt: {made.file}" in made.output
    assert f"{len(tables)} tabellen, {rows} rijen" in made.output
    assert "Met 2 taakbestand(en)" in made.output  # job files are in the database, so in here
    assert "geheime sleutel" in made.output  # what is not in it
    assert stat.S_IMODE(made.file.stat().st_mode) == 0o600  # personal data, 2FA secrets
    assert not list(made.file.parent.glob(".*.tmp"))  # no temporary file left behind


def test_restore_brings_back_every_table_row_for_row(made, target):
    from sdd_crm.jobs.files import load_file

    app, url = target
    result = invoke(app, "restore", made.file)
    assert result.exit_code == 0, result.output
    assert "die van deze code" in result.output  # schema version: nothing to upgrade
    restored = fingerprint(url)
    assert set(restored) == set(made.prints)
    different = {name for name in made.prints if restored[name] != made.prints[name]}
    assert not different, f"tables differ after the restore: {sorted(different)}"
    assert made.prints["job_file"][0] == 2 and made.prints["organisation"][0] >= 40
    assert load_file("backup-export", "input").data == FILE_BYTES
    # The backup was made while another connection held an uncommitted rename: not in it.
    assert UNCOMMITTED not in {r[0] for r in db.session.execute(sa.text(
        "SELECT name FROM organisation"))}
    # Triggers, functions, indexes, extensions (pg_trgm), FTS5 tables: all as they were.
    assert schema_objects(url) == made.objects


def test_restored_database_keeps_its_triggers_and_search(made, target):
    from sdd_crm.organisations.models import Organisation
    from sdd_crm.organisations.search import name_condition

    app, url = target
    assert invoke(app, "restore", made.file).exit_code == 0

    def found(text: str) -> set[int]:
        return set(db.session.scalars(sa.select(Organisation.id).where(name_condition(text))))

    part = made.chained_name.lower()[1:7]
    assert made.chained in found(part)  # part of a name, another case: the search index
    db.session.execute(sa.text("UPDATE organisation SET name = 'Zeldzaamheid Werktuigbouw B.V.' "
                               "WHERE id = :id"), {"id": made.chained})
    db.session.commit()
    # The chain-name triggers rewrote the copies; the search index followed the rename.
    assert set(db.session.scalars(sa.text(
        "SELECT DISTINCT organisation_name FROM chain_role WHERE organisation_id = :id"),
        {"id": made.chained})) == {"Zeldzaamheid Werktuigbouw B.V."}
    assert made.chained in found("ZAAMHEID")
    if made.kind == "postgresql":
        assert "pg_trgm" in {r[0] for r in made.objects["extensions"]}
        # The immutability trigger, reached below the application's own guard.
        import psycopg

        plain = sa.engine.make_url(url).set(drivername="postgresql")
        with psycopg.connect(plain.render_as_string(hide_password=False)) as conn:
            for statement in ("UPDATE audit_event SET action = 'weg'", "DELETE FROM audit_event",
                              "TRUNCATE audit_event"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege,
                                   match="audit rows cannot be changed"):
                    conn.execute(statement)
                conn.rollback()


def test_programme_tallies_come_back_counted(made, target):
    """The kept counts are rows like any other: a restore needs no ``flask programmes recount``."""
    from sdd_crm.programmes.tally import recount_all

    app, url = target
    assert invoke(app, "restore", made.file).exit_code == 0
    before = fingerprint(url)
    assert before["programme_tally"][0] > 0 and before["participation_verdict"][0] > 0
    recount_all()
    db.session.commit()
    after = fingerprint(url)
    assert after["programme_tally"] == before["programme_tally"]
    assert after["participation_verdict"] == before["participation_verdict"]


def test_restore_refuses_a_database_that_is_not_empty(made):
    with app_on(made.url) as source:
        result = invoke(source, "restore", made.file)
    assert result.exit_code == 2
    assert "niet leeg" in result.output and "Er is niets veranderd." in result.output
    assert fingerprint(made.url) == made.prints


def test_a_truncated_backup_restores_nothing(made, target, tmp_path):
    app, url = target
    broken = tmp_path / "afgebroken.backup"
    data = made.file.read_bytes()
    broken.write_bytes(data[: len(data) * 19 // 20])  # the last 5 %: a transfer cut short
    result = invoke(app, "restore", broken)
    assert result.exit_code != 0
    assert "niets" in result.output, result.output
    if made.kind == "sqlite":
        assert not Path(db.engine.url.database).exists()  # not even an empty file left
    assert not sa.inspect(db.engine).get_table_names()  # not one table half-restored
    # ... and the empty database still takes the good backup.
    assert invoke(app, "restore", made.file).exit_code == 0
    assert fingerprint(url) == made.prints


def test_restore_refuses_files_that_are_no_backup(made, target, tmp_path):
    app, _url = target
    other_kind = tmp_path / "andere-soort.backup"
    if made.kind == "sqlite":
        other_kind.write_bytes(b"PGDMP\x01\x0f\x00" + os.urandom(200))
        expected = "van een PostgreSQL-database; de geconfigureerde database is SQLite"
    else:
        with contextlib.closing(sqlite3.connect(other_kind)) as conn:
            conn.execute("CREATE TABLE t (x)")
        expected = "van een SQLite-database; de geconfigureerde database is PostgreSQL"
    random = tmp_path / "ruis.bin"
    random.write_bytes(os.urandom(4096))
    foreign = tmp_path / "vreemd.sqlite3"
    with contextlib.closing(sqlite3.connect(foreign)) as conn:
        conn.execute("CREATE TABLE boodschappen (wat)")
        conn.commit()
    cases = [(tmp_path / "bestaat-niet.backup", "bestaat niet"),
             (random, "geen reservekopie van 'flask backup create'"),
             (other_kind, expected)]
    if made.kind == "sqlite":
        cases.append((foreign, "geen reservekopie van SDD CRM"))
    for file, message in cases:
        result = invoke(app, "restore", file)
        assert result.exit_code == 2, (file, result.output)
        assert message in result.output and "Er is niets veranderd." in result.output
        assert not sa.inspect(db.engine).get_table_names()


@pytest.mark.parametrize("made", ["sqlite"], indirect=True)
def test_restore_reports_an_older_or_a_newer_schema(made, target, tmp_path):
    """A backup from before the last migration needs ``db upgrade``; one from a newer version
    of the code is named as such. (The SQLite file's version row edited; the rule is the same
    on PostgreSQL, where the version is read back from the restored database alike.)"""
    from alembic.script import ScriptDirectory
    from flask import current_app

    app, url = target
    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    older = script.get_revision(script.get_current_head()).down_revision
    for revision, message in ((older, "voer eerst 'flask --app wsgi db upgrade' uit"),
                              ("f00000000000", "komt van een nieuwere versie van SDD CRM")):
        copy = tmp_path / f"{revision}.backup"
        copy.write_bytes(made.file.read_bytes())
        with contextlib.closing(sqlite3.connect(copy)) as conn:
            conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
            conn.commit()
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        result = invoke(app, "restore", copy)
        assert result.exit_code == 0, result.output
        assert message in result.output


def test_create_does_not_overwrite_unless_asked(made, tmp_path):
    existing = tmp_path / "gisteren.backup"
    existing.write_bytes(b"de kopie van gisteren")
    with app_on(made.url) as source:
        refused = invoke(source, "create", existing)
        assert refused.exit_code == 2 and "--overwrite" in refused.output
        assert existing.read_bytes() == b"de kopie van gisteren"
        assert invoke(source, "create", existing, "--overwrite").exit_code == 0
    assert existing.read_bytes()[:5] in (b"SQLit", b"PGDMP")


@pytest.mark.parametrize("made", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
def test_restore_as_the_database_owner_without_superuser_rights(made):
    """Production: the application's role owns its database and is no superuser, and an
    administrator may have created pg_trgm in it beforehand (then only they may comment on it)."""
    base = sa.engine.make_url(made.url)
    role, password = f"sdd_backup_owner_{os.getpid()}", "geheim wacht:woord@1"
    name = f"{base.database}_owner"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")):
            pytest.skip("creating a role needs a superuser in TEST_DATABASE_URL")
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        conn.exec_driver_sql(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" OWNER "{role}"')
    by_admin = sa.create_engine(base.set(database=name), isolation_level="AUTOCOMMIT")
    try:
        with by_admin.connect() as conn:
            conn.exec_driver_sql("CREATE EXTENSION pg_trgm")
        url = base.set(database=name, username=role, password=password)
        with app_on(url.render_as_string(hide_password=False)) as app:
            result = invoke(app, "restore", made.file)
        assert result.exit_code == 0, result.output
        assert password not in result.output
        assert fingerprint(url.render_as_string(hide_password=False)) == made.prints
    finally:
        by_admin.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        admin.dispose()
