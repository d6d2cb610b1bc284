"""Bearer-token authentication for every API request (except the OpenAPI document)."""

from __future__ import annotations

import logging
import math
import time
from functools import lru_cache

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many

from ..auth.models import User
from ..auth.services import user_for_token
from ..errors import api_error
from ..extensions import limiter
from ..permissions import WORKER_ROLES
from ..security_log import event
from . import bp, guard
from .errors import forbidden

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


TOKEN_FAILURE_SCOPE = "api-token-failure"


@lru_cache(maxsize=8)
def _token_failure_items(spec: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(spec))


def _throttle_identity() -> tuple[str, ...]:
    # The limiter's own key function (the client address, after ProxyFix) and storage: the
    # counters are shared by every web process when they live in Redis.
    return (TOKEN_FAILURE_SCOPE, get_remote_address())


def _token_throttled():
    """A 429 when this address has used up its bad-token allowance (whatever it sends now)."""
    if not limiter.enabled:
        return None
    strategy, identity = limiter.limiter, _throttle_identity()
    spec = current_app.config["API_TOKEN_FAILURE_LIMIT"]
    wait = 0
    for item in _token_failure_items(spec):
        if not strategy.test(item, *identity):
            reset_at = strategy.get_window_stats(item, *identity).reset_time
            wait = max(wait, math.ceil(reset_at - time.time()), 1)
    if not wait:
        return None
    event(logging.WARNING, "api_token_throttled", path=request.path)
    response, status = api_error(429)
    response.headers["Retry-After"] = str(wait)
    return response, status


def _token_refused(reason: str) -> None:
    if limiter.enabled:
        strategy, identity = limiter.limiter, _throttle_identity()
        for item in _token_failure_items(current_app.config["API_TOKEN_FAILURE_LIMIT"]):
            strategy.hit(item, *identity)
    event(logging.WARNING, "api_token_refused", reason=reason, path=request.path)


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
    if header.strip():
        # Every attempt at a token counts; once over the limit, even a good one waits.
        throttled = _token_throttled()
        if throttled is not None:
            return throttled
    if scheme.lower() != "bearer" or not token.strip():
        if header.strip():
            _token_refused("malformed")
        return _unauthorized(_("Stuur een API-token mee: Authorization: Bearer <token>."))
    user = user_for_token(token.strip())
    if user is None:
        _token_refused("invalid")
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


def require_admin() -> None:
    """Admin-only endpoints (the audit trail, the bin, GDPR requests, programme management)."""
    if not api_user().is_admin:
        forbidden()


admins_only = guard(require_admin)
