"""Who may do what (DESIGN 4.4). Every view and API endpoint asks these functions.

Load-or-404 helpers live with each feature (``organisations.queries.get_organisation``);
they call these rules so that the HTML views and the API can never disagree.
"""

from __future__ import annotations

from functools import wraps

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from .auth.models import Role
from .extensions import db

EDIT_ALL_ROLES = {Role.ADMIN, Role.REGIONAL_ACCOUNT_MANAGER, Role.BUSINESS_DEVELOPER}
WORKER_ROLES = EDIT_ALL_ROLES | {Role.LOCAL_ACCOUNT_MANAGER}


def roles_required(*roles: str):
    """Decorator: the signed-in user must have one of ``roles`` (else 403)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                abort(401)
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def can_create_organisation(user, municipality_code: str | None = None) -> bool:
    if user.role in EDIT_ALL_ROLES:
        return True
    if user.role == Role.LOCAL_ACCOUNT_MANAGER:
        # A local account manager registers companies of their own municipality.
        return municipality_code is None or municipality_code == user.municipality_code
    return False


def is_in_account_team(user, organisation_id: int) -> bool:
    from .organisations.models import AccountTeamMember

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


def can_view_contacts(user) -> bool:
    """Viewers (board members, analysts) read dashboards and lists, not personal data."""
    return user.role in WORKER_ROLES


def can_merge_organisations(user) -> bool:
    from .organisations.merge import can_merge

    return can_merge(user)


def register_template_globals(app) -> None:
    app.jinja_env.globals.update(
        can_merge_organisations=can_merge_organisations,
        can_edit_organisation=can_edit_organisation,
        can_create_organisation=can_create_organisation,
        can_view_contacts=can_view_contacts,
        Role=Role,
    )
