"""Bad input on every API endpoint: a 4xx JSON error with a Dutch message, nothing saved, no 500."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sdd_crm.audit.models import AuditEvent
from sdd_crm.contacts.models import Contact
from sdd_crm.extensions import db
from sdd_crm.organisations.models import Organisation


@pytest.fixture
def headers(make_user, api_headers):
    return api_headers(make_user("regional_account_manager"))


def _error(resp, status):
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:300])
    error = resp.get_json()["error"]
    assert error["status"] == status and error["message"]
    return error


def _counts():
    return (db.session.scalar(sa.select(sa.func.count(Organisation.id))),
            db.session.scalar(sa.select(sa.func.count(Contact.id))),
            db.session.scalar(sa.select(sa.func.count(AuditEvent.id))))


ORG_FIELD_ERRORS = [
    ({"name": 123}, "name", "Vul tekst in."),
    ({"name": "x" * 5000}, "name", "Hoogstens 200 tekens."),
    ({"name": ""}, "name", "Vul de naam van de organisatie in."),
    ({"name": None}, "name", None),
    ({"name": "Nul\u0000byte"}, "name", "De tekst bevat ongeldige tekens."),
    ({"name": "\ud800"}, "name", "De tekst bevat ongeldige tekens."),
    ({"employees": "veel"}, "employees", "Vul een heel getal in."),
    ({"employees": -1}, "employees", None),
    ({"employees": 10**30}, "employees", None),
    ({"employees": 1.5}, "employees", None),
    ({"employees": True}, "employees", None),
    ({"employees": [1]}, "employees", None),
    ({"annual_turnover_eur": "heel veel"}, "annual_turnover_eur", None),
    ({"annual_turnover_eur": -5}, "annual_turnover_eur", None),
    ({"balance_sheet_total_eur": 1e20}, "balance_sheet_total_eur", None),
    ({"sbi_codes": "x"}, "sbi_codes", None),
    ({"sbi_codes": [1]}, "sbi_codes", None),
    ({"sbi_codes": {"code": "2811"}}, "sbi_codes", None),
    ({"sbi_codes": [{"code": "2811", "extra": 1}]}, "sbi_codes", None),
    ({"sbi_codes": [{"code": "2811", "version": "1993"}]}, "sbi_codes", None),
    ({"sbi_codes": [{"code": "2811", "main": True}, {"code": "3011", "main": True}]}, "sbi_codes", None),
    ({"sbi_codes": ["2811"] * 21}, "sbi_codes", None),
    ({"tags": [1]}, "tags", None),
    ({"tags": ["x" * 61]}, "tags", None),
    ({"parent_id": "abc"}, "parent_id", None),
    ({"parent_id": 10**12}, "parent_id", None),
    ({"parent_id": 1.5}, "parent_id", None),
    ({"org_type": ["company"]}, "org_type", None),
    ({"org_type": "bank"}, "org_type", "Kies een geldig type organisatie."),
    ({"status": {}}, "status", None),
    ({"kvk_number": "123"}, "kvk_number", "Een KvK-nummer bestaat uit 8 cijfers."),
    ({"kvk_number": 12345678}, "kvk_number", "Vul tekst in."),
    ({"establishment_number": "12"}, "establishment_number", None),
    ({"postcode": "abc"}, "postcode", None),
    ({"phone": "bel me"}, "phone", None),
    ({"email": "geen-adres"}, "email", None),
    ({"website": "x" * 300}, "website", None),
    ({"municipality": 505}, "municipality", None),
    ({"description": "x" * 5001}, "description", None),
    ({"onbekend": 1}, "onbekend", "Onbekend veld."),
    ({"source": "mij"}, "source", "Onbekend veld."),
    ({"id": 5}, "id", "Dit veld kan niet worden gewijzigd."),
    ({"critical": True}, "critical", "Dit veld kan niet worden gewijzigd."),
    ({"size_class": "micro"}, "size_class", "Dit veld kan niet worden gewijzigd."),
]


@pytest.mark.parametrize("path", ["/api/v1/organisations", "/api/v1/contacts"])
def test_create_takes_no_version(client, headers, make_org, path):
    body = {"name": "Met versie", "version": 1} if "organisations" in path else {
        "organisation_id": make_org().id, "last_name": "Met versie", "version": 1}
    before = _counts()
    error = _error(client.post(path, headers=headers, json=body), 422)
    assert error["fields"] == {"version": "Dit veld kan niet worden gewijzigd."}
    assert _counts() == before


@pytest.mark.parametrize("data, field, message", ORG_FIELD_ERRORS)
def test_create_organisation_field_errors(client, headers, data, field, message):
    before = _counts()
    body = {"name": "Geldige naam B.V."} | data
    error = _error(client.post("/api/v1/organisations", headers=headers, json=body), 422)
    assert error["code"] == "validation_error"
    assert field in error["fields"], error
    if message:
        assert error["fields"][field] == message
    assert _counts() == before


@pytest.mark.parametrize("data, field, message", ORG_FIELD_ERRORS)
def test_patch_organisation_field_errors(client, headers, make_org, data, field, message):
    org = make_org(name="Ongewijzigd B.V.", employees=3)
    before = _counts()
    resp = client.patch(f"/api/v1/organisations/{org.id}", headers=headers, json={"version": 1} | data)
    error = _error(resp, 422)
    assert field in error["fields"], error
    if message:
        assert error["fields"][field] == message
    db.session.expire_all()
    stored = db.session.get(Organisation, org.id)
    assert (stored.name, stored.employees, stored.version) == ("Ongewijzigd B.V.", 3, 1)
    assert _counts() == before


def test_duplicate_kvk_is_refused_in_dutch(client, headers, make_org):
    make_org(name="Eerste B.V.", kvk_number="11223344")
    error = _error(client.post("/api/v1/organisations", headers=headers,
                               json={"name": "Tweede B.V.", "kvk_number": "1122 3344"}), 422)
    assert error["fields"]["kvk_number"] == "Dit KvK-nummer is al geregistreerd (Eerste B.V.)."


def test_parent_cycle_is_refused(client, headers, make_org):
    parent = make_org(name="Moeder B.V.")
    child = make_org(name="Dochter B.V.", parent_id=parent.id)
    # Valid by the document, refused for what is stored: 409 (issue 10), with the field's message.
    error = _error(client.patch(f"/api/v1/organisations/{parent.id}", headers=headers,
                                json={"version": parent.version, "parent_id": child.id}), 409)
    assert "parent_id" in error["fields"]


@pytest.mark.parametrize("data, field, message", [
    ({"parent_id": 2_000_000_000}, "parent_id", "Kies een bestaande organisatie."),
    ({"municipality": "GM9999"}, "municipality", None),
])
def test_references_to_missing_records_are_409(client, headers, make_org, data, field, message):
    # A value the document allows that points at nothing stored: 409, nothing saved (issue 10).
    org = make_org(name="Ongewijzigd B.V.")
    before = _counts()
    for resp in (client.post("/api/v1/organisations", headers=headers, json={"name": "Nieuw"} | data),
                 client.patch(f"/api/v1/organisations/{org.id}", headers=headers,
                              json={"version": 1} | data)):
        error = _error(resp, 409)
        assert field in error["fields"], error
        if message:
            assert error["fields"][field] == message
    assert _counts() == before


@pytest.mark.parametrize("version, status", [
    ("x", 422), (True, 422), (0, 422), (-1, 422), (1.5, 422), ([1], 422), (10**30, 422),
    (None, 428), ("", 428),
])
def test_patch_bad_versions(client, headers, make_org, version, status):
    org = make_org(name="Versies B.V.")
    error = _error(client.patch(f"/api/v1/organisations/{org.id}", headers=headers,
                                json={"version": version, "name": "Anders"}), status)
    assert "version" in error["fields"]
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).name == "Versies B.V."


@pytest.mark.parametrize("raw, content_type", [
    ("{", "application/json"),
    ("", "application/json"),
    ("null", "application/json"),
    ("[1, 2]", "application/json"),
    ('"naam"', "application/json"),
    ("42", "application/json"),
    ('{"name": NaN}', "application/json"),
    ('{"employees": 1' + "0" * 5000 + "}", "application/json"),
    ("[" * 100_000, "application/json"),
    ("name=Formulier", "application/x-www-form-urlencoded"),
    ('{"name": "\xff"}', "application/json; charset=latin-1"),
])
@pytest.mark.parametrize("method, path", [
    ("post", "/api/v1/organisations"), ("patch", "/api/v1/organisations/{org}"),
    ("post", "/api/v1/contacts"), ("patch", "/api/v1/contacts/{contact}"),
])
def test_malformed_bodies_are_400(client, headers, make_org, make_contact, raw, content_type, method, path):
    org = make_org()
    contact = make_contact(org)
    before = _counts()
    url = path.format(org=org.id, contact=contact.id)
    data = raw.encode("latin-1") if "latin-1" in content_type else raw
    resp = getattr(client, method)(url, headers=headers, data=data, content_type=content_type)
    error = _error(resp, 400)
    assert error["code"] == "bad_request"
    assert _counts() == before


def test_body_over_one_megabyte_is_413(client, headers):
    before = _counts()
    resp = client.post("/api/v1/organisations", headers=headers,
                       json={"name": "Groot", "description": "x" * (1024 * 1024)})
    _error(resp, 413)
    assert _counts() == before


@pytest.mark.parametrize("query", [
    "page=-1", "page=0", "page=abc", "page=1.5", "page=" + "9" * 30, "per_page=0", "per_page=-5",
    "per_page=veel", "cluster=abc", "cluster=" + "9" * 30, "type=bank", "size_class=reus",
    "critical=misschien", "status=weg", "sort=willekeurig", "q=a%00b", "kvk=%00",
])
def test_bad_list_parameters_are_400(client, headers, query):
    error = _error(client.get(f"/api/v1/organisations?{query}", headers=headers), 400)
    assert error["code"] == "bad_request"


@pytest.mark.parametrize("query", ["organisation_id=abc", "organisation_id=" + "9" * 30,
                                   "page=-1", "per_page=0", "q=%00"])
def test_bad_contact_list_parameters_are_400(client, headers, query):
    _error(client.get(f"/api/v1/contacts?{query}", headers=headers), 400)


@pytest.mark.parametrize("query", ["q=" + "x" * 5000, "q=%25_%5C", "kvk=abc", "municipality=GM0505GM0505",
                                   "per_page=100000", "page=999999", "q=%C3%A9%F0%9F%98%80"])
def test_odd_but_harmless_parameters_give_200(client, headers, query):
    assert client.get(f"/api/v1/organisations?{query}", headers=headers).status_code == 200


@pytest.mark.parametrize("suffix", ["abc", "-1", "0", "1.5", "99999999999999999999", "2147483648", "%00"])
@pytest.mark.parametrize("resource", ["organisations", "contacts"])
@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_non_integer_or_impossible_ids_are_404(client, headers, resource, suffix, method):
    resp = getattr(client, method)(f"/api/v1/{resource}/{suffix}", headers=headers, json={"version": 1})
    _error(resp, 404)


@pytest.mark.parametrize("query", ["version=abc", "version=-3", "version=" + "9" * 30])
def test_delete_with_bad_version_is_422(client, headers, make_org, query):
    org = make_org()
    error = _error(client.delete(f"/api/v1/organisations/{org.id}?{query}", headers=headers), 422)
    assert "version" in error["fields"]
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).deleted_at is None


CONTACT_FIELD_ERRORS = [
    ({"organisation_id": "abc"}, "organisation_id"),
    ({"organisation_id": 10**20}, "organisation_id"),
    ({"organisation_id": True}, "organisation_id"),
    ({"last_name": ""}, "last_name"),
    ({"last_name": 42}, "last_name"),
    ({"last_name": "x" * 5000}, "last_name"),
    ({"first_name": ["Jan"]}, "first_name"),
    ({"email": "geen-adres"}, "email"),
    ({"email": 5}, "email"),
    ({"phone": "12"}, "phone"),
    ({"mobile": {}}, "mobile"),
    ({"preferred_language": "xx"}, "preferred_language"),
    ({"preferred_language": {}}, "preferred_language"),
    ({"lawful_basis": "legitimate_interest"}, "lawful_basis"),
    ({"lawful_basis": ["consent"]}, "lawful_basis"),
    ({"consent_date": "gisteren"}, "consent_date"),
    ({"consent_date": 20250101}, "consent_date"),
    ({"review_due": "2025-13-45"}, "review_due"),
    ({"objection": "ja"}, "objection"),
    ({"objection": 1}, "objection"),
    ({"notes": "x" * 2001}, "notes"),
    ({"notes": "a\u0000b"}, "notes"),
    ({"extra": 1}, "extra"),
    ({"id": 1}, "id"),
]


@pytest.mark.parametrize("data, field", CONTACT_FIELD_ERRORS)
def test_create_contact_field_errors(client, headers, make_org, data, field):
    org = make_org()
    before = _counts()
    body = {"organisation_id": org.id, "last_name": "Geldig"} | data
    error = _error(client.post("/api/v1/contacts", headers=headers, json=body), 422)
    assert field in error["fields"], error
    assert _counts() == before


@pytest.mark.parametrize("data, field", CONTACT_FIELD_ERRORS)
def test_patch_contact_field_errors(client, headers, make_org, make_contact, data, field):
    contact = make_contact(make_org(), last_name="Ongewijzigd")
    before = _counts()
    error = _error(client.patch(f"/api/v1/contacts/{contact.id}", headers=headers,
                                json={"version": 1} | data), 422)
    assert field in error["fields"], error
    db.session.expire_all()
    stored = db.session.get(Contact, contact.id)
    assert (stored.last_name, stored.version) == ("Ongewijzigd", 1)
    assert _counts() == before


def test_contact_for_a_deleted_organisation_is_refused(client, headers, make_org, make_contact):
    # A valid id that points at nothing live: 409 (issue 10), with the field's message.
    org = make_org()
    contact = make_contact(make_org())
    client.delete(f"/api/v1/organisations/{org.id}", headers=headers)
    before = _counts()
    for org_id in (org.id, 2_000_000_000):
        error = _error(client.post("/api/v1/contacts", headers=headers,
                                   json={"organisation_id": org_id, "last_name": "Wees"}), 409)
        assert error["fields"]["organisation_id"] == "Kies een bestaande organisatie."
        error = _error(client.patch(f"/api/v1/contacts/{contact.id}", headers=headers,
                                    json={"version": 1, "organisation_id": org_id}), 409)
        assert error["fields"]["organisation_id"] == "Kies een bestaande organisatie."
    assert _counts() == before
