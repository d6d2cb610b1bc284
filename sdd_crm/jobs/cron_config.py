"""The configuration of RQ's own cron scheduler for the periodic work of :mod:`.schedule`.

With Redis (``JOBS = "redis"``), run one scheduler process next to the workers::

    rq cron sdd_crm.jobs.cron_config --url "$REDIS_URL"
    flask --app wsgi rq worker          # (any number) runs what it enqueues, in the app context

Each entry is registered with RQ as the job :func:`.schedule.run_scheduled` with the entry's
name: at the entry's cron times (UTC), and every minute for an interval entry. The job runs on a
``flask rq worker`` — so in an application context — and starts the entry's work only when
``schedule_run`` says it is due: a restarted scheduler (RQ keeps its next times in memory only)
neither runs anything early nor twice.
"""

from __future__ import annotations

from rq import cron

from .schedule import TICK_SECONDS, entries, run_scheduled

QUEUE = "default"  # RQ_QUEUES' first queue, worked by `flask rq worker`


def timing(entry) -> dict:
    """RQ's ``cron=`` or ``interval=`` for an entry."""
    return {"cron": entry.cron} if entry.cron else {"interval": TICK_SECONDS}


for _entry in entries():
    cron.register(run_scheduled, QUEUE, args=(_entry.name,), name=f"sdd_crm:{_entry.name}",
                  job_timeout=300, **timing(_entry))
