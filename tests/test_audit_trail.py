"""The audit trail (issue 11 point 1): one event per create, update, delete, restore, merge, import,
export, login (success and failure), refusal and view of a contact person — with actor, action,
record, result, origin address and time; never a password or token; shown in Dutch on the admin
screen with filters; in the API for admins; and never changed or deleted through the application.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re

import pytest
import sqlalchemy as sa

from conftest import PASSWORD
from sdd_crm.audit.events import record
from sdd_crm.audit.guard import AuditImmutableError, allow_rewrite
from sdd_crm.audit.models import AuditEvent
from sdd_crm.extensions import db
from sdd_crm.transaction import commit

ADDRESS = "192.0.2.7"
ENV = {"REMOTE_ADDR": ADDRESS}


@pytest.fixture(autouse=True)
def _from_one_address(client):
    """Every request of the test client comes from ADDRESS (the origin the events must hold)."""
    client.environ_base["REMOTE_ADDR"] = ADDRESS


def events(**where) -> list[AuditEvent]:
    db.session.expire_all()
    stmt = sa.select(AuditEvent).order_by(AuditEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    return list(db.session.scalars(stmt))


def one(**where) -> AuditEvent:
    found = events(**where)
    assert len(found) == 1, [(e.action, e.entity_type, e.entity_id, e.result) for e in found]
    return found[0]


def all_payloads() -> str:
    """Every audit row as text, to search for what must never be in it."""
    rows = db.session.execute(sa.select(AuditEvent.__table__)).mappings().all()
    return json.dumps([dict(r) for r in rows], default=str)


def page_text(resp) -> str:
    """The page's HTML unescaped, white space collapsed."""
    return re.sub(r"\s+", " ", html.unescape(resp.get_data(as_text=True)))


# --- one event per kind ----------------------------------------------------------------------

def test_create_update_delete_and_restore_are_audited_with_before_and_after(
        client, make_user, api_headers, login):
    admin = make_user("admin", name="Ada Beheer")
    headers = api_headers(admin)
    resp = client.post("/api/v1/organisations", json={"name": "Werf Oud B.V."}, headers=headers)
    assert resp.status_code == 201
    org_id = str(resp.get_json()["id"])
    created = one(entity_type="organisation", entity_id=org_id, action="create")
    assert created.changes["name"] == [None, "Werf Oud B.V."]
    assert (created.user_id, created.source, created.origin, created.result) == (
        admin.id, "api", ADDRESS, "success")
    assert created.at is not None and created.record_version == 1

    resp = client.patch(f"/api/v1/organisations/{org_id}", headers=headers,
                        json={"name": "Werf Nieuw B.V.", "version": 1})
    assert resp.status_code == 200
    updated = one(entity_type="organisation", entity_id=org_id, action="update")
    assert updated.changes["name"] == ["Werf Oud B.V.", "Werf Nieuw B.V."]
    assert updated.record_version == 2 and updated.origin == ADDRESS

    assert client.delete(f"/api/v1/organisations/{org_id}", headers=headers).status_code == 204
    deleted = one(entity_type="organisation", entity_id=org_id, action="delete")
    assert deleted.changes["deleted_at"][0] is None and deleted.changes["deleted_at"][1]

    login(admin)
    resp = client.post(f"/admin/deleted/organisations/{org_id}/restore")
    assert resp.status_code == 302
    restored = one(entity_type="organisation", entity_id=org_id, action="restore")
    assert restored.changes["deleted_at"][1] is None
    assert (restored.user_id, restored.source, restored.origin) == (admin.id, "web", ADDRESS)


def test_a_merge_is_audited_on_both_records(make_user, make_org):
    from sdd_crm.organisations.merge import merge_organisations

    admin = make_user("admin")
    survivor, merged = make_org(name="Blijft B.V."), make_org(name="Gaat op B.V.")
    merge_organisations(survivor, merged, actor=admin)
    commit()
    assert one(entity_type="organisation", entity_id=str(survivor.id), action="merge").user_id \
        == admin.id
    assert one(entity_type="organisation", entity_id=str(merged.id),
               action="merge").changes["merged_into_id"] == [None, survivor.id]


def test_an_import_run_writes_one_import_event_and_one_per_record(make_user):
    from import_support import csv_bytes, kvk_row, run_import

    admin = make_user("admin")
    data = csv_bytes(["Naam", "KvK-nummer", "Vestigingsnummer", "Straat", "Huisnummer",
                      "Postcode", "Plaats", "SBI", "Werkzame personen", "Omzet"],
                     [kvk_row("Import Een B.V.", "90000001"), kvk_row("Import Twee B.V.", "90000002")])
    summary = run_import(data, "lijst.csv", actor=admin)
    run = one(action="import")
    assert (run.entity_type, run.entity_id, run.user_id) == ("job", summary["job_id"], admin.id)
    assert run.changes["created"] == 2 and run.changes["file"] == "lijst.csv"
    assert len([e for e in events(action="create", entity_type="organisation")]) == 2


def test_exports_are_audited_lists_and_programme_workbooks(client, login, make_user, make_org):
    from sdd_crm.programmes.export_jobs import create_export_job, run_export_job
    from sdd_crm.programmes.models import Programme

    admin = make_user("admin")
    make_org(name="Export B.V.")
    login(admin)
    assert client.get("/imports/export/organisations.csv?q=export").status_code == 200
    listed = one(action="export", entity_type="export")
    assert (listed.user_id, listed.origin, listed.changes["rows"]) == (admin.id, ADDRESS, 1)

    scale = db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))
    job = create_export_job(scale, admin, enqueue=False)
    commit()
    run_export_job(job.id)
    workbook = one(action="export", entity_type="programme")
    assert (workbook.entity_id, workbook.user_id) == (str(scale.id), admin.id)
    assert workbook.changes["job"] == job.id and workbook.changes["file"].endswith(".xlsx")


def test_logins_are_audited_success_and_failure_without_the_password(client, make_user):
    user = make_user("business_developer", email="bea@example.nl")
    wrong = "Verkeerd-wachtwoord-123!"
    resp = client.post("/login", data={"email": "bea@example.nl", "password": wrong})
    assert resp.status_code < 400 or resp.status_code in (401, 422)
    failed = one(action="login", result="failed")
    assert (failed.entity_type, failed.entity_id, failed.user_id, failed.origin) == (
        "user", str(user.id), None, ADDRESS)
    client.post("/login", data={"email": "niemand@example.nl", "password": wrong})
    unknown = events(action="login", result="failed")[-1]
    assert unknown.entity_id == "" and "niemand" not in json.dumps(unknown.changes)

    resp = client.post("/login", data={"email": "bea@example.nl", "password": PASSWORD})
    assert resp.status_code == 302
    ok = one(action="login", result="success")
    assert (ok.entity_id, ok.user_id, ok.origin) == (str(user.id), user.id, ADDRESS)
    text = all_payloads()
    assert wrong not in text and PASSWORD not in text
    logins = json.dumps([e.changes for e in events(action="login")])
    assert "bea@example.nl" not in logins and "niemand@example.nl" not in logins


def test_refused_api_tokens_are_audited_without_the_token(client):
    token = "sdd_dit-is-geen-echt-token-0123456789"
    resp = client.get("/api/v1/organisations", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
    refused = one(action="token_refused")
    assert (refused.result, refused.origin, refused.changes.get("path")) == (
        "refused", ADDRESS, "/api/v1/organisations")
    assert token not in all_payloads()


def test_throttled_api_tokens_are_audited(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "API_TOKEN_FAILURE_LIMIT", "2 per minute")
    statuses = [client.get("/api/v1/organisations",
                           headers={"Authorization": "Bearer sdd_fout"}).status_code
                for _ in range(3)]
    assert statuses == [401, 401, 429]
    throttled = one(action="token_throttled")
    assert (throttled.result, throttled.origin) == ("refused", ADDRESS)
    assert len(events(action="token_refused")) == 2


def test_a_refusal_in_the_browser_is_audited_and_survives_the_rollback(
        client, login, make_user, make_org, make_contact, monkeypatch):
    import sdd_crm.contacts.views as contact_views
    from sdd_crm.exceptions import PermissionDenied

    org = make_org(name="Ongewijzigd B.V.")
    contact = make_contact(org)
    user = make_user("business_developer")
    login(user)

    def write_then_refuse(contact_id, **kwargs):
        org.name = "Zou niet mogen blijven"  # written, then the request is refused
        db.session.flush()
        raise PermissionDenied()

    monkeypatch.setattr(contact_views, "get_contact", write_then_refuse)
    resp = client.get(f"/contacts/{contact.id}?q=geheim")
    assert resp.status_code == 403
    refused = one(action="refused")
    assert (refused.entity_type, refused.entity_id, refused.result, refused.user_id,
            refused.origin, refused.source) == (
        "contact", str(contact.id), "refused", user.id, ADDRESS, "web")
    assert refused.changes == {"method": "GET", "path": f"/contacts/{contact.id}",
                               "http_status": 403}
    db.session.expire_all()
    assert org.name == "Ongewijzigd B.V."  # the request's own write was rolled back
    assert not events(action="update", entity_type="organisation", entity_id=str(org.id))


def test_a_refusal_in_the_api_is_audited(client, make_user, make_org, make_contact, api_headers):
    contact = make_contact(make_org())
    viewer = make_user("viewer")
    resp = client.get(f"/api/v1/contacts/{contact.id}", headers=api_headers(viewer))
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "forbidden"
    refused = one(action="refused")
    assert (refused.entity_type, refused.entity_id, refused.user_id, refused.source,
            refused.origin) == ("contact", str(contact.id), viewer.id, "api", ADDRESS)
    assert refused.changes["method"] == "GET"


def test_a_refused_admin_page_is_audited(client, login, make_user):
    user = make_user("regional_account_manager")
    login(user)
    assert client.get("/admin/audit").status_code == 403
    refused = one(action="refused")
    assert (refused.entity_type, refused.user_id, refused.changes["path"]) == (
        "route", user.id, "/admin/audit")


def test_every_view_of_a_contact_is_audited_in_the_browser_and_the_api(
        client, login, make_user, make_org, make_contact, api_headers):
    contact = make_contact(make_org())
    user = make_user("regional_account_manager")
    login(user)
    assert client.get(f"/contacts/{contact.id}").status_code == 200
    assert client.get(f"/contacts/{contact.id}").status_code == 200
    assert client.get(f"/contacts/{contact.id}/edit").status_code == 200  # shows it all too
    seen = events(action="view", entity_type="contact", entity_id=str(contact.id))
    assert [(e.user_id, e.source, e.origin) for e in seen] == [(user.id, "web", ADDRESS)] * 3

    other = make_user("admin")
    resp = client.get(f"/api/v1/contacts/{contact.id}", headers=api_headers(other))
    assert resp.status_code == 200
    last = events(action="view", entity_type="contact")[-1]
    assert (last.entity_id, last.user_id, last.source) == (str(contact.id), other.id, "api")
    # The browser's list is not a view of a record (it links to them); viewing writes no change
    # to the record's history.
    client.get("/contacts/")
    assert len(events(action="view")) == 4
    # The API's list returns whole records (e-mail, phone, notes): one view per contact in it.
    resp = client.get(f"/api/v1/contacts?organisation_id={contact.organisation_id}",
                      headers=api_headers(other))
    assert [c["id"] for c in resp.get_json()["items"]] == [contact.id]
    last = events(action="view")[-1]
    assert len(events(action="view")) == 5
    assert (last.entity_id, last.user_id, last.source) == (str(contact.id), other.id, "api")


def test_views_and_refusals_stay_out_of_a_records_history(client, login, make_user, make_org,
                                                         make_contact):
    org = make_org(name="Historie B.V.")
    contact = make_contact(org, last_name="Kijker")
    user = make_user("regional_account_manager")
    login(user)
    client.get(f"/contacts/{contact.id}")
    page = page_text(client.get(f"/organisations/{org.id}"))
    assert "Kijker" in page
    assert "Contactpersoon Jan Kijker gewijzigd" not in page


def test_no_password_or_token_in_any_event(client, login, make_user, api_headers):
    from sdd_crm.auth.services import create_token

    admin = make_user("admin")
    token = create_token(admin, "mijn token")
    commit()
    client.get("/api/v1/organisations", headers={"Authorization": f"Bearer {token}"})
    login(admin)
    other = make_user("viewer", name="Veerle")
    new_password = "Een-heel-nieuw-wachtwoord-42!"
    client.post(f"/admin/users/{other.id}/edit", data={
        "name": "Veerle", "email": other.email, "role": "viewer", "municipality": "",
        "active": "y", "password": new_password, "version": other.version})
    record("test", "user", other.id, detail={"password": "geheim-1", "api_token": "geheim-2"})
    commit()
    text = all_payloads()
    for secret in (token, new_password, PASSWORD, "geheim-1", "geheim-2"):
        assert secret not in text
    assert '"password": "***"' in text


# --- the admin screen ------------------------------------------------------------------------

def test_the_admin_screen_reads_in_dutch_with_names_dates_and_links(
        client, login, make_user, make_org, make_contact):
    from sdd_crm.interactions.services import create_task

    admin = make_user("admin", name="Ada Beheer")
    colleague = make_user("regional_account_manager", name="Rik Regio")
    org = make_org(name="Labels B.V.")
    contact = make_contact(org, first_name="Lies", last_name="Label", objection=False)
    task = create_task({"title": "Bellen", "due_date": "2026-03-14", "assignee_id": colleague.id,
                        "organisation_id": org.id}, actor=admin)
    commit()
    login(admin)
    client.get(f"/contacts/{contact.id}")
    page = page_text(client.get("/admin/audit"))

    task_row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*Bellen(?:(?!</tr>).)*</tr>", page, re.S).group(0)
    assert "Taak" in task_row and "Aangemaakt" in task_row
    assert "Toegewezen aan</strong>:" in task_row and "Rik Regio" in task_row
    assert f"#{colleague.id}" not in task_row and "assignee_id" not in task_row
    assert "Uiterste datum</strong>:" in task_row and "2026-03-14" not in task_row
    assert "14 mrt. 2026" in task_row
    assert f'href="/tasks/{task.id}"' in task_row
    assert "Labels B.V." in task_row  # the organisation by name

    contact_row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*Aangemaakt(?:(?!</tr>).)*Lies Label"
                            r"(?:(?!</tr>).)*</tr>", page, re.S).group(0)
    assert "Bezwaar</strong>: Nee" in contact_row and "Voornaam</strong>: Lies" in contact_row
    assert "objection" not in contact_row and "first_name" not in contact_row

    view_row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*Bekeken(?:(?!</tr>).)*</tr>", page, re.S).group(0)
    assert "Ada Beheer" in view_row and f"vanaf {ADDRESS}" in view_row
    assert f'href="/contacts/{contact.id}"' in view_row and "Contactpersoon" in view_row
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:", page)  # no ISO timestamps


def test_the_admin_screen_labels_a_refusal_and_a_failed_login(client, login, make_user):
    make_user("business_developer", email="fout@example.nl")
    client.post("/login", data={"email": "fout@example.nl", "password": "Niet-het-juiste-1"})
    viewer = make_user("viewer", name="Vera Kijk")
    login(viewer)
    client.get("/admin/users")
    client.post("/logout")
    login(make_user("admin"))
    page = page_text(client.get("/admin/audit"))
    refused = re.search(r"<tr[^>]*>(?:(?!</tr>).)*Toegang geweigerd(?:(?!</tr>).)*</tr>", page,
                        re.S).group(0)
    assert "Vera Kijk" in refused and "Geweigerd" in refused and "/admin/users" in refused
    failed = re.search(r"<tr[^>]*>(?:(?!</tr>).)*Mislukt(?:(?!</tr>).)*</tr>", page, re.S).group(0)
    assert "Inloggen" in failed and "Gebruiker" in failed


def _event(**values) -> AuditEvent:
    base = {"at": dt.datetime(2026, 5, 1, 10, tzinfo=dt.timezone.utc), "action": "update",
            "entity_type": "organisation", "entity_id": "1", "changes": {}, "result": "success"}
    event = AuditEvent(**(base | values))
    db.session.add(event)
    return event


def test_the_admin_screen_filters(client, login, make_user):
    admin = make_user("admin", name="Filter Admin")
    other = make_user("regional_account_manager", name="Ander Mens")
    _event(entity_id="11", user_id=other.id, changes={"name": ["a", "MARK-A"]})
    _event(entity_id="12", action="view", entity_type="contact", user_id=admin.id,
           changes={"note": "MARK-B"})
    _event(entity_id="13", action="refused", result="refused", origin="198.51.100.9",
           entity_type="contact", changes={"path": "MARK-C"})
    _event(entity_id="14", at=dt.datetime(2026, 6, 2, 23, 30, tzinfo=dt.timezone.utc),
           changes={"name": ["b", "MARK-D"]})  # 3 June in Amsterdam
    commit()
    login(admin)

    def marks(query):
        resp = client.get("/admin/audit?" + query)
        assert resp.status_code == 200
        return sorted(set(re.findall(r"MARK-[A-D]", page_text(resp))))

    assert marks("") == ["MARK-A", "MARK-B", "MARK-C", "MARK-D"]
    assert marks("entity_type=contact") == ["MARK-B", "MARK-C"]
    assert marks("entity_type=organisation&entity_id=14") == ["MARK-D"]
    assert marks(f"actor={other.id}") == ["MARK-A"]
    assert marks("actor=system") == ["MARK-C", "MARK-D"]
    assert marks("action=view") == ["MARK-B"]
    assert marks("result=refused") == ["MARK-C"]
    assert marks("origin=198.51.100.9") == ["MARK-C"]
    assert marks("date_from=2026-06-03") == ["MARK-D"]
    assert marks("date_to=2026-06-02") == ["MARK-A", "MARK-B", "MARK-C"]
    assert marks("date_from=2026-05-01&date_to=2026-05-01") == ["MARK-A", "MARK-B", "MARK-C"]
    bad = client.get("/admin/audit?date_from=morgen&origin=<x>")
    assert bad.status_code == 200
    assert "Vul een geldige datum in, bijvoorbeeld 6-12-2026." in page_text(bad)


def test_the_admin_screen_runs_a_fixed_number_of_queries(client, login, make_user, make_org,
                                                        count_queries):
    from sdd_crm.interactions.services import create_task

    admin = make_user("admin")
    login(admin)

    def add_events(n):
        for i in range(n):
            worker = make_user("regional_account_manager")
            org = make_org(actor=worker)
            create_task({"title": f"Taak {i}", "assignee_id": worker.id,
                         "organisation_id": org.id}, actor=worker)
            commit()

    def statements():
        with count_queries() as q:
            assert client.get("/admin/audit").status_code == 200
        return q.count

    add_events(2)
    few = statements()
    add_events(8)
    many = statements()
    assert few == many, "a query per row on the audit page"
    assert many <= 15


def test_no_route_changes_or_deletes_audit_rows(app, client, login, make_user):
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            assert rule.methods - {"GET", "HEAD", "OPTIONS"} == set(), rule.rule
    admin = make_user("admin")
    event = _event(changes={"name": ["x", "y"]})
    commit()
    login(admin)
    for method in ("post", "put", "patch", "delete"):
        assert getattr(client, method)("/admin/audit").status_code == 405
        assert getattr(client, method)(f"/admin/audit/{event.id}").status_code == 404
    assert len(events(id=event.id)) == 1


def test_html_and_line_breaks_in_values_are_shown_escaped(client, login, make_user, make_org,
                                                          make_contact):
    admin = make_user("admin")
    make_contact(make_org(name="<script>alert(1)</script> B.V."),
                 notes="regel 1\nVALS regel<b>")
    record("refused", "route", "", result="refused",
           detail={"path": "/x\r\n2026-01-01 admin login_succeeded"})
    commit()
    stored = events(action="refused")[-1]
    assert stored.changes["path"] == "/x\\r\\n2026-01-01 admin login_succeeded"
    login(admin)
    raw = client.get("/admin/audit").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt; B.V." in raw
    assert "regel 1\\nVALS regel&lt;b&gt;" in raw  # one line, the break shown as \n
    assert "/x\\r\\n2026-01-01 admin login_succeeded" in raw


def test_the_security_log_escapes_line_breaks_too(client, caplog):
    import logging

    caplog.set_level(logging.INFO, logger="sdd_crm.security")
    client.get("/api/v1/organisations", headers={"Authorization": "Bearer x"},
               environ_base={"REMOTE_ADDR": "10.0.0.1"})
    with client.application.test_request_context("/x\r\ny"):
        from sdd_crm.security_log import event

        event(logging.WARNING, "probe_refused", reason="a\r\nlogin_succeeded user_id=1")
    lines = [r.getMessage() for r in caplog.records if "probe_refused" in r.getMessage()]
    assert lines and "\n" not in lines[0] and "\\r\\n" in lines[0]


# --- the API ---------------------------------------------------------------------------------

def test_the_api_gives_admins_the_events_of_one_record(client, make_user, make_org, make_contact,
                                                       api_headers):
    admin = make_user("admin")
    headers = api_headers(admin)
    contact = make_contact(make_org())
    other = make_contact(make_org())
    client.get(f"/api/v1/contacts/{contact.id}", headers=headers)
    client.get(f"/api/v1/contacts/{other.id}", headers=headers)
    resp = client.get(f"/api/v1/audit?record_type=contact&record_id={contact.id}", headers=headers)
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["items"] and {(i["record_type"], i["record_id"]) for i in body["items"]} == {
        ("contact", str(contact.id))}
    assert [i["action"] for i in body["items"]] == ["view", "create"]  # newest first
    view = body["items"][0]
    assert (view["actor_id"], view["result"], view["source"]) == (admin.id, "success", "api")
    assert body["has_next"] is False and body["page"] == 1

    only_views = client.get(f"/api/v1/audit?action=view&actor_id={admin.id}", headers=headers)
    assert {i["record_id"] for i in only_views.get_json()["items"]} == {str(contact.id),
                                                                        str(other.id)}
    future = client.get("/api/v1/audit?since=2999-01-01T00:00:00Z", headers=headers)
    assert future.status_code == 200 and future.get_json()["items"] == []
    past = client.get("/api/v1/audit?until=2000-01-01", headers=headers)
    assert past.get_json()["items"] == []
    paged = client.get("/api/v1/audit?per_page=1", headers=headers).get_json()
    assert len(paged["items"]) == 1 and paged["has_next"] and "per_page=1" in paged["next"]


def test_the_api_refuses_everyone_but_admins(client, make_user, api_headers):
    for role in ("regional_account_manager", "local_account_manager", "business_developer",
                 "viewer"):
        resp = client.get("/api/v1/audit?record_type=contact&record_id=1",
                          headers=api_headers(make_user(role)))
        assert resp.status_code == 403, role
        assert resp.get_json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/audit").status_code == 401


def test_the_api_refuses_an_unknown_record_type(client, make_user, api_headers):
    resp = client.get("/api/v1/audit?record_type=organization&record_id=1",
                      headers=api_headers(make_user("admin")))
    assert resp.status_code == 422
    assert "record_type" in resp.get_json()["error"]["fields"]


# --- immutability ----------------------------------------------------------------------------

def test_a_changed_or_deleted_audit_event_is_never_flushed(make_org):
    make_org()
    event = events(action="create")[0]
    event.action = "view"
    with pytest.raises(AuditImmutableError):
        db.session.flush()
    db.session.rollback()
    event = events(action="create")[0]
    db.session.delete(event)
    with pytest.raises(AuditImmutableError):
        db.session.flush()
    db.session.rollback()
    assert events(action="create")


@pytest.mark.parametrize("statement", [
    lambda: sa.update(AuditEvent).values(action="view"),
    lambda: sa.delete(AuditEvent),
])
def test_bulk_updates_and_deletes_of_audit_rows_are_refused(make_org, statement):
    make_org()
    with pytest.raises(AuditImmutableError):
        db.session.execute(statement())
    db.session.rollback()
    with pytest.raises(AuditImmutableError):
        db.session.connection().execute(statement().where(AuditEvent.id > 0))
    db.session.rollback()
    with pytest.raises(AuditImmutableError):
        db.session.execute(sa.text("DELETE FROM audit_event"))
    db.session.rollback()
    with pytest.raises(AuditImmutableError):
        db.session.connection().exec_driver_sql("UPDATE audit_event SET action = 'x'")
    db.session.rollback()
    assert events(action="create")


def test_allow_rewrite_is_the_one_way_to_rewrite_an_audit_row(make_org):
    make_org(name="Geheim B.V.")
    event = events(action="create", entity_type="organisation")[0]
    with allow_rewrite("AVG-test"):
        event.changes = {"name": [None, "[verwijderd]"]}
        db.session.flush()
        db.session.execute(sa.update(AuditEvent).where(AuditEvent.id == event.id)
                           .values(source="gdpr"))
    commit()
    stored = events(id=event.id)[0]
    assert stored.changes == {"name": [None, "[verwijderd]"]} and stored.source == "gdpr"
    stored.action = "view"  # outside the block: refused again
    with pytest.raises(AuditImmutableError):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(ValueError):
        with allow_rewrite(" "):
            pass


@pytest.mark.postgres
def test_postgresql_refuses_a_rewrite_below_the_application(make_org):
    make_org()
    event_id = events(action="create")[0].id
    from sdd_crm.audit import guard

    token = guard._reasons.set(("test: past the application's guard",))  # not allow_rewrite
    try:
        with pytest.raises(sa.exc.DBAPIError, match="audit rows cannot be changed"):
            with db.session.begin_nested():
                db.session.execute(sa.text("UPDATE audit_event SET action = 'x' WHERE id = :i"),
                                   {"i": event_id})
        with pytest.raises(sa.exc.DBAPIError, match="audit rows cannot be changed"):
            with db.session.begin_nested():
                db.session.execute(sa.text("DELETE FROM audit_event"))
    finally:
        guard._reasons.reset(token)
    with allow_rewrite("AVG-test op PostgreSQL"):
        db.session.execute(sa.text("UPDATE audit_event SET source = 'gdpr' WHERE id = :i"),
                           {"i": event_id})
    assert events(id=event_id)[0].source == "gdpr"
