from flask import Blueprint

bp = Blueprint("programmes", __name__, url_prefix="/programmes")

from . import export_views, progress_views, views  # noqa: E402,F401
