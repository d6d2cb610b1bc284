"""The network of one value chain, as the picture and its table show it (issue 4, point 5).

Organisations with a live role or a live supply link in the chain, at most ``MAX_NODES`` of them
(critical first, then the largest employers), with the supply links among them. A fixed number
of queries whatever the chain's size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import labels
from ..extensions import db
from ..organisations.models import Organisation, OrganisationCluster
from ..reference.models import Municipality
from .analysis import ChainRef, StageRef, live_organisation
from .models import ChainRole, ChainRoleType, SupplyLink, ValueChain, ValueChainStage

MAX_NODES = 100  # a picture of more is no longer readable; the rest is one click away
ROLE_ORDER = list(ChainRoleType)  # within a stage: OEM first, customers last
NO_ROLE_LABEL = _l("Geen rol vastgelegd")


def role_label(role: str | None) -> str:
    """The role's Dutch label; an organisation linked in the chain without a role says so."""
    if role is None:
        return str(NO_ROLE_LABEL)
    return labels.label(labels.CHAIN_ROLE, role)


@dataclass
class NetworkEdge:
    supplier_id: int
    customer_id: int
    sole_source: bool
    supplied: str | None


@dataclass
class NetworkNode:
    id: int
    name: str
    employees: int | None
    is_critical: bool
    municipality: str | None
    roles: list[tuple[StageRef | None, str]] = field(default_factory=list)
    supplies_to: list[tuple[NetworkNode, NetworkEdge]] = field(default_factory=list)

    @property
    def stage(self) -> StageRef | None:
        """The column it is drawn in: the earliest stage it holds (``None``: no stage)."""
        return self.roles[0][0] if self.roles else None

    @property
    def role(self) -> str | None:
        """Its role at that stage, which colours the node."""
        return self.roles[0][1] if self.roles else None

    @property
    def sole_source_for(self) -> int:
        return sum(1 for _, edge in self.supplies_to if edge.sole_source)


@dataclass
class ChainNetwork:
    chain: ChainRef
    stages: list[StageRef]
    nodes: list[NetworkNode]
    edges: list[NetworkEdge]
    total: int  # organisations in the chain, shown or not

    @property
    def truncated(self) -> bool:
        return self.total > len(self.nodes)

    def columns(self) -> list[tuple[StageRef | None, list[NetworkNode]]]:
        """Stages left to right, each with its nodes; organisations without a stage last."""
        by_stage: dict[int | None, list[NetworkNode]] = {}
        for node in self.nodes:
            by_stage.setdefault(node.stage.id if node.stage else None, []).append(node)
        columns = [(stage, by_stage.get(stage.id, [])) for stage in self.stages]
        if None in by_stage:
            columns.append((None, by_stage[None]))
        return columns


def _sort_roles(roles: list[tuple[StageRef | None, str]]) -> list[tuple[StageRef | None, str]]:
    def key(item):
        stage, role = item
        rank = ROLE_ORDER.index(role) if role in ROLE_ORDER else len(ROLE_ORDER)
        return (stage is None, stage.position if stage else 0, rank)

    return sorted(set(roles), key=key)


def member_ids(chain_id: int) -> sa.CompoundSelect:
    """Ids of the organisations with a live role or a live supply link in the chain (alive or
    not): a union of three index ranges of the chain, so the work grows with the chain, not with
    the number of organisations (an ``EXISTS`` per organisation with "supplier or customer" made
    the database walk the chain's links once for every organisation in the region)."""
    return sa.union(
        sa.select(ChainRole.organisation_id)
        .where(ChainRole.value_chain_id == chain_id, ChainRole.deleted_at.is_(None)),
        sa.select(SupplyLink.supplier_id)
        .where(SupplyLink.value_chain_id == chain_id, SupplyLink.deleted_at.is_(None)),
        sa.select(SupplyLink.customer_id)
        .where(SupplyLink.value_chain_id == chain_id, SupplyLink.deleted_at.is_(None)),
    )


def _member_condition(chain_id: int):
    """The organisation is live and has a live role or a live supply link in the chain."""
    return sa.and_(live_organisation(), Organisation.id.in_(member_ids(chain_id)))


@dataclass(frozen=True)
class NetworkFilter:
    """What the picture is narrowed to (issue 14, point 9): one stage of the chain (organisations
    with a live role in it), one cluster (its member organisations), or both."""

    stage_id: int | None = None
    cluster_id: int | None = None

    def __bool__(self) -> bool:
        return self.stage_id is not None or self.cluster_id is not None

    def condition(self, chain_id: int) -> sa.ColumnElement[bool]:
        """SQL condition on ``Organisation``: through the chain's role index and the cluster
        membership index, so it narrows the work rather than adding to it."""
        parts = []
        if self.stage_id is not None:
            parts.append(Organisation.id.in_(
                sa.select(ChainRole.organisation_id)
                .where(ChainRole.value_chain_id == chain_id, ChainRole.stage_id == self.stage_id,
                       ChainRole.deleted_at.is_(None))))
        if self.cluster_id is not None:
            parts.append(Organisation.id.in_(
                sa.select(OrganisationCluster.organisation_id)
                .where(OrganisationCluster.cluster_id == self.cluster_id)))
        return sa.and_(sa.true(), *parts)


def load_network(chain: ValueChain, max_nodes: int | None = None, *,
                 narrow: NetworkFilter | None = None, focus: Iterable[int] = ()) -> ChainNetwork:
    """The chain's organisations (at most ``max_nodes``, default ``MAX_NODES``), their roles
    and the links among them.

    ``narrow``: only the organisations of one stage and/or cluster (``total`` counts those).
    ``focus``: organisations that must be in the picture if they are in the chain (the what-if
    view's leaving and affected organisations), drawn before the critical and the large ones
    when the chain is capped."""
    stages = [StageRef(s.id, s.position, s.name) for s in chain.stages]
    return _load(ChainRef(chain.id, chain.name), stages, max_nodes, narrow=narrow, focus=focus)


def load_chain_network(chain: ChainRef, *, focus: Iterable[int] = ()) -> ChainNetwork:
    """:func:`load_network` of a live chain known by reference only (the what-if view): its
    stages in one statement instead of loading the chain with its cluster."""
    stages = [StageRef(*row) for row in db.session.execute(
        sa.select(ValueChainStage.id, ValueChainStage.position, ValueChainStage.name)
        .where(ValueChainStage.value_chain_id == chain.id).order_by(ValueChainStage.position))]
    return _load(chain, stages, None, focus=focus)


def _load(chain: ChainRef, stages: list[StageRef], max_nodes: int | None, *,
          narrow: NetworkFilter | None = None, focus: Iterable[int] = ()) -> ChainNetwork:
    max_nodes = max_nodes or MAX_NODES
    focus_ids = sorted(set(focus))[:max_nodes]
    order = [Organisation.is_critical.desc(), Organisation.employees.desc().nulls_last(),
             Organisation.name, Organisation.id]
    if focus_ids:
        order.insert(0, sa.case((Organisation.id.in_(focus_ids), 0), else_=1))
    stage_by_id = {s.id: s for s in stages}
    # One statement for the shown organisations and how many there are in all (the window
    # counts the rows before the LIMIT; the database sorts them for the ORDER BY anyway).
    rows = db.session.execute(
        sa.select(Organisation.id, Organisation.name, Organisation.employees,
                  Organisation.is_critical, Municipality.name, sa.func.count().over())
        .outerjoin(Municipality, Municipality.code == Organisation.municipality_code)
        .where(_member_condition(chain.id), (narrow or NetworkFilter()).condition(chain.id))
        .order_by(*order)
        .limit(max_nodes)
    ).all()
    total = rows[0][5] if rows else 0
    nodes = {r[0]: NetworkNode(r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows}
    if not nodes:
        return ChainNetwork(chain, stages, [], [], 0)

    roles: dict[int, list] = {}
    for org_id, stage_id, role in db.session.execute(
        sa.select(ChainRole.organisation_id, ChainRole.stage_id, ChainRole.role)
        .where(ChainRole.value_chain_id == chain.id, ChainRole.deleted_at.is_(None),
               ChainRole.organisation_id.in_(nodes))
    ):
        roles.setdefault(org_id, []).append((stage_by_id.get(stage_id), role))
    for org_id, node in nodes.items():
        node.roles = _sort_roles(roles.get(org_id, []))

    # The links from the shown suppliers, kept when the customer is shown too. (Both sides as
    # IN lists made SQLite probe the index for every supplier × customer pair.)
    edges = [
        NetworkEdge(s, c, bool(sole), supplied)
        for s, c, sole, supplied in db.session.execute(
            sa.select(SupplyLink.supplier_id, SupplyLink.customer_id, SupplyLink.sole_source,
                      SupplyLink.supplied)
            .where(SupplyLink.value_chain_id == chain.id, SupplyLink.deleted_at.is_(None),
                   SupplyLink.supplier_id.in_(nodes))
            .order_by(SupplyLink.id)
        )
        if c in nodes
    ]
    for edge in edges:
        nodes[edge.supplier_id].supplies_to.append((nodes[edge.customer_id], edge))
    for node in nodes.values():
        node.supplies_to.sort(key=lambda pair: (not pair[1].sole_source, pair[0].name, pair[0].id))

    def layout_key(node: NetworkNode):
        role = node.role
        rank = ROLE_ORDER.index(role) if role in ROLE_ORDER else len(ROLE_ORDER)
        return (node.stage is None, node.stage.position if node.stage else 0, rank,
                node.name.lower(), node.id)

    ordered = sorted(nodes.values(), key=layout_key)
    return ChainNetwork(chain, stages, ordered, edges, total)
