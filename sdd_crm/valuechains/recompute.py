"""Keeping criticality current: note every change of what the engine reads, recompute by itself.

Services that change roles, supply links, chains, stages, the organisations' employment or the
settings call :func:`schedule_recompute` (the value chains' own services directly, other
features through ``signals.organisation_changed``); nobody has to remember to press a button.

Two things follow from a change, both in the change's own transaction:

* **It is noted** (:data:`CriticalityState <.models.CriticalityState>`): right before the
  transaction commits, ``network_version`` rises by one and ``network_changed_at`` says when.
  A recompute records the version it read; the pages compare the two and say when the figures
  are stale or missing (:func:`figures_state`). The row is written as the commit's last
  statement, so its lock is held for the commit alone and never taken before another row's
  (two transactions cannot deadlock on it). Noted even with ``CRITICALITY_AUTO_RECOMPUTE``
  off: the figures are stale all the same.
* **A recompute is requested** (debounced): one Job per transaction; none while another waits
  in the queue (the queued one will see this change when it starts). A running one does not
  count: it may have read the network before this change. A queued Job older than
  ``STALE_AFTER`` (its enqueue failed, or the queue was lost) does not block either. The job
  goes out through the outbox after the commit; a change made in the web or the API waits
  ``CRITICALITY_RECOMPUTE_DELAY`` seconds first (default 15; 0 when jobs run inline), so a burst
  of edits — ten supply links entered one after another, a script over the API — is computed
  once. ``CRITICALITY_AUTO_RECOMPUTE = False`` turns the automatic recompute off (``flask
  criticality recompute`` still works).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, has_request_context
from sqlalchemy.orm import Session

from ..db import utcnow
from ..extensions import db, rq
from ..jobs.models import Job, JobStatus
from .jobs import JOB_KIND, create_job, enqueue_job
from .models import CriticalityState

STALE_AFTER = dt.timedelta(hours=1)
DEFAULT_DELAY = 15.0  # seconds; see the module docstring
STATE_ID = 1
_SCHEDULED = "criticality_scheduled"
_CHANGED = "criticality_changed"  # session.info: the reason of this transaction's last change

# What changed, as the pages word it (``network_change_reason``).
SETTINGS_REASONS = frozenset({"settings"})
ORGANISATION_REASONS = frozenset({"organisation", "organisation_created", "organisation_deleted",
                                  "organisation_restored", "merge", "import", "import_undo"})


def schedule_recompute(*, reason: str = "") -> None:
    """Note a change of what criticality is computed from, and queue one recompute after the
    current transaction commits (debounced)."""
    note_change(reason)
    _request_recompute(reason)


def _request_recompute(reason: str) -> None:
    """One recompute Job for this transaction, unless one already waits in the queue."""
    if not current_app.config.get("CRITICALITY_AUTO_RECOMPUTE", True):
        return
    if db.session.info.get(_SCHEDULED):
        return  # this transaction already has one
    waiting = db.session.scalar(
        sa.select(Job.id).where(Job.kind == JOB_KIND, Job.status == JobStatus.QUEUED,
                                Job.created_at > utcnow() - STALE_AFTER).limit(1))
    db.session.info[_SCHEDULED] = True
    if waiting is not None:
        return
    enqueue_job(create_job(trigger="auto", reason=reason), delay=_delay())


def note_change(reason: str = "") -> None:
    """The network (or what else the engine reads) changed in this transaction: recorded in
    :class:`CriticalityState` when it commits."""
    db.session.info[_CHANGED] = (reason or "")[:40]


def _delay() -> dt.timedelta | None:
    """How long an automatic recompute waits for more changes: only after an edit in the web or
    the API (a CLI command or a job asks once for its whole batch, and may have no dispatcher
    round behind it)."""
    if not has_request_context():
        return None
    seconds = current_app.config.get("CRITICALITY_RECOMPUTE_DELAY")
    if seconds is None:  # none when RQ runs each job at once (inline jobs, the tests)
        seconds = DEFAULT_DELAY if rq.queue.is_async else 0
    return dt.timedelta(seconds=float(seconds)) if seconds > 0 else None


def _record_change(session: Session) -> None:
    if _CHANGED not in session.info:
        return
    if not session.info.get(_SCHEDULED) and session is db.session():
        # A savepoint rolled back took this transaction's Job along: ask again.
        _request_recompute(session.info[_CHANGED])
    session.flush()  # what commit flushes next goes first: the state row is locked last
    reason = session.info.pop(_CHANGED)
    table = CriticalityState.__table__
    values = {"network_version": table.c.network_version + 1, "network_changed_at": utcnow(),
              "network_change_reason": reason or None}
    connection = session.connection()
    if connection.execute(sa.update(table).where(table.c.id == STATE_ID)
                          .values(**values)).rowcount == 0:
        # No row (a database created without the migrations' row): the first change makes it.
        connection.execute(sa.insert(table).values(
            id=STATE_ID, network_version=1, network_changed_at=values["network_changed_at"],
            network_change_reason=reason or None, computed_version=0))


def _forget(session, *_args) -> None:
    session.info.pop(_SCHEDULED, None)
    session.info.pop(_CHANGED, None)


def _forget_unless_savepoint(session, previous) -> None:
    """A savepoint rolled back leaves the transaction's change noted (at worst a recompute too
    many), but may have taken its Job and outbox rows along: the commit asks again
    (``_record_change``). The transaction rolled back takes both along."""
    if previous.nested or previous.parent is not None:
        session.info.pop(_SCHEDULED, None)
        return
    _forget(session)


sa.event.listen(Session, "before_commit", _record_change)
sa.event.listen(Session, "after_commit", _forget)
sa.event.listen(Session, "after_soft_rollback", _forget_unless_savepoint)


# --- what the recompute records, and what the pages say ----------------------------------------

def read_network_version() -> int:
    """The network's version now: read by a recompute before it reads the network, so what it
    computes is at least this version."""
    version = db.session.scalar(sa.select(CriticalityState.network_version)
                                .where(CriticalityState.id == STATE_ID))
    return version or 0


def record_computation(version: int, started_at: dt.datetime, job_id: str | None) -> None:
    """A recompute that read the network at ``version`` (from ``started_at``) stored its result
    (in its own transaction: the job's unit of work)."""
    table = CriticalityState.__table__
    values = {"computed_version": sa.case((table.c.computed_version > version,
                                           table.c.computed_version), else_=version),
              "computed_at": started_at, "computed_job_id": job_id}
    if db.session.execute(sa.update(table).where(table.c.id == STATE_ID)
                          .values(**values)).rowcount == 0:
        db.session.execute(sa.insert(table).values(
            id=STATE_ID, network_version=version, computed_version=version,
            computed_at=started_at, computed_job_id=job_id))
    if read_network_version() > version:
        # Changes committed while this recompute ran saw it queued and asked for none: one more
        # recompute reads them.
        _request_recompute("follow_up")


@dataclass(frozen=True)
class FiguresState:
    """How current the stored criticality is, for the pages' notice."""

    computed_at: dt.datetime | None
    changed_at: dt.datetime | None
    reason: str | None
    stale: bool
    pending: bool  # a recompute waits in the queue or runs
    failed: bool  # the last recompute after the change failed

    @property
    def missing(self) -> bool:
        return self.computed_at is None

    @property
    def current(self) -> bool:
        return not self.missing and not self.stale

    @property
    def what_changed(self) -> str:
        """``settings``, ``organisations`` or ``network``: how the notice words the change."""
        if self.reason in SETTINGS_REASONS:
            return "settings"
        if self.reason in ORGANISATION_REASONS:
            return "organisations"
        return "network"


def figures_state() -> FiguresState:
    """Stale (the network changed after the last computation) or missing (never computed), and
    whether a recompute is on its way (queued or running) or one failed since the change. One small query (the job conditions go by the index on ``job.status``)."""
    S = CriticalityState
    recompute = Job.kind == JOB_KIND
    pending = sa.exists().where(recompute, sa.or_(
        Job.status == JobStatus.RUNNING,
        sa.and_(Job.status == JobStatus.QUEUED, Job.created_at > utcnow() - STALE_AFTER)))
    failed = sa.exists().where(recompute, Job.status == JobStatus.FAILED, sa.or_(
        S.network_changed_at.is_(None), Job.finished_at >= S.network_changed_at))
    row = db.session.execute(
        sa.select(S.network_version, S.network_changed_at, S.network_change_reason,
                  S.computed_version, S.computed_at, pending.label("pending"),
                  failed.label("failed"))
        .where(S.id == STATE_ID)).first()
    if row is None:
        return FiguresState(computed_at=None, changed_at=None, reason=None, stale=False,
                            pending=False, failed=False)
    stale = row.computed_at is not None and row.network_version > row.computed_version
    open_question = stale or row.computed_at is None
    return FiguresState(computed_at=row.computed_at, changed_at=row.network_changed_at,
                        reason=row.network_change_reason, stale=stale,
                        pending=open_question and bool(row.pending),
                        failed=open_question and not row.pending and bool(row.failed))
