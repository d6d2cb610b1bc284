"""Overdue-task reminders (issue 13, scheduled work): every morning each active user with open
tasks past their due date gets one notification — "U heeft 3 verlopen taken" — linking to the
*Verlopen* tab of *Mijn taken* (and by e-mail when mail is configured, as every notification).

A job like every other (:mod:`sdd_crm.jobs.lifecycle`), started by the schedule
(:mod:`sdd_crm.jobs.schedule`, entry ``task_reminders``). It is idempotent per day: a user who
already has today's reminder gets none again, so a rerun (an RQ retry, a second scheduler)
changes nothing more. "Today" and "overdue" are the region's calendar day, as on the tasks page.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_ngettext, ngettext

from ..auth.models import User
from ..extensions import db, rq
from ..interactions.models import Task, TaskStatus
from ..i18n import local_today
from ..jobs import lifecycle
from ..jobs.models import Job
from ..notifications.models import Notification
from ..notifications.services import notify

JOB_KIND = "task_reminders"
KIND = "task_overdue"  # the notification's kind
LINK = "/tasks/?tab=overdue"  # "Mijn taken", tab "Verlopen" (a job has no request to build it)
TIMEOUT = 900


def start_scheduled_reminders() -> Job:
    """The schedule's start function: queue today's reminders."""
    job = lifecycle.new_job(JOB_KIND, params={"trigger": "schedule"})
    lifecycle.enqueue(send_task_reminders, job.id, timeout=TIMEOUT)
    return job


def overdue_counts(today: dt.date) -> dict[int, int]:
    """Active user id → number of their open, live tasks due before ``today``."""
    return dict(db.session.execute(
        sa.select(Task.assignee_id, sa.func.count())
        .join(User, User.id == Task.assignee_id)
        .where(Task.status == TaskStatus.OPEN, Task.deleted_at.is_(None),
               Task.due_date < today, User.active.is_(True))
        .group_by(Task.assignee_id)).all())


def start_of_day(day: dt.date) -> dt.datetime:
    """Midnight of ``day`` in the region's time zone, as a UTC moment."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Amsterdam")
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone).astimezone(dt.UTC)


def remind(today: dt.date, since: dt.datetime) -> int:
    """Notify each user with overdue tasks who has had no reminder since ``since`` (the start
    of today); returns how many were notified. The caller commits."""
    counts = overdue_counts(today)
    if not counts:
        return 0
    reminded = set(db.session.scalars(
        sa.select(Notification.user_id).where(Notification.kind == KIND,
                                              Notification.created_at >= since,
                                              Notification.user_id.in_(list(counts)))))
    by_count: dict[int, list[int]] = {}
    for user_id, n in counts.items():
        if user_id not in reminded:
            by_count.setdefault(n, []).append(user_id)
    for n, user_ids in by_count.items():  # one notify() (and one e-mail job) per wording
        # Written in each receiver's own language (a lazy string, see notify()).
        notify(user_ids, KIND, lazy_ngettext("U heeft %(num)s verlopen taak",
                                             "U heeft %(num)s verlopen taken", n), link=LINK)
    return sum(len(ids) for ids in by_count.values())


@rq.job
def send_task_reminders(job_id: str) -> dict | None:
    """The RQ job: today's overdue-task reminders."""

    def body(job, progress):
        today = local_today()
        since = start_of_day(today)
        notified = remind(today, since)
        return lifecycle.Finished({"notified": notified},
                                  ngettext("%(num)s herinnering aan verlopen taken verstuurd.",
                                           "%(num)s herinneringen aan verlopen taken verstuurd.",
                                           notified))

    return lifecycle.run(job_id, body, kinds=JOB_KIND, running=_("Herinneringen versturen"),
                         failure=lambda exc: _("Het versturen van herinneringen is mislukt "
                                               "(%(error)s).", error=type(exc).__name__))
