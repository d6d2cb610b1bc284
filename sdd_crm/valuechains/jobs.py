"""The criticality recompute as a background job (RQ through Flask-RQ), tracked in a Job row.

The Job row is committed before the RQ job is enqueued (``enqueue_after_commit``), and the RQ
job carries the row's id as its own. Progress goes to the row (committed per phase, so
``GET /api/v1/jobs/<id>`` can show it while the job runs) and to ``job.meta``. The results are
written and the row marked finished in one transaction: a crash leaves nothing half-stored,
and a rerun (RQ retry, a second enqueue, a worker restart) computes and stores the same end
state; a row already finished is not run again. A failure marks the row ``failed`` with a
Dutch message.
"""

from __future__ import annotations

import time
import uuid

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from rq import get_current_job

from ..db import utcnow
from ..extensions import db, rq
from ..jobs.models import Job, JobStatus
from ..jobs.queue import enqueue_after_commit

JOB_KIND = "criticality_recompute"
DEFAULT_TIMEOUT = 1800  # seconds; the 100,000-organisation benchmark takes well under a minute
PHASE_LABELS = {
    "loading": _l("Gegevens laden"),
    "graph": _l("Netwerk opbouwen"),
    "factors": _l("Factoren berekenen"),
    "storing": _l("Resultaten opslaan"),
}


def create_job(*, actor=None, trigger: str = "manual", reason: str = "") -> Job:
    """A queued Job row in the current transaction (the caller commits, then it is enqueued)."""
    job = Job(id=str(uuid.uuid4()), kind=JOB_KIND, status=JobStatus.QUEUED, progress=0,
              message=_("In de wachtrij"), params={"trigger": trigger, "reason": reason[:200]},
              created_by_id=getattr(actor, "id", None))
    db.session.add(job)
    db.session.flush()
    return job


def enqueue_job(job: Job) -> None:
    """Enqueue ``job`` on RQ once the current transaction commits (dropped on rollback)."""
    timeout = int(current_app.config.get("CRITICALITY_JOB_TIMEOUT", DEFAULT_TIMEOUT))
    enqueue_after_commit(recompute_criticality, job.id, job_id=job.id, job_timeout=timeout)


@rq.job
def recompute_criticality(job_id: str) -> dict | None:
    """The RQ job: run the recompute for the Job row ``job_id``."""
    return run_job(job_id)


def run_job(job_id: str, *, echo=None) -> dict | None:
    """Run the recompute of Job ``job_id``; ``echo(phase, percent)`` also sees the progress."""
    from .criticality_store import run_assessment

    job = db.session.get(Job, job_id)
    if job is None:
        current_app.logger.warning("Criticality job %s: no such Job row", job_id)
        return None
    if job.status == JobStatus.FINISHED:
        return job.result  # already done: a duplicate or retried run changes nothing
    current_app.logger.info("Criticality job %s started", job_id)
    job.status, job.started_at, job.finished_at = JobStatus.RUNNING, utcnow(), None
    job.progress, job.message = 0, str(PHASE_LABELS["loading"])
    db.session.commit()
    reporter = _Reporter(job, echo)
    try:
        summary = run_assessment(job_id=job_id, progress=reporter)
        job.status, job.progress, job.finished_at = JobStatus.FINISHED, 100, utcnow()
        job.result = summary
        job.message = _("Klaar: %(n)s kritische organisaties, %(new)s nieuwe beoordelingen.",
                        n=summary["critical"], new=summary["new_assessments"])
        db.session.commit()
        reporter.meta(100, "finished")
    except Exception as exc:
        db.session.rollback()
        current_app.logger.exception("Criticality job %s failed", job_id)
        job = db.session.get(Job, job_id)
        job.status, job.finished_at = JobStatus.FAILED, utcnow()
        job.message = _("De herberekening is mislukt (%(error)s). Probeer het later opnieuw of "
                        "vraag de beheerder het logboek te bekijken.", error=type(exc).__name__)[:500]
        db.session.commit()
        reporter.meta(job.progress, "failed")
        raise
    current_app.logger.info("Criticality job %s finished: %s", job_id, summary)
    return summary


class _Reporter:
    """Progress to the Job row (committed only before storing starts, when nothing else is
    pending) and to the RQ job's meta; at most every half second for the row."""

    def __init__(self, job: Job, echo):
        self.job, self.echo = job, echo
        self.rq_job = get_current_job()
        self._last = 0.0

    def __call__(self, phase: str, percent: int) -> None:
        if self.echo:
            self.echo(phase, percent)
        self.meta(percent, phase)
        now = time.monotonic()
        first_of_storing = phase == "storing" and self.job.message != str(PHASE_LABELS["storing"])
        if phase != "storing" and (now - self._last >= 0.5 or percent in (20, 30))\
                or first_of_storing:
            self._last = now
            self.job.progress, self.job.message = percent, str(PHASE_LABELS[phase])
            db.session.commit()

    def meta(self, percent: int, phase: str) -> None:
        if self.rq_job is not None:
            self.rq_job.meta.update(progress=percent, phase=phase)
            self.rq_job.save_meta()
