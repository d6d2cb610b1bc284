"""The one transaction boundary: every unit of work commits once at its end, or rolls back.

A unit of work is an HTML request, an API request, a CLI command or a background job. Services
change the session and flush; they never commit. The boundary commits when the work returns
and rolls back when anything is raised (compare indico's ``RH.process``):

* requests: :class:`TransactionalFlask` wraps ``dispatch_request``, so a failing commit (a unique
  clash, a value the database refuses) still reaches the app-level error handlers;
* CLI commands and jobs: :func:`unit_of_work` (``sdd_crm.cli``, ``sdd_crm.jobs.lifecycle``).

Work that must only happen once the data is stored (enqueueing a job, sending mail) is registered
with :func:`sdd_crm.jobs.queue.enqueue_after_commit` or :func:`after_commit`, run after the
commit and dropped on rollback. Work that must be kept whatever the outcome (the audit event of a
refused request) is registered with :func:`after_boundary`: it runs once the unit of work has
committed or rolled back, in its own short transaction on the same session (never a second
connection: SQLite has one writer, and the unit's transaction may hold the write lock).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import contextmanager

from flask import Flask, request, session
from sqlalchemy import event
from sqlalchemy.orm import Session

from .extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
logger = logging.getLogger(__name__)
_CALLBACKS = "after_commit_callbacks"
_WROTE = "wrote"


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the current transaction has committed (dropped on rollback)."""
    db.session.info.setdefault(_CALLBACKS, []).append(callback)


_AFTER_BOUNDARY = "after_boundary_callbacks"
_OPEN_UNITS = "open_units_of_work"


def after_boundary(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the current unit of work has ended, committed *or* rolled back, and
    commit what it adds in a short transaction of its own. Outside a unit of work (an error
    handler after the boundary, a ``before_request`` hook) it runs, and commits, at once.
    A failing callback is logged and rolled back; it never fails the request."""
    sess = db.session
    if sess.info.get(_OPEN_UNITS):
        sess.info.setdefault(_AFTER_BOUNDARY, []).append(callback)
    else:
        _run_independently(sess, callback)


def _run_independently(sess: Session, callback: Callable[[], None]) -> None:
    try:
        callback()
        sess.commit()
    except Exception:
        logger.exception("Independent work %s failed", getattr(callback, "__qualname__", callback))
        sess.rollback()


def _open_unit() -> None:
    info = db.session.info
    info[_OPEN_UNITS] = info.get(_OPEN_UNITS, 0) + 1


def _close_unit() -> None:
    """The unit of work has committed or rolled back: run what :func:`after_boundary` kept."""
    sess = db.session
    depth = sess.info.get(_OPEN_UNITS, 0) - 1
    if depth > 0:
        sess.info[_OPEN_UNITS] = depth
        return
    sess.info.pop(_OPEN_UNITS, None)
    for callback in sess.info.pop(_AFTER_BOUNDARY, []):
        _run_independently(sess, callback)


def _mark_written(sess: Session, _flush_context) -> None:
    sess.info[_WROTE] = True


def _mark_dml(state) -> None:
    # A bulk UPDATE/DELETE/INSERT through session.execute() writes without a flush.
    if state.is_update or state.is_delete or state.is_insert:
        state.session.info[_WROTE] = True


def has_work(sess: Session | None = None) -> bool:
    """Whether the transaction holds anything to commit (flushed or pending changes, or work
    waiting for the commit). A read-only request does not commit: its objects stay loaded."""
    sess = sess or db.session
    return bool(sess.info.get(_WROTE) or sess.new or sess.dirty or sess.deleted
                or any(key.startswith("after_commit") and value for key, value in sess.info.items()))


def _run_callbacks(sess: Session) -> None:
    sess.info.pop(_WROTE, None)
    for callback in sess.info.pop(_CALLBACKS, []):
        try:
            callback()
        except Exception:  # the commit stands: a job not enqueued is logged, not a failed request
            logger.exception("After-commit work %s failed", getattr(callback, "__qualname__", callback))


def _drop_callbacks(sess: Session, previous_transaction=None) -> None:
    if previous_transaction is not None and previous_transaction.nested:
        return  # a savepoint rolled back: the outer transaction's work stands
    sess.info.pop(_WROTE, None)
    sess.info.pop(_CALLBACKS, None)


def commit() -> None:
    """The boundary's commit. Only the boundary calls it (and tests that stand in for one)."""
    db.session.commit()


def rollback() -> None:
    db.session.rollback()


def end_read_only() -> None:
    """End a transaction that wrote nothing. On PostgreSQL with a COMMIT, keeping the loaded
    objects as they are: psycopg forgets the statements it prepared on a connection at every
    ROLLBACK (what closing the session would send), so each request planned all its statements
    afresh — 2–3 ms each for those joining ``organisation``, whose many partial indexes the
    planner weighs. Committed, the connection keeps them, and PostgreSQL reuses their plans.
    SQLite prepares nothing across requests: its session closes as before."""
    sess = db.session()
    if not sess.in_transaction() or sess.get_bind().dialect.name != "postgresql":
        return
    sess.expire_on_commit = False
    try:
        sess.commit()
    finally:
        sess.expire_on_commit = True


@contextmanager
def unit_of_work():
    """Commit at the end of the block, roll back if anything is raised in it."""
    _open_unit()
    try:
        try:
            yield
        except BaseException:
            rollback()
            raise
        commit()
    finally:
        _close_unit()


@contextmanager
def attempt():
    """A service call whose refusal the view answers itself (a message and a redirect): the
    refusal undoes only the call's own work (a savepoint), and the boundary still commits the
    rest. Without it, a view that catches a refusal would commit whatever the service had
    written before refusing."""
    with db.session.begin_nested():
        yield


class TransactionalFlask(Flask):
    """Flask whose every request is one unit of work.

    The view's return value is committed before Flask turns it into a response, so a refusal at
    commit time is handled like any other exception. A POST, PUT, PATCH or DELETE always commits;
    a GET only when it wrote something (a read-only page keeps its loaded objects unexpired). A
    response of 400 or more that the view returned itself (a form shown again with its
    messages) rolls back, like a refusal raised as an exception. On an exception the transaction is rolled
    back, and messages the request flashed are withdrawn (they announced work that was not
    saved); the app-level error handlers then answer.
    """

    def dispatch_request(self):
        # dict.get: reading the session this way does not mark it accessed (no Vary: Cookie).
        cookie = session._get_current_object()
        flashed_before = len(dict.get(cookie, "_flashes", ()))
        _open_unit()
        try:
            response = self.make_response(super().dispatch_request())
            if response.status_code >= 400:
                rollback()  # a refusal answered by the view itself (a form shown again) saves nothing
            elif request.method not in SAFE_METHODS or has_work():
                commit()
            else:
                end_read_only()
            return response
        except BaseException:
            rollback()
            if len(dict.get(cookie, "_flashes", ())) > flashed_before:
                cookie["_flashes"] = cookie["_flashes"][:flashed_before]
            raise
        finally:
            _close_unit()  # what must be kept whatever the outcome (after_boundary)


_registered = False


def register_transaction_hooks() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    event.listen(Session, "after_flush", _mark_written)
    event.listen(Session, "do_orm_execute", _mark_dml)
    event.listen(Session, "after_commit", _run_callbacks)
    event.listen(Session, "after_soft_rollback", _drop_callbacks)
