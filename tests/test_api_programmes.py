"""/api/v1/programmes, their participations and progress (DESIGN 5, issue 5)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from sdd_crm.extensions import db
from sdd_crm.interactions.services import create_interaction
from sdd_crm.programmes.models import Participation, Programme
from sdd_crm.programmes.services import add_participation, change_participation_status

P = "/api/v1/programmes"
ROLES = ("admin", "regional_account_manager", "local_account_manager", "business_developer", "viewer")
MANAGERS = {"admin", "regional_account_manager", "business_developer"}


@pytest.fixture
def users(make_user):
    return {role: make_user(role) for role in ROLES}


@pytest.fixture
def headers(users, api_headers):
    return {role: api_headers(u) for role, u in users.items()}


def _scale():
    return db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))


NEW = {"code": "warmte-2030", "name": "Warmtenetten 2030", "funder": "Provincie",
       "start_date": "2025-01-01", "end_date": "2030-12-31", "municipalities": ["GM0505", "gm0610"],
       "targets": [{"kind": "sme_count", "value": 150, "description": "mkb-bedrijven"}]}


# --- programmes --------------------------------------------------------------------------------

def test_everyone_reads_programmes(client, headers):
    for role in ROLES:
        resp = client.get(P, headers=headers[role])
        assert resp.status_code == 200
        body = resp.get_json()
        assert [p["code"] for p in body["items"]] == ["maritiem-masterplan", "regio-deal", "scale"]
        assert body["has_next"] is False and body["next"] is None
    scale = client.get(f"{P}/SCALE", headers=headers["viewer"]).get_json()
    assert scale == {
        "code": "scale", "name": "SCALE — energietransitie in de gebouwde omgeving",
        "funder": "Nationaal Groeifonds",
        "description": "Verbindt 1.000 regionale mkb-bedrijven met de energietransitie in de gebouwde omgeving.",
        "start_date": "2024-01-01", "end_date": "2028-12-31",
        "municipalities": ["GM0482", "GM0505", "GM0523", "GM0531", "GM0590", "GM0610", "GM0642"],
        "targets": [{"kind": "sme_count", "value": 1000, "description": "mkb-bedrijven"}],
        "version": 1, "created_at": scale["created_at"], "updated_at": scale["updated_at"]}
    assert client.get(f"{P}/scale").status_code == 401
    page = client.get(f"{P}?per_page=2", headers=headers["viewer"]).get_json()
    assert len(page["items"]) == 2 and page["has_next"] is True
    assert page["next"] == f"{P}?page=2&per_page=2"


def test_unknown_code_is_a_json_404(client, headers):
    for url in (f"{P}/nope", f"{P}/nope/progress", f"{P}/nope/participations",
                f"{P}/{'x' * 300}", f"{P}/scale/participations/abc"):
        resp = client.get(url, headers=headers["admin"])
        assert resp.status_code == 404, url
        assert resp.get_json()["error"]["status"] == 404


def test_only_admins_create_change_and_delete_programmes(client, headers):
    for role in ROLES[1:]:
        assert client.post(P, headers=headers[role], json=NEW).status_code == 403
        assert client.patch(f"{P}/scale", headers=headers[role], json={"name": "x", "version": 1}).status_code == 403
        assert client.delete(f"{P}/scale", headers=headers[role]).status_code == 403
    assert db.session.scalar(sa.select(Programme).where(Programme.code == "warmte-2030")) is None

    resp = client.post(P, headers=headers["admin"], json=NEW)
    assert resp.status_code == 201, resp.get_json()
    assert resp.headers["Location"] == f"{P}/warmte-2030"
    body = resp.get_json()
    assert body["municipalities"] == ["GM0505", "GM0610"] and body["version"] == 1
    assert body["targets"] == [{"kind": "sme_count", "value": 150, "description": "mkb-bedrijven"}]

    resp = client.patch(f"{P}/warmte-2030", headers=headers["admin"],
                        json={"version": 1, "targets": [{"value": 200}, {"value": 5, "description": "groot"}]})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["version"] == 2 and body["name"] == "Warmtenetten 2030"
    assert body["targets"] == [{"kind": "sme_count", "value": 200, "description": None},
                               {"kind": "sme_count", "value": 5, "description": "groot"}]
    stale = client.patch(f"{P}/warmte-2030", headers=headers["admin"], json={"version": 1, "name": "Oud"})
    assert stale.status_code == 409
    missing = client.patch(f"{P}/warmte-2030", headers=headers["admin"], json={"name": "Zonder"})
    assert missing.status_code == 428
    assert missing.get_json()["error"]["code"] == "version_required"
    assert client.delete(f"{P}/warmte-2030?version=1", headers=headers["admin"]).status_code == 409
    assert client.delete(f"{P}/warmte-2030?version=2", headers=headers["admin"]).status_code == 204
    assert client.get(f"{P}/warmte-2030", headers=headers["admin"]).status_code == 404
    # Its code stays taken: it can be restored. Valid by the document, refused for what is
    # stored: 409.
    taken = client.post(P, headers=headers["admin"], json=NEW)
    assert taken.status_code == 409
    assert taken.get_json()["error"]["fields"] == {
        "code": "Deze code is al in gebruik (ook verwijderde programma's tellen mee)."}


@pytest.mark.parametrize("change, field", [
    ({"code": "Met Spaties"}, "code"), ({"code": "x" * 41}, "code"), ({"code": 5}, "code"),
    ({"name": ""}, "name"), ({"name": "n" * 201}, "name"), ({"funder": "f" * 201}, "funder"),
    ({"description": "d" * 5001}, "description"), ({"start_date": "2025-13-01"}, "start_date"),
    ({"start_date": 20250101}, "start_date"), ({"code": "SCALE-2"}, "code"),
    ({"municipalities": []}, "municipalities"), ({"municipalities": ["Dordrecht"]}, "municipalities"),
    ({"municipalities": "GM0505"}, "municipalities"), ({"targets": []}, "targets"),
    ({"targets": [{"value": -1}]}, "targets.0.value"), ({"targets": [{"value": 0}]}, "targets.0.value"),
    ({"targets": [{"value": 1_000_001}]}, "targets.0.value"), ({"targets": [{"value": 1.5}]}, "targets.0.value"),
    ({"targets": [{"value": True}]}, "targets.0.value"), ({"targets": [{"value": 10, "kind": "euro"}]}, "targets.0.kind"),
    ({"targets": [{"value": 10, "x": 1}]}, "targets.0.x"), ({"targets": [5]}, "targets.0"),
    ({"bogus": 1}, "bogus"), ({"version": 1}, "version"), ({"name": "a\x00b"}, "name"),
])
def test_bad_programme_input_is_a_dutch_422(client, headers, change, field):
    resp = client.post(P, headers=headers["admin"], json=NEW | change)
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["error"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Programme)) == 3


@pytest.mark.parametrize("change, field", [
    ({"end_date": "2024-01-01"}, "end_date"), ({"municipalities": ["GM9999"]}, "municipalities"),
])
def test_programme_input_the_document_allows_but_the_data_refuses_is_a_409(client, headers,
                                                                           change, field):
    resp = client.post(P, headers=headers["admin"], json=NEW | change)
    assert resp.status_code == 409, resp.get_json()
    assert field in resp.get_json()["error"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Programme)) == 3


def test_patch_keeps_the_code_and_checks_the_period_against_the_stored_dates(client, headers):
    resp = client.patch(f"{P}/scale", headers=headers["admin"], json={"version": 1, "code": "andere"})
    assert resp.status_code == 409
    assert resp.get_json()["error"]["fields"] == {"code": "De code van een programma kan niet meer worden gewijzigd."}
    resp = client.patch(f"{P}/scale", headers=headers["admin"], json={"version": 1, "end_date": "2023-12-31"})
    assert resp.status_code == 409
    assert resp.get_json()["error"]["fields"] == {"end_date": "De einddatum ligt vóór de begindatum."}
    resp = client.patch(f"{P}/scale", headers=headers["admin"], json={"version": 1, "start_date": "2029-01-01"})
    assert resp.status_code == 409  # after the stored end date
    assert resp.get_json()["error"]["fields"] == {"end_date": "De einddatum ligt vóór de begindatum."}
    resp = client.patch(f"{P}/scale", headers=headers["admin"], json={"code": "scale", "version": "abc"})
    assert resp.status_code == 422
    assert client.patch(f"{P}/scale", headers=headers["admin"], data="[1]").status_code == 400
    assert _scale().version == 1


# --- participations ----------------------------------------------------------------------------

def _org(make_org, **kw):
    return make_org(**({"employees": 10} | kw))


def test_managing_participations_permission_matrix(client, headers, users, make_org):
    org = _org(make_org)
    for role in ROLES:
        resp = client.post(f"{P}/scale/participations", headers=headers[role],
                           json={"organisation_id": org.id, "status": "approached"})
        if role in MANAGERS:
            assert resp.status_code == 201, (role, resp.get_json())
            pid = resp.get_json()["id"]
            assert resp.headers["Location"] == f"{P}/scale/participations/{pid}"
            version = resp.get_json()["version"]
            assert client.patch(f"{P}/scale/participations/{pid}", headers=headers[role],
                                json={"version": version, "notes": role}).status_code == 200
            assert client.delete(f"{P}/scale/participations/{pid}", headers=headers[role]).status_code == 204
        else:
            assert resp.status_code == 403, role
            assert resp.get_json()["error"]["status"] == 403
    p = db.session.scalar(sa.select(Participation).where(Participation.organisation_id == org.id))
    for role in ("local_account_manager", "viewer"):
        assert client.patch(f"{P}/scale/participations/{p.id}", headers=headers[role],
                            json={"version": p.version, "notes": "x"}).status_code in (403, 404)


def test_participation_flow_with_dutch_errors(client, headers, users, make_org):
    org = _org(make_org, name="Alfa Installatie B.V.")
    h = headers["business_developer"]
    resp = client.post(f"{P}/scale/participations", headers=h, json={"organisation_id": org.id})
    body = resp.get_json()
    assert (body["status"], body["owner_id"], body["counts"], body["reason"]) == (
        "identified", users["business_developer"].id, False, "status")
    assert body["events"] == [{"from_status": None, "to_status": "identified",
                               "at": body["events"][0]["at"], "user_id": users["business_developer"].id}]
    assert body["next_statuses"] == ["approached", "interested", "participating", "completed", "declined"]
    url = f"{P}/scale/participations/{body['id']}"

    resp = client.patch(url, headers=h, json={"version": 1, "status": "participating",
                                              "owner_id": users["regional_account_manager"].id})
    body = resp.get_json()
    assert resp.status_code == 200
    assert (body["status"], body["counts"], body["reason"], body["version"]) == ("participating", True, None, 2)
    assert [e["to_status"] for e in body["events"]] == ["identified", "participating"]

    resp = client.patch(url, headers=h, json={"version": 2, "status": "approached"})
    assert resp.status_code == 409  # a valid status, but not from the current one
    assert resp.get_json()["error"]["fields"] == {"status": "Van 'Neemt deel' kan niet naar 'Benaderd'."}
    assert client.patch(url, headers=h, json={"version": 1, "notes": "x"}).status_code == 409
    assert client.patch(url, headers=h, json={"notes": "x"}).status_code == 428
    for bad in ({"version": 2, "status": "bogus"}, {"version": 2, "status": None},
                {"version": 2, "notes": "n" * 5001}, {"version": 2, "notes": "a\x00b"},
                {"version": 2, "owner_id": "abc"}, {"version": 2, "organisation_id": org.id},
                {"version": 2, "counts": True}, {"version": 2, "nope": 1}):
        assert client.patch(url, headers=h, json=bad).status_code == 422, bad
    assert client.patch(url, headers=h, json={"version": 2, "owner_id": users["viewer"].id}
                        ).status_code == 409  # a user id, but not of a possible owner
    assert client.post(f"{P}/scale/participations", headers=h,
                       json={"organisation_id": org.id}).get_json()["error"]["fields"] == {
        "organisation_id": "Deze organisatie doet al mee aan dit programma."}
    for bad in ({"organisation_id": "1"}, {}, {"organisation_id": org.id, "status": "klaar"}):
        assert client.post(f"{P}/scale/participations", headers=h, json=bad).status_code == 422, bad
    assert client.post(f"{P}/scale/participations", headers=h,
                       json={"organisation_id": 99999999}).status_code == 409
    for bad in ("/0", "/99999999999", "/abc"):
        assert client.get(f"{P}/scale/participations{bad}", headers=h).status_code == 404
    # Another programme's participation is not found under this code.
    assert client.get(url.replace("/scale/", "/regio-deal/"), headers=h).status_code == 404

    assert client.delete(f"{url}?version=1", headers=h).status_code == 409
    assert client.delete(url, headers=h).status_code == 204
    assert client.get(url, headers=h).status_code == 404
    # Adding it again brings the same participation back.
    again = client.post(f"{P}/scale/participations", headers=h, json={"organisation_id": org.id})
    assert again.status_code == 201 and again.get_json()["id"] == int(url.rsplit("/", 1)[1])


def _world(users, make_org, make_user):
    bd = users["business_developer"]
    author = make_user("local_account_manager", municipality="GM0642")
    scale = _scale()
    orgs = {
        "a": _org(make_org, name="Alfa B.V.", city="Dordrecht", kvk_number="12345678"),
        "b": _org(make_org, name="Bravo B.V.", city="Sliedrecht"),
        "c": _org(make_org, name="Charlie B.V.", city="Gorinchem"),
    }
    parts = {k: add_participation(scale, o.id, actor=bd, status="participating", notes=f"notitie {k}")
             for k, o in orgs.items()}
    today = dt.date.today()
    public = create_interaction({"organisation_id": orgs["a"].id, "type": "visit", "date": today,
                                 "subject": "Bezoek"}, actor=author)
    secret = create_interaction({"organisation_id": orgs["a"].id, "type": "call", "date": today,
                                 "subject": "Geheim", "confidential": True}, actor=author)
    parts["a"].interactions.extend([public, secret])
    db.session.commit()
    return parts, public, secret


def test_participation_list_shows_counts_notes_and_visible_links(client, headers, users, make_org, make_user):
    parts, public, secret = _world(users, make_org, make_user)
    body = client.get(f"{P}/scale/participations", headers=headers["admin"]).get_json()
    items = {i["organisation_name"]: i for i in body["items"]}
    assert set(items) == {"Alfa B.V.", "Bravo B.V.", "Charlie B.V."}
    assert (items["Alfa B.V."]["counts"], items["Alfa B.V."]["reason"]) == (True, None)
    assert (items["Charlie B.V."]["counts"], items["Charlie B.V."]["reason"]) == (False, "outside_region")
    assert sorted(items["Alfa B.V."]["interaction_ids"]) == sorted([public.id, secret.id])
    assert items["Alfa B.V."]["notes"] == "notitie a" and items["Alfa B.V."]["municipality"] == "GM0505"

    bd = {i["organisation_name"]: i for i in client.get(
        f"{P}/scale/participations", headers=headers["business_developer"]).get_json()["items"]}
    assert bd["Alfa B.V."]["interaction_ids"] == [public.id]  # the confidential one stays hidden
    viewer = {i["organisation_name"]: i for i in client.get(
        f"{P}/scale/participations", headers=headers["viewer"]).get_json()["items"]}
    assert viewer["Alfa B.V."]["notes"] is None and viewer["Alfa B.V."]["interaction_ids"] == []
    assert viewer["Alfa B.V."]["counts"] is True
    single = client.get(f"{P}/scale/participations/{parts['a'].id}", headers=headers["viewer"]).get_json()
    assert single["notes"] is None and single["next_statuses"] == [] and len(single["events"]) == 1


@pytest.mark.parametrize("query, expected", [
    ("status=participating", {"a", "b", "c"}), ("status=approached", set()),
    ("municipality=gm0610", {"b"}), ("q=charl", {"c"}), ("q=12345678", {"a"}),
    ("counted=true", {"a", "b"}), ("counted=0", {"c"}),
])
def test_participation_list_filters(client, headers, users, make_org, make_user, query, expected):
    parts, _public, _secret = _world(users, make_org, make_user)
    names = {p.organisation.name: k for k, p in parts.items()}
    body = client.get(f"{P}/scale/participations?{query}", headers=headers["viewer"]).get_json()
    assert {names[i["organisation_name"]] for i in body["items"]} == expected


def test_participation_list_filters_by_owner_and_organisation(client, headers, users, make_org, make_user):
    parts, _public, _secret = _world(users, make_org, make_user)
    h = headers["admin"]
    ids = lambda q: {i["id"] for i in client.get(f"{P}/scale/participations?{q}", headers=h).get_json()["items"]}  # noqa: E731
    assert ids(f"organisation_id={parts['b'].organisation_id}") == {parts["b"].id}
    assert ids(f"owner_id={users['business_developer'].id}") == {p.id for p in parts.values()}
    assert ids(f"owner_id={users['admin'].id}") == set()


@pytest.mark.parametrize("query", ["status=klaar", "owner_id=abc", "cluster_id=-1", "counted=misschien",
                                   "organisation_id=1.5", "page=0", "per_page=x", "q=a%00b"])
def test_bad_list_parameters_are_a_400(client, headers, query):
    resp = client.get(f"{P}/scale/participations?{query}", headers=headers["admin"])
    assert resp.status_code == 400, query
    assert resp.get_json()["error"]["message"]


def test_participation_list_costs_a_fixed_number_of_queries(client, headers, users, make_org,
                                                           make_user, count_queries):
    parts, _public, _secret = _world(users, make_org, make_user)
    h = headers["business_developer"]
    url = f"{P}/scale/participations"
    client.get(url, headers=h)  # the token's "last used" is written once, not per request
    db.session.expire_all()
    with count_queries() as few:
        assert len(client.get(url, headers=h).get_json()["items"]) == 3
    bd = users["business_developer"]
    for n in range(8):
        org = _org(make_org, city="Zwijndrecht")
        p = add_participation(_scale(), org.id, actor=bd, owner_id=users["regional_account_manager"].id)
        create_interaction({"organisation_id": org.id, "type": "visit", "date": dt.date.today(),
                            "subject": f"Bezoek {n}"}, actor=bd)
        change_participation_status(p, "participating", actor=bd)
    db.session.commit()
    db.session.expire_all()
    with count_queries() as many:
        assert len(client.get(url, headers=h).get_json()["items"]) == 11
    # token with its user, programme (+ region, targets), whether the programme is counted, the
    # page, its kept verdicts (programmes/tally.py), the links and their contact moments
    assert many.count == few.count == 9


def test_linking_contact_moments(client, headers, users, make_org, make_user):
    parts, public, secret = _world(users, make_org, make_user)
    other = create_interaction({"organisation_id": parts["b"].organisation_id, "type": "visit",
                                "date": dt.date.today(), "subject": "Elders"}, actor=users["admin"])
    db.session.commit()
    h = headers["business_developer"]
    url = f"{P}/scale/participations/{parts['b'].id}/interactions"
    resp = client.post(url, headers=h, json={"interaction_id": other.id})
    assert resp.status_code == 201 and resp.get_json()["interaction_ids"] == [other.id]
    wrong = client.post(url, headers=h, json={"interaction_id": public.id})
    assert wrong.get_json()["error"]["fields"] == {
        "interaction_id": "Dit contactmoment hoort bij een andere organisatie dan deze deelname."}
    hidden = client.post(f"{P}/scale/participations/{parts['a'].id}/interactions", headers=h,
                         json={"interaction_id": secret.id})
    assert hidden.status_code == 409
    assert client.post(url, headers=h, json={"interaction_id": "x"}).status_code == 422
    assert client.post(url, headers=headers["viewer"], json={"interaction_id": other.id}).status_code == 403
    assert client.delete(f"{url}/{other.id}", headers=headers["viewer"]).status_code == 403
    assert client.delete(f"{url}/{other.id}", headers=h).status_code == 204
    assert client.delete(f"{url}/{other.id}", headers=h).status_code == 404  # no such link
    assert client.get(f"{P}/scale/participations/{parts['b'].id}", headers=h).get_json()["interaction_ids"] == []


# --- progress ----------------------------------------------------------------------------------

def test_progress_numbers_on_crafted_data(client, headers, users, make_org):
    bd = users["business_developer"]
    scale = _scale()

    def join(status="participating", **kw):
        org = make_org(**kw)
        add_participation(scale, org.id, actor=bd, status=status)
        return org

    join(city="Dordrecht", employees=249, annual_turnover_eur=50_000_000)  # counts
    join(city="Dordrecht", employees=10)  # counts, unverified
    join(city="Sliedrecht", employees=3, balance_sheet_total_eur=1_000_000, status="completed")  # counts
    join(city="Heerjansdam", employees=40, annual_turnover_eur=2_000_000)  # Zwijndrecht, counts
    join(city="Dordrecht", employees=10, status="interested")  # status
    join(city="Gorinchem", employees=10)  # outside_region
    join(city="Dordrecht", employees=250)  # not_sme
    join(city="Dordrecht")  # employees_unknown
    join(city="Dordrecht", employees=5, org_type="education")  # not_company
    dissolved = join(city="Papendrecht", employees=5)
    dissolved.status = "dissolved"
    big = make_org(city="Rotterdam", employees=900, annual_turnover_eur=400_000_000)
    join(city="Dordrecht", employees=20, parent_id=big.id)  # group_not_sme
    db.session.commit()

    for role in ROLES:
        resp = client.get(f"{P}/scale/progress", headers=headers[role])
        assert resp.status_code == 200
    body = resp.get_json()
    assert body["code"] == "scale" and body["target"] == 1000
    assert (body["counted"], body["unverified"]) == (4, 1)
    assert body["excluded"] == {"status": 1, "deleted": 0, "dissolved": 1, "outside_region": 1,
                                "not_company": 1, "employees_unknown": 1, "not_sme": 1,
                                "group_not_sme": 1, "duplicate": 0}
    assert body["by_municipality"] == [
        {"code": "GM0482", "name": "Alblasserdam", "counted": 0},
        {"code": "GM0505", "name": "Dordrecht", "counted": 2},
        {"code": "GM0523", "name": "Hardinxveld-Giessendam", "counted": 0},
        {"code": "GM0531", "name": "Hendrik-Ido-Ambacht", "counted": 0},
        {"code": "GM0590", "name": "Papendrecht", "counted": 0},
        {"code": "GM0610", "name": "Sliedrecht", "counted": 1},
        {"code": "GM0642", "name": "Zwijndrecht", "counted": 1},
    ]
    # The same verdicts appear on the participations.
    items = client.get(f"{P}/scale/participations?per_page=100", headers=headers["viewer"]).get_json()["items"]
    assert sum(i["counts"] for i in items) == 4
    assert sorted(i["reason"] for i in items if i["reason"]) == sorted(
        ["status", "outside_region", "not_sme", "employees_unknown", "not_company", "dissolved",
         "group_not_sme"])


def test_progress_of_an_empty_programme(client, headers):
    body = client.get(f"{P}/maritiem-masterplan/progress", headers=headers["viewer"]).get_json()
    assert (body["target"], body["counted"], body["unverified"]) == (100, 0, 0)
    assert set(body["excluded"].values()) == {0} and len(body["excluded"]) == 9
    assert len(body["by_municipality"]) == 9


def test_real_responses_fit_the_openapi_schemas(client, headers, users, make_org, make_user):
    jsonschema = pytest.importorskip("jsonschema")
    spec = client.get("/api/v1/openapi.json").get_json()
    parts, _public, _secret = _world(users, make_org, make_user)
    h = headers["admin"]
    checks = [
        ("ProgrammeList", client.get(P, headers=h)),
        ("Programme", client.get(f"{P}/scale", headers=h)),
        ("Programme", client.post(P, headers=h, json=NEW)),
        ("ProgrammeProgress", client.get(f"{P}/scale/progress", headers=h)),
        ("ParticipationList", client.get(f"{P}/scale/participations", headers=h)),
        ("ParticipationDetail", client.get(f"{P}/scale/participations/{parts['a'].id}", headers=h)),
        ("ParticipationDetail", client.patch(f"{P}/scale/participations/{parts['a'].id}", headers=h,
                                             json={"version": parts["a"].version, "notes": None})),
        ("Error", client.get(f"{P}/nope/progress", headers=h)),
    ]
    for name, resp in checks:
        assert resp.status_code < 300 or name == "Error", (name, resp.status_code)
        validator = jsonschema.Draft202012Validator(
            {"$ref": f"#/components/schemas/{name}", "components": spec["components"]})
        errors = [e.message for e in validator.iter_errors(resp.get_json())]
        assert not errors, (name, errors)
    create = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/ProgrammeCreate", "components": spec["components"]})
    assert create.is_valid(NEW) and not create.is_valid(NEW | {"code": "Met Spaties"})


@pytest.mark.parametrize("target", [{"kind": {}}, {"kind": []}, {"kind": None, "value": {}},
                                    {"value": 10, "description": {"a": 1}}])
def test_a_target_of_the_wrong_json_type_in_a_patch_is_a_422_not_a_500(client, headers, target):
    """Issue 11: `{"targets":[{"kind":{}}]}` was a 500 before the API moved to marshmallow."""
    resp = client.patch(f"{P}/scale", headers=headers["admin"],
                        json={"version": 1, "targets": [target]})
    assert resp.status_code == 422, resp.get_data(as_text=True)[:500]
    assert resp.is_json and "targets.0" in str(resp.get_json()["error"]["fields"])
    assert _scale().version == 1
