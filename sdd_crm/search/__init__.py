"""The global search in every page's header (issue 14 point 2): one box over organisations,
contacts, contact moments, leads and value chains, each through its own list's search."""

from flask import Blueprint

bp = Blueprint("search", __name__, url_prefix="/search")

from . import views  # noqa: F401
