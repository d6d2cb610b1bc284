"""Jobs are never lost, against the real thing (issue 13 point 1): PostgreSQL, a Redis server
that is stopped while changes are committed and started again, the dispatcher and
``flask rq worker`` processes.

The test runs a Redis server of its own (``redis-server`` on a free port, no persistence), so
stopping it leaves the suite's Redis alone, and a database of its own (committed for real: a
worker process must see the rows), as tests/test_import_crash.py does.

1. Redis is stopped. Eight changes commit, each asking for a job (a criticality recompute, a
   list export): every change stands, every job waits in the outbox with the error.
2. Redis is started again, empty. Two dispatchers run side by side (``flask jobs dispatcher
   --once``), then a burst worker: every job ran exactly once in effect — finished, one export
   file each, one recompute audit each, every outbox row dispatched once.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from db_support import throwaway_database

from sdd_crm.extensions import db

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
ROOT = Path(__file__).resolve().parent.parent
JOBS = 4  # of each kind


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server process of the test's own, stopped and started at will."""

    def __init__(self, port: int, workdir: Path):
        self.port, self.workdir, self.proc = port, workdir, None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def world(tmp_path, monkeypatch):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    from flask_migrate import upgrade

    from sdd_crm import create_app
    from sdd_crm.reference.services import seed_reference

    server = RedisServer(_free_port(), tmp_path)
    redis_url = f"redis://127.0.0.1:{server.port}/0"
    with throwaway_database(tmp_path, "outbox") as url:
        env = dict(os.environ, FLASK_APP="wsgi", DATABASE_URL=url, REDIS_URL=redis_url,
                   SDD_CRM_SECRET_KEY="outbox-test", SDD_CRM_CRITICALITY_AUTO_RECOMPUTE="false",
                   SDD_CRM_JOBS="redis",
                   PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
        app = create_app({"TESTING": True, "SECRET_KEY": "outbox-test",
                          "SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "JOBS": "redis",
                          "RQ_ASYNC": True, "RATELIMIT_STORAGE_URI": "memory://",
                          "CRITICALITY_AUTO_RECOMPUTE": False})
        monkeypatch.setattr(db, "session", db._make_scoped_session({}))
        try:
            with app.app_context():
                upgrade()
                seed_reference()
                db.session.commit()
                yield app, db.engine, env, server
                db.session.remove()
                db.engine.dispose()
        finally:
            server.stop()


def _flask(env, *args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _scalar(engine, sql: str):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).scalar()


def test_jobs_committed_while_redis_is_down_all_run_once_when_it_is_back(world):
    from sdd_crm.auth.services import create_user
    from sdd_crm.exports import jobs as export_jobs
    from sdd_crm.valuechains import jobs as criticality_jobs

    app, engine, env, server = world
    admin = create_user(email="beheer@example.nl", name="Beheer", role="admin",
                        password="correct horse battery staple", municipality_code=None)
    db.session.commit()
    asked = []
    # 1. Redis has never been up for this app: every change commits, every job waits.
    for i in range(JOBS):
        job = criticality_jobs.create_job(actor=admin, reason=f"test {i}")
        criticality_jobs.enqueue_job(job)
        db.session.commit()
        asked.append(job.id)
        job = export_jobs.create_job(actor=admin, kind="organisations", fmt="csv", args={})
        db.session.commit()
        asked.append(job.id)
    assert _scalar(engine, "SELECT count(*) FROM job WHERE status = 'queued'") == 2 * JOBS
    assert _scalar(engine, "SELECT count(*) FROM job_outbox WHERE dispatched_at IS NULL "
                           "AND last_error LIKE '%Connection%'") == 2 * JOBS
    # A dispatcher round while Redis is still down changes nothing and does not fail.
    down = _flask(env, "jobs", "dispatcher", "--once")
    assert down.returncode == 0, down.stderr
    assert _scalar(engine, "SELECT count(*) FROM job_outbox WHERE dispatched_at IS NULL") == 2 * JOBS

    # 2. Redis is back (empty). Make every row due now, run two dispatchers side by side.
    server.start()
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE job_outbox SET available_at = now() - interval '1 second'")
    dispatchers = [subprocess.Popen([sys.executable, "-m", "flask", "jobs", "dispatcher", "--once"],
                                    cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in dispatchers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert _scalar(engine, "SELECT count(*) FROM job_outbox WHERE dispatched_at IS NULL") == 0
    worker = _flask(env, "rq", "worker", "--burst", timeout=300)
    assert worker.returncode == 0, worker.stderr[-2000:]

    assert _scalar(engine, "SELECT count(*) FROM job WHERE status = 'finished'") == 2 * JOBS
    assert _scalar(engine, "SELECT count(*) FROM job_outbox") == 2 * JOBS  # one row per job
    assert _scalar(engine, "SELECT max(attempts) FROM job_outbox") >= 2
    # Exactly once in effect: one export file per export job, one audit entry per export.
    assert _scalar(engine, "SELECT count(*) FROM job_file WHERE role = 'output'") == JOBS
    assert _scalar(engine, "SELECT count(DISTINCT job_id) FROM job_file WHERE role = 'output'") == JOBS
