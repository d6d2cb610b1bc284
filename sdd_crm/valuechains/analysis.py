"""What-if and gap analysis of the value chains (issue 4, points 5 and 6).

The ``load_*`` functions run a fixed number of bounded queries (aggregates, or rows for one
organisation's chains only) and hand plain data to the pure functions below them, which need
no database: the tests feed those crafted networks with exact expectations.

"Live" organisations are those not deleted, not merged into another record and not dissolved:
a dissolved company holds no stage and supplies nobody.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..extensions import db
from ..organisations.models import Organisation, OrgStatus
from ..reference.models import Municipality
from .models import ChainRole, Cluster, SupplyLink, ValueChain, ValueChainStage
from .queries import dead_organisation_ids


def live_organisation(org=Organisation) -> sa.ColumnElement[bool]:
    """SQL condition: the organisation still exists and still operates."""
    return sa.and_(org.deleted_at.is_(None), org.merged_into_id.is_(None),
                   org.status != OrgStatus.DISSOLVED)


@dataclass(frozen=True)
class OrgRef:
    id: int
    name: str


@dataclass(frozen=True)
class StageRef:
    id: int
    position: int
    name: str


@dataclass(frozen=True)
class ChainRef:
    id: int
    name: str


# --- Gap analysis -------------------------------------------------------------------------

@dataclass(frozen=True)
class StageStats:
    """Who holds a stage: live role holders, how many of them in Drechtsteden, and the only one."""

    holders: int = 0
    regional_holders: int = 0
    only_holder: OrgRef | None = None


@dataclass(frozen=True)
class StageGap:
    stage: StageRef
    stats: StageStats

    @property
    def empty(self) -> bool:
        """No organisation at all plays a role at this stage."""
        return self.stats.holders == 0

    @property
    def single(self) -> bool:
        """One organisation holds the stage: the chain depends on it (a risk)."""
        return self.stats.holders == 1

    @property
    def no_regional(self) -> bool:
        """Held only from outside Drechtsteden (an empty stage is reported as empty)."""
        return self.stats.holders > 0 and self.stats.regional_holders == 0

    @property
    def is_gap(self) -> bool:
        return self.empty or self.single or self.no_regional


@dataclass
class ChainGaps:
    chain: ChainRef
    cluster: str
    stages: list[StageGap]

    @property
    def single(self) -> list[StageGap]:
        return [s for s in self.stages if s.single]

    @property
    def no_regional(self) -> list[StageGap]:
        return [s for s in self.stages if s.no_regional]

    @property
    def empty(self) -> list[StageGap]:
        return [s for s in self.stages if s.empty]

    @property
    def has_gaps(self) -> bool:
        return any(s.is_gap for s in self.stages)


def stage_gaps(stages: Iterable[StageRef], stats: dict[int, StageStats]) -> list[StageGap]:
    """Every stage in chain order with its holders; a stage missing from ``stats`` is empty."""
    return [StageGap(stage, stats.get(stage.id, StageStats()))
            for stage in sorted(stages, key=lambda s: s.position)]


def outside_region_ids() -> sa.CompoundSelect:
    """Ids of the organisations outside Drechtsteden (no municipality, or one that is not a
    member): the few, found through the municipality index. (The codes are read first: joined
    in, the planners guessed at a fifth of all organisations and read them all.)"""
    codes = list(db.session.scalars(
        sa.select(Municipality.code).where(Municipality.drechtsteden_member.is_not(True))))
    return sa.union_all(
        sa.select(Organisation.id).where(Organisation.municipality_code.is_(None)),
        sa.select(Organisation.id).where(Organisation.municipality_code.in_(codes)))


def load_stage_stats(chain_ids: list[int] | None = None) -> dict[int, StageStats]:
    """Per stage id: live holders, regional holders, and the only holder where there is one.

    Two queries whatever the number of chains: one aggregate over the chain index alone (dead
    and outside organisations are few: they are taken out, and counted, by their ids), one for
    the only holders' names.
    """
    holder = ChainRole.organisation_id
    outside = sa.case((holder.in_(outside_region_ids()), holder))
    stmt = (
        sa.select(ChainRole.stage_id,
                  sa.func.count(sa.distinct(holder)),
                  sa.func.count(sa.distinct(outside)),
                  sa.func.min(holder))
        .where(ChainRole.deleted_at.is_(None), ChainRole.stage_id.is_not(None),
               holder.not_in(dead_organisation_ids(dissolved=True)))
        # A stage belongs to one chain: grouped in the index's order, without a sort.
        .group_by(ChainRole.value_chain_id, ChainRole.stage_id)
    )
    if chain_ids is not None:
        stmt = stmt.where(ChainRole.value_chain_id.in_(chain_ids))
    rows = db.session.execute(stmt).all()
    only_ids = {only for _, holders, _, only in rows if holders == 1}
    names = dict(db.session.execute(
        sa.select(Organisation.id, Organisation.name).where(Organisation.id.in_(only_ids))
    ).all()) if only_ids else {}
    return {
        stage_id: StageStats(holders, holders - outside_holders,
                             OrgRef(only, names[only]) if holders == 1 else None)
        for stage_id, holders, outside_holders, only in rows
    }


def load_chain_gaps(chain_ids: list[int] | None = None) -> list[ChainGaps]:
    """Gap analysis of the given live chains (all when ``None``), by chain name."""
    stmt = (
        sa.select(ValueChain.id, ValueChain.name, Cluster.name, ValueChainStage.id,
                  ValueChainStage.position, ValueChainStage.name)
        .join(Cluster, Cluster.id == ValueChain.cluster_id)
        .outerjoin(ValueChainStage, ValueChainStage.value_chain_id == ValueChain.id)
        .where(ValueChain.deleted_at.is_(None))
        .order_by(ValueChain.name, ValueChain.id, ValueChainStage.position)
    )
    if chain_ids is not None:
        stmt = stmt.where(ValueChain.id.in_(chain_ids))
    chains: dict[int, tuple[ChainRef, str, list[StageRef]]] = {}
    for chain_id, chain_name, cluster_name, stage_id, position, stage_name in db.session.execute(stmt):
        entry = chains.setdefault(chain_id, (ChainRef(chain_id, chain_name), cluster_name, []))
        if stage_id is not None:
            entry[2].append(StageRef(stage_id, position, stage_name))
    stats = load_stage_stats(list(chains)) if chains else {}
    return [ChainGaps(chain, cluster, stage_gaps(stages, stats))
            for chain, cluster, stages in chains.values()]


# --- What if this organisation leaves ------------------------------------------------------

@dataclass(frozen=True)
class OutgoingLink:
    """A live supply link of the leaving organisation, seen from the customer's side."""

    customer: OrgRef
    chain: ChainRef | None
    supplied: str | None
    sole_source: bool
    other_suppliers: int = 0  # other live suppliers of this customer in the same chain


@dataclass(frozen=True)
class HeldStage:
    chain: ChainRef
    stage: StageRef
    other_holders: int  # live holders of the stage besides the leaving organisation


@dataclass
class ChainSplit:
    """The leaving organisation's part of a chain's supply network falls apart."""

    chain: ChainRef
    parts: int  # how many pieces its former component breaks into
    cut_off: list[OrgRef] = field(default_factory=list)


@dataclass(frozen=True)
class AffectedOrg:
    """An organisation hit when the leaving one goes: it loses its only supplier (a sole-source
    link, the criticality model's ``sole_source`` factor) and/or is cut off from the rest of a
    chain; ``employees`` (its recorded employment, the model's ``employment`` input) are the
    jobs at stake there."""

    org: OrgRef
    employees: int | None
    only_supplier: bool
    cut_off: bool
    chains: tuple[ChainRef, ...]


@dataclass
class WhatIf:
    organisation: OrgRef
    lose_only_supplier: list[OutgoingLink]
    lose_a_supplier: list[OutgoingLink]
    lost_stages: list[HeldStage]
    splits: list[ChainSplit]
    held_stages: list[HeldStage] = field(default_factory=list)
    employees: dict[int, int | None] = field(default_factory=dict)  # of the affected, by id
    own_employees: int | None = None  # the leaving organisation's own
    linked_chains: list[ChainRef] = field(default_factory=list)  # chains it has links in

    @property
    def has_impact(self) -> bool:
        return bool(self.lose_only_supplier or self.lost_stages or self.splits)

    def chains(self) -> list[ChainRef]:
        """The chains it has a live role or supply link in, by name."""
        found = {h.chain for h in self.held_stages}
        found.update(link.chain for link in self.lose_only_supplier + self.lose_a_supplier if link.chain)
        found.update(split.chain for split in self.splits)
        found.update(self.linked_chains)
        return sorted(found, key=lambda c: (c.name, c.id))

    @cached_property
    def affected(self) -> list[AffectedOrg]:
        """Every organisation that loses its only supplier or is cut off, once, with its chains;
        the largest employers first."""
        found: dict[int, dict] = {}

        def entry(org: OrgRef) -> dict:
            return found.setdefault(org.id, {"org": org, "only": False, "cut": False, "chains": []})

        for link in self.lose_only_supplier:
            item = entry(link.customer)
            item["only"] = True
            if link.chain and link.chain not in item["chains"]:
                item["chains"].append(link.chain)
        for split in self.splits:
            for org in split.cut_off:
                item = entry(org)
                item["cut"] = True
                if split.chain not in item["chains"]:
                    item["chains"].append(split.chain)
        out = [AffectedOrg(i["org"], self.employees.get(oid), i["only"], i["cut"], tuple(i["chains"]))
               for oid, i in found.items()]
        return sorted(out, key=lambda a: (-(a.employees or 0), a.org.name, a.org.id))

    @property
    def jobs_at_stake(self) -> int:
        """Recorded employment of the affected organisations (each counted once)."""
        return sum(a.employees or 0 for a in self.affected)

    @property
    def unknown_employment(self) -> int:
        """Affected organisations without a recorded number of employees."""
        return sum(1 for a in self.affected if a.employees is None)


def cut_off_by_removal(org_id: int, edges: Iterable[tuple[int, int]]) -> tuple[int, set[int]]:
    """Remove ``org_id`` from the undirected supply graph ``edges``.

    Returns how many pieces its former connected component falls into, and the organisations
    no longer connected to the rest of the chain: everything outside the one largest piece (when
    the largest size is shared, no piece is "the rest", so every piece is cut off).

    The pieces are the parts reachable from its neighbours without passing through it: one
    search over plain adjacency sets (building a networkx graph of a chain with thousands of
    links took longer than the search itself).
    """
    adjacent: dict[int, list[int]] = defaultdict(list)
    for a, b in edges:
        if a != b:
            adjacent[a].append(b)
            adjacent[b].append(a)
    if org_id not in adjacent:
        return 0, set()
    seen = {org_id}
    pieces: list[set[int]] = []
    for start in adjacent[org_id]:
        if start in seen:
            continue
        seen.add(start)
        piece, stack = {start}, [start]
        while stack:
            for other in adjacent[stack.pop()]:
                if other not in seen:
                    seen.add(other)
                    piece.add(other)
                    stack.append(other)
        pieces.append(piece)
    if len(pieces) <= 1:
        return len(pieces), set()
    pieces.sort(key=len, reverse=True)
    keep = 1 if len(pieces[0]) > len(pieces[1]) else 0
    return len(pieces), set().union(*pieces[keep:])


def what_if(organisation: OrgRef, links: Iterable[OutgoingLink], held: Iterable[HeldStage],
            chain_edges: dict[ChainRef, list[tuple[int, int]]],
            names: dict[int, str],
            cuts: dict[ChainRef, tuple[int, set[int]]] | None = None, *,
            employees: dict[int, int | None] | None = None,
            own_employees: int | None = None) -> WhatIf:
    """What the region loses when ``organisation`` leaves (pure: plain data in, plain data out).

    ``links``: its live supply links as supplier; a sole-source customer loses its only supplier,
    the others lose one supplier and keep alternatives. ``held``: the stages where it has a role;
    those nobody else holds are lost to the chain. ``chain_edges``: each chain's live supply links as
    (supplier, customer) pairs, to find who is no longer connected to the rest of the chain;
    ``cuts``: :func:`cut_off_by_removal` of each chain when the caller has it already;
    ``employees``: the recorded employment of the organisations concerned (the jobs at stake).
    """
    def order(link: OutgoingLink):
        return (link.customer.name, link.customer.id, link.chain.name if link.chain else "")

    links = sorted(links, key=order)
    held = sorted(held, key=lambda h: (h.chain.name, h.chain.id, h.stage.position))
    splits = []
    for chain in sorted(chain_edges, key=lambda c: (c.name, c.id)):
        parts, cut = (cuts[chain] if cuts is not None and chain in cuts
                      else cut_off_by_removal(organisation.id, chain_edges[chain]))
        if cut:
            cut_refs = sorted((OrgRef(i, names.get(i, "")) for i in cut), key=lambda o: (o.name, o.id))
            splits.append(ChainSplit(chain, parts, cut_refs))
    return WhatIf(
        organisation=organisation,
        lose_only_supplier=[link for link in links if link.sole_source],
        lose_a_supplier=[link for link in links if not link.sole_source],
        lost_stages=[h for h in held if h.other_holders == 0],
        splits=splits,
        held_stages=held,
        employees=dict(employees or {}),
        own_employees=own_employees,
        linked_chains=list(chain_edges),
    )


def load_what_if(org: Organisation) -> WhatIf:
    """Load what :func:`what_if` needs for one organisation: at most six bounded queries."""
    me = OrgRef(org.id, org.name)
    customer = aliased(Organisation)
    live_chain = sa.or_(SupplyLink.value_chain_id.is_(None), ValueChain.deleted_at.is_(None))

    # 1. Its live links as supplier, with the customer and the chain.
    rows = db.session.execute(
        sa.select(customer.id, customer.name, ValueChain.id, ValueChain.name,
                  SupplyLink.supplied, SupplyLink.sole_source, customer.employees)
        .join(customer, customer.id == SupplyLink.customer_id)
        .outerjoin(ValueChain, ValueChain.id == SupplyLink.value_chain_id)
        .where(SupplyLink.supplier_id == org.id, SupplyLink.deleted_at.is_(None),
               live_organisation(customer), live_chain)
    ).all()

    # 2. How many other live suppliers each of those customers has, per chain.
    other: dict[tuple[int, int | None], int] = {}
    customer_ids = {r[0] for r in rows}
    if customer_ids:
        supplier = aliased(Organisation)
        for customer_id, chain_id, n in db.session.execute(
            sa.select(SupplyLink.customer_id, SupplyLink.value_chain_id,
                      sa.func.count(sa.distinct(SupplyLink.supplier_id)))
            .join(supplier, supplier.id == SupplyLink.supplier_id)
            .where(SupplyLink.customer_id.in_(customer_ids), SupplyLink.supplier_id != org.id,
                   SupplyLink.deleted_at.is_(None), live_organisation(supplier))
            .group_by(SupplyLink.customer_id, SupplyLink.value_chain_id)
        ):
            other[(customer_id, chain_id)] = n
    links = [
        OutgoingLink(OrgRef(cid, cname), ChainRef(chid, chname) if chid is not None else None,
                     supplied, bool(sole), other.get((cid, chid), 0))
        for cid, cname, chid, chname, supplied, sole, _employees in rows
    ]
    employees: dict[int, int | None] = {r[0]: r[6] for r in rows}

    # 3. The stages where it has a live role, and 4. how many other live holders each has.
    stage_rows = db.session.execute(
        sa.select(ValueChain.id, ValueChain.name, ValueChainStage.id, ValueChainStage.position,
                  ValueChainStage.name)
        .select_from(ChainRole)
        .join(ValueChain, ValueChain.id == ChainRole.value_chain_id)
        .join(ValueChainStage, ValueChainStage.id == ChainRole.stage_id)
        .where(ChainRole.organisation_id == org.id, ChainRole.deleted_at.is_(None),
               ValueChain.deleted_at.is_(None))
        .distinct()
    ).all()
    others = load_other_holders([r[2] for r in stage_rows], org.id,
                                chain_ids={r[0] for r in stage_rows}) if stage_rows else {}
    held = [HeldStage(ChainRef(chid, chname), StageRef(sid, pos, sname), others.get(sid, 0))
            for chid, chname, sid, pos, sname in stage_rows]

    # 5. The supply graphs of the chains it has live links in, and 6. names of the cut-off.
    edges = load_chain_edges(org.id)
    cuts = {chain: cut_off_by_removal(org.id, pairs) for chain, pairs in edges.items()}
    cut_ids: set[int] = set().union(*(cut for _, cut in cuts.values()))
    names: dict[int, str] = {}
    if cut_ids:
        for oid, name, staff in db.session.execute(
            sa.select(Organisation.id, Organisation.name, Organisation.employees)
            .where(Organisation.id.in_(cut_ids))
        ):
            names[oid] = name
            employees[oid] = staff
    return what_if(me, links, held, edges, names, cuts, employees=employees,
                   own_employees=org.employees)


def load_other_holders(stage_ids: list[int], org_id: int,
                       chain_ids: Iterable[int] | None = None) -> dict[int, int]:
    """Live role holders per stage other than ``org_id``, for the given stages only (``chain_ids``:
    their chains, so the chain index is read; a stage belongs to one chain)."""
    stmt = (
        sa.select(ChainRole.stage_id, sa.func.count(sa.distinct(ChainRole.organisation_id)))
        .where(ChainRole.stage_id.in_(stage_ids), ChainRole.deleted_at.is_(None),
               ChainRole.organisation_id != org_id,
               ChainRole.organisation_id.not_in(dead_organisation_ids(dissolved=True)))
        .group_by(ChainRole.stage_id)
    )
    if chain_ids is not None:
        stmt = stmt.where(ChainRole.value_chain_id.in_(sorted(chain_ids)))
    return dict(db.session.execute(stmt).all())


def load_chain_edges(org_id: int) -> dict[ChainRef, list[tuple[int, int]]]:
    """Every live (supplier, customer) pair of the live chains ``org_id`` has a live link in.

    Only id pairs are fetched, from the chain index alone, and only for that organisation's
    chains; links of dead organisations (few) are left out by their ids.
    """
    own_chains = (
        sa.select(SupplyLink.value_chain_id)
        .where(SupplyLink.deleted_at.is_(None), SupplyLink.value_chain_id.is_not(None),
               sa.or_(SupplyLink.supplier_id == org_id, SupplyLink.customer_id == org_id))
    )
    dead = dead_organisation_ids(dissolved=True)
    rows = db.session.execute(
        sa.select(ValueChain.id, ValueChain.name, SupplyLink.supplier_id, SupplyLink.customer_id)
        .join(ValueChain, ValueChain.id == SupplyLink.value_chain_id)
        .where(SupplyLink.value_chain_id.in_(own_chains), SupplyLink.deleted_at.is_(None),
               ValueChain.deleted_at.is_(None), SupplyLink.supplier_id.not_in(dead),
               SupplyLink.customer_id.not_in(dead))
    ).all()
    by_chain: dict[int, list[tuple[int, int]]] = defaultdict(list)
    names: dict[int, str] = {}
    for chain_id, chain_name, s, c in rows:
        by_chain[chain_id].append((s, c))
        names[chain_id] = chain_name
    return {ChainRef(chain_id, names[chain_id]): pairs for chain_id, pairs in by_chain.items()}
