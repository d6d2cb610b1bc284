"""The job-file purge as a job of its own (issue 13): uploaded spreadsheets and built exports are
bulk copies of company and personal data, kept ``JOB_FILE_RETENTION_DAYS`` (14) after their job
ended and then deleted (:func:`.files.purge_files`) — every night by the schedule
(:mod:`.schedule`), or at once with ``flask jobs purge``. A job like every other: its row shows
when it ran and how many files went; a rerun deletes nothing more."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from ..db import utcnow
from ..extensions import rq
from . import lifecycle
from .files import purge_files
from .models import Job

JOB_KIND = "job_file_purge"
DEFAULT_DAYS = 14
TIMEOUT = 900


def retention_days() -> int:
    return int(current_app.config.get("JOB_FILE_RETENTION_DAYS", DEFAULT_DAYS))


def start_scheduled_file_purge() -> Job:
    """The schedule's start function: queue a purge of the files past their retention."""
    job = lifecycle.new_job(JOB_KIND, params={"days": retention_days(), "trigger": "schedule"})
    lifecycle.enqueue(purge_job_files, job.id, timeout=TIMEOUT)
    return job


@rq.job
def purge_job_files(job_id: str) -> dict | None:
    """The RQ job: delete the files of the jobs that ended more than the row's ``days`` ago."""

    def body(job, progress):
        days = int(job.params.get("days", DEFAULT_DAYS))
        deleted = purge_files(utcnow() - dt.timedelta(days=days))
        return lifecycle.Finished(
            {"deleted": deleted, "days": days},
            ngettext("%(num)s bestand verwijderd van taken die meer dan %(days)s dagen geleden "
                     "klaar waren.",
                     "%(num)s bestanden verwijderd van taken die meer dan %(days)s dagen geleden "
                     "klaar waren.", deleted, days=days))

    return lifecycle.run(job_id, body, kinds=JOB_KIND, running=_("Oude bestanden opruimen"),
                         failure=lambda exc: _("Het opruimen van oude bestanden is mislukt "
                                               "(%(error)s).", error=type(exc).__name__))
