"""What-if and gap analysis on crafted networks, with exact expectations (issue 4, points 5–6)."""

from __future__ import annotations

import re

import pytest

from insight_support import add_link, add_role, make_chain, section_ids, soft_delete
from sdd_crm.extensions import db
from sdd_crm.valuechains.analysis import (
    StageRef,
    StageStats,
    cut_off_by_removal,
    load_chain_gaps,
    load_what_if,
    stage_gaps,
)


# --- Pure functions --------------------------------------------------------------------------

@pytest.mark.parametrize("edges, expected", [
    # a — x — b — c: without x, a is alone; b and c stay together as the larger piece.
    ([(1, 99), (99, 2), (2, 3)], (2, {1})),
    # A star around x: three equal pieces, none of them "the rest", so all are cut off.
    ([(99, 1), (99, 2), (99, 3)], (3, {1, 2, 3})),
    # A cycle: nothing falls apart.
    ([(99, 1), (1, 2), (2, 99)], (1, set())),
    # Two equal halves joined only through x.
    ([(1, 2), (2, 99), (99, 3), (3, 4)], (2, {1, 2, 3, 4})),
    # x is a leaf: the rest stays whole.
    ([(1, 2), (2, 99)], (1, set())),
    # x is not in the graph at all.
    ([(1, 2)], (0, set())),
    # Another component is never affected.
    ([(1, 99), (99, 2), (2, 5), (7, 8)], (2, {1})),
])
def test_cut_off_by_removal(edges, expected):
    assert cut_off_by_removal(99, edges) == expected


def test_stage_gaps_classifies_each_stage_in_chain_order():
    stages = [StageRef(3, 3, "Afbouw"), StageRef(1, 1, "Ontwerp"), StageRef(2, 2, "Casco"),
              StageRef(4, 4, "Onderhoud")]
    stats = {1: StageStats(3, 2), 2: StageStats(1, 1), 3: StageStats(2, 0)}
    gaps = stage_gaps(stages, stats)
    assert [g.stage.name for g in gaps] == ["Ontwerp", "Casco", "Afbouw", "Onderhoud"]
    assert [(g.empty, g.single, g.no_regional, g.is_gap) for g in gaps] == [
        (False, False, False, False),
        (False, True, False, True),
        (False, False, True, True),
        (True, False, False, True),  # empty is reported as empty, not as "no regional"
    ]


# --- A crafted region --------------------------------------------------------------------------

@pytest.fixture
def region(make_org):
    """Scheepsbouw T: X holds Casco alone; Afbouw only from Gorinchem; Onderhoud held only by a
    dissolved and a deleted company; Recycling only from outside the region. Warmte T: X holds
    Bron alone, Y holds Net alone."""
    o = {
        "X": make_org(name="X Casco B.V.", city="Dordrecht"),
        "A": make_org(name="A Systemen B.V.", city="Dordrecht"),
        "B": make_org(name="B Systemen B.V.", city="Gorinchem"),
        "C": make_org(name="C Werf B.V.", city="Gorinchem"),
        "D": make_org(name="D Ontwerp B.V.", city="Zwijndrecht"),
        "E": make_org(name="E Ontwerp B.V.", city="Papendrecht"),
        "F": make_org(name="F Opgeheven B.V.", city="Dordrecht", status="dissolved"),
        "G": make_org(name="G Verwijderd B.V.", city="Dordrecht"),
        "H": make_org(name="H Afnemer B.V.", city="Sliedrecht"),
        "I": make_org(name="I Recycling B.V.", city="Gorinchem"),
        "J": make_org(name="J Recycling B.V.", municipality="GM1978"),
        "K": make_org(name="K Zonder Gemeente B.V.", city=None),
        "Y": make_org(name="Y Warmtenet B.V.", city="Dordrecht"),
    }
    ship = make_chain("Scheepsbouw T", ["Ontwerp", "Casco", "Systemen", "Afbouw", "Onderhoud",
                                        "Recycling"])
    heat = make_chain("Warmte T", ["Bron", "Net"])
    add_role(o["X"], ship, "Casco", "tier2")
    add_role(o["X"], ship, "Systemen", "service_provider")
    add_role(o["A"], ship, "Systemen", "tier1")
    add_role(o["B"], ship, "Systemen", "tier1")
    add_role(o["C"], ship, "Afbouw", "oem")
    add_role(o["D"], ship, "Ontwerp", "knowledge_partner")
    add_role(o["E"], ship, "Ontwerp", "tier2")
    add_role(o["F"], ship, "Onderhoud", "service_provider")
    add_role(o["G"], ship, "Onderhoud", "service_provider")
    add_role(o["H"], ship, None, "customer")
    add_role(o["I"], ship, "Recycling", "service_provider")
    add_role(o["J"], ship, "Recycling", "service_provider")
    add_role(o["K"], ship, "Recycling", "service_provider")
    gone = add_role(o["E"], ship, "Casco", "tier2")
    soft_delete(gone)  # a removed role holds nothing
    add_role(o["X"], heat, "Bron", "oem")
    add_role(o["Y"], heat, "Net", "oem")

    add_link(o["X"], o["A"], ship, sole=True, supplied="casco")
    add_link(o["X"], o["B"], ship, supplied="lasconstructies")
    add_link(o["D"], o["B"], ship, supplied="ontwerp")
    add_link(o["A"], o["C"], ship)
    add_link(o["B"], o["C"], ship)
    add_link(o["X"], o["H"], ship, supplied="onderhoud")
    soft_delete(add_link(o["X"], o["D"], ship, sole=True))  # a removed link counts for nothing
    add_link(o["X"], o["F"], ship, sole=True)  # a dissolved customer loses nothing
    soft_delete(o["G"])
    db.session.commit()
    return {"orgs": o, "ship": ship, "heat": heat}


def test_what_if_lists_exactly_who_loses_what(region):
    o, ship, heat = region["orgs"], region["ship"], region["heat"]
    result = load_what_if(o["X"])

    assert [(link.customer.id, link.chain.id, link.supplied) for link in result.lose_only_supplier] == [
        (o["A"].id, ship.id, "casco")]
    assert [(link.customer.name, link.other_suppliers) for link in result.lose_a_supplier] == [
        ("B Systemen B.V.", 1), ("H Afnemer B.V.", 0)]
    assert [(h.chain.name, h.stage.name) for h in result.lost_stages] == [
        ("Scheepsbouw T", "Casco"), ("Warmte T", "Bron")]
    assert [(h.stage.name, h.other_holders) for h in result.held_stages] == [
        ("Casco", 0), ("Systemen", 2), ("Bron", 0)]
    assert [(s.chain.id, s.parts, [c.name for c in s.cut_off]) for s in result.splits] == [
        (ship.id, 2, ["H Afnemer B.V."])]
    assert heat.id not in {s.chain.id for s in result.splits}
    assert result.has_impact


def test_what_if_of_an_organisation_others_can_replace(region):
    o = region["orgs"]
    result = load_what_if(o["D"])  # shares Ontwerp with E, supplies B who has X too
    assert result.lose_only_supplier == []
    assert [(link.customer.name, link.other_suppliers) for link in result.lose_a_supplier] == [
        ("B Systemen B.V.", 1)]
    assert result.lost_stages == []
    assert result.splits == []
    assert not result.has_impact


def test_what_if_ignores_deleted_chains(region):
    o, heat = region["orgs"], region["heat"]
    soft_delete(heat)
    db.session.commit()
    assert [h.chain.name for h in load_what_if(o["X"]).lost_stages] == ["Scheepsbouw T"]


def test_gap_analysis_of_a_chain(region):
    ship = region["ship"]
    (gaps,) = load_chain_gaps([ship.id])
    assert gaps.chain.name == "Scheepsbouw T"
    table = [(g.stage.name, g.stats.holders, g.stats.regional_holders,
              g.stats.only_holder.name if g.stats.only_holder else None) for g in gaps.stages]
    assert table == [
        ("Ontwerp", 2, 2, None),
        ("Casco", 1, 1, "X Casco B.V."),
        ("Systemen", 3, 2, None),
        ("Afbouw", 1, 0, "C Werf B.V."),
        ("Onderhoud", 0, 0, None),  # the dissolved and the deleted company hold nothing
        ("Recycling", 3, 0, None),  # Gorinchem, Molenlanden and unknown are not Drechtsteden
    ]
    assert [g.stage.name for g in gaps.single] == ["Casco", "Afbouw"]
    assert [g.stage.name for g in gaps.no_regional] == ["Afbouw", "Recycling"]
    assert [g.stage.name for g in gaps.empty] == ["Onderhoud"]


def test_gap_overview_covers_every_live_chain(region):
    ship, heat = region["ship"], region["heat"]
    by_name = {g.chain.name: g for g in load_chain_gaps()}
    assert {"Scheepsbouw T", "Warmte T"} <= set(by_name)
    assert [(g.stage.name, g.stats.only_holder.name) for g in by_name["Warmte T"].single] == [
        ("Bron", "X Casco B.V."), ("Net", "Y Warmtenet B.V.")]
    soft_delete(heat)
    db.session.commit()
    assert "Warmte T" not in {g.chain.name for g in load_chain_gaps()}
    assert [g.chain.id for g in load_chain_gaps([ship.id, heat.id])] == [ship.id]


# --- The pages ---------------------------------------------------------------------------------

def test_what_if_page_shows_the_sections(client, login, make_user, region):
    o, ship = region["orgs"], region["ship"]
    login(make_user("viewer"))
    resp = client.get(f"/chains/what-if/{o['X'].id}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "Wat als X Casco B.V. wegvalt?" in html
    assert section_ids(html, "lose-only") == [o["A"].id]
    assert section_ids(html, "lose-one") == [o["B"].id, o["H"].id]
    assert section_ids(html, "cut-off") == [o["H"].id]
    assert "1 andere vastgelegde leverancier" in html
    lost = html.split('data-section="lost-stages"')[1].split("</ul>")[0]
    assert "Scheepsbouw T</a>: fase 2, Casco" in lost and "Warmte T</a>: fase 1, Bron" in lost
    assert "Systemen" not in lost
    assert f'href="/chains/{ship.id}/network"' in lost


def test_what_if_page_for_an_organisation_without_chains(client, login, make_user, make_org):
    org = make_org(name="Los Bedrijf B.V.")
    login(make_user("viewer"))
    html = client.get(f"/chains/what-if/{org.id}").get_data(as_text=True)
    assert "Deze organisatie heeft nog geen rol of leveringsrelatie in een waardeketen." in html
    assert 'data-section=' not in html


def test_the_organisation_page_links_to_its_what_if(client, login, make_user, make_org):
    org = make_org()
    login(make_user("viewer"))
    html = client.get(f"/organisations/{org.id}").get_data(as_text=True)
    assert f'href="/chains/what-if/{org.id}"' in html
    assert "Wat als deze organisatie wegvalt?" in html


def test_chain_gaps_page(client, login, make_user, region):
    ship = region["ship"]
    login(make_user("viewer"))
    html = client.get(f"/chains/{ship.id}/gaps").get_data(as_text=True)
    kinds = dict((int(s), k) for s, k in re.findall(
        r'data-stage-id="(\d+)" data-gap="([a-z-]+)"', html))
    names = {s.id: s.name for s in ship.stages}
    assert {names[s]: k for s, k in kinds.items()} == {
        "Ontwerp": "ok", "Casco": "single", "Systemen": "ok", "Afbouw": "single",
        "Onderhoud": "empty", "Recycling": "no-regional"}
    assert "2 fasen met één organisatie" in html
    assert "2 fasen zonder regionale organisatie" in html
    assert "1 fase zonder enige organisatie" in html
    assert "X Casco B.V." in html and "C Werf B.V." in html


def test_gaps_overview_page(client, login, make_user, region):
    ship, heat = region["ship"], region["heat"]
    login(make_user("viewer"))
    html = client.get("/chains/gaps").get_data(as_text=True)
    row = html.split(f'data-chain-id="{ship.id}"')[1].split("</tr>")[0]
    single = row.split('data-col="single">')[1].split("</td>")[0]
    assert single == "Casco (X Casco B.V.)<br>Afbouw (C Werf B.V.)"
    assert row.split('data-col="no-regional">')[1].split("</td>")[0] == "Afbouw<br>Recycling"
    assert row.split('data-col="empty">')[1].split("</td>")[0] == "Onderhoud"
    assert f'href="/chains/{heat.id}/gaps"' in html
