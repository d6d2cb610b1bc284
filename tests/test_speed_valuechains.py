"""Value chains at scale (issue 12): what the chain pages show when a chain has thousands of
members, fixed statement counts whatever the size of the network, and the fast queries giving
exactly what the straightforward ones gave (dead organisations left out, ties in names, the
pieces a chain falls into).

The 100,000-organisation timings are in benchmarks/RESULTS.md; here the region is small and the
statement counts are compared between a network and one five times as large.
"""

from __future__ import annotations

import datetime as dt
import random
import re

import networkx as nx
import sqlalchemy as sa
from html_helpers import assert_good_markup
from insight_support import (
    add_link,
    add_role,
    flag_critical,
    join_cluster,
    make_chain,
    make_cluster,
)

from sdd_crm.extensions import db
from sdd_crm.organisations.models import Organisation, OrgStatus
from sdd_crm.reference.models import Municipality
from sdd_crm.valuechains import network as network_module
from sdd_crm.valuechains import queries
from sdd_crm.valuechains.analysis import cut_off_by_removal, load_stage_stats
from sdd_crm.valuechains.models import ChainRole, OrganisationCluster, SupplyLink

STAGES = ["Ontwerp", "Casco", "Afbouw"]
ROLES = ["oem", "tier1", "tier2", "service_provider"]


def _org(name: str, **fields) -> Organisation:
    """An organisation row as the importer writes it (no service: hundreds of them, quickly)."""
    org = Organisation(name=name, org_type="company", size_class=fields.pop("size_class", "small"),
                       city="Dordrecht", municipality_code=fields.pop("municipality_code", "GM0505"),
                       **fields)
    db.session.add(org)
    db.session.flush()
    return org


def _network(per_stage: int, tag: str = "S"):
    """A chain with ``per_stage`` role holders at each stage, each supplying the next stage's
    holder of the same rank (every other link sole-source), members of one cluster; the first
    holder critical. Also an organisation outside the region, a dissolved and a deleted one."""
    cluster = make_cluster(f"Snelcluster {tag}")
    chain = make_chain(f"Snelketen {tag}", STAGES, cluster)
    grid = []
    for s, stage_name in enumerate(STAGES):
        row = []
        for i in range(per_stage):
            org = _org(f"Snel {tag} {stage_name} {i:03d} B.V.", employees=10 + i)
            add_role(org, chain, stage_name, ROLES[(s + i) % len(ROLES)])
            join_cluster(org, cluster)
            row.append(org)
        grid.append(row)
    for s in range(len(STAGES) - 1):
        for i in range(per_stage):
            add_link(grid[s][i], grid[s + 1][i], chain, sole=i % 2 == 0, supplied=f"snelgoed {i}")
    flag_critical(grid[0][0], score=0.9)
    outside = _org(f"Snel {tag} Elders B.V.", municipality_code="GM0512")
    add_role(outside, chain, "Afbouw", "customer")
    dissolved = _org(f"Snel {tag} Opgeheven B.V.", status=OrgStatus.DISSOLVED)
    add_role(dissolved, chain, "Casco", "tier2")
    gone = _org(f"Snel {tag} Weg B.V.")
    add_role(gone, chain, "Casco", "tier2")
    add_link(gone, grid[2][0], chain, sole=True)
    gone.deleted_at = dt.datetime.now(dt.UTC)
    db.session.commit()
    return {"chain": chain, "cluster": cluster, "grid": grid, "outside": outside,
            "dissolved": dissolved, "gone": gone}


# --- Fixed statement counts ------------------------------------------------------------------

# Pinned: the statements of each page (signed in as a regional account manager; as measured on
# SQLite and PostgreSQL alike). Lower a pin when a page gets cheaper; never raise it silently.
PAGES = {
    "/chains/": 8,
    "/chains/{chain}": 7,  # issue 14: + whether the criticality figures are current
    "/chains/{chain}?page=2": 7,
    "/chains/{chain}/roles": 5,
    "/chains/{chain}/roles?stage={stage}&page=2": 5,
    "/chains/{chain}/network": 9,  # issue 14: + the clusters of the filter
    "/chains/{chain}/gaps": 8,
    "/chains/gaps": 5,
    "/chains/links/": 3,
    "/chains/links/?value_chain_id={chain}&page=2": 5,
    "/chains/links/?organisation_id={org}": 8,
    "/chains/critical": 10,  # issue 14: + the figures' notice, as on the chain page
    "/chains/criticality/{org}": 10,
    "/chains/what-if/{org}": 17,  # issue 14: + the picture of the affected part (stages, network)
}
API = {
    "/api/v1/value-chains": 3,
    "/api/v1/value-chains/{chain}": 3,
    "/api/v1/value-chains/{chain}/roles": 4,
    "/api/v1/supply-links?value_chain_id={chain}": 2,
}


def _urls(net, table):
    ids = {"chain": net["chain"].id, "stage": net["chain"].stages[1].id,
           "org": net["grid"][1][0].id}
    return {url.format(**ids): pin for url, pin in table.items()}


def _grow(net, extra: int):
    """``extra`` more holders at every stage, linked like the others."""
    chain, grid = net["chain"], net["grid"]
    before = len(grid[0])
    for s, stage_name in enumerate(STAGES):
        for i in range(extra):
            org = _org(f"Snel groei {stage_name} {i:03d} B.V.", employees=i)
            add_role(org, chain, stage_name, ROLES[i % len(ROLES)])
            join_cluster(org, net["cluster"])
            grid[s].append(org)
    for s in range(len(STAGES) - 1):
        for i in range(before, before + extra):
            add_link(grid[s][i], grid[s + 1][i], chain, sole=i % 3 == 0, supplied=f"snelgoed {i}")
    db.session.commit()


def _count(client, count_queries, url, headers=None):
    client.get(url, headers=headers or {})  # warm: a token's first use is written down
    db.session.expire_all()
    with count_queries() as q:
        resp = client.get(url, headers=headers or {})
    assert resp.status_code == 200, (url, resp.status_code)
    return q.count, q.statements


def test_pages_cost_the_same_statements_at_five_times_the_size(
        client, login, make_user, api_headers, count_queries, monkeypatch):
    monkeypatch.setattr(queries, "ROLES_PER_STAGE", 4)
    monkeypatch.setattr(network_module, "MAX_NODES", 6)
    user = make_user("regional_account_manager")
    headers = api_headers(user)
    login(user)
    net = _network(per_stage=5)
    pages, api = _urls(net, PAGES), _urls(net, API)
    small = {url: _count(client, count_queries, url) for url in pages}
    small |= {url: _count(client, count_queries, url, headers) for url in api}
    _grow(net, extra=20)
    for url, pin in (pages | api).items():
        count, statements = _count(client, count_queries, url, headers if url in api else None)
        assert count == small[url][0], (url, small[url][1], statements)
        assert count <= pin, (url, count, statements)


# --- What a big chain's pages show -----------------------------------------------------------

def _text(resp) -> str:
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_the_chain_page_shows_the_first_roles_per_stage_and_links_to_all(
        client, login, make_user, monkeypatch):
    monkeypatch.setattr(queries, "ROLES_PER_STAGE", 3)
    net = _network(per_stage=5)
    chain = net["chain"]
    login(make_user("regional_account_manager"))
    page = _text(client.get(f"/chains/{chain.id}"))
    casco = page.split(f'id="fase-{chain.stages[1].id}"')[1].split("</section>")[0]
    shown = re.findall(r">Snel S Casco (\d{3}) B\.V\.</a>", casco)
    assert shown == ["000", "001", "002"]  # the first three by name
    # Five holders and the dissolved one (still an organisation with a role); the deleted one
    # is gone.
    assert "De eerste 3 van 6 rollen in deze fase." in casco
    assert f'href="/chains/{chain.id}/roles?stage={chain.stages[1].id}"' in casco
    assert "Alle rollen in fase Casco" in casco
    assert "Snel S Weg" not in page

    listed = []
    url = f"/chains/{chain.id}/roles?stage={chain.stages[1].id}"
    for number in (1, 2):
        html = _text(client.get(f"{url}&page={number}"))
        listed += re.findall(r">Snel S (Casco \d{3}|Opgeheven) B\.V\.</a>", html)
    assert listed == ["Casco 000", "Casco 001", "Casco 002", "Casco 003", "Casco 004", "Opgeheven"]


def test_the_role_list_pages_through_every_stage_in_order(client, login, make_user, monkeypatch):
    from sdd_crm.valuechains import views

    monkeypatch.setattr(views, "ROLES_PER_PAGE", 4)
    net = _network(per_stage=3)
    chain = net["chain"]
    login(make_user("viewer"))
    rows, number = [], 1
    while True:
        html = _text(client.get(f"/chains/{chain.id}/roles?page={number}"))
        rows += re.findall(r"<td class=\"utrecht-table__cell\">(\d\. \w+)</td>", html)
        if 'rel="next"' not in html:
            break
        number += 1
    assert rows == ["1. Ontwerp"] * 3 + ["2. Casco"] * 4 + ["3. Afbouw"] * 4
    assert "Verwijderen" not in html  # a viewer changes nothing
    assert_good_markup(client.get(f"/chains/{chain.id}/roles?stage=geen"))


def test_a_role_is_removed_from_the_role_list_and_the_list_comes_back(client, login, make_user):
    net = _network(per_stage=2)
    chain = net["chain"]
    login(make_user("regional_account_manager"))
    html = _text(client.get(f"/chains/{chain.id}/roles"))
    assert_good_markup(client.get(f"/chains/{chain.id}/roles"))
    role = db.session.scalar(sa.select(ChainRole).where(
        ChainRole.organisation_id == net["grid"][0][0].id))
    assert f'action="/chains/roles/{role.id}/delete"' in html
    resp = client.post(f"/chains/roles/{role.id}/delete", data={"back": "roles"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/chains/{chain.id}/roles")
    db.session.expire_all()
    assert db.session.get(ChainRole, role.id).deleted_at is not None


def test_a_large_network_says_how_many_more_and_where_they_are(client, login, make_user, monkeypatch):
    monkeypatch.setattr(network_module, "MAX_NODES", 4)
    net = _network(per_stage=3)
    chain = net["chain"]
    login(make_user("viewer"))
    html = _text(client.get(f"/chains/{chain.id}/network"))
    # 9 holders, the one outside the region; the dissolved and the deleted are not drawn.
    assert "Deze keten telt 10 organisaties; de afbeelding en de tabel tonen de 4 belangrijkste" in html
    assert "En nog 6 organisaties:" in html
    assert f'href="/chains/{chain.id}/roles"' in html
    assert f'href="/chains/links/?value_chain_id={chain.id}"' in html
    first = net["grid"][0][0]
    assert f'data-org-id="{first.id}"' in html  # the critical one is always drawn


# --- The fast queries give what the plain joins gave ----------------------------------------

def _live(org) -> bool:
    return org.deleted_at is None and org.merged_into_id is None


def test_counts_leave_out_dead_organisations_like_the_joins_did():
    net = _network(per_stage=4)
    chain = net["chain"]
    survivor = net["grid"][0][1]
    merged = net["grid"][1][1]
    merged.merged_into_id = survivor.id
    db.session.commit()
    orgs = {o.id: o for o in db.session.scalars(sa.select(Organisation))}
    roles = db.session.scalars(sa.select(ChainRole).where(ChainRole.value_chain_id == chain.id,
                                                          ChainRole.deleted_at.is_(None))).all()
    links = db.session.scalars(sa.select(SupplyLink).where(SupplyLink.value_chain_id == chain.id,
                                                           SupplyLink.deleted_at.is_(None))).all()
    expected_orgs = len({r.organisation_id for r in roles if _live(orgs[r.organisation_id])})
    expected_links = sum(1 for lk in links if _live(orgs[lk.supplier_id]) and _live(orgs[lk.customer_id]))
    assert queries.chain_counts([chain.id]) == {
        chain.id: {"organisations": expected_orgs, "links": expected_links}}
    assert expected_orgs == 3 * 4 + 2 - 1  # the outside and the dissolved count; merged not
    members = db.session.scalars(sa.select(OrganisationCluster.organisation_id).where(
        OrganisationCluster.cluster_id == net["cluster"].id)).all()
    assert queries.cluster_member_counts([net["cluster"].id]) == {
        net["cluster"].id: sum(1 for m in members if _live(orgs[m]))}

    regional = set(db.session.scalars(sa.select(Municipality.code).where(
        Municipality.drechtsteden_member.is_(True))))
    stats = load_stage_stats([chain.id])
    for stage in chain.stages:
        holders = {r.organisation_id for r in roles if r.stage_id == stage.id
                   and _live(orgs[r.organisation_id])
                   and orgs[r.organisation_id].status != OrgStatus.DISSOLVED}
        inside = {h for h in holders if orgs[h].municipality_code in regional}
        assert (stats[stage.id].holders, stats[stage.id].regional_holders) == (len(holders), len(inside))
    assert stats[chain.stages[2].id].regional_holders == stats[chain.stages[2].id].holders - 1


def test_links_by_name_page_through_in_full_order_with_equal_names():
    chain = make_chain("Gelijknamig", ["Een"])
    same = [_org("Zelfde Naam B.V.") for _ in range(3)]
    others = [_org(f"{letter} Klant B.V.") for letter in "ABCDE"]
    gone = _org("Aaa Weg B.V.")
    rng = random.Random(12)
    for supplier in same + others[:2] + [gone]:
        for customer in rng.sample(others, 3):
            if customer is not supplier:
                add_link(supplier, customer, chain if rng.random() < 0.5 else None)
    gone.deleted_at = dt.datetime.now(dt.UTC)
    db.session.commit()
    orgs = {o.id: o for o in db.session.scalars(sa.select(Organisation))}
    every = db.session.scalars(sa.select(SupplyLink).where(SupplyLink.deleted_at.is_(None))).all()
    expected = sorted((lk for lk in every if _live(orgs[lk.supplier_id]) and _live(orgs[lk.customer_id])),
                      key=lambda lk: (orgs[lk.supplier_id].name, orgs[lk.customer_id].name, lk.id))
    for per_page in (1, 2, 5):
        seen, number = [], 1
        while True:
            page = queries.paginate_links(number, per_page, by_name=True)
            seen += [lk.id for lk in page.items]
            if not page.has_next:
                break
            number += 1
        assert seen == [lk.id for lk in expected], per_page


def test_the_pieces_a_chain_falls_into_match_networkx():
    rng = random.Random(7)
    for _ in range(60):
        n = rng.randint(2, 25)
        edges = [(rng.randrange(n), rng.randrange(n)) for _ in range(rng.randint(1, 2 * n))]
        edges = [(a, b) for a, b in edges if a != b] or [(0, 1)]
        graph = nx.Graph(edges)
        org = rng.randrange(n)
        if org not in graph:
            assert cut_off_by_removal(org, edges) == (0, set())
            continue
        component = nx.node_connected_component(graph, org)
        pieces = sorted(nx.connected_components(graph.subgraph(component - {org})), key=len,
                        reverse=True)
        if len(pieces) <= 1:
            expected = (len(pieces), set())
        else:
            keep = 1 if len(pieces[0]) > len(pieces[1]) else 0
            expected = (len(pieces), set().union(*pieces[keep:]))
        assert cut_off_by_removal(org, edges) == expected, edges
