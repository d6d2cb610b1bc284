"""Periodic work (issue 11 point 2, the scheduled purge): when an entry is due, decided from the
last start kept in the database with an injected clock — never by waiting — and run the same way
by the embedded worker thread and by RQ's own cron scheduler."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from sdd_crm.extensions import db
from sdd_crm.jobs import schedule
from sdd_crm.jobs.models import Job, ScheduleRun

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAILY = schedule.Periodic("daily", "x:y", interval=dt.timedelta(days=1))
NIGHTLY = schedule.Periodic("nightly", "x:y", cron="30 2 * * *")


def boom():
    raise RuntimeError("start failed")


@pytest.fixture
def only(monkeypatch):
    """Replace the registry by the given entries for one test."""

    def _only(*entries):
        monkeypatch.setattr(schedule, "_REGISTRY", {e.name: e for e in entries})

    return _only


def _purge_jobs() -> list[Job]:
    return list(db.session.scalars(sa.select(Job).where(Job.kind == "bin_purge")))


def test_an_interval_entry_is_due_an_interval_after_its_last_start():
    assert schedule.is_due(DAILY, None, T0)  # never ran: at once
    assert not schedule.is_due(DAILY, T0, T0 + dt.timedelta(hours=23, minutes=59))
    assert schedule.is_due(DAILY, T0, T0 + dt.timedelta(days=1))
    assert schedule.next_due(DAILY, T0, T0) == T0 + dt.timedelta(days=1)


def test_a_cron_entry_is_due_at_its_next_fire_time_after_its_last_start():
    last = dt.datetime(2026, 3, 1, 2, 30, 5, tzinfo=UTC)  # started just after 02:30
    assert schedule.next_due(NIGHTLY, last, last) == dt.datetime(2026, 3, 2, 2, 30, tzinfo=UTC)
    assert not schedule.is_due(NIGHTLY, last, dt.datetime(2026, 3, 1, 23, 0, tzinfo=UTC))
    assert not schedule.is_due(NIGHTLY, last, dt.datetime(2026, 3, 2, 2, 29, tzinfo=UTC))
    assert schedule.is_due(NIGHTLY, last, dt.datetime(2026, 3, 2, 2, 30, tzinfo=UTC))
    # A night missed (the server was off) is made up once, not once per night.
    assert schedule.is_due(NIGHTLY, last, dt.datetime(2026, 3, 5, 9, 0, tzinfo=UTC))


@pytest.mark.parametrize("kwargs", [
    {}, {"interval": dt.timedelta(days=1), "cron": "0 3 * * *"}, {"cron": "elke nacht"},
    {"interval": dt.timedelta(seconds=5)},
])
def test_a_bad_entry_is_refused(only, kwargs):
    only()
    with pytest.raises(ValueError):
        schedule.register("fout", "sdd_crm.admin.purge:start_scheduled_purge", **kwargs)


def test_a_name_is_registered_once(only):
    only()
    schedule.register("een", "a.b:c", cron="0 3 * * *")
    with pytest.raises(ValueError):
        schedule.register("een", "a.b:d", cron="0 4 * * *")


def test_the_purge_is_started_when_due_and_not_again_before_its_time(only):
    only(schedule.get("bin_purge"))  # (not the other entries: they start jobs of their own)
    started = schedule.run_due(now=T0)
    assert started == ["bin_purge"]
    (job,) = _purge_jobs()
    assert job.params == {"trigger": "schedule"} and job.status == "finished"  # inline in tests
    run = db.session.get(ScheduleRun, "bin_purge")
    assert run.last_run_at == T0 and run.last_job_id == job.id

    # Later that day, and after a restart (nothing but the table remembers): not due.
    assert schedule.run_due(now=T0 + dt.timedelta(hours=10)) == []
    assert len(_purge_jobs()) == 1
    # The next night at 02:30 UTC it is.
    assert schedule.run_due(now=dt.datetime(2026, 3, 2, 2, 30, 10, tzinfo=UTC)) == ["bin_purge"]
    assert len(_purge_jobs()) == 2


def test_two_processes_never_start_the_same_run(only):
    only(DAILY)
    first = schedule._claim(DAILY, None, T0)
    db.session.flush()
    assert first is not None
    assert schedule._claim(DAILY, None, T0) is None  # the other process inserted it first
    seen = db.session.get(ScheduleRun, "daily")
    later = T0 + dt.timedelta(days=1)
    stale = SimpleNamespace(name="daily", last_run_at=T0 - dt.timedelta(days=1))
    assert schedule._claim(DAILY, seen, later) is not None
    assert schedule._claim(DAILY, stale, later) is None  # saw an older start: lost the race


def test_a_start_that_fails_is_tried_again_at_the_next_tick(only):
    failing = schedule.Periodic("faalt", "test_schedule:boom", interval=dt.timedelta(days=1))
    only(failing)
    assert schedule.run_due(now=T0) == []
    assert db.session.get(ScheduleRun, "faalt") is None  # the claim was rolled back with it
    only(schedule.Periodic("faalt", "sdd_crm.admin.purge:start_scheduled_purge",
                           interval=dt.timedelta(days=1)))
    assert schedule.run_due(now=T0 + dt.timedelta(minutes=1)) == ["faalt"]


def test_the_embedded_worker_looks_at_the_schedule_every_tick(app, monkeypatch, only):
    from sdd_crm.jobs.worker import EmbeddedWorker

    only(schedule.get("bin_purge"))
    worker = EmbeddedWorker(app)  # not started: the test calls its tick with its own clock
    assert worker.tick(now=1000.0) == []  # tests run no schedule unless they ask
    monkeypatch.setitem(app.config, "SCHEDULE_ENABLED", True)
    monkeypatch.setitem(app.config, "SCHEDULE_TICK_SECONDS", 60)
    assert worker.tick(now=1000.0) == ["bin_purge"]
    assert worker.tick(now=1030.0) == []  # not yet time to look
    assert worker.tick(now=1061.0) == []  # looked: not due (it ran a minute ago)
    assert len(_purge_jobs()) == 1


def test_rq_cron_registers_every_entry_to_run_through_the_registry():
    import fakeredis
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=fakeredis.FakeRedis())
    scheduler.load_config_from_file("sdd_crm.jobs.cron_config")
    jobs = {j.name: j for j in scheduler.get_jobs()}
    assert set(jobs) == {f"sdd_crm:{e.name}" for e in schedule.entries()}
    purge = jobs["sdd_crm:bin_purge"]
    assert purge.func_name == "sdd_crm.jobs.schedule.run_scheduled"
    assert purge.args == ("bin_purge",) and purge.cron == "30 2 * * *"


def test_the_job_rq_cron_enqueues_starts_the_entry_only_when_due():
    assert schedule.run_scheduled("bin_purge") is True
    assert schedule.run_scheduled("bin_purge") is False  # RQ's cron restarted: not again
    assert len(_purge_jobs()) == 1
    assert schedule.run_scheduled("bestaat-niet") is False


def test_the_cli_shows_the_schedule(runner):
    out = runner.invoke(args=["jobs", "schedule"]).output
    assert "bin_purge: cron 30 2 * * * (UTC); laatst nog nooit" in out
    out = runner.invoke(args=["jobs", "schedule", "--run-due"]).output
    assert "Gestart: bin_purge" in out
    assert "bin_purge: cron 30 2 * * * (UTC); laatst nog nooit" not in out
