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
    or a lead the user may not see (their titles tend to repeat what they follow up)."""
    if user.role == Role.ADMIN:
        return sa.true()
    if not can_see_interactions(user):
        return sa.false()
    hidden = sa.exists().where(
        Interaction.id == Task.interaction_id,
        Interaction.confidential.is_(True),
        Interaction.author_id != user.id,
        ~_in_team(user, Interaction.organisation_id),
    )
    # Not "exists a lead that is not visible": NOT over NULLs (no receiving user) is NULL in SQL.
    hidden_lead = sa.and_(Task.lead_id.is_not(None),
                          ~sa.exists().where(Lead.id == Task.lead_id, lead_visible(user)))
    return sa.or_(Task.assignee_id == user.id, Task.created_by_id == user.id,
                  sa.and_(~hidden, ~hidden_lead))
