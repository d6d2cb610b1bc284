from flask import Blueprint

bp = Blueprint("valuechains", __name__, url_prefix="/chains")

from . import admin_views, figures, insight_views, receivers, views  # noqa: E402,F401
