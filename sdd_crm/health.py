"""What ``GET /healthz`` reports: is this installation able to do its work (issue 13, point 4).

No login and no business data: states, counts, ages and milliseconds only (no host names, no
worker names, no error texts that could carry a connection string).

* ``database``: ``SELECT 1`` over a fresh pooled connection, and its time in ms;
* ``redis``: ``PING`` (``JOBS = "redis"``), else ``"not used"``;
* ``queue``: the number of jobs waiting in RQ's queues and the age of the oldest (seconds);
* ``outbox``: jobs committed but not yet handed to RQ (:mod:`sdd_crm.jobs.outbox`), and the age
  of the oldest;
* ``workers`` and ``scheduler``: the age of the newest heartbeat. With Redis: RQ's own records
  (``Worker.all``, ``rq.cron.CronScheduler.all``); in the embedded mode, this process's worker
  thread (:mod:`sdd_crm.jobs.worker`).

The answer is 503 when something the configuration needs is down, 200 otherwise:

* always: the database;
* ``JOBS = "redis"``: Redis; a worker (unless RQ runs jobs synchronously, ``RQ_ASYNC =
  False``, as in tests) whose heartbeat is younger than ``HEALTH_WORKER_MAX_AGE`` seconds
  (default 480: RQ's default ``--worker-ttl`` of 420 s plus the 60 s RQ itself allows before it
  forgets a worker; an idle worker beats every ttl − 15 s, a busy one every 30 s);
  and, when the periodic work is on (``SCHEDULE_ENABLED``, on by default except in tests), an
  ``rq cron`` scheduler whose heartbeat is younger than ``HEALTH_SCHEDULER_MAX_AGE`` (default
  120: RQ's own scheduler TTL; it beats at least once a minute).

``?scope=web`` judges only what this web process needs to answer requests (the database, and
Redis in the Redis mode): for a load balancer, which should not take every web process out of
service because the workers are down.

Every check has about a second (:data:`CHECK_TIMEOUT`): the checks run in daemon threads that
the answer does not wait for beyond that, so an unreachable server makes the check ``down``
with ``"error": "timeout"``, never a hanging health check.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from concurrent.futures import Future

import sqlalchemy as sa
from flask import Flask

from .extensions import db, rq
from .jobs import worker as embedded
from .jobs.outbox import pending as outbox_pending

CHECK_TIMEOUT = 1.0  # seconds each check may take
WORKER_MAX_AGE = 480  # seconds: RQ's default worker_ttl (420) + 60
SCHEDULER_MAX_AGE = 120  # seconds: rq.defaults.DEFAULT_CRON_SCHEDULER_TTL
_slots = threading.BoundedSemaphore(8)  # checks still running, across requests (a hung server)
_clients: dict[tuple[int, str], object] = {}


def report(app: Flask, scope: str | None = None) -> tuple[dict, int]:
    """The health answer (a JSON-able dict) and its HTTP status; call within a request."""
    mode = app.config.get("JOBS")
    started = time.monotonic()
    database = _in_background(_database_check(db.engine))
    redis_state = (_in_background(_redis_check(app)) if mode == "redis"
                   else _local_jobs_state(app, mode))
    body = {"status": "ok", "failing": [], "jobs": mode}
    body["database"], body["outbox"] = _result(database, started, _database_down)
    body.update(redis_state if isinstance(redis_state, dict)
                else _result(redis_state, started, _redis_down(app)))

    required = ["database"] + (["redis"] if mode == "redis" else [])
    if scope != "web" and mode == "redis":
        if any(queue.is_async for queue in rq.queues.values()):  # else jobs run inline (tests)
            required.append("workers")
        if _schedule_enabled(app):
            required.append("scheduler")
    body["failing"] = [name for name in required if body[name]["status"] != "ok"]
    if body["failing"]:
        body["status"] = "unavailable"
    return body, 503 if body["failing"] else 200


# --- running a check with a deadline ---------------------------------------------------------

def _in_background(check) -> Future:
    """Run ``check`` in a daemon thread (at most a few at once): a server that does not answer
    keeps the thread, never the request, nor the process's exit."""
    future: Future = Future()
    if not _slots.acquire(blocking=False):
        future.set_exception(TimeoutError("earlier checks are still waiting"))
        return future

    def run():
        try:
            future.set_result(check())
        except BaseException as exc:  # noqa: BLE001 - reported as the check's error
            future.set_exception(exc)
        finally:
            _slots.release()

    threading.Thread(target=run, name="sdd-crm-health", daemon=True).start()
    return future


def _result(future: Future, started: float, down):
    remaining = max(0.05, CHECK_TIMEOUT - (time.monotonic() - started))
    try:
        return future.result(timeout=remaining)
    except TimeoutError:
        return down("timeout")
    except Exception as exc:  # noqa: BLE001 - the class only: a message may hold a URL
        return down(type(exc).__name__)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


def _age(when: dt.datetime | None) -> float | None:
    if when is None:
        return None
    if when.tzinfo is None:  # SQLite gives naive UTC
        when = when.replace(tzinfo=dt.UTC)
    return round(max(0.0, (dt.datetime.now(dt.UTC) - when).total_seconds()), 1)


# --- the database ----------------------------------------------------------------------------

def _database_check(engine):
    def check():
        since = time.perf_counter()
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            database = {"status": "ok", "ms": _ms(since)}
            return database, _outbox_state(conn)

    return check


def _outbox_state(conn) -> dict:
    try:
        pending, oldest = outbox_pending(conn)
    except sa.exc.SQLAlchemyError:  # a database not migrated yet: the database itself answers
        return {"status": "unknown", "pending": None, "oldest_seconds": None}
    return {"status": "ok", "pending": pending, "oldest_seconds": _age(oldest)}


def _database_down(error: str):
    return ({"status": "down", "ms": None, "error": error},
            {"status": "unknown", "pending": None, "oldest_seconds": None})


# --- Redis, the queue, the workers and the scheduler -------------------------------------------

def _client(url: str):
    """A Redis client of our own for the checks: a one-second connect and read timeout and no
    retries (the application's connection waits and retries, as it should for a job)."""
    key = (os.getpid(), url)
    client = _clients.get(key)
    if client is None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = _clients[key] = redis.Redis.from_url(
            url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT,
            retry=Retry(NoBackoff(), 0))
    return client


def _redis_check(app: Flask):
    url = app.config["REDIS_URL"]
    names = list(app.config.get("RQ_QUEUES") or ["default"])
    worker_max = float(app.config.get("HEALTH_WORKER_MAX_AGE", WORKER_MAX_AGE))
    scheduler_max = float(app.config.get("HEALTH_SCHEDULER_MAX_AGE", SCHEDULER_MAX_AGE))
    enabled = _schedule_enabled(app)

    def check():
        from rq import Queue, Worker

        client = _client(url)
        since = time.perf_counter()
        client.ping()
        state = {"redis": {"status": "ok", "ms": _ms(since)}}
        queues = [Queue(name, connection=client) for name in names]
        state["queue"] = _queue_state(queues, client)
        workers = {w.name: w for q in queues for w in Worker.all(queue=q)}
        state["workers"] = _heartbeats([w.last_heartbeat for w in workers.values()], worker_max)
        state["scheduler"] = (_heartbeats(_scheduler_heartbeats(client), scheduler_max)
                              if enabled else {"status": "disabled"})
        return state

    return check


def _redis_down(app: Flask):
    def down(error: str) -> dict:
        unknown = {"status": "unknown"}
        return {"redis": {"status": "down", "ms": None, "error": error},
                "queue": {"status": "unknown", "length": None, "oldest_seconds": None},
                "workers": unknown,
                "scheduler": unknown if _schedule_enabled(app) else {"status": "disabled"}}

    return down


def _queue_state(queues, connection) -> dict:
    from rq.job import Job

    length = sum(q.count for q in queues)
    oldest = None
    for queue in queues:
        # The head of the list waits longest; a few, in case the first was deleted meanwhile.
        for job in Job.fetch_many(queue.get_job_ids(0, 4), connection=connection):
            if job is not None and job.enqueued_at is not None:
                oldest = job.enqueued_at if oldest is None else min(oldest, job.enqueued_at)
                break
    return {"status": "ok", "length": length, "oldest_seconds": _age(oldest)}


def _scheduler_heartbeats(connection) -> list:
    try:
        from rq.cron import CronScheduler
    except ImportError:  # an RQ without its own cron scheduler
        return []
    # cleanup=False: a health check only reads (the age test below skips stale entries).
    return [s.last_heartbeat for s in CronScheduler.all(connection, cleanup=False)]


def _heartbeats(beats: list, max_age: float) -> dict:
    ages = [age for age in (_age(b) for b in beats) if age is not None]
    newest = min(ages) if ages else None
    live = sum(1 for age in ages if age <= max_age)
    status = "ok" if live else "stale" if ages else "missing"
    return {"status": status, "count": live, "heartbeat_seconds": newest,
            "max_age_seconds": max_age}


# --- the embedded modes (thread, inline) ---------------------------------------------------------

def _local_jobs_state(app: Flask, mode: str | None) -> dict:
    """No Redis server: the queue lives in this process (fakeredis), asked directly."""
    state: dict = {"redis": {"status": "not used"}}
    try:
        queues = list(rq.queues.values())
        state["queue"] = _queue_state(queues, queues[0].connection)
    except Exception as exc:  # noqa: BLE001
        state["queue"] = {"status": "unknown", "length": None, "oldest_seconds": None,
                          "error": type(exc).__name__}
    if mode != "thread":  # inline: jobs run within the request that asks for them
        state["workers"] = state["scheduler"] = {"status": "not used"}
        return state
    worker_beat, schedule_beat, running = _embedded_heartbeats(app)
    state["workers"] = {"status": "ok" if running else "not running", "embedded": True,
                        "heartbeat_seconds": _seconds_since(worker_beat)}
    if not _schedule_enabled(app):
        state["scheduler"] = {"status": "disabled"}
    else:
        state["scheduler"] = {"status": "ok" if running else "not running", "embedded": True,
                              "heartbeat_seconds": _seconds_since(schedule_beat)}
    return state


def _embedded_heartbeats(app: Flask) -> tuple[float | None, float | None, bool]:
    """(worker beat, schedule beat, running) of this process's worker thread (``time.time()``
    values, :func:`sdd_crm.jobs.worker.heartbeats`)."""
    worker_beat, schedule_beat = embedded.heartbeats(app)
    return worker_beat, schedule_beat, embedded.is_running(app)


def _seconds_since(timestamp: float | None) -> float | None:
    return None if timestamp is None else round(max(0.0, time.time() - timestamp), 1)


def _schedule_enabled(app: Flask) -> bool:
    return embedded.schedule_enabled(app)
