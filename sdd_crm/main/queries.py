"""The dashboard's blocks: each one bounded query, however many tasks, leads or accounts exist.

Every block filters through ``visibility`` (DESIGN 4.4) like the lists it links to.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..interactions.models import Interaction, Task, TaskStatus, interaction_user
from ..leads.models import Lead, LeadStatus
from ..organisations.models import Organisation
from ..reference.models import Municipality
from ..interactions.visibility import interaction_visible, task_visible
from ..leads.visibility import lead_receivers_condition, lead_visible

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


def my_recent_interactions(user, limit: int = BLOCK_SIZE) -> list[Interaction]:
    """The latest contact moments I logged or took part in.

    Two bounded index lookups (by author, by participant) merged, instead of one OR that would
    make the database walk every interaction by date."""
    newest = (Interaction.date.desc(), Interaction.id.desc())
    authored = (sa.select(Interaction.id)
                .join(Organisation, Organisation.id == Interaction.organisation_id)
                .where(Interaction.author_id == user.id, _live_visible_interactions(user))
                .order_by(*newest).limit(limit).subquery())
    present = (sa.select(Interaction.id)
               .join(interaction_user, interaction_user.c.interaction_id == Interaction.id)
               .join(Organisation, Organisation.id == Interaction.organisation_id)
               .where(interaction_user.c.user_id == user.id, _live_visible_interactions(user))
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
