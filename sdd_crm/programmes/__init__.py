from flask import Blueprint

bp = Blueprint("programmes", __name__, url_prefix="/programmes")

# admin_views adds the programme screens to the admin blueprint (admins only).
from . import admin_views, export_views, progress_views, receivers, views  # noqa: E402,F401

from . import tally  # noqa: E402

tally.register()  # the kept counts follow every change to what they count (programmes/tally.py)
