"""Queries for follow-up tasks: "Mijn taken" tabs, load-or-404, and the calendar feed's tasks.

Every path filters through ``visibility.task_visible`` (DESIGN 4.4): a task that follows a
confidential contact moment stays hidden from whoever may not see that contact moment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import joinedload

from ..exceptions import NotFound
from ..extensions import db
from ..interactions.models import Interaction, Task, TaskStatus
from ..interactions.queries import local_today  # noqa: F401  (re-exported for the views)
from ..interactions.services import can_edit_task
from ..interactions.visibility import can_see_interactions, interaction_visible, task_visible

TABS = ("open", "overdue", "week", "done")
SCOPES = ("assigned", "created")
FEED_LIMIT = 1000


def end_of_week(today: dt.date) -> dt.date:
    """The Sunday of ``today``'s week (Dutch weeks run Monday to Sunday)."""
    return today + dt.timedelta(days=6 - today.weekday())


@dataclass
class TaskFilters:
    tab: str = "open"  # open | overdue | week (due today up to Sunday) | done
    scope: str = "assigned"  # assigned to me | created by me

    @classmethod
    def from_args(cls, args) -> TaskFilters:
        tab, scope = args.get("tab"), args.get("scope")
        return cls(tab=tab if tab in TABS else "open",
                   scope=scope if scope in SCOPES else "assigned")


def task_list(user, filters: TaskFilters, today: dt.date) -> sa.Select:
    """The user's tasks on one tab, most urgent first (done: most recently completed first).

    Each tab is one walk of an index on (assignee or creator, status, due date or completion
    time) that stops after the page: undated tasks come last through ``NULLS LAST``, which both
    databases read from the index (SQLite in two passes), where an ``IS NULL`` sort key would
    make them sort every task of the tab first."""
    stmt = sa.select(Task).where(Task.deleted_at.is_(None), task_visible(user))
    if filters.scope == "created":
        stmt = stmt.where(Task.created_by_id == user.id)
    else:
        stmt = stmt.where(Task.assignee_id == user.id)
    if filters.tab == "done":
        return stmt.where(Task.status == TaskStatus.DONE).order_by(
            Task.completed_at.desc(), Task.id.desc())
    stmt = stmt.where(Task.status == TaskStatus.OPEN)
    if filters.tab == "overdue":
        stmt = stmt.where(Task.due_date < today)
    elif filters.tab == "week":
        stmt = stmt.where(Task.due_date >= today, Task.due_date <= end_of_week(today))
    return stmt.order_by(Task.due_date.asc().nulls_last(), Task.id)


def with_list_relations(stmt: sa.Select) -> sa.Select:
    return stmt.options(joinedload(Task.organisation), joinedload(Task.assignee))


def get_task(task_id: int, *, user, for_edit: bool = False) -> Task:
    """Load a task or 404 (also when it follows a confidential contact moment the user may
    not see); with ``for_edit`` only its assignee, its creator or an admin (403)."""
    if not can_see_interactions(user):
        abort(403)
    task = db.session.scalar(
        sa.select(Task).where(Task.id == task_id, Task.deleted_at.is_(None), task_visible(user))
        .options(joinedload(Task.organisation), joinedload(Task.assignee)))
    if task is None:
        if db.session.scalar(sa.select(Task.id).where(Task.id == task_id,
                                                      Task.deleted_at.is_(None))) is not None:
            # There, but not for this user: answered as a missing id, the refusal audited.
            raise NotFound(hidden=("task", task_id))
        abort(404)
    if for_edit and not can_edit_task(user, task):
        abort(403)
    return task


def feed_tasks(user) -> list[Task]:
    """The open tasks with a due date assigned to ``user``, for the calendar feed.

    Stricter than the task list: the feed leaves the system (Outlook, a shared calendar),
    so a task following a confidential contact moment the user may not see never appears,
    even when it is assigned to them.
    """
    hidden = sa.exists().where(Interaction.id == Task.interaction_id, ~interaction_visible(user))
    return list(db.session.scalars(
        sa.select(Task)
        .where(Task.assignee_id == user.id, Task.status == TaskStatus.OPEN,
               Task.due_date.is_not(None), Task.deleted_at.is_(None), ~hidden)
        .options(joinedload(Task.organisation))
        .order_by(Task.due_date, Task.id)
        .limit(FEED_LIMIT)))
