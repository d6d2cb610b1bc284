"""The JSON API under /api/v1: bearer tokens, the same services as the HTML views (DESIGN 5)."""

from flask import Blueprint

from ..extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bearer tokens only, never the session cookie: a forged cross-site request carries no token,
# so CSRF protection has nothing to protect here.
csrf.exempt(bp)

from . import auth, contacts, errors, openapi, organisations  # noqa: E402,F401
from . import interactions, leads, tasks  # noqa: E402,F401
from . import criticality, jobs  # noqa: E402,F401
from . import clusters, supply_links, value_chains  # noqa: E402,F401
from . import programme_exports, programmes  # noqa: E402,F401
