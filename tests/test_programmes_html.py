"""The participation pipeline in the browser: list, pipeline, one participation (issue 5).

Permissions per role, moves with their history, refusals with Dutch messages, stale versions,
what counts towards the target, query counts, escaping, and notes hidden from viewers.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from sdd_crm.extensions import db
from sdd_crm.programmes.models import Participation, ParticipationEvent, Programme
from sdd_crm.programmes.services import add_participation, change_participation_status

from html_helpers import ROLES, assert_good_markup, field_error, form_fields, switch_user, text

MANAGERS = ("admin", "regional_account_manager", "business_developer")


@pytest.fixture
def scale():
    return db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))


@pytest.fixture
def users(make_user):
    return {role: make_user(role, name=f"{role.replace('_', ' ').title()}") for role in ROLES}


@pytest.fixture
def world(scale, users, make_org):
    """Four participations of SCALE, one per kind of verdict."""
    bd = users["business_developer"]
    sme = make_org(name="Kleine Werf B.V.", city="Dordrecht", kvk_number="12340001",
                   employees=40, annual_turnover_eur="5000000")
    big = make_org(name="Grote Bouwer N.V.", city="Sliedrecht", kvk_number="12340002",
                   employees=900, annual_turnover_eur="300000000")
    outside = make_org(name="Gorcumse Installateur B.V.", city="Gorinchem", kvk_number="12340003",
                       employees=12)
    fresh = make_org(name="Nieuwe Isolatie B.V.", city="Papendrecht", kvk_number="12340004",
                     employees=8)
    ps = {}
    for key, org, status in (("sme", sme, "participating"), ("big", big, "participating"),
                             ("outside", outside, "completed"), ("fresh", fresh, "identified")):
        p = add_participation(scale, org.id, actor=bd, notes=f"Notitie over {org.name}")
        if status != "identified":
            change_participation_status(p, status, actor=bd)
        ps[key] = p
    db.session.commit()
    return ps


def url(p, suffix=""):
    return f"/programmes/scale/participations/{p.id}{suffix}"


def test_programme_list_shows_count_against_target(client, login, users, world):
    login(users["viewer"])
    resp = client.get("/programmes/")
    assert resp.status_code == 200
    body = text(resp)
    assert "SCALE — energietransitie in de gebouwde omgeving" in body
    # Only the SME in Dordrecht counts: the big one is no SME, Gorinchem is outside the region.
    assert "1 van 1.000" in body
    assert '<progress max="1000" value="1"' in resp.get_data(as_text=True)
    assert "/programmes/scale/progress" in body
    assert_good_markup(resp)


def test_pipeline_columns_verdicts_and_funnel(client, login, users, world):
    login(users["business_developer"])
    resp = client.get("/programmes/scale")
    assert resp.status_code == 200
    assert_good_markup(resp)
    body = text(resp)
    rows = {name: row for name, row in _rows(body)}
    assert set(rows) == {"Kleine Werf B.V.", "Grote Bouwer N.V.", "Gorcumse Installateur B.V.",
                         "Nieuwe Isolatie B.V."}
    assert "Dordrecht" in rows["Kleine Werf B.V."] and "Neemt deel" in rows["Kleine Werf B.V."]
    assert ">ja<" in rows["Kleine Werf B.V."].replace(" ", "")
    assert "telt niet: geen mkb (te groot)" in rows["Grote Bouwer N.V."]
    assert "telt niet: gemeente buiten de regio van het programma" in rows["Gorcumse Installateur B.V."]
    assert "telt niet: nog niet deelnemend" in rows["Nieuwe Isolatie B.V."]
    assert "Business Developer" in rows["Nieuwe Isolatie B.V."]  # the owner
    funnel = dict(re.findall(r'status=(\w+)[^"]*"[^>]*>[^<:]+: (\d+)</a>', body))
    assert funnel == {"identified": "1", "approached": "0", "interested": "0",
                      "participating": "2", "completed": "1", "declined": "0"}
    assert "Alle: 4" in body
    # The export links come from another screen's partial; the include is there.
    assert 'id="nieuw-organisation"' in body  # the add form, for managers


def _rows(body):
    for row in re.findall(r"<tr class=\"utrecht-table__row\">(.*?)</tr>", body, re.S):
        m = re.search(r'participations/\d+">([^<]+)</a>', row)
        if m:
            yield m.group(1), re.sub(r"\s+", " ", row)


@pytest.mark.parametrize("query, expected", [
    ("status=participating", {"Kleine Werf B.V.", "Grote Bouwer N.V."}),
    ("municipality=GM0610", {"Grote Bouwer N.V."}),
    ("q=werf", {"Kleine Werf B.V."}),
    ("q=12340003", {"Gorcumse Installateur B.V."}),
    ("counted=1", {"Kleine Werf B.V."}),
    ("counted=0", {"Grote Bouwer N.V.", "Gorcumse Installateur B.V.", "Nieuwe Isolatie B.V."}),
    ("status=participating&counted=0", {"Grote Bouwer N.V."}),
])
def test_pipeline_filters(client, login, users, world, query, expected):
    login(users["viewer"])
    resp = client.get(f"/programmes/scale?{query}")
    assert resp.status_code == 200
    assert {name for name, _row in _rows(text(resp))} == expected


def test_pipeline_filter_on_owner_and_cluster(client, login, users, world, scale):
    from sdd_crm.valuechains.models import Cluster, OrganisationCluster

    admin = users["admin"]
    p = world["big"]
    from sdd_crm.programmes.services import update_participation

    update_participation(p, actor=admin, expected_version=None, owner_id=admin.id)
    cluster = db.session.scalar(sa.select(Cluster).where(Cluster.name == "Maritieme maakindustrie"))
    db.session.add(OrganisationCluster(organisation_id=world["sme"].organisation_id,
                                       cluster_id=cluster.id, is_primary=True))
    db.session.commit()
    login(users["viewer"])
    names = lambda q: {n for n, _r in _rows(text(client.get(f"/programmes/scale?{q}")))}  # noqa: E731
    assert names(f"owner_id={admin.id}") == {"Grote Bouwer N.V."}
    assert names(f"cluster={cluster.id}") == {"Kleine Werf B.V."}
    # The funnel follows the other filters.
    body = text(client.get(f"/programmes/scale?cluster={cluster.id}"))
    assert "Alle: 1" in body


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(client, login, users, world, role, make_org):
    """Everyone reads; only managers get forms and may post (others 403)."""
    login(users[role])
    manager = role in MANAGERS
    p = world["fresh"]
    for page in ("/programmes/", "/programmes/scale", url(p)):
        assert client.get(page).status_code == 200, page
    pipeline = text(client.get("/programmes/scale"))
    detail = text(client.get(url(p)))
    assert ("Volgende stap" in pipeline) == manager
    assert ("Volgende stap" in detail) == manager
    assert ("Deelname verwijderen" in detail) == manager
    assert ('name="notes"' in detail) == manager
    org = make_org(name="Nog Een B.V.", kvk_number="55556666")
    expected = 302 if manager else 403
    posts = [
        ("/programmes/participations/new", {"programme": "scale", "organisation": "55556666"}),
        (url(p, "/status"), {"status": "approached", "version": "1"}),
        (url(p, "/edit"), {"owner_id": "", "notes": "x", "version": "2" if manager else "1"}),
        (url(p, "/delete"), {"version": "3" if manager else "1"}),
    ]
    for address, data in posts:
        assert client.post(address, data=data).status_code == expected, address
    for address in ("/programmes/participations/new", url(p, "/delete")):
        assert client.get(address).status_code == (403 if not manager else
                                                   404 if address.endswith("/delete") else 200)
    if not manager:
        assert client.post(url(p, "/interactions"), data={"interaction_id": "1"}).status_code == 403
        assert client.post(url(p, "/interactions/1/remove")).status_code == 403
        assert db.session.get(Participation, p.id).status == "identified"
        assert db.session.scalar(sa.select(Participation).where(
            Participation.organisation_id == org.id)) is None


def test_signed_out_users_go_to_login(client, world):
    for page in ("/programmes/", "/programmes/scale", url(world["sme"])):
        resp = client.get(page)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_unknown_programme_or_participation_is_404(client, login, users, world):
    login(users["business_developer"])
    assert client.get("/programmes/bestaat-niet").status_code == 404
    assert client.get("/programmes/scale/participations/999999").status_code == 404
    other = db.session.scalar(sa.select(Programme).where(Programme.code != "scale"))
    assert client.get(f"/programmes/{other.code}/participations/{world['sme'].id}").status_code == 404


def _events(p):
    return [(e.from_status, e.to_status, e.user_id) for e in db.session.scalars(
        sa.select(ParticipationEvent).where(ParticipationEvent.participation_id == p.id)
        .order_by(ParticipationEvent.id))]


def test_moves_along_the_pipeline_with_history(client, login, users, world):
    bd, ram = users["business_developer"], users["regional_account_manager"]
    p = world["fresh"]
    login(ram)
    detail = client.get(url(p))
    buttons = re.findall(r'name="status" value="(\w+)"', detail.get_data(as_text=True))
    assert buttons == ["approached", "interested", "participating", "completed", "declined"]
    resp = client.post(url(p, "/status"), data={"status": "approached", "version": "1"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(url(p))
    # From a pipeline row: back to the filtered pipeline it came from.
    resp = client.post(url(p, "/status"), data={"status": "participating", "version": "2",
                                                "next": "/programmes/scale?status=approached"})
    assert resp.headers["Location"].endswith("/programmes/scale?status=approached")
    resp = client.post(url(p, "/status"), data={"status": "completed", "version": "3",
                                                "next": "https://evil.example/steal"})
    assert resp.headers["Location"].endswith(url(p))
    assert _events(p) == [(None, "identified", bd.id), ("identified", "approached", ram.id),
                          ("approached", "participating", ram.id),
                          ("participating", "completed", ram.id)]
    body = text(client.get(url(p)))
    history = body.split('id="geschiedenis"')[1]
    assert history.count("<li") == 4
    assert "Regional Account Manager · Geïnteresseerd" not in history
    assert "Regional Account Manager · Neemt deel → Afgerond" in re.sub(r"\s+", " ", history)
    assert "Business Developer · toegevoegd als Geïdentificeerd" in re.sub(r"\s+", " ", history)
    assert "Deze deelname is afgerond; er zijn geen volgende stappen." in body


def test_invalid_transition_is_refused_with_a_message(client, login, users, world):
    login(users["business_developer"])
    p = world["outside"]  # completed
    resp = client.post(url(p, "/status"), data={"status": "identified", "version": str(p.version)})
    assert resp.status_code == 422
    assert "De status is niet gewijzigd." in text(resp)
    assert "Van 'Afgerond' kan niet naar 'Geïdentificeerd'." in text(resp)
    resp = client.post(url(p, "/status"), data={"status": "onzin", "version": str(p.version)})
    assert resp.status_code == 422 and "Kies een geldige status." in text(resp)
    assert db.session.get(Participation, p.id).status == "completed"
    assert len(_events(p)) == 2


def test_stale_version_is_a_conflict_not_an_overwrite(client, login, users, world):
    bd, ram = users["business_developer"], users["regional_account_manager"]
    p = world["fresh"]
    login(bd)
    seen = form_fields(client.get(url(p)), "/edit")
    assert seen["version"] == "1" and seen["notes"] == "Notitie over Nieuwe Isolatie B.V."
    # Meanwhile a colleague moves it on.
    switch_user(client, login, ram)
    assert client.post(url(p, "/status"), data={"status": "approached", "version": "1"}).status_code == 302
    switch_user(client, login, bd)
    resp = client.post(url(p, "/edit"), data={**seen, "notes": "Mijn nieuwe notitie"})
    assert resp.status_code == 409
    body = text(resp)
    assert "Iemand anders heeft deze deelname intussen gewijzigd." in body
    assert "Mijn nieuwe notitie" in body  # the input is kept
    assert db.session.get(Participation, p.id).notes == "Notitie over Nieuwe Isolatie B.V."
    # A status button pressed on the old page is a conflict too.
    resp = client.post(url(p, "/status"), data={"status": "declined", "version": "1"})
    assert resp.status_code == 409 and "de status is niet aangepast" in text(resp)
    assert db.session.get(Participation, p.id).status == "approached"
    # Saving again from the conflict page overwrites knowingly.
    again = form_fields(resp := client.post(url(p, "/edit"), data={**seen, "notes": "Mijn nieuwe notitie"}), "/edit")
    assert again["version"] == "2"
    assert client.post(url(p, "/edit"), data=again).status_code == 302
    assert db.session.get(Participation, p.id).notes == "Mijn nieuwe notitie"


def test_owner_and_notes_bad_input_keeps_the_form(client, login, users, world):
    login(users["admin"])
    p = world["sme"]
    long = "x" * 5001
    resp = client.post(url(p, "/edit"), data={"owner_id": "", "notes": long,
                                              "version": str(p.version)})
    assert resp.status_code == 422
    assert field_error(resp, "notes") == "Hoogstens 5000 tekens."
    resp = client.post(url(p, "/edit"), data={"owner_id": str(users["viewer"].id), "notes": "ok",
                                              "version": str(p.version)})
    assert resp.status_code == 422
    assert "Kies een actieve business developer" in field_error(resp, "owner_id")
    assert db.session.get(Participation, p.id).owner_id == users["business_developer"].id
    resp = client.post(url(p, "/edit"), data={"owner_id": str(users["regional_account_manager"].id),
                                              "notes": "", "version": str(p.version)})
    assert resp.status_code == 302
    fresh = db.session.get(Participation, p.id)
    assert fresh.owner_id == users["regional_account_manager"].id and fresh.notes is None


def test_viewers_never_see_notes(client, login, users, world):
    secret = "Notitie over Kleine Werf B.V."
    for role in ROLES:
        switch_user(client, login, users[role])
        body = text(client.get(url(world["sme"])))
        assert (secret in body) == (role != "viewer"), role
        assert ("Notities" in body) == (role != "viewer"), role
        assert secret not in text(client.get("/programmes/scale"))


def test_names_are_escaped(client, login, users, scale, make_org):
    evil = make_org(name='<script>alert("x")</script> B.V.', city="Dordrecht", employees=5)
    p = add_participation(scale, evil.id, actor=users["admin"], notes="<b>vet</b>")
    db.session.commit()
    login(users["business_developer"])
    for page in ("/programmes/scale", url(p), f"/organisations/{evil.id}"):
        raw = client.get(page).get_data(as_text=True)
        assert "<script>alert" not in raw, page
        assert "&lt;script&gt;alert(" in raw, page
    assert "<b>vet</b>" not in client.get(url(p)).get_data(as_text=True)


def app_page_size():
    from flask import current_app

    return current_app.config["PAGE_SIZE"]


def test_pipeline_query_count_does_not_grow(client, login, users, scale, make_org,
                                            count_queries):
    admin = users["admin"]
    login(users["business_developer"])

    def fill(n):
        for i in range(n):
            org = make_org(name=f"Vulbedrijf {i:02d} B.V.", employees=10 + i, city="Dordrecht")
            p = add_participation(scale, org.id, actor=admin, owner_id=users["business_developer"].id)
            if i % 2:
                change_participation_status(p, "participating", actor=admin)
        db.session.commit()

    fill(3)
    with count_queries() as few:
        assert client.get("/programmes/scale").status_code == 200
    fill(27)
    with count_queries() as many:
        resp = client.get("/programmes/scale")
    assert resp.status_code == 200
    assert len(list(_rows(text(resp)))) == min(30, app_page_size())
    assert many.count == few.count, many.statements
    assert few.count <= 16, few.statements


def test_add_one_organisation_by_kvk_or_name(client, login, users, scale, make_org):
    org = make_org(name="Warmtepomp Specialist B.V.", kvk_number="87654321", city="Zwijndrecht")
    make_org(name="Warmte Noord B.V.")
    make_org(name="Warmte Zuid B.V.")
    login(users["business_developer"])
    page = client.get("/programmes/participations/new?programme=scale&organisation_id=%d" % org.id)
    assert page.status_code == 200
    assert_good_markup(page)
    assert form_fields(page, "/participations/new")["organisation"] == \
        "Warmtepomp Specialist B.V. (KvK 87654321)"
    # Ambiguous and unknown: a Dutch message, the input kept, nothing saved.
    resp = client.post("/programmes/participations/new", data={
        "programme": "scale", "organisation": "Warmte", "status": "approached", "notes": "Bel in mei"})
    assert resp.status_code == 422
    assert field_error(resp, "organisation") == \
        "Meerdere organisaties passen bij uw invoer; kies er één uit de lijst."
    assert "Bel in mei" in text(resp) and "Bedoelt u een van deze?" in text(resp)
    resp = client.post("/programmes/participations/new", data={
        "programme": "scale", "organisation": "Bestaat Niet B.V.", "status": "identified"})
    assert field_error(resp, "organisation") == \
        "Geen organisatie gevonden met deze naam of dit KvK-nummer."
    resp = client.post("/programmes/participations/new", data={
        "programme": "onbekend", "organisation": "87654321", "status": "identified"})
    assert resp.status_code == 422 and field_error(resp, "programme") == "Kies een programma."
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Participation)) == 0
    resp = client.post("/programmes/participations/new", data={
        "programme": "scale", "organisation": "87654321", "status": "approached",
        "owner_id": "", "notes": "Bel in mei"})
    assert resp.status_code == 302
    p = db.session.scalar(sa.select(Participation).where(Participation.organisation_id == org.id))
    assert (p.status, p.owner_id, p.notes) == ("approached", users["business_developer"].id,
                                               "Bel in mei")
    assert resp.headers["Location"].endswith(url(p))
    resp = client.post("/programmes/participations/new", data={
        "programme": "scale", "organisation": "87654321", "status": "identified"})
    assert resp.status_code == 422
    assert field_error(resp, "organisation") == "Deze organisatie doet al mee aan dit programma."


def test_organisation_page_lists_participations_and_quick_add(client, login, users, world, scale):
    org_id = world["sme"].organisation_id
    other = db.session.scalar(sa.select(Programme).where(Programme.code != "scale")
                              .order_by(Programme.name))
    login(users["viewer"])
    body = text(client.get(f"/organisations/{org_id}"))
    section = body.split('id="programmas"')[1].split("</section>")[0]
    assert "SCALE — energietransitie in de gebouwde omgeving" in section
    assert "Neemt deel" in section and "Business Developer" in section
    assert "Toevoegen aan programma" not in section
    switch_user(client, login, users["business_developer"])
    resp = client.get(f"/organisations/{org_id}")
    assert_good_markup(resp)
    quick = form_fields(resp, "/programmes/participations/new")
    assert quick["organisation"] == "Kleine Werf B.V. (KvK 12340001)"
    options = re.findall(r'<option[^>]*value="([^"]+)"', text(resp).split('id="snel-programma"')[1].split("</select>")[0])
    assert "scale" not in options and other.code in options  # only programmes it is not in
    resp = client.post("/programmes/participations/new", data={**quick, "programme": other.code,
                                                               "status": "interested"})
    assert resp.status_code == 302
    section = text(client.get(f"/organisations/{org_id}")).split('id="programmas"')[1]
    assert other.name in section and "Geïnteresseerd" in section


def test_link_and_unlink_interactions_respect_visibility(client, login, make_user, make_org, scale):
    from interaction_helpers import build_world, SUBJECTS

    w = build_world(make_user, make_org)
    bd = w.users["business_developer"]
    p = add_participation(scale, w.dordrecht.id, actor=bd)
    db.session.commit()
    login(bd)
    page = text(client.get(url(p)))
    choices = page.split('id="interaction_id"')[1].split("</select>")[0]
    assert SUBJECTS["dordrecht_public"] in choices
    assert SUBJECTS["dordrecht_secret"] not in choices  # confidential, bd not in the team
    assert SUBJECTS["sliedrecht_public"] not in choices  # another organisation
    secret, public = w.interactions["dordrecht_secret"], w.interactions["dordrecht_public"]
    resp = client.post(url(p, "/interactions"), data={"interaction_id": str(secret.id)})
    assert resp.status_code == 422 and field_error(resp, "interaction_id") == "Kies een bestaand contactmoment."
    resp = client.post(url(p, "/interactions"), data={"interaction_id": str(w.interactions["sliedrecht_public"].id)})
    assert resp.status_code == 422
    assert "hoort bij een andere organisatie" in field_error(resp, "interaction_id")
    assert client.post(url(p, "/interactions"), data={"interaction_id": str(public.id)}).status_code == 302
    # The author links the confidential one too; bd does not see it, the author does.
    switch_user(client, login, w.users["admin"])
    assert client.post(url(p, "/interactions"), data={"interaction_id": str(secret.id)}).status_code == 302
    switch_user(client, login, bd)
    linked = text(client.get(url(p))).split('id="contactmomenten"')[1].split("</section>")[0]
    assert SUBJECTS["dordrecht_public"] in linked and SUBJECTS["dordrecht_secret"] not in linked
    assert client.post(url(p, f"/interactions/{secret.id}/remove")).status_code == 404
    switch_user(client, login, w.users["viewer"])
    assert "Gekoppelde contactmomenten" not in text(client.get(url(p)))
    switch_user(client, login, bd)
    assert client.post(url(p, f"/interactions/{public.id}/remove")).status_code == 302
    assert [i.id for i in db.session.get(Participation, p.id).interactions] == [secret.id]


def test_soft_delete_with_confirmation(client, login, users, world):
    p = world["big"]
    login(users["business_developer"])
    page = client.get(url(p, "/delete"))
    assert page.status_code == 200 and "Grote Bouwer N.V." in text(page)
    resp = client.post(url(p, "/delete"), data={"version": str(p.version - 1)})
    assert resp.status_code == 409 and "intussen gewijzigd" in text(resp)
    resp = client.post(url(p, "/delete"), data=form_fields(page, "/delete"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/programmes/scale")
    assert db.session.get(Participation, p.id).deleted_at is not None
    assert client.get(url(p)).status_code == 404
    assert "Grote Bouwer N.V." not in text(client.get("/programmes/scale"))
    # Restorable, as it was: status, notes and history.
    listing = client.get("/programmes/scale/deleted")
    assert_good_markup(listing)
    assert "Grote Bouwer N.V." in text(listing)
    for role in ("local_account_manager", "viewer"):
        switch_user(client, login, users[role])
        assert client.get("/programmes/scale/deleted").status_code == 403
        assert client.post(url(p, "/restore")).status_code == 403
    switch_user(client, login, users["admin"])
    resp = client.post(url(p, "/restore"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(url(p))
    restored = db.session.get(Participation, p.id)
    assert (restored.deleted_at, restored.status, restored.notes) == (
        None, "participating", "Notitie over Grote Bouwer N.V.")
    assert "De deelname van Grote Bouwer N.V. is hersteld." in text(client.get(url(p)))
    assert "Er zijn geen verwijderde deelnemers." in text(client.get("/programmes/scale/deleted"))


def test_every_form_carries_a_csrf_token(app, client, login, users, world, monkeypatch):
    login(users["business_developer"])
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    p = world["fresh"]
    pages = {url(p): "/status", url(p) + "#edit": "/edit", url(p, "/delete"): "/delete",
             "/programmes/scale": "/participations/new",
             "/programmes/scale#row": "/status",
             "/programmes/participations/new": "/participations/new"}
    for page, action in pages.items():
        assert form_fields(client.get(page.split("#")[0]), action).get("csrf_token"), page
    form = form_fields(client.get(url(p)), "/edit")
    without = {k: v for k, v in form.items() if k != "csrf_token"}
    assert client.post(url(p, "/edit"), data={**without, "notes": "zonder"}).status_code == 400
    assert client.post(url(p, "/status"), data={"status": "approached", "version": "1"}).status_code == 400
    assert db.session.get(Participation, p.id).status == "identified"
    assert client.post(url(p, "/edit"), data={**form, "notes": "met"}).status_code == 302


def test_short_address_redirects_to_the_participation(client, login, users, world):
    login(users["viewer"])
    resp = client.get(f"/programmes/participations/{world['sme'].id}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(url(world["sme"]))
    assert client.get("/programmes/participations/999999").status_code == 404


@pytest.mark.parametrize("query", ["owner_id=abc", "page=x", "page=-3", "cluster=99999999999",
                                   "municipality=%3Cscript%3E", "counted=misschien",
                                   "status=onzin", "q=" + "a" * 5000])
def test_odd_query_strings_never_break_the_pipeline(client, login, users, world, query):
    login(users["business_developer"])
    resp = client.get(f"/programmes/scale?{query}")
    assert resp.status_code == 200
    assert "<script>" not in resp.get_data(as_text=True).split("<main", 1)[1]


def test_a_declined_participation_says_so(client, login, users, world):
    login(users["business_developer"])
    p = world["fresh"]
    assert client.post(url(p, "/status"), data={"status": "declined", "version": "1"}).status_code == 302
    rows = dict(_rows(text(client.get("/programmes/scale"))))
    assert "Afgehaakt" in rows["Nieuwe Isolatie B.V."]
    assert "telt niet: afgehaakt" in rows["Nieuwe Isolatie B.V."]
    body = text(client.get(url(p)))
    assert re.findall(r'name="status" value="(\w+)"', body) == ["identified", "approached"]
