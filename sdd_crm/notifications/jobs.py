"""E-mail for notifications, sent by an RQ job (enqueued after the commit that made them).

The one job kind without a Job row: its state is each notification's ``emailed_at`` (set when
sent), not something a user follows on a job page. It goes through the same queue and workers
as the tracked jobs (:mod:`sdd_crm.jobs`).
"""

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
from ..transaction import unit_of_work
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
    """Send each not-yet-e-mailed notification; safe to run twice (emailed_at marks sent ones).

    Each message is a unit of work of its own: the row is claimed (``emailed_at`` set), the
    message sent, and the claim committed; a refused message rolls its claim back and is left
    for the next run. A sent e-mail cannot be rolled back, so one transaction for the batch
    would send messages twice after a failure halfway.
    """
    with unit_of_work():  # a short read; the commit ends it before the SMTP connection opens
        rows = db.session.execute(
            sa.select(Notification.id, User.email, User.name, User.locale, Notification.title,
                      Notification.link)
            .join(User, Notification.user_id == User.id)
            .where(Notification.id.in_(notification_ids), Notification.emailed_at.is_(None),
                   User.active.is_(True))
            .order_by(Notification.id)
        ).all()
    if not rows:
        return 0
    sender = current_app.config.get("MAIL_FROM", "sdd-crm@localhost")
    base = current_app.config.get("BASE_URL", "").rstrip("/")
    sent = 0
    with _smtp() as server:
        for notification_id, email, name, locale, title, link in rows:
            with unit_of_work():
                # Claim the row before sending: a second run of the job (or a second worker)
                # finds emailed_at set, or waits for this transaction, and sends nothing twice.
                claimed = db.session.execute(
                    sa.update(Notification)
                    .where(Notification.id == notification_id, Notification.emailed_at.is_(None))
                    .values(emailed_at=utcnow())
                ).rowcount
                if claimed:
                    server.send_message(_message(sender, email, name, locale, title,
                                                 base + (link or "") if base else ""))
                    sent += 1
    current_app.logger.info("Sent %s notification e-mail(s)", sent)
    return sent


def _message(sender: str, to: str, name: str, locale: str | None, title: str,
             url: str) -> EmailMessage:
    with force_locale(locale or "nl"):
        msg = EmailMessage()
        # One line, whatever a user typed: a newline in a header would abort the whole batch.
        msg["Subject"] = "SDD CRM: " + " ".join(str(title).split())
        msg["From"] = sender
        msg["To"] = to
        msg.set_content("\n\n".join(p for p in (
            _("Beste %(name)s,", name=name),
            title,
            url,
            _("U ontvangt dit bericht omdat u SDD CRM gebruikt."),
        ) if p))
    return msg
