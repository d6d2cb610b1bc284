"""Notifications: an in-app list with an unread count, and e-mail through SMTP when configured."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from ..db import utcnow
from ..extensions import db
from ..jobs.queue import enqueue_after_commit
from .models import Notification


def notify(user_ids, kind: str, title: str, *, link: str | None = None, lead_id: int | None = None,
           task_id: int | None = None) -> list[Notification]:
    """Notify each user once; e-mails go out by an RQ job after the commit."""
    rows = [Notification(user_id=uid, kind=kind, title=str(title)[:300], link=link,
                         lead_id=lead_id, task_id=task_id)
            for uid in dict.fromkeys(u for u in user_ids if u)]
    if not rows:
        return []
    db.session.add_all(rows)
    db.session.flush()
    if current_app.config.get("MAIL_SERVER"):
        from .jobs import send_notification_emails

        enqueue_after_commit(send_notification_emails, [n.id for n in rows])
    return rows


def unread_count(user) -> int:
    """Bounded: the badge shows 99+ at most, so never count more than 100 rows."""
    sub = (sa.select(Notification.id)
           .where(Notification.user_id == user.id, Notification.read_at.is_(None)).limit(100)
           .subquery())
    return db.session.scalar(sa.select(sa.func.count()).select_from(sub)) or 0


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
