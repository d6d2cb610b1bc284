"""The in-app notification list, marking read, and the unread badge in every page's header."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..exceptions import hidden
from ..extensions import db
from ..jobs.views import register_kind
from ..leads.models import Lead, LeadStatus
from ..leads.queries import may_use_leads
from ..leads.visibility import lead_receivers_condition
from ..organisations.models import Organisation
from ..pagination import paginate, request_page
from ..transaction import has_work
from . import bp
from .digest import JOB_KIND as DIGEST_JOB_KIND
from .jobs import JOB_KIND
from .models import Notification
from .services import mark_read, unread_count, unread_ids, user_notifications

register_kind(JOB_KIND, title=_l("E-mail van meldingen"))
register_kind(DIGEST_JOB_KIND, title=_l("Dagelijks overzicht van meldingen"))


BADGE_LIMIT = 100  # a badge shows 99+ at most: never count further
_COUNTS_KEY = "sdd_crm.header_counts"


def _bounded(stmt: sa.Select) -> sa.ScalarSelect:
    return sa.select(sa.func.count()).select_from(stmt.limit(BADGE_LIMIT).subquery()) \
        .scalar_subquery()


def waiting_leads(user) -> sa.Select:
    """Ids of the leads waiting for ``user`` (issue 14 point 10): still ``new``, on ``user``'s
    receiving side (shared with them, their municipality or the regional team), not their own
    — the ones they are to move on (DESIGN 4.4) — about a live organisation. The partial index
    ``ix_lead_new`` holds just the new ones."""
    return sa.select(Lead.id).where(
        Lead.status == LeadStatus.NEW, Lead.deleted_at.is_(None), lead_receivers_condition(user),
        Lead.author_id != user.id,
        Lead.organisation_id.in_(sa.select(Organisation.id).where(
            Organisation.deleted_at.is_(None))))


def header_counts(user) -> tuple[int, int]:
    """``(unread notifications, leads waiting)`` for the header of every page, in one bounded
    statement (the unread ones through ``ix_notification_user_unread``)."""
    unread = unread_ids(user)
    if not may_use_leads(user):
        return unread_count(user), 0
    row = db.session.execute(sa.select(_bounded(unread), _bounded(waiting_leads(user)))).one()
    return int(row[0]), int(row[1])


@bp.app_context_processor
def _unread_badge():
    """``unread_notifications()`` and ``leads_waiting()`` for base.html: one bounded statement
    for both, read once per request, and only when a page of a signed-in user asks for it."""

    def counts() -> tuple[int, int]:
        if not current_user.is_authenticated:
            return 0, 0
        # Kept with the request (not ``g``, which an app context may share between requests).
        if _COUNTS_KEY not in request.environ:
            try:
                request.environ[_COUNTS_KEY] = header_counts(current_user)
            except sa.exc.SQLAlchemyError:
                if has_work():
                    raise  # the request's writes may not be committed after a failed statement
                return 0, 0  # an error page must still render when the database fails
        return request.environ[_COUNTS_KEY]

    return {"unread_notifications": lambda: counts()[0], "leads_waiting": lambda: counts()[1]}


def _page_number() -> int:
    return request_page()


def safe_local_link(link: str | None) -> str | None:
    """Only a path on this site ("/leads/5"): never another host, a scheme or a
    protocol-relative URL."""
    if not link or not link.startswith("/") or link.startswith("//") or "\\" in link:
        return None
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in link):
        return None
    return link


@bp.route("/")
@login_required
def index():
    """My notifications, newest first; unread ones marked."""
    page = paginate(user_notifications(current_user), _page_number(),
                    current_app.config["PAGE_SIZE"])
    return render_template("notifications/index.html", page=page,
                           page_url=lambda n: url_for("notifications.index", page=n))


def _own_notification(notification_id: int) -> Notification:
    notification = db.session.get(Notification, notification_id)
    if notification is None:
        abort(404)
    if notification.user_id != current_user.id:
        raise hidden(notification)  # someone else's: answered as a missing one, audited
    return notification


def target_of(notification: Notification) -> str | None:
    """Where a notification leads: its own link (a path on this site), else the lead or task
    it is about; None when it is about nothing one can open."""
    target = safe_local_link(notification.link)
    if target:
        return target
    if notification.lead_id:
        return url_for("leads.detail", lead_id=notification.lead_id)
    if notification.task_id:
        return url_for("tasks.detail", task_id=notification.task_id)
    return None


@bp.route("/<int:notification_id>/open", methods=["GET", "POST"])
@login_required
def open_notification(notification_id: int):
    """Mark one notification read and go to what it is about. A plain link (GET) in the list
    (issue 14 point 10), so it opens in a new tab too; marking one's own notification read is
    all it changes. POST still answers for pages loaded before."""
    notification = _own_notification(notification_id)
    mark_read(current_user, notification.id)
    return redirect(target_of(notification) or url_for("notifications.index"))


@bp.route("/<int:notification_id>/read", methods=["POST"])
@login_required
def read(notification_id: int):
    notification = _own_notification(notification_id)
    mark_read(current_user, notification.id)
    flash(_("De melding is als gelezen gemarkeerd."), "success")
    return redirect(url_for("notifications.index"))


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    count = mark_read(current_user)
    flash(_("Alle meldingen zijn als gelezen gemarkeerd.") if count
          else _("Er waren geen ongelezen meldingen."), "success")
    return redirect(url_for("notifications.index"))
