"""The in-app notification list, marking read, and the unread badge in every page's header."""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..exceptions import hidden
from ..extensions import db
from ..jobs.views import register_kind
from ..pagination import paginate, request_page
from ..transaction import has_work
from . import bp
from .jobs import JOB_KIND
from .models import Notification
from .services import mark_read, unread_count, user_notifications

register_kind(JOB_KIND, title=_l("E-mail van meldingen"))


@bp.app_context_processor
def _unread_badge():
    """``unread_notifications()`` for base.html: one bounded query, and only when a page of a
    signed-in user asks for it."""

    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        try:
            return unread_count(current_user)
        except sa.exc.SQLAlchemyError:
            if has_work():
                raise  # the request's writes may not be committed after a failed statement
            return 0  # an error page must still render when the database fails

    return {"unread_notifications": unread_notifications}


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


@bp.route("/<int:notification_id>/open", methods=["POST"])
@login_required
def open_notification(notification_id: int):
    """Mark one notification read and go to what it is about."""
    notification = _own_notification(notification_id)
    target = safe_local_link(notification.link)
    mark_read(current_user, notification.id)
    return redirect(target or url_for("notifications.index"))


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
