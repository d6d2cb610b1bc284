from flask import Blueprint

bp = Blueprint("imports", __name__, url_prefix="/imports")

from . import duplicate_views, export_views, views  # noqa: E402,F401
