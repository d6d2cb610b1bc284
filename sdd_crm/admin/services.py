"""Administrator actions: managing users and their tokens, restoring soft-deleted records.

Services flush; the view commits once. Each raises ``ValidationError`` with a Dutch message
when the action would do harm (an admin locking themselves out, an orphaned contact).
"""

from __future__ import annotations

from flask_babel import gettext as _

from ..auth.models import Role, User
from ..auth.services import create_token, revoke_tokens, update_user
from ..auth.sessions import DEACTIVATED, SIGNED_OUT_EVERYWHERE, current_session, revoke_user_sessions
from ..audit.events import record
from ..extensions import db
from ..exceptions import PermissionDenied, check_version
from ..exceptions import ValidationError


def _require_admin(actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied()


def edit_user(user: User, *, actor, expected_version, name, role, municipality_code, active,
              password=None) -> User:
    """Change a user's name, role, municipality, active flag (and password); stale → ConflictError."""
    _require_admin(actor)
    check_version(user, expected_version)
    if user.id == actor.id and (role != Role.ADMIN or not active):
        # Otherwise an administrator could lock the last way in to these screens.
        raise ValidationError(_("U kunt uw eigen beheerrechten niet intrekken of uw eigen account "
                                "niet deactiveren."))
    return update_user(user, name=name, role=role, municipality_code=municipality_code or None,
                       active=active, password=password or None,
                       keep_session=current_session() if user.id == actor.id else None)


def deactivate_user(user: User, *, actor) -> int:
    """Deactivate a user, revoke their API tokens and end their sessions; returns the number of
    tokens revoked."""
    _require_admin(actor)
    if user.id == actor.id:
        raise ValidationError(_("U kunt uw eigen account niet deactiveren."))
    n = revoke_tokens(user)
    revoke_user_sessions(user, reason=DEACTIVATED)
    user.active = False
    db.session.flush()
    return n


def sign_out_everywhere(user: User, *, actor) -> int:
    """End every session of ``user`` at once ("Overal afmelden"), audited; returns how many.

    An administrator signing themselves out everywhere keeps the session they do it from."""
    _require_admin(actor)
    keep = current_session() if user.id == actor.id else None
    n = revoke_user_sessions(user, reason=SIGNED_OUT_EVERYWHERE, keep=keep)
    record("sign_out_everywhere", "user", user.id, detail={"sessions_ended": n})
    db.session.flush()
    return n


def revoke_user_tokens(user: User, *, actor) -> int:
    _require_admin(actor)
    n = revoke_tokens(user)
    db.session.flush()
    return n


def issue_token(user: User, name: str, *, actor) -> str:
    """A new API token for ``user``; only its hash is kept, so it is shown this once."""
    _require_admin(actor)
    if not user.active:
        raise ValidationError(_("Deze gebruiker is gedeactiveerd; een token zou niet werken."))
    return create_token(user, name.strip())
