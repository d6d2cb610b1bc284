"""Screens for notifications (being built)."""

from flask import render_template
from flask_login import login_required

from . import bp


@bp.route("/")
@login_required
def index():
    return render_template("errors/error.html", status=404, message=""), 404
