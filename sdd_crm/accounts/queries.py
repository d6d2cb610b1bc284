"""Account-team queries: "my accounts", and which of them need attention (issue 3).

An account needs attention when it had no contact moment for ``ATTENTION_MONTHS`` months
(default 6). ``Organisation.last_contact_on`` is kept by the interaction services and indexed,
so this never scans the interactions.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from ..auth.models import Role, User
from ..extensions import db
from ..organisations.attention import (  # noqa: F401  (attention_cutoff, months_before re-exported)
    attention_cutoff, months_before, needs_attention, needs_attention_condition)
from ..organisations.models import AccountTeamMember, Organisation

# Who can be in an account team (organisations.services.set_account_team_member).
TEAM_ROLES = (Role.REGIONAL_ACCOUNT_MANAGER, Role.LOCAL_ACCOUNT_MANAGER, Role.ADMIN)
# Who may look at a colleague's accounts.
OVERSEER_ROLES = (Role.REGIONAL_ACCOUNT_MANAGER, Role.ADMIN)


def accounts_of(user_id: int, cutoff: dt.date) -> sa.Select:
    """The team memberships of a user, with their (live) organisation loaded, sorted:
    needing attention first, critical companies first within that, then the oldest contact
    (never contacted before anything else)."""
    attention_first = sa.case((needs_attention_condition(cutoff), 0), else_=1)
    return (
        sa.select(AccountTeamMember)
        .join(AccountTeamMember.organisation)
        .where(AccountTeamMember.user_id == user_id, Organisation.deleted_at.is_(None),
               Organisation.merged_into_id.is_(None))
        .options(contains_eager(AccountTeamMember.organisation))
        .order_by(attention_first, Organisation.is_critical.desc(),
                  Organisation.last_contact_on.asc().nulls_first(), Organisation.name,
                  Organisation.id)
    )


def accounts_needing_attention(user_id: int, cutoff: dt.date, limit: int = 10) -> list[AccountTeamMember]:
    stmt = accounts_of(user_id, cutoff).where(needs_attention_condition(cutoff)).limit(limit)
    return list(db.session.scalars(stmt))


def team_colleagues() -> list[User]:
    """Everyone who can be in an account team, for the "whose accounts" choice."""
    return list(db.session.scalars(
        sa.select(User).where(User.active.is_(True), User.role.in_(TEAM_ROLES))
        .order_by(User.name, User.id)))
