"""/api/v1/leads: who sees which lead, the status flow by PATCH (forbidden transitions
included), text edits, comments, and bad input.

The author is a local account manager of Zwijndrecht (GM0642). Three leads about a company in
Sliedrecht go to Sliedrecht (a municipality), to the regional team, and to a named colleague
in Papendrecht.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sdd_crm.extensions import db
from sdd_crm.leads.models import Lead, LeadComment, LeadEvent
from sdd_crm.leads.services import share_lead
from sdd_crm.notifications.models import Notification

WHO = ("admin", "regional", "bizdev", "viewer", "local_receiving", "local_other", "author", "named")
DESCRIPTION = "Zoekt 2 hectare bedrijfsgrond aan het water, nog niet openbaar"


@pytest.fixture
def world(make_user, make_org, api_headers):
    users = {
        "admin": make_user("admin"),
        "regional": make_user("regional_account_manager"),
        "bizdev": make_user("business_developer"),
        "viewer": make_user("viewer"),
        "local_receiving": make_user("local_account_manager", municipality="GM0610"),
        "local_other": make_user("local_account_manager", municipality="GM0505"),
        "author": make_user("local_account_manager", municipality="GM0642"),
        "named": make_user("local_account_manager", municipality="GM0590"),
    }
    org = make_org(actor=users["admin"], name="Baggerwerf Sliedrecht B.V.", city="Sliedrecht")
    author = users["author"]
    leads = {
        "municipality": share_lead({"organisation_id": org.id, "type": "expansion",
                                    "title": "Zoekt grond", "description": DESCRIPTION,
                                    "shared_with_municipality": "GM0610"}, actor=author),
        "region": share_lead({"organisation_id": org.id, "type": "risk", "title": "Sluiting dreigt",
                              "shared_with": "regional_team"}, actor=author),
        "named": share_lead({"organisation_id": org.id, "type": "subsidy", "title": "SCALE?",
                             "shared_with_user_id": users["named"].id}, actor=author),
    }
    db.session.commit()
    return {"users": users, "org": org, "leads": leads,
            "headers": {k: api_headers(u) for k, u in users.items()}}


# Who sees which lead (DESIGN 4.4): author, receiving side, regional AMs and admins.
SEES = {
    "admin": {"municipality", "region", "named"},
    "regional": {"municipality", "region", "named"},
    "bizdev": set(),
    "local_receiving": {"municipality"},
    "local_other": set(),
    "author": {"municipality", "region", "named"},
    "named": {"named"},
}
INBOX = {"admin": set(), "regional": {"region"}, "bizdev": set(), "local_receiving": {"municipality"},
         "local_other": set(), "author": set(), "named": {"named"}}


def _ids(world, keys):
    return {world["leads"][k].id for k in keys}


@pytest.mark.parametrize("who", WHO)
def test_lists_and_details_follow_design_4_4(client, world, who):
    headers = world["headers"][who]
    resp = client.get("/api/v1/leads", headers=headers)
    if who == "viewer":
        assert resp.status_code == 403
        assert client.get(f"/api/v1/leads/{world['leads']['named'].id}", headers=headers).status_code == 403
        return
    assert {lead["id"] for lead in resp.get_json()["items"]} == _ids(world, SEES[who])
    assert (DESCRIPTION in resp.get_data(as_text=True)) == ("municipality" in SEES[who])
    inbox = client.get("/api/v1/leads?box=inbox", headers=headers).get_json()
    assert {lead["id"] for lead in inbox["items"]} == _ids(world, INBOX[who])
    sent = client.get("/api/v1/leads?box=sent", headers=headers).get_json()
    assert {lead["id"] for lead in sent["items"]} == (_ids(world, SEES[who]) if who == "author" else set())
    for key, lead in world["leads"].items():
        detail = client.get(f"/api/v1/leads/{lead.id}", headers=headers)
        assert detail.status_code == (200 if key in SEES[who] else 404), (key, who)
        if key == "municipality":
            assert (DESCRIPTION in detail.get_data(as_text=True)) == (key in SEES[who])


def test_create_shares_with_a_municipality_and_notifies_it(client, world):
    receiving = world["users"]["local_receiving"]
    resp = client.post("/api/v1/leads", headers=world["headers"]["named"], json={
        "organisation_id": world["org"].id, "type": "workforce", "title": "Zoekt lassers",
        "description": "Twintig", "shared_with_municipality": "gm0610"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert resp.headers["Location"] == f"/api/v1/leads/{body['id']}"
    assert body == body | {"status": "new", "shared_with": "municipality",
                           "shared_with_municipality": "GM0610", "shared_with_user_id": None,
                           "from_municipality": "GM0590", "responded_at": None, "comments": [],
                           "next_statuses": []}
    assert [(e["from_status"], e["to_status"]) for e in body["events"]] == [(None, "new")]
    assert db.session.scalar(sa.select(Notification.id).where(
        Notification.user_id == receiving.id, Notification.lead_id == body["id"]))
    # The receiving side sees where it may take the lead.
    seen = client.get(f"/api/v1/leads/{body['id']}", headers=world["headers"]["local_receiving"]).get_json()
    assert seen["next_statuses"] == ["accepted", "declined"]


def _patch(client, world, who, key, **body):
    lead = world["leads"][key]
    db.session.expire_all()
    version = body.pop("version", None) or db.session.get(Lead, lead.id).version
    return client.patch(f"/api/v1/leads/{lead.id}", headers=world["headers"][who],
                        json={"version": version} | body)


def test_the_state_machine_through_patch(client, world):
    resp = _patch(client, world, "local_receiving", "municipality", status="accepted", note="Pak ik op")
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "accepted" and body["responded_at"]
    assert body["next_statuses"] == ["in_progress"]
    assert _patch(client, world, "local_receiving", "municipality", status="in_progress").status_code == 200
    won = _patch(client, world, "local_receiving", "municipality", status="won")
    assert won.status_code == 200 and won.get_json()["status"] == "won"
    events = won.get_json()["events"]
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        (None, "new"), ("new", "accepted"), ("accepted", "in_progress"), ("in_progress", "won")]
    assert events[1]["note"] == "Pak ik op"
    assert {e["user_id"] for e in events[1:]} == {world["users"]["local_receiving"].id}
    # The author hears of each step.
    assert db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.user_id == world["users"]["author"].id, Notification.kind == "lead_status")) == 3


@pytest.mark.parametrize("path, forbidden", [
    ([], "in_progress"), ([], "won"), ([], "lost"), ([], "new"),
    (["accepted"], "new"), (["accepted"], "declined"), (["accepted"], "won"),
    (["accepted", "in_progress"], "accepted"), (["accepted", "in_progress"], "new"),
    (["accepted", "in_progress", "won"], "lost"), (["accepted", "in_progress", "lost"], "in_progress"),
])
def test_forbidden_transitions_are_409_in_dutch(client, world, path, forbidden):
    # A status the document allows, refused for the lead's current status: 409 (issue 10).
    for status in path:
        assert _patch(client, world, "regional", "region", status=status).status_code == 200
    db.session.expire_all()
    before = (db.session.get(Lead, world["leads"]["region"].id).status,
              db.session.scalar(sa.select(sa.func.count(LeadEvent.id))))
    resp = _patch(client, world, "regional", "region", status=forbidden)
    assert resp.status_code == 409
    message = resp.get_json()["error"]["fields"]["status"]
    assert message.startswith("Een signaal met status") and "kan niet naar" in message
    db.session.expire_all()
    assert (db.session.get(Lead, world["leads"]["region"].id).status,
            db.session.scalar(sa.select(sa.func.count(LeadEvent.id)))) == before


def test_declining_needs_a_reason(client, world):
    resp = _patch(client, world, "named", "named", status="declined")
    assert resp.status_code == 422
    assert resp.get_json()["error"]["fields"]["decline_reason"] == "Geef aan waarom u het signaal afwijst."
    resp = _patch(client, world, "named", "named", status="declined", decline_reason="   ")
    assert resp.status_code == 422
    ok = _patch(client, world, "named", "named", status="declined", decline_reason="Geen capaciteit")
    assert ok.status_code == 200
    assert ok.get_json()["decline_reason"] == "Geen capaciteit" and ok.get_json()["responded_at"]
    assert ok.get_json()["next_statuses"] == []
    assert _patch(client, world, "named", "named", status="accepted").status_code == 409
    # A reason belongs to declining only.
    other = _patch(client, world, "regional", "region", status="accepted", decline_reason="Waarom?")
    assert other.status_code == 422 and "decline_reason" in other.get_json()["error"]["fields"]


@pytest.mark.parametrize("who, key, status", [
    ("author", "municipality", 403),  # the sharing side does not accept its own lead
    ("regional", "municipality", 403),  # sees it, but it went to Sliedrecht
    ("admin", "named", 403),
    ("local_receiving", "named", 404),  # cannot see it at all
    ("local_other", "municipality", 404),
    ("bizdev", "region", 404),
    ("viewer", "region", 403),
])
def test_only_the_receiving_side_moves_a_lead(client, world, who, key, status):
    resp = _patch(client, world, who, key, status="accepted")
    assert resp.status_code == status
    db.session.expire_all()
    assert db.session.get(Lead, world["leads"][key].id).status == "new"


def test_patch_needs_a_current_version(client, world):
    lead = world["leads"]["region"]
    url = f"/api/v1/leads/{lead.id}"
    headers = world["headers"]["regional"]
    assert client.patch(url, headers=headers, json={"status": "accepted"}).status_code == 428
    assert client.patch(url, headers=headers, json={"version": 99, "status": "accepted"}).status_code == 409
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).status == "new"


def test_the_author_corrects_the_text_while_new(client, world):
    resp = _patch(client, world, "author", "municipality", title="Zoekt 3 hectare", type="relocation")
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["title"], resp.get_json()["type"]) == ("Zoekt 3 hectare", "relocation")
    assert _patch(client, world, "local_receiving", "municipality", title="Anders").status_code == 403
    mixed = _patch(client, world, "author", "municipality", title="X", status="accepted")
    assert mixed.status_code == 422 and "title" in mixed.get_json()["error"]["fields"]
    assert _patch(client, world, "local_receiving", "municipality", status="accepted").status_code == 200
    late = _patch(client, world, "author", "municipality", title="Te laat")
    assert late.status_code == 409  # refused for the lead's state, not the input (issue 10)
    assert "kan niet meer worden gewijzigd" in late.get_json()["error"]["message"]
    db.session.expire_all()
    assert db.session.get(Lead, world["leads"]["municipality"].id).title == "Zoekt 3 hectare"


@pytest.mark.parametrize("data, field", [
    ({"shared_with": "user"}, "shared_with"),
    ({"organisation_id": 5}, "organisation_id"),
    ({"shared_with_municipality": "GM0642"}, "shared_with_municipality"),
    ({"author_id": 1}, "author_id"),
    ({"responded_at": "2025-01-01T00:00:00Z"}, "responded_at"),
    ({"title": "x" * 201}, "title"),
    ({"title": None}, "title"),
    ({"type": "feest"}, "type"),
    ({"status": "gewonnen"}, "status"),
    ({"status": None}, "status"),
    ({"note": "x" * 1001, "status": "accepted"}, "note"),
    ({"decline_reason": "Zomaar"}, "status"),
    ({"extra": 1}, "extra"),
])
def test_bad_patches_are_422_and_change_nothing(client, world, data, field):
    who = "regional" if "status" in data else "author"
    resp = _patch(client, world, who, "region", **data)
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["error"]["fields"]
    db.session.expire_all()
    lead = db.session.get(Lead, world["leads"]["region"].id)
    assert (lead.status, lead.title, lead.type, lead.version) == ("new", "Sluiting dreigt", "risk", 1)


REFERENCE_CASES = [
    {"organisation_id": 2_000_000_000}, {"shared_with_municipality": "GM9999"},
    {"shared_with_municipality": None, "shared_with_user_id": "VIEWER"},
    {"shared_with_municipality": None, "shared_with_user_id": "SELF"},
]


@pytest.mark.parametrize("data, field", [
    ({"organisation_id": "1"}, "organisation_id"),
    ({"organisation_id": 2_000_000_000}, "organisation_id"),
    ({"type": "feest"}, "type"),
    ({"type": None}, "type"),
    ({"title": ""}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"description": "x" * 5001}, "description"),
    ({"description": ["x"]}, "description"),
    ({"shared_with_municipality": "GM9999"}, "shared_with_municipality"),
    ({"shared_with_municipality": 505}, "shared_with_municipality"),
    ({"shared_with_municipality": None, "shared_with": "municipality"}, "shared_with_municipality"),
    ({"shared_with_municipality": None, "shared_with_user_id": "VIEWER"}, "shared_with_user_id"),
    ({"shared_with_municipality": None, "shared_with_user_id": "5"}, "shared_with_user_id"),
    ({"shared_with_municipality": None, "shared_with_user_id": "SELF"}, "shared_with_user_id"),
    ({"shared_with_municipality": None}, "shared_with"),
    ({"shared_with": "iedereen"}, "shared_with"),
    ({"status": "won"}, "status"),
    ({"events": []}, "events"),
    ({"version": 1}, "version"),
    ({"geheim": True}, "geheim"),
])
def test_bad_creates_are_422_and_save_nothing(client, world, data, field):
    # Valid by the document but pointing at nothing usable in the stored data: 409 (issue 10).
    expected = 409 if data in REFERENCE_CASES else 422
    users = world["users"]
    if data.get("shared_with_user_id") == "VIEWER":
        data = data | {"shared_with_user_id": users["viewer"].id}
    if data.get("shared_with_user_id") == "SELF":
        data = data | {"shared_with_user_id": users["author"].id}
    before = (db.session.scalar(sa.select(sa.func.count(Lead.id))),
              db.session.scalar(sa.select(sa.func.count(Notification.id))))
    body = {"organisation_id": world["org"].id, "type": "expansion", "title": "Geldig",
            "shared_with_municipality": "GM0610"} | data
    resp = client.post("/api/v1/leads", headers=world["headers"]["author"], json=body)
    assert resp.status_code == expected, resp.get_json()
    assert field in resp.get_json()["error"]["fields"], resp.get_json()
    assert (db.session.scalar(sa.select(sa.func.count(Lead.id))),
            db.session.scalar(sa.select(sa.func.count(Notification.id)))) == before


def test_comments(client, world):
    lead = world["leads"]["municipality"]
    url = f"/api/v1/leads/{lead.id}/comments"
    resp = client.post(url, headers=world["headers"]["local_receiving"], json={"body": "Bel ik morgen"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["body"] == "Bel ik morgen"
    detail = client.get(f"/api/v1/leads/{lead.id}", headers=world["headers"]["author"]).get_json()
    assert [c["body"] for c in detail["comments"]] == ["Bel ik morgen"]
    assert detail["comments"][0]["author_id"] == world["users"]["local_receiving"].id
    before = db.session.scalar(sa.select(sa.func.count(LeadComment.id)))
    assert client.post(url, headers=world["headers"]["local_other"], json={"body": "Hoi"}).status_code == 404
    assert client.post(url, headers=world["headers"]["viewer"], json={"body": "Hoi"}).status_code == 403
    for bad in ({"body": ""}, {"body": "   "}, {"body": 5}, {"body": "x" * 5001}, {}, {"tekst": "x"}):
        resp = client.post(url, headers=world["headers"]["author"], json=bad)
        assert resp.status_code == 422, bad
    assert client.post(url, headers=world["headers"]["author"], data="{",
                       content_type="application/json").status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(LeadComment.id))) == before


@pytest.mark.parametrize("query", ["box=prullenbak", "status=gewonnen", "type=feest", "page=0",
                                   "status=%00"])
def test_bad_list_parameters_are_400(client, world, query):
    resp = client.get(f"/api/v1/leads?{query}", headers=world["headers"]["author"])
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "bad_request"


def test_list_filters_by_status_and_type(client, world):
    assert _patch(client, world, "regional", "region", status="accepted").status_code == 200
    headers = world["headers"]["author"]

    def ids(query):
        return {lead["id"] for lead in client.get(f"/api/v1/leads?{query}", headers=headers).get_json()["items"]}

    assert ids("status=accepted") == {world["leads"]["region"].id}
    assert ids("status=new&type=subsidy") == {world["leads"]["named"].id}


def test_leads_of_a_deleted_organisation_are_gone(client, world):
    headers = world["headers"]["admin"]
    assert client.delete(f"/api/v1/organisations/{world['org'].id}", headers=headers).status_code == 204
    assert client.get("/api/v1/leads", headers=headers).get_json()["items"] == []
    assert client.get(f"/api/v1/leads/{world['leads']['region'].id}", headers=headers).status_code == 404


def test_list_statement_count_does_not_grow_with_rows(client, world, make_org, count_queries):
    author = world["users"]["author"]
    orgs = [make_org(name=f"Signaalorg {i}") for i in range(5)]
    for i in range(30):
        share_lead({"organisation_id": orgs[i % 5].id, "type": "innovation", "title": f"Telling {i}",
                    "shared_with": "regional_team"}, actor=author)
    db.session.commit()
    headers = world["headers"]["regional"]
    client.get("/api/v1/leads?per_page=1", headers=headers)
    counts = {}
    for per_page in (5, 30):
        with count_queries() as q:
            body = client.get(f"/api/v1/leads?type=innovation&per_page={per_page}", headers=headers).get_json()
        assert len(body["items"]) == per_page
        counts[per_page] = q.count
    assert counts[5] == counts[30], counts


def test_responses_fit_the_openapi_schemas(client, world):
    jsonschema = pytest.importorskip("jsonschema")
    spec = client.get("/api/v1/openapi.json").get_json()

    def check(name, resp):
        root = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
        errors = [e.message for e in jsonschema.Draft202012Validator(root).iter_errors(resp.get_json())]
        assert not errors, (name, errors)

    headers = world["headers"]["regional"]
    lead = world["leads"]["region"]
    check("LeadList", client.get("/api/v1/leads", headers=headers))
    check("LeadComment", client.post(f"/api/v1/leads/{lead.id}/comments", headers=headers, json={"body": "Ok"}))
    check("LeadDetail", _patch(client, world, "regional", "region", status="accepted"))
    check("LeadDetail", client.get(f"/api/v1/leads/{lead.id}", headers=headers))
    check("LeadDetail", client.post("/api/v1/leads", headers=headers, json={
        "organisation_id": world["org"].id, "type": "risk", "title": "Schema",
        "shared_with_user_id": world["users"]["named"].id}))
    check("Error", _patch(client, world, "regional", "region", status="new"))
