"""Writes an AuditEvent for every insert, update, soft delete and restore of audited models.

Hooked into the session's ``before_flush``, so every path (views, API, CLI, jobs) is covered
without anyone having to remember to call it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum

import sqlalchemy as sa
from flask import g, has_app_context, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Mapper, Session

from .models import AuditEvent
from .sanitise import scrub

IGNORED = {"created_at", "updated_at", "version"}


def _jsonable(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _actor() -> tuple[int | None, str]:
    user_id, source = None, "system"
    if has_app_context():
        user_id = g.get("audit_user_id")
        source = g.get("audit_source", source)
    if has_request_context() and user_id is None:
        from flask_login import current_user

        if current_user and getattr(current_user, "is_authenticated", False):
            user_id = current_user.id
        source = g.get("audit_source", "web")
    return user_id, source


def origin() -> str | None:
    """The client address of the current request (after ProxyFix), or None outside one."""
    if has_request_context():
        from flask import request

        return (request.remote_addr or "")[:64] or None
    return None


def _identity(obj) -> str:
    ident = sa.inspect(obj).mapper.primary_key_from_instance(obj)
    return "/".join(str(i) for i in ident)


def _column_changes(obj, new: bool) -> dict:
    state = sa.inspect(obj)
    exclude = IGNORED | getattr(obj, "__audit_exclude__", set())
    changes = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in exclude:
            continue
        hist = state.attrs[key].history
        if new:
            value = getattr(obj, key)
            if value is not None:
                changes[key] = [None, _jsonable(value)]
        elif hist.has_changes():
            before = hist.deleted[0] if hist.deleted else None
            after = hist.added[0] if hist.added else None
            if before != after:
                changes[key] = [_jsonable(before), _jsonable(after)]
    return changes


def _before_flush(session: Session, _ctx, _instances) -> None:
    pending = []
    for obj in list(session.new):
        if getattr(obj, "__audited__", False):
            pending.append((obj, "create"))
    for obj in list(session.dirty):
        if getattr(obj, "__audited__", False) and session.is_modified(obj, include_collections=False):
            pending.append((obj, "update"))
    for obj in list(session.deleted):
        if getattr(obj, "__audited__", False):
            pending.append((obj, "delete"))
    if not pending:
        return
    user_id, source = _actor()
    session.info.setdefault("audit_pending", [])
    session.info["audit_origin"] = origin()
    for obj, action in pending:
        changes = _column_changes(obj, new=(action == "create"))
        extra = obj.__dict__.pop("_audit_extra", None)  # collection changes set by services
        if extra:
            changes.update(extra)
        if action == "update":
            if not changes:
                continue
            if "deleted_at" in changes:
                action = "delete" if changes["deleted_at"][1] else "restore"
        session.info["audit_pending"].append((obj, action, changes, user_id, source))


def _after_flush(session: Session, _ctx) -> None:
    pending = session.info.pop("audit_pending", [])
    address = session.info.pop("audit_origin", None)
    if not pending:
        return
    rows = [
        {
            "at": dt.datetime.now(dt.timezone.utc),
            "user_id": user_id,
            "action": action,
            "entity_type": obj.__tablename__,
            "entity_id": _identity(obj),
            "changes": scrub(changes),
            "source": source,
            "result": "success",
            "origin": address,
            # After the flush the version column holds the new version (VersionedMixin).
            "record_version": getattr(obj, "version", None),
        }
        for obj, action, changes, user_id, source in pending
    ]
    # Inserted on the same connection, inside the same transaction: no audit without the change.
    session.connection().execute(sa.insert(AuditEvent), rows)


_registered = False


def register_audit_listeners() -> None:
    global _registered
    if _registered:
        return
    _registered = True
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Mapper, "mapper_configured", _keep_old_values)
    event.listen(AuditEvent, "before_insert", _fill_in)
    from .guard import register_audit_guard

    register_audit_guard()


def _fill_in(_mapper, _connection, target: AuditEvent) -> None:
    """An event added as an object (a merge, an export) gets its origin and source too."""
    if target.origin is None:
        target.origin = origin()
    if target.source is None:
        target.source = _actor()[1]
    if target.result is None:
        target.result = "success"
    target.changes = scrub(target.changes)


def _noop(target, value, oldvalue, initiator):
    return value


def _keep_old_values(mapper, cls) -> None:
    """Load the old value before a change, even on an expired instance (after a commit), so the
    audit log always has its 'before'."""
    if getattr(cls, "__audited__", False):
        for attr in mapper.column_attrs:
            event.listen(getattr(cls, attr.key), "set", _noop, active_history=True, retval=True)
