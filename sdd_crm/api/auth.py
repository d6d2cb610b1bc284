"""Bearer-token authentication for every API request (except the OpenAPI document)."""

from __future__ import annotations

from flask import current_app, g, request
from flask_babel import gettext as _

from ..auth.models import User
from ..auth.services import user_for_token
from ..errors import api_error
from ..permissions import WORKER_ROLES
from . import bp, guard

PUBLIC_ENDPOINTS = {"api.openapi"}
# A JSON body never needs the 50 MB allowed for spreadsheet uploads.
MAX_BODY_BYTES = 1024 * 1024


def _unauthorized(message: str, error: str | None = None):
    challenge = 'Bearer realm="sdd-crm"'
    if error:
        challenge += f', error="{error}"'
    response, status = api_error(401, message)
    response.headers["WWW-Authenticate"] = challenge
    return response, status


@bp.before_request
def authenticate():
    request.max_content_length = MAX_BODY_BYTES
    g.audit_source = "api"
    # Flask-Login's current_user is the token's user for this request only: the session
    # cookie is neither read (a browser session does not authenticate the API) nor written.
    g._login_user = current_app.login_manager.anonymous_user()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _unauthorized(_("Stuur een API-token mee: Authorization: Bearer <token>."))
    user = user_for_token(token.strip())
    if user is None:
        return _unauthorized(_("Dit API-token is ongeldig of ingetrokken."), "invalid_token")
    # The token's last_used_at (at most every few minutes) is saved with the request's own work
    # by the boundary; a request that fails leaves no trace, like everything else it did.
    g._login_user = user
    g.api_user = user
    g.audit_user_id = user.id
    return None


@bp.after_request
def no_caching(response):
    # Answers hold personal data and depend on the token: never keep them in a shared cache.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def api_user() -> User:
    return g.api_user


def require_writer() -> None:
    """Viewers (board members, analysts) only read; every write is refused with 403."""
    if api_user().role not in WORKER_ROLES:
        from .errors import forbidden

        forbidden()


# ``@writers_only`` between the route and ``@bp.arguments``: a viewer's write is a 403 whatever
# its body holds.
writers_only = guard(require_writer)
