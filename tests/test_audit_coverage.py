"""Gaps of the audit trail closed (issue 11 point 1, review): API tokens issued and revoked, the
contact list of the API as views of each person, 404 refusals of records that exist but are
hidden, programmes by their code in the audit API, and no calendar secret in a security event.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid

import pytest
import sqlalchemy as sa

from sdd_crm.audit.models import AuditEvent
from sdd_crm.auth.models import ApiToken
from sdd_crm.auth.services import create_token, user_for_token
from sdd_crm.extensions import db
from sdd_crm.transaction import commit

ADDRESS = "192.0.2.44"


@pytest.fixture(autouse=True)
def _from_one_address(client):
    client.environ_base["REMOTE_ADDR"] = ADDRESS


def events(**where) -> list[AuditEvent]:
    db.session.expire_all()
    stmt = sa.select(AuditEvent).order_by(AuditEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    return list(db.session.scalars(stmt))


def all_payloads() -> str:
    rows = db.session.execute(sa.select(AuditEvent.__table__)).mappings().all()
    return json.dumps([dict(r) for r in rows], default=str)


# --- 1. API tokens ---------------------------------------------------------------------------

def test_issuing_and_revoking_tokens_on_the_admin_screen_is_audited_without_the_token(
        client, login, make_user):
    admin = make_user("admin")
    target = make_user("regional_account_manager")
    login(admin)
    resp = client.post(f"/admin/users/{target.id}/tokens", data={"name": "Rapportage"})
    assert resp.status_code == 200
    token = resp.get_data(as_text=True).split('id="token">', 1)[1].split("<", 1)[0]
    assert user_for_token(token) == target
    [issued] = events(action="token_issued")
    assert (issued.entity_type, issued.entity_id, issued.user_id, issued.source, issued.origin) \
        == ("user", str(target.id), admin.id, "web", ADDRESS)
    assert issued.changes["label"] == "Rapportage"

    client.post(f"/admin/users/{target.id}/tokens", data={"name": "Tweede"})
    resp = client.post(f"/admin/users/{target.id}/revoke-tokens")
    assert resp.status_code == 302
    [revoked] = events(action="tokens_revoked")
    assert (revoked.entity_id, revoked.user_id) == (str(target.id), admin.id)
    assert revoked.changes["count"] == 2
    assert sorted(revoked.changes["labels"]) == ["Rapportage", "Tweede"]
    assert token not in all_payloads()
    stored = db.session.scalars(sa.select(ApiToken.token_hash)).all()
    assert not any(h in all_payloads() for h in stored)

    # Shown in Dutch on the audit screen.
    page = client.get("/admin/audit?entity_type=user").get_data(as_text=True)
    assert "API-token uitgegeven" in page and "API-tokens ingetrokken" in page


def test_deactivation_audits_the_tokens_it_revokes(client, login, make_user):
    admin = make_user("admin")
    target = make_user("business_developer")
    create_token(target, "koppeling")
    commit()
    login(admin)
    assert client.post(f"/admin/users/{target.id}/deactivate").status_code == 302
    [revoked] = events(action="tokens_revoked", entity_id=str(target.id))
    assert revoked.changes["count"] == 1 and revoked.user_id == admin.id
    # Nothing to revoke: nothing recorded.
    client.post(f"/admin/users/{target.id}/revoke-tokens")
    assert len(events(action="tokens_revoked")) == 1


def test_the_cli_audits_tokens_it_issues_and_revokes(runner, make_user):
    user = make_user("regional_account_manager")
    token = runner.invoke(args=["users", "token", user.email, "--name", "etl"]).output.strip()
    assert user_for_token(token) == user
    [issued] = events(action="token_issued")
    assert (issued.entity_id, issued.source, issued.changes["label"]) == (
        str(user.id), "cli", "etl")
    result = runner.invoke(args=["users", "revoke-tokens", user.email])
    assert "1 token(s) ingetrokken." in result.output
    [revoked] = events(action="tokens_revoked")
    assert (revoked.entity_id, revoked.source, revoked.changes["count"]) == (
        str(user.id), "cli", 1)
    assert token not in all_payloads()


# --- 2. the API's contact list ---------------------------------------------------------------

def _insert_statements(statements) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("INSERT INTO AUDIT_EVENT")]


def test_every_contact_the_api_list_returns_is_audited_as_viewed_in_one_insert(
        client, make_user, make_org, make_contact, api_headers, count_queries):
    org = make_org()
    other = make_org()
    contacts = [make_contact(org) for _ in range(5)]
    elsewhere = make_contact(other)
    user = make_user("regional_account_manager")
    headers = api_headers(user)
    client.get("/api/v1/contacts?per_page=1", headers=headers)  # token use recorded: warm

    def views():
        return events(action="view", entity_type="contact")

    with count_queries() as small:
        resp = client.get(f"/api/v1/contacts?per_page=1&organisation_id={org.id}", headers=headers)
    assert resp.status_code == 200 and len(resp.get_json()["items"]) == 1
    before = len(views())
    with count_queries() as large:
        resp = client.get(f"/api/v1/contacts?per_page=100&organisation_id={org.id}",
                          headers=headers)
    returned = [c["id"] for c in resp.get_json()["items"]]
    assert sorted(returned) == sorted(c.id for c in contacts)
    new = views()[before:]
    assert sorted(int(e.entity_id) for e in new) == sorted(returned)
    assert {(e.user_id, e.source, e.origin, e.result) for e in new} == {
        (user.id, "api", ADDRESS, "success")}
    # One INSERT for the whole page; as many statements for five contacts as for one.
    assert len(_insert_statements(large.statements)) == 1
    assert large.count == small.count, large.statements
    assert str(elsewhere.id) not in {e.entity_id for e in new}

    # An empty page writes nothing.
    before = len(views())
    assert client.get("/api/v1/contacts?q=niemand-heet-zo", headers=headers).get_json()["items"] == []
    assert len(views()) == before


# --- 3. hidden records answered with 404 -----------------------------------------------------

@pytest.fixture
def hidden_world(make_user, make_org, make_contact):
    """Records that exist but that ``outsider`` (a business developer) may not see."""
    from sdd_crm.interactions.services import create_interaction, create_task
    from sdd_crm.jobs.models import Job
    from sdd_crm.leads.services import share_lead
    from sdd_crm.notifications.models import Notification

    admin = make_user("admin")
    author = make_user("local_account_manager", municipality="GM0642")
    make_user("local_account_manager", municipality="GM0610")  # the lead's receiving side
    outsider = make_user("business_developer")
    org = make_org(actor=admin)
    objecting = make_contact(org, objection=True)
    secret = create_interaction(
        {"organisation_id": org.id, "type": "visit", "date": dt.date.today() - dt.timedelta(days=2),
         "subject": "Geheim", "notes": "Vertrouwelijk", "confidential": True}, actor=author)
    task = create_task({"title": "Terugbellen", "organisation_id": org.id,
                        "interaction_id": secret.id}, actor=author)
    lead = share_lead({"organisation_id": org.id, "type": "expansion", "title": "Zoekt grond",
                       "shared_with_municipality": "GM0610"}, actor=author)
    job = Job(id=str(uuid.uuid4()), kind="export_list", status="finished", progress=100,
              created_by_id=author.id, params={})
    notification = Notification(user_id=author.id, kind="lead_shared", title="Voor de auteur",
                                link="/leads/")
    db.session.add_all([job, notification])
    db.session.commit()
    return {"outsider": outsider, "contact": objecting.id, "interaction": secret.id,
            "task": task.id, "lead": lead.id, "job": job.id, "notification": notification.id}


HIDDEN = [
    # (method, URL with {id}, entity type, missing id)
    ("GET", "/contacts/{id}", "contact", 987654),
    ("GET", "/contacts/{id}/edit", "contact", 987654),
    ("GET", "/api/v1/contacts/{id}", "contact", 987654),
    ("GET", "/interactions/{id}", "interaction", 987654),
    ("GET", "/api/v1/interactions/{id}", "interaction", 987654),
    ("GET", "/tasks/{id}", "task", 987654),
    ("GET", "/api/v1/tasks/{id}", "task", 987654),
    ("GET", "/leads/{id}", "lead", 987654),
    ("GET", "/api/v1/leads/{id}", "lead", 987654),
    ("GET", "/jobs/{id}", "job", "00000000-0000-4000-8000-000000000000"),
    ("GET", "/api/v1/jobs/{id}", "job", "00000000-0000-4000-8000-000000000000"),
    ("POST", "/notifications/{id}/open", "notification", 987654),
]


def _without_csrf(body: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', body)


@pytest.mark.parametrize("method, template, entity_type, missing", HIDDEN,
                         ids=[f"{m} {t}" for m, t, _e, _i in HIDDEN])
def test_a_hidden_record_is_answered_as_missing_and_the_refusal_is_audited(
        app, login, api_headers, hidden_world, method, template, entity_type, missing):
    outsider = hidden_world["outsider"]
    record_id = hidden_world[entity_type]
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ADDRESS
    headers = {}
    if template.startswith("/api/"):
        headers = api_headers(outsider)
    else:
        login(outsider, c=client)
    before = len(events(action="refused"))

    hidden = client.open(template.format(id=record_id), method=method, headers=headers)
    absent = client.open(template.format(id=missing), method=method, headers=headers)

    # Byte for byte the answer of a missing id (once the id itself is taken out).
    assert hidden.status_code == absent.status_code == 404
    # Byte-identical but for the CSRF token, which carries the second it was signed in.
    assert _without_csrf(hidden.get_data(as_text=True).replace(template.format(id=record_id), template)) \
        == _without_csrf(absent.get_data(as_text=True).replace(template.format(id=missing), template))
    assert hidden.headers.get("Content-Type") == absent.headers.get("Content-Type")
    refused = events(action="refused")[before:]
    assert len(refused) == 1, [(e.entity_type, e.entity_id) for e in refused]
    [event] = refused
    assert (event.entity_type, event.entity_id, event.result, event.user_id, event.origin) == (
        entity_type, str(record_id), "refused", outsider.id, ADDRESS)
    assert event.changes["http_status"] == 404
    assert event.changes["method"] == method
    assert event.changes["path"] == template.format(id=record_id)


def test_an_admin_sees_the_hidden_records_and_writes_no_refusal(client, login, make_user,
                                                                hidden_world):
    login(make_user("admin"))
    for url in ("/contacts/{contact}", "/interactions/{interaction}", "/tasks/{task}",
                "/leads/{lead}", "/jobs/{job}"):
        assert client.get(url.format(**hidden_world)).status_code == 200, url
    assert events(action="refused") == []


def test_the_refusal_survives_the_rollback_of_a_refused_write(client, login, hidden_world):
    login(hidden_world["outsider"])
    resp = client.post(f"/contacts/{hidden_world['contact']}/edit", data={"last_name": "X"})
    assert resp.status_code == 404
    [event] = events(action="refused", entity_type="contact")
    assert event.changes["method"] == "POST"


# --- 4. programmes by their code in the audit API ---------------------------------------------

def test_the_audit_api_finds_a_programme_by_its_code(client, make_user, api_headers):
    admin = make_user("admin")
    headers = api_headers(admin)
    body = {"code": "haven-2030", "name": "Haven 2030", "start_date": "2025-01-01",
            "end_date": "2026-12-31", "municipalities": ["GM0505"],
            "targets": [{"kind": "sme_count", "value": 10}]}
    resp = client.post("/api/v1/programmes", json=body, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    resp = client.patch("/api/v1/programmes/haven-2030", headers=headers,
                        json={"name": "Haven 2031", "version": resp.get_json()["version"]})
    assert resp.status_code == 200, resp.get_json()

    found = client.get("/api/v1/audit?record_type=programme&record_id=haven-2030",
                       headers=headers)
    assert found.status_code == 200
    items = found.get_json()["items"]
    assert [i["action"] for i in items] == ["update", "create"]
    assert {i["record_type"] for i in items} == {"programme"}
    assert items[0]["changes"]["name"] == ["Haven 2030", "Haven 2031"]
    # The code as typed in any case; the numeric id still works; an unknown code finds nothing.
    upper = client.get("/api/v1/audit?record_type=programme&record_id=HAVEN-2030", headers=headers)
    assert upper.get_json()["items"] == items
    by_id = client.get(f"/api/v1/audit?record_type=programme&record_id={items[0]['record_id']}",
                       headers=headers)
    assert by_id.get_json()["items"] == items
    none = client.get("/api/v1/audit?record_type=programme&record_id=geen-programma",
                      headers=headers)
    assert none.status_code == 200 and none.get_json()["items"] == []


# --- 5. no calendar secret in a security event --------------------------------------------------

def test_a_security_event_on_the_calendar_feed_keeps_the_secret_out_of_the_audit_trail(
        app, make_user, caplog):
    from sdd_crm import security_log

    user = make_user("regional_account_manager")
    secret = "Zx9-geheim_VALUE-1234"
    with app.test_request_context(f"/tasks/calendar/{secret}.ics", method="GET",
                                  environ_base={"REMOTE_ADDR": ADDRESS}):
        security_log.event(logging.WARNING, "session_refused", user_id=user.id, reason="unknown")
    [event] = events(action="session_refused")
    assert event.result == "refused" and event.entity_id == str(user.id)
    assert secret not in event.changes["path"]
    assert event.changes["path"].startswith("/tasks/calendar/")
    assert secret not in all_payloads()


def test_a_refused_session_on_the_calendar_feed_through_the_browser(app, client, login, make_user):
    """The cookie of an ended session sent with a feed request: the event's path is masked."""
    from sdd_crm.tasks.calendar import new_calendar_secret

    user = make_user("regional_account_manager")
    login(user)
    secret = new_calendar_secret(user)
    commit()
    thief = app.test_client()
    thief.environ_base["REMOTE_ADDR"] = ADDRESS
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    thief.set_cookie(cookie.key, cookie.value)
    client.post("/logout")
    assert thief.get(f"/tasks/calendar/{secret}.ics").status_code == 200  # the secret is the key
    [event] = events(action="session_refused")
    assert (event.entity_id, event.changes["path"]) == (str(user.id), "/tasks/calendar/***.ics")
    assert secret not in all_payloads()
