"""Enqueue background jobs only once the data they need is committed.

A job enqueued before the commit may run before the rows exist (or after they were rolled
back). Services call :func:`enqueue_after_commit`; the jobs go out when the session commits and
are dropped when it rolls back. Without Redis (embedded mode) RQ runs the job at once, in a
fresh application context with its own database session.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db

_KEY = "after_commit_jobs"


def enqueue_after_commit(job, *args, **kwargs) -> None:
    db.session.info.setdefault(_KEY, []).append((job, args, kwargs))


def _after_commit(session: Session) -> None:
    pending = session.info.pop(_KEY, [])
    if not pending:
        return
    app = current_app._get_current_object()
    for job, args, kwargs in pending:
        with app.app_context():
            try:
                job.enqueue(*args, **kwargs)
            except Exception:  # the commit stands; a lost notification is logged, not fatal
                app.logger.exception("Could not enqueue %s", getattr(job, "__name__", job))


def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)


_registered = False


def register_queue_hooks() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", lambda s, prev: _after_rollback(s))
