"""E-mail for notifications, sent by an RQ worker."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from ..auth.models import User
from ..db import utcnow
from ..extensions import db, rq
from .models import Notification


def _smtp():
    cfg = current_app.config
    cls = smtplib.SMTP_SSL if cfg.get("MAIL_USE_SSL") else smtplib.SMTP
    server = cls(cfg["MAIL_SERVER"], int(cfg.get("MAIL_PORT", 25)), timeout=30)
    if cfg.get("MAIL_USE_TLS"):
        server.starttls()
    if cfg.get("MAIL_USERNAME"):
        server.login(cfg["MAIL_USERNAME"], cfg.get("MAIL_PASSWORD", ""))
    return server


@rq.job
def send_notification_emails(notification_ids: list[int]) -> int:
    """Send each not-yet-e-mailed notification; safe to run twice (emailed_at marks sent ones)."""
    rows = db.session.execute(
        sa.select(Notification, User).join(User, Notification.user_id == User.id)
        .where(Notification.id.in_(notification_ids), Notification.emailed_at.is_(None),
               User.active.is_(True))
    ).all()
    if not rows:
        return 0
    sender = current_app.config.get("MAIL_FROM", "sdd-crm@localhost")
    base = current_app.config.get("BASE_URL", "").rstrip("/")
    sent = 0
    with _smtp() as server:
        for notification, user in rows:
            with force_locale(user.locale or "nl"):
                msg = EmailMessage()
                msg["Subject"] = "SDD CRM: " + notification.title
                msg["From"] = sender
                msg["To"] = user.email
                link = base + (notification.link or "") if base else ""
                msg.set_content("\n\n".join(p for p in (
                    _("Beste %(name)s,", name=user.name),
                    notification.title,
                    link,
                    _("U ontvangt dit bericht omdat u SDD CRM gebruikt."),
                ) if p))
            server.send_message(msg)
            notification.emailed_at = utcnow()
            db.session.commit()  # per message: a crash half-way never sends one twice
            sent += 1
    return sent
