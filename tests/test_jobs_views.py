"""The generic background-job pages (/jobs): who sees a job, its live status JSON, the
downloads with their headers, and how a failed or unfinished job looks."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from sdd_crm.extensions import db
from sdd_crm.jobs.files import store_file
from sdd_crm.jobs.models import Job, JobFile
from sdd_crm.programmes.export import XLSX_MIMETYPE

XLSX_BYTES = b"PK\x03\x04 not really a workbook, but bytes are bytes" * 40


@pytest.fixture
def make_job():
    def _make(user, *, status="finished", kind="programme_export", progress=100, message=None,
              result=None, files=()):
        job = Job(id=str(uuid.uuid4()), kind=kind, status=status, progress=progress,
                  message=message, params={}, result=result,
                  created_by_id=user.id if user else None)
        db.session.add(job)
        db.session.flush()
        for role, filename, content_type, data in files:
            store_file(job.id, role, filename, content_type, data)
        db.session.commit()
        return job

    return _make


@pytest.fixture
def owner(make_user):
    return make_user("business_developer")


@pytest.fixture
def finished(make_job, owner):
    return make_job(owner, message="Klaar: 3 organisaties meegeteld, 11 deelnames niet meegeteld.",
                    files=[("output", "scale-verantwoording-2026-06-15.xlsx", XLSX_MIMETYPE,
                            XLSX_BYTES)])


def test_the_creator_sees_the_finished_job_with_its_file(client, login, owner, finished):
    login(owner)
    resp = client.get(f"/jobs/{finished.id}")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "<h1 class=\"utrecht-heading-1\">Verantwoordingsexport van een programma</h1>" in page
    assert "Klaar: 3 organisaties meegeteld, 11 deelnames niet meegeteld." in page
    assert 'value="100"' in page and 'data-job-done="true"' in page
    assert (f'href="/jobs/{finished.id}/files/output" download>Verantwoording (Excel-werkmap)</a>'
            " (scale-verantwoording-2026-06-15.xlsx, 1,8 kB)") in page
    assert 'role="alert"' not in page


@pytest.mark.parametrize("role", ["business_developer", "regional_account_manager", "viewer"])
def test_another_user_gets_404_everywhere(client, login, make_user, finished, role):
    login(make_user(role))
    for url in (f"/jobs/{finished.id}", f"/jobs/{finished.id}/status",
                f"/jobs/{finished.id}/files/output"):
        assert client.get(url).status_code == 404, url
    assert finished.id not in client.get("/jobs/").get_data(as_text=True)


def test_an_admin_sees_every_job(client, login, make_user, finished):
    login(make_user("admin"))
    assert client.get(f"/jobs/{finished.id}").status_code == 200
    assert client.get(f"/jobs/{finished.id}/status").get_json()["status"] == "finished"
    assert client.get(f"/jobs/{finished.id}/files/output").data == XLSX_BYTES


def test_anonymous_users_are_sent_to_the_login(client, finished):
    resp = client.get(f"/jobs/{finished.id}")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.get(f"/jobs/{finished.id}/files/output").status_code == 302


def test_the_status_json_follows_the_job(client, login, owner, make_job):
    login(owner)
    running = make_job(owner, status="running", progress=40, message="Organisatiegegevens ophalen",
                       files=[("output", "half.xlsx", XLSX_MIMETYPE, b"x")])
    assert client.get(f"/jobs/{running.id}/status").get_json() == {
        "id": running.id, "kind": "programme_export", "status": "running",
        "status_label": "Bezig", "progress": 40,
        "message": "Organisatiegegevens ophalen", "done": False, "files": {}}
    page = client.get(f"/jobs/{running.id}").get_data(as_text=True)
    assert 'data-job-done="false"' in page and f'data-job-status-url="/jobs/{running.id}/status"' in page
    assert "half.xlsx" not in page  # no download before the job is done
    assert 'src="/static/js/jobs.js"' in page

    running.status, running.progress = "finished", 100
    db.session.commit()
    data = client.get(f"/jobs/{running.id}/status").get_json()
    assert (data["done"], data["progress"]) == (True, 100)
    assert data["files"] == {"output": f"/jobs/{running.id}/files/output"}


def test_the_download_is_an_attachment_with_a_safe_filename(client, login, owner, make_job):
    login(owner)
    job = make_job(owner, files=[("output", 'scale "verantwoording" é.xlsx', XLSX_MIMETYPE,
                                  XLSX_BYTES)])
    resp = client.get(f"/jobs/{job.id}/files/output")
    assert resp.status_code == 200 and resp.data == XLSX_BYTES
    assert resp.mimetype == XLSX_MIMETYPE
    assert resp.headers["Content-Disposition"] == (
        "attachment; filename=\"scale verantwoording _.xlsx\"; "
        "filename*=UTF-8''scale%20%22verantwoording%22%20%C3%A9.xlsx")
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert client.get(f"/jobs/{job.id}/files/input").status_code == 404


def test_a_failed_job_shows_its_message_as_an_alert(client, login, owner, make_job):
    login(owner)
    failed = make_job(owner, status="failed", progress=40,
                      message="De export is mislukt (RuntimeError). Probeer het opnieuw of vraag "
                              "de beheerder het logboek te bekijken.")
    page = client.get(f"/jobs/{failed.id}").get_data(as_text=True)
    assert '<div class="utrecht-alert utrecht-alert--error" role="alert">' in page
    assert "De export is mislukt (RuntimeError)." in page and "Mislukt" in page
    assert "Bestanden" not in page and "Uitkomst van de telling" not in page
    data = client.get(f"/jobs/{failed.id}/status").get_json()
    assert (data["status"], data["done"], data["files"]) == ("failed", True, {})


def test_my_jobs_lists_only_my_own(client, login, owner, make_user, make_job, finished):
    someone = make_job(make_user("business_developer"), kind="criticality_recompute")
    login(owner)
    page = client.get("/jobs/").get_data(as_text=True)
    assert f"/jobs/{finished.id}" in page and f"/jobs/{someone.id}" not in page
    assert "Verantwoordingsexport van een programma" in page


def test_an_unknown_kind_or_id_is_handled(client, login, owner, make_job):
    login(owner)
    odd = make_job(owner, kind="iets_nieuws", files=[])
    assert "iets_nieuws" in client.get(f"/jobs/{odd.id}").get_data(as_text=True)
    assert client.get(f"/jobs/{'a' * 37}").status_code == 404
    assert client.get("/jobs/bestaat-niet/status").status_code == 404


def test_jobs_purge_deletes_old_files_and_keeps_the_job_rows(runner, make_user):
    import datetime as dt

    from sdd_crm.db import utcnow
    from sdd_crm.jobs.files import load_file, store_file
    from sdd_crm.jobs.models import Job, JobFile

    user = make_user("business_developer")
    now = utcnow()
    jobs = {
        "old-finished": ("finished", now - dt.timedelta(days=20)),
        "old-failed": ("failed", now - dt.timedelta(days=15)),
        "recent": ("finished", now - dt.timedelta(days=3)),
        "old-running": ("running", None),
    }
    for name, (status, finished_at) in jobs.items():
        db.session.add(Job(id=f"purge-{name}", kind="export_list", status=status,
                           created_by_id=user.id, finished_at=finished_at,
                           created_at=now - dt.timedelta(days=30)))
        db.session.flush()
        store_file(f"purge-{name}", "output", f"{name}.csv", "text/csv", b"a;b\n")
    result = runner.invoke(args=["jobs", "purge", "--days", "14"])
    assert result.exit_code == 0, result.output
    assert "2 bestand(en) verwijderd" in result.output
    assert load_file("purge-old-finished", "output") is None
    assert load_file("purge-old-failed", "output") is None
    assert load_file("purge-recent", "output") is not None
    assert load_file("purge-old-running", "output") is not None  # its input may still be needed
    assert db.session.get(Job, "purge-old-finished") is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobFile).where(
        JobFile.job_id.like("purge-%"))) == 2


# --- the one lifecycle every job kind runs through (sdd_crm.jobs.lifecycle) -----------------------

def test_the_lifecycle_finishes_fails_and_never_runs_a_finished_job_twice(owner):
    from sdd_crm.jobs import lifecycle

    def run(job_id, body):
        return lifecycle.run(job_id, body, kinds="test_kind", running="Bezig",
                             failure=lambda exc: f"Mislukt ({type(exc).__name__})")

    job = lifecycle.new_job("test_kind", actor=owner, params={"n": 2})
    assert (job.status, job.progress, job.message, job.created_by_id) == (
        "queued", 0, "In de wachtrij", owner.id)
    db.session.commit()
    seen = []

    def body(job, progress):
        seen.append((job.status, job.started_at is not None))
        store_file(job.id, "output", "uit.txt", "text/plain", b"x" * job.params["n"])
        progress(50, "Halverwege")
        return lifecycle.Finished({"n": job.params["n"]}, "Klaar: 2.", returned="alles")

    assert run(job.id, body) == "alles"
    assert seen == [("running", True)]
    db.session.expire_all()
    job = db.session.get(Job, job.id)
    assert (job.status, job.progress, job.result, job.message) == (
        "finished", 100, {"n": 2}, "Klaar: 2.")
    assert job.started_at <= job.finished_at
    assert run(job.id, body) == {"n": 2} and len(seen) == 1  # a retry changes nothing
    assert run("no-such-job", body) is None
    assert lifecycle.run(job.id, body, kinds="other_kind", running="", failure=str) is None

    def refused(job, progress):
        store_file(job.id, "output", "half.txt", "text/plain", b"half")
        raise lifecycle.JobFailed("U mag dit niet meer.")

    def crashing(job, progress):
        store_file(job.id, "output", "half.txt", "text/plain", b"half")
        raise ZeroDivisionError("details for the log only")

    for body, expected in ((refused, "U mag dit niet meer."),
                           (crashing, "Mislukt (ZeroDivisionError)")):
        other = lifecycle.new_job("test_kind", actor=owner)
        db.session.commit()
        if body is crashing:
            with pytest.raises(ZeroDivisionError):  # raised again: RQ records (and may retry) it
                run(other.id, body)
        else:
            assert run(other.id, body) is None
        db.session.expire_all()
        other = db.session.get(Job, other.id)
        assert (other.status, other.message) == ("failed", expected)
        assert other.finished_at is not None
        assert db.session.scalar(sa.select(JobFile).where(JobFile.job_id == other.id)) is None


def test_drafts_requeues_and_discards_go_through_the_lifecycle(owner):
    from sdd_crm.jobs import lifecycle
    from sdd_crm.jobs.files import delete_files, load_file

    draft = lifecycle.new_draft("test_upload", message="Bestand ontvangen", actor=owner,
                                params={"filename": "a.csv"})
    assert (draft.status, draft.progress, draft.message, draft.created_by_id) == (
        "finished", 100, "Bestand ontvangen", owner.id)
    assert draft.started_at is not None and draft.started_at == draft.finished_at
    for role in ("input", "report"):
        store_file(draft.id, role, f"{role}.csv", "text/csv", b"a;b\n")
    assert delete_files(draft.id, role="report") == 1
    assert load_file(draft.id, "input") is not None and load_file(draft.id, "report") is None
    with pytest.raises(ValueError):  # a finished job is never run again
        lifecycle.requeue(draft)
    lifecycle.discard(draft)
    db.session.commit()
    assert db.session.get(Job, draft.id) is None
    assert db.session.scalar(sa.select(JobFile).where(JobFile.job_id == draft.id)) is None

    failed = lifecycle.new_job("test_kind", actor=owner)
    db.session.commit()

    def crashing(job, progress):
        progress(40, "Bezig")
        raise lifecycle.JobFailed("Mislukt.")

    lifecycle.run(failed.id, crashing, kinds="test_kind", running="Bezig", failure=str)
    db.session.expire_all()
    failed = db.session.get(Job, failed.id)
    assert failed.status == "failed" and failed.finished_at is not None
    lifecycle.requeue(failed)
    db.session.commit()
    assert (failed.status, failed.progress, failed.message, failed.started_at,
            failed.finished_at) == ("queued", 0, "In de wachtrij", None, None)
