"""Who sees which interaction and lead (DESIGN 4.4), as SQL conditions and as Python checks.

Lists, details, timelines, search, exports and the API all filter through these, so a
confidential note can never leak through one path that forgot the rule.
"""

from __future__ import annotations

import sqlalchemy as sa


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
    from .permissions import is_in_account_team

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


def lead_visible(user):
    """SQL condition: the author, the receiving user or municipality, regional AMs and admins."""
    if user.role in (Role.ADMIN, Role.REGIONAL_ACCOUNT_MANAGER):
        return sa.true()
    conditions = [Lead.author_id == user.id, Lead.shared_with_user_id == user.id]
    if user.role == Role.LOCAL_ACCOUNT_MANAGER and user.municipality_code:
        conditions.append(sa.and_(Lead.shared_with == SharedWith.MUNICIPALITY,
                                  Lead.shared_with_municipality_code == user.municipality_code))
    return sa.or_(*conditions)


def can_see_lead(user, lead: Lead) -> bool:
    if user.role in (Role.ADMIN, Role.REGIONAL_ACCOUNT_MANAGER):
        return True
    return lead.author_id == user.id or is_receiver(user, lead)


def is_receiver(user, lead: Lead) -> bool:
    """The receiving side — the only one that moves a lead on from ``new`` (DESIGN 4.4)."""
    if lead.shared_with == SharedWith.USER:
        return lead.shared_with_user_id == user.id
    if lead.shared_with == SharedWith.MUNICIPALITY:
        return (user.role == Role.LOCAL_ACCOUNT_MANAGER
                and user.municipality_code == lead.shared_with_municipality_code)
    if lead.shared_with == SharedWith.REGIONAL_TEAM:
        return user.role == Role.REGIONAL_ACCOUNT_MANAGER
    return False


def can_move_lead(user, lead: Lead) -> bool:
    """The receiving side moves a lead on — never its author, even one who belongs to that side
    (a local AM sharing with their own municipality): answering it is for a colleague."""
    return is_receiver(user, lead) and lead.author_id != user.id


def lead_receivers_condition(user):
    """SQL condition: leads for which this user is on the receiving side (the inbox)."""
    conditions = [sa.and_(Lead.shared_with == SharedWith.USER, Lead.shared_with_user_id == user.id)]
    if user.role == Role.LOCAL_ACCOUNT_MANAGER and user.municipality_code:
        conditions.append(sa.and_(Lead.shared_with == SharedWith.MUNICIPALITY,
                                  Lead.shared_with_municipality_code == user.municipality_code))
    if user.role == Role.REGIONAL_ACCOUNT_MANAGER:
        conditions.append(Lead.shared_with == SharedWith.REGIONAL_TEAM)
    return sa.or_(*conditions)


# Imported last, on purpose: importing a feature's models runs that package's __init__, which
# imports its views, which import this module. With the functions above already defined, such a
# circular import finds them whichever module happened to be imported first.
from .auth.models import Role  # noqa: E402
from .interactions.models import Interaction, Task  # noqa: E402
from .leads.models import Lead, SharedWith  # noqa: E402
from .organisations.models import AccountTeamMember  # noqa: E402
