"""/api/v1/tasks: follow-ups. ``PATCH {"status": "done"}`` completes one.

Visible through ``task_visible`` (a follow-up of a confidential interaction stays with its
circle, and with its assignee and creator). Viewers have no tasks: 403 on every route.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, jsonify, request, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..interactions.models import Task, TaskStatus
from ..interactions.services import can_edit_task, create_task, delete_task, update_task
from ..organisations.models import Organisation
from ..pagination import paginate
from ..visibility import can_see_interactions, task_visible
from . import bp
from .account_serializers import task_input, task_to_dict
from .auth import api_user
from .errors import (
    MAX_ID,
    bad_request,
    check_id,
    check_query_text,
    forbidden,
    json_object,
    page_args,
    query_int,
    read_version,
)
from .organisations import list_response
from .params import query_choice, query_date

FILTER_PARAMS = ("assignee", "status", "due_before", "organisation_id")


def _require_worker() -> None:
    if not can_see_interactions(api_user()):
        forbidden()


def visible_tasks(user) -> sa.Select:
    """Live tasks ``user`` may see (of a live organisation, or of none), soonest due first."""
    return (
        sa.select(Task)
        .outerjoin(Organisation, Organisation.id == Task.organisation_id)
        .where(Task.deleted_at.is_(None),
               sa.or_(Task.organisation_id.is_(None), Organisation.deleted_at.is_(None)),
               task_visible(user))
        .order_by(Task.due_date.asc().nulls_last(), Task.id)
    )


def load_task(task_id: int) -> Task:
    task = db.session.scalar(visible_tasks(api_user()).where(Task.id == check_id(task_id)))
    if task is None:
        abort(404)
    return task


def _assignee() -> int | None:
    raw = (request.args.get("assignee") or "").strip()
    if not raw:
        return None
    if raw == "me":
        return api_user().id
    if raw.isdigit() and 1 <= int(raw) <= MAX_ID:
        return int(raw)
    bad_request(_("Ongeldige parameter %(name)s.", name="assignee"),
                assignee=_("Vul me in, of het id van een collega."))


@bp.get("/tasks")
def list_tasks():
    _require_worker()
    check_query_text()
    stmt = visible_tasks(api_user())
    if (assignee := _assignee()) is not None:
        stmt = stmt.where(Task.assignee_id == assignee)
    if (status := query_choice("status", {s.value for s in TaskStatus})) is not None:
        stmt = stmt.where(Task.status == status)
    if (due_before := query_date("due_before")) is not None:
        stmt = stmt.where(Task.due_date <= due_before)
    if (org_id := query_int("organisation_id")) is not None:
        stmt = stmt.where(Task.organisation_id == org_id)
    page_no, per_page = page_args()
    page = paginate(stmt, page_no, per_page)
    return list_response(page, task_to_dict, "api.list_tasks", FILTER_PARAMS)


@bp.get("/tasks/<int:task_id>")
def get_task_item(task_id: int):
    _require_worker()
    return jsonify(task_to_dict(load_task(task_id)))


@bp.post("/tasks")
def create_task_item():
    _require_worker()
    task = create_task(task_input(json_object()), actor=api_user())
    db.session.commit()
    response = jsonify(task_to_dict(task))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_task_item", task_id=task.id)
    return response


def _load_for_edit(task_id: int) -> Task:
    _require_worker()
    task = load_task(task_id)
    if not can_edit_task(api_user(), task):
        forbidden()
    return task


@bp.patch("/tasks/<int:task_id>")
def update_task_item(task_id: int):
    task = _load_for_edit(task_id)
    body = json_object()
    version = read_version(body.get("version"), required=True)
    data = task_input(body, with_version=True)
    update_task(task, data, actor=api_user(), expected_version=version, partial=True)
    db.session.commit()
    return jsonify(task_to_dict(task))


@bp.delete("/tasks/<int:task_id>")
def delete_task_item(task_id: int):
    task = _load_for_edit(task_id)
    version = read_version(request.args.get("version"), required=False)
    delete_task(task, actor=api_user(), expected_version=version)
    db.session.commit()
    return "", 204
