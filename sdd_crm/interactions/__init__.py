from flask import Blueprint

bp = Blueprint("interactions", __name__, url_prefix="/interactions")

from . import receivers, views  # noqa: E402,F401
