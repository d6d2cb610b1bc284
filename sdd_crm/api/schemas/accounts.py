"""Account management resources of DESIGN 5: interactions (contact moments), tasks and leads."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from ...contacts.queries import shown_to
from ...extensions import db
from ...interactions.models import InteractionType, TaskStatus, Topic
from ...interactions.services import NOTES_LIMIT
from ...leads.models import LeadStatus, LeadType, SharedWith
from .. import fields as f
from ..auth import api_user
from .base import (CursorPageArgs, PageArgs, ResourceSchema, component, create_view, input_view,
                   list_view, patch_view, resource_components, version_field)

# List bounds, so a request cannot make the database compare against 100,000 ids.
LIST_LIMITS = {"topics": 20, "contact_ids": 50, "user_ids": 50, "follow_ups": 20}
NOTE_LIMIT = 1000


_DAYS = {"02": "(0[1-9]|1[0-9]|2[0-8])", "04": "(0[1-9]|[12][0-9]|30)", "06": "(0[1-9]|[12][0-9]|30)",
         "09": "(0[1-9]|[12][0-9]|30)", "11": "(0[1-9]|[12][0-9]|30)"}


def _days_up_to(last: int) -> str:
    return "(" + "|".join(f"{d:02d}" for d in range(1, last + 1)) + ")"


def past_date_pattern(today: dt.date | None = None) -> str:
    """Dates from 1990-01-01 up to today (a contact moment is not in the future): the part of the
    rule a JSON Schema can say (29 February left out); the service checks the exact day."""
    today = today or dt.date.today()
    months = [f"{m:02d}" for m in range(1, 13)]
    whole = "(" + "|".join(f"{m}-{_DAYS.get(m, '(0[1-9]|[12][0-9]|3[01])')}" for m in months) + ")"
    parts = []
    if today.year > 1990:
        years = "|".join(str(y) for y in range(1990, today.year))
        parts.append(f"({years})-{whole}")
    this_year = [f"{m}-{_DAYS.get(m, '(0[1-9]|[12][0-9]|3[01])')}" for m in months[:today.month - 1]]
    days = min(today.day, 28) if today.month == 2 else today.day
    this_year.append(f"{today.month:02d}-{_days_up_to(days)}")
    parts.append(f"{today.year}-(" + "|".join(this_year) + ")")
    return "^(" + "|".join(parts) + ")$"


class FollowUpSchema(ResourceSchema):
    title = f.Text(required=True, max_length=200)
    due_date = f.Date(allow_none=True)
    assignee_id = f.Id(allow_none=True, description="A colleague; yourself when empty.")
    description = f.Text(allow_none=True, max_length=2000, multiline=True)


FOLLOW_UP = component("FollowUp", input_view(FollowUpSchema))


class InteractionSchema(ResourceSchema):
    id = f.Integer(dump_only=True)
    organisation_id = f.Id(required=True, data_dependent=True)
    type = f.Choice(InteractionType, required=True, error="Kies het soort contact.",
                    error_messages={"required": "Kies het soort contact."})
    date = f.Date(required=True, metadata={"pattern": past_date_pattern()},
                  error_messages={"required": "Vul de datum in."},
                  description="Not in the future (plan a task instead); from 1990.")
    subject = f.Text(required=True, max_length=200, pattern=f.NON_BLANK_PATTERN,
                     error_messages={"required": "Vul het onderwerp in."})
    notes = f.Text(allow_none=True, max_length=NOTES_LIMIT, multiline=True)
    confidential = f.Boolean(description="Visible to the author, the organisation's account "
                                         "team and admins only (DESIGN 4.4).")
    topics = f.List(f.Choice(Topic, error="Kies onderwerpen uit de lijst."),
                    max_items=LIST_LIMITS["topics"],
                    source=lambda i: sorted(t.topic for t in i.topics))
    contact_ids = f.List(f.Id(), max_items=LIST_LIMITS["contact_ids"], data_dependent=True,
                         source=lambda i: sorted(c.id for c in shown_to(api_user(), i.contacts)),
                         description="Contact persons of this organisation who were present.")
    user_ids = f.List(f.Id(), max_items=LIST_LIMITS["user_ids"], data_dependent=True,
                      source=lambda i: sorted(u.id for u in i.users),
                      description="Colleagues who were present.")
    follow_ups = f.List(f.Nested(FollowUpSchema), max_items=LIST_LIMITS["follow_ups"],
                        load_only=True, data_dependent=True,
                        description="Tasks to create with the interaction (also on PATCH: added).")
    author_id = f.Integer(dump_only=True)
    version = version_field()
    created_at = f.DateTime(dump_only=True)
    updated_at = f.DateTime(dump_only=True)


INTERACTION, INTERACTION_CREATE, INTERACTION_PATCH, INTERACTION_LIST = resource_components(
    "Interaction", InteractionSchema, cursor=True)


class InteractionArgs(CursorPageArgs):
    organisation_id = f.QueryId(description="Only this organisation's contact moments.")
    type = f.Choice(InteractionType, description="Kind of contact.")
    date_from = f.Date(description="On or after this date.")
    date_to = f.Date(description="On or before this date.")
    confidential = f.QueryBoolean(description="Only confidential (true) or only ordinary (false) ones.")


def _overdue(task) -> bool:
    from ...i18n import local_today

    return task.status == TaskStatus.OPEN and task.due_date is not None and task.due_date < local_today()


class TaskSchema(ResourceSchema):
    id = f.Integer(dump_only=True)
    title = f.Text(required=True, max_length=200, pattern=f.NON_BLANK_PATTERN,
                   error_messages={"required": "Vul in wat er moet gebeuren."})
    description = f.Text(allow_none=True, max_length=2000, multiline=True)
    due_date = f.Date(allow_none=True)
    status = f.Choice(TaskStatus, description="`done` completes the task (sets completed_at).")
    overdue = f.Boolean(dump_only=True, source=_overdue, description="Open and due before today.")
    assignee_id = f.Id(allow_none=True, data_dependent=True,
                       description="A colleague; yourself when empty.")
    created_by_id = f.Integer(dump_only=True, allow_none=True)
    organisation_id = f.Id(allow_none=True, data_dependent=True)
    interaction_id = f.Id(allow_none=True, data_dependent=True)
    lead_id = f.Id(allow_none=True, data_dependent=True)
    completed_at = f.DateTime(dump_only=True, allow_none=True)
    version = version_field()
    created_at = f.DateTime(dump_only=True)
    updated_at = f.DateTime(dump_only=True)


TASK, TASK_CREATE, TASK_PATCH, TASK_LIST = resource_components("Task", TaskSchema)


class TaskArgs(PageArgs):
    assignee = f.Text(pattern="^(me|[1-9][0-9]{0,8})$", description="`me`, or a colleague's user id.",
                      enforce_pattern="Vul me in, of het id van een collega.")
    status = f.Choice(TaskStatus, description="Task status.")
    due_before = f.Date(description="Due on or before this date (overdue ones included).")
    organisation_id = f.QueryId(description="Only this organisation's tasks.")


class LeadEventSchema(ResourceSchema):
    at = f.DateTime(required=True)
    user_id = f.Integer(required=True, allow_none=True)
    from_status = f.Text(required=True, allow_none=True)
    to_status = f.Choice(LeadStatus, required=True)
    note = f.Text(required=True, allow_none=True, multiline=True)


class LeadCommentSchema(ResourceSchema):
    id = f.Integer(dump_only=True)
    author_id = f.Integer(dump_only=True)
    body = f.Text(required=True, max_length=5000, multiline=True, pattern=f.NON_BLANK_MULTI_LINE_PATTERN,
                  error_messages={"required": "Schrijf een reactie."})
    created_at = f.DateTime(dump_only=True)


LEAD_EVENT = component("LeadEvent", LeadEventSchema())
LEAD_COMMENT = component("LeadComment", LeadCommentSchema())
LEAD_COMMENT_CREATE = component("LeadCommentCreate", create_view(LeadCommentSchema))


class LeadSchema(ResourceSchema):
    id = f.Integer(dump_only=True)
    organisation_id = f.Id(required=True, data_dependent=True)
    type = f.Choice(LeadType, required=True, error="Kies het soort signaal.")
    title = f.Text(required=True, max_length=200, pattern=f.NON_BLANK_PATTERN,
                   error_messages={"required": "Vul een korte titel in."})
    description = f.Text(allow_none=True, max_length=5000, multiline=True)
    author_id = f.Integer(dump_only=True)
    from_municipality = f.Text(dump_only=True, allow_none=True, source="from_municipality_code",
                               description="CBS code of the author's municipality.")
    shared_with = f.Choice(SharedWith, allow_none=True, error="Kies met wie u het signaal deelt.",
                           description="Follows from shared_with_user_id or "
                                       "shared_with_municipality when not given.")
    shared_with_user_id = f.Id(allow_none=True, data_dependent=True)
    shared_with_municipality = f.Text(allow_none=True, pattern="^GM[0-9]{4}$", data_dependent=True,
                                      source="shared_with_municipality_code",
                                      description="CBS code, e.g. GM0610: a municipality "
                                                  "with at least one active local account "
                                                  "manager, not the sender's own (409 "
                                                  "otherwise).")
    status = f.Choice(LeadStatus, data_dependent=True,
                      description="new → accepted | declined; accepted → in_progress; "
                                  "in_progress → won | lost. Only the receiving side.")
    decline_reason = f.Text(allow_none=True, max_length=1000, multiline=True,
                            pattern=f.NON_BLANK_MULTI_LINE_PATTERN,
                            description="Required to decline.")
    note = f.Text(load_only=True, allow_none=True, max_length=NOTE_LIMIT, multiline=True,
                  description="A remark kept with a status change.")
    responded_at = f.DateTime(dump_only=True, allow_none=True,
                              description="When the lead left `new` (accepted or declined).")
    version = version_field()
    created_at = f.DateTime(dump_only=True)
    updated_at = f.DateTime(dump_only=True)

    read_only_names = ("next_statuses", "events", "comments")


def _next_statuses(lead) -> list[str]:
    from ...leads.services import TRANSITIONS
    from ...visibility import can_move_lead
    from ..auth import api_user

    return sorted(TRANSITIONS[lead.status]) if can_move_lead(api_user(), lead) else []


def _events(lead) -> list:
    from ...leads.models import LeadEvent

    return db.session.scalars(sa.select(LeadEvent).where(LeadEvent.lead_id == lead.id)
                              .order_by(LeadEvent.at, LeadEvent.id)).all()


def _comments(lead) -> list:
    from ...leads.models import LeadComment

    return db.session.scalars(
        sa.select(LeadComment).where(LeadComment.lead_id == lead.id, LeadComment.deleted_at.is_(None))
        .order_by(LeadComment.created_at, LeadComment.id)).all()


class LeadDetailSchema(LeadSchema):
    """The single view: the history, the comments, and where this user may move the lead."""

    next_statuses = f.List(f.Choice(LeadStatus), dump_only=True, source=_next_statuses,
                           description="Where you may move it now (empty unless you are on the "
                                       "receiving side).")
    events = f.List(f.Nested(LeadEventSchema), dump_only=True, source=_events)
    comments = f.List(f.Nested(LeadCommentSchema), dump_only=True, source=_comments)


_TARGET = {"type": "string"}
LEAD = component("Lead", LeadSchema())
LEAD_DETAIL = component("LeadDetail", LeadDetailSchema())
LEAD_CREATE = component(
    "LeadCreate", create_view(LeadSchema, exclude=("status", "decline_reason", "note")), extra={
        # Where the lead goes: shared_with, or the user or municipality it names.
        "anyOf": [
            {"required": ["shared_with"], "properties": {"shared_with": _TARGET}},
            {"required": ["shared_with_user_id"], "properties": {"shared_with_user_id": {"type": "integer"}}},
            {"required": ["shared_with_municipality"],
             "properties": {"shared_with_municipality": _TARGET}},
        ],
        "allOf": [
            {"if": {"required": ["shared_with"], "properties": {"shared_with": {"const": "user"}}},
             "then": {"required": ["shared_with_user_id"],
                      "properties": {"shared_with_user_id": {"type": "integer"}}}},
            {"if": {"required": ["shared_with"], "properties": {"shared_with": {"const": "municipality"}}},
             "then": {"required": ["shared_with_municipality"],
                      "properties": {"shared_with_municipality": _TARGET}}},
        ],
    })
LEAD_PATCH = component(
    "LeadPatch", patch_view(LeadSchema, exclude=("organisation_id", "shared_with", "shared_with_user_id",
                                                 "shared_with_municipality")), extra={
        # Either a status change (with decline_reason to decline, a note otherwise) or a text change.
        "oneOf": [
            {"required": ["status"],
             "not": {"anyOf": [{"required": ["type"]}, {"required": ["title"]},
                               {"required": ["description"]}]},
             "if": {"properties": {"status": {"const": "declined"}}},
             "then": {"required": ["decline_reason"], "properties": {"decline_reason": _TARGET}},
             "else": {"properties": {"decline_reason": {"type": "null"}}}},
            {"not": {"anyOf": [{"required": ["status"]}, {"required": ["decline_reason"]},
                               {"required": ["note"]}]}},
        ]})
LEAD_LIST = component("LeadList", list_view(LeadSchema)())


class LeadArgs(PageArgs):
    box = f.Choice(["inbox", "sent", "all"], metadata={"default": "all"},
                   description="inbox: leads waiting on your side; sent: the ones you shared; "
                               "all: every lead you may see.")
    status = f.Choice(LeadStatus, description="Lead status.")
    type = f.Choice(LeadType, description="Lead type.")
