"""Real background jobs in the embedded default (issue 10 point 5): without Redis (``JOBS =
"thread"``) a job runs in a worker thread of the web process, outside the request that started
it. The request answers while the job is still queued or running; the job page and
``GET /api/v1/jobs/<id>`` show its progress below 100 and then its end.

The app here has a database of its own, committed for real (the per-test rolled-back
transaction would hide the web's rows from the worker thread). Each job is held at a gate (a
``threading.Event``) so that the test sees it in the middle.
"""

from __future__ import annotations

import io
import threading
import time

import pytest
import sqlalchemy as sa

from db_support import throwaway_database
from html_helpers import form_fields
from import_support import sample
from sdd_crm.extensions import db
from sdd_crm.jobs.models import Job

PASSWORD = "correct horse battery staple"


@pytest.fixture
def thread_app(tmp_path, monkeypatch):
    from flask_migrate import upgrade

    from sdd_crm import create_app
    from sdd_crm.jobs.worker import stop_worker
    from sdd_crm.reference.services import seed_reference

    with throwaway_database(tmp_path, "jobs_thread") as url:
        app = create_app({"TESTING": True, "JOBS": "thread", "SECRET_KEY": "thread-test",
                          "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
                          "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False,
                          "RATELIMIT_STORAGE_URI": "memory://", "SERVER_NAME": None})
        # An ordinary session that really commits, scoped per app context as in production
        # (the suite's own is bound to the rolled-back test transaction of the main database).
        monkeypatch.setattr(db, "session", db._make_scoped_session({}))
        with app.app_context():
            upgrade()
            seed_reference()
            db.session.commit()
        try:
            yield app
        finally:
            stop_worker(app, timeout=60)
            with app.app_context():
                db.engine.dispose()


@pytest.fixture
def gate():
    """``gate.hold(progress)`` blocks a job body until the test calls ``gate.release()``."""

    class Gate:
        def __init__(self):
            self.reached, self.opened = threading.Event(), threading.Event()

        def hold(self):
            self.reached.set()
            assert self.opened.wait(60), "the test never opened the gate"

        def release(self):
            self.opened.set()

    g = Gate()
    yield g
    g.release()  # never leave a worker thread waiting


def _user(app, role="admin"):
    from sdd_crm.auth.services import create_user

    with app.app_context():
        user = create_user(email=f"{role}@sdd.example", name="Beheer", role=role,
                           password=PASSWORD)
        db.session.commit()
        return user.email


def _client(app, email):
    client = app.test_client()
    resp = client.post("/login", data={"email": email, "password": PASSWORD})
    assert resp.status_code == 302
    return client


def _until(what, check, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _row(app, job_id) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job


def test_thread_is_the_default_without_redis_and_tests_run_inline(app, monkeypatch):
    from sdd_crm import create_app

    assert app.config["JOBS"] == "inline" or app.config.get("REDIS_URL")
    monkeypatch.delenv("REDIS_URL", raising=False)
    embedded = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert embedded.config["JOBS"] == "thread" and embedded.config["RQ_ASYNC"] is True
    with embedded.app_context():
        from sdd_crm.extensions import rq

        assert rq.queue.is_async  # enqueued, not run in the request
    with pytest.raises(RuntimeError):
        create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://", "JOBS": "redis"})


def test_the_recompute_answers_202_pending_and_the_job_runs_afterwards(thread_app, gate,
                                                                        monkeypatch):
    from sdd_crm.auth.models import User
    from sdd_crm.auth.services import create_token
    from sdd_crm.valuechains import criticality_store

    real = criticality_store.run_assessment

    def held(*, job_id=None, progress=None, **kwargs):
        progress("loading", 10)
        gate.hold()
        return real(job_id=job_id, progress=progress, **kwargs)

    monkeypatch.setattr(criticality_store, "run_assessment", held)
    email = _user(thread_app)
    with thread_app.app_context():
        token = create_token(db.session.scalar(sa.select(User).where(User.email == email)), "t")
        db.session.commit()
    client, headers = thread_app.test_client(), {"Authorization": f"Bearer {token}"}

    resp = client.post("/api/v1/criticality/recompute", headers=headers)
    assert resp.status_code == 202
    body = resp.get_json()
    assert (body["status"], body["progress"], body["finished_at"]) == ("queued", 0, None)
    location = resp.headers["Location"]

    assert gate.reached.wait(30), "the worker thread never started the job"
    running = client.get(location, headers=headers).get_json()
    assert running["status"] == "running" and 0 < running["progress"] < 100
    assert running["message"] == "Gegevens laden" and running["finished_at"] is None

    gate.release()
    done = _until("the recompute to finish", lambda: (
        data := client.get(location, headers=headers).get_json())["status"] == "finished" and data)
    assert done["progress"] == 100 and done["result"]["organisations"] == 0
    assert done["started_at"] <= done["finished_at"]


def test_an_upload_answers_at_once_and_the_job_page_shows_live_progress(thread_app, gate,
                                                                        monkeypatch):
    """The preview runs in the thread; then the real import holds its gate *after* writing the
    organisations, in its open transaction: the pages still answer (SQLite: WAL), show the
    progress, and show no organisation until the job commits."""
    from sdd_crm.imports import apply

    real_apply = apply.apply_plan

    def apply_then_hold(plan, **kwargs):
        result = real_apply(plan, **kwargs)
        time.sleep(0.6)  # the reporter writes at most every half second
        kwargs["progress"](97, "Opgeslagen, nog niet vastgelegd")
        gate.hold()
        return result

    monkeypatch.setattr(apply, "apply_plan", apply_then_hold)
    client = _client(thread_app, _user(thread_app, "regional_account_manager"))

    resp = client.post("/imports/", data={"kind": "organisations", "file": (
        io.BytesIO(sample("kvk_export_nl.csv")), "kvk.csv")}, content_type="multipart/form-data")
    assert resp.status_code == 302
    mapping_url = resp.headers["Location"]
    resp = client.post(mapping_url, data=form_fields(client.get(mapping_url), "/mapping"))
    assert resp.status_code == 302
    preview_url = resp.headers["Location"]
    status_url = preview_url + "/status"
    _until("the preview", lambda: client.get(status_url).get_json()["done"])
    assert client.get(status_url).get_json()["status"] == "finished"

    started = time.monotonic()
    resp = client.post(preview_url.replace("/jobs/", "/imports/") + "/run")
    assert resp.status_code == 302 and time.monotonic() - started < 10
    job_url = resp.headers["Location"]
    job_id = job_url.rsplit("/", 1)[1]

    assert gate.reached.wait(60), "the worker thread never reached the gate"
    status = client.get(job_url + "/status").get_json()
    assert (status["status"], status["done"], status["files"]) == ("running", False, {})
    assert status["progress"] == 97 and status["message"] == "Opgeslagen, nog niet vastgelegd"
    page = client.get(job_url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-job-done="false"' in html and 'value="97"' in html and "Bezig" in html
    assert _row(thread_app, job_id).status == "running"
    assert client.get("/organisations/").status_code == 200  # the pages read on
    with thread_app.app_context():  # written, not yet committed: nobody else sees it
        assert db.session.scalar(sa.select(sa.func.count()).select_from(
            sa.table("organisation"))) == 0

    gate.release()
    done = _until("the import", lambda: (
        data := client.get(job_url + "/status").get_json())["done"] and data)
    assert (done["status"], done["progress"]) == ("finished", 100)
    row = _row(thread_app, job_id)
    assert row.result["created"] > 0 and row.started_at <= row.finished_at
    with thread_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(
            sa.table("organisation"))) == row.result["created"]


def test_queued_jobs_are_finished_before_the_worker_stops(thread_app):
    """A CLI command's follow-up jobs run before the process exits (the atexit hook)."""
    from sdd_crm.jobs.worker import stop_worker
    from sdd_crm.valuechains.jobs import create_job, enqueue_job

    with thread_app.app_context():
        ids = []
        for _ in range(2):
            job = create_job(trigger="cli")
            enqueue_job(job)
            ids.append(job.id)
        db.session.commit()
    stop_worker(thread_app, timeout=60)
    assert [_row(thread_app, i).status for i in ids] == ["finished", "finished"]
