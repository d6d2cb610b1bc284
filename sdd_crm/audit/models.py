"""The audit log: who changed which record when, before → after."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import utcnow
from ..extensions import db


class AuditEvent(db.Model):
    __table_args__ = (
        sa.Index("ix_audit_event_entity", "entity_type", "entity_id", "at"),
        # The audit screen's filters (sdd_crm/admin/queries.py audit_events), newest first.
        sa.Index("ix_audit_event_action", "action", "at"),
        sa.Index("ix_audit_event_result", "result", "at"),
        sa.Index("ix_audit_event_origin", "origin", "at"),
    )
    # Written once, never changed or deleted (sdd_crm/audit/guard.py).

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    # create, update, delete, restore, merge, import, export, view, login, login_failed,
    # refused, purge, erase, … (labels in sdd_crm/audit/labels.py ACTIONS)
    action: Mapped[str] = mapped_column(sa.String(32))
    entity_type: Mapped[str] = mapped_column(sa.String(50))
    entity_id: Mapped[str] = mapped_column(sa.String(40))
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # {field: [before, after]}
    source: Mapped[str | None] = mapped_column(sa.String(20))  # web, api, cli, job
    # success, refused (permission), failed (e.g. a wrong password)
    result: Mapped[str] = mapped_column(sa.String(16), default="success", server_default="success")
    # The client address of the request that caused it (None outside a request).
    origin: Mapped[str | None] = mapped_column(sa.String(64))
    # The record's version after this change (VersionedMixin), for "what changed since version N".
    record_version: Mapped[int | None]


# Actions that record a look or an attempt, not a change of the record they name: the audit
# screen shows them, a record's history (organisation page, timeline) does not.
NON_CHANGE_ACTIONS = ("view", "download", "export", "refused", "login", "logout",
                      "login_throttled", "token_refused", "token_throttled")


def record_changes() -> sa.ColumnElement[bool]:
    """The SQL condition of events that changed their record (for a record's history)."""
    return sa.and_(AuditEvent.result == "success", AuditEvent.action.notin_(NON_CHANGE_ACTIONS))
