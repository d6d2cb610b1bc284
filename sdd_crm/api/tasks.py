"""/api/v1/tasks: follow-ups. ``PATCH {"status": "done"}`` completes one.

Visible through ``task_visible`` (a follow-up of a confidential interaction stays with its
circle, and with its assignee and creator). Viewers have no tasks: 403 on every route.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, url_for

from ..exceptions import NotFound
from ..extensions import db
from ..interactions.models import Task
from ..interactions.services import can_edit_task, create_task, delete_task, update_task
from ..organisations.models import Organisation
from ..visibility import can_see_interactions, task_visible
from . import bp, errors, guard
from .auth import api_user
from .errors import check_id, forbidden
from .openapi import LOCATION
from .schemas.accounts import TASK, TASK_CREATE, TASK_LIST, TASK_PATCH, TaskArgs
from .schemas.base import VersionArgs, page_of

TAGS = ["tasks"]


def _require_worker() -> None:
    if not can_see_interactions(api_user()):
        forbidden()


def live_tasks() -> sa.Select:
    """Live tasks (of a live organisation, or of none), whoever may see them."""
    return (
        sa.select(Task)
        .outerjoin(Organisation, Organisation.id == Task.organisation_id)
        .where(Task.deleted_at.is_(None),
               sa.or_(Task.organisation_id.is_(None), Organisation.deleted_at.is_(None)))
    )


def visible_tasks(user) -> sa.Select:
    """Live tasks ``user`` may see (of a live organisation, or of none), soonest due first."""
    return live_tasks().where(task_visible(user)).order_by(Task.due_date.asc().nulls_last(), Task.id)


def load_task(task_id: int) -> Task:
    task = db.session.scalar(visible_tasks(api_user()).where(Task.id == check_id(task_id)))
    if task is None:
        if db.session.scalar(live_tasks().with_only_columns(Task.id)
                             .where(Task.id == task_id)) is not None:
            # There, but not for this user: answered as a missing id, the refusal audited.
            raise NotFound(hidden=("task", task_id))
        abort(404)
    return task


def _load_for_edit(task_id: int) -> Task:
    task = load_task(task_id)
    if not can_edit_task(api_user(), task):
        forbidden()
    return task


@bp.get("/tasks", tags=TAGS)
@bp.doc(operationId="listTasks", summary="Tasks you may see, soonest due first.")
@errors(403)
@guard(_require_worker)
@bp.arguments(TaskArgs, location="query", as_kwargs=True)
@bp.response(200, TASK_LIST, description="One page.")
def list_tasks(**args):
    stmt = visible_tasks(api_user())
    if (assignee := args.get("assignee")) is not None:
        stmt = stmt.where(Task.assignee_id == (api_user().id if assignee == "me" else int(assignee)))
    if (status := args.get("status")) is not None:
        stmt = stmt.where(Task.status == status)
    if (due_before := args.get("due_before")) is not None:
        stmt = stmt.where(Task.due_date <= due_before)
    if (org_id := args.get("organisation_id")) is not None:
        stmt = stmt.where(Task.organisation_id == org_id)
    return page_of(stmt, args, "api.list_tasks")


@bp.get("/tasks/<int:task_id>", tags=TAGS)
@bp.doc(operationId="getTask", summary="One task.")
@errors(403)
@guard(_require_worker)
@bp.response(200, TASK, description="The record.")
def get_task_item(task_id: int):
    return load_task(task_id)


@bp.post("/tasks", tags=TAGS)
@bp.doc(operationId="createTask", summary="Create a task (assigned to you unless assignee_id is given).")
@errors(403, 409)
@guard(_require_worker)
@bp.arguments(TASK_CREATE)
@bp.response(201, TASK, description="Created.", headers=LOCATION)
def create_task_item(data):
    task = create_task(data, actor=api_user())
    return task, 201, {"Location": url_for("api.get_task_item", task_id=task.id)}


@bp.patch("/tasks/<int:task_id>", tags=TAGS)
@bp.doc(operationId="updateTask",
        summary="Change the fields sent (assignee, creator or admin); `status: done` completes it.")
@errors(403, 409, 428)
@guard(_require_worker)
@bp.arguments(TASK_PATCH)
@bp.response(200, TASK, description="The changed record.")
def update_task_item(data, task_id: int):
    task = _load_for_edit(task_id)
    version = data.pop("version")
    update_task(task, data, actor=api_user(), expected_version=version, partial=True)
    return task


@bp.delete("/tasks/<int:task_id>", tags=TAGS)
@bp.doc(operationId="deleteTask", summary="Soft delete.")
@errors(403, 409, 422)
@guard(_require_worker)
@bp.arguments(VersionArgs, location="query", error_status_code=422)
@bp.response(204, description="Deleted.")
def delete_task_item(args, task_id: int):
    task = _load_for_edit(task_id)
    delete_task(task, actor=api_user(), expected_version=args.get("version"))
    return Response(status=204)
