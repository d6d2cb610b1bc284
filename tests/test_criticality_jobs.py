"""The recompute as a job: Flask-RQ (synchronous without Redis, a real worker with it), the
CLI, the automatic recompute after network changes, failures and reruns."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa

from criticality_support import flags, history, link, make_chain
from sdd_crm.extensions import db
from sdd_crm.jobs.models import Job
from sdd_crm.valuechains import criticality_store, jobs
from sdd_crm.valuechains.models import CriticalityAssessment
from sdd_crm.valuechains.recompute import schedule_recompute

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def hub(make_org):
    chain = make_chain()
    hub = make_org(name="Enige Leverancier B.V.")
    customers = [make_org(name=f"Klant {i}") for i in range(3)]
    for c in customers:
        link(hub, c, chain, sole=True)
    db.session.commit()
    return hub


def _jobs():
    return list(db.session.scalars(sa.select(Job).where(Job.kind == jobs.JOB_KIND).order_by(Job.created_at)))


def test_the_rq_job_runs_through_flask_rq_and_reports_progress(hub, make_user):
    admin = make_user("admin")
    job = jobs.create_job(actor=admin)
    assert job.status == "queued" and job.message == "In de wachtrij"
    jobs.enqueue_job(job)
    assert flags(hub) == [(False, None)]  # nothing runs before the commit
    db.session.commit()  # without Redis, RQ runs the job right after the commit
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert (job.status, job.progress, job.created_by_id) == ("finished", 100, admin.id)
    assert job.started_at <= job.finished_at
    assert job.message == "Klaar: 1 kritische organisaties, 1 nieuwe beoordelingen."
    assert job.result["critical"] == 1 and job.result["new_assessments"] == 1
    assert flags(hub) == [(True, 1.03)]
    from sdd_crm.extensions import rq

    rq_job = rq.queue.fetch_job(job.id)  # the RQ job carries the Job row's id
    assert rq_job.get_status() == "finished" and rq_job.meta["progress"] == 100


def test_a_network_change_schedules_one_recompute_after_the_commit(hub, make_org):
    schedule_recompute(reason="link")
    schedule_recompute(reason="link")  # the same transaction: still one
    assert [j.status for j in _jobs()] == ["queued"]
    db.session.commit()
    assert [j.status for j in _jobs()] == ["finished"]
    assert _jobs()[0].params == {"trigger": "auto", "reason": "link"}
    assert flags(hub) == [(True, 1.03)]

    schedule_recompute(reason="weggegooid")
    db.session.rollback()  # rolled back: no Job row, nothing runs
    assert len(_jobs()) == 1


def test_a_new_employee_count_flags_a_dominant_employer_without_a_button(make_org, make_user):
    from sdd_crm.organisations.models import Organisation
    from sdd_crm.organisations.services import delete_organisation, update_organisation

    admin = make_user("admin")
    make_org(name="Rest van de regio", employees=7000, city="Dordrecht")
    werf = make_org(name="Werf", employees=50, city="Papendrecht")
    assert flags(werf) == [(False, None)]  # creating an organisation does not recompute
    org = db.session.get(Organisation, werf.id)
    update_organisation(org, {"employees": 3000}, actor=admin, partial=True)
    db.session.commit()
    assert flags(werf) == [(True, 1.0)]
    before = len(_jobs())
    update_organisation(db.session.get(Organisation, werf.id), {"website": "werf.example"},
                        actor=admin, partial=True)
    db.session.commit()
    assert len(_jobs()) == before  # nothing the engine reads changed
    delete_organisation(db.session.get(Organisation, werf.id), actor=admin)
    db.session.commit()
    assert flags(werf) == [(False, None)]


def test_the_automatic_recompute_is_debounced_while_one_waits(hub, app):
    waiting = jobs.create_job(trigger="auto")  # queued, as when a worker has not picked it up yet
    db.session.commit()
    schedule_recompute(reason="link")
    db.session.commit()
    assert [j.id for j in _jobs()] == [waiting.id]
    assert flags(hub) == [(False, None)]


def test_the_automatic_recompute_can_be_switched_off(hub, app, monkeypatch):
    monkeypatch.setitem(app.config, "CRITICALITY_AUTO_RECOMPUTE", False)
    schedule_recompute(reason="link")
    db.session.commit()
    assert _jobs() == []


def test_a_failure_marks_the_job_failed_in_dutch_and_stores_nothing(hub, monkeypatch):
    def broken_store(*args, **kwargs):
        db.session.execute(sa.insert(CriticalityAssessment.__table__), [
            {"organisation_id": hub.id, "score": 9.0, "threshold": 0.8, "critical": True,
             "factors": []}])
        raise RuntimeError("disk full")

    monkeypatch.setattr(criticality_store, "store", broken_store)
    job = jobs.create_job()
    db.session.commit()
    with pytest.raises(RuntimeError):
        jobs.run_job(job.id)
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert job.status == "failed" and job.finished_at is not None
    assert job.message.startswith("De herberekening is mislukt (RuntimeError).")
    assert history(hub) == [] and flags(hub) == [(False, None)]  # the half-written row is gone

    monkeypatch.undo()
    again = jobs.create_job()
    db.session.commit()
    jobs.run_job(again.id)  # the rerun after the crash gives the full result, once
    assert [a.score for a in history(hub)] == [1.03] and flags(hub) == [(True, 1.03)]


def test_a_finished_job_is_not_run_twice_and_a_rerun_changes_nothing(hub):
    job = jobs.create_job()
    db.session.commit()
    first = jobs.run_job(job.id)
    assert jobs.run_job(job.id) == first  # RQ retried or enqueued it twice
    other = jobs.create_job()
    db.session.commit()
    assert jobs.run_job(other.id)["new_assessments"] == 0
    assert len(history(hub)) == 1 and flags(hub) == [(True, 1.03)]
    assert jobs.run_job("no-such-job") is None


def test_a_recompute_takes_the_store_lock_before_it_reads(hub, monkeypatch):
    from sdd_crm.valuechains import criticality_store

    calls = []
    real_lock, real_load = criticality_store._lock_storing, criticality_store.load_network
    monkeypatch.setattr(criticality_store, "_lock_storing", lambda: (calls.append("lock"), real_lock()))
    monkeypatch.setattr(criticality_store, "load_network", lambda: (calls.append("read"), real_load())[1])
    job = jobs.create_job()
    db.session.commit()
    jobs.run_job(job.id)
    assert calls == ["lock", "read"]  # an earlier recompute's results are in what it reads
    assert len(history(hub)) == 1 and flags(hub) == [(True, 1.03)]


def test_cli_recompute_prints_progress_and_a_summary(hub, runner):
    result = runner.invoke(args=["criticality", "recompute"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Herberekening gestart: job ")
    assert any(line.strip().startswith("20%") and "loading" in line for line in lines)
    assert any("storing" in line for line in lines)
    assert "Klaar: 4 organisaties, 1 kritisch (1 nieuw, 0 niet meer), 1 nieuwe beoordelingen." in result.output
    assert "Tijd per fase: loading" in result.output
    assert flags(hub) == [(True, 1.03)]
    assert _jobs()[-1].params["trigger"] == "cli"


def test_cli_recompute_async_only_enqueues(hub, runner, monkeypatch):
    enqueued = []
    monkeypatch.setattr(jobs.recompute_criticality, "enqueue",
                        lambda *args, **kwargs: enqueued.append((args, kwargs)))
    result = runner.invoke(args=["criticality", "recompute", "--async"])
    assert result.exit_code == 0, result.output
    [job] = _jobs()
    assert result.output.strip() == f"Herberekening in de wachtrij gezet: job {job.id}."
    assert enqueued == [((job.id,), {"job_id": job.id, "job_timeout": jobs.DEFAULT_TIMEOUT})]
    assert job.status == "queued" and flags(hub) == [(False, None)]


def test_cli_recompute_reports_a_failure(hub, runner, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("kapot")

    monkeypatch.setattr(criticality_store, "run_assessment", broken)
    result = runner.invoke(args=["criticality", "recompute"])
    assert result.exit_code == 1
    assert "Mislukt: RuntimeError: kapot" in result.output
    assert _jobs()[-1].status == "failed"


# --- the real Redis -----------------------------------------------------------------------

def _redis_url() -> str:
    """The same server, database 13, so the test never touches queues in real use."""
    return urlunsplit(urlsplit(os.environ["REDIS_URL"])._replace(path="/13"))


@pytest.fixture
def redis_app(tmp_path, monkeypatch):
    """A second app on a real Redis with its own SQLite file, committed for real, so the worker
    (which loads wsgi.py from this environment) sees the same data."""
    from flask_migrate import upgrade

    from sdd_crm import create_app
    from sdd_crm.extensions import rq
    from sdd_crm.reference.services import seed_reference

    url, database = _redis_url(), "sqlite:///" + str(tmp_path / "worker.sqlite3")
    monkeypatch.setenv("FLASK_APP", str(ROOT / "wsgi.py"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("DATABASE_URL", database)
    monkeypatch.setenv("REDIS_URL", url)
    monkeypatch.setenv("SDD_CRM_SECRET_KEY", "worker-test-secret")
    other = create_app({"TESTING": True, "SECRET_KEY": "worker-test-secret",
                        "SQLALCHEMY_DATABASE_URI": database, "REDIS_URL": url, "RQ_ASYNC": True,
                        "RATELIMIT_STORAGE_URI": "memory://"})
    monkeypatch.setattr(db, "session", db._make_scoped_session({}))
    with other.app_context():
        upgrade()
        seed_reference()
        db.session.commit()
        queue = rq.queue
        assert type(queue.connection).__module__.startswith("redis")  # not fakeredis
        queue.empty()
        try:
            yield other, queue
        finally:
            queue.empty()
            db.session.remove()
            with other.app_context():
                db.engine.dispose()


@pytest.mark.redis
def test_the_recompute_runs_on_a_real_redis_worker_after_the_commit(redis_app):
    from sdd_crm.auth.services import create_user
    from sdd_crm.extensions import rq
    from sdd_crm.organisations.services import create_organisation

    from conftest import PASSWORD

    _app, queue = redis_app
    admin = create_user(email="admin@sdd.example", name="Beheer", role="admin", password=PASSWORD)
    db.session.flush()
    chain = make_chain("Warmtenetten")
    orgs = [create_organisation({"name": f"Org {i}", "org_type": "company", "city": "Dordrecht"},
                                actor=admin) for i in range(4)]
    db.session.flush()
    for customer in orgs[1:]:
        link(orgs[0], customer, chain, sole=True)
    schedule_recompute(reason="links")
    db.session.flush()
    assert queue.count == 0  # not before the commit: the worker could not see the Job row
    db.session.commit()
    assert queue.count == 1
    [rq_job] = queue.get_jobs()
    job_id = rq_job.id
    assert rq_job.func_name == "sdd_crm.valuechains.jobs.recompute_criticality"
    assert rq_job.timeout == jobs.DEFAULT_TIMEOUT
    assert db.session.get(Job, job_id).status == "queued"

    schedule_recompute(reason="again")  # debounced while the first one waits
    db.session.commit()
    assert queue.count == 1

    rq.make_worker().work(burst=True)
    rq_job.refresh()
    assert rq_job.get_status() == "finished", rq_job.latest_result()
    assert rq_job.meta["progress"] == 100
    db.session.expire_all()
    row = db.session.get(Job, job_id)
    assert (row.status, row.progress, row.result["critical"]) == ("finished", 100, 1)
    assert db.session.scalar(sa.select(CriticalityAssessment.score)
                             .where(CriticalityAssessment.organisation_id == orgs[0].id)) == 1.03
