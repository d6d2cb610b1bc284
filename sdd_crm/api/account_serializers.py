"""Interactions, tasks and leads → JSON, and the type check of what clients send for them.

Same conventions as ``serializers``: dates ``YYYY-MM-DD``, timestamps ISO 8601 in UTC, unknown
and read-only fields refused with 422. The services hold the rules (visibility, transitions,
lengths); this module only makes a value of the wrong JSON type a Dutch 422 message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _

from ..i18n import local_today
from ..interactions.models import Interaction, Task, TaskStatus
from ..leads.models import Lead, LeadComment, LeadEvent
from ..leads.services import TRANSITIONS
from ..exceptions import ValidationError
from ..visibility import can_move_lead
from .serializers import (
    BOOLEAN,
    ID,
    ID_LIST,
    OBJECT_LIST,
    RECORD_ID,
    TEXT,
    TEXT_LIST,
    _date,
    _timestamp,
    check_input,
)

# --- output -------------------------------------------------------------------------------


def interaction_to_dict(interaction: Interaction) -> dict[str, Any]:
    """One contact moment; ``topics``, ``contacts`` and ``users`` must be loaded (no N+1)."""
    return {
        "id": interaction.id,
        "organisation_id": interaction.organisation_id,
        "type": interaction.type,
        "date": _date(interaction.date),
        "subject": interaction.subject,
        "notes": interaction.notes,
        "confidential": bool(interaction.confidential),
        "topics": sorted(t.topic for t in interaction.topics),
        "contact_ids": sorted(c.id for c in interaction.contacts),
        "user_ids": sorted(u.id for u in interaction.users),
        "author_id": interaction.author_id,
        "version": interaction.version,
        "created_at": _timestamp(interaction.created_at),
        "updated_at": _timestamp(interaction.updated_at),
    }


def task_to_dict(task: Task, today: dt.date | None = None) -> dict[str, Any]:
    today = today or local_today()
    return {
        "id": task.id,
        "title": task.title,
        "description": task.description,
        "due_date": _date(task.due_date),
        "status": task.status,
        "overdue": task.status == TaskStatus.OPEN and task.due_date is not None and task.due_date < today,
        "assignee_id": task.assignee_id,
        "created_by_id": task.created_by_id,
        "organisation_id": task.organisation_id,
        "interaction_id": task.interaction_id,
        "lead_id": task.lead_id,
        "completed_at": _timestamp(task.completed_at),
        "version": task.version,
        "created_at": _timestamp(task.created_at),
        "updated_at": _timestamp(task.updated_at),
    }


def lead_to_dict(lead: Lead) -> dict[str, Any]:
    return {
        "id": lead.id,
        "organisation_id": lead.organisation_id,
        "type": lead.type,
        "title": lead.title,
        "description": lead.description,
        "author_id": lead.author_id,
        "from_municipality": lead.from_municipality_code,
        "shared_with": lead.shared_with,
        "shared_with_user_id": lead.shared_with_user_id,
        "shared_with_municipality": lead.shared_with_municipality_code,
        "status": lead.status,
        "decline_reason": lead.decline_reason,
        "responded_at": _timestamp(lead.responded_at),
        "version": lead.version,
        "created_at": _timestamp(lead.created_at),
        "updated_at": _timestamp(lead.updated_at),
    }


def lead_detail(lead: Lead, user, events: list[LeadEvent], comments: list[LeadComment]) -> dict[str, Any]:
    """The single view: the history, the comments, and where this user may move the lead."""
    next_statuses = sorted(TRANSITIONS[lead.status]) if can_move_lead(user, lead) else []
    return lead_to_dict(lead) | {
        "next_statuses": next_statuses,
        "events": [{"at": _timestamp(e.at), "user_id": e.user_id, "from_status": e.from_status,
                    "to_status": e.to_status, "note": e.note} for e in events],
        "comments": [comment_to_dict(c) for c in comments],
    }


def comment_to_dict(comment: LeadComment) -> dict[str, Any]:
    return {"id": comment.id, "author_id": comment.author_id, "body": comment.body,
            "created_at": _timestamp(comment.created_at)}


# --- input --------------------------------------------------------------------------------

INTERACTION_INPUT = {
    "organisation_id": ID, "type": TEXT, "date": TEXT, "subject": TEXT, "notes": TEXT,
    "confidential": BOOLEAN, "topics": TEXT_LIST, "contact_ids": ID_LIST, "user_ids": ID_LIST,
    "follow_ups": OBJECT_LIST,
}
INTERACTION_READ_ONLY = {"id", "author_id", "created_at", "updated_at"}
FOLLOW_UP_INPUT = {"title": TEXT, "due_date": TEXT, "assignee_id": RECORD_ID, "description": TEXT}

TASK_INPUT = {
    "title": TEXT, "description": TEXT, "due_date": TEXT, "assignee_id": RECORD_ID,
    "organisation_id": ID, "interaction_id": RECORD_ID, "lead_id": RECORD_ID, "status": TEXT,
}
TASK_READ_ONLY = {"id", "overdue", "created_by_id", "completed_at", "created_at", "updated_at"}

LEAD_INPUT = {
    "organisation_id": ID, "type": TEXT, "title": TEXT, "description": TEXT, "shared_with": TEXT,
    "shared_with_user_id": RECORD_ID, "shared_with_municipality": TEXT,
}
LEAD_READ_ONLY = {"id", "author_id", "from_municipality", "status", "decline_reason",
                  "responded_at", "next_statuses", "events", "comments", "created_at", "updated_at"}
# ``note``: an optional remark recorded with a status change (the history shows it).
LEAD_PATCH_INPUT = {"type": TEXT, "title": TEXT, "description": TEXT, "status": TEXT,
                    "decline_reason": TEXT, "note": TEXT}
NOTE_LIMIT = 1000
LEAD_PATCH_READ_ONLY = (LEAD_READ_ONLY - {"status", "decline_reason"}) | {
    "organisation_id", "shared_with", "shared_with_user_id", "shared_with_municipality"}
COMMENT_INPUT = {"body": TEXT}

# Bounds on lists, so a request cannot make the database compare against 100,000 ids.
LIST_LIMITS = {"topics": 20, "contact_ids": 50, "user_ids": 50, "follow_ups": 20}


def _not_null(data: Mapping[str, Any], keys) -> None:
    """A ``null`` that would silently mean something else (``confidential: null`` → not
    confidential, ``status: null`` → open) is refused instead."""
    errors = {k: _("Dit veld mag niet leeg zijn.") for k in keys if k in data and data[k] is None}
    if errors:
        raise ValidationError(errors)


def _check_lengths(data: Mapping[str, Any]) -> None:
    errors = {k: _("Hoogstens %(n)s items.", n=n) for k, n in LIST_LIMITS.items()
              if isinstance(data.get(k), list) and len(data[k]) > n}
    if errors:
        raise ValidationError(errors)


def interaction_input(data: Mapping[str, Any], *, with_version: bool = False) -> dict[str, Any]:
    clean = check_input(data, INTERACTION_INPUT, INTERACTION_READ_ONLY, with_version=with_version)
    _not_null(clean, ("confidential", "organisation_id", "type", "date", "subject"))
    _check_lengths(clean)
    for item in clean.get("follow_ups") or []:
        try:
            check_input(item, FOLLOW_UP_INPUT, set(), with_version=False)
        except ValidationError as e:
            details = "; ".join(f"{k}: {m}" for k, m in e.errors.items())
            raise ValidationError({"follow_ups": _("Ongeldige vervolgactie (%(details)s).",
                                                   details=details)}) from None
    return clean


def task_input(data: Mapping[str, Any], *, with_version: bool = False) -> dict[str, Any]:
    clean = check_input(data, TASK_INPUT, TASK_READ_ONLY, with_version=with_version)
    _not_null(clean, ("status", "title"))
    return clean


def lead_input(data: Mapping[str, Any]) -> dict[str, Any]:
    return check_input(data, LEAD_INPUT, LEAD_READ_ONLY, with_version=False)


def lead_patch_input(data: Mapping[str, Any]) -> dict[str, Any]:
    clean = check_input(data, LEAD_PATCH_INPUT, LEAD_PATCH_READ_ONLY, with_version=True)
    _not_null(clean, ("status", "type", "title"))
    if len(clean.get("note") or "") > NOTE_LIMIT:
        raise ValidationError({"note": _("Hoogstens %(n)s tekens.", n=NOTE_LIMIT)})
    return clean


def comment_input(data: Mapping[str, Any]) -> str:
    clean = check_input(data, COMMENT_INPUT, {"id", "author_id", "created_at"}, with_version=False)
    body = clean.get("body")
    if body is None or not body.strip():
        raise ValidationError({"body": _("Schrijf een reactie.")})
    return body
