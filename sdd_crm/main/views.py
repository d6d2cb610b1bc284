from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from flask_login import login_required

from ..extensions import db
from . import bp


@bp.route("/")
@login_required
def dashboard():
    return render_template("main/dashboard.html")


@bp.route("/healthz")
def healthz():
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}
