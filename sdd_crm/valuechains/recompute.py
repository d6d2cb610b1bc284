"""Keeping criticality current: schedule a recompute after the supply network changes.

Services that change roles, supply links, employees or chains call :func:`schedule_recompute`;
nobody has to remember to press a button.

Debounced: while a recompute is waiting in the queue, another change adds nothing (the queued
one will see it when it starts). A running one does not count: it may have read the network
before this change. A queued Job older than ``STALE_AFTER`` (its enqueue failed, or the queue
was lost) does not block either. The job goes out after the commit (to a worker, or the embedded
worker thread without Redis; in tests it runs right after the commit);
``CRITICALITY_AUTO_RECOMPUTE = False`` turns the automatic recompute off (``flask criticality
recompute`` still works).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from ..db import utcnow
from ..extensions import db
from ..jobs.models import Job, JobStatus
from .jobs import JOB_KIND, create_job, enqueue_job

STALE_AFTER = dt.timedelta(hours=1)


def schedule_recompute(*, reason: str = "") -> None:
    """Queue one criticality recompute after the current transaction commits (debounced)."""
    if not current_app.config.get("CRITICALITY_AUTO_RECOMPUTE", True):
        return
    pending = db.session.info.setdefault("criticality_scheduled", False)
    if pending:
        return  # this transaction already has one
    waiting = db.session.scalar(
        sa.select(Job.id).where(Job.kind == JOB_KIND, Job.status == JobStatus.QUEUED,
                                Job.created_at > utcnow() - STALE_AFTER).limit(1))
    if waiting is not None:
        return
    job = create_job(trigger="auto", reason=reason)
    db.session.info["criticality_scheduled"] = True
    enqueue_job(job)


def _forget(session, *_args) -> None:
    session.info.pop("criticality_scheduled", None)


sa.event.listen(Session, "after_commit", _forget)
sa.event.listen(Session, "after_soft_rollback", _forget)
