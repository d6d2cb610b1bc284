from flask import Blueprint

bp = Blueprint("leads", __name__, url_prefix="/leads")

from . import receivers, views  # noqa: E402,F401
