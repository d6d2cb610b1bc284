"""The dashboard's blocks: each one bounded query, however many tasks, leads or accounts exist.

Every block filters through ``visibility`` (DESIGN 4.4) like the lists it links to.

The personal dashboard shows no counts, only short lists (ten rows each), so it keeps no
aggregates (issue 12): each block is a walk of an index in the block's own order that stops
after ten visible rows — my open tasks along (assignee, status, due date); the contact moments I
logged along (author, date), those I took part in as described at
:func:`my_recent_interactions`; new leads along the index of new leads by date
(or, for a local account manager, those shared with me or my municipality, through their
indexes). The accounts needing attention follow my own account-team memberships
(``accounts.queries``). The viewers' overview counts only critical organisations, read through
the ``is_critical`` index. Admins also get the admin work (:func:`admin_work`): a few indexed
statements, only for them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from ..auth.models import User
from ..db import utcnow
from ..extensions import db
from ..imports.models import ImportReview, ReviewStatus
from ..interactions.models import Interaction, Task, TaskStatus, interaction_user
from ..interactions.visibility import interaction_visible, task_visible
from ..jobs.models import Job, JobOutbox, JobStatus
from ..leads.models import Lead, LeadStatus
from ..leads.visibility import lead_receivers_condition, lead_visible
from ..organisations.models import AccountTeamRequest, JoinRequestStatus, Organisation
from ..reference.models import Municipality

BLOCK_SIZE = 10


def my_open_tasks(user, limit: int = BLOCK_SIZE) -> list[Task]:
    """My open tasks, due soonest first (undated last); the (assignee, status, due) index."""
    return list(db.session.scalars(
        sa.select(Task)
        .outerjoin(Organisation, Organisation.id == Task.organisation_id)
        .where(Task.assignee_id == user.id, Task.status == TaskStatus.OPEN,
               Task.deleted_at.is_(None),
               sa.or_(Task.organisation_id.is_(None), Organisation.deleted_at.is_(None)),
               task_visible(user))
        .options(joinedload(Task.organisation))
        .order_by(Task.due_date.asc().nulls_last(), Task.id)
        .limit(limit)))


def _live_visible_interactions(user):
    return sa.and_(Interaction.deleted_at.is_(None), Organisation.deleted_at.is_(None),
                   interaction_visible(user))


# Up to this many contact moments a user took part in are read through the participants' index
# and sorted; a user who took part in more has them dense enough among all contact moments to
# find the newest by walking the date index (see :func:`my_recent_interactions`).
FEW_PARTICIPATIONS = 3000


def _took_part_in_few(user) -> bool:
    """Whether ``user`` took part in fewer than FEW_PARTICIPATIONS contact moments: counted
    through the participants' index, never past that number of entries."""
    mine = (sa.select(interaction_user.c.interaction_id)
            .where(interaction_user.c.user_id == user.id).limit(FEW_PARTICIPATIONS).subquery())
    return db.session.scalar(sa.select(sa.func.count()).select_from(mine)) < FEW_PARTICIPATIONS


def my_recent_interactions(user, limit: int = BLOCK_SIZE) -> list[Interaction]:
    """The latest contact moments I logged or took part in.

    Two bounded reads merged, instead of one OR that would make the database walk every
    interaction by date: the ones I logged along the (author, date, id) index; the ones I took
    part in either from the participants' index (when they are few: read them all and sort) or,
    when there are many, by walking the live contact moments newest first (the date index) and
    checking each for me — many means dense, so the walk stops early. The participants' table
    has no date, so no single index serves both cases."""
    newest = (Interaction.date.desc(), Interaction.id.desc())
    authored = (sa.select(Interaction.id)
                .join(Organisation, Organisation.id == Interaction.organisation_id)
                .where(Interaction.author_id == user.id, _live_visible_interactions(user))
                .order_by(*newest).limit(limit).subquery())
    if _took_part_in_few(user):
        took_part = Interaction.id.in_(sa.select(interaction_user.c.interaction_id)
                                       .where(interaction_user.c.user_id == user.id))
    else:
        took_part = sa.exists().where(interaction_user.c.interaction_id == Interaction.id,
                                      interaction_user.c.user_id == user.id)
    present = (sa.select(Interaction.id)
               .join(Organisation, Organisation.id == Interaction.organisation_id)
               .where(took_part, _live_visible_interactions(user))
               .order_by(*newest).limit(limit).subquery())
    ids = sa.union(sa.select(authored.c.id), sa.select(present.c.id))
    return list(db.session.scalars(
        sa.select(Interaction).where(Interaction.id.in_(ids))
        .options(joinedload(Interaction.organisation))
        .order_by(*newest).limit(limit)))


def leads_waiting_for_me(user, limit: int = BLOCK_SIZE) -> list[Lead]:
    """New leads in my inbox: shared with me, my municipality or (regional AMs) the team."""
    return list(db.session.scalars(
        sa.select(Lead)
        .join(Organisation, Organisation.id == Lead.organisation_id)
        .where(Lead.status == LeadStatus.NEW, Lead.deleted_at.is_(None),
               Organisation.deleted_at.is_(None), lead_receivers_condition(user),
               lead_visible(user))
        .options(joinedload(Lead.organisation), joinedload(Lead.author))
        .order_by(Lead.created_at.desc(), Lead.id.desc())
        .limit(limit)))


def critical_by_municipality() -> list[tuple[Municipality, int]]:
    """For viewers: critical organisations per municipality.

    Counts only the critical ones (few, found through the ``is_critical`` index) rather than
    every organisation on every page view."""
    counts = dict(db.session.execute(
        sa.select(Organisation.municipality_code, sa.func.count())
        .where(Organisation.is_critical.is_(True), Organisation.deleted_at.is_(None),
               Organisation.merged_into_id.is_(None))
        .group_by(Organisation.municipality_code)).all())
    municipalities = db.session.scalars(
        sa.select(Municipality).order_by(Municipality.drechtsteden_member.desc(), Municipality.name))
    return [(m, counts.get(m.code, 0)) for m in municipalities]


# --- The admin's start page (issue 14, point 10) ----------------------------------------------

ADMIN_LIST_SIZE = 5
FAILED_JOBS_DAYS = 7  # "recent": the failures of the last week are counted
# Failed logins in a row (within the login-delay window) that an admin should see: from the
# third on, the user is made to wait (auth/login_delay.py) and may be locked out in practice.
REPEATED_FAILURES = 3


@dataclass
class AdminWork:
    """What waits for an admin, each figure linked to where it is handled."""

    held_rows: int
    oldest_held: dt.datetime | None
    failed_jobs: int  # in the last FAILED_JOBS_DAYS days
    recent_failures: list[Job]
    users: int
    inactive_users: int
    slowed_users: list[User]  # repeated failed logins within the login-delay window
    open_join_requests: int
    join_requests: list[AccountTeamRequest]
    outbox_waiting: int
    outbox_oldest: dt.datetime | None


def admin_work(now: dt.datetime | None = None) -> AdminWork:
    """Five statements whatever the size of the tables, each through an index: the counts in
    one (import_review by status, job by status, the partial index of waiting outbox rows, the
    join requests by status, the small user table), then the short lists."""
    now = now or utcnow()
    since = now - dt.timedelta(days=FAILED_JOBS_DAYS)
    window = current_app.config["LOGIN_DELAY_WINDOW"]
    window = window if isinstance(window, dt.timedelta) else dt.timedelta(seconds=int(window))
    slowed = sa.and_(User.failed_login_count >= REPEATED_FAILURES,
                     User.last_failed_login_at >= now - window)

    def count(model, *where):
        return sa.select(sa.func.count()).select_from(model).where(*where).scalar_subquery()

    pending_review = ImportReview.status == ReviewStatus.PENDING
    (held, oldest_held, failed, users, inactive, joins, waiting, oldest_waiting) = db.session.execute(
        sa.select(
            count(ImportReview, pending_review),
            sa.select(sa.func.min(ImportReview.created_at)).where(pending_review).scalar_subquery(),
            count(Job, Job.status == JobStatus.FAILED, Job.created_at >= since),
            count(User),
            count(User, User.active.is_(False)),
            count(AccountTeamRequest, AccountTeamRequest.status == JoinRequestStatus.OPEN),
            count(JobOutbox, JobOutbox.dispatched_at.is_(None)),
            sa.select(sa.func.min(JobOutbox.created_at))
            .where(JobOutbox.dispatched_at.is_(None)).scalar_subquery(),
        )).one()
    recent = list(db.session.scalars(
        sa.select(Job).where(Job.status == JobStatus.FAILED)
        .order_by(Job.created_at.desc(), Job.id).limit(ADMIN_LIST_SIZE)))
    slowed_users = list(db.session.scalars(
        sa.select(User).where(slowed, User.active.is_(True))
        .order_by(User.last_failed_login_at.desc(), User.id).limit(ADMIN_LIST_SIZE)))
    requests = list(db.session.scalars(
        sa.select(AccountTeamRequest)
        .where(AccountTeamRequest.status == JoinRequestStatus.OPEN)
        .options(joinedload(AccountTeamRequest.organisation))
        .order_by(AccountTeamRequest.created_at, AccountTeamRequest.id)
        .limit(ADMIN_LIST_SIZE))) if joins else []
    return AdminWork(held, oldest_held, failed, recent, users, inactive, slowed_users, joins,
                     requests, waiting, oldest_waiting)
