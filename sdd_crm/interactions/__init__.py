from flask import Blueprint

bp = Blueprint("interactions", __name__, url_prefix="/interactions")

from . import views  # noqa: E402,F401
