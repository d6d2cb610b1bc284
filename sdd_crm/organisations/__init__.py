from flask import Blueprint

bp = Blueprint("organisations", __name__, url_prefix="/organisations")

from . import views  # noqa: E402,F401
