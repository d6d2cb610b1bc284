"""/accounts/: the organisations whose account team I am in, neglected ones first.

Regional account managers and admins may look at any colleague's list (``?user_id=``), to
see which accounts of the team go without contact.
"""

from __future__ import annotations

from flask import abort, current_app, render_template, request, url_for
from flask_login import current_user, login_required

from .. import validation as v
from ..auth.models import User
from ..extensions import db
from ..pagination import paginate
from ..organisations import join_requests
from ..permissions import WORKER_ROLES
from . import bp
from .queries import OVERSEER_ROLES, accounts_of, attention_cutoff, needs_attention, team_colleagues


def _page_number() -> int:
    number = v.integer(request.args.get("page"))
    return min(max(number or 1, 1), 100_000)


def _whose() -> User:
    """The signed-in user, or the colleague asked for (regional AMs and admins only)."""
    raw = (request.args.get("user_id") or "").strip()
    if not raw or raw == str(current_user.id):
        return current_user
    if current_user.role not in OVERSEER_ROLES:
        abort(403)
    user_id = v.integer(raw)
    user = db.session.get(User, user_id) if user_id and user_id > 0 else None
    if user is None:
        abort(404)
    return user


@bp.route("/")
@login_required
def mine():
    if current_user.role not in WORKER_ROLES:
        abort(403)  # viewers are in no account team
    whose = _whose()
    cutoff = attention_cutoff()
    page = paginate(accounts_of(whose.id, cutoff), _page_number(), current_app.config["PAGE_SIZE"])
    may_choose = current_user.role in OVERSEER_ROLES
    kept = {"user_id": whose.id} if whose.id != current_user.id else {}

    def page_url(number: int) -> str:
        return url_for("accounts.mine", **kept, page=number)

    return render_template(
        "accounts/index.html", page=page, whose=whose, own=whose.id == current_user.id,
        cutoff=cutoff, months=int(current_app.config.get("ATTENTION_MONTHS", 6)),
        needs_attention=needs_attention, page_url=page_url,
        colleagues=team_colleagues() if may_choose else [],
        join_requests_to_decide=join_requests.requests_to_decide(current_user) if whose.id == current_user.id else [],
        my_join_requests=join_requests.requests_of(current_user) if whose.id == current_user.id else [],
        join_status_label=join_requests.status_label,
    )
