"""The contacts API: list, get, create, PATCH with version, soft delete, GDPR fields."""

from __future__ import annotations

import datetime as dt

import pytest

from sdd_crm.contacts.models import Contact
from sdd_crm.extensions import db

FIELDS = {
    "id", "organisation_id", "first_name", "last_name", "function", "email", "phone", "mobile",
    "preferred_language", "lawful_basis", "consent_date", "source", "objection", "review_due",
    "notes", "version",
}


@pytest.fixture
def ram(make_user):
    return make_user("regional_account_manager")


@pytest.fixture
def headers(ram, api_headers):
    return api_headers(ram)


def test_list_filters_by_search_and_organisation(client, headers, make_org, make_contact):
    werf, haven = make_org(name="Contactwerf B.V."), make_org(name="Contacthaven B.V.")
    a = make_contact(werf, first_name="Anna", last_name="Zoekbaar")
    b = make_contact(haven, first_name="Bert", last_name="Anders")

    by_org = client.get(f"/api/v1/contacts?organisation_id={haven.id}", headers=headers).get_json()
    assert [c["id"] for c in by_org["items"]] == [b.id]
    by_name = client.get("/api/v1/contacts?q=zoekbaar", headers=headers).get_json()
    assert [c["id"] for c in by_name["items"]] == [a.id]
    by_org_name = client.get("/api/v1/contacts?q=contactwerf", headers=headers).get_json()
    assert [c["id"] for c in by_org_name["items"]] == [a.id]
    assert FIELDS <= set(by_org["items"][0])
    assert by_org["has_next"] is False


def test_list_hides_deleted_contacts_and_those_of_deleted_organisations(
        client, headers, make_org, make_contact):
    org, gone_org = make_org(name="Blijft B.V."), make_org(name="Verdwijnt B.V.")
    kept = make_contact(org, last_name="Verbergtest Blijft")
    deleted = make_contact(org, last_name="Verbergtest Weg")
    orphan = make_contact(gone_org, last_name="Verbergtest Wees")
    assert client.delete(f"/api/v1/contacts/{deleted.id}", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/organisations/{gone_org.id}", headers=headers).status_code == 204

    body = client.get("/api/v1/contacts?q=verbergtest", headers=headers).get_json()
    assert [c["id"] for c in body["items"]] == [kept.id]
    assert client.get(f"/api/v1/contacts/{orphan.id}", headers=headers).status_code == 404
    db.session.expire_all()
    assert db.session.get(Contact, deleted.id).deleted_at is not None  # soft: the row stays


def test_get_contact(client, headers, make_org, make_contact):
    contact = make_contact(make_org(), first_name="Eva", last_name="de Vries", phone="06-12345678")
    body = client.get(f"/api/v1/contacts/{contact.id}", headers=headers).get_json()
    assert body["first_name"] == "Eva" and body["last_name"] == "de Vries"
    assert body["phone"] == "+31612345678"
    assert body["lawful_basis"] == "public_task" and body["objection"] is False
    assert dt.date.fromisoformat(body["review_due"]) > dt.date.today()


def test_create_contact(client, headers, make_org, ram):
    org = make_org()
    resp = client.post("/api/v1/contacts", headers=headers, json={
        "organisation_id": org.id, "first_name": "Piet", "last_name": "Bakker",
        "email": "Piet.Bakker@Example.NL", "mobile": "06 1234 5678", "preferred_language": "en",
        "lawful_basis": "consent", "consent_date": "2025-03-01", "objection": False,
    })
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert resp.headers["Location"] == f"/api/v1/contacts/{body['id']}"
    assert body["organisation_id"] == org.id
    assert body["mobile"] == "+31612345678"
    assert body["email"] == "Piet.Bakker@example.nl"
    assert body["consent_date"] == "2025-03-01"
    assert body["source"] == f"gebruiker:{ram.email}"
    assert body["version"] == 1
    assert db.session.get(Contact, body["id"]).last_name == "Bakker"


def test_consent_needs_a_date(client, headers, make_org):
    before = db.session.query(Contact).count()
    resp = client.post("/api/v1/contacts", headers=headers, json={
        "organisation_id": make_org().id, "last_name": "Zonder", "lawful_basis": "consent"})
    assert resp.status_code == 422
    assert "consent_date" in resp.get_json()["error"]["fields"]
    assert db.session.query(Contact).count() == before


def test_patch_contact_with_version(client, headers, make_org, make_contact):
    contact = make_contact(make_org(), function="Inkoper")
    url = f"/api/v1/contacts/{contact.id}"
    assert client.patch(url, headers=headers, json={"function": "Directeur"}).status_code == 428

    ok = client.patch(url, headers=headers, json={"version": 1, "function": "Directeur"})
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["function"] == "Directeur" and ok.get_json()["objection"] is False
    assert ok.get_json()["version"] == 2
    assert ok.get_json()["last_name"] == contact.last_name

    stale = client.patch(url, headers=headers, json={"version": 1, "function": "Oud"})
    assert stale.status_code == 409
    db.session.expire_all()
    assert db.session.get(Contact, contact.id).function == "Directeur"

    # An objection stops further processing: from then on only admins see the person.
    objected = client.patch(url, headers=headers, json={"version": 2, "objection": True})
    assert objected.status_code == 200 and objected.get_json()["objection"] is True
    assert client.get(url, headers=headers).status_code == 404


def test_delete_contact_checks_optional_version(client, headers, make_org, make_contact):
    contact = make_contact(make_org())
    url = f"/api/v1/contacts/{contact.id}"
    assert client.delete(url + "?version=3", headers=headers).status_code == 409
    assert client.delete(url + "?version=1", headers=headers).status_code == 204
    assert client.get(url, headers=headers).status_code == 404


def test_list_query_count_does_not_grow_with_rows(client, headers, make_org, make_contact, count_queries):
    orgs = [make_org(name=f"Telcontact {i}") for i in range(10)]
    for i in range(30):
        make_contact(orgs[i % 10], last_name=f"Telcontact {i:02d}")
    client.get("/api/v1/organisations?per_page=1", headers=headers)  # first use of the token is recorded
    counts = {}
    for per_page in (5, 30):
        with count_queries() as q:
            body = client.get(f"/api/v1/contacts?q=telcontact&per_page={per_page}", headers=headers).get_json()
        assert len(body["items"]) == per_page
        counts[per_page] = q.count
    assert counts[5] == counts[30], counts


def test_a_stale_patch_shows_the_current_contact_and_audits_that_view(client, headers, make_org,
                                                                      make_contact):
    """The 409 hands the client the stored contact (to merge with): that is a view of the
    person's record, audited like a GET, though the PATCH itself was rolled back."""
    import sqlalchemy as sa

    from sdd_crm.audit.models import AuditEvent

    contact = make_contact(make_org(), function="Inkoper")
    url = f"/api/v1/contacts/{contact.id}"
    assert client.patch(url, headers=headers, json={"version": 1, "function": "Directeur"}
                        ).status_code == 200

    def views():
        return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "view", AuditEvent.entity_type == "contact",
            AuditEvent.entity_id == str(contact.id)))

    before = views()
    stale = client.patch(url, headers=headers, json={"version": 1, "function": "Oud"})
    assert stale.status_code == 409
    error = stale.get_json()["error"]
    assert error["current"]["function"] == "Directeur" and error["changed_fields"] == ["function"]
    db.session.rollback()  # drop anything the request left uncommitted: only what it kept counts
    assert views() == before + 1
