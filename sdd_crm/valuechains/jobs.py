"""The criticality recompute as a background job, through the one job lifecycle
(:mod:`sdd_crm.jobs`): a Job row committed before the RQ job is enqueued, progress per phase,
the results stored and the row marked finished in one transaction, a rerun that changes
nothing, a failure marked ``failed`` with a Dutch message.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..extensions import rq
from ..jobs import lifecycle
from ..jobs.models import Job

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
    return lifecycle.new_job(JOB_KIND, actor=actor,
                             params={"trigger": trigger, "reason": reason[:200]})


def enqueue_job(job: Job, *, delay=None) -> None:
    """Enqueue ``job`` on RQ once the current transaction commits (dropped on rollback); with a
    ``delay`` (a timedelta) a dispatcher round hands it over once that has passed."""
    timeout = int(current_app.config.get("CRITICALITY_JOB_TIMEOUT", DEFAULT_TIMEOUT))
    lifecycle.enqueue(recompute_criticality, job.id, timeout=timeout,
                      **({"delay": delay} if delay else {}))


@rq.job
def recompute_criticality(job_id: str) -> dict | None:
    """The RQ job: run the recompute for the Job row ``job_id``."""
    return run_job(job_id)


def run_job(job_id: str, *, echo=None) -> dict | None:
    """Run the recompute of Job ``job_id``; ``echo(phase, percent)`` also sees the progress."""

    def body(job: Job, progress) -> lifecycle.Finished:
        from .criticality_store import run_assessment

        def report(phase: str, percent: int) -> None:
            if echo:
                echo(phase, percent)
            progress(percent, str(PHASE_LABELS[phase]))

        summary = run_assessment(job_id=job.id, progress=report)
        return lifecycle.Finished(summary, _(
            "Klaar: %(n)s kritische organisaties, %(new)s nieuwe beoordelingen.",
            n=summary["critical"], new=summary["new_assessments"]))

    return lifecycle.run(
        job_id, body, kinds=JOB_KIND, running=str(PHASE_LABELS["loading"]),
        failure=lambda exc: _("De herberekening is mislukt (%(error)s). Probeer het later opnieuw "
                              "of vraag de beheerder het logboek te bekijken.",
                              error=type(exc).__name__))


def start_scheduled_recompute() -> Job:
    """The schedule's start function (:mod:`sdd_crm.jobs.schedule`): the nightly recompute,
    so criticality is current even when no change asked for one."""
    job = create_job(trigger="schedule", reason="nachtelijke herberekening")
    enqueue_job(job)
    return job
