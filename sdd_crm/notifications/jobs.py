"""E-mail for notifications, sent by an RQ job (enqueued after the commit that made them).

A Job row of kind ``notification_email`` (a system job: no creator, so only admins see it),
run through the one job lifecycle (:mod:`sdd_crm.jobs`) as a *resumable* job: a sent e-mail
cannot be rolled back, so one transaction for the batch would send messages twice after a
failure halfway. Each message is claimed (its notification's ``emailed_at`` set), sent, and the
claim committed by the lifecycle's ``checkpoint()`` before the next one; a refused message rolls
back only its own claim, the row is marked ``failed`` and RQ retries it; the rerun skips the
claimed notifications. Safe to run twice: a finished job is not run again, and a second job for
the same notifications finds them claimed.
"""

from __future__ import annotations

from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from .. import mail
from ..auth.models import User
from ..db import utcnow
from ..extensions import db, rq
from ..jobs import lifecycle
from ..jobs.models import Job
from .models import Notification

JOB_KIND = "notification_email"
DEFAULT_TIMEOUT = 600  # seconds


def create_email_job(notification_ids: list[int]) -> Job:
    """A queued system Job row (no creator) that e-mails ``notification_ids`` once the current
    transaction commits (enqueued then; nothing on rollback)."""
    from rq import Retry

    job = lifecycle.new_job(JOB_KIND, params={"notification_ids": list(notification_ids)})
    options = {}
    if rq.queue.is_async:  # no interval: that would need a worker started --with-scheduler
        options["retry"] = Retry(max=2)
    timeout = int(current_app.config.get("NOTIFICATION_JOB_TIMEOUT", DEFAULT_TIMEOUT))
    lifecycle.enqueue(send_notification_emails, job.id, timeout=timeout, **options)
    return job


def _smtp():
    return mail.smtp()


@rq.job
def send_notification_emails(job_id: str) -> dict | None:
    """The RQ job: e-mail the notifications of Job ``job_id``; ``{"sent": n}``."""
    return lifecycle.run(
        job_id, _send, kinds=JOB_KIND, running=_("Bezig met het versturen van e-mail"),
        resumable=True,
        failure=lambda exc: _("Het versturen van e-mail is mislukt (%(error)s); de verstuurde "
                              "berichten blijven verstuurd, de rest volgt bij een nieuwe poging.",
                              error=type(exc).__name__))


def _send(job: Job, progress, checkpoint) -> lifecycle.Finished:
    """Claim → send → checkpoint, for each notification not yet e-mailed."""
    rows = db.session.execute(
        sa.select(Notification.id, User.email, User.name, User.locale, Notification.title,
                  Notification.link)
        .join(User, Notification.user_id == User.id)
        .where(Notification.id.in_((job.params or {}).get("notification_ids") or []),
               Notification.emailed_at.is_(None), User.active.is_(True),
               User.notify_email.is_(True))  # the receiver may have switched e-mail off since
        .order_by(Notification.id)
    ).all()
    sent = 0
    if rows:
        sender = current_app.config.get("MAIL_FROM", "sdd-crm@localhost")
        base = current_app.config.get("BASE_URL", "").rstrip("/")
        with _smtp() as server:
            for done, (notification_id, email, name, locale, title, link) in enumerate(rows):
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
                checkpoint()  # the claim of a sent message is stored before the next one
                progress(100 * (done + 1) // len(rows),
                         _("%(done)s van %(total)s e-mails verwerkt", done=done + 1,
                           total=len(rows)))
    current_app.logger.info("Sent %s notification e-mail(s)", sent)
    return lifecycle.Finished({"sent": sent}, _("Klaar: %(n)s e-mail(s) verstuurd.", n=sent))


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
