"""A job whose worker died is found within a minute, and run again or visibly failed.

While :func:`sdd_crm.jobs.lifecycle.run` runs a job, a :class:`Heartbeat` thread keeps a key
``sdd_crm:job-alive:<id>`` in the queue's Redis alive (expiring after ``JOB_ALIVE_SECONDS``,
30 by default, renewed three times as often), and the Job row names its process (``worker``:
host and process id). A dead worker is so found within ``JOB_ALIVE_SECONDS`` plus one
dispatcher round: well within a minute. :func:`reap` — run by every dispatcher round
(:mod:`.dispatcher`) — looks at the ``running`` rows:

* with Redis (``JOBS = "redis"``): a row whose key has expired lost its worker (a work-horse
  killed, a machine gone). RQ alone notices that only at its next maintenance run, up to ten
  minutes later (FACTS.md);
* embedded (``JOBS = "thread"``): the queue lives in the web process; a row whose process on
  this machine is gone (a restart, a crash) lost it.

Such a job is put back on the outbox to run again (a job's body is one unit of work, or
resumable: a rerun changes nothing more, and an import resumes to the same end, FACTS.md), at
most :data:`MAX_RUNS` runs in all; then it is marked ``failed`` with a message saying so.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from redis.exceptions import RedisError

from ..db import utcnow
from ..extensions import db, rq
from .models import Job, JobOutbox, JobStatus
from .outbox import record, resolve

logger = logging.getLogger(__name__)

ALIVE_SECONDS = 30  # default of JOB_ALIVE_SECONDS: a job's key outlives its last beat this long
MAX_RUNS = 3  # runs of one job in all (the first and two after a worker died)
KEY = "sdd_crm:job-alive:{}"


def this_worker() -> str:
    """``host:pid`` of this process (what a Job row's ``worker`` says)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def alive_seconds() -> float:
    return float(current_app.config.get("JOB_ALIVE_SECONDS", ALIVE_SECONDS))


def _connection():
    return rq.queue.connection


class Heartbeat:
    """Keeps ``KEY`` alive while a job runs (a daemon thread; :meth:`stop` ends it and removes
    the key). Failing to reach Redis only skips a beat: the job goes on."""

    def __init__(self, job_id: str):
        self.key, self._stop = KEY.format(job_id), threading.Event()
        self.alive = alive_seconds()
        self.connection = None
        if current_app.config.get("JOBS") in ("redis", "thread"):  # not inline (tests)
            try:
                self.connection = _connection()
            except (RedisError, OSError, KeyError):  # no queue reachable: nothing to keep alive
                self.connection = None
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat {job_id}", daemon=True)

    def start(self) -> Heartbeat:
        if self.connection is not None:
            self._set()
            self.thread.start()
        return self

    def _set(self) -> None:
        try:
            self.connection.set(self.key, this_worker(), px=int(self.alive * 1000))
        except (RedisError, OSError) as exc:
            logger.warning("Heartbeat %s skipped: %s", self.key, type(exc).__name__)

    def _beat(self) -> None:
        while not self._stop.wait(self.alive / 3):
            self._set()

    def stop(self) -> None:
        self._stop.set()
        if self.connection is not None:
            try:
                self.connection.delete(self.key)
            except (RedisError, OSError) as exc:  # it expires by itself
                logger.info("Heartbeat %s not removed: %s", self.key, type(exc).__name__)


def _dead(job: Job, connection, mode: str, now) -> bool:
    if job.started_at is not None and (now - job.started_at).total_seconds() < alive_seconds():
        return False  # just started: its first beat may not be visible yet
    if mode == "thread":
        host, _, pid = (job.worker or "").rpartition(":")
        if host != socket.gethostname() or not pid.isdigit():
            return False  # another machine's process: not ours to judge
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        # Alive — but a pid can be reused: the key (kept in this process's own queue) decides
        # for a process that is this one.
        return int(pid) == os.getpid() and not connection.exists(KEY.format(job.id))
    return not connection.exists(KEY.format(job.id))


def reap(now=None) -> list[str]:
    """Find the ``running`` jobs whose worker died; put each back on the outbox or, after
    :data:`MAX_RUNS` runs, mark it ``failed``. Returns the ids handled."""
    now = now or utcnow()
    mode = current_app.config.get("JOBS")
    if mode not in ("redis", "thread"):
        return []  # inline: a job runs inside the request that asked for it
    connection = _connection()
    running = list(db.session.scalars(sa.select(Job).where(Job.status == JobStatus.RUNNING)))
    handled = []
    for job in running:
        try:
            if not _dead(job, connection, mode, now):
                continue
        except (RedisError, OSError) as exc:  # Redis away: no verdict this round
            logger.warning("Could not check job %s: %s", job.id, type(exc).__name__)
            db.session.rollback()
            return handled
        claimed = db.session.execute(
            sa.update(Job).where(Job.id == job.id, Job.status == JobStatus.RUNNING,
                                 Job.worker.is_not_distinct_from(job.worker),
                                 Job.started_at.is_not_distinct_from(job.started_at))
            .values(status=JobStatus.QUEUED)
            .execution_options(synchronize_session=False)).rowcount
        if not claimed:
            db.session.rollback()
            continue  # another reaper got it, or the job moved on
        db.session.refresh(job)
        runs = db.session.scalar(sa.select(sa.func.count()).select_from(JobOutbox)
                                 .where(JobOutbox.job_id == job.id)) or 1
        last = db.session.scalar(sa.select(JobOutbox).where(JobOutbox.job_id == job.id)
                                 .order_by(JobOutbox.id.desc()).limit(1))
        if runs >= MAX_RUNS or last is None:
            job.status, job.finished_at = JobStatus.FAILED, now
            job.message = _("De verwerking is %(n)s keer onverwacht gestopt; de taak is niet "
                            "afgemaakt en er is niets van opgeslagen.", n=runs)[:500]
            logger.error("Job %s (%s): its worker %s died, %d runs: failed", job.id, job.kind,
                         job.worker, runs)
        else:
            job.progress, job.started_at = 0, None
            job.message = _("Opnieuw in de wachtrij: de verwerking stopte onverwacht.")[:500]
            logger.warning("Job %s (%s): its worker %s died; run %d of %d queued", job.id,
                           job.kind, job.worker, runs + 1, MAX_RUNS)
            record(resolve(last.task), job.id, timeout=last.timeout, retries=0)
        db.session.commit()
        handled.append(job.id)
    return handled
