"""GET /api/v1/audit: the audit trail, for admins (anyone else 403).

``?record_type=contact&record_id=12`` gives everything that happened to one record (created,
changed, viewed, exported, refused), newest first (a programme by its code, as the API addresses
it: ``?record_type=programme&record_id=scale``); ``actor_id``, ``action``, ``result``,
``since`` and ``until`` narrow it down. Paginated like every list.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from ..audit.models import AuditEvent
from ..extensions import db
from ..programmes.models import Programme
from . import bp, errors
from .auth import admins_only
from .schemas.audit import AUDIT_EVENT_LIST, AuditArgs
from .schemas.base import page_of

TAGS = ["audit"]




def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    try:
        return moment.astimezone(dt.timezone.utc)
    except OverflowError:  # year 1 with a positive offset: as early as it gets
        return dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def _record_id(record_type: str | None, record_id: str) -> str:
    """The id the events store. The API addresses a programme by its code, its events hold
    the numeric id: a programme's code (deleted ones included) is translated; a value that is
    no programme's code is taken as the id (the events of a purged programme)."""
    if record_type != "programme":
        return record_id
    found = db.session.scalar(sa.select(Programme.id).where(Programme.code == record_id.lower()))
    return str(found) if found is not None else record_id


@bp.get("/audit", tags=TAGS)
@bp.doc(operationId="listAuditEvents",
        summary="Audit events, newest first (admins only): of one record with record_type and "
                "record_id, or filtered by actor, action, result and time.")
@errors(403)
@admins_only
@bp.arguments(AuditArgs, location="query", as_kwargs=True, error_status_code=422)
@bp.response(200, AUDIT_EVENT_LIST, description="One page.")
def list_audit_events(**args):
    stmt = sa.select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if args.get("record_type"):
        stmt = stmt.where(AuditEvent.entity_type == args["record_type"])
    if args.get("record_id"):
        stmt = stmt.where(AuditEvent.entity_id == _record_id(args.get("record_type"),
                                                             args["record_id"].strip()))
    if args.get("actor_id"):
        stmt = stmt.where(AuditEvent.user_id == args["actor_id"])
    if args.get("action"):
        stmt = stmt.where(AuditEvent.action == args["action"])
    if args.get("result"):
        stmt = stmt.where(AuditEvent.result == args["result"])
    if args.get("since"):
        stmt = stmt.where(AuditEvent.at >= _utc(args["since"]))
    if args.get("until"):
        stmt = stmt.where(AuditEvent.at < _utc(args["until"]))
    return page_of(stmt, args, "api.list_audit_events")
