"""/api/v1/clusters, /value-chains (with stages and roles) and /supply-links: CRUD, versions,
bad input (4xx with a Dutch message, nothing saved), every role, fixed statement counts, and
responses that fit the OpenAPI document."""

from __future__ import annotations

import pytest

from sdd_crm.extensions import db
from sdd_crm.valuechains.models import ChainRole, Cluster, SupplyLink, ValueChain, ValueChainStage
from valuechains_support import (
    EDIT_ALL,
    LONG,
    MANAGERS,
    ROLES,
    build_net,
    count,
    count_recomputes,
    link_for,
    live_links,
    role_for,
)


@pytest.fixture
def net(make_user, make_org):
    return build_net(make_user, make_org)


@pytest.fixture
def recomputes(monkeypatch):
    return count_recomputes(monkeypatch)


API = "/api/v1"


@pytest.fixture
def admin_headers(net, api_headers):
    return api_headers(net.users["admin"])


def error(resp, status):
    assert resp.status_code == status, resp.get_json()
    body = resp.get_json()["error"]
    assert body["status"] == status
    return body


# --- Clusters ----------------------------------------------------------------------------------

def test_cluster_crud_with_versions(client, net, admin_headers):
    resp = client.post(f"{API}/clusters", headers=admin_headers,
                       json={"name": "Energietransitie (test)", "description": "Warmte"})
    assert resp.status_code == 201
    created = resp.get_json()
    assert created["value_chains"] == [] and created["version"] == 1
    assert resp.headers["Location"].endswith(f"/clusters/{created['id']}")
    got = client.get(f"{API}/clusters/{net.cluster.id}", headers=admin_headers).get_json()
    assert [c["name"] for c in got["value_chains"]] == ["Scheepsbouw (test)", "Waterstof (test)"]
    listed = client.get(f"{API}/clusters?q=test", headers=admin_headers).get_json()
    assert [c["name"] for c in listed["items"]] == ["Energietransitie (test)", "Maritiem (test)"]
    url = f"{API}/clusters/{created['id']}"
    assert error(client.patch(url, headers=admin_headers, json={"name": "X"}), 428)["code"] == "version_required"
    ok = client.patch(url, headers=admin_headers, json={"name": "Energie", "version": 1})
    assert ok.status_code == 200 and ok.get_json()["version"] == 2
    error(client.patch(url, headers=admin_headers, json={"name": "Oud", "version": 1}), 409)
    assert error(client.patch(url, headers=admin_headers, json={"name": LONG, "version": 2}), 422)[
        "fields"] == {"name": "Hoogstens 100 tekens."}
    # Valid by the document, refused for what is stored: 409 (with the service's messages).
    assert error(client.post(f"{API}/clusters", headers=admin_headers, json={"name": "energie"}), 409)[
        "fields"] == {"name": "Er bestaat al een cluster met deze naam."}
    error(client.delete(f"{url}?version=1", headers=admin_headers), 409)
    assert client.delete(url, headers=admin_headers).status_code == 204
    error(client.get(url, headers=admin_headers), 404)
    refused = error(client.delete(f"{API}/clusters/{net.cluster.id}", headers=admin_headers), 409)
    assert refused["message"].startswith("Dit cluster heeft nog 2 waardeketens")


# --- Value chains, stages, roles ----------------------------------------------------------------

def test_value_chain_crud_with_stages(client, net, admin_headers, recomputes):
    resp = client.post(f"{API}/value-chains", headers=admin_headers, json={
        "name": "Warmtenetten", "cluster_id": net.cluster.id, "stages": ["Bron", "Transport"]})
    assert resp.status_code == 201
    chain = resp.get_json()
    assert [(s["position"], s["name"]) for s in chain["stages"]] == [(1, "Bron"), (2, "Transport")]
    other_cluster = Cluster(name="Bouw (test)")
    db.session.add(other_cluster)
    db.session.commit()
    url = f"{API}/value-chains/{chain['id']}"
    moved = client.patch(url, headers=admin_headers, json={"cluster_id": other_cluster.id, "version": 1})
    assert moved.status_code == 200 and moved.get_json()["cluster_id"] == other_cluster.id
    listed = client.get(f"{API}/value-chains?cluster_id={net.cluster.id}", headers=admin_headers).get_json()
    assert [c["name"] for c in listed["items"]] == ["Scheepsbouw (test)", "Waterstof (test)"]
    assert [s["name"] for s in listed["items"][0]["stages"]] == ["Ontwerp", "Casco", "Afbouw"]
    error(client.get(f"{API}/value-chains?cluster_id=abc", headers=admin_headers), 400)
    # Stages: add at a position, rename and move, delete.
    added = client.post(f"{url}/stages", headers=admin_headers, json={"name": "Opwek", "position": 1})
    assert added.status_code == 201
    assert [s["name"] for s in added.get_json()["stages"]] == ["Opwek", "Bron", "Transport"]
    bron = added.get_json()["stages"][1]["id"]
    changed = client.patch(f"{url}/stages/{bron}", headers=admin_headers, json={"name": "Bronnen", "position": 3})
    assert [s["name"] for s in changed.get_json()["stages"]] == ["Opwek", "Transport", "Bronnen"]
    assert client.delete(f"{url}/stages/{bron}", headers=admin_headers).status_code == 204
    names = [s["name"] for s in client.get(url, headers=admin_headers).get_json()["stages"]]
    assert names == ["Opwek", "Transport"]
    assert recomputes == ["stages", "stage", "stage", "stage", "stage"]
    # A stage of another chain is not found under this one.
    error(client.delete(f"{url}/stages/{net.stage('Casco').id}", headers=admin_headers), 404)
    assert client.delete(f"{url}?version=2", headers=admin_headers).status_code == 204
    error(client.get(url, headers=admin_headers), 404)


@pytest.mark.parametrize("body, status, field, message", [
    ({"name": LONG, "cluster_id": "C"}, 422, "name", "Hoogstens 100 tekens."),
    ({"name": "A", "cluster_id": 999999}, 409, "cluster_id", "Kies een bestaand cluster."),
    ({"name": "A", "cluster_id": "1"}, 422, "cluster_id", "Vul een heel getal in."),
    ({"name": "A", "cluster_id": "C", "stages": "Bron"}, 422, "stages", "Geef een lijst."),
    ({"name": "A", "cluster_id": "C", "stages": ["Bron", "bron"]}, 422, "stages",
     "Twee fasen hebben dezelfde naam: bron."),
    ({"name": "A", "cluster_id": "C", "id": 5}, 422, "id", "Dit veld kan niet worden gewijzigd."),
    ({"name": 5, "cluster_id": "C"}, 422, "name", "Vul tekst in."),
    ({"name": "A\tB", "cluster_id": "C"}, 422, "name", "De tekst bevat ongeldige tekens."),
])
def test_bad_value_chains_are_refused(client, net, admin_headers, body, status, field, message):
    body = {k: (net.cluster.id if v == "C" else v) for k, v in body.items()}
    before = count(ValueChain), count(ValueChainStage)
    assert error(client.post(f"{API}/value-chains", headers=admin_headers, json=body), status)[
        "fields"][field] == message
    assert (count(ValueChain), count(ValueChainStage)) == before


def test_stage_changes_refused(client, net, admin_headers):
    url = f"{API}/value-chains/{net.chain.id}/stages"
    casco = net.stage("Casco").id
    role_for(net, net.dordrecht)
    # Refused for the chain as it is stored: 409; malformed: 422.
    assert error(client.delete(f"{url}/{casco}", headers=admin_headers), 409)["message"].startswith(
        "Deze fase kan niet worden verwijderd: 1 organisatie heeft hier een rol.")
    assert error(client.post(url, headers=admin_headers, json={"name": "casco"}), 409)["fields"] == {
        "name": "Deze waardeketen heeft al een fase met deze naam."}
    assert error(client.patch(f"{url}/{casco}", headers=admin_headers, json={"position": 7}), 409)[
        "fields"] == {"position": "Kies een positie van 1 tot en met 3."}
    error(client.patch(f"{url}/{casco}", headers=admin_headers, json={"position": 0}), 422)
    error(client.patch(f"{url}/{casco}", headers=admin_headers, json={}), 422)
    error(client.patch(f"{url}/{casco}", headers=admin_headers, json={"name": LONG}), 422)
    names = [s["name"] for s in client.get(f"{API}/value-chains/{net.chain.id}",
                                           headers=admin_headers).get_json()["stages"]]
    assert names == ["Ontwerp", "Casco", "Afbouw"]


def test_roles_in_a_chain(client, net, admin_headers, recomputes):
    url = f"{API}/value-chains/{net.chain.id}/roles"
    casco = net.stage("Casco").id
    resp = client.post(url, headers=admin_headers, json={
        "organisation_id": net.dordrecht.id, "stage_id": casco, "role": "oem"})
    assert resp.status_code == 201
    role = resp.get_json()
    assert {k: role[k] for k in ("organisation_id", "value_chain_id", "stage_id", "role")} == {
        "organisation_id": net.dordrecht.id, "value_chain_id": net.chain.id, "stage_id": casco,
        "role": "oem"}
    client.post(url, headers=admin_headers, json={
        "organisation_id": net.sliedrecht.id, "stage_id": net.stage("Ontwerp").id, "role": "tier2"})
    listed = client.get(f"{url}?stage_id={casco}", headers=admin_headers).get_json()
    assert [r["organisation_id"] for r in listed["items"]] == [net.dordrecht.id]
    assert len(client.get(f"{url}?role=tier2", headers=admin_headers).get_json()["items"]) == 1
    error(client.get(f"{url}?role=ceo", headers=admin_headers), 400)
    bad = [
        ({"organisation_id": net.dordrecht.id, "stage_id": net.other.stages[0].id, "role": "oem"},
         409, {"stage_id": "Kies een fase van deze waardeketen."}),
        ({"organisation_id": net.dordrecht.id, "stage_id": casco, "role": "ceo"},
         422, {"role": "Kies een geldige rol in de keten."}),
        ({"organisation_id": net.dordrecht.id, "stage_id": casco, "role": "oem"}, 409, None),
        ({"organisation_id": net.dordrecht.id, "role": "oem"},  # this chain has stages
         409, {"stage_id": "Kies een fase van deze waardeketen."}),
        ({"organisation_id": net.dordrecht.id, "stage_id": casco, "role": "oem",
          "value_chain_id": net.other.id}, 422,
         {"value_chain_id": "Dit veld kan niet worden gewijzigd."}),
    ]
    for body, status, fields in bad:
        assert error(client.post(url, headers=admin_headers, json=body), status).get("fields") == fields
    assert count(ChainRole) == 2
    assert client.delete(f"{url}/{role['id']}", headers=admin_headers).status_code == 204
    error(client.delete(f"{url}/{role['id']}", headers=admin_headers), 404)
    error(client.delete(f"{API}/value-chains/{net.other.id}/roles/{role['id']}", headers=admin_headers), 404)
    assert recomputes == ["chain_role", "chain_role", "chain_role"]


# --- Supply links --------------------------------------------------------------------------------

def test_supply_link_crud_filters_and_versions(client, net, admin_headers, recomputes):
    body = {"supplier_id": net.sliedrecht.id, "customer_id": net.dordrecht.id,
            "value_chain_id": net.chain.id, "supplied": "schroeven", "sole_source": True}
    resp = client.post(f"{API}/supply-links", headers=admin_headers, json=body)
    assert resp.status_code == 201
    link = resp.get_json()
    assert {k: link[k] for k in body} == body and link["version"] == 1
    other = link_for(net, net.dordrecht, net.sliedrecht2, chain=False)
    url = f"{API}/supply-links/{link['id']}"
    assert client.get(url, headers=admin_headers).get_json() == link

    def ids(query):
        resp = client.get(f"{API}/supply-links?{query}", headers=admin_headers)
        assert resp.status_code == 200, resp.get_json()
        return [item["id"] for item in resp.get_json()["items"]]

    assert ids(f"organisation_id={net.dordrecht.id}") == [link["id"], other.id]
    assert ids(f"organisation_id={net.sliedrecht2.id}") == [other.id]
    assert ids(f"value_chain_id={net.chain.id}") == [link["id"]]
    assert ids("sole_source=true") == [link["id"]] and ids("sole_source=0") == [other.id]
    assert ids(f"supplier_id={net.dordrecht.id}") == [other.id]
    for query in ("sole_source=soms", "organisation_id=x", "value_chain_id=0", "page=0"):
        error(client.get(f"{API}/supply-links?{query}", headers=admin_headers), 400)
    assert error(client.patch(url, headers=admin_headers, json={"sole_source": False}), 428)
    changed = client.patch(url, headers=admin_headers, json={"sole_source": False, "version": 1})
    assert changed.status_code == 200 and changed.get_json()["sole_source"] is False
    assert changed.get_json()["version"] == 2
    error(client.patch(url, headers=admin_headers, json={"supplied": "x", "version": 1}), 409)
    error(client.delete(f"{url}?version=1", headers=admin_headers), 409)
    assert client.delete(f"{url}?version=2", headers=admin_headers).status_code == 204
    error(client.get(url, headers=admin_headers), 404)
    assert ids(f"organisation_id={net.sliedrecht.id}") == []
    assert recomputes == ["supply_link"] * 4


@pytest.mark.parametrize("changes, status, fields", [
    ({"customer_id": "SUPPLIER"}, 409, {"customer_id": "Een organisatie kan niet aan zichzelf leveren."}),
    ({"supplied": LONG}, 422, {"supplied": "Hoogstens 500 tekens."}),
    ({"value_chain_id": 999999}, 409, {"value_chain_id": "Kies een bestaande waardeketen, of geen."}),
    ({"supplier_id": "12"}, 422, {"supplier_id": "Vul een heel getal in."}),
    ({"sole_source": "ja"}, 422, {"sole_source": "Vul true of false in."}),
    ({"customer_id": None}, 422, {"customer_id": "Dit veld mag niet leeg zijn."}),
    ({"version": 1}, 422, {"version": "Dit veld kan niet worden gewijzigd."}),
    ({"weight": 3}, 422, {"weight": "Onbekend veld."}),
    ({"supplied": "a\u0000b"}, 422, {"supplied": "De tekst bevat ongeldige tekens."}),
])
def test_bad_supply_links_are_refused_and_nothing_is_saved(client, net, admin_headers, recomputes,
                                                          changes, status, fields):
    body = {"supplier_id": net.sliedrecht.id, "customer_id": net.dordrecht.id,
            "value_chain_id": net.chain.id, "supplied": "schroeven", "sole_source": True}
    body.update({k: (net.sliedrecht.id if v == "SUPPLIER" else v) for k, v in changes.items()})
    assert error(client.post(f"{API}/supply-links", headers=admin_headers, json=body), status)[
        "fields"] == fields
    assert count(SupplyLink) == 0 and recomputes == []


def test_a_duplicate_link_and_bad_bodies_are_refused(client, net, admin_headers):
    link_for(net, net.sliedrecht, net.dordrecht)
    dup = error(client.post(f"{API}/supply-links", headers=admin_headers, json={
        "supplier_id": net.sliedrecht.id, "customer_id": net.dordrecht.id,
        "value_chain_id": net.chain.id}), 409)
    assert dup["message"] == "Deze leveringsrelatie bestaat al (zelfde leverancier, afnemer en waardeketen)."
    error(client.post(f"{API}/supply-links", headers=admin_headers, data="{nee",
                      content_type="application/json"), 400)
    error(client.post(f"{API}/supply-links", headers=admin_headers, json=[1, 2]), 400)
    error(client.get(f"{API}/supply-links/99999999999", headers=admin_headers), 404)
    error(client.get(f"{API}/supply-links"), 401)
    assert live_links() == 1


# --- Every role ------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_every_role_on_the_api(role, client, net, api_headers):
    headers = api_headers(net.users[role])
    theirs = link_for(net, net.sliedrecht, net.sliedrecht2)
    mine = link_for(net, net.sliedrecht, net.dordrecht)
    for url in ("/clusters", f"/clusters/{net.cluster.id}", "/value-chains",
                f"/value-chains/{net.chain.id}", f"/value-chains/{net.chain.id}/roles",
                "/supply-links", f"/supply-links/{theirs.id}"):
        assert client.get(API + url, headers=headers).status_code == 200, url
    manage = role in MANAGERS
    writer = role != "viewer"
    casco = net.stage("Casco").id
    checks = [
        ("POST", "/clusters", {"name": "API-cluster"}, 201 if manage else 403),
        ("PATCH", f"/clusters/{net.cluster.id}", {"description": "x", "version": 1}, 200 if manage else 403),
        ("POST", "/value-chains", {"name": "API-keten", "cluster_id": net.cluster.id}, 201 if manage else 403),
        ("POST", f"/value-chains/{net.chain.id}/stages", {"name": "API-fase"}, 201 if manage else 403),
        ("PATCH", f"/value-chains/{net.chain.id}/stages/{casco}", {"position": 1}, 200 if manage else 403),
        ("POST", f"/value-chains/{net.chain.id}/roles",
         {"organisation_id": net.dordrecht.id, "stage_id": casco, "role": "oem"}, 201 if writer else 403),
        ("POST", f"/value-chains/{net.chain.id}/roles",
         {"organisation_id": net.sliedrecht.id, "stage_id": casco, "role": "oem"},
         201 if role in EDIT_ALL else 403),
        ("POST", "/supply-links", {"supplier_id": net.sliedrecht2.id, "customer_id": net.dordrecht.id},
         201 if writer else 403),
        ("POST", "/supply-links", {"supplier_id": net.sliedrecht2.id, "customer_id": net.sliedrecht.id},
         201 if role in EDIT_ALL else 403),
        ("PATCH", f"/supply-links/{mine.id}", {"sole_source": True, "version": 1}, 200 if writer else 403),
        ("PATCH", f"/supply-links/{theirs.id}", {"sole_source": True, "version": 1},
         200 if role in EDIT_ALL else 403),
        # Moving a link one may edit onto two organisations one may not edit is refused too.
        ("PATCH", f"/supply-links/{mine.id}", {"customer_id": net.sliedrecht2.id, "supplier_id":
                                               net.sliedrecht.id, "version": 2},
         {"viewer": 403, "local_account_manager": 403}.get(role, 409)),  # a duplicate of theirs
        ("DELETE", f"/supply-links/{theirs.id}", None, 204 if role in EDIT_ALL else 403),
        ("DELETE", f"/supply-links/{mine.id}", None, 204 if writer else 403),
    ]
    wrong = []
    for method, url, body, expected in checks:
        resp = client.open(API + url, method=method, headers=headers, json=body)
        if resp.status_code != expected:
            wrong.append(f"{method} {url}: {resp.status_code} {resp.get_json()}, expected {expected}")
    assert not wrong, "\n".join(wrong)
    db.session.expire_all()
    assert (count(Cluster, Cluster.name == "API-cluster") == 1) == manage
    assert (db.session.get(SupplyLink, theirs.id).deleted_at is not None) == (role in EDIT_ALL)
    assert (db.session.get(SupplyLink, mine.id).deleted_at is not None) == writer
    assert db.session.get(SupplyLink, mine.id).customer_id == net.dordrecht.id


# --- Statement counts and the OpenAPI document ---------------------------------------------------

def test_list_statement_counts_do_not_grow(client, net, admin_headers, make_org, count_queries):
    def grow(n):
        for i in range(n):
            org = make_org(actor=net.users["admin"], name=f"Leverancier {i} {n}", city="Papendrecht")
            link_for(net, org, net.dordrecht)
            role_for(net, org, stage="Ontwerp", role="tier2")
        db.session.expire_all()

    urls = [f"{API}/supply-links?organisation_id={net.dordrecht.id}&per_page=100",
            f"{API}/value-chains/{net.chain.id}/roles?per_page=100", f"{API}/value-chains",
            f"{API}/value-chains/{net.chain.id}"]
    grow(3)
    client.get(urls[0], headers=admin_headers)  # the token's first use is written once
    few = {}
    for url in urls:
        with count_queries() as q:
            assert client.get(url, headers=admin_headers).status_code == 200
        few[url] = q.count
    grow(27)
    for url in urls:
        with count_queries() as q:
            assert client.get(url, headers=admin_headers).status_code == 200
        assert q.count == few[url], (url, q.statements)
    assert len(client.get(urls[0], headers=admin_headers).get_json()["items"]) == 30


def test_responses_fit_the_openapi_document(client, net, admin_headers):
    jsonschema = pytest.importorskip("jsonschema")
    spec = client.get(f"{API}/openapi.json").get_json()
    role_for(net, net.dordrecht)
    link = link_for(net, net.sliedrecht, net.dordrecht, sole=True)

    def check(name, resp):
        assert resp.status_code < 500
        root = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
        problems = [e.message for e in jsonschema.Draft202012Validator(root).iter_errors(resp.get_json())]
        assert not problems, (name, problems)

    check("ClusterList", client.get(f"{API}/clusters", headers=admin_headers))
    check("ClusterDetail", client.get(f"{API}/clusters/{net.cluster.id}", headers=admin_headers))
    check("ValueChainList", client.get(f"{API}/value-chains", headers=admin_headers))
    check("ValueChain", client.get(f"{API}/value-chains/{net.chain.id}", headers=admin_headers))
    check("ChainRoleList", client.get(f"{API}/value-chains/{net.chain.id}/roles", headers=admin_headers))
    check("SupplyLinkList", client.get(f"{API}/supply-links", headers=admin_headers))
    check("SupplyLink", client.get(f"{API}/supply-links/{link.id}", headers=admin_headers))
    check("Error", client.post(f"{API}/supply-links", headers=admin_headers, json={"x": 1}))
    valid = jsonschema.Draft202012Validator({"$ref": "#/components/schemas/SupplyLinkCreate",
                                             "components": spec["components"]})
    assert valid.is_valid({"supplier_id": 1, "customer_id": 2, "sole_source": True})
    assert not valid.is_valid({"supplier_id": 1})
