"""The value-chain picture: well-formed SVG, one node per organisation, critical and sole-source
marked, the table matching the picture; and who may see the insight pages."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from insight_support import add_link, add_role, flag_critical, make_chain, row_ids, soft_delete
from sdd_crm.extensions import db
from sdd_crm.valuechains import network as network_module
from sdd_crm.valuechains.svg import R_MIN, ROLE_COLOURS

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def chain(make_org):
    o = {
        "A": make_org(name="A Werf B.V.", employees=500),
        "B": make_org(name="B Casco B.V.", employees=50),
        "C": make_org(name="C Ontwerp B.V.", employees=5),
        "D": make_org(name="D Dienst B.V."),
        "E": make_org(name="E Reder B.V.", employees=20),
        "F": make_org(name="F Verwijderd B.V.", employees=900),
        "G": make_org(name="G Elders B.V.", employees=900),
    }
    ship = make_chain("Scheepsbouw N", ["Ontwerp", "Casco", "Afbouw"])
    other = make_chain("Elders N", ["Alles"])
    add_role(o["A"], ship, "Afbouw", "oem")
    add_role(o["B"], ship, "Casco", "tier1")
    add_role(o["B"], ship, "Afbouw", "service_provider")
    add_role(o["C"], ship, "Ontwerp", "tier2")
    add_role(o["D"], ship, "Casco", "service_provider")
    add_role(o["F"], ship, "Casco", "tier1")
    add_role(o["G"], other, "Alles", "oem")
    add_link(o["C"], o["B"], ship, sole=True, supplied="ontwerp")
    add_link(o["B"], o["A"], ship, supplied="casco")
    add_link(o["D"], o["A"], ship, sole=True, supplied="onderhoud")
    add_link(o["A"], o["E"], ship, supplied="schepen")  # E has no role: linked only
    soft_delete(add_link(o["B"], o["D"], ship, sole=True))
    add_link(o["B"], o["A"], other, sole=True)  # another chain's link is not drawn here
    add_link(o["G"], o["A"], other)
    flag_critical(o["A"], score=0.9)
    soft_delete(o["F"])
    db.session.commit()
    return {"orgs": o, "chain": ship}


def _svg(html: str) -> ET.Element:
    match = re.search(r'<svg xmlns="http://www.w3.org/2000/svg" class="vc-network".*?</svg>', html, re.S)
    assert match, "no network picture"
    return ET.fromstring(match.group(0))  # raises on malformed XML


def _nodes(svg: ET.Element) -> dict[int, ET.Element]:
    return {int(g.get("data-org-id")): g for g in svg.iter(f"{SVG}g")
            if "vc-node" in (g.get("class") or "").split()}


def _links(svg: ET.Element) -> list[ET.Element]:
    return [p for p in svg.iter(f"{SVG}path") if "vc-link" in (p.get("class") or "").split()]


def _page(client, login, make_user, chain_id):
    login(make_user("viewer"))
    resp = client.get(f"/chains/{chain_id}/network")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_the_picture_is_well_formed_and_named(client, login, make_user, chain):
    html = _page(client, login, make_user, chain["chain"].id)
    svg = _svg(html)
    # A group, not an image: its nodes are links (issue 14), and an image's content is presentational.
    assert svg.get("role") == "group"
    title_id, desc_id = svg.get("aria-labelledby"), svg.get("aria-describedby")
    titles = {el.get("id"): el.text for el in svg if el.get("id")}
    assert titles[title_id] == "Netwerk van de waardeketen Scheepsbouw N"
    assert titles[desc_id].startswith("5 organisaties in 3 fasen, 4 leveringsrelaties waarvan 2 met")
    assert "//cdn" not in html.lower() and "<script>" not in html  # nothing from outside, no inline JS
    assert " style=" not in html  # the CSP forbids inline styles
    nav = html.split('aria-label="Hoofdmenu"')[1].split("</nav>")[0]
    assert nav.count('aria-current="page"') == 1  # one menu item is current, not two


def test_one_node_per_organisation_coloured_sized_and_marked(client, login, make_user, chain):
    o = chain["orgs"]
    nodes = _nodes(_svg(_page(client, login, make_user, chain["chain"].id)))
    assert set(nodes) == {o[k].id for k in "ABCDE"}

    def dot(g):
        return next(c for c in g.iter(f"{SVG}circle") if c.get("class") == "vc-node__dot")

    expected_roles = {"A": "oem", "B": "tier1", "C": "tier2", "D": "service_provider", "E": ""}
    for key, role in expected_roles.items():
        g = nodes[o[key].id]
        assert g.get("data-role") == role
        assert dot(g).get("fill") == ROLE_COLOURS.get(role, "#ffffff")
        link = g.find(f"{SVG}a")
        assert link.find(f"{SVG}title").text.startswith(o[key].name)
        assert link.get("href") == f"/organisations/{o[key].id}"
    # Critical: a ring and a class, not colour alone.
    critical = {k for k in "ABCDE"
                if any(c.get("class") == "vc-node__ring" for c in nodes[o[k].id].iter(f"{SVG}circle"))}
    assert critical == {"A"}
    assert nodes[o["A"].id].get("data-critical") == "true"
    assert "kritisch" in nodes[o["A"].id].find(f"{SVG}a/{SVG}title").text
    # The role code is drawn in the node.
    codes = {k: next(t for t in nodes[o[k].id].iter(f"{SVG}text")
                     if t.get("class") == "vc-node__code").text for k in "ABCDE"}
    assert codes == {"A": "O", "B": "1", "C": "2", "D": "D", "E": "?"}
    radius = {k: float(dot(nodes[o[k].id]).get("r")) for k in "ABCDE"}
    assert radius["A"] > radius["B"] > radius["E"] > radius["C"] > radius["D"] == R_MIN


def test_sole_source_links_stand_out(client, login, make_user, chain):
    o = chain["orgs"]
    links = _links(_svg(_page(client, login, make_user, chain["chain"].id)))
    pairs = {(int(p.get("data-supplier")), int(p.get("data-customer"))): p for p in links}
    assert set(pairs) == {(o["C"].id, o["B"].id), (o["B"].id, o["A"].id),
                          (o["D"].id, o["A"].id), (o["A"].id, o["E"].id)}
    sole = {pair for pair, p in pairs.items() if "vc-link--sole" in p.get("class")}
    assert sole == {(o["C"].id, o["B"].id), (o["D"].id, o["A"].id)}
    for pair, p in pairs.items():
        if pair in sole:
            assert p.get("stroke-dasharray") and float(p.get("stroke-width")) >= 3
            assert "enige leverancier" in p.find(f"{SVG}title").text
        else:
            assert p.get("stroke-dasharray") is None and float(p.get("stroke-width")) < 3


def test_the_table_gives_the_same_information(client, login, make_user, chain):
    o = chain["orgs"]
    html = _page(client, login, make_user, chain["chain"].id)
    svg = _svg(html)
    nodes = _nodes(svg)
    table = html.split('class="utrecht-table vc-network-table"')[1].split("</table>")[0]
    assert set(row_ids(table)) == set(nodes) and len(row_ids(table)) == len(nodes)
    drawn = {}
    for p in _links(svg):
        drawn.setdefault(int(p.get("data-supplier")), set()).add(
            (int(p.get("data-customer")), "vc-link--sole" in p.get("class")))
    for org_id, g in nodes.items():
        row = table.split(f'data-org-id="{org_id}"')[1].split("</tr>")[0]
        critical_cell = row.split('data-col="critical">')[1].split("</td>")[0]
        assert ("Kritisch" in critical_cell) == (g.get("data-critical") == "true")
        supplies = row.split('data-col="supplies">')[1].split("</td>")[0]
        listed = {(int(c), bool(s)) for c, s in
                  re.findall(r'data-customer-id="(\d+)"( data-sole="true")?', supplies)}
        assert listed == drawn.get(org_id, set())
        sole_cell = row.split('data-col="sole">')[1].split("</td>")[0]
        n = sum(1 for _, s in listed if s)
        assert sole_cell == (f"{n} afnemer" + ("s" if n > 1 else "") if n else "—")
    b_row = table.split(f'data-org-id="{o["B"].id}"')[1].split("</tr>")[0]
    assert "Casco<br>Afbouw" in b_row and "Tier-1-toeleverancier<br>Dienstverlener" in b_row
    d_row = table.split(f'data-org-id="{o["D"].id}"')[1].split("</tr>")[0]
    assert "onbekend" in d_row  # employees unknown
    assert "Enige leverancier: de afnemer heeft geen alternatief" in html  # the legend
    assert "Kritisch bedrijf (zwarte ring)" in html


def test_a_large_chain_is_capped_with_a_note(client, login, make_user, chain, monkeypatch):
    o = chain["orgs"]
    monkeypatch.setattr(network_module, "MAX_NODES", 3)
    html = _page(client, login, make_user, chain["chain"].id)
    nodes = _nodes(_svg(html))
    # Critical first, then the largest employers.
    assert set(nodes) == {o["A"].id, o["B"].id, o["E"].id}
    assert {(int(p.get("data-supplier")), int(p.get("data-customer"))) for p in _links(_svg(html))} == {
        (o["B"].id, o["A"].id), (o["A"].id, o["E"].id)}
    assert "Deze keten telt 5 organisaties; de afbeelding en de tabel tonen de 3 belangrijkste" in html
    assert len(row_ids(html.split("vc-network-table")[1])) == 3


def test_an_empty_chain(client, login, make_user):
    chain = make_chain("Leeg N", ["Een"])
    db.session.commit()
    html = _page(client, login, make_user, chain.id)
    assert "Er zijn nog geen organisaties aan deze waardeketen gekoppeld." in html
    assert 'class="vc-network"' not in html and "<svg" not in html


def test_network_query_count_is_fixed(client, login, make_user, chain, make_org, count_queries):
    login(make_user("viewer"))
    ship = chain["chain"]
    db.session.expire_all()
    with count_queries() as few:
        client.get(f"/chains/{ship.id}/network")
    previous = chain["orgs"]["A"]
    for i in range(20):
        org = make_org(name=f"Extra N {i:02d} B.V.", employees=i)
        add_role(org, ship, "Casco", "tier2")
        add_link(org, previous, ship, sole=i % 2 == 0)
    db.session.commit()
    db.session.expire_all()
    with count_queries() as many:
        html = client.get(f"/chains/{ship.id}/network").get_data(as_text=True)
    assert len(_nodes(_svg(html))) == 25
    assert many.count == few.count, (few.statements, many.statements)


# --- Who may see the insight pages ---------------------------------------------------------------

def _urls(chain, org):
    return ["/chains/critical", "/chains/gaps", f"/chains/{chain.id}/network",
            f"/chains/{chain.id}/gaps", f"/chains/what-if/{org.id}"]


def test_anonymous_is_sent_to_login(client, chain):
    for url in _urls(chain["chain"], chain["orgs"]["A"]):
        resp = client.get(url)
        assert resp.status_code == 302, url
        assert resp.headers["Location"].startswith("/login"), url


@pytest.mark.parametrize("role", ["viewer", "local_account_manager", "regional_account_manager"])
def test_every_role_reads(client, login, make_user, chain, role):
    login(make_user(role))
    for url in _urls(chain["chain"], chain["orgs"]["A"]):
        assert client.get(url).status_code == 200, url


def test_missing_or_deleted_chain_or_organisation_is_404(client, login, make_user, chain):
    login(make_user("viewer"))
    ship, org = chain["chain"], chain["orgs"]["F"]  # F is deleted
    for url in ["/chains/999999/network", "/chains/999999/gaps", "/chains/what-if/999999",
                f"/chains/what-if/{org.id}"]:
        assert client.get(url).status_code == 404, url
    soft_delete(ship)
    db.session.commit()
    for url in [f"/chains/{ship.id}/network", f"/chains/{ship.id}/gaps"]:
        assert client.get(url).status_code == 404, url
    assert f'data-chain-id="{ship.id}"' not in client.get("/chains/gaps").get_data(as_text=True)
