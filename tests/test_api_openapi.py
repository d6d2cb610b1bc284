"""The OpenAPI document describes exactly the API's routes, and real responses fit its schemas."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from sdd_crm.extensions import db

PREFIX = "/api/v1"
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def spec(client):
    resp = client.get(f"{PREFIX}/openapi.json")
    assert resp.status_code == 200
    return resp.get_json()


def _routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([a-z_]+)>", r"{\1}", rule.rule[len(PREFIX):])
        for method in rule.methods - IGNORED_METHODS:
            routes.add((path, method.lower()))
    return routes


def _documented(spec) -> set[tuple[str, str]]:
    methods = {"get", "put", "post", "patch", "delete"}
    return {(path, m) for path, item in spec["paths"].items() for m in item if m in methods}


def test_every_route_is_documented_and_every_documented_path_exists(app, spec):
    routes = _routes(app)
    documented = _documented(spec)
    assert {r for r in routes if r[0] != "/openapi.json"} <= documented, routes - documented
    assert documented <= routes, documented - routes
    assert ("/organisations/{org_id}", "patch") in documented  # the walk finds real routes
    assert spec["servers"] == [{"url": PREFIX}]


def test_document_is_valid_openapi_3_1(spec):
    validator = pytest.importorskip("openapi_spec_validator")
    assert spec["openapi"] == "3.1.0"
    validator.validate(spec)


def test_security_and_error_schema(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "An API token of a user."}
    assert spec["security"] == [{"bearerAuth": []}]
    assert spec["paths"]["/openapi.json"]["get"]["security"] == []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters" or path == "/openapi.json":
                continue
            assert "401" in op["responses"], (path, method)
            assert all(r.startswith(("2", "4")) for r in op["responses"]), (path, method)


def test_documented_fields_are_those_of_design_5(spec):
    schemas = spec["components"]["schemas"]
    org = set(schemas["Organisation"]["properties"])
    assert {"id", "name", "org_type", "kvk_number", "establishment_number", "postcode", "city",
            "municipality", "phone", "sbi_codes", "employees", "annual_turnover_eur",
            "balance_sheet_total_eur", "parent_id", "status", "version", "critical"} <= org
    assert set(schemas["Criticality"]["properties"]) >= {"score", "flag_source", "factors"}
    assert set(schemas["CriticalityFactor"]["properties"]) == {"name", "value", "weight", "contribution"}
    assert {"organisation_id", "first_name", "last_name", "function", "email", "phone", "mobile",
            "preferred_language", "lawful_basis", "consent_date", "source", "objection",
            "review_due", "notes", "version"} <= set(schemas["Contact"]["properties"])


def test_documented_input_fields_match_what_the_api_accepts(spec):
    from sdd_crm.api.schemas.contacts import CONTACT_CREATE
    from sdd_crm.api.schemas.organisations import ORGANISATION_CREATE
    from sdd_crm.contacts.services import FIELDS
    from sdd_crm.organisations.services import EDITABLE_FIELDS

    ORGANISATION_INPUT, CONTACT_INPUT = ORGANISATION_CREATE.load_fields, CONTACT_CREATE.load_fields
    schemas = spec["components"]["schemas"]
    assert set(ORGANISATION_INPUT) == set(EDITABLE_FIELDS) == set(schemas["OrganisationCreate"]["properties"])
    assert set(CONTACT_INPUT) == set(FIELDS) == set(schemas["ContactCreate"]["properties"])
    assert set(schemas["OrganisationPatch"]["required"]) == {"version"}


def _validator(spec, name):
    jsonschema = pytest.importorskip("jsonschema")
    root = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    return jsonschema.Draft202012Validator(root)


def test_real_responses_fit_the_schemas(client, spec, make_user, make_org, make_contact, api_headers):
    from sdd_crm.valuechains.models import CriticalityAssessment

    headers = api_headers(make_user("admin"))
    org = make_org(name="Schema B.V.", sbi_codes=["2811", "30.11"], tags=["x"], employees=20,
                   annual_turnover_eur="1000000.55", establishment_number="000000000001")
    db.session.add(CriticalityAssessment(
        organisation_id=org.id, computed_at=dt.datetime.now(dt.timezone.utc), score=0.7,
        threshold=0.5, critical=True,
        factors=[{"name": "employment", "value": 0.2, "weight": 0.5, "contribution": 0.1}]))
    db.session.commit()
    contact = make_contact(org, consent_date="2025-01-02", lawful_basis="consent")

    checks = [
        ("OrganisationList", client.get(f"{PREFIX}/organisations?q=schema", headers=headers)),
        ("OrganisationDetail", client.get(f"{PREFIX}/organisations/{org.id}", headers=headers)),
        ("OrganisationDetail", client.post(f"{PREFIX}/organisations", headers=headers, json={"name": "Nieuw"})),
        ("ContactList", client.get(f"{PREFIX}/contacts?organisation_id={org.id}", headers=headers)),
        ("Contact", client.get(f"{PREFIX}/contacts/{contact.id}", headers=headers)),
        ("Error", client.get(f"{PREFIX}/organisations")),
        ("Error", client.get(f"{PREFIX}/organisations/999999", headers=headers)),
        ("Error", client.post(f"{PREFIX}/organisations", headers=headers, json={"name": 1, "x": 2})),
        ("Error", client.patch(f"{PREFIX}/organisations/{org.id}", headers=headers, json={})),
        ("Error", client.get(f"{PREFIX}/organisations?page=x", headers=headers)),
    ]
    for name, resp in checks:
        assert resp.status_code < 500
        body = resp.get_json()
        errors = [e.message for e in _validator(spec, name).iter_errors(body)]
        assert not errors, (name, resp.status_code, errors)
    assert len(checks[0][1].get_json()["items"]) == 1


def test_sent_requests_fit_the_input_schemas(spec):
    valid = _validator(spec, "OrganisationCreate")
    assert valid.is_valid({"name": "A", "sbi_codes": ["2811", {"code": "3011", "main": True}]})
    assert not valid.is_valid({"name": "A", "bogus": 1})
    assert not _validator(spec, "OrganisationPatch").is_valid({"name": "A"})
