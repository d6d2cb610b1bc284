"""The criticality engine on crafted networks, with exact expectations (DESIGN 4.3).

Pure functions, no database. Organisation ids are plain integers; chains are 100, 200, ...
Employees are left unknown unless the case is about employment, so the other factors show
alone.
"""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest

from sdd_crm.valuechains import criticality as engine
from sdd_crm.valuechains.criticality import Network, Settings, assess

A, B = 100, 200


def org(i, employees=None, regional=True):
    return (i, employees, regional)


def by_id(result):
    """organisation id → (score, critical, {factor: (value, level, contribution)})."""
    out = {}
    for i, oid in enumerate(result.ids.tolist()):
        factors = {f["name"]: (f["value"], f["level"], f["contribution"]) for f in result.factors(i)}
        out[oid] = (float(result.scores[i]), bool(result.critical[i]), factors)
    return out


def test_a_sole_source_hub_with_four_customers_is_critical_and_its_customers_are_not():
    # Hub 1 is the only supplier of customers 2..5 (sole source), all in chain A.
    net = Network([org(i) for i in range(1, 6)],
                  [(1, c, A, True) for c in range(2, 6)])
    r = by_id(assess(net))
    score, critical, f = r[1]
    assert f["sole_source"] == (4, 1.0, 1.0)  # 4 customers; full level from 3
    # Betweenness: the 6 pairs among the 4 customers all run through the hub; under the
    # floor of 100 pairs that is level 0.06.
    assert f["bridging"] == (6.0, 0.06, 0.06)
    assert f["breadth"] == (1, 0.0, 0.0)  # one chain is nothing special
    assert f["employment"] == (0.0, 0.0, 0.0)
    assert (score, critical) == (1.06, True)
    for customer in range(2, 6):
        assert r[customer][:2] == (0.0, False)
        assert r[customer][2]["sole_source"] == (0, 0.0, 0.0)


def test_a_sole_supplier_of_only_two_customers_is_not_flagged_on_that_alone():
    net = Network([org(i) for i in range(1, 4)], [(1, 2, A, True), (1, 3, A, True)])
    score, critical, f = by_id(assess(net))[1]
    assert f["sole_source"] == (2, 0.6667, 0.6667)
    assert f["bridging"] == (1.0, 0.01, 0.01)
    assert (score, critical) == (0.6767, False)


def test_the_same_customer_counts_once_and_ordinary_links_do_not_count():
    net = Network([org(i) for i in range(1, 5)],
                  [(1, 2, A, True), (1, 2, B, True), (1, 3, A, False), (1, 4, A, False)])
    assert by_id(assess(net))[1][2]["sole_source"] == (1, 0.3333, 0.3333)


def two_chains_joined_by(bridge_links):
    """Chain A: triangle 1-2-3; chain B: triangle 5-6-7; organisation 4 in between."""
    links = [(1, 2, A, False), (2, 3, A, False), (3, 1, A, False),
             (5, 6, B, False), (6, 7, B, False), (7, 5, B, False), *bridge_links]
    return Network([org(i) for i in range(1, 8)], links)


def test_the_only_bridge_between_two_chains_is_critical():
    result = assess(two_chains_joined_by([(3, 4, A, False), (4, 5, B, False)]))
    r = by_id(result)
    score, critical, f = r[4]
    # 3 × 3 pairs run through 4: level 0.09 by betweenness, but it is the only bridge → 1.
    assert f["bridging"] == (9.0, 1.0, 1.0)
    assert result.factors(result.index_of(4))[2]["separates_chains"] == [A, B]
    assert f["breadth"] == (2, 0.5, 0.25)  # a link in A and one in B
    assert (score, critical) == (1.25, True)
    # 3 and 5 are cut vertices too, but inside one chain: they connect no two chains.
    for inner in (3, 5):
        assert r[inner][2]["bridging"] == (8.0, 0.08, 0.08)
        assert r[inner][:2] == (0.08, False)
    for leaf in (1, 2, 6, 7):
        assert r[leaf][:2] == (0.0, False)


def test_a_second_connection_between_the_chains_makes_the_bridge_ordinary():
    result = assess(two_chains_joined_by([(3, 4, A, False), (4, 5, B, False), (2, 6, B, False)]))
    score, critical, f = by_id(result)[4]
    assert result.separates == {}
    assert f["bridging"][1] < 0.1
    assert (score, critical) == (round(f["bridging"][2] + 0.25, 4), False)


def test_a_bridge_known_only_by_roles_also_counts():
    # Links without a chain; the chains come from the organisations' roles. 1, 2, 3 are in A,
    # 4 in A and B, 5, 6, 7 in B; the only connection is the path 3 - 4 - 5.
    links = [(1, 2, None, False), (2, 3, None, False), (3, 1, None, False), (3, 4, None, False),
             (4, 5, None, False), (5, 6, None, False), (6, 7, None, False)]
    roles = [(1, A), (2, A), (3, A), (4, A), (4, B), (5, B), (6, B), (7, B)]
    result = assess(Network([org(i) for i in range(1, 8)], links, roles))
    assert {int(result.ids[i]): pair for i, pair in result.separates.items()} == {4: (A, B)}
    assert by_id(result)[4][:2] == (1.25, True)


def test_a_supplier_with_one_customer_in_each_of_two_chains_is_no_bridge():
    # Customers 2 and 3 are each alone on their side: no fragment of a chain beyond the hub.
    result = assess(Network([org(i) for i in range(1, 4)], [(1, 2, A, True), (1, 3, B, True)]))
    assert result.separates == {}
    # With a second organisation on each side it is the only bridge between two chains.
    result = assess(Network([org(i) for i in range(1, 6)],
                            [(1, 2, A, False), (1, 3, B, False), (4, 2, A, False), (5, 3, B, False)]))
    assert {int(result.ids[i]) for i in result.separates} == {1}


def test_a_dominant_employer_without_links_is_critical():
    # 3,000 of the region's 10,000 recorded jobs; 70 companies of 100 share the rest.
    orgs = [org(1, 3000)] + [org(i, 100) for i in range(2, 72)]
    orgs += [org(900, 5000, regional=False)]  # Gorinchem, or a school: not regional employment
    r = by_id(assess(Network(orgs)))
    assert r[1] == (1.0, True, {"employment": (0.3, 1.0, 1.0), "sole_source": (0, 0.0, 0.0),
                                "bridging": (0.0, 0.0, 0.0), "breadth": (0, 0.0, 0.0)})
    assert r[2][:2] == (0.5, False)  # 1 % of the jobs: level 0.5
    assert r[2][2]["employment"] == (0.01, 0.5, 0.5)
    assert r[900][:2] == (0.0, False)


def test_a_crowd_of_small_leaves_around_a_hub_leaves_the_leaves_alone():
    # Hub 1 (50 jobs) buys from 50 small suppliers (5 jobs each), none sole source, all in
    # chain A; 97 other companies of 100 jobs make a region of 10,000 jobs.
    orgs = [org(1, 50)] + [org(i, 5) for i in range(2, 52)] + [org(i, 100) for i in range(100, 197)]
    links = [(leaf, 1, A, False) for leaf in range(2, 52)]
    r = by_id(assess(Network(orgs, links)))
    for leaf in range(2, 52):
        assert r[leaf] == (0.025, False, {"employment": (0.0005, 0.025, 0.025),
                                          "sole_source": (0, 0.0, 0.0), "bridging": (0.0, 0.0, 0.0),
                                          "breadth": (1, 0.0, 0.0)})
    # The hub is the only connection among its 50 suppliers: 1,225 pairs, the network's
    # strongest broker (level 1), so it is flagged on its bridging position.
    assert r[1][2]["bridging"] == (1225.0, 1.0, 1.0)
    assert r[1][:2] == (1.25, True)
    for other in range(100, 197):
        assert r[other][:2] == (0.5, False)


def test_an_isolated_small_firm_scores_nothing():
    r = by_id(assess(Network([org(1, 4), org(2, 9996)])))
    assert r[1][:2] == (0.02, False)
    r = by_id(assess(Network([org(1, None)])))
    assert r[1] == (0.0, False, {"employment": (0.0, 0.0, 0.0), "sole_source": (0, 0.0, 0.0),
                                 "bridging": (0.0, 0.0, 0.0), "breadth": (0, 0.0, 0.0)})


def test_breadth_counts_distinct_chains_of_roles_and_links():
    net = Network([org(i) for i in range(1, 4)], [(1, 2, A, False), (1, 3, B, False)],
                  [(1, A), (1, 300), (2, A)])
    r = by_id(assess(net))
    assert r[1][2]["breadth"] == (3, 1.0, 0.5)
    assert r[2][2]["breadth"] == (1, 0.0, 0.0)


def test_weights_and_threshold_change_the_outcome():
    hub4 = Network([org(i) for i in range(1, 6)], [(1, c, A, True) for c in range(2, 6)])
    assert by_id(assess(hub4))[1][:2] == (1.06, True)
    half = Settings(weights={**engine.DEFAULT_WEIGHTS, "sole_source": 0.5}, threshold=0.8)
    assert by_id(assess(hub4, half))[1][:2] == (0.56, False)
    hub2 = Network([org(i) for i in range(1, 4)], [(1, 2, A, True), (1, 3, A, True)])
    assert by_id(assess(hub2, Settings(threshold=0.5)))[1][:2] == (0.6767, True)
    factors = assess(hub4, half).factors(0)
    assert [f["weight"] for f in factors] == [1.0, 0.5, 1.0, 0.5]


def test_links_to_organisations_outside_the_network_are_ignored():
    # 9 is deleted, merged or dissolved: the loader leaves it out, so its links do not count.
    net = Network([org(1), org(2)], [(1, 9, A, True), (9, 2, A, True), (1, 2, A, True)])
    r = by_id(assess(net))
    assert r[1][2]["sole_source"] == (1, 0.3333, 0.3333)
    assert r[2][2]["sole_source"] == (0, 0.0, 0.0)


def random_graph(n, m, seed):
    rng = random.Random(seed)
    edges = set()
    while len(edges) < m:
        a, b = int(n * rng.random() ** 2), rng.randrange(n)
        if a != b:
            edges.add((a, b))
    return edges


def _engine_betweenness(n, edges, **kwargs):
    u = np.array([e[0] for e in edges])
    v = np.array([e[1] for e in edges])
    u, v = engine._simple_edges(n, u, v)
    graph = nx.Graph()
    graph.add_edges_from(zip(u.tolist(), v.tolist()))
    comps = [np.fromiter(c, dtype=np.int64) for c in nx.connected_components(graph)]
    return engine.betweenness(n, u, v, np.arange(n) + 1, comps, **kwargs), graph


@pytest.mark.parametrize("seed", [1, 2])
def test_betweenness_equals_networkx_exactly_on_random_networks(seed):
    n = 400
    edges = random_graph(n, 700, seed) | {(a + 1000, b + 1000) for a, b in random_graph(30, 40, seed)}
    ours, graph = _engine_betweenness(1030, edges)
    ref = nx.betweenness_centrality(graph, normalized=False)
    assert max(abs(ours[node] - value) for node, value in ref.items()) < 1e-6
    assert set(np.flatnonzero(ours)) <= set(ref)


def test_sampled_betweenness_is_close_to_exact_and_deterministic():
    n = 1000
    edges = random_graph(n, 3000, 3)
    exact, _ = _engine_betweenness(n, edges)
    sampled, _ = _engine_betweenness(n, edges, exact_max=100, pivots=256)
    again, _ = _engine_betweenness(n, edges, exact_max=100, pivots=256)
    assert np.array_equal(sampled, again)
    levels_exact, levels_sampled = exact / exact.max(), sampled / sampled.max()
    assert np.abs(levels_exact - levels_sampled).max() < 0.05
    top = int(np.argmax(exact))
    assert int(np.argmax(sampled)) == top and abs(sampled[top] - exact[top]) / exact[top] < 0.15


def test_separators_agree_with_removing_each_node_from_a_networkx_graph():
    """The depth-first shortcut gives what removing each node and looking would give."""
    rng = random.Random(7)
    found = 0
    for _ in range(40):
        # Four groups of seven, each a loose chain fragment, joined here and there.
        n, links = 28, []
        for g, chain in enumerate((A, B, 300, A)):
            nodes = list(range(g * 7 + 1, g * 7 + 8))
            for i in range(1, 7):
                links.append((nodes[rng.randrange(i)], nodes[i], rng.choice([chain, chain, None]), False))
            if rng.random() < 0.5:
                links.append((nodes[0], nodes[6], chain, False))
        for _join in range(rng.randrange(3, 6)):
            a, b = rng.randrange(n) + 1, rng.randrange(n) + 1
            if a != b:
                links.append((a, b, rng.choice([A, B, 300, None]), False))
        roles = [(rng.randrange(n) + 1, rng.choice([A, B, 300])) for _ in range(4)]
        result = assess(Network([org(i) for i in range(1, n + 1)], links, roles))
        graph = nx.Graph()
        graph.add_edges_from((s, c) for s, c, _ch, _so in links)
        members = {}
        for s, c, ch, _so in links:
            if ch is not None:
                members.setdefault(s, set()).add(ch)
                members.setdefault(c, set()).add(ch)
        for o, ch in roles:
            members.setdefault(o, set()).add(ch)
        expected = set()
        for node in graph:
            rest = graph.copy()
            rest.remove_node(node)
            pieces = []
            for comp in nx.connected_components(rest):
                if any(graph.has_edge(node, x) for x in comp):
                    pieces.append({ch: sum(ch in members.get(x, ()) for x in comp) for ch in (A, B, 300)})
            for a in (A, B, 300):
                for b in (A, B, 300):
                    if a < b and not any(p[a] and p[b] for p in pieces) \
                            and any(p[a] >= 2 for p in pieces) and any(p[b] >= 2 for p in pieces):
                        expected.add(node)
        assert {int(result.ids[i]) for i in result.separates} == expected
        found += len(expected)
    assert found > 5  # the random networks did contain bridges


def test_with_few_companies_recorded_small_firms_are_not_dominant_employers():
    """A fresh import of a dozen one-person firms: each holds 1/12 of the recorded jobs, but the
    share is taken of at least 10,000 jobs, so none is a 'dominant employer' (DESIGN 4.3)."""
    r = by_id(assess(Network([org(i, 1) for i in range(1, 13)])))
    assert all(not critical for _score, critical, _factors in r.values())
    assert r[1][2]["employment"] == (0.083333, 0.005, 0.005)
    # A real large employer among them still is one: 300 people ≥ 2 % of 10,000.
    r = by_id(assess(Network([org(i, 1) for i in range(1, 13)] + [org(99, 300)])))
    assert r[99][:2] == (1.0, True)
