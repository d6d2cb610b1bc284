"""Imports point one way (issue 10, STYLE.md "Packages point one way").

Every module of ``sdd_crm`` is parsed with ``ast``; every import counts, at module level and
inside functions alike (an import inside a function only hides a cycle, it does not remove it).
A feature that must react to another feature's change listens to a signal (``sdd_crm/signals.py``)
instead of importing it.

- The ground floor (the top-level modules ``sdd_crm/*.py`` and the ``audit`` and ``jobs``
  packages) imports no feature package.
- No modules of different packages form a cycle.
- Without the web layer on top (views, forms, blueprint ``__init__``, ``cli``, and the ``api``,
  ``main``, ``admin`` and ``accounts`` packages, which may import any feature), the packages form
  a DAG; and no feature module imports the web layer.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent / "sdd_crm"

# Top-level modules that are not ground floor: the app factory and the CLI wire every feature
# together; ``models`` imports every model so that Alembic sees the whole metadata; ``permissions``
# holds the role rules and stands on ``auth`` (the roles); ``visibility`` gathers the visibility
# rules of interactions and leads for the web layer (only the web layer may import it).
NOT_GROUND_FLOOR = {"sdd_crm", "sdd_crm.cli", "sdd_crm.models", "sdd_crm.permissions",
                    "sdd_crm.visibility"}
GROUND_FLOOR_PACKAGES = {"audit", "jobs"}
WEB_PACKAGES = {"api", "main", "admin", "accounts"}
WEB_MODULE = re.compile(r"(^|_)(views|forms)$|^cli$")

# Edges (importer, imported) the rules above still allow, each with why. This list may only
# shrink: remove an entry when its import is gone (the test says so when one is stale).
ALLOWED: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if path.name != "__init__.py":
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, path: Path):
    """(imported module, line) for every import in the file, at any depth."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom):
            base = _resolve(module, path, node)
            for alias in node.names:
                target = f"{base}.{alias.name}"
                yield (target if target in MODULES else base), node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno


def _build_graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(MODULES)
    for module, path in MODULES.items():
        for target, line in _imports(module, path):
            if target in MODULES and target != module:
                graph.add_edge(module, target)
                graph.edges[module, target].setdefault("lines", []).append(line)
    return graph


GRAPH = _build_graph()


def package(module: str) -> str:
    """The feature package (``organisations``), or the top-level module's own name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else module


def is_top_level(module: str) -> bool:
    return MODULES[module].parent == ROOT


def is_ground_floor(module: str) -> bool:
    if is_top_level(module):
        return module not in NOT_GROUND_FLOOR
    return package(module) in GROUND_FLOOR_PACKAGES


def is_web(module: str) -> bool:
    if is_top_level(module):
        return module in {"sdd_crm", "sdd_crm.cli", "sdd_crm.visibility"}
    path = MODULES[module]
    return (package(module) in WEB_PACKAGES or path.name == "__init__.py"
            or bool(WEB_MODULE.search(path.stem)))


def _where(a: str, b: str) -> str:
    lines = ", ".join(str(n) for n in GRAPH.edges[a, b]["lines"])
    return f"{a} -> {b} ({MODULES[a].relative_to(ROOT.parent)}:{lines})"


def _shortest_cycle(graph: nx.DiGraph) -> list[str]:
    """The shortest cycle of a strongly connected graph, as a closed list of nodes."""
    best = None
    for a, b in graph.edges:
        path = nx.shortest_path(graph, b, a)
        if best is None or len(path) + 1 < len(best):
            best = [a, *path]
    return best


def _edges() -> list[tuple[str, str]]:
    return [edge for edge in GRAPH.edges if edge not in ALLOWED]


def test_ground_floor_imports_no_feature():
    bad = [_where(a, b) for a, b in _edges()
           if is_ground_floor(a) and not is_ground_floor(b)]
    assert not bad, "the ground floor imports a feature:\n" + "\n".join(bad)


def test_no_module_cycle_across_packages():
    graph = nx.DiGraph(_edges())
    cycles = []
    for component in nx.strongly_connected_components(graph):
        if len({package(m) for m in component}) > 1:
            cycles.append("cycle through " + ", ".join(sorted(component)) + ":\n  " + "\n  ".join(
                _where(a, b) for a, b in sorted(graph.subgraph(component).edges)
                if package(a) != package(b)))
    assert not cycles, "modules of different packages import each other:\n" + "\n".join(cycles)


def test_feature_packages_form_a_dag():
    packages = nx.DiGraph()
    via = defaultdict(list)
    for a, b in _edges():
        if is_web(a) or package(a) == package(b):
            continue
        packages.add_edge(package(a), package(b))
        via[package(a), package(b)].append(_where(a, b))
    problems = []
    for component in nx.strongly_connected_components(packages):
        if len(component) > 1:
            cycle = _shortest_cycle(packages.subgraph(component))
            problems.append(" -> ".join(cycle) + ":\n  " + "\n  ".join(
                "; ".join(via[a, b][:3]) for a, b in zip(cycle, cycle[1:])))
    assert not problems, "feature packages import each other in a cycle:\n" + "\n".join(problems)


def test_features_do_not_import_the_web_layer():
    bad = [_where(a, b) for a, b in _edges()
           if not is_web(a) and not is_ground_floor(a) and is_web(b) and package(a) != package(b)
           and a != "sdd_crm.models"]
    assert not bad, "a feature module imports the web layer:\n" + "\n".join(bad)


def test_allowed_edges_still_exist():
    stale = [f"{a} -> {b}" for a, b in ALLOWED if not GRAPH.has_edge(a, b)]
    assert not stale, "remove these from ALLOWED, the import is gone:\n" + "\n".join(stale)


def test_receivers_are_connected_when_the_app_exists(app):
    """Each feature moves its own records in a merge, and reacts to changes below it."""
    from sdd_crm import signals

    def connected(signal) -> set[str]:
        return {receiver.__module__ for receiver in signal.receivers_for(object())}

    assert connected(signals.organisations_merged) >= {
        "sdd_crm.contacts.receivers", "sdd_crm.interactions.receivers", "sdd_crm.leads.receivers",
        "sdd_crm.programmes.receivers", "sdd_crm.valuechains.receivers",
        "sdd_crm.imports.receivers"}
    assert "sdd_crm.valuechains.receivers" in connected(signals.organisation_changed)
    assert connected(signals.reference_seeded) >= {"sdd_crm.valuechains.receivers",
                                                   "sdd_crm.programmes.receivers"}
