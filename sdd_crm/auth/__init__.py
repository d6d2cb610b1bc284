from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import views  # noqa: E402,F401
from . import account_views  # noqa: E402,F401
from . import reset_views  # noqa: E402,F401
from . import twofactor_views  # noqa: E402,F401
