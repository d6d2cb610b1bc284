"""Audit rows are written once and never changed or deleted through the application.

Three guards refuse a change to ``audit_event``:

* the session's ``before_flush``: an :class:`AuditEvent` that was changed or deleted through the
  ORM raises :class:`AuditImmutableError` instead of being flushed;
* the session's ``do_orm_execute``: an ORM-enabled bulk ``UPDATE``/``DELETE`` of the table
  (``session.execute(update(AuditEvent)...)``) raises;
* the engine's ``before_cursor_execute``: any other ``UPDATE``/``DELETE`` of the table (Core,
  ``text("DELETE FROM audit_event")``, ``exec_driver_sql``) raises too.

On PostgreSQL a trigger (migration ``a11000000007``) refuses the same below the application.

There is ONE sanctioned escape hatch, :func:`allow_rewrite`, for erasing a person's data from
audit payloads (GDPR art. 17)::

    with allow_rewrite("AVG-verwijdering contactpersoon 12"):
        event.changes = anonymised(event.changes)
        db.session.flush()          # inside the block

It is context-local (a ``ContextVar``: one thread, one request, one job) and nestable.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..extensions import db
from .models import AuditEvent

logger = logging.getLogger(__name__)

TABLE = AuditEvent.__tablename__
# The PostgreSQL trigger lets a change through only while this setting is "on" (transaction-local).
PG_SETTING = "sdd_crm.audit_rewrite"

_reasons: ContextVar[tuple[str, ...]] = ContextVar("audit_rewrite_reasons", default=())
_RAW_WRITE = re.compile(r"^\s*(?:with\b.*?\)\s*)?(?:update|delete\s+from|truncate(?:\s+table)?)\s+"
                        r"(?:only\s+)?(?:\"?\w+\"?\.)?\"?audit_event\"?(?:\s|$|;)",
                        re.IGNORECASE | re.DOTALL)


class AuditImmutableError(RuntimeError):
    """An attempt to change or delete an audit row outside :func:`allow_rewrite`."""

    def __init__(self, what: str = "an audit event"):
        super().__init__(f"Audit rows cannot be changed or deleted ({what}); "
                         "only sdd_crm.audit.guard.allow_rewrite(reason) may.")


def rewrite_allowed() -> bool:
    return bool(_reasons.get())


@contextmanager
def allow_rewrite(reason: str):
    """The one way to change or delete audit rows (GDPR erasure): flush inside the block."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("allow_rewrite needs a reason")
    logger.warning("Audit rows may be rewritten: %s", reason.strip()[:200])
    token = _reasons.set(_reasons.get() + (reason.strip(),))
    postgres = _is_postgres(db.session)
    try:
        if postgres:
            _set_pg(db.session, "on")
        yield
    finally:
        _reasons.reset(token)
        if postgres and not rewrite_allowed():
            try:
                _set_pg(db.session, "off")
            except Exception:  # an aborted transaction: it ends with a rollback, setting and all
                logger.debug("Could not switch %s off", PG_SETTING, exc_info=True)


def _is_postgres(sess) -> bool:
    try:
        return sess.get_bind().dialect.name == "postgresql"
    except Exception:  # no bind (outside an app): nothing to switch
        return False


def _set_pg(sess, value: str) -> None:
    sess.execute(sa.text("SELECT set_config(:name, :value, true)"),
                 {"name": PG_SETTING, "value": value})


def _before_flush(session: Session, _ctx, _instances) -> None:
    if rewrite_allowed():
        return
    for obj in session.deleted:
        if isinstance(obj, AuditEvent):
            raise AuditImmutableError(f"delete of audit event {obj.id}")
    for obj in session.dirty:
        if isinstance(obj, AuditEvent) and session.is_modified(obj, include_collections=False):
            raise AuditImmutableError(f"change of audit event {obj.id}")


def _targets_audit(statement) -> bool:
    table = getattr(statement, "table", None)
    return getattr(table, "name", None) == TABLE


def _do_orm_execute(state) -> None:
    if (state.is_update or state.is_delete) and not rewrite_allowed() \
            and _targets_audit(state.statement):
        raise AuditImmutableError("bulk " + ("update" if state.is_update else "delete"))


def _before_cursor_execute(conn, cursor, statement, parameters, context, executemany) -> None:
    # Every statement, however it was built (Core, text(), exec_driver_sql), as SQL text.
    if isinstance(statement, str) and _RAW_WRITE.search(statement) and not rewrite_allowed():
        raise AuditImmutableError("SQL on audit_event")


_registered = False


def register_audit_guard() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "do_orm_execute", _do_orm_execute)
    event.listen(Engine, "before_cursor_execute", _before_cursor_execute)
