"""Jobs are never lost: the outbox between a committed change and RQ.

A job a change asks for is recorded *in the change's own transaction*: a :class:`JobOutbox` row
naming the RQ task, the Job row it runs, its timeout and retries (:func:`record`). Both commit
together or not at all. Once the transaction has committed, the rows it recorded are handed to
RQ at once (:func:`dispatch`, the fast path); a row is marked dispatched only when RQ has
taken it. When Redis is down the row stays pending, with the error and the time of the next
attempt (a back-off up to a minute), and :func:`sdd_crm.jobs.dispatcher.run_round` — run by the embedded worker
on every round and by ``flask jobs dispatcher`` next to the Redis workers — hands it over once
Redis answers again. Nothing is lost between the commit and the queue, and nothing needs the
request that asked for it any more.

Each row is *claimed* before it is enqueued (a compare-and-set on ``dispatched_at``), so two
dispatchers never both enqueue it; a dispatcher that dies between its claim and the enqueue
leaves a claimed row whose RQ job does not exist, which :func:`redispatch_lost` puts back.
The RQ job carries the Job row's id as its own, and :func:`sdd_crm.jobs.lifecycle.run` does
not run a finished job again: a job handed over twice changes nothing more.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging

import sqlalchemy as sa
import sqlalchemy.orm
from flask import current_app
from rq import Retry
from rq.job import Job as RQJob

from ..db import utcnow
from ..extensions import db, rq
from ..logs import current_request_id
from ..transaction import after_commit
from .models import Job, JobOutbox, JobStatus

logger = logging.getLogger(__name__)

BATCH = 100  # rows one dispatcher round hands over at most
MAX_BACKOFF = dt.timedelta(seconds=60)  # the longest wait between two attempts of one row
LOST_AFTER = dt.timedelta(seconds=60)  # a claimed row whose RQ job is missing this long is lost


def task_path(task) -> str:
    """``module:name`` of a Flask-RQ task (the module-level name of its wrapper)."""
    func = getattr(task, "func", task)
    return f"{func.__module__}:{func.__qualname__}"


def resolve(path: str):
    """The Flask-RQ task named by :func:`task_path`."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def record(task, job_id: str, *, timeout: int, retries: int = 0,
           delay: dt.timedelta | None = None) -> JobOutbox:
    """Record ``task(job_id)`` in the current transaction; it is handed to RQ once the
    transaction commits (and, if Redis is down then, by the next dispatcher round). With a
    ``delay``, the first dispatcher round after it has passed hands it over (a recompute that
    waits for more changes to come, :mod:`sdd_crm.valuechains.recompute`)."""
    row = JobOutbox(job_id=job_id, task=task_path(task), timeout=int(timeout),
                    retries=int(retries), request_id=current_request_id(),  # see sdd_crm.logs
                    created_at=utcnow(), available_at=utcnow() + (delay or dt.timedelta()),
                    attempts=0)
    db.session.add(row)
    db.session.flush()
    job = db.session.get(Job, job_id)
    if job is not None and job.request_id is None:
        job.request_id = row.request_id
    if delay:
        return row  # not yet: a dispatcher round takes it once it is due
    app = current_app._get_current_object()
    row_id = row.id

    def send() -> None:
        with app.app_context():
            dispatch([row_id])

    send.__qualname__ = f"dispatch job {job_id}"
    after_commit(send)
    return row


def dispatch(ids: list[int] | None = None, *, now: dt.datetime | None = None) -> int:
    """Hand the pending outbox rows ``ids`` (None: all that are due, at most :data:`BATCH`) to
    RQ; returns how many RQ took. Each row in a short transaction of its own: claimed, enqueued,
    kept; a row RQ refused is released with its error and next attempt."""
    now = now or utcnow()
    if ids is None:
        ids = list(db.session.scalars(
            sa.select(JobOutbox.id)
            .where(JobOutbox.dispatched_at.is_(None), JobOutbox.available_at <= now)
            .order_by(JobOutbox.available_at, JobOutbox.id).limit(BATCH)))
        db.session.commit()
    sent = 0
    for row_id in ids:
        sent += _dispatch_one(row_id, now)
    return sent


def _dispatch_one(row_id: int, now: dt.datetime) -> int:
    claimed = db.session.execute(
        sa.update(JobOutbox).where(JobOutbox.id == row_id, JobOutbox.dispatched_at.is_(None))
        .values(dispatched_at=now, attempts=JobOutbox.attempts + 1)
        .execution_options(synchronize_session=False)).rowcount
    row = db.session.execute(
        sa.select(JobOutbox.task, JobOutbox.job_id, JobOutbox.timeout, JobOutbox.retries,
                  JobOutbox.attempts).where(JobOutbox.id == row_id)).one()
    db.session.commit()  # the claim stands before RQ sees the job; no transaction stays open
    if not claimed:
        return 0  # another dispatcher took it
    try:
        _enqueue(row.task, row.job_id, timeout=row.timeout, retries=row.retries)
    except Exception as exc:  # noqa: BLE001 - Redis down or refusing: keep it for the next round
        wait = min(MAX_BACKOFF, dt.timedelta(seconds=2 ** min(row.attempts, 6)))
        db.session.execute(
            sa.update(JobOutbox).where(JobOutbox.id == row_id)
            .values(dispatched_at=None, available_at=utcnow() + wait,
                    last_error=f"{type(exc).__name__}: {exc}"[:500])
            .execution_options(synchronize_session=False))
        db.session.commit()
        logger.warning("Job %s not handed to RQ (attempt %d, again in %d s): %s",
                       row.job_id, row.attempts, wait.total_seconds(), type(exc).__name__)
        return 0
    return 1


def enqueue_now(task, *args, **kwargs):
    """``task.enqueue(*args, **kwargs)``, and wake the embedded worker if there is one."""
    rq_job = task.enqueue(*args, **kwargs)
    app = current_app._get_current_object()
    if app.config.get("JOBS") == "thread":
        from .worker import wake_worker  # the worker's rounds import this module

        wake_worker(app)
    return rq_job


def _enqueue(task: str, job_id: str, *, timeout: int, retries: int) -> None:
    options = {"job_id": job_id, "job_timeout": timeout}
    if retries and rq.queue.is_async:  # RQ refuses a retry for a job it runs at once
        options["retry"] = Retry(max=retries)
    enqueue_now(resolve(task), job_id, **options)


def redispatch_lost(*, now: dt.datetime | None = None) -> int:
    """Put back on the outbox the jobs still ``queued`` whose last row was dispatched more than
    :data:`LOST_AFTER` ago but whose RQ job does not exist: a dispatcher that died between its
    claim and the enqueue, or a Redis (or an embedded worker's in-process queue) that lost its
    data. Returns how many were put back."""
    now = now or utcnow()
    pending = sa.orm.aliased(JobOutbox)
    rows = db.session.execute(
        sa.select(JobOutbox.id, JobOutbox.job_id)
        .join(Job, Job.id == JobOutbox.job_id)
        .where(Job.status == JobStatus.QUEUED, JobOutbox.dispatched_at.is_not(None),
               JobOutbox.dispatched_at < now - LOST_AFTER)
        .where(~sa.exists().where(pending.job_id == Job.id, pending.dispatched_at.is_(None)))
        .order_by(JobOutbox.id).limit(BATCH)).all()
    db.session.commit()
    if not rows:
        return 0
    connection = rq.queue.connection
    put_back = 0
    for row_id, job_id in rows:
        if RQJob.exists(job_id, connection=connection):
            continue
        put_back += db.session.execute(
            sa.update(JobOutbox)
            .where(JobOutbox.id == row_id, JobOutbox.dispatched_at.is_not(None))
            .values(dispatched_at=None, available_at=now)
            .execution_options(synchronize_session=False)).rowcount
        db.session.commit()
    return put_back


def pending(connection=None) -> tuple[int, dt.datetime | None]:
    """How many rows wait to be handed to RQ, and when the oldest was recorded: the health
    check (its own connection) and the admin's Planning page."""
    return tuple((connection or db.session).execute(
        sa.select(sa.func.count(), sa.func.min(JobOutbox.created_at))
        .where(JobOutbox.dispatched_at.is_(None))).one())
