"""Who may do what by role (DESIGN 4.4). Every view and API endpoint asks these functions.

The rules that need an organisation's account team are in ``organisations/permissions.py``;
load-or-404 helpers live with each feature (``organisations.queries.get_organisation``) and
call these rules, so that the HTML views and the API can never disagree.
"""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user

from .auth.models import Role

EDIT_ALL_ROLES = {Role.ADMIN, Role.REGIONAL_ACCOUNT_MANAGER, Role.BUSINESS_DEVELOPER}
WORKER_ROLES = EDIT_ALL_ROLES | {Role.LOCAL_ACCOUNT_MANAGER}
MERGE_ROLES = {Role.ADMIN, Role.REGIONAL_ACCOUNT_MANAGER}


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


def can_view_contacts(user) -> bool:
    """Viewers (board members, analysts) read dashboards and lists, not personal data."""
    return user.role in WORKER_ROLES


def can_merge(user) -> bool:
    """Only admins and regional account managers merge: a merge changes what every municipality
    sees and the programme counts (DESIGN 4.2)."""
    return user.role in MERGE_ROLES


def register_template_globals(app) -> None:
    app.jinja_env.globals.update(
        can_merge_organisations=can_merge,
        can_create_organisation=can_create_organisation,
        can_view_contacts=can_view_contacts,
        Role=Role,
    )
