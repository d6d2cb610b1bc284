"""The critical companies list: filters, attention first, reasons in Dutch, team, no N+1."""

from __future__ import annotations

import datetime as dt

import pytest

from insight_support import (
    add_role,
    factor,
    flag_critical,
    join_cluster,
    make_chain,
    make_cluster,
    row_ids,
    soft_delete,
)
from sdd_crm.extensions import db
from sdd_crm.i18n import format_day
from sdd_crm.organisations.services import set_account_team_member
from sdd_crm.valuechains.critical_list import reasons

TODAY = dt.date.today()


# --- Reasons in plain Dutch -------------------------------------------------------------------

def test_reasons_in_plain_dutch_largest_contribution_first(app):
    factors = [
        factor("breadth", 3, 0.5, weight=0.5),
        factor("employment", 0.12, 1.0),
        factor("sole_source", 4, 0.9),
        factor("bridging", 35.5, 0.6, separates_chains=None),
    ]
    chains = {7: "Scheepsbouw", 9: "Warmtenetten"}
    with app.test_request_context():
        assert reasons(factors) == [
            "12% van de regionale werkgelegenheid in de vastgelegde bedrijven",
            "Enige leverancier voor 4 afnemers",
            "Brugpositie in het netwerk",
            "Actief in 3 waardeketens",
        ]
        assert reasons([factor("bridging", 40.0, 1.0, separates_chains=[7, 9])], chains) == [
            "Enige verbinding tussen Scheepsbouw en Warmtenetten"]
        # A chain that is gone (no name) leaves the general wording.
        assert reasons([factor("bridging", 40.0, 1.0, separates_chains=[7, 8])], chains) == [
            "Brugpositie in het netwerk"]


def test_reasons_leave_out_what_does_not_count(app):
    with app.test_request_context():
        assert reasons([
            factor("sole_source", 1, 0.4),
            factor("employment", 0.004, 0.01),
            factor("breadth", 1, 0.02),       # one chain is no breadth
            factor("bridging", 0.0, 0.0),     # contributes nothing
            factor("employment", 0.3, 0.0, weight=0.0),  # weighed out by the administrator
        ]) == ["Enige leverancier voor 1 afnemer",
               "0,4% van de regionale werkgelegenheid in de vastgelegde bedrijven"]
        assert reasons(None) == [] and reasons([]) == []
        assert reasons([{"name": "employment", "value": 12.5, "contribution": 0.2}]) == [
            "12,5% van de regionale werkgelegenheid in de vastgelegde bedrijven"]


# --- The list ---------------------------------------------------------------------------------

@pytest.fixture
def world(make_org, make_user):
    admin = make_user("admin")
    people = {
        "ram": make_user("regional_account_manager", name="Rita Regio"),
        "lam": make_user("local_account_manager", name="Lars Lokaal", municipality="GM0505"),
        "viewer": make_user("viewer", name="Vera Viewer"),
    }
    cluster = make_cluster("Maritiem T")
    ship = make_chain("Scheepsbouw T", ["Casco", "Afbouw"], cluster)
    heat = make_chain("Warmtenetten T", ["Bron", "Net"])
    o = {
        "P": make_org(name="P Recent B.V.", city="Dordrecht"),
        "Q": make_org(name="Q Nooit B.V.", city="Gorinchem"),
        "R": make_org(name="R Lang Geleden B.V.", city="Dordrecht"),
        "S": make_org(name="S Niet Kritisch B.V.", city="Dordrecht"),
        "T": make_org(name="T Verwijderd B.V.", city="Dordrecht"),
    }
    o["P"].last_contact_on = TODAY - dt.timedelta(days=10)
    o["R"].last_contact_on = TODAY - dt.timedelta(days=200)
    o["S"].last_contact_on = None
    join_cluster(o["P"], cluster)
    add_role(o["P"], ship, "Casco")
    add_role(o["R"], ship, "Afbouw")
    add_role(o["R"], heat, "Bron")
    add_role(o["Q"], heat, "Net")
    set_account_team_member(o["R"], people["ram"], "strategic", actor=admin)
    set_account_team_member(o["R"], people["lam"], "local", actor=admin)
    flag_critical(o["P"], score=0.95, factors=[factor("employment", 0.12, 0.5)])
    flag_critical(o["Q"], score=0.6, factors=[factor("sole_source", 4, 0.6)])
    flag_critical(o["R"], score=0.9, factors=[
        factor("bridging", 12.0, 1.0, separates_chains=[heat.id, ship.id]),
        factor("breadth", 2, 0.25, weight=0.5)])
    flag_critical(o["T"], score=0.99, factors=[])
    soft_delete(o["T"])
    db.session.commit()
    return {"orgs": o, "people": people, "ship": ship, "heat": heat, "cluster": cluster}


def _get(client, url):
    resp = client.get(url)
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def _row(html, org):
    return html.split(f'data-org-id="{org.id}"')[1].split("</tr>")[0]


def test_attention_first_then_score(client, login, world):
    o = world["orgs"]
    login(world["people"]["viewer"])
    html = _get(client, "/chains/critical")
    # R (200 days) and Q (never) went without contact for 6 months: first, by score; then P.
    assert row_ids(html) == [o["R"].id, o["Q"].id, o["P"].id]
    assert "Geen contact in 6 maanden" in _row(html, o["R"])
    assert "Geen contact in 6 maanden" in _row(html, o["Q"]) and "nog nooit" in _row(html, o["Q"])
    assert "Geen contact in 6 maanden" not in _row(html, o["P"])
    assert 'class="utrecht-table__row vc-attention"' in html.split(f'data-org-id="{o["R"].id}"')[0][-80:]


@pytest.mark.parametrize("query, expected", [
    ("cluster={cluster}", ["P"]),
    ("chain={heat}", ["R", "Q"]),
    ("chain={ship}", ["R", "P"]),
    ("municipality=GM0505", ["R", "P"]),
    ("municipality=gm0512", ["Q"]),
    ("attention=1", ["R", "Q"]),
    ("attention=1&municipality=GM0505&chain={ship}", ["R"]),
    ("chain=999999", []),
    ("chain=abc&cluster=-1&page=x", ["R", "Q", "P"]),  # nonsense is ignored, never a 500
])
def test_filters(client, login, world, query, expected):
    o = world["orgs"]
    login(world["people"]["viewer"])
    url = "/chains/critical?" + query.format(cluster=world["cluster"].id, heat=world["heat"].id,
                                              ship=world["ship"].id)
    html = _get(client, url)
    assert row_ids(html) == [o[k].id for k in expected]
    if not expected:
        assert "Geen kritische bedrijven gevonden met deze filters." in html


def test_attention_follows_the_configured_months(app, client, login, world):
    o = world["orgs"]
    login(world["people"]["viewer"])
    app.config["ATTENTION_MONTHS"] = 12
    try:
        html = _get(client, "/chains/critical?attention=1")
    finally:
        app.config["ATTENTION_MONTHS"] = 6
    assert row_ids(html) == [o["Q"].id]
    assert "Alleen zonder contact in 12 maanden" in html


def test_each_row_says_why_who_and_when(app, client, login, world):
    o, ship, heat = world["orgs"], world["ship"], world["heat"]
    login(world["people"]["viewer"])
    html = _get(client, "/chains/critical")
    assert "12% van de regionale werkgelegenheid in de vastgelegde bedrijven" in _row(html, o["P"])
    assert "Enige leverancier voor 4 afnemers" in _row(html, o["Q"])
    r = _row(html, o["R"])
    # The assessment says R alone connects the two chains.
    assert f"Enige verbinding tussen {heat.name} en {ship.name}" in r
    assert "Actief in 2 waardeketens" in r
    assert "Rita Regio" in r and "Lars Lokaal" in r
    assert r.index("Strategisch") < r.index("Rita Regio") < r.index("Lokaal") < r.index("Lars Lokaal")
    with app.test_request_context():
        assert format_day(o["R"].last_contact_on) in r
    assert "geen accountteam" in _row(html, o["P"])
    assert "S Niet Kritisch" not in html and "T Verwijderd" not in html


def test_a_bridge_between_many_is_a_bridging_position(client, login, world, make_org):
    org = make_org(name="Makelaar B.V.")
    flag_critical(org, score=0.9, factors=[factor("bridging", 250.0, 0.9, separates_chains=None)])
    db.session.commit()
    login(world["people"]["viewer"])
    row = _row(_get(client, "/chains/critical"), org)
    assert "Brugpositie in het netwerk" in row
    assert "Enige verbinding" not in row


def test_the_latest_assessment_counts_and_the_manual_flag_shows(client, login, world):
    o = world["orgs"]
    flag_critical(o["Q"], score=0.7, factors=[factor("sole_source", 7, 0.7)],
                  computed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=30))  # older
    flag_critical(o["P"], score=0.2, computed=False, manual=True,
                  reason="Grootste werkgever van de werf", factors=[factor("employment", 0.05, 0.2)])
    db.session.commit()
    login(world["people"]["viewer"])
    html = _get(client, "/chains/critical")
    q = _row(html, o["Q"])
    assert "Enige leverancier voor 4 afnemers" in q and "7 afnemers" not in q
    p = _row(html, o["P"])
    assert "Handmatig als kritisch aangemerkt: Grootste werkgever van de werf" in p
    assert "5% van de regionale werkgelegenheid" in p
    assert "Berekend: niet kritisch (score 0,2, drempel 0,5)" in p


def test_a_company_not_yet_assessed(client, login, world, make_org):
    org = make_org(name="Handmatig B.V.")
    flag_critical(org, manual=True, reason="Enige sluis-specialist")
    db.session.commit()
    login(world["people"]["viewer"])
    row = _row(_get(client, "/chains/critical"), org)
    assert "Handmatig als kritisch aangemerkt: Enige sluis-specialist" in row
    assert "Nog niet berekend" not in row


def test_query_count_does_not_grow_with_the_list(client, login, world, make_org, make_user,
                                                 count_queries):
    login(world["people"]["viewer"])
    db.session.expire_all()
    with count_queries() as few:
        html = _get(client, "/chains/critical")
    assert len(row_ids(html)) == 3
    ram, ship, heat = world["people"]["ram"], world["ship"], world["heat"]
    admin = make_user("admin")  # only admins and the strategic manager change the team
    for i in range(27):
        org = make_org(name=f"Extra Kritisch {i:02d} B.V.", city="Sliedrecht")
        set_account_team_member(org, ram, "strategic", actor=admin)
        add_role(org, ship, "Casco")
        if i % 3 == 0:
            add_role(org, heat, "Bron")
        flag_critical(org, score=0.5, factors=[factor("bridging", 3.0, 0.1),
                                                factor("sole_source", 2, 0.2)])
    db.session.commit()
    db.session.expire_all()
    with count_queries() as many:
        html = _get(client, "/chains/critical")
    assert len(row_ids(html)) == 30
    assert many.count == few.count, (few.statements, many.statements)


def test_pages_without_count(client, login, world, make_org, app):
    login(world["people"]["viewer"])
    app.config["PAGE_SIZE"] = 2
    try:
        first = _get(client, "/chains/critical")
        second = _get(client, "/chains/critical?page=2")
    finally:
        app.config["PAGE_SIZE"] = 50
    o = world["orgs"]
    assert row_ids(first) == [o["R"].id, o["Q"].id]
    assert row_ids(second) == [o["P"].id]
    assert 'href="/chains/critical?page=2"' in first


@pytest.mark.parametrize("role", ["viewer", "local_account_manager", "business_developer",
                                  "regional_account_manager", "admin"])
def test_every_role_reads_the_list_and_sees_it_in_the_menu(client, login, make_user, role):
    login(make_user(role))
    html = _get(client, "/chains/critical")
    nav = html.split('aria-label="Hoofdmenu"')[1].split("</nav>")[0]
    assert 'aria-current="page" href="/chains/critical">Kritische bedrijven</a>' in nav
    assert nav.count('aria-current="page"') == 1


def test_no_critical_companies_yet(client, login, make_user):
    login(make_user("viewer"))
    html = _get(client, "/chains/critical")
    assert "Er zijn (nog) geen kritische bedrijven." in html
