"""The scheduled work of issue 13 point 2: the job-file purge and the nightly criticality
recompute start as jobs on the schedule, run like every job, and their outcome is kept."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from sdd_crm.db import utcnow
from sdd_crm.extensions import db
from sdd_crm.jobs import lifecycle, schedule
from sdd_crm.jobs.files import store_file
from sdd_crm.jobs.models import Job, JobFile

UTC = dt.UTC


@pytest.fixture
def only(monkeypatch):
    def _only(*names):
        monkeypatch.setattr(schedule, "_REGISTRY",
                            {n: e for n, e in schedule._REGISTRY.items() if n in names})

    return _only


def _ended_job_with_file(days_ago: int) -> str:
    job = lifecycle.new_draft("export_list", message="klaar")
    job.finished_at = utcnow() - dt.timedelta(days=days_ago)
    store_file(job.id, "output", "lijst.csv", "text/csv", b"naam;plaats\n")
    db.session.commit()
    return job.id


def test_the_nightly_schedule_holds_the_issues_entries():
    names = {e.name for e in schedule.entries()}
    assert {"bin_purge", "gdpr_retention", "job_file_purge", "criticality_recompute"} <= names
    for name in ("job_file_purge", "criticality_recompute"):
        assert schedule.get(name).cron and schedule.get(name).description


def test_the_file_purge_runs_as_a_job_and_keeps_recent_files(app, only):
    only("job_file_purge")
    old, recent = _ended_job_with_file(30), _ended_job_with_file(2)
    now = utcnow()
    assert schedule.run_due(now=now) == ["job_file_purge"]
    db.session.expire_all()
    files = set(db.session.scalars(sa.select(JobFile.job_id)))
    assert recent in files and old not in files
    purge = db.session.scalars(sa.select(Job).where(Job.kind == "job_file_purge")).one()
    assert purge.status == "finished" and purge.result == {"deleted": 1, "days": 14}
    assert purge.message == "1 bestand verwijderd van taken die meer dan 14 dagen geleden klaar waren."
    # Not again before tomorrow's 02:00 (UTC).
    assert schedule.run_due(now=now + dt.timedelta(minutes=5)) == []


def test_the_nightly_recompute_runs_as_a_criticality_job(app, only):
    only("criticality_recompute")
    assert schedule.run_due(now=utcnow()) == ["criticality_recompute"]
    db.session.expire_all()
    job = db.session.scalars(sa.select(Job).where(Job.kind == "criticality_recompute")).one()
    assert job.status == "finished" and job.params["trigger"] == "schedule"


def test_admins_see_each_entrys_last_run_outcome_and_next_time(app, client, login, make_user,
                                                              only):
    only("job_file_purge", "criticality_recompute")
    _ended_job_with_file(30)
    schedule.run_due(now=utcnow())
    login(make_user("admin"))
    html = client.get("/jobs/schedule").get_data(as_text=True)
    assert "Planning van achtergrondtaken" in html
    assert "job_file_purge" in html and "criticality_recompute" in html
    assert "Klaar</a>: 1 bestand verwijderd van taken die meer dan 14 dagen geleden" in html
    assert "<code>0 2 * * *</code>" in html
    assert "Nu bezig: 0" in html
