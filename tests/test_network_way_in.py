"""The network picture as a way in (issue 14, point 9): every node links to its organisation and
its what-if view and shows its full name; a GET filter by stage or cluster narrows the picture on
the server; the what-if view counts the jobs at stake and marks the affected part of the network.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from insight_support import (
    add_link,
    add_role,
    join_cluster,
    make_chain,
    make_cluster,
    stage,
)

from sdd_crm.extensions import db
from sdd_crm.valuechains import network as network_module
from sdd_crm.valuechains.analysis import (
    ChainRef,
    ChainSplit,
    OrgRef,
    OutgoingLink,
    what_if,
)

SVG = "{http://www.w3.org/2000/svg}"
LONG_NAME = "Ontwerpbureau Van Der Giessen-De Noord Maritiem B.V."


@pytest.fixture
def world(make_org):
    """A small known network (employment in brackets):

        C Ontwerp (5) --sole--> B Casco (50) --> A Werf (500) --sole--> E Reder (20)
                                 D Dienst (unknown) --sole--> A Werf

    A leaving cuts off D and E (the largest remaining piece is B + C) and E loses its only
    supplier: 20 jobs at stake at two organisations, one of them of unknown employment."""
    o = {
        "A": make_org(name="A Werf W B.V.", employees=500),
        "B": make_org(name="B Casco W B.V.", employees=50),
        "C": make_org(name=LONG_NAME, employees=5),
        "D": make_org(name="D Dienst W B.V."),
        "E": make_org(name="E Reder W B.V.", employees=20),
    }
    cluster = make_cluster("Maritiem W")
    ship = make_chain("Scheepsbouw W", ["Ontwerp", "Casco", "Afbouw"], cluster)
    other = make_chain("Andere keten W", ["Alles"])
    add_role(o["A"], ship, "Afbouw", "oem")
    add_role(o["B"], ship, "Casco", "tier1")
    add_role(o["C"], ship, "Ontwerp", "tier2")
    add_role(o["D"], ship, "Casco", "service_provider")
    add_role(o["A"], other, "Alles", "oem")
    add_link(o["C"], o["B"], ship, sole=True)
    add_link(o["B"], o["A"], ship)
    add_link(o["D"], o["A"], ship, sole=True)
    add_link(o["A"], o["E"], ship, sole=True)
    offshore = make_cluster("Offshore W")
    join_cluster(o["B"], offshore)
    join_cluster(o["E"], offshore)
    db.session.commit()
    return {"orgs": o, "chain": ship, "other": other, "offshore": offshore}


def _svg(html: str, element_id: str = "keten-netwerk") -> ET.Element:
    match = re.search(rf'<svg xmlns="http://www.w3.org/2000/svg" class="vc-network" id="{element_id}".*?</svg>',
                      html, re.DOTALL)
    assert match, "no network picture"
    return ET.fromstring(match.group(0))


def _nodes(svg: ET.Element) -> dict[int, ET.Element]:
    return {int(g.get("data-org-id")): g for g in svg.iter(f"{SVG}g")
            if "vc-node" in (g.get("class") or "").split()}


def _get(client, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, url
    return resp.get_data(as_text=True)


# --- Links and names in the picture ----------------------------------------------------------------

def test_every_node_links_to_its_organisation_and_what_if(client, login, make_user, world):
    login(make_user("viewer"))
    o = world["orgs"]
    svg = _svg(_get(client, f"/chains/{world['chain'].id}/network"))
    nodes = _nodes(svg)
    assert set(nodes) == {org.id for org in o.values()}
    for org in o.values():
        links = nodes[org.id].findall(f"{SVG}a")
        assert [a.get("href") for a in links] == [f"/organisations/{org.id}", f"/chains/what-if/{org.id}"]
        assert links[0].get("aria-label").startswith(org.name)  # the full name, for screen readers
        assert links[1].get("aria-label") == f"Wat als {org.name} wegvalt?"


def test_the_full_name_is_drawn_for_focus_while_the_label_is_short(client, login, make_user, world):
    login(make_user("viewer"))
    node = _nodes(_svg(_get(client, f"/chains/{world['chain'].id}/network")))[world["orgs"]["C"].id]
    short = next(t for t in node.iter(f"{SVG}text") if t.get("class") == "vc-node__label").text
    assert short.endswith("…") and len(short) <= 24
    full = next(g for g in node.iter(f"{SVG}g") if g.get("class") == "vc-node__full")
    assert " ".join(t.text for t in full.iter(f"{SVG}tspan")) == LONG_NAME
    assert full.get("aria-hidden") == "true"  # the link's name says it already


def test_the_table_links_to_each_what_if_view(client, login, make_user, world):
    login(make_user("viewer"))
    html = _get(client, f"/chains/{world['chain'].id}/network")
    for org in world["orgs"].values():
        assert f'href="/chains/what-if/{org.id}"' in html.split("vc-network-table")[1]


# --- The filter ----------------------------------------------------------------------------------------

def test_filter_by_stage_narrows_the_nodes(client, login, make_user, world):
    login(make_user("viewer"))
    o, ship = world["orgs"], world["chain"]
    html = _get(client, f"/chains/{ship.id}/network?stage={stage(ship, 'Casco').id}")
    assert set(_nodes(_svg(html))) == {o["B"].id, o["D"].id}
    assert "Gefilterd: 2 organisaties in deze keten voldoen aan het filter." in html
    assert f'<option value="{stage(ship, "Casco").id}" selected>' in html
    # the links among the shown nodes only: B and D both supply A, who is not shown
    assert not [p for p in _svg(html).iter(f"{SVG}path") if "vc-link" in (p.get("class") or "")]


def test_filter_by_cluster_and_both(client, login, make_user, world):
    login(make_user("viewer"))
    o, ship, offshore = world["orgs"], world["chain"], world["offshore"]
    html = _get(client, f"/chains/{ship.id}/network?cluster={offshore.id}")
    assert set(_nodes(_svg(html))) == {o["B"].id, o["E"].id}
    html = _get(client, f"/chains/{ship.id}/network?cluster={offshore.id}&stage={stage(ship, 'Casco').id}")
    assert set(_nodes(_svg(html))) == {o["B"].id}


def test_a_filter_nobody_matches_says_so_with_a_way_back(client, login, make_user, world):
    login(make_user("viewer"))
    ship = world["chain"]
    html = _get(client, f"/chains/{ship.id}/network?stage={stage(ship, 'Ontwerp').id}"
                        f"&cluster={world['offshore'].id}")
    assert 'class="vc-network"' not in html
    assert "Geen organisaties in deze keten voldoen aan dit filter." in html
    assert f'href="/chains/{ship.id}/network"' in html


def test_a_filtered_network_is_still_capped(client, login, make_user, world, monkeypatch):
    monkeypatch.setattr(network_module, "MAX_NODES", 1)
    login(make_user("viewer"))
    ship = world["chain"]
    html = _get(client, f"/chains/{ship.id}/network?stage={stage(ship, 'Casco').id}")
    assert set(_nodes(_svg(html))) == {world["orgs"]["B"].id}  # the larger employer
    assert "Het filter laat 2 organisaties door; de afbeelding en de tabel tonen de 1 belangrijkste" in html


@pytest.mark.parametrize("query", ["stage=abc", "stage=999999", "cluster=-1", "stage={other}"])
def test_a_bad_filter_is_refused_plainly_and_the_whole_network_shown(client, login, make_user, world, query):
    login(make_user("viewer"))
    other_stage = world["other"].stages[0].id  # a stage of another chain
    html = _get(client, f"/chains/{world['chain'].id}/network?{query.format(other=other_stage)}")
    assert "Die fase of dat cluster bestaat niet (meer); dat filter is niet toegepast." in html
    assert len(_nodes(_svg(html))) == 5


def test_filtered_network_statement_count_is_fixed(client, login, make_user, world, make_org,
                                                  count_queries):
    login(make_user("viewer"))
    ship = world["chain"]
    url = f"/chains/{ship.id}/network?stage={stage(ship, 'Casco').id}&cluster={world['offshore'].id}"
    db.session.expire_all()
    with count_queries() as few:
        client.get(url)
    for i in range(15):
        org = make_org(name=f"Extra W {i:02d} B.V.", employees=i)
        add_role(org, ship, "Casco", "tier2")
        join_cluster(org, world["offshore"])
        add_link(org, world["orgs"]["B"], ship, sole=i % 2 == 0)
    db.session.commit()
    db.session.expire_all()
    with count_queries() as many:
        html = client.get(url).get_data(as_text=True)
    assert len(_nodes(_svg(html))) == 16
    assert many.count == few.count, (few.statements, many.statements)


# --- What if: the jobs at stake and the affected part --------------------------------------------------

def test_what_if_counts_the_jobs_at_stake(client, login, make_user, world):
    login(make_user("viewer"))
    o = world["orgs"]
    html = _get(client, f"/chains/what-if/{o['A'].id}")
    assert 'data-jobs-at-stake="20" data-affected="2"' in html
    assert "20 werkzame personen" in html
    assert "Van 1 daarvan is het aantal werkzame personen onbekend" in html
    table = html.split("vc-affected-table")[1].split("</table>")[0]
    rows = re.findall(r'<tr class="utrecht-table__row" data-org-id="(\d+)">(.*?)</tr>', table, re.DOTALL)
    assert [int(r[0]) for r in rows] == [o["E"].id, o["D"].id]  # largest employer first
    e_row, d_row = rows[0][1], rows[1][1]
    assert "verliest de enige leverancier; raakt los van de keten" in e_row
    assert ">20<" in e_row and "Scheepsbouw W" in e_row
    assert "raakt los van de keten" in d_row and "enige" not in d_row and "onbekend" in d_row
    assert 'data-col="total">20<' in table


@pytest.mark.parametrize("key, jobs, affected", [("B", 5, 1), ("C", 50, 1), ("E", 0, 0)])
def test_what_if_numbers_for_each_position(client, login, make_user, world, key, jobs, affected):
    """B leaving cuts C (5) off; C leaving takes B's (50) only supplier; E supplies nobody."""
    login(make_user("local_account_manager"))
    html = _get(client, f"/chains/what-if/{world['orgs'][key].id}")
    assert f'data-jobs-at-stake="{jobs}" data-affected="{affected}"' in html


def test_what_if_marks_the_affected_part_of_the_network(client, login, make_user, world):
    login(make_user("viewer"))
    o = world["orgs"]
    html = _get(client, f"/chains/what-if/{o['A'].id}?chain={world['chain'].id}")
    svg = _svg(html, "wat-als-netwerk")
    nodes = _nodes(svg)
    marks = {oid: g.get("data-mark") for oid, g in nodes.items()}
    assert marks == {o["A"].id: "leaving", o["B"].id: "", o["C"].id: "", o["D"].id: "affected",
                     o["E"].id: "affected"}
    # Not by colour alone: a hatched, dashed halo or a dashed square, and words in the link's name.
    for key in "DE":
        g = nodes[o[key].id]
        halo = next(c for c in g.iter(f"{SVG}circle") if c.get("class") == "vc-node__mark")
        assert halo.get("fill") == "url(#wat-als-netwerk-hatch)" and halo.get("stroke-dasharray")
        assert "getroffen" in g.find(f"{SVG}a").get("aria-label")
    leaving = nodes[o["A"].id]
    assert next(r for r in leaving.iter(f"{SVG}rect") if r.get("class") == "vc-node__mark").get("stroke-dasharray")
    assert "valt weg" in leaving.find(f"{SVG}a").get("aria-label")
    cut = [p for p in svg.iter(f"{SVG}path") if "vc-link--cut" in (p.get("class") or "")]
    assert [(int(p.get("data-supplier")), int(p.get("data-customer"))) for p in cut] == [(o["A"].id, o["E"].id)]
    assert "Leveringsrelatie die wegvalt (gestippeld)" in html


def test_what_if_chain_choice(client, login, make_user, world):
    login(make_user("viewer"))
    o = world["orgs"]
    html = _get(client, f"/chains/what-if/{o['A'].id}")
    # two chains, by name: "Andere keten W" first, and a form to pick the other
    assert 'name="chain"' in html
    assert "Het getroffen deel van de keten Andere keten W" in html
    html = _get(client, f"/chains/what-if/{o['A'].id}?chain=999999")
    assert "Deze organisatie heeft geen rol of leveringsrelatie in die keten" in html
    assert "Het getroffen deel van de keten Andere keten W" in html


def test_what_if_without_any_chain_draws_nothing(client, login, make_user, make_org):
    login(make_user("viewer"))
    lone = make_org(name="Alleen W B.V.", employees=3)
    db.session.commit()
    html = _get(client, f"/chains/what-if/{lone.id}")
    assert 'class="vc-network"' not in html
    assert 'data-jobs-at-stake="0" data-affected="0"' in html


def test_what_if_statement_count_is_fixed(client, login, make_user, world, make_org, count_queries):
    login(make_user("viewer"))
    o, ship = world["orgs"], world["chain"]
    url = f"/chains/what-if/{o['A'].id}?chain={ship.id}"
    db.session.expire_all()
    with count_queries() as few:
        client.get(url)
    for i in range(12):
        org = make_org(name=f"Afnemer W {i:02d} B.V.", employees=10 + i)
        add_role(org, ship, "Afbouw", "customer")
        add_link(o["A"], org, ship, sole=True)
    db.session.commit()
    db.session.expire_all()
    with count_queries() as many:
        html = client.get(url).get_data(as_text=True)
    assert 'data-affected="14"' in html
    assert many.count == few.count, (few.statements, many.statements)


def test_affected_organisations_are_counted_once():
    """Pure: a customer that loses its only supplier and is also cut off counts once."""
    me, x, y = OrgRef(1, "Weg"), OrgRef(2, "X"), OrgRef(3, "Y")
    chain = ChainRef(9, "K")
    result = what_if(me, [OutgoingLink(x, chain, None, True)], [], {chain: [(1, 2), (1, 3), (3, 4)]},
                     {2: "X", 3: "Y"}, {chain: (2, {2})}, employees={2: 40, 3: 7})
    assert [(a.org.id, a.employees, a.only_supplier, a.cut_off) for a in result.affected] == [(2, 40, True, True)]
    assert result.jobs_at_stake == 40 and result.unknown_employment == 0
    result = what_if(me, [OutgoingLink(y, chain, None, True)], [], {}, {}, employees={})
    assert result.jobs_at_stake == 0 and result.unknown_employment == 1
    assert ChainSplit(chain, 2).cut_off == []


# --- Who may see it: unchanged ----------------------------------------------------------------------------

def test_anonymous_is_sent_to_login(client, world):
    ship = world["chain"]
    for url in [f"/chains/{ship.id}/network?stage={stage(ship, 'Casco').id}",
                f"/chains/what-if/{world['orgs']['A'].id}"]:
        resp = client.get(url)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login"), url


@pytest.mark.parametrize("role", ["viewer", "local_account_manager", "regional_account_manager",
                                  "business_developer", "admin"])
def test_every_role_reads_the_filtered_picture_and_the_what_if(client, login, make_user, world, role):
    login(make_user(role))
    ship, offshore = world["chain"], world["offshore"]
    assert client.get(f"/chains/{ship.id}/network?cluster={offshore.id}").status_code == 200
    assert client.get(f"/chains/what-if/{world['orgs']['A'].id}?chain={ship.id}").status_code == 200


@pytest.mark.parametrize("role, may_add", [("viewer", False), ("local_account_manager", True)])
def test_an_empty_chain_says_what_to_do_next_per_role(client, login, make_user, role, may_add):
    empty = make_chain("Lege keten W", ["Een"])
    db.session.commit()
    login(make_user(role))
    html = _get(client, f"/chains/{empty.id}/network")
    assert "Er zijn nog geen organisaties aan deze waardeketen gekoppeld." in html
    link = f'href="/chains/roles/new?value_chain_id={empty.id}"'
    assert (link in html) is may_add
    assert ("/chains/roles/new" in html) is may_add
