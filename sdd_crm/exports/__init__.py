"""List exports (organisations, contacts, contact moments, participations) to CSV and XLSX."""

from flask import Blueprint

# The exports kept the addresses they had under imports.
bp = Blueprint("exports", __name__, url_prefix="/imports/export")

from . import views  # noqa: E402,F401
