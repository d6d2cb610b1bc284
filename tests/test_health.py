"""``GET /healthz`` (issue 13, point 4): what a monitor or a load balancer sees.

Without login; the state of the database, Redis, the queue (length, oldest waiting job), the
outbox, the workers and the scheduler; no business data; 503 when something the configuration
needs is down, never a hanging request.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time
import types
from urllib.parse import urlsplit, urlunsplit

import pytest

from sdd_crm import create_app, health
from sdd_crm.extensions import db, rq

PARTS = {"database", "redis", "queue", "outbox", "workers", "scheduler"}


def _app(tmp_path, **config):
    """An app of its own (another database, another job mode), not migrated: /healthz needs no
    table."""
    settings = {"TESTING": True, "SECRET_KEY": "x", "RATELIMIT_STORAGE_URI": "memory://",
                "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "health.sqlite3")}
    settings.update(config)
    return create_app(settings)


def _dispose(app):
    with app.app_context():
        db.engine.dispose()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_everything_fine_answers_200_with_every_part_and_no_login(app, client, make_user,
                                                                   make_org):
    user = make_user(email="gezondheid.test@example.nl", name="Gerda Gezond")
    make_org(name="Geheime Gezondheid B.V.")
    resp = client.get("/healthz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok" and body["failing"] == []
    assert PARTS <= set(body)
    assert body["database"]["status"] == "ok" and 0 <= body["database"]["ms"] < 1000
    # The suite's Redis is shared (a test may leave a job queued): the figures themselves are
    # proven on a queue of its own below.
    assert body["queue"]["status"] == "ok" and body["queue"]["length"] >= 0
    assert body["outbox"]["status"] in {"ok", "not used"}
    if app.config["JOBS"] == "redis":  # REDIS_URL set: RQ runs the tests' jobs synchronously
        assert body["redis"]["status"] == "ok" and body["redis"]["ms"] < 1000
        assert body["scheduler"] == {"status": "disabled"}  # no periodic work in tests
    else:
        assert body["jobs"] == "inline" and body["redis"] == {"status": "not used"}
        assert body["workers"] == body["scheduler"] == {"status": "not used"}
    # No data of the installation: no user, no organisation, no connection string.
    text = resp.get_data(as_text=True)
    for private in (user.email, "Gerda", "Geheime Gezondheid", "sqlite", "test-secret"):
        assert private not in text
    assert "Set-Cookie" not in resp.headers  # nothing about a session either
    assert "no-store" in resp.headers["Cache-Control"]


def test_the_queue_length_and_the_age_of_the_oldest_waiting_job(tmp_path):
    from rq import Queue
    from rq.job import Job

    app = _app(tmp_path, RQ_QUEUES=["health-probe"])  # a queue of its own, on any Redis
    try:
        with app.app_context():
            connection = rq.queues["health-probe"].connection
        waiting = Queue("health-probe", connection=connection)  # nothing works it here
        try:
            for seconds in (90, 5):  # queued 90 s and 5 s ago, as RQ's enqueue stores them
                job = Job.create("os.getcwd", connection=connection, origin="health-probe")
                job.enqueued_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
                job.save()
                waiting.push_job_id(job.id)
            queue = app.test_client().get("/healthz").get_json()["queue"]
        finally:
            for job_id in waiting.job_ids:  # (Queue.empty needs Lua, which fakeredis lacks)
                connection.delete(Job.key_for(job_id))
            connection.delete(waiting.key)
    finally:
        _dispose(app)
    assert queue["length"] == 2
    assert 89 <= queue["oldest_seconds"] < 120


def test_503_when_the_database_is_unreachable(tmp_path):
    app = _app(tmp_path, SQLALCHEMY_DATABASE_URI="sqlite:///" + str(tmp_path / "no" / "dir" / "x.db"))
    try:
        resp = app.test_client().get("/healthz")
    finally:
        _dispose(app)
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["status"] == "unavailable" and body["failing"] == ["database"]
    assert body["database"] == {"status": "down", "ms": None, "error": "OperationalError"}
    assert PARTS <= set(body)
    assert str(tmp_path) not in resp.get_data(as_text=True)  # not the database's address


def test_a_database_that_does_not_answer_gives_503_within_about_a_second(app, client,
                                                                         monkeypatch):
    release = threading.Event()

    def hanging(engine):
        return lambda: release.wait(10)  # a server that accepted the connection, then went quiet

    monkeypatch.setattr(health, "_database_check", hanging)
    started = time.monotonic()
    try:
        resp = client.get("/healthz")
    finally:
        release.set()
    assert time.monotonic() - started < 3
    assert resp.status_code == 503
    assert resp.get_json()["database"] == {"status": "down", "ms": None, "error": "timeout"}


def test_503_in_redis_mode_when_redis_is_unreachable(tmp_path):
    app = _app(tmp_path, JOBS="redis", REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0",
               RQ_ASYNC=True)
    client = app.test_client()
    try:
        started = time.monotonic()
        resp = client.get("/healthz")
        elapsed = time.monotonic() - started
        web = client.get("/healthz?scope=web")
    finally:
        _dispose(app)
    assert elapsed < 3
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["jobs"] == "redis" and "redis" in body["failing"]
    assert body["redis"]["status"] == "down" and body["redis"]["error"]
    assert body["queue"] == {"status": "unknown", "length": None, "oldest_seconds": None}
    assert body["database"]["status"] == "ok"
    # A web process cannot answer without Redis in this mode: the load balancer's check fails too.
    assert web.status_code == 503 and web.get_json()["failing"] == ["redis"]


def test_the_embedded_worker_and_schedule_are_reported_not_required(tmp_path, monkeypatch):
    from sdd_crm.jobs import worker as embedded

    app = _app(tmp_path, JOBS="thread", SCHEDULE_ENABLED=False)
    try:
        client = app.test_client()
        idle = client.get("/healthz")
        # This process's worker thread, as sdd_crm.jobs.worker keeps it, with its heartbeats.
        app.extensions[embedded._KEY] = types.SimpleNamespace(
            pid=os.getpid(), thread=threading.current_thread())
        monkeypatch.setattr(embedded, "heartbeats",
                            lambda _app: (time.time() - 3, time.time() - 40))
        app.config["SCHEDULE_ENABLED"] = True
        running = client.get("/healthz")
    finally:
        app.extensions.pop(embedded._KEY, None)
        _dispose(app)
    assert idle.status_code == 200  # the embedded worker starts with the first job: not required
    body = idle.get_json()
    assert body["jobs"] == "thread" and body["redis"] == {"status": "not used"}
    assert body["workers"]["status"] == "not running" and body["scheduler"] == {"status": "disabled"}
    body = running.get_json()
    assert running.status_code == 200
    assert body["workers"]["status"] == "ok" and 2 <= body["workers"]["heartbeat_seconds"] < 10
    assert body["scheduler"]["status"] == "ok" and 39 <= body["scheduler"]["heartbeat_seconds"] < 50


# --- with a real Redis -------------------------------------------------------------------------

@pytest.fixture
def redis_db():
    """REDIS_URL's server, database 13 (emptied before and after)."""
    import redis

    parts = urlsplit(os.environ["REDIS_URL"])
    url = urlunsplit(parts._replace(path="/13"))
    connection = redis.Redis.from_url(url)
    connection.flushdb()
    yield url, connection
    connection.flushdb()
    connection.close()


@pytest.mark.redis
def test_redis_mode_needs_a_live_worker_and_scheduler(tmp_path, redis_db):
    from rq import Queue, Worker
    from rq.cron import CronScheduler

    url, connection = redis_db
    app = _app(tmp_path, JOBS="redis", REDIS_URL=url, SCHEDULE_ENABLED=True, RQ_ASYNC=True)
    client = app.test_client()
    try:
        nobody = client.get("/healthz")
        web = client.get("/healthz?scope=web")

        worker = Worker(["default"], connection=connection, name="health-test")
        worker.register_birth()
        scheduler = CronScheduler(connection=connection, name="health-test-cron")
        scheduler.register_birth()
        Queue("default", connection=connection).enqueue("os.getcwd")
        alive = client.get("/healthz")

        # A worker that stopped beating ten minutes ago (killed without its goodbye).
        stale = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
        connection.hset(worker.key, "last_heartbeat", stale.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        dead = client.get("/healthz")
    finally:
        _dispose(app)

    assert nobody.status_code == 503
    body = nobody.get_json()
    assert body["redis"]["status"] == "ok" and body["redis"]["ms"] < 1000
    assert body["failing"] == ["workers", "scheduler"]
    assert body["workers"]["status"] == body["scheduler"]["status"] == "missing"
    assert web.status_code == 200  # the web process itself can serve

    assert alive.status_code == 200, alive.get_json()
    body = alive.get_json()
    assert body["workers"]["status"] == "ok" and body["workers"]["count"] == 1
    assert body["workers"]["heartbeat_seconds"] < 10
    assert body["workers"]["max_age_seconds"] == health.WORKER_MAX_AGE
    assert body["scheduler"]["status"] == "ok" and body["scheduler"]["heartbeat_seconds"] < 10
    assert body["queue"]["length"] == 1 and body["queue"]["oldest_seconds"] < 10
    assert "health-test" not in json.dumps(body)  # no worker names (they carry host names)

    assert dead.status_code == 503 and dead.get_json()["failing"] == ["workers"]
    assert dead.get_json()["workers"]["status"] == "stale"
