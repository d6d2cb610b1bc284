"""My accounts: the organisations whose account team a user is in, neglected ones first."""

from flask import Blueprint

bp = Blueprint("accounts", __name__, url_prefix="/accounts")

from . import views  # noqa: E402,F401
