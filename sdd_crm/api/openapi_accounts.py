"""The OpenAPI part for account management: interactions, tasks and leads (merged by ``openapi``)."""

from __future__ import annotations

from ..interactions.models import InteractionType, TaskStatus, Topic
from ..interactions.services import NOTES_LIMIT
from ..leads.models import LeadStatus, LeadType, SharedWith
from .account_serializers import LIST_LIMITS, NOTE_LIMIT
from .openapi import (
    TEXT,
    VERSION_IN,
    _body,
    _created,
    _json,
    _list_schema,
    _nullable,
    _obj,
    _p,
    _query,
    _r,
    _ref,
)

ID_OUT = {"type": "integer"}
ID_IN = {"type": "integer", "minimum": 1}
STAMP = {"type": "string", "format": "date-time"}
VERSION_OUT = {"type": "integer", "description": "Send it back with a PATCH; a stale one gets 409."}

INTERACTION_INPUT = {
    "organisation_id": ID_IN,
    "type": {"type": "string", "enum": [t.value for t in InteractionType]},
    "date": {"type": "string", "format": "date",
             "description": "Not in the future (plan a task instead); from 1990."},
    "subject": {"type": "string", "maxLength": 200},
    "notes": _nullable("string", maxLength=NOTES_LIMIT),
    "confidential": {"type": "boolean", "description": "Visible to the author, the organisation's "
                                                      "account team and admins only (DESIGN 4.4)."},
    "topics": {"type": "array", "maxItems": LIST_LIMITS["topics"],
               "items": {"type": "string", "enum": [t.value for t in Topic]}},
    "contact_ids": {"type": "array", "maxItems": LIST_LIMITS["contact_ids"], "items": ID_IN,
                    "description": "Contact persons of this organisation who were present."},
    "user_ids": {"type": "array", "maxItems": LIST_LIMITS["user_ids"], "items": ID_IN,
                 "description": "Colleagues who were present."},
    "follow_ups": {"type": "array", "maxItems": LIST_LIMITS["follow_ups"], "items": _ref("FollowUp"),
                   "description": "Tasks to create with the interaction (also on PATCH: added)."},
}
INTERACTION_OUTPUT = {
    "id": ID_OUT,
    **{k: v for k, v in INTERACTION_INPUT.items() if k != "follow_ups"},
    "date": {"type": "string", "format": "date"},
    "notes": _nullable("string"),
    # Output lists carry no maxItems: a contact moment logged on a screen may name more people.
    "topics": {"type": "array", "items": INTERACTION_INPUT["topics"]["items"]},
    "contact_ids": {"type": "array", "items": ID_OUT},
    "user_ids": {"type": "array", "items": ID_OUT},
    "author_id": ID_OUT,
    "version": VERSION_OUT,
    "created_at": STAMP,
    "updated_at": STAMP,
}
FOLLOW_UP = {
    "title": {"type": "string", "maxLength": 200},
    "due_date": _nullable("string", format="date"),
    "assignee_id": _nullable("integer", minimum=1, description="A colleague; yourself when empty."),
    "description": _nullable("string", maxLength=2000),
}

TASK_INPUT = {
    "title": {"type": "string", "maxLength": 200},
    "description": _nullable("string", maxLength=2000),
    "due_date": _nullable("string", format="date"),
    "assignee_id": _nullable("integer", minimum=1, description="A colleague; yourself when empty."),
    "organisation_id": _nullable("integer", minimum=1),
    "interaction_id": _nullable("integer", minimum=1),
    "lead_id": _nullable("integer", minimum=1),
    "status": {"type": "string", "enum": [s.value for s in TaskStatus],
               "description": "`done` completes the task (sets completed_at)."},
}
TASK_OUTPUT = {
    "id": ID_OUT,
    **TASK_INPUT,
    "overdue": {"type": "boolean", "description": "Open and due before today."},
    "created_by_id": _nullable("integer"),
    "completed_at": _nullable("string", format="date-time"),
    "version": VERSION_OUT,
    "created_at": STAMP,
    "updated_at": STAMP,
}

LEAD_INPUT = {
    "organisation_id": ID_IN,
    "type": {"type": "string", "enum": [t.value for t in LeadType]},
    "title": {"type": "string", "maxLength": 200},
    "description": _nullable("string", maxLength=5000),
    "shared_with": {"type": "string", "enum": [s.value for s in SharedWith],
                    "description": "Follows from shared_with_user_id or shared_with_municipality "
                                   "when not given."},
    "shared_with_user_id": _nullable("integer", minimum=1),
    "shared_with_municipality": _nullable("string", description="CBS code, e.g. GM0610."),
}
LEAD_STATUS = {"type": "string", "enum": [s.value for s in LeadStatus]}
LEAD_OUTPUT = {
    "id": ID_OUT,
    **LEAD_INPUT,
    "author_id": ID_OUT,
    "from_municipality": _nullable("string", description="CBS code of the author's municipality."),
    "shared_with_municipality": _nullable("string"),
    "status": LEAD_STATUS,
    "decline_reason": _nullable("string"),
    "responded_at": _nullable("string", format="date-time",
                              description="When the lead left `new` (accepted or declined)."),
    "version": VERSION_OUT,
    "created_at": STAMP,
    "updated_at": STAMP,
}
LEAD_PATCH = {
    "version": VERSION_IN,
    "status": {**LEAD_STATUS, "description": "new → accepted | declined; accepted → in_progress; "
                                             "in_progress → won | lost. Only the receiving side."},
    "decline_reason": {"type": "string", "maxLength": 1000, "description": "Required to decline."},
    "note": {"type": "string", "maxLength": NOTE_LIMIT, "description": "A remark kept with a status change."},
    "type": LEAD_INPUT["type"],
    "title": LEAD_INPUT["title"],
    "description": LEAD_INPUT["description"],
}
LEAD_EVENT = {"at": STAMP, "user_id": _nullable("integer"), "from_status": _nullable("string"),
              "to_status": LEAD_STATUS, "note": _nullable("string")}
COMMENT = {"id": ID_OUT, "author_id": ID_OUT, "body": TEXT, "created_at": STAMP}


def account_schemas() -> dict:
    return {
        "FollowUp": _obj(FOLLOW_UP, required=("title",)),
        "Interaction": _obj(INTERACTION_OUTPUT, required=INTERACTION_OUTPUT),
        "InteractionCreate": _obj(INTERACTION_INPUT,
                                  required=("organisation_id", "type", "date", "subject")),
        "InteractionPatch": _obj(INTERACTION_INPUT | {"version": VERSION_IN}, required=("version",)),
        "InteractionList": _list_schema("Interaction"),
        "Task": _obj(TASK_OUTPUT, required=TASK_OUTPUT),
        "TaskCreate": _obj(TASK_INPUT, required=("title",)),
        "TaskPatch": _obj(TASK_INPUT | {"version": VERSION_IN}, required=("version",)),
        "TaskList": _list_schema("Task"),
        "Lead": _obj(LEAD_OUTPUT, required=LEAD_OUTPUT),
        "LeadDetail": _obj(LEAD_OUTPUT | {
            "next_statuses": {"type": "array", "items": LEAD_STATUS,
                              "description": "Where you may move it now (empty unless you are "
                                             "on the receiving side)."},
            "events": {"type": "array", "items": _ref("LeadEvent")},
            "comments": {"type": "array", "items": _ref("LeadComment")},
        }, required=[*LEAD_OUTPUT, "next_statuses", "events", "comments"]),
        "LeadCreate": _obj(LEAD_INPUT, required=("organisation_id", "type", "title")),
        "LeadPatch": _obj(LEAD_PATCH, required=("version",)),
        "LeadList": _list_schema("Lead"),
        "LeadEvent": _obj(LEAD_EVENT, required=LEAD_EVENT),
        "LeadComment": _obj(COMMENT, required=COMMENT),
        "LeadCommentCreate": _obj({"body": {"type": "string", "maxLength": 5000}}, required=("body",)),
    }


def account_parameters() -> dict:
    def path(name):
        return {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}

    return {"interaction_id": path("interaction_id"), "task_id": path("task_id"),
            "lead_id": path("lead_id")}


def _item(tag: str, name: str, param: str, summary_get: str, patch_summary: str,
          delete: bool = True) -> dict:
    title = name[0].upper() + name[1:]
    item = {
        "parameters": [_p(param)],
        "get": {"operationId": f"get{title}", "tags": [tag], "summary": summary_get,
                "responses": {"200": _json(f"{title}Detail" if tag == "leads" else title, "The record."),
                              **_r("Unauthorized", "Forbidden", "NotFound")}},
        "patch": {"operationId": f"update{title}", "tags": [tag], "summary": patch_summary,
                  "requestBody": _body(f"{title}Patch"),
                  "responses": {"200": _json(f"{title}Detail" if tag == "leads" else title, "The changed record."),
                                **_r("BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict",
                                     "TooLarge", "ValidationFailed", "VersionRequired")}},
    }
    if delete:
        item["delete"] = {"operationId": f"delete{title}", "tags": [tag], "summary": "Soft delete.",
                          "parameters": [_p("version")],
                          "responses": {"204": {"description": "Deleted."},
                                        **_r("Unauthorized", "Forbidden", "NotFound", "Conflict",
                                             "ValidationFailed")}}
    return item


def _collection(tag: str, name: str, filters: list, summary_list: str, summary_create: str,
                created: str) -> dict:
    title = name[0].upper() + name[1:]
    return {
        "get": {"operationId": f"list{title}s", "tags": [tag], "summary": summary_list,
                "parameters": [*filters, _p("page"), _p("per_page")],
                "responses": {"200": _json(f"{title}List", "One page."),
                              **_r("BadRequest", "Unauthorized", "Forbidden")}},
        "post": {"operationId": f"create{title}", "tags": [tag], "summary": summary_create,
                 "requestBody": _body(f"{title}Create"),
                 "responses": {"201": _created(created),
                               **_r("BadRequest", "Unauthorized", "Forbidden", "TooLarge",
                                    "ValidationFailed")}},
    }


def account_paths() -> dict:
    date = {"type": "string", "format": "date"}
    interaction_filters = [
        _query("organisation_id", ID_IN, "Only this organisation's contact moments."),
        _query("type", INTERACTION_INPUT["type"], "Kind of contact."),
        _query("date_from", date, "On or after this date."),
        _query("date_to", date, "On or before this date."),
        _query("confidential", {"type": "string", "enum": ["true", "false", "1", "0"]},
               "Only confidential (true) or only ordinary (false) ones."),
    ]
    task_filters = [
        _query("assignee", {"type": "string", "pattern": "^(me|[1-9][0-9]*)$"},
               "`me`, or a colleague's user id."),
        _query("status", {"type": "string", "enum": [s.value for s in TaskStatus]}, "Task status."),
        _query("due_before", date, "Due on or before this date (overdue ones included)."),
        _query("organisation_id", ID_IN, "Only this organisation's tasks."),
    ]
    lead_filters = [
        _query("box", {"type": "string", "enum": ["inbox", "sent", "all"], "default": "all"},
               "inbox: leads waiting on your side; sent: the ones you shared; all: every lead you may see."),
        _query("status", LEAD_STATUS, "Lead status."),
        _query("type", LEAD_INPUT["type"], "Lead type."),
    ]
    return {
        "/interactions": _collection(
            "interactions", "interaction", interaction_filters,
            "Contact moments you may see (confidential ones only inside their circle), newest first.",
            "Log a contact moment, with follow-up tasks.", "Interaction"),
        "/interactions/{interaction_id}": _item(
            "interactions", "interaction", "interaction_id",
            "One contact moment (404 when it is confidential and you are outside its circle).",
            "Change the fields sent (the author or an admin); `version` is required."),
        "/tasks": _collection("tasks", "task", task_filters, "Tasks you may see, soonest due first.",
                              "Create a task (assigned to you unless assignee_id is given).", "Task"),
        "/tasks/{task_id}": _item(
            "tasks", "task", "task_id", "One task.",
            "Change the fields sent (assignee, creator or admin); `status: done` completes it."),
        "/leads": _collection("leads", "lead", lead_filters, "Leads you may see, newest first.",
                              "Share a lead with the regional team, a colleague or a municipality.",
                              "LeadDetail"),
        "/leads/{lead_id}": _item(
            "leads", "lead", "lead_id", "One lead, with its history and comments.",
            "Either a status change (`status`, with `decline_reason` to decline; the receiving "
            "side only; a transition outside the flow is 422) or a text change (`type`, `title`, "
            "`description`; the author while the lead is new).", delete=False),
        "/leads/{lead_id}/comments": {
            "parameters": [_p("lead_id")],
            "post": {"operationId": "commentOnLead", "tags": ["leads"], "summary": "Add a comment.",
                     "requestBody": _body("LeadCommentCreate"),
                     "responses": {"201": _json("LeadComment", "Created."),
                                   **_r("BadRequest", "Unauthorized", "Forbidden", "NotFound",
                                        "TooLarge", "ValidationFailed")}},
        },
    }
