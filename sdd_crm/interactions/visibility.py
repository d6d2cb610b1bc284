"""Who sees which interaction and task (DESIGN 4.4), as SQL conditions and as Python checks.

Lists, details, timelines, search, exports and the API all filter through these, so a
confidential note can never leak through one path that forgot the rule.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..auth.models import Role
from ..leads.models import Lead
from ..leads.visibility import lead_visible
from ..organisations.models import AccountTeamMember
from ..organisations.permissions import is_in_account_team
from .models import Interaction, Task


def _in_team(user, organisation_id_col):
    return sa.exists().where(
        AccountTeamMember.organisation_id == organisation_id_col,
        AccountTeamMember.user_id == user.id,
    )


def can_see_interactions(user) -> bool:
    """Viewers read dashboards and lists, never interaction notes."""
    return user.role != Role.VIEWER


def interaction_visible(user):
    """SQL condition: interactions this user may see."""
    if user.role == Role.ADMIN:
        return sa.true()
    if not can_see_interactions(user):
        return sa.false()
    return sa.or_(
        Interaction.confidential.is_(False),
        Interaction.author_id == user.id,
        _in_team(user, Interaction.organisation_id),
    )


def can_see_interaction(user, interaction: Interaction) -> bool:
    if user.role == Role.ADMIN:
        return True
    if not can_see_interactions(user):
        return False
    if not interaction.confidential or interaction.author_id == user.id:
        return True
    return is_in_account_team(user, interaction.organisation_id)


def task_visible(user):
    """SQL condition: tasks this user may see — not those following a confidential interaction
    or a lead the user may not see (their titles tend to repeat what they follow up).

    Written as "follows nothing, or follows something I may see" (a positive EXISTS, checked
    per row through the primary key) rather than "NOT EXISTS something hidden": PostgreSQL
    would answer the latter by first collecting every hidden interaction of the whole table
    (a hashed subplan over a million rows), however few tasks a page shows. Both say the same,
    as a task's interaction and lead exist whenever it names them (foreign keys) and every
    column compared is NOT NULL."""
    if user.role == Role.ADMIN:
        return sa.true()
    if not can_see_interactions(user):
        return sa.false()
    followed_visible = sa.exists().where(
        Interaction.id == Task.interaction_id,
        sa.or_(Interaction.confidential.is_(False), Interaction.author_id == user.id,
               _in_team(user, Interaction.organisation_id)),
    )
    lead_seen = sa.exists().where(Lead.id == Task.lead_id, lead_visible(user))
    return sa.or_(Task.assignee_id == user.id, Task.created_by_id == user.id,
                  sa.and_(sa.or_(Task.interaction_id.is_(None), followed_visible),
                          sa.or_(Task.lead_id.is_(None), lead_seen)))
