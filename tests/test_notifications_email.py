"""Notification e-mail: sharing a lead e-mails each receiver, in the receiver's language, through
a ``notification_email`` Job (the RQ task ``send_notification_emails``, a resumable job of the
one lifecycle) — only after the commit, never twice; a failure halfway keeps what was sent and a
rerun sends only the rest.

A real SMTP server (aiosmtpd) runs inside the test. Without Redis the job runs in-process; the
``redis`` tests enqueue it on a real Redis and let a burst worker (a subprocess, as in
production) run it against its own committed SQLite database.
"""

from __future__ import annotations

import email
import os
import socket
import time
from email import policy
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa

from html_helpers import text
from leads_support import build_world
from sdd_crm.extensions import db
from sdd_crm.jobs.models import Job, JobStatus
from sdd_crm.leads.models import Lead
from sdd_crm.notifications.jobs import JOB_KIND, create_email_job, send_notification_emails
from sdd_crm.notifications.models import Notification
from sdd_crm.notifications.services import notify

ROOT = Path(__file__).resolve().parent.parent


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.fail_once: set[str] = set()  # recipients whose first message is refused

    async def handle_DATA(self, server, session, envelope):
        refused = self.fail_once & set(envelope.rcpt_tos)
        if refused:
            self.fail_once -= refused
            return "451 4.3.0 Try again later"
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def wait_for(self, n: int, timeout: float = 10.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.messages) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages

    def by_recipient(self) -> dict:
        return {m["To"]: m for m in self.messages}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.port = controller.port
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def mail_config(app, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", smtp.port)
    monkeypatch.setitem(app.config, "MAIL_FROM", "crm@sdd.example")
    monkeypatch.setitem(app.config, "BASE_URL", "https://crm.sdd.example")
    return smtp


@pytest.fixture
def world(make_user, make_org):
    return build_world(make_user, make_org)


def _email_job(notification_ids) -> Job:
    """The notification_email Job row for exactly these notifications (freshly read)."""
    db.session.expire_all()
    wanted = sorted(notification_ids)
    jobs = db.session.scalars(sa.select(Job).where(Job.kind == JOB_KIND)).all()
    [job] = [j for j in jobs if sorted(j.params["notification_ids"]) == wanted]
    return job


# --- In-process (no Redis worker) -------------------------------------------------------------

def test_sharing_a_lead_emails_each_receiver_in_their_language(client, login, world, make_user,
                                                               mail_config):
    smtp = mail_config
    english = make_user("local_account_manager", municipality="GM0610", locale="en",
                        name="Eve English", email="eve@sliedrecht.example")
    dutch = world.users["local_receiving"]
    login(world.users["author"])
    resp = client.post(f"/leads/new?organisation_id={world.org.id}", data={
        "type": "expansion", "title": "Zoekt een kade", "shared_with": "municipality",
        "shared_with_municipality": "GM0610"})
    assert resp.status_code == 302
    lead = db.session.scalar(sa.select(Lead).where(Lead.title == "Zoekt een kade"))

    smtp.wait_for(2)
    got = smtp.by_recipient()
    assert sorted(got) == sorted([dutch.email, english.email])  # one each, nobody else
    assert got[dutch.email]["Subject"] == \
        "SDD CRM: Nieuw signaal van Zoë Zwijndrecht: Zoekt een kade"
    assert got[english.email]["Subject"] == \
        "SDD CRM: New lead from Zoë Zwijndrecht: Zoekt een kade"
    assert got[dutch.email]["From"] == "crm@sdd.example"
    nl_body, en_body = got[dutch.email].get_content(), got[english.email].get_content()
    assert nl_body.startswith(f"Beste {dutch.name},")
    assert en_body.startswith("Dear Eve English,")
    assert f"https://crm.sdd.example/leads/{lead.id}" in nl_body
    # Each notification is marked, so running the job again sends nothing twice.
    rows = db.session.scalars(sa.select(Notification).where(Notification.lead_id == lead.id)).all()
    assert len(rows) == 2 and all(n.emailed_at is not None for n in rows)
    job = _email_job([n.id for n in rows])
    assert (job.status, job.result, job.progress) == (JobStatus.FINISHED, {"sent": 2}, 100)
    assert job.message == "Klaar: 2 e-mail(s) verstuurd."
    assert job.created_by_id is None  # a system job
    assert send_notification_emails(job.id) == {"sent": 2}  # finished: not run again
    # A second job for the same notifications finds them claimed.
    again = create_email_job([n.id for n in rows])
    db.session.commit()
    db.session.expire_all()
    assert (db.session.get(Job, again.id).status, db.session.get(Job, again.id).result) == (
        JobStatus.FINISHED, {"sent": 0})
    assert len(smtp.messages) == 2


def test_a_refused_message_is_sent_by_the_next_run_and_none_twice(client, login, world,
                                                                  make_user, mail_config):
    smtp = mail_config
    second = make_user("local_account_manager", municipality="GM0610", email="b@sliedrecht.example")
    smtp.fail_once = {second.email}
    login(world.users["author"])
    client.post(f"/leads/new?organisation_id={world.org.id}", data={
        "type": "expansion", "title": "Half verstuurd", "shared_with": "municipality",
        "shared_with_municipality": "GM0610"})
    lead = db.session.scalar(sa.select(Lead).where(Lead.title == "Half verstuurd"))
    rows = db.session.scalars(sa.select(Notification).where(Notification.lead_id == lead.id)
                              .order_by(Notification.id)).all()
    assert [m["To"] for m in smtp.wait_for(1)] == [world.users["local_receiving"].email]
    assert {n.user_id: n.emailed_at is not None for n in rows} == {
        world.users["local_receiving"].id: True, second.id: False}
    job = _email_job([n.id for n in rows])
    assert job.status == JobStatus.FAILED
    assert job.message.startswith("Het versturen van e-mail is mislukt (SMTPDataError)")
    # A retry of the job sends what is left, and only that.
    assert send_notification_emails(job.id) == {"sent": 1}
    assert sorted(m["To"] for m in smtp.messages) == sorted(
        [world.users["local_receiving"].email, second.email])
    job = _email_job([n.id for n in rows])
    assert (job.status, job.result) == (JobStatus.FINISHED, {"sent": 1})


def test_a_failure_after_the_first_of_three_keeps_it_sent_and_a_rerun_sends_the_rest(
        make_user, mail_config):
    smtp = mail_config
    users = [make_user("regional_account_manager", email=f"r{i}@sdd.example") for i in range(3)]
    smtp.fail_once = {users[1].email}
    rows = notify([u.id for u in users], "lead_shared", "Drie berichten", link="/leads/")
    db.session.commit()  # the job runs after the commit (inline in tests)

    job = _email_job([n.id for n in rows])
    assert job.status == JobStatus.FAILED and job.created_by_id is None
    assert "mislukt" in job.message
    assert [m["To"] for m in smtp.messages] == [users[0].email]
    claimed = dict(db.session.execute(sa.select(Notification.user_id, Notification.emailed_at)
                                      .where(Notification.id.in_([n.id for n in rows]))).all())
    assert [claimed[u.id] is not None for u in users] == [True, False, False]

    # The rerun (RQ's retry) resumes: the claimed one is skipped, the other two go out.
    assert send_notification_emails(job.id) == {"sent": 2}
    assert sorted(m["To"] for m in smtp.messages) == sorted(u.email for u in users)
    job = _email_job([n.id for n in rows])
    assert (job.status, job.result, job.progress) == (JobStatus.FINISHED, {"sent": 2}, 100)
    db.session.expire_all()
    assert all(db.session.scalars(sa.select(Notification.emailed_at)
                                  .where(Notification.id.in_([n.id for n in rows]))).all())


def test_the_system_job_is_shown_to_admins_only(app, login, world, api_headers, mail_config):
    rows = notify([world.users["regional"].id], "lead_shared", "Voor Rob")
    db.session.commit()
    job = _email_job([n.id for n in rows])
    for user, visible in ((world.users["regional"], False), (world.users["author"], False),
                          (world.users["admin"], True)):
        client = login(user, c=app.test_client())
        assert client.get(f"/api/v1/jobs/{job.id}", headers=api_headers(user)).status_code == (
            200 if visible else 404)
        assert client.get(f"/jobs/{job.id}").status_code == (200 if visible else 404)
        assert client.get(f"/jobs/{job.id}/status").status_code == (200 if visible else 404)
        assert job.id not in client.get("/jobs/").get_data(as_text=True)  # nobody's own job


def test_a_status_change_emails_the_author(client, login, world, mail_config):
    lead = world.leads["named"]
    login(world.users["named"])
    resp = client.post(f"/leads/{lead.id}/status", data={"status": "accepted"})
    assert resp.status_code == 302
    [message] = mail_config.wait_for(1)
    assert message["To"] == world.users["author"].email
    assert message["Subject"] == "SDD CRM: Uw signaal 'Interesse in SCALE' is nu: Geaccepteerd"


def test_without_mail_server_no_email_is_attempted(client, login, world, smtp):
    login(world.users["author"])
    client.post(f"/leads/new?organisation_id={world.org.id}", data={
        "type": "risk", "title": "Stil", "shared_with": "regional_team"})
    time.sleep(0.2)
    assert smtp.messages == []
    lead = db.session.scalar(sa.select(Lead).where(Lead.title == "Stil"))
    assert db.session.scalars(sa.select(Notification.emailed_at)
                              .where(Notification.lead_id == lead.id)).all() == [None]


def test_an_unreachable_mail_server_never_breaks_sharing(client, login, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", _free_port())  # nobody listens there
    login(world.users["author"])
    resp = client.post(f"/leads/new?organisation_id={world.org.id}", data={
        "type": "risk", "title": "Toch gedeeld", "shared_with": "regional_team"})
    assert resp.status_code == 302
    page = text(client.get(resp.headers["Location"]))
    assert "Het signaal is gedeeld met: Regionaal team." in page
    lead = db.session.scalar(sa.select(Lead).where(Lead.title == "Toch gedeeld"))
    notes = db.session.scalars(sa.select(Notification).where(Notification.lead_id == lead.id)).all()
    assert notes and all(n.emailed_at is None for n in notes)  # left for a later run
    job = _email_job([n.id for n in notes])
    assert job.status == JobStatus.FAILED and "mislukt" in job.message


# --- On a real Redis, with a burst worker ---------------------------------------------------------

def _redis_url() -> str:
    """The same server, database 14, so the test never touches queues in real use."""
    return urlunsplit(urlsplit(os.environ["REDIS_URL"])._replace(path="/14"))


@pytest.fixture
def redis_app(tmp_path, monkeypatch, smtp):
    """A second app on a real Redis with its own SQLite file, committed for real, so the worker
    subprocess (which loads wsgi.py from this environment) sees the same data."""
    from flask_migrate import upgrade

    from sdd_crm import create_app
    from sdd_crm.extensions import rq
    from sdd_crm.reference.services import seed_reference

    url, database = _redis_url(), "sqlite:///" + str(tmp_path / "worker.sqlite3")
    settings = {"REDIS_URL": url, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port,
                "MAIL_FROM": "crm@sdd.example", "BASE_URL": "https://crm.sdd.example"}
    monkeypatch.setenv("FLASK_APP", str(ROOT / "wsgi.py"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("DATABASE_URL", database)
    monkeypatch.setenv("REDIS_URL", url)
    monkeypatch.setenv("SDD_CRM_SECRET_KEY", "worker-test-secret")
    for key, value in settings.items():
        if key != "REDIS_URL":
            monkeypatch.setenv(f"SDD_CRM_{key}", str(value))
    other = create_app({"TESTING": True, "SECRET_KEY": "worker-test-secret",
                        "SQLALCHEMY_DATABASE_URI": database, "RQ_ASYNC": True,
                        "RATELIMIT_STORAGE_URI": "memory://", **settings})
    # The suite's session is bound to the test transaction of the main database; this app
    # needs an ordinary session that really commits (restored when the test ends).
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
def test_the_job_goes_through_redis_after_commit_only_and_sends_once(redis_app, smtp):
    from sdd_crm.auth.services import create_user
    from sdd_crm.extensions import rq
    from sdd_crm.leads.services import share_lead
    from sdd_crm.organisations.services import create_organisation

    from conftest import PASSWORD

    _app, queue = redis_app
    admin = create_user(email="admin@sdd.example", name="Beheer", role="admin", password=PASSWORD)
    author = create_user(email="zoe@zwijndrecht.example", name="Zoë", role="local_account_manager",
                         municipality_code="GM0642", password=PASSWORD)
    receiver = create_user(email="rob@sdd.example", name="Rob", role="regional_account_manager",
                           password=PASSWORD, locale="en")
    db.session.flush()
    org = create_organisation({"name": "Werf", "org_type": "company", "city": "Sliedrecht"},
                              actor=admin)
    db.session.commit()

    # Rolled back: nothing is enqueued, nothing is sent.
    share_lead({"organisation_id": org.id, "type": "risk", "title": "Vergeten",
                "shared_with": "regional_team"}, actor=author)
    db.session.rollback()
    assert queue.count == 0

    lead = share_lead({"organisation_id": org.id, "type": "risk", "title": "Sluiting dreigt",
                       "shared_with": "regional_team"}, actor=author)
    db.session.flush()
    assert queue.count == 0  # not before the commit: the worker could not see the rows yet
    db.session.commit()
    assert queue.count == 1
    [job] = queue.get_jobs()
    assert job.func_name == "sdd_crm.notifications.jobs.send_notification_emails"
    row = db.session.get(Job, job.args[0])  # the task takes the Job row's id, which is its own
    assert (row.kind, row.status, job.id) == (JOB_KIND, JobStatus.QUEUED, row.id)
    assert smtp.messages == []  # queued, not sent by the web process

    rq.make_worker().work(burst=True)
    job.refresh()
    assert job.get_status() == "finished", job.latest_result()
    assert job.return_value() == {"sent": 1}
    [message] = smtp.wait_for(1)
    assert message["To"] == receiver.email
    assert message["Subject"] == "SDD CRM: New lead from Zoë: Sluiting dreigt"
    assert f"https://crm.sdd.example/leads/{lead.id}" in message.get_content()

    db.session.rollback()  # end the read transaction: see what the worker committed
    row = db.session.get(Job, job.id)
    assert (row.status, row.result) == (JobStatus.FINISHED, {"sent": 1})

    # The same job again (a duplicate enqueue): finished, it is not run again.
    again = send_notification_emails.enqueue(job.args[0])
    # A second job for the same notification: emailed_at stops a second e-mail.
    second = create_email_job(row.params["notification_ids"])
    db.session.commit()
    rq.make_worker().work(burst=True)
    again.refresh()
    assert again.get_status() == "finished" and again.return_value() == {"sent": 1}
    second_rq = queue.fetch_job(second.id)
    assert second_rq.get_status() == "finished" and second_rq.return_value() == {"sent": 0}
    time.sleep(0.2)
    assert len(smtp.messages) == 1
    db.session.expire_all()
    assert db.session.scalar(sa.select(Notification.emailed_at)
                             .where(Notification.lead_id == lead.id)) is not None
