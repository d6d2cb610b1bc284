"""Enqueue background jobs only once the data they need is committed.

A job enqueued before the commit may run before the rows exist (or after they were rolled
back). Services call :func:`enqueue_after_commit`; the jobs go out when the session commits and
are dropped when it rolls back. Every enqueue goes through :func:`enqueue_now`, which also wakes
the embedded worker thread when jobs run in-process (``JOBS = "thread"``). With ``JOBS =
"inline"`` (tests) RQ runs the job at once, in a fresh application context with its own
database session.
"""

from __future__ import annotations

from flask import current_app

from ..extensions import db
from ..transaction import after_commit


def enqueue_after_commit(job, *args, **kwargs) -> None:
    """Enqueue ``job`` (a Flask-RQ task) after the current transaction commits; at once when no
    transaction is open (the caller has just committed)."""
    if not db.session().in_transaction():
        enqueue_now(job, *args, **kwargs)
        return
    app = current_app._get_current_object()

    def send() -> None:
        with app.app_context():
            enqueue_now(job, *args, **kwargs)

    send.__qualname__ = f"enqueue {getattr(job, '__name__', job)}"
    after_commit(send)


def enqueue_now(job, *args, **kwargs):
    """``job.enqueue(*args, **kwargs)``, and wake the embedded worker if there is one."""
    rq_job = job.enqueue(*args, **kwargs)
    app = current_app._get_current_object()
    if app.config.get("JOBS") == "thread":
        from .worker import wake_worker

        wake_worker(app)
    return rq_job
