"""The scheduled retention review (GDPR art. 5(1)(e)): a job that counts the contacts due for
anonymisation and tells the admins, who confirm on /admin/retention. It erases nothing itself:
a person decides (the list may hold someone the organisation still works with).

Scheduled through the periodic registry (``sdd_crm/jobs/schedule.py``, entry
``gdpr_retention``), daily.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..auth.models import Role, User
from ..extensions import db, rq
from ..jobs import lifecycle
from ..jobs.models import Job
from ..notifications.models import Notification
from ..notifications.services import notify
from .retention import count_due, retention_months

JOB_KIND = "gdpr_retention"
NOTIFY_KIND = "retention_due"
REVIEW_PATH = "/admin/retention"
DEFAULT_TIMEOUT = 1800


def start_scheduled_retention() -> Job:
    """The scheduler's start function: a queued system job (no creator: admins see it)."""
    return create_retention_job(trigger="schedule")


def create_retention_job(*, trigger: str = "manual", actor=None) -> Job:
    job = lifecycle.new_job(JOB_KIND, actor=actor, params={"trigger": trigger})
    timeout = int(current_app.config.get("RETENTION_JOB_TIMEOUT", DEFAULT_TIMEOUT))
    lifecycle.enqueue(retention_task, job.id, timeout=timeout)
    return job


@rq.job
def retention_task(job_id: str) -> dict | None:
    """The RQ job: count the contacts due and notify the admins."""
    return run_retention_job(job_id)


def run_retention_job(job_id: str) -> dict | None:
    return lifecycle.run(
        job_id, _review, kinds=JOB_KIND, running=_("Bezig met de bewaartermijncontrole"),
        failure=lambda exc: _("De bewaartermijncontrole is mislukt (%(error)s).",
                              error=type(exc).__name__))


def _review(job: Job, progress) -> lifecycle.Finished:
    months = retention_months()
    due = count_due(months)
    notified = 0
    if due:
        admins = db.session.scalars(sa.select(User.id).where(
            User.role == Role.ADMIN, User.active.is_(True))).all()
        # One unread reminder per admin is enough: a new one only once the last was read.
        waiting = set(db.session.scalars(sa.select(Notification.user_id).where(
            Notification.kind == NOTIFY_KIND, Notification.read_at.is_(None))))
        receivers = [uid for uid in admins if uid not in waiting]
        notified = len(notify(
            receivers, NOTIFY_KIND,
            _l("%(n)s contactpersonen zonder activiteit in %(months)s maanden wachten op uw "
               "besluit over anonimisering", n=due, months=months),
            link=REVIEW_PATH))
    return lifecycle.Finished(
        {"due": due, "months": months, "notified": notified},
        _("%(n)s contactpersonen zonder activiteit in %(months)s maanden; beheerders zien ze op "
          "de pagina Bewaartermijn.", n=due, months=months))
