"""A worker killed mid-import loses nothing and duplicates nothing (issue 6 point 5).

The real thing: PostgreSQL, Redis and ``flask rq worker`` processes. The per-test rolled-back
transaction of conftest.py is invisible to another process, so this test builds a database of
its own next to TEST_DATABASE_URL's (migrated, reference data loaded, committed for real) and
drops it afterwards; it uses Redis database 14, emptied before and after.

1. The import of 30,000 rows is enqueued and a burst worker started in its own process group.
2. Once the job is writing — its progress past 60 % and its transaction holding row locks on
   ``organisation`` — the worker and its work-horse (which runs in a process group of its own,
   FACTS.md) are both killed with SIGKILL.
3. The data is as before: PostgreSQL rolled the dead connection's transaction back; the Job
   row still says "running".
4. ``flask import resume JOB_ID --async`` enqueues it again and a new worker runs it: every row
   is there exactly once (organisations, establishments, SBI codes, audit events).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa

from import_support import many_rows_csv
from sdd_crm.extensions import db

ROOT = Path(__file__).resolve().parent.parent
ROWS = 30_000


def _redis_url() -> str:
    return urlunsplit(urlsplit(os.environ["REDIS_URL"])._replace(path="/14"))


@pytest.fixture
def committed(monkeypatch):
    """(app, engine, env): an app on a database of its own, committed for real, and the
    environment a worker process needs to reach the same database and Redis."""
    from flask_migrate import upgrade

    from sdd_crm import create_app
    from sdd_crm.config import _normalise_db_url
    from sdd_crm.reference.services import seed_reference

    base = sa.engine.make_url(_normalise_db_url(os.environ["TEST_DATABASE_URL"]))
    name = f"{base.database}_crash_{os.getpid()}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    redis_url = _redis_url()
    env = dict(os.environ, FLASK_APP="wsgi", DATABASE_URL=url, REDIS_URL=redis_url,
               SDD_CRM_SECRET_KEY="crash-test", SDD_CRM_CRITICALITY_AUTO_RECOMPUTE="false",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    app = create_app({"TESTING": True, "SECRET_KEY": "crash-test", "SQLALCHEMY_DATABASE_URI": url,
                      "REDIS_URL": redis_url, "RQ_ASYNC": True, "RATELIMIT_STORAGE_URI": "memory://",
                      "CRITICALITY_AUTO_RECOMPUTE": False})
    monkeypatch.setattr(db, "session", db._make_scoped_session({}))
    try:
        with app.app_context():
            from sdd_crm.extensions import rq

            upgrade()
            seed_reference()
            db.session.commit()
            rq.queue.connection.flushdb()  # database 14 is this test's own
            yield app, db.engine, env
            rq.queue.connection.flushdb()
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def _worker(env, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:  # a file, not a pipe: a full pipe would block the worker
        return subprocess.Popen([sys.executable, "-m", "flask", "rq", "worker", "--burst"],
                                cwd=ROOT, env=env, start_new_session=True,  # own process group
                                stdout=out, stderr=subprocess.STDOUT)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar()


def _wait(what, check, timeout: float, worker=None, log: Path | None = None, job=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if worker is not None and worker.poll() is not None:
            pytest.fail(f"the worker exited before {what}; job: {job() if job else None}; "
                        f"log: {log.read_text()[-2000:]}")
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


WRITING = ("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
           "WHERE c.relname = 'organisation' AND l.mode = 'RowExclusiveLock' "
           "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")


def _totals(engine) -> dict:
    queries = {
        "organisations": "SELECT count(*) FROM organisation",
        "distinct_kvk": "SELECT count(DISTINCT kvk_number) FROM organisation",
        "establishments": "SELECT count(*) FROM establishment",
        "distinct_establishments": "SELECT count(DISTINCT establishment_number) FROM establishment",
        "sbi_codes": "SELECT count(*) FROM organisation_sbi",
        "audit_create": "SELECT count(*) FROM audit_event WHERE action = 'create' AND source = 'import'",
        "audit_distinct": "SELECT count(DISTINCT entity_type || entity_id) FROM audit_event "
                          "WHERE action = 'create' AND source = 'import'",
        "audit_import": "SELECT count(*) FROM audit_event WHERE action = 'import'",
    }
    return {key: _scalar(engine, sql) for key, sql in queries.items()}


@pytest.mark.redis
@pytest.mark.postgres
def test_a_worker_killed_mid_import_loses_and_duplicates_nothing(committed, tmp_path):
    from sdd_crm.imports.jobs import create_import_job, enqueue_import
    from sdd_crm.imports.mapping import auto_map
    from sdd_crm.imports.reading import read_table

    app, engine, env = committed
    data = many_rows_csv(ROWS)
    mapping = auto_map(read_table(data, "groot.csv").headers, "organisations")
    job = create_import_job(data, "groot.csv", "organisations", mapping, dry_run=False, actor=None)
    enqueue_import(job)
    db.session.commit()
    job_id = job.id

    log = tmp_path / "worker.log"
    worker = _worker(env, log)
    try:
        _wait("the import to write", lambda: (_scalar(
            engine, "SELECT progress FROM job WHERE id = :id", id=job_id) or 0) >= 60
            and _scalar(engine, WRITING) > 0, timeout=90, worker=worker, log=log,
            job=lambda: _scalar(engine, "SELECT status || ': ' || coalesce(message, '') FROM job "
                                        "WHERE id = :id", id=job_id))
        horses = _children(worker.pid)  # before the worker dies and they are re-parented
        assert horses, "no work-horse found"
        for pid in horses:
            os.kill(pid, signal.SIGKILL)
        os.killpg(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
    _wait("PostgreSQL to roll back the dead transaction",
          lambda: _scalar(engine, WRITING) == 0, timeout=30)

    assert _scalar(engine, "SELECT status FROM job WHERE id = :id", id=job_id) == "running"
    assert _totals(engine) == {"organisations": 0, "distinct_kvk": 0, "establishments": 0,
                               "distinct_establishments": 0, "sbi_codes": 0, "audit_create": 0,
                               "audit_distinct": 0, "audit_import": 0}

    resumed = subprocess.run([sys.executable, "-m", "flask", "import", "resume", job_id, "--async"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == f"Import opnieuw in de wachtrij gezet: job {job_id}."
    second = _worker(env, log)
    try:
        assert second.wait(timeout=120) == 0, log.read_text()[-2000:]
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)

    assert _scalar(engine, "SELECT status FROM job WHERE id = :id", id=job_id) == "finished"
    result = _scalar(engine, "SELECT result FROM job WHERE id = :id", id=job_id)
    assert (result["created"], result["updated"], result["rejected"], result["establishments"]) == (
        ROWS, 0, 0, ROWS)
    assert _totals(engine) == {"organisations": ROWS, "distinct_kvk": ROWS,
                               "establishments": ROWS, "distinct_establishments": ROWS,
                               "sbi_codes": ROWS, "audit_create": 2 * ROWS,
                               "audit_distinct": 2 * ROWS, "audit_import": 1}


def _dispatcher(env, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "flask", "jobs", "dispatcher",
                                 "--interval", "0.5"], cwd=ROOT, env=env,
                                start_new_session=True, stdout=out, stderr=subprocess.STDOUT)


@pytest.mark.redis
@pytest.mark.postgres
def test_a_dead_worker_is_found_and_the_import_finishes_on_its_own(committed, tmp_path):
    """Issue 13: no `flask import resume` — the dispatcher finds the job whose worker died
    (its heartbeat expired) within JOB_ALIVE_SECONDS (6 s here, 30 by default) and puts it
    back; a new worker finishes it. Killed at three points: while reading, while writing,
    and near the end; after each, every row is there exactly once."""
    from sdd_crm.imports.jobs import create_import_job, enqueue_import
    from sdd_crm.imports.mapping import auto_map
    from sdd_crm.imports.reading import read_table

    app, engine, env = committed
    env = dict(env, SDD_CRM_JOB_ALIVE_SECONDS="6")
    app.config["JOB_ALIVE_SECONDS"] = 6
    rows, seen = 12_000, set()
    log = tmp_path / "worker.log"
    dispatcher = _dispatcher(env, tmp_path / "dispatcher.log")
    try:
        for point, (seed, progress, writing) in enumerate([(21, 10, False), (22, 50, True),
                                                           (23, 80, True)], start=1):
            data = many_rows_csv(rows, seed=seed)
            seen |= {line.split(b";")[1] if b";" in line else line.split(b",")[1]
                     for line in data.splitlines()[1:]}
            mapping = auto_map(read_table(data, f"punt{point}.csv").headers, "organisations")
            job = create_import_job(data, f"punt{point}.csv", "organisations", mapping,
                                    dry_run=False, actor=None)
            enqueue_import(job)
            db.session.commit()
            job_id = job.id
            worker = _worker(env, log)
            try:
                _wait(f"point {point}", lambda: (_scalar(
                    engine, "SELECT progress FROM job WHERE id = :id", id=job_id) or 0) >= progress
                    and (not writing or _scalar(engine, WRITING) > 0), timeout=90, worker=worker,
                    log=log)
                for pid in _children(worker.pid):
                    os.kill(pid, signal.SIGKILL)
                os.killpg(worker.pid, signal.SIGKILL)
            finally:
                worker.wait(timeout=30)
            died = time.monotonic()
            _wait("the dispatcher to put the job back", lambda: _scalar(
                engine, "SELECT status FROM job WHERE id = :id", id=job_id) == "queued",
                timeout=60)
            assert time.monotonic() - died < 60  # found within a minute
            second = _worker(env, log)
            try:
                assert second.wait(timeout=180) == 0, log.read_text()[-2000:]
            finally:
                if second.poll() is None:
                    os.killpg(second.pid, signal.SIGKILL)
            assert _scalar(engine, "SELECT status FROM job WHERE id = :id", id=job_id) == "finished"
            totals = _totals(engine)
            assert totals["organisations"] == totals["distinct_kvk"] == len(seen), point
            assert totals["establishments"] == totals["distinct_establishments"] == len(seen)
            assert totals["audit_create"] == totals["audit_distinct"]
            assert totals["audit_import"] == point
    finally:
        os.killpg(dispatcher.pid, signal.SIGKILL)
        dispatcher.wait(timeout=30)
