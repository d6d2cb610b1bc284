"""Progress of a running job, visible while the job's own transaction is still open: the one
reporter of every job kind (:func:`sdd_crm.jobs.lifecycle.run` hands it to the job's body).

A job that applies its work in one transaction cannot commit progress to its Job row without
committing half its work. Progress therefore goes to the RQ job's ``meta`` (Redis) and, on
PostgreSQL, to the Job row over a separate connection; the status view reads both.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from flask import current_app
from rq import get_current_job

from ..extensions import db
from .models import Job


class ProgressReporter:
    """``reporter(percent, message)``: at most every ``interval`` seconds, and always at 100."""

    def __init__(self, job_id: str, *, interval: float = 0.5, echo=None):
        self.job_id, self.interval, self.echo = job_id, interval, echo
        self.rq_job = get_current_job()
        self._last = 0.0
        self._separate_row_updates = db.engine.dialect.name != "sqlite"

    def __call__(self, percent: int, message: str | None = None) -> None:
        percent = max(0, min(100, int(percent)))
        if self.echo:
            self.echo(percent, message)
        now = time.monotonic()
        if percent < 100 and now - self._last < self.interval:
            return
        self._last = now
        if self.rq_job is not None:
            self.rq_job.meta.update(progress=percent, message=message)
            self.rq_job.save_meta()
        if self._separate_row_updates:
            try:
                with db.engine.connect() as conn:
                    conn.execute(sa.update(Job).where(Job.id == self.job_id)
                                 .values(progress=percent, message=(message or "")[:500] or None))
                    conn.commit()
            except Exception:  # progress is a courtesy; the job goes on
                current_app.logger.warning("Could not store progress of job %s", self.job_id)


def live_progress(job: Job) -> tuple[int, str | None]:
    """The job's progress: its row, or the RQ meta when that is further along."""
    percent, message = job.progress, job.message
    if job.status != "running":
        return percent, message
    try:
        from rq.job import Job as RqJob

        from ..extensions import rq

        meta = RqJob.fetch(job.id, connection=rq.get_queue().connection).get_meta(refresh=True)
        if int(meta.get("progress", -1)) > percent:
            percent, message = int(meta["progress"]), meta.get("message") or message
    except Exception:  # no such RQ job (ran in-process, or expired): the row is all we have
        pass
    return percent, message
