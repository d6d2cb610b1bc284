"""The daily digest: one e-mail a day listing the day's notifications, for each active user who
chose it on the account page (``notify_digest``, :mod:`sdd_crm.notifications.preferences`).

Started every morning by the schedule (:mod:`sdd_crm.jobs.schedule`, entry
``notification_digest``), as the overdue-task reminders are. Each run covers the previous
calendar day of the region (so every notification of that day is in it, whenever the run
starts) and lists all of that day's notifications, read or not. Only when mail is configured.

Idempotent per day, like the notification e-mail job it follows: a resumable job that *claims*
the day for a user (``digest_sent_on`` set by a compare-and-set update), sends, and commits the
claim before the next user. A rerun (an RQ retry, a second scheduler) finds the day claimed and
sends nothing twice; a user without notifications that day gets no e-mail.
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from .. import mail
from ..auth.models import User
from ..extensions import db, rq
from ..i18n import format_day, local_day_start, local_today
from ..jobs import lifecycle
from ..jobs.models import Job
from .models import Notification

JOB_KIND = "notification_digest"
TIMEOUT = 900
ACCOUNT_PATH = "/account"
MAX_LISTED = 100  # a day with more still gets one e-mail; the rest is in the app


def start_scheduled_digest() -> Job:
    """The schedule's start function: queue the digest of yesterday."""
    job = lifecycle.new_job(JOB_KIND, params={"trigger": "schedule"})
    lifecycle.enqueue(send_daily_digests, job.id, timeout=TIMEOUT)
    return job


def digest_day(today: dt.date | None = None) -> dt.date:
    """The day a run covers: the region's yesterday."""
    return (today or local_today()) - dt.timedelta(days=1)


def due(day: dt.date) -> dict[int, list[tuple[str, str | None, dt.datetime]]]:
    """User id → their notifications of ``day`` (title, link, when), oldest first, for each
    active user who wants the digest and has not had the one for ``day``. One query."""
    rows = db.session.execute(
        sa.select(Notification.user_id, Notification.title, Notification.link,
                  Notification.created_at)
        .join(User, User.id == Notification.user_id)
        .where(User.active.is_(True), User.notify_digest.is_(True),
               sa.or_(User.digest_sent_on.is_(None), User.digest_sent_on < day),
               Notification.created_at >= local_day_start(day),
               Notification.created_at < local_day_start(day + dt.timedelta(days=1)))
        .order_by(Notification.user_id, Notification.created_at, Notification.id))
    found: dict[int, list] = {}
    for user_id, title, link, at in rows:
        found.setdefault(user_id, []).append((title, link, at))
    return found


def claim(user_id: int, day: dt.date) -> bool:
    """Take ``day``'s digest of ``user_id`` for this run: False when it was sent already."""
    return db.session.execute(
        sa.update(User)
        .where(User.id == user_id,
               sa.or_(User.digest_sent_on.is_(None), User.digest_sent_on < day))
        .values(digest_sent_on=day)
        .execution_options(synchronize_session=False)).rowcount == 1


def send_digests(day: dt.date, checkpoint=lambda: None, progress=lambda *a: None) -> int:
    """Send ``day``'s digests; returns how many e-mails went out. Each claim is committed by
    ``checkpoint()`` right after its e-mail (in a job); the caller commits the last."""
    if not mail.is_configured():
        return 0
    wanted = due(day)
    if not wanted:
        return 0
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(wanted)))}
    sent = 0
    with mail.smtp() as server:
        for done, (user_id, items) in enumerate(wanted.items()):
            user = users[user_id]
            if claim(user_id, day):
                server.send_message(message(user.email, user.name, user.locale, day, items))
                sent += 1
            checkpoint()
            progress(100 * (done + 1) // len(wanted),
                     _("%(done)s van %(total)s overzichten verwerkt", done=done + 1,
                       total=len(wanted)))
    return sent


def message(to: str, name: str, locale: str | None, day: dt.date, items) -> EmailMessage:
    """The digest e-mail, in the receiver's language."""
    with force_locale(locale or "nl"):
        when = format_day(day)
        msg = EmailMessage()
        msg["Subject"] = "SDD CRM: " + _("uw meldingen van %(day)s", day=when)
        msg["From"] = mail.sender()
        msg["To"] = to
        lines = [_("Beste %(name)s,", name=name), "",
                 ngettext("Op %(day)s kreeg u %(num)d melding:",
                          "Op %(day)s kreeg u %(num)d meldingen:", len(items), day=when), ""]
        for title, link, _at in items[:MAX_LISTED]:
            url = mail.link(link) if link else ""
            # One line per notification, whatever was typed in a title.
            lines.append("- " + " ".join(str(title).split()))
            if url:
                lines.append("  " + url)
        if len(items) > MAX_LISTED:
            lines.append(_("… en nog %(n)s in de app.", n=len(items) - MAX_LISTED))
        account = mail.link(ACCOUNT_PATH)
        lines += ["", _("U ontvangt dit dagelijkse overzicht omdat u het hebt aangezet. U kunt "
                        "het uitzetten op uw accountpagina.")]
        if account:
            lines.append(account)
        msg.set_content("\n".join(lines))
    return msg


@rq.job
def send_daily_digests(job_id: str) -> dict | None:
    """The RQ job: yesterday's digests; ``{"sent": n, "day": "YYYY-MM-DD"}``."""

    def body(job, progress, checkpoint):
        day = digest_day()
        sent = send_digests(day, checkpoint, progress)
        current_app.logger.info("Sent %s daily digest(s) for %s", sent, day)
        return lifecycle.Finished(
            {"sent": sent, "day": day.isoformat()},
            ngettext("%(num)s dagelijks overzicht verstuurd.",
                     "%(num)s dagelijkse overzichten verstuurd.", sent))

    return lifecycle.run(
        job_id, body, kinds=JOB_KIND, running=_("Dagelijkse overzichten versturen"),
        resumable=True,
        failure=lambda exc: _("Het versturen van de dagelijkse overzichten is mislukt "
                              "(%(error)s); wat verstuurd is, blijft verstuurd.",
                              error=type(exc).__name__))
