"""The dashboard after login: what needs me today (issue 3, point 6)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, render_template
from flask_login import current_user, login_required

from ..accounts.queries import accounts_needing_attention, attention_cutoff
from ..i18n import local_today
from ..extensions import db
from ..interactions.visibility import can_see_interactions
from . import bp
from .queries import critical_by_municipality, leads_waiting_for_me, my_open_tasks, my_recent_interactions


@bp.route("/")
@login_required
def dashboard():
    if not can_see_interactions(current_user):
        # Viewers (board members, analysts) have no tasks, contacts or leads: an overview instead.
        return render_template("main/dashboard.html", personal=False,
                               critical=critical_by_municipality())
    cutoff = attention_cutoff()
    return render_template(
        "main/dashboard.html", personal=True, today=local_today(),
        tasks=my_open_tasks(current_user),
        interactions=my_recent_interactions(current_user),
        leads=leads_waiting_for_me(current_user),
        accounts=accounts_needing_attention(current_user.id, cutoff),
        months=int(current_app.config.get("ATTENTION_MONTHS", 6)),
    )


@bp.route("/healthz")
def healthz():
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}
