"""Backup and restore of the whole database: ``flask --app wsgi backup create|restore FILE``.

What a backup holds: the database, all of it — every record, the audit trail, the kept
programme tallies, the search indexes and their triggers, and the files of background jobs
(uploads, exports, reports: table ``job_file``), which live in the database so that web and
worker processes on other machines reach them. What it does not hold: the secret key
(``instance/secret_key`` or ``SDD_CRM_SECRET_KEY``; without it everyone signs in again) and the
Redis queue (work in flight; the job rows themselves are in the database).

* SQLite (the embedded default): SQLite's online backup API copies the database in one read
  transaction, so the copy is consistent while the application keeps working (WAL mode lets it
  write meanwhile). The copy is a self-contained SQLite file (journal mode DELETE), checked
  with ``PRAGMA quick_check`` before it takes FILE's name.
* PostgreSQL: ``pg_dump --format=custom`` run inside a snapshot that a REPEATABLE READ
  transaction of ours exports, so the row counts printed are exactly those of the dump.

A restore goes only into an empty database (no tables): mixing a backup into live data would
merge two histories, and a restore over data cannot be undone. SQLite restores with the same
backup API in one transaction; PostgreSQL with ``pg_restore --single-transaction``: a failure
halfway (a truncated file) leaves the database as empty as it was.

FILE is written with mode 0600 under a temporary name in its folder and renamed when complete:
a backup holds personal data and two-factor secrets, and a crash must never leave half a backup
under the name of a good one.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from .extensions import db

backup_cli = AppGroup("backup", help="Reservekopie van de hele database (met taakbestanden) "
                                     "maken en terugzetten.")

SQLITE_HEADER = b"SQLite format 3\x00"
PG_CUSTOM_HEADER = b"PGDMP"  # pg_dump --format=custom
VERSION_TABLE = "alembic_version"
VERSION_QUERY = "SELECT max(version_num) FROM alembic_version"
NOTHING_CHANGED = "Er is niets veranderd."


class BackupRefused(Exception):
    """A refusal or failure, worded for the operator; the exit code goes with it."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.message, self.code = message, code


def _refusals(fn):
    """Turn a refusal, or a database or file-system error, into a message on stderr and a
    non-zero exit instead of a stack trace (as ``sdd_crm.cli.command`` does)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BackupRefused as e:
            click.echo(e.message, err=True)
            raise SystemExit(e.code) from None
        except (sa.exc.SQLAlchemyError, sqlite3.Error, OSError) as e:
            cause = getattr(e, "orig", None) or e
            click.echo(f"Mislukt: {type(cause).__name__}: {cause}", err=True)
            raise SystemExit(1) from None

    return wrapper


@backup_cli.command("create")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Een bestaand FILE vervangen.")
@_refusals
def backup_create(file: Path, overwrite: bool):
    """Write a backup of the whole database, job files included, to FILE (while the app runs)."""
    url = db.engine.url
    if file.exists() and not overwrite:
        raise BackupRefused(f"{file} bestaat al; kies een nieuwe naam of geef --overwrite. "
                            f"{NOTHING_CHANGED}")
    if not file.parent.is_dir():
        raise BackupRefused(f"De map {file.parent} bestaat niet. {NOTHING_CHANGED}")
    started = time.perf_counter()
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    try:
        if url.get_backend_name() == "sqlite":
            source = _sqlite_path(url)
            if source.resolve() == file.resolve():
                raise BackupRefused("FILE is de database zelf; kies een ander bestand.")
            rows = _create_sqlite(source, tmp)
        else:
            rows = _create_postgresql(url, tmp)
        _durable_rename(tmp, file)
    finally:
        tmp.unlink(missing_ok=True)
    click.echo(f"Reservekopie gemaakt: {file}")
    click.echo("  " + _summary(rows, file.stat().st_size, time.perf_counter() - started))
    click.echo(f"  Met {_n(rows.get('job_file', 0))} taakbestand(en) (uploads, exports en "
               "rapporten van achtergrondtaken): die staan in de database.")
    click.echo("  Niet in de reservekopie: de geheime sleutel (instance/secret_key of "
               "SDD_CRM_SECRET_KEY). Bewaar die apart.")


@backup_cli.command("restore")
@click.argument("file", type=click.Path(path_type=Path))
@_refusals
def backup_restore(file: Path):
    """Restore FILE (made by ``backup create``) into the configured database, which must be
    empty."""
    url = db.engine.url
    if not file.is_file():
        raise BackupRefused(f"{file} bestaat niet of is geen bestand. {NOTHING_CHANGED}")
    try:
        kind = _kind_of(file)
    except OSError as e:
        raise BackupRefused(f"{file} is niet te lezen ({e.strerror}). {NOTHING_CHANGED}") from None
    backend = url.get_backend_name()
    if kind is None:
        raise BackupRefused(f"{file} is geen reservekopie van 'flask backup create' (geen SQLite-"
                            f"database en geen pg_dump-archief). {NOTHING_CHANGED}")
    if kind != backend:
        made_on = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise BackupRefused(
            f"{file} is een reservekopie van een {made_on[kind]}-database; de geconfigureerde "
            f"database is {made_on.get(backend, backend)}. Zet die terug met DATABASE_URL naar "
            f"een lege {made_on[kind]}-database. {NOTHING_CHANGED}")
    started = time.perf_counter()
    if backend == "sqlite":
        target = _sqlite_path(url)
        _refuse_unless_empty(_sqlite_tables_in(target))
        rows, revision = _restore_sqlite(file, target)
    else:
        with db.engine.connect() as conn:
            _refuse_unless_empty(_pg_relations(conn))
        rows, revision = _restore_postgresql(url, file)
    click.echo(f"Teruggezet: {file} → {url.render_as_string(hide_password=True)}")
    click.echo("  " + _summary(rows, file.stat().st_size, time.perf_counter() - started))
    advice, current = _schema_advice(revision)
    click.echo("  " + advice, err=not current)


# --- SQLite ---------------------------------------------------------------------------------------

def _sqlite_path(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupRefused("Een SQLite-database in het geheugen heeft geen reservekopie.")
    return Path(url.database)


def _read_only(path: Path) -> sqlite3.Connection:
    """A connection that can neither write to ``path`` nor create it."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)


def _create_sqlite(source: Path, tmp: Path) -> dict[str, int]:
    if not source.is_file():
        raise BackupRefused(f"De database {source} bestaat niet.")
    # One backup step (pages=-1, the default) holds one read transaction from start to end: a
    # consistent copy, however the application writes meanwhile (WAL keeps writers going).
    with contextlib.closing(sqlite3.connect(source, timeout=30)) as live, \
            contextlib.closing(sqlite3.connect(tmp)) as copy:
        live.backup(copy)
    with contextlib.closing(sqlite3.connect(tmp)) as copy:
        copy.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
        check = copy.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise BackupRefused(f"De kopie is niet in orde ({check}); er is geen reservekopie "
                                "gemaakt.", 1)
        return _sqlite_counts(copy)


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    """Ordinary tables: not SQLite's own, not an FTS5 table or its shadow tables (an index)."""
    return [name for _schema, name, kind, *_ in conn.execute("PRAGMA main.table_list")
            if kind == "table" and not name.startswith("sqlite_")]


def _sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    # A name the database itself listed, quoted as an identifier.
    return {t: conn.execute(f'SELECT count(*) FROM "{t.replace(chr(34), chr(34) * 2)}"')  # nosec B608
            .fetchone()[0] for t in _sqlite_tables(conn)}


def _sqlite_tables_in(path: Path) -> list[str]:
    """The tables and views of the database at ``path`` (none when there is no file yet)."""
    if not path.exists() or path.stat().st_size == 0:
        return []
    try:
        with contextlib.closing(_read_only(path)) as conn:
            return [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite%' ORDER BY name")]
    except sqlite3.DatabaseError as e:
        raise BackupRefused(f"De geconfigureerde database {path} is niet te lezen ({e}). "
                            f"{NOTHING_CHANGED}") from None


def _restore_sqlite(source: Path, target: Path) -> tuple[dict[str, int], str | None]:
    new = not target.exists()
    try:
        with contextlib.closing(_read_only(source)) as backup:
            check = backup.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(check)
            if VERSION_TABLE not in _sqlite_tables(backup):
                raise BackupRefused(f"{source} is een SQLite-database, maar geen reservekopie "
                                    f"van SDD CRM (er is geen {VERSION_TABLE}). {NOTHING_CHANGED}")
            target.parent.mkdir(parents=True, exist_ok=True)
            # The copy is one transaction on the target: it is complete or not there at all.
            with contextlib.closing(sqlite3.connect(target, timeout=30)) as live:
                backup.backup(live)
    except (sqlite3.DatabaseError, BackupRefused) as e:
        if new:  # connecting made an empty file: take it away again
            for leftover in (target, *(Path(f"{target}{s}") for s in ("-wal", "-shm", "-journal"))):
                leftover.unlink(missing_ok=True)
        if isinstance(e, BackupRefused):
            raise
        raise BackupRefused(f"{source} is beschadigd of onvolledig ({e}). {NOTHING_CHANGED}") \
            from None
    with contextlib.closing(sqlite3.connect(target, timeout=30)) as live:
        return _sqlite_counts(live), live.execute(VERSION_QUERY).fetchone()[0]


# --- PostgreSQL -----------------------------------------------------------------------------------

def _libpq(url: sa.URL) -> tuple[str, dict[str, str]]:
    """The libpq URI for pg_dump/pg_restore, and an environment carrying the password: never on
    the command line (any user of the machine reads that in ``ps``) nor in a message."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = sa.engine.URL.create("postgresql", username=url.username, host=url.host,
                                 port=url.port, database=url.database, query=url.query)
    return plain.render_as_string(hide_password=False), env


def _run(args: list[str], env: dict[str, str]) -> str:
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupRefused(f"{args[0]} is niet gevonden: installeer de PostgreSQL-"
                            "clientprogramma's (postgresql-client, dezelfde hoofdversie als de "
                            "server).", 1) from None
    if done.returncode != 0:
        tail = " ".join(done.stderr.strip().splitlines()[-3:])
        raise BackupRefused(f"{args[0]} is mislukt: {tail}", 1)
    return done.stdout


def _pg_counts(conn: sa.Connection) -> dict[str, int]:
    tables = conn.scalars(sa.text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_type = 'BASE TABLE' ORDER BY table_name")).all()
    return {t: conn.scalar(sa.select(sa.func.count()).select_from(sa.table(t))) for t in tables}


def _pg_relations(conn: sa.Connection) -> list[str]:
    """Tables and views outside the system schemas that no extension owns."""
    return conn.scalars(sa.text(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' "
        "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
        "AND d.objid = c.oid AND d.deptype = 'e') ORDER BY 1")).all()


def _create_postgresql(url: sa.URL, tmp: Path) -> dict[str, int]:
    uri, env = _libpq(url)
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():  # the snapshot lives as long as this transaction
            snapshot = conn.scalar(sa.text("SELECT pg_export_snapshot()"))
            rows = _pg_counts(conn)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                  f"--snapshot={snapshot}", f"--file={tmp}", f"--dbname={uri}"], env)
    _run(["pg_restore", "--list", str(tmp)], env)  # the archive reads back
    return rows


# A COMMENT ON EXTENSION may be made only by the extension's owner, which --no-owner does not
# cover where an administrator created pg_trgm in the target beforehand. The comment is the
# extension's own description: leaving it out loses nothing.
_SKIPPED = re.compile(r"^\d+; \d+ \d+ COMMENT - EXTENSION ")


def _restore_postgresql(url: sa.URL, source: Path) -> tuple[dict[str, int], str | None]:
    uri, env = _libpq(url)
    try:
        listing = _run(["pg_restore", "--list", str(source)], env)
    except BackupRefused:
        raise BackupRefused(f"{source} is beschadigd of geen pg_dump-archief. {NOTHING_CHANGED}") \
            from None
    if not re.search(rf"^\d+; \d+ \d+ TABLE \S+ {VERSION_TABLE} ", listing, re.MULTILINE):
        raise BackupRefused(f"{source} is een pg_dump-archief, maar geen reservekopie van SDD CRM "
                            f"(er is geen {VERSION_TABLE}). {NOTHING_CHANGED}")
    with tempfile.NamedTemporaryFile("w", suffix=".list") as use_list:
        use_list.write("\n".join(line for line in listing.splitlines() if not _SKIPPED.match(line)))
        use_list.flush()
        try:
            _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                  "--single-transaction", f"--use-list={use_list.name}", f"--dbname={uri}",
                  str(source)], env)
        except BackupRefused as e:
            raise BackupRefused(f"{e.message} Er is niets teruggezet: het terugzetten is één "
                                "transactie.", e.code) from None
    with db.engine.connect() as conn:
        # pg_restore brings no planner statistics: without them PostgreSQL plans every list as
        # if its table were empty until autovacuum comes round.
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        return _pg_counts(conn), conn.scalar(sa.text(VERSION_QUERY))


# --- shared ---------------------------------------------------------------------------------------

def _kind_of(path: Path) -> str | None:
    with path.open("rb") as fh:
        head = fh.read(len(SQLITE_HEADER))
    if head.startswith(SQLITE_HEADER):
        return "sqlite"
    if head.startswith(PG_CUSTOM_HEADER):
        return "postgresql"
    return None


def _refuse_unless_empty(tables: list[str]) -> None:
    if tables:
        shown = ", ".join(tables[:5]) + (f" en {len(tables) - 5} andere" if len(tables) > 5 else "")
        raise BackupRefused(
            f"De geconfigureerde database is niet leeg: ze heeft {len(tables)} tabel(len), "
            f"o.a. {shown}. Terugzetten kan alleen in een lege database: maak een nieuwe aan (of "
            f"ruim deze op) en probeer het opnieuw. {NOTHING_CHANGED}")


def _schema_advice(revision: str | None) -> tuple[str, bool]:
    """What the operator does next, given the restored schema version; and whether it is this
    code's own."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    heads = set(script.get_heads())
    revision = revision or "(geen)"
    if revision in heads:
        return f"Schemaversie {revision}: die van deze code. Klaar om te starten.", True
    if revision in {s.revision for s in script.walk_revisions()}:
        return (f"Schemaversie {revision} is ouder dan die van deze code "
                f"({', '.join(sorted(heads))}): voer eerst 'flask --app wsgi db upgrade' uit en "
                "start dan de applicatie."), False
    return (f"Schemaversie {revision} kent deze code niet: de reservekopie komt van een nieuwere "
            "versie van SDD CRM. Installeer die versie (of een nieuwere) voordat u de applicatie "
            "start."), False


def _durable_rename(tmp: Path, file: Path) -> None:
    """Give the finished copy its name only once it is on disk."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, file)
    folder = os.open(file.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def _n(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def _summary(rows: dict[str, int], size: int, seconds: float) -> str:
    megabytes = f"{size / 1_000_000:.1f}".replace(".", ",")
    duration = f"{seconds:.{2 if seconds < 1 else 1}f}".replace(".", ",")
    return f"{len(rows)} tabellen, {_n(sum(rows.values()))} rijen, {megabytes} MB, {duration} s"
