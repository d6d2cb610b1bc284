"""Who may change which organisation (DESIGN 4.4): the rules that need the account teams.

The role rules that need no organisation (who registers, who merges, who sees personal data)
are in ``sdd_crm/permissions.py``; contacts, value chains and the views ask these functions, so
the HTML views and the API can never disagree.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..auth.models import Role
from ..extensions import db
from ..permissions import EDIT_ALL_ROLES
from .models import AccountTeamMember


def is_in_account_team(user, organisation_id: int) -> bool:
    return (
        db.session.scalar(
            sa.select(AccountTeamMember.id).where(
                AccountTeamMember.organisation_id == organisation_id,
                AccountTeamMember.user_id == user.id,
            )
        )
        is not None
    )


def can_edit_organisation(user, organisation) -> bool:
    """Regional AMs, business developers and admins edit all; local AMs their municipality and
    the organisations whose account team they are in (DESIGN 4.4)."""
    if user.role in EDIT_ALL_ROLES:
        return True
    if user.role == Role.LOCAL_ACCOUNT_MANAGER:
        if organisation.municipality_code and organisation.municipality_code == user.municipality_code:
            return True
        return is_in_account_team(user, organisation.id)
    return False


def strategic_manager_id(organisation) -> int | None:
    """The user id of the organisation's current strategic (regional) account manager, or None."""
    return next((m.user_id for m in organisation.team if m.team_role == "strategic"), None)


def can_manage_account_team(user, organisation) -> bool:
    """Who adds, removes and changes account-team members (DESIGN 4.4): membership opens the
    organisation's confidential notes, so editing the organisation does not include it. Only
    admins and the organisation's current strategic account manager; anyone else may ask to join."""
    if not getattr(user, "is_authenticated", True) or not getattr(user, "active", True):
        return False
    if user.role == Role.ADMIN:
        return True
    return user.id is not None and strategic_manager_id(organisation) == user.id


def register_template_globals(app) -> None:
    app.jinja_env.globals.update(can_edit_organisation=can_edit_organisation,
                                 can_manage_account_team=can_manage_account_team)
