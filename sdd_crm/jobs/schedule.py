"""Periodic work: a small registry of what runs by itself, and when (issue 11; issue 13 builds the
full scheduler on it).

Each entry has a name, a *start function* given by its path (``"package.module:function"``:
the ground floor imports no feature, the path is resolved when the entry is due) and either an
``interval`` (a ``timedelta``) or a ``cron`` expression (five fields, UTC). The start function is
called without arguments inside an application context and an open unit of work; it queues its
work as a job on the one lifecycle (:mod:`sdd_crm.jobs.lifecycle`) and may return the Job.

When an entry is due is decided here, from the table ``schedule_run`` (:class:`ScheduleRun`:
the last start per name), and nowhere else:

* an interval entry is due ``interval`` after its last start; a cron entry once the first fire
  time after its last start has passed; an entry that never ran is due at once;
* a start is *claimed* before it happens (insert, or a compare-and-set update of the last start
  it saw), in the same transaction as the Job row it queues: a restart does not run it again
  early, two processes never start the same slot twice, and a failed start is tried again.

Who asks:

* ``JOBS = "thread"`` (the embedded default): the worker thread of the web process
  (:mod:`sdd_crm.jobs.worker`) calls :func:`run_due` every ``SCHEDULE_TICK_SECONDS`` (60);
* ``JOBS = "redis"``: RQ's own cron scheduler, ``rq cron sdd_crm.jobs.cron_config --url
  "$REDIS_URL"`` (one process next to the ``flask rq worker`` processes), enqueues
  :func:`run_scheduled` for each entry — at the entry's cron times, and every minute for an
  interval entry — and a worker runs it in its application context;
* ``flask jobs schedule`` shows each entry's last start and when it is next due
  (``--run-due`` starts what is due now: for a system cron instead of either).

Tests pass ``now`` (an injected clock) to :func:`is_due`, :func:`next_due` and :func:`run_due`.

To add an entry: one :func:`register` line in the block "Periodic work" at the end of this file.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pkgutil import resolve_name

import sqlalchemy as sa
from croniter import croniter
from sqlalchemy.exc import IntegrityError

from ..db import utcnow
from ..extensions import db
from ..transaction import unit_of_work
from .models import ScheduleRun

log = logging.getLogger(__name__)

TICK_SECONDS = 60  # how often the thread worker and RQ's cron (interval entries) ask


@dataclass(frozen=True)
class Periodic:
    name: str
    function: str  # "package.module:function", called without arguments
    interval: dt.timedelta | None = None
    cron: str | None = None  # "minute hour day-of-month month day-of-week", in UTC
    description: str = ""

    def next_due(self, last_run: dt.datetime) -> dt.datetime:
        """When the entry is due again after a start at ``last_run``."""
        if self.interval is not None:
            return last_run + self.interval
        return croniter(self.cron, last_run.astimezone(dt.UTC)).get_next(dt.datetime)

    def start_function(self):
        return resolve_name(self.function)


_REGISTRY: dict[str, Periodic] = {}


def register(name: str, function: str, *, interval: dt.timedelta | None = None,
             cron: str | None = None, description: str = "") -> Periodic:
    """Add a periodic entry (see the module docstring); exactly one of ``interval`` and ``cron``."""
    if not name or len(name) > 64:
        raise ValueError("a schedule entry needs a name of at most 64 characters")
    if name in _REGISTRY:
        raise ValueError(f"schedule entry {name!r} is registered twice")
    if ":" not in function:
        raise ValueError(f"{name}: give the function as 'package.module:function'")
    if (interval is None) == (cron is None):
        raise ValueError(f"{name}: give either interval or cron")
    if interval is not None and interval < dt.timedelta(minutes=1):
        raise ValueError(f"{name}: an interval of at least a minute")
    if cron is not None and not croniter.is_valid(cron):
        raise ValueError(f"{name}: {cron!r} is not a cron expression")
    entry = Periodic(name, function, interval, cron, description)
    _REGISTRY[name] = entry
    return entry


def entries() -> list[Periodic]:
    return list(_REGISTRY.values())


def get(name: str) -> Periodic | None:
    return _REGISTRY.get(name)


def next_due(entry: Periodic, last_run: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """When ``entry`` is due: at once (``now``) if it never ran."""
    return now if last_run is None else entry.next_due(last_run)


def is_due(entry: Periodic, last_run: dt.datetime | None, now: dt.datetime) -> bool:
    return now >= next_due(entry, last_run, now)


def last_runs() -> dict[str, ScheduleRun]:
    return {r.name: r for r in db.session.scalars(
        sa.select(ScheduleRun).execution_options(populate_existing=True))}


def _claim(entry: Periodic, seen: ScheduleRun | None, now: dt.datetime) -> ScheduleRun | None:
    """Take this start for this process: the row as it now stands, or None when another process
    took it first."""
    table = ScheduleRun.__table__
    if seen is None:
        try:
            with db.session.begin_nested():
                db.session.execute(sa.insert(table).values(name=entry.name, last_run_at=now))
        except IntegrityError:
            return None
        return db.session.get(ScheduleRun, entry.name, populate_existing=True)
    taken = db.session.execute(
        sa.update(table).where(table.c.name == entry.name,
                               table.c.last_run_at == seen.last_run_at)
        .values(last_run_at=now, last_job_id=None)).rowcount
    if taken != 1:
        return None
    return db.session.get(ScheduleRun, entry.name, populate_existing=True)


def _start(entry: Periodic, seen: ScheduleRun | None, now: dt.datetime) -> bool:
    """Claim and start ``entry`` in the current transaction; False when another process has."""
    run = _claim(entry, seen, now)
    if run is None:
        return False
    job = entry.start_function()()
    run.last_job_id = getattr(job, "id", None)
    db.session.flush()
    log.info("Periodic job %s started (job %s)", entry.name, run.last_job_id)
    return True


def run_due(now: dt.datetime | None = None) -> list[str]:
    """Start every entry that is due at ``now``, each in a unit of work of its own (one that
    fails is logged and tried again at the next tick). Returns the names started. Needs an
    application context; the caller holds no open transaction."""
    now = now or utcnow()
    started = []
    for entry in entries():
        try:
            with unit_of_work():
                seen = last_runs().get(entry.name)
                if is_due(entry, seen.last_run_at if seen else None, now) \
                        and _start(entry, seen, now):
                    started.append(entry.name)
        except Exception:
            log.exception("Periodic job %s could not be started", entry.name)
    return started


def run_scheduled(name: str) -> bool:
    """The job RQ's cron scheduler enqueues (``cron_config``): start entry ``name`` if it is due.
    Runs on a ``flask rq worker``, in its application context."""
    from flask import has_app_context

    if not has_app_context():
        raise RuntimeError("run_scheduled needs an application context: use `flask rq worker`")
    entry = get(name)
    if entry is None:
        log.warning("No periodic job named %s", name)
        return False
    now = utcnow()
    with unit_of_work():
        seen = last_runs().get(name)
        return is_due(entry, seen.last_run_at if seen else None, now) and _start(entry, seen, now)


def status(now: dt.datetime | None = None) -> list[tuple[Periodic, ScheduleRun | None, dt.datetime]]:
    """(entry, its last start or None, when it is next due) for each entry."""
    now = now or utcnow()
    runs = last_runs()
    return [(e, runs.get(e.name), next_due(e, runs[e.name].last_run_at if e.name in runs else None,
                                           now))
            for e in entries()]


# --- Periodic work ------------------------------------------------------------------------------
# One line per entry. Cron times are UTC ("30 2 * * *": 03:30 in winter, 04:30 in summer in NL).

register("bin_purge", "sdd_crm.admin.purge:start_scheduled_purge", cron="30 2 * * *",
         description="Prullenbak: wat langer dan BIN_RETENTION_DAYS verwijderd is, definitief "
                     "verwijderen")
register("gdpr_retention", "sdd_crm.privacy.jobs:start_scheduled_retention", cron="15 3 * * *",
         description="AVG-bewaartermijn: contactpersonen zonder activiteit ter beoordeling aan de "
                     "beheerders voorleggen")
register("job_file_purge", "sdd_crm.jobs.file_purge:start_scheduled_file_purge",
         cron="0 2 * * *",
         description="Bestanden van taken (uploads, exports) die langer dan "
                     "JOB_FILE_RETENTION_DAYS klaar zijn, verwijderen")
register("criticality_recompute", "sdd_crm.valuechains.jobs:start_scheduled_recompute",
         cron="45 1 * * *",
         description="Kritische bedrijven: elke nacht opnieuw berekenen")
register("task_reminders", "sdd_crm.tasks.reminders:start_scheduled_reminders", cron="0 5 * * *",
         description="Verlopen taken: wie open taken over de vervaldatum heeft, krijgt 's "
                     "ochtends één herinnering")
register("notification_digest", "sdd_crm.notifications.digest:start_scheduled_digest",
         cron="30 4 * * *",
         description="Dagelijks overzicht: wie het heeft aangezet, krijgt 's ochtends één e-mail "
                     "met de meldingen van gisteren")
