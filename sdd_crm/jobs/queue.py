"""Enqueue background jobs only once the data they need is committed.

A job enqueued before the commit may run before the rows exist (or after they were rolled
back). Services call :func:`enqueue_after_commit`, which records the job in the transaction's
outbox (:mod:`.outbox`): it goes out when the session commits (and later, should Redis be down
then) and is dropped when it rolls back. Every enqueue goes through :func:`.outbox.enqueue_now`, which also wakes
the embedded worker thread when jobs run in-process (``JOBS = "thread"``). With ``JOBS =
"inline"`` (tests) RQ runs the job at once, in a fresh application context with its own
database session.
"""

from __future__ import annotations

from ..extensions import db
from .outbox import enqueue_now, record

__all__ = ["enqueue_after_commit", "enqueue_now"]


def enqueue_after_commit(job, job_id: str, /, **options) -> None:
    """Record ``job(job_id)`` in the outbox of the current transaction (:mod:`.outbox`): RQ gets
    it once the transaction commits, and again later if Redis was down then. With no
    transaction open (the caller has just committed) the record is committed at once.

    ``options``: ``job_id`` (the RQ job's id: always the Job row's), ``job_timeout``, an
    optional ``retry`` (RQ's :class:`~rq.Retry`; its ``max`` is kept) and an optional ``delay``
    (a timedelta: a dispatcher round hands it over once it has passed)."""
    rq_id = options.pop("job_id", job_id)
    if rq_id != job_id:
        raise ValueError("the RQ job's id is the Job row's id")
    timeout = options.pop("job_timeout")
    retry = options.pop("retry", None)
    delay = options.pop("delay", None)
    if options:
        raise TypeError(f"options the outbox does not keep: {sorted(options)}")
    opened = not db.session().in_transaction()
    record(job, job_id, timeout=timeout, retries=getattr(retry, "max", 0) or 0, delay=delay)
    if opened:
        db.session.commit()  # nothing else is in this transaction: the caller had committed
