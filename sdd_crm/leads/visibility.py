"""Who sees which lead, and who answers it (DESIGN 4.4), as SQL conditions and Python checks.

Lists, details, timelines, search, exports and the API all filter through these, so a lead can
never leak through one path that forgot the rule.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..auth.models import Role
from .models import Lead, SharedWith


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
