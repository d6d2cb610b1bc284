"""API: POST /criticality/recompute, GET /jobs/<id>, POST /organisations/<id>/criticality-flag."""

from __future__ import annotations

import pytest

from criticality_support import link, make_chain
from sdd_crm.extensions import db
from sdd_crm.organisations.models import Organisation

API = "/api/v1"


@pytest.fixture
def hub(make_org):
    chain = make_chain()
    hub = make_org(name="Hub")
    for i in range(3):
        link(hub, make_org(name=f"Klant {i}"), chain, sole=True)
    db.session.commit()
    return hub


@pytest.mark.parametrize("role", ["admin", "regional_account_manager"])
def test_recompute_returns_202_with_the_job_and_its_location(client, hub, make_user, api_headers, role):
    headers = api_headers(make_user(role))
    resp = client.post(f"{API}/criticality/recompute", headers=headers)
    assert resp.status_code == 202
    body = resp.get_json()
    assert resp.headers["Location"] == f"{API}/jobs/{body['id']}"
    assert body["kind"] == "criticality_recompute"
    assert (body["status"], body["progress"]) == ("queued", 0)  # 202: pending (issue 10)
    status = client.get(resp.headers["Location"], headers=headers)
    assert status.status_code == 200
    assert {k: status.get_json()[k] for k in ("status", "progress")} == {"status": "finished", "progress": 100}
    assert status.get_json()["result"]["critical"] == 1
    org = client.get(f"{API}/organisations/{hub.id}", headers=headers).get_json()
    assert org["critical"] is True and org["criticality"]["score"] == 1.03


@pytest.mark.parametrize("role", ["local_account_manager", "business_developer", "viewer"])
def test_other_roles_may_not_start_a_recompute(client, make_user, api_headers, role):
    resp = client.post(f"{API}/criticality/recompute", headers=api_headers(make_user(role)))
    assert resp.status_code == 403
    assert resp.get_json()["error"]["message"] == "U heeft geen recht om dit te doen."


def test_a_job_is_visible_to_its_creator_and_admins_only(client, make_user, api_headers):
    manager = make_user("regional_account_manager")
    job_id = client.post(f"{API}/criticality/recompute", headers=api_headers(manager)).get_json()["id"]
    assert client.get(f"{API}/jobs/{job_id}", headers=api_headers(make_user("admin"))).status_code == 200
    for other in (make_user("regional_account_manager"), make_user("viewer")):
        resp = client.get(f"{API}/jobs/{job_id}", headers=api_headers(other))
        assert resp.status_code == 404 and "error" in resp.get_json()
    headers = api_headers(manager)
    assert client.get(f"{API}/jobs/no-such-job", headers=headers).status_code == 404
    assert client.get(f"{API}/jobs/{'x' * 200}", headers=headers).status_code == 404
    assert client.get(f"{API}/jobs/{job_id}").status_code == 401


def test_the_manual_flag_through_the_api(client, hub, make_user, api_headers):
    headers = api_headers(make_user("regional_account_manager"))
    client.post(f"{API}/criticality/recompute", headers=headers)
    url = f"{API}/organisations/{hub.id}/criticality-flag"
    resp = client.post(url, headers=headers, json={"critical": False, "reason": "Levert niet meer regionaal."})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["critical"] is False
    assert {k: body["criticality"][k] for k in ("flag_source", "manual", "manual_reason", "computed", "score")} == {
        "flag_source": "manual", "manual": False, "manual_reason": "Levert niet meer regionaal.",
        "computed": True, "score": 1.03}
    resp = client.post(url, headers=headers, json={"critical": None, "version": body["version"]})
    assert resp.status_code == 200
    assert resp.get_json()["critical"] is True
    assert resp.get_json()["criticality"]["flag_source"] == "computed"


@pytest.mark.parametrize("payload, fields", [
    ({"critical": True}, {"reason": "Geef een reden voor de handmatige markering."}),
    ({"critical": True, "reason": "x" * 1001}, {"reason": "Hoogstens 1000 tekens."}),
    ({"critical": "ja", "reason": "r"}, {"critical": "Vul true, false of null in."}),
    ({"reason": "r"}, {"critical": "Stuur critical mee: true, false of null (geen handmatige markering)."}),
    ({"critical": True, "reason": 5}, {"reason": "Vul tekst in."}),
    ({"critical": True, "reason": "r", "score": 2}, {"score": "Onbekend veld."}),
])
def test_bad_flag_input_is_a_422_in_dutch_and_changes_nothing(client, hub, make_user, api_headers,
                                                               payload, fields):
    headers = api_headers(make_user("admin"))
    resp = client.post(f"{API}/organisations/{hub.id}/criticality-flag", headers=headers, json=payload)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["fields"] == fields
    db.session.expire_all()
    assert db.session.get(Organisation, hub.id).manual_critical is None


def test_the_flag_needs_the_right_role_a_live_organisation_and_the_current_version(
        client, hub, make_user, api_headers):
    url = f"{API}/organisations/{hub.id}/criticality-flag"
    payload = {"critical": True, "reason": "Belangrijk"}
    for role in ("local_account_manager", "business_developer", "viewer"):
        assert client.post(url, headers=api_headers(make_user(role)), json=payload).status_code == 403
    headers = api_headers(make_user("admin"))
    assert client.post(f"{API}/organisations/999999/criticality-flag", headers=headers,
                       json=payload).status_code == 404
    stale = client.post(url, headers=headers, json={**payload, "version": hub.version + 5})
    assert stale.status_code == 409
    assert client.post(url, headers=headers, data="nee", content_type="application/json").status_code == 400


def test_the_openapi_document_describes_the_new_routes(client):
    spec = client.get(f"{API}/openapi.json").get_json()
    assert "post" in spec["paths"]["/criticality/recompute"]
    assert spec["paths"]["/criticality/recompute"]["post"]["responses"]["202"]["content"][
        "application/json"]["schema"] == {"$ref": "#/components/schemas/Job"}
    assert "get" in spec["paths"]["/jobs/{job_id}"]
    assert set(spec["components"]["schemas"]["CriticalityFlag"]["properties"]) == {"critical", "reason", "version"}


def test_responses_fit_the_documented_schemas(client, hub, make_user, api_headers):
    jsonschema = pytest.importorskip("jsonschema")
    spec = client.get(f"{API}/openapi.json").get_json()

    def check(name, body):
        root = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
        errors = [e.message for e in jsonschema.Draft202012Validator(root).iter_errors(body)]
        assert not errors, (name, errors)

    headers = api_headers(make_user("admin"))
    job = client.post(f"{API}/criticality/recompute", headers=headers).get_json()
    check("Job", job)
    check("Job", client.get(f"{API}/jobs/{job['id']}", headers=headers).get_json())
    check("OrganisationDetail", client.post(f"{API}/organisations/{hub.id}/criticality-flag",
                                            headers=headers, json={"critical": True, "reason": "r"}).get_json())
