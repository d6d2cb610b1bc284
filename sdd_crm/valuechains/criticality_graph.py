"""Graph algorithms of the criticality engine, over numpy adjacency arrays (no Flask, no DB).

``betweenness``: Brandes' algorithm vectorised with numpy, exact per component up to
``EXACT_MAX_NODES`` nodes, else estimated from ``PIVOTS`` sources as networkx's ``k=`` does.
``chain_separators``: cut vertices that alone connect two value chains, by one iterative
depth-first search. The tests check both against networkx. See ``criticality`` for why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

EXACT_MAX_NODES = 2500
PIVOTS = 256
PIVOT_SEED = 20240401
MIN_CHAIN_SIDE = 2


# --- bridging: betweenness --------------------------------------------------------------------

def pivot_order(ids: np.ndarray) -> np.ndarray:
    """A deterministic, data-independent ranking of organisations for choosing sources."""
    h = (ids.astype(np.uint64) * np.uint64(2654435761) + np.uint64(PIVOT_SEED)) % np.uint64(2**32)
    return np.argsort(h, kind="stable")


def betweenness(n: int, u: np.ndarray, v: np.ndarray, ids: np.ndarray,
                components: Iterable[np.ndarray], *, exact_max: int = EXACT_MAX_NODES,
                pivots: int = PIVOTS, progress: Callable[[float], None] | None = None) -> np.ndarray:
    """Raw betweenness of nodes 0..n-1 of the undirected simple graph (u, v).

    Equal to ``nx.betweenness_centrality(G, normalized=False)`` for components of up to
    ``exact_max`` nodes; larger ones are estimated from ``pivots`` sources (scaled by n / k).
    """
    plans = []
    for comp in components:
        if comp.size < 3:
            continue  # nobody lies between two others
        comp = np.sort(comp)
        if comp.size <= exact_max:
            sources = comp
        else:
            sources = comp[pivot_order(ids[comp])[:pivots]]
        plans.append((comp, sources))
    out = np.zeros(n)
    if not plans:
        return out
    # Components in the order of their number of sources, laid out contiguously: in round r the
    # components still searching are a prefix, so each round only touches their nodes.
    plans.sort(key=lambda p: -p[1].size)
    order = np.concatenate([p[0] for p in plans])
    local = np.full(n, -1, dtype=np.int64)
    local[order] = np.arange(order.size)
    keep = local[u] >= 0
    lu, lv = local[u[keep]], local[v[keep]]
    indptr, indices = _csr(order.size, lu, lv)
    scale = np.concatenate([np.full(c.size, c.size / s.size) for c, s in plans])
    ends = np.cumsum([c.size for c, _ in plans])
    counts = np.array([s.size for _, s in plans])
    sources = [local[s] for _, s in plans]
    acc = np.zeros(order.size)
    rounds = int(counts[0])
    for r in range(rounds):
        active = int(np.sum(counts > r))  # plans with more than r sources: a prefix
        end = int(ends[active - 1])
        roots = np.fromiter((sources[i][r] for i in range(active)), dtype=np.int64, count=active)
        acc[:end] += _dependencies(end, indptr, indices, roots) * scale[:end]
        if progress and (r % 16 == 15 or r == rounds - 1):
            progress((r + 1) / rounds)
    out[order] = acc / 2.0  # undirected: each pair was counted from both ends
    return out


def _csr(n: int, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.concatenate([u, v]), np.concatenate([v, u])
    order = np.argsort(a, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
    return indptr, b[order].astype(np.int32)  # half the memory traffic of int64 in the searches


def _dependencies(end: int, indptr: np.ndarray, indices: np.ndarray, roots: np.ndarray) -> np.ndarray:
    """Brandes' dependency of every node on ``roots`` (one root per component), nodes < ``end``."""
    degree = np.diff(indptr[:end + 1])
    dist = np.full(end, -1, dtype=np.int32)
    sigma = np.zeros(end)
    dist[roots] = 0
    sigma[roots] = 1.0
    frontier, depth, levels = roots, 0, []
    while frontier.size:
        count = degree[frontier]
        total = int(count.sum())
        if not total:
            break
        # The neighbours of the whole frontier at once: its rows of the adjacency arrays.
        dst = indices[np.repeat(indptr[frontier] - (np.cumsum(count) - count), count) + np.arange(total)]
        fresh = dst[dist[dst] == -1]
        if not fresh.size:
            break
        dist[fresh] = depth + 1  # duplicates are harmless here; a sort to drop them is not
        on_path = dist[dst] == depth + 1
        src, dst = np.repeat(frontier, count)[on_path], dst[on_path]
        sigma += np.bincount(dst, weights=sigma[src], minlength=end)
        levels.append((src, dst))
        frontier, depth = np.flatnonzero(dist == depth + 1), depth + 1
    delta = np.zeros(end)
    for src, dst in reversed(levels):
        delta += np.bincount(src, weights=sigma[src] / sigma[dst] * (1.0 + delta[dst]), minlength=end)
    delta[roots] = 0.0
    return delta


# --- bridging: the only bridge between two chains ---------------------------------------------

def chain_separators(n: int, u: np.ndarray, v: np.ndarray, org_chain: np.ndarray,
                     min_side: int = MIN_CHAIN_SIDE) -> dict[int, tuple[int, int]]:
    """Cut vertices that alone connect two value chains: index → (chain id, chain id).

    Node ``x`` is a member of chain c when it has a role or a link in c. Removing a cut vertex
    splits its component into pieces; it separates chains A and B when no piece holds members
    of both, and one piece holds at least ``min_side`` members of A and another at least
    ``min_side`` of B (a chain fragment on either side, not a lone customer).

    One iterative depth-first search (Hopcroft–Tarjan low points) finds the cut vertices and,
    for each, the children whose subtrees come loose; subtrees are intervals of the preorder,
    so the members of each chain in a piece are counted with two binary searches, and the
    piece on the parent's side is the component minus the rest.
    """
    if not org_chain.size or not u.size:
        return {}
    chain_ids = np.unique(org_chain[1])
    if chain_ids.size < 2:
        return {}
    indptr, indices = _csr(n, u, v)
    disc, low, parent, size, root = _dfs(n, indptr.tolist(), indices.tolist())
    loose: dict[int, list[int]] = {}
    for y in range(n):
        p = parent[y]
        if p >= 0 and low[y] >= disc[p]:
            loose.setdefault(p, []).append(y)
    cuts = [x for x, ys in loose.items() if parent[x] >= 0 or len(ys) >= 2]
    if not cuts:
        return {}
    # Intervals of the preorder: per cut vertex, its loose subtrees, then itself, then its
    # whole component; counted per chain in one go.
    starts, ends, spans = [], [], []
    disc_arr = np.asarray(disc)
    for x in cuts:
        first = len(starts)
        for y in loose[x]:
            starts.append(disc[y])
            ends.append(disc[y] + size[y])
        r = root[x]
        starts += [disc[x], disc[r]]
        ends += [disc[x] + 1, disc[r] + size[r]]
        spans.append((x, first, len(starts)))
    starts, ends = np.asarray(starts), np.asarray(ends)
    chain_col = np.searchsorted(chain_ids, org_chain[1])
    member_pos = disc_arr[org_chain[0]]
    counts = np.zeros((starts.size, chain_ids.size), dtype=np.int64)
    for c in range(chain_ids.size):
        positions = np.sort(member_pos[chain_col == c])
        counts[:, c] = np.searchsorted(positions, ends) - np.searchsorted(positions, starts)
    result = {}
    for x, first, last in spans:
        pieces = counts[first:last - 2]
        if parent[x] >= 0:  # the parent's side: the component minus x and its loose subtrees
            rest = counts[last - 1] - counts[last - 2] - pieces.sum(axis=0)
            pieces = np.vstack([pieces, rest])
        pair = _separated_pair(pieces, min_side)
        if pair is not None:
            result[x] = (int(chain_ids[pair[0]]), int(chain_ids[pair[1]]))
    return result


def _dfs(n: int, indptr: list[int], adj: list[int]):
    """Iterative depth-first search: discovery time (= preorder position), low point, parent,
    subtree size and component root of every node (disc -1 for a node without edges)."""
    disc, low, parent = [-1] * n, [0] * n, [-1] * n
    size, root = [1] * n, [-1] * n
    cursor = indptr[:-1]
    order, t = [], 0
    for r in range(n):
        if disc[r] != -1 or indptr[r] == indptr[r + 1]:
            continue
        disc[r] = low[r] = t
        t += 1
        root[r] = r
        order.append(r)
        stack = [r]
        while stack:
            x = stack[-1]
            i = cursor[x]
            if i < indptr[x + 1]:
                cursor[x] = i + 1
                y = adj[i]
                if disc[y] == -1:
                    parent[y], root[y] = x, r
                    disc[y] = low[y] = t
                    t += 1
                    order.append(y)
                    stack.append(y)
                elif y != parent[x] and disc[y] < low[x]:
                    low[x] = disc[y]
            else:
                stack.pop()
                p = parent[x]
                if p >= 0 and low[x] < low[p]:
                    low[p] = low[x]
    for x in reversed(order):
        if parent[x] >= 0:
            size[parent[x]] += size[x]
    return disc, low, parent, size, root


def _separated_pair(pieces: np.ndarray, min_side: int) -> tuple[int, int] | None:
    """Chain columns (a, b) never present in the same piece, each with ``min_side`` members in
    some piece; or None."""
    present = pieces > 0
    strong = (pieces >= min_side).any(axis=0)
    if strong.sum() < 2:
        return None
    # together[a, b]: some piece holds both a and b
    together = (present.T.astype(np.int64) @ present.astype(np.int64)) > 0
    candidates = np.flatnonzero(strong)
    apart = ~together[np.ix_(candidates, candidates)]
    hits = np.argwhere(np.triu(apart, 1))
    if not hits.size:
        return None
    a, b = hits[0]
    return int(candidates[a]), int(candidates[b])
