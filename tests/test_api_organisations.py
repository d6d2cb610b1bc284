"""The organisations API: list, filters, pagination, get, create, PATCH with version, soft delete."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from sdd_crm.extensions import db
from sdd_crm.organisations.models import Organisation

DESIGN_FIELDS = {
    "id", "name", "org_type", "kvk_number", "establishment_number", "postcode", "city",
    "municipality", "phone", "sbi_codes", "employees", "annual_turnover_eur",
    "balance_sheet_total_eur", "parent_id", "status", "version", "critical",
}


@pytest.fixture
def ram(make_user):
    return make_user("regional_account_manager")


@pytest.fixture
def headers(ram, api_headers):
    return api_headers(ram)


def test_list_has_design_fields_and_no_deleted(client, headers, make_org, ram):
    kept = make_org(name="Lijsttest Werf B.V.", kvk_number="12345678", sbi_codes=["3011"])
    gone = make_org(name="Lijsttest Weg B.V.")
    client.delete(f"/api/v1/organisations/{gone.id}", headers=headers)

    resp = client.get("/api/v1/organisations?q=lijsttest", headers=headers)

    assert resp.status_code == 200
    body = resp.get_json()
    assert [o["id"] for o in body["items"]] == [kept.id]
    item = body["items"][0]
    assert DESIGN_FIELDS <= set(item)
    assert "criticality" not in item  # single-item view only
    assert item["kvk_number"] == "12345678"
    assert item["municipality"] == "GM0505"
    assert item["sbi_codes"] == [{"code": "3011", "version": "2008", "main": True}]
    assert item["critical"] is False
    assert body["page"] == 1 and body["per_page"] == 50
    assert body["has_next"] is False and body["next"] is None


def test_pagination_follows_next_links(client, headers, make_org):
    ids = {make_org(name=f"Paginatest {i}").id for i in range(5)}

    first = client.get("/api/v1/organisations?q=paginatest&per_page=2", headers=headers).get_json()
    assert first["has_next"] is True and len(first["items"]) == 2
    seen = [o["id"] for o in first["items"]]
    nxt = first["next"]
    while nxt:
        assert "q=paginatest" in nxt
        page = client.get(nxt, headers=headers).get_json()
        seen += [o["id"] for o in page["items"]]
        nxt = page["next"]
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    assert page["page"] == 3 and page["prev"] is not None


def test_per_page_is_clamped_to_the_maximum(client, headers, app):
    body = client.get("/api/v1/organisations?per_page=100000", headers=headers).get_json()
    assert body["per_page"] == app.config["API_MAX_PAGE_SIZE"] == 200


@pytest.mark.parametrize("query, expected", [
    ("kvk=87654321", {"kvk"}),
    ("kvk=8765 4321", {"kvk"}),
    ("q=87654321", {"kvk"}),
    ("municipality=GM0610", {"sliedrecht"}),
    ("municipality=gm0610", {"sliedrecht"}),
    ("type=education", {"school"}),
    ("size_class=large", {"large"}),
    ("critical=true", {"critical"}),
    ("q=filtertest&critical=false", {"kvk", "sliedrecht", "school", "large"}),
])
def test_filters(client, headers, make_org, query, expected):
    orgs = {
        "kvk": make_org(name="Filtertest KvK", kvk_number="87654321"),
        "sliedrecht": make_org(name="Filtertest Sliedrecht", city="Sliedrecht"),
        "school": make_org(name="Filtertest School", org_type="education"),
        "large": make_org(name="Filtertest Groot", employees=900),
        "critical": make_org(name="Filtertest Kritiek"),
    }
    orgs["critical"].is_critical = True
    db.session.commit()
    resp = client.get(f"/api/v1/organisations?{query}", headers=headers)
    assert resp.status_code == 200
    got = {o["id"] for o in resp.get_json()["items"]}
    assert got == {orgs[k].id for k in expected}


def test_cluster_filter(client, headers, make_org):
    from sdd_crm.valuechains.models import Cluster, OrganisationCluster

    member, other = make_org(name="Clustertest Lid"), make_org(name="Clustertest Ander")
    cluster = db.session.scalar(sa.select(Cluster).where(Cluster.name == "Energietransitie"))
    db.session.add(OrganisationCluster(organisation_id=member.id, cluster_id=cluster.id, is_primary=True))
    db.session.commit()
    body = client.get(f"/api/v1/organisations?q=clustertest&cluster={cluster.id}", headers=headers).get_json()
    assert [o["id"] for o in body["items"]] == [member.id]


def test_get_without_assessment_has_empty_criticality(client, headers, make_org):
    org = make_org(name="Enkel B.V.", annual_turnover_eur="1250000.50", balance_sheet_total_eur=400000)
    body = client.get(f"/api/v1/organisations/{org.id}", headers=headers).get_json()
    assert body["id"] == org.id and body["name"] == "Enkel B.V."
    assert body["annual_turnover_eur"] == 1250000.5
    assert body["balance_sheet_total_eur"] == 400000
    assert body["criticality"]["flag_source"] is None
    assert body["criticality"]["factors"] == []
    assert body["criticality"]["score"] is None


def test_get_shows_latest_computed_assessment_and_manual_override(client, headers, make_org):
    from sdd_crm.valuechains.models import CriticalityAssessment

    org = make_org(name="Kritiek B.V.")
    old = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    db.session.add_all([
        CriticalityAssessment(organisation_id=org.id, computed_at=old, score=0.1, threshold=0.5,
                              critical=False, factors=[{"name": "employment", "value": 1,
                                                        "weight": 1, "contribution": 0.1}]),
        CriticalityAssessment(organisation_id=org.id, computed_at=old + dt.timedelta(days=30),
                              score=0.8, threshold=0.5, critical=True, factors=[
                                  {"name": "sole_source", "value": 4, "weight": 0.4, "contribution": 0.5},
                                  {"name": "betweenness", "value": 0.3, "weight": 0.3, "contribution": 0.3},
                              ]),
    ])
    org.is_critical, org.criticality_score = True, 0.8
    db.session.commit()

    crit = client.get(f"/api/v1/organisations/{org.id}", headers=headers).get_json()["criticality"]
    assert crit["flag_source"] == "computed"
    assert crit["score"] == 0.8
    assert [f["name"] for f in crit["factors"]] == ["sole_source", "betweenness"]
    assert crit["factors"][0] == {"name": "sole_source", "value": 4, "weight": 0.4, "contribution": 0.5}

    org.manual_critical, org.manual_critical_reason = False, "Wordt overgenomen"
    db.session.commit()
    body = client.get(f"/api/v1/organisations/{org.id}", headers=headers).get_json()
    assert body["criticality"]["flag_source"] == "manual"
    assert body["criticality"]["manual_reason"] == "Wordt overgenomen"
    assert len(body["criticality"]["factors"]) == 2  # the computed side stays visible


def test_create_normalises_and_derives_municipality(client, headers):
    resp = client.post("/api/v1/organisations", headers=headers, json={
        "name": "  Heerjansdam Techniek B.V. ", "kvk_number": "1234 5670",
        "postcode": "3341ab", "city": "Heerjansdam", "phone": "078-1234567",
        "sbi_codes": ["2811", {"code": "3011", "main": True}], "employees": 12,
        "annual_turnover_eur": "1.250.000,00", "tags": ["scale", "waterstof"],
        "establishment_number": "000012345678",
    })
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert resp.headers["Location"] == f"/api/v1/organisations/{body['id']}"
    assert body["name"] == "Heerjansdam Techniek B.V."
    assert body["kvk_number"] == "12345670"
    assert body["postcode"] == "3341 AB"
    assert body["municipality"] == "GM0642"  # Heerjansdam lies in Zwijndrecht
    assert body["phone"] == "+31781234567"
    assert body["sbi_codes"][0] == {"code": "3011", "version": "2008", "main": True}
    assert body["annual_turnover_eur"] == 1250000
    assert body["size_class"] == "small"
    assert body["establishment_number"] == "000012345678"
    assert body["tags"] == ["scale", "waterstof"]
    assert "criticality" in body
    stored = db.session.get(Organisation, body["id"])
    assert stored.kvk_number == "12345670" and stored.deleted_at is None
    assert body["version"] == stored.version
    again = client.get(resp.headers["Location"], headers=headers).get_json()
    assert again["establishment_number"] == "000012345678"


def test_patch_requires_version_and_refuses_stale(client, headers, make_org):
    org = make_org(name="Versie B.V.", employees=5)
    url = f"/api/v1/organisations/{org.id}"

    missing = client.patch(url, headers=headers, json={"employees": 6})
    assert missing.status_code == 428
    assert missing.get_json()["error"]["code"] == "version_required"
    assert "version" in missing.get_json()["error"]["fields"]

    ok = client.patch(url, headers=headers, json={"version": 1, "employees": 60})
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json()["employees"] == 60
    assert ok.get_json()["size_class"] == "medium"
    assert ok.get_json()["version"] == 2
    assert ok.get_json()["name"] == "Versie B.V."  # a PATCH keeps what it does not mention

    stale = client.patch(url, headers=headers, json={"version": 1, "name": "Overschreven"})
    assert stale.status_code == 409
    assert stale.get_json()["error"]["code"] == "conflict"
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).name == "Versie B.V."


def test_patch_version_as_string_is_refused_as_published(client, headers, make_org):
    # Issue 10: types are enforced as the document publishes them (version is an integer).
    org = make_org(name="Tekstversie B.V.")
    url = f"/api/v1/organisations/{org.id}"
    resp = client.patch(url, headers=headers,
                        json={"version": "1", "city": "Sliedrecht", "municipality": None})
    assert resp.status_code == 422 and "version" in resp.get_json()["error"]["fields"]
    resp = client.patch(url, headers=headers,
                        json={"version": 1, "city": "Sliedrecht", "municipality": None})
    assert resp.status_code == 200
    assert resp.get_json()["municipality"] == "GM0610"


def test_delete_is_soft_and_checks_optional_version(client, headers, make_org, ram):
    org = make_org(name="Weg B.V.")
    url = f"/api/v1/organisations/{org.id}"
    assert client.delete(url + "?version=7", headers=headers).status_code == 409
    assert client.delete(url + "?version=x", headers=headers).status_code == 422

    resp = client.delete(url + "?version=1", headers=headers)
    assert resp.status_code == 204 and resp.data == b""
    db.session.expire_all()
    stored = db.session.get(Organisation, org.id)
    assert stored is not None and stored.deleted_at is not None and stored.deleted_by_id == ram.id
    assert client.get(url, headers=headers).status_code == 404
    assert client.delete(url, headers=headers).status_code == 404
    assert client.patch(url, headers=headers, json={"version": 2}).status_code == 404


def test_list_query_count_does_not_grow_with_rows(client, headers, make_org, count_queries):
    for i in range(40):
        org = make_org(name=f"Telling {i:02d}", sbi_codes=["2811", "3011"], tags=["t"],
                       establishment_number=f"{i:012d}", parent_id=None)
    client.get("/api/v1/organisations?per_page=1", headers=headers)  # first use of the token is recorded
    counts = {}
    for per_page in (5, 40):
        with count_queries() as q:
            resp = client.get(f"/api/v1/organisations?q=telling&per_page={per_page}", headers=headers)
        body = resp.get_json()
        assert len(body["items"]) == per_page
        assert all(o["establishment_number"] and len(o["sbi_codes"]) == 2 and o["tags"] == ["t"]
                   for o in body["items"])
        counts[per_page] = q.count
    assert counts[5] == counts[40], counts
    assert counts[40] <= 10
