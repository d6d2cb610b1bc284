from flask import Blueprint

bp = Blueprint("organisations", __name__, url_prefix="/organisations")
# Duplicate search, comparison and merge kept the addresses they had under imports.
duplicates_bp = Blueprint("duplicates", __name__, url_prefix="/imports/duplicates")

from . import duplicate_views, join_request_views, views  # noqa: E402,F401
