"""The one lifecycle of a background job: queued → running → finished or failed.

A feature describes a job kind with a *body* and leaves the rest here:

* :func:`new_job` adds the ``queued`` Job row (flushed; the caller's transaction commits it);
  :func:`new_draft` one whose only step is already done (an upload waiting for its next step);
  :func:`requeue` puts a job that crashed or failed back to ``queued``; :func:`discard` deletes
  a job with its files;
* :func:`enqueue` hands the RQ task the Job id once that row is committed;
* :func:`run` marks the row ``running`` (committed, so the job page shows it), runs the body
  as one unit of work and marks the row ``finished`` with its result and message *in the same
  transaction*, so a crash leaves nothing half-stored and a rerun (an RQ retry, a duplicate
  enqueue, ``flask import resume``) reaches the same end state; a row already finished is not
  run again. On any exception the unit of work rolls back and the row is marked ``failed`` with
  a Dutch message: :class:`JobFailed` (the user's problem: a bad file, a right lost) keeps its
  own message and is not retried; anything else gets the kind's "mislukt" message and is raised
  again, so RQ records (and may retry) it;
* ``run(..., resumable=True)``: for work that cannot be rolled back (an e-mail once sent). The
  body gets a third argument, ``checkpoint()``: it commits the work so far and goes on in a new
  transaction (re-taking what the job's first statements take, see :func:`_begin`). A failure
  then rolls back only what came after the last checkpoint (the unfinished item) and marks the
  row ``failed`` with its message; a rerun (an RQ retry) runs the body again, which skips what
  earlier runs stored (notification e-mail: a claimed ``emailed_at``). Every other kind is
  atomic, the default.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..db import utcnow
from ..extensions import db
from ..logs import request_id_bound
from ..transaction import commit, rollback, unit_of_work
from .files import delete_files
from .models import Job, JobOutbox, JobStatus
from .progress import ProgressReporter
from .queue import enqueue_after_commit
from .reaper import Heartbeat, this_worker

_UNSET: Any = object()


class JobFailed(Exception):
    """A failure the user can understand and act on (the message is Dutch): the job is marked
    ``failed`` with this message and not retried."""

    def __init__(self, message: str):
        super().__init__(str(message))
        self.message = str(message)


@dataclass
class Finished:
    """What a body hands back: the Job row's ``result`` and ``message``, and what :func:`run`
    returns to its caller (``returned``, by default the result; the import returns its summary
    with every rejected row, its row keeps the first thousand)."""

    result: dict | None
    message: str
    returned: Any = field(default=_UNSET)


Body = Callable[[Job, ProgressReporter], Finished]
Checkpoint = Callable[[], None]
ResumableBody = Callable[[Job, ProgressReporter, Checkpoint], Finished]


class _FinishedElsewhere(Exception):
    """Raised by a checkpoint of an ``exclusive`` job that another run finished meanwhile."""


def new_job(kind: str, *, actor=None, params: dict | None = None,
            message: str | None = None) -> Job:
    """A ``queued`` Job row of ``kind`` in the current transaction (flushed, not committed)."""
    job = Job(id=str(uuid.uuid4()), kind=kind, status=JobStatus.QUEUED, progress=0,
              message=message or _("In de wachtrij"), params=params or {},
              created_by_id=getattr(actor, "id", None))
    db.session.add(job)
    db.session.flush()
    return job


def new_draft(kind: str, *, message: str, actor=None, params: dict | None = None) -> Job:
    """A Job row of ``kind`` whose one step is done at once (``finished``, nothing to run): an
    upload kept with its file until the user takes the next step. Flushed, not committed."""
    now = utcnow()
    job = Job(id=str(uuid.uuid4()), kind=kind, status=JobStatus.FINISHED, progress=100,
              message=str(message)[:500], params=params or {},
              created_by_id=getattr(actor, "id", None), started_at=now, finished_at=now)
    db.session.add(job)
    db.session.flush()
    return job


def requeue(job: Job) -> None:
    """Put a job that failed or was left ``running`` by a dead worker back to ``queued`` (the
    caller commits, then enqueues it again); :func:`run` then runs it from the start. A finished
    job is not run again: ValueError."""
    if job.status == JobStatus.FINISHED:
        raise ValueError(f"Job {job.id} is finished; it is not run again")
    job.status, job.progress, job.message = JobStatus.QUEUED, 0, _("In de wachtrij")
    job.started_at = job.finished_at = None


def discard(job: Job) -> None:
    """Delete ``job``, its files and its outbox rows (a draft whose file went into a new job);
    the caller commits."""
    delete_files(job.id)
    db.session.execute(sa.delete(JobOutbox).where(JobOutbox.job_id == job.id))
    db.session.delete(job)


def enqueue(task, job_id: str, *, timeout: int, **options) -> None:
    """Put ``task(job_id)`` on the queue once the Job row is committed (dropped on rollback; at
    once when no transaction is open). The RQ job carries the Job row's id as its own."""
    enqueue_after_commit(task, job_id, job_id=job_id, job_timeout=timeout, **options)


def run(job_id: str, body: Body | ResumableBody, *, kinds, running: str,
        failure: Callable[[BaseException], str], echo=None, exclusive: bool = False,
        resumable: bool = False):
    """Run Job ``job_id`` of one of ``kinds`` through its lifecycle; returns what the body
    returned (see :class:`Finished`), the stored result of a job already finished, or None for
    no such job or one that failed with :class:`JobFailed`.

    ``running``: the row's message while it runs. ``failure(exc)``: its message after an
    unexpected exception (name the exception's class, not its text: that goes to the log).
    ``echo(percent, message)`` also sees the progress (a CLI progress bar).
    ``exclusive``: one run of the job at a time (a PostgreSQL advisory lock held by the unit of
    work; a run that waited finds the job finished and changes nothing).
    ``resumable``: the body is called as ``body(job, progress, checkpoint)`` and commits its
    work item by item with ``checkpoint()``; a failure keeps what was checkpointed (see the
    module docstring). Without it the whole body is one unit of work.
    """
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    job = db.session.get(Job, job_id) if job_id and len(job_id) <= 36 else None
    if job is None or job.kind not in kinds:
        current_app.logger.warning("Job %s: no such %s Job row", job_id, "/".join(kinds))
        return None
    if job.status == JobStatus.FINISHED:
        return job.result  # a retried or twice-enqueued job changes nothing
    kind = job.kind
    current_app.logger.info("Job %s (%s) started", job_id, kind)
    job.status, job.started_at, job.finished_at = JobStatus.RUNNING, utcnow(), None
    job.progress, job.message, job.worker = 0, str(running)[:500], this_worker()
    commit()
    heartbeat = Heartbeat(job_id).start()  # a worker that dies is noticed (.reaper)
    try:
        with request_id_bound(job.request_id):  # the job's log lines carry the asking request's id
            return _run_started(job, job_id, kind, body, running=running, failure=failure,
                                echo=echo, exclusive=exclusive, resumable=resumable)
    finally:
        heartbeat.stop()


def _run_started(job: Job, job_id: str, kind: str, body, *, running, failure, echo, exclusive,
                 resumable):
    progress = ProgressReporter(job_id, echo=echo)

    def checkpoint() -> None:
        """Commit the work so far; the job goes on in a new transaction."""
        commit()
        if _begin(job_id, exclusive=exclusive):
            raise _FinishedElsewhere(job_id)

    try:
        with unit_of_work():
            if _begin(job_id, exclusive=exclusive):
                db.session.refresh(job)
                return job.result  # another run finished it while this one waited
            done = body(job, progress, checkpoint) if resumable else body(job, progress)
            job.status, job.progress, job.finished_at = JobStatus.FINISHED, 100, utcnow()
            job.result, job.message = done.result, str(done.message)[:500]
    except _FinishedElsewhere:
        db.session.refresh(job)
        return job.result  # another run finished it while this one waited at a checkpoint
    except JobFailed as exc:
        current_app.logger.info("Job %s (%s) failed: %s", job_id, kind, exc.message)
        _mark_failed(job_id, exc.message)
        return None
    except Exception as exc:
        current_app.logger.exception("Job %s (%s) failed", job_id, kind)
        stored = _mark_failed(job_id, failure(exc))
        if stored is not None and stored.status == JobStatus.FINISHED:
            return stored.result  # another run of the same job got there first
        raise
    progress(100, done.message)
    current_app.logger.info("Job %s (%s) finished", job_id, kind)
    return done.result if done.returned is _UNSET else done.returned


def _begin(job_id: str, *, exclusive: bool) -> bool:
    """The first statements of the job's unit of work; True when another run of an
    ``exclusive`` job finished it meanwhile.

    SQLite has one writer: the job takes the write lock with its transaction's first statement.
    A job that read first and wrote later would fail ("database is locked") whenever a web
    request wrote in between; this way the web's writes wait for the job (busy_timeout).
    PostgreSQL: an ``exclusive`` job waits for any other run of itself (an advisory lock,
    released when the transaction ends)."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "sqlite":
        db.session.execute(sa.text("UPDATE job SET status = status WHERE id = :id"), {"id": job_id})
    if not exclusive:
        return False
    if dialect == "postgresql":
        key = int(hashlib.sha1(job_id.encode(), usedforsecurity=False).hexdigest()[:15], 16)
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    return db.session.scalar(sa.select(Job.status).where(Job.id == job_id)) == JobStatus.FINISHED


def _mark_failed(job_id: str, message: str) -> Job | None:
    """After the rollback: the row says ``failed`` with ``message`` (unless another run
    finished it meanwhile). Its own short transaction."""
    rollback()
    job = db.session.get(Job, job_id)
    if job is not None and job.status != JobStatus.FINISHED:
        job.status, job.finished_at, job.message = JobStatus.FAILED, utcnow(), str(message)[:500]
        commit()
    return job
