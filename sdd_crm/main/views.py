"""The dashboard after login: what needs me today (issue 3, point 6)."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_login import current_user, login_required

from .. import health
from ..accounts.queries import accounts_needing_attention, attention_cutoff
from ..i18n import local_today
from ..interactions.visibility import can_see_interactions
from ..jobs.views import kind_info
from . import bp
from .queries import (
    FAILED_JOBS_DAYS,
    admin_work,
    critical_by_municipality,
    leads_waiting_for_me,
    my_open_tasks,
    my_recent_interactions,
)


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
        # The admin's start page begins with the admin work; the other roles skip the queries.
        admin=admin_work() if current_user.is_admin else None, kind_info=kind_info,
        failed_days=FAILED_JOBS_DAYS,
        tasks=my_open_tasks(current_user),
        interactions=my_recent_interactions(current_user),
        leads=leads_waiting_for_me(current_user),
        accounts=accounts_needing_attention(current_user.id, cutoff),
        months=int(current_app.config.get("ATTENTION_MONTHS", 6)),
    )


@bp.route("/healthz")
def healthz():
    """No login, no business data: the state of the database, Redis, the queue, the workers and
    the scheduler; 503 when something the configuration needs is down (sdd_crm/health.py).
    ``?scope=web``: only what this web process needs (for a load balancer)."""
    body, status = health.report(current_app, scope=request.args.get("scope"))
    return body, status
