"""Notifications: an in-app list with an unread count, and e-mail through SMTP when configured."""

from __future__ import annotations

from contextlib import nullcontext

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel.speaklater import LazyString

from ..db import utcnow
from ..extensions import db
from .models import Notification
from .preferences import Channels, channels_for


def notify(user_ids, kind: str, title, *, link: str | None = None, lead_id: int | None = None,
           task_id: int | None = None) -> list[Notification]:
    """Notify each user once; e-mails go out by a ``notification_email`` job after the commit.

    ``title`` may be a ``lazy_gettext`` string: it is then written in each receiver's own
    language (the list and the e-mail read in the receiver's locale, not the sender's).
    """
    ids = list(dict.fromkeys(u for u in user_ids if u))
    if not ids:
        return []
    # Each receiver's preferences and language in one query (sdd_crm/notifications/preferences.py).
    wants = channels_for(ids)
    lazy = isinstance(title, LazyString)
    rows, emailed = [], []
    for uid in ids:
        channels = wants.get(uid) or Channels("nl")
        if not channels.stored:
            continue  # every channel switched off: nothing to tell
        with force_locale(channels.locale) if lazy else nullcontext():
            text = str(title)[:300]
        row = Notification(user_id=uid, kind=kind, title=text, link=link,
                           lead_id=lead_id, task_id=task_id,
                           read_at=None if channels.in_app else utcnow())
        rows.append(row)
        if channels.email:
            emailed.append(row)
    db.session.add_all(rows)
    db.session.flush()
    if emailed and current_app.config.get("MAIL_SERVER"):
        from .jobs import create_email_job

        create_email_job([n.id for n in emailed])
    return rows


def unread_count(user) -> int:
    """Bounded: the badge shows 99+ at most, so never look at more than 100 rows. The ids are
    counted here rather than with COUNT(*): the query runs on every page, and list pages are
    kept free of COUNT (FACTS: it cut throughput to a third); ix_notification_user_unread
    finds the rows."""
    ids = db.session.scalars(unread_ids(user).limit(100))
    return len(ids.all())


def unread_ids(user) -> sa.Select:
    """Ids of the user's unread notifications (the header badge: ix_notification_user_unread)."""
    return sa.select(Notification.id).where(Notification.user_id == user.id,
                                            Notification.read_at.is_(None))


def user_notifications(user) -> sa.Select:
    return (sa.select(Notification).where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc()))


def mark_read(user, notification_id: int | None = None) -> int:
    """Mark one (or, without an id, all) of the user's notifications as read."""
    stmt = sa.update(Notification).where(Notification.user_id == user.id,
                                         Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    return db.session.execute(stmt.values(read_at=utcnow())).rowcount
