"""Bulk add from the filtered organisation list (issue 5): "all SMEs in Maritieme maakindustrie
in Sliedrecht → identified", with exact numbers, the filter re-evaluated on the server."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from sdd_crm.db import utcnow
from sdd_crm.extensions import db
from sdd_crm.organisations.models import Organisation
from sdd_crm.programmes.models import Participation, ParticipationEvent, Programme
from sdd_crm.programmes.services import add_participation, delete_participation
from sdd_crm.valuechains.models import Cluster, OrganisationCluster

from html_helpers import ROLES, assert_good_markup, form_fields, switch_user, text

MANAGERS = ("admin", "regional_account_manager", "business_developer")


@pytest.fixture
def scale():
    return db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))


@pytest.fixture
def users(make_user):
    return {role: make_user(role) for role in ROLES}


def _cluster(name):
    return db.session.scalar(sa.select(Cluster).where(Cluster.name == name))


@pytest.fixture
def region(scale, users, make_org):
    """Organisations around "Maritieme maakindustrie in Sliedrecht", one per case."""
    maritime, energy = _cluster("Maritieme maakindustrie"), _cluster("Energietransitie")
    group = make_org(name="Groot Concern N.V.", city="Rotterdam", employees=900,
                     annual_turnover_eur="400000000")
    spec = {  # key: (city, cluster, fields)
        "sme": ("Sliedrecht", maritime, {"employees": 40, "annual_turnover_eur": "5000000"}),
        "too_big": ("Sliedrecht", maritime, {"employees": 300, "annual_turnover_eur": "90000000"}),
        "unverified": ("Sliedrecht", maritime, {"employees": 20}),
        "no_employees": ("Sliedrecht", maritime, {}),
        "in_group": ("Sliedrecht", maritime, {"employees": 10, "annual_turnover_eur": "1000000",
                                              "parent_id": str(group.id)}),
        "already_in": ("Sliedrecht", maritime, {"employees": 15, "annual_turnover_eur": "2000000"}),
        "school": ("Sliedrecht", maritime, {"employees": 50, "org_type": "education"}),
        "was_deleted_from_scale": ("Sliedrecht", maritime, {"employees": 9,
                                                            "balance_sheet_total_eur": "800000"}),
        "other_cluster": ("Sliedrecht", energy, {"employees": 12, "annual_turnover_eur": "1000000"}),
        "other_town": ("Dordrecht", maritime, {"employees": 12, "annual_turnover_eur": "1000000"}),
        "org_deleted": ("Sliedrecht", maritime, {"employees": 12}),
        "merged": ("Sliedrecht", maritime, {"employees": 12}),
    }
    orgs = {}
    for i, (key, (city, cluster, fields)) in enumerate(spec.items()):
        org = make_org(name=f"{key.replace('_', ' ').title()} B.V.", city=city,
                       kvk_number=f"7000{i:04d}", **fields)
        db.session.add(OrganisationCluster(organisation_id=org.id, cluster_id=cluster.id,
                                           is_primary=True))
        orgs[key] = org
    orgs["group"] = group
    bd = users["business_developer"]
    add_participation(scale, orgs["already_in"].id, actor=bd)
    gone = add_participation(scale, orgs["was_deleted_from_scale"].id, actor=bd, status="approached")
    delete_participation(gone, actor=bd)
    orgs["org_deleted"].deleted_at = utcnow()
    orgs["merged"].merged_into_id = orgs["sme"].id
    db.session.commit()
    return orgs


def _filter(maritime_id=None):
    return f"municipality=GM0610&cluster={maritime_id or _cluster('Maritieme maakindustrie').id}"


def _in_scale(scale):
    return {p.organisation_id: p for p in db.session.scalars(sa.select(Participation).where(
        Participation.programme_id == scale.id, Participation.deleted_at.is_(None)))}


def _numbers(resp) -> dict[str, str]:
    body = re.sub(r"\s+", " ", text(resp))
    return dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+?)[ <]", body))


def test_confirmation_page_counts_then_adds_exactly_the_smes(client, login, users, region, scale):
    login(users["business_developer"])
    listing = client.get(f"/organisations/?{_filter()}")
    assert "Voeg deze organisaties toe aan een programma" in text(listing)
    assert_good_markup(listing)
    page = client.get(f"/programmes/bulk-add?{_filter()}&programme=scale&start_status=approached")
    assert page.status_code == 200
    assert_good_markup(page)
    numbers = _numbers(page)
    assert numbers["Organisaties die aan het filter voldoen"] == "8"
    assert numbers["Daarvan mkb (EU-definitie)"] == "4"  # sme, unverified, already_in, revived
    assert "waarvan 1 met onbekende omzet en balans" in text(page)
    assert numbers["Staan al in SCALE — energietransitie in de gebouwde omgeving"] == "1"
    assert "3 als u alleen mkb toevoegt; 7 als u alle organisaties toevoegt" in text(page)
    form = form_fields(page, "/programmes/bulk-add")
    assert form["sme_only"] == "y"  # "alleen mkb" is on by default
    before = _in_scale(scale)
    main = page.get_data(as_text=True).split("<main", 1)[1]
    action = re.search(r'<form method="post" action="(/programmes/bulk-add[^"]+)"', main).group(1)
    resp = client.post(action.replace("&amp;", "&"), data=form)
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/programmes/scale?status=approached")
    after = _in_scale(scale)
    added = {o.name for o in db.session.scalars(sa.select(Organisation).where(
        Organisation.id.in_(set(after) - set(before))))}
    assert added == {"Sme B.V.", "Unverified B.V.", "Was Deleted From Scale B.V."}
    assert {k for k, o in region.items() if o.id in after} == {
        "sme", "unverified", "already_in", "was_deleted_from_scale"}
    assert after[region["already_in"].id].status == "identified"  # untouched
    assert all(after[region[k].id].status == "approached" and
               after[region[k].id].owner_id == users["business_developer"].id
               for k in ("sme", "unverified", "was_deleted_from_scale"))
    flashed = text(client.get(resp.headers["Location"]))
    assert "3 toegevoegd, 1 stond er al in." in flashed
    assert "4 organisaties zijn geen mkb en zijn niet toegevoegd." in flashed
    # Each one added has its first event.
    events = db.session.scalars(sa.select(ParticipationEvent).where(
        ParticipationEvent.participation_id == after[region["sme"].id].id)).all()
    assert [(e.from_status, e.to_status) for e in events] == [(None, "approached")]


def test_without_sme_only_every_match_is_added(client, login, users, region, scale):
    login(users["regional_account_manager"])
    resp = client.post(f"/programmes/bulk-add?{_filter()}",
                       data={"programme": "scale", "start_status": "identified"})
    assert resp.status_code == 302
    assert {k for k, o in region.items() if o.id in _in_scale(scale)} == {
        "sme", "too_big", "unverified", "no_employees", "in_group", "already_in", "school",
        "was_deleted_from_scale"}
    assert "7 toegevoegd, 1 stond er al in." in text(client.get(resp.headers["Location"]))


def test_the_filter_is_re_evaluated_on_the_server(client, login, users, region, scale, make_org):
    """Ids from the browser are ignored; what matches at the moment of the POST is added."""
    login(users["business_developer"])
    late = make_org(name="Laatkomer B.V.", city="Sliedrecht", employees=5)
    db.session.add(OrganisationCluster(organisation_id=late.id,
                                       cluster_id=_cluster("Maritieme maakindustrie").id,
                                       is_primary=True))
    db.session.commit()
    resp = client.post(f"/programmes/bulk-add?{_filter()}", data={
        "programme": "scale", "start_status": "identified", "sme_only": "y",
        "organisation_ids": [str(region["other_town"].id), str(region["too_big"].id)]})
    assert resp.status_code == 302
    inside = _in_scale(scale)
    assert late.id in inside
    assert region["other_town"].id not in inside and region["too_big"].id not in inside


@pytest.mark.parametrize("role", ROLES)
def test_only_managers_bulk_add(client, login, users, region, scale, role):
    login(users[role])
    manager = role in MANAGERS
    listing = text(client.get(f"/organisations/?{_filter()}"))
    assert ("Voeg deze organisaties toe aan een programma" in listing) == manager
    # Without any filter the box is not offered at all.
    assert "Voeg deze organisaties toe" not in text(client.get("/organisations/"))
    assert client.get(f"/programmes/bulk-add?{_filter()}&programme=scale").status_code == \
        (200 if manager else 403)
    resp = client.post(f"/programmes/bulk-add?{_filter()}",
                       data={"programme": "scale", "start_status": "identified"})
    assert resp.status_code == (302 if manager else 403)
    assert (region["sme"].id in _in_scale(scale)) == manager


def test_refusals_keep_everything_unchanged(client, login, users, region, scale, monkeypatch):
    login(users["admin"])
    before = set(_in_scale(scale))
    resp = client.post("/programmes/bulk-add", data={"programme": "scale", "sme_only": "y"})
    assert resp.status_code == 422
    assert "Kies eerst een of meer filters in de lijst met organisaties." in text(resp)
    resp = client.post(f"/programmes/bulk-add?{_filter()}", data={"programme": "bestaat-niet"})
    assert resp.status_code == 422 and "Kies een programma." in text(resp)
    resp = client.post(f"/programmes/bulk-add?{_filter()}",
                       data={"programme": "scale", "start_status": "bijna"})
    assert resp.status_code == 422 and "Kies een geldige status." in text(resp)
    import sdd_crm.programmes.bulk as bulk

    monkeypatch.setattr(bulk, "MAX_BULK", 5)
    page = client.get(f"/programmes/bulk-add?{_filter()}&programme=scale")
    assert page.status_code == 422
    assert "Dit filter levert meer dan 5 organisaties op." in text(page)
    assert "Toevoegen aan SCALE" not in text(page)
    resp = client.post(f"/programmes/bulk-add?{_filter()}", data={"programme": "scale"})
    assert resp.status_code == 422 and "meer dan 5 organisaties" in text(resp)
    assert set(_in_scale(scale)) == before


def test_confirmation_costs_a_fixed_number_of_queries(client, login, users, region, make_org,
                                                      count_queries):
    login(users["business_developer"])
    address = "/programmes/bulk-add?municipality=GM0610&programme=scale"
    with count_queries() as few:
        assert client.get(address).status_code == 200
    for i in range(40):
        make_org(name=f"Extra {i} B.V.", city="Sliedrecht", employees=i + 1)
    with count_queries() as many:
        assert client.get(address).status_code == 200
    assert many.count == few.count, many.statements


@pytest.fixture
def pipeline(scale, users, make_org):
    bd = users["business_developer"]
    ps = {}
    for key, status in (("a", "identified"), ("b", "identified"), ("c", "completed")):
        org = make_org(name=f"Deelnemer {key.upper()} B.V.", city="Dordrecht", employees=10)
        ps[key] = add_participation(scale, org.id, actor=bd, status=status)
    db.session.commit()
    return ps


def _move(client, ps, to_status, *, query="?status=identified&page=1", versions=None):
    data = {"to_status": to_status, "ids": [str(p.id) for p in ps]}
    data.update({f"v{p.id}": str((versions or {}).get(p.id, p.version)) for p in ps})
    return client.post(f"/programmes/scale/move{query}", data=data)


def test_move_ticked_participations_together(client, login, users, pipeline):
    login(users["business_developer"])
    page = client.get("/programmes/scale?status=identified")
    assert_good_markup(page)
    ticks = re.findall(r'form="verplaatsen" name="ids" value="(\d+)"', page.get_data(as_text=True))
    assert sorted(ticks) == sorted(str(pipeline[k].id) for k in ("a", "b"))
    resp = _move(client, [pipeline["a"], pipeline["b"]], "approached")
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith("/programmes/scale?status=identified&page=1")
    assert "2 deelnemers staan nu op 'Benaderd'." in text(client.get(resp.headers["Location"]))
    for key in ("a", "b"):
        p = db.session.get(Participation, pipeline[key].id)
        assert p.status == "approached"
        assert [(e.from_status, e.to_status) for e in db.session.scalars(
            sa.select(ParticipationEvent).where(ParticipationEvent.participation_id == p.id)
            .order_by(ParticipationEvent.id))] == [(None, "identified"), ("identified", "approached")]


def test_move_is_all_or_nothing(client, login, users, pipeline, scale, make_org):
    login(users["regional_account_manager"])
    a, b, c = pipeline["a"], pipeline["b"], pipeline["c"]
    resp = _move(client, [a, c], "approached", query="")
    assert resp.status_code == 422
    body = text(resp)
    assert "Er is niets verplaatst." in body
    assert "Deelnemer C B.V.: van 'Afgerond' kan niet naar 'Benaderd'." in body
    assert f'value="{a.id}" id="kies-{a.id}" checked' in resp.get_data(as_text=True)  # kept
    resp = _move(client, [a, b], "approached", query="", versions={b.id: b.version - 1 or 99})
    assert resp.status_code == 409
    assert "Deelnemer B B.V.: iemand anders heeft deze deelname intussen gewijzigd." in text(resp)
    other = db.session.scalar(sa.select(Programme).where(Programme.code != "scale"))
    stranger = add_participation(other, make_org(name="Elders B.V.").id, actor=users["admin"])
    db.session.commit()
    resp = _move(client, [a, stranger], "approached", query="")
    assert resp.status_code == 422 and "Een gekozen deelname bestaat niet meer." in text(resp)
    resp = client.post("/programmes/scale/move", data={"to_status": "approached"})
    assert resp.status_code == 422
    assert "Kies eerst een of meer deelnemers (vink ze aan in de tabel)." in text(resp)
    assert {db.session.get(Participation, p.id).status for p in (a, b)} == {"identified"}
    assert db.session.get(Participation, stranger.id).status == "identified"


@pytest.mark.parametrize("role", ("local_account_manager", "viewer"))
def test_only_managers_move(client, login, users, pipeline, role):
    login(users[role])
    assert 'name="ids"' not in text(client.get("/programmes/scale"))
    assert _move(client, [pipeline["a"]], "approached").status_code == 403
    assert db.session.get(Participation, pipeline["a"].id).status == "identified"


def test_bulk_forms_carry_a_csrf_token(app, client, login, users, region, pipeline, scale,
                                       monkeypatch):
    login(users["business_developer"])
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    page = client.get(f"/programmes/bulk-add?{_filter()}&programme=scale")
    form = form_fields(page, "/programmes/bulk-add")
    assert form.get("csrf_token")
    without = {k: v for k, v in form.items() if k != "csrf_token"}
    assert client.post(f"/programmes/bulk-add?{_filter()}", data=without).status_code == 400
    assert region["sme"].id not in _in_scale(scale)
    assert form_fields(client.get("/programmes/scale"), "/move").get("csrf_token")
    resp = client.post("/programmes/scale/move", data={"to_status": "approached",
                                                       "ids": [str(pipeline["a"].id)]})
    assert resp.status_code == 400
    assert db.session.get(Participation, pipeline["a"].id).status == "identified"
    assert client.post(f"/programmes/bulk-add?{_filter()}", data=form).status_code == 302
    assert region["sme"].id in _in_scale(scale)
