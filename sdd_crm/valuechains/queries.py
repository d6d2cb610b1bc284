"""Queries for clusters, value chains, roles and supply links, and the load-or-404 helpers.

List queries return ``Select`` objects (views and the API paginate them). Every page costs a
fixed number of statements, whatever the number of chains, roles or links (no N+1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import aliased, contains_eager, joinedload, selectinload

from ..auth.models import Role
from ..extensions import db
from ..organisations.models import AccountTeamMember, Organisation
from ..permissions import EDIT_ALL_ROLES
from .models import ChainRole, Cluster, OrganisationCluster, SupplyLink, ValueChain, ValueChainStage

ROLE_LIMIT = 1000  # roles shown on one chain page; beyond that the page says so
ORG_LINK_LIMIT = 100  # links per direction on an organisation page (the rest: the link list)


def _live(org) -> list:
    return [org.deleted_at.is_(None), org.merged_into_id.is_(None)]


# --- Load or 404 ---------------------------------------------------------------------------------

def get_cluster(cluster_id: int) -> Cluster:
    cluster = db.session.get(Cluster, cluster_id) if 0 < cluster_id < 2**31 else None
    if cluster is None or cluster.deleted_at is not None:
        abort(404)
    return cluster


def get_chain(chain_id: int) -> ValueChain:
    """A live chain with its cluster and stages, or 404."""
    chain = None
    if 0 < chain_id < 2**31:
        chain = db.session.scalar(
            sa.select(ValueChain).where(ValueChain.id == chain_id)
            .options(joinedload(ValueChain.cluster), selectinload(ValueChain.stages)))
    if chain is None or chain.deleted_at is not None:
        abort(404)
    return chain


def get_stage(chain: ValueChain, stage_id: int) -> ValueChainStage:
    stage = next((s for s in chain.stages if s.id == stage_id), None)
    if stage is None:
        abort(404)
    return stage


def get_role(role_id: int) -> ChainRole:
    """A live role of a live organisation in a live chain, or 404."""
    role = None
    if 0 < role_id < 2**31:
        role = db.session.scalar(
            sa.select(ChainRole)
            .join(Organisation, Organisation.id == ChainRole.organisation_id)
            .join(ValueChain, ValueChain.id == ChainRole.value_chain_id)
            .where(ChainRole.id == role_id, ChainRole.deleted_at.is_(None),
                   ValueChain.deleted_at.is_(None), *_live(Organisation))
            .options(contains_eager(ChainRole.organisation), contains_eager(ChainRole.value_chain)))
    if role is None:
        abort(404)
    return role


def get_link(link_id: int) -> SupplyLink:
    """A live supply link between two live organisations, or 404."""
    link = None
    if 0 < link_id < 2**31:
        link = db.session.scalar(supply_link_list().where(SupplyLink.id == link_id))
    if link is None:
        abort(404)
    return link


# --- Lists ---------------------------------------------------------------------------------------

def live_clusters() -> sa.Select:
    return sa.select(Cluster).where(Cluster.deleted_at.is_(None)).order_by(Cluster.name, Cluster.id)


def live_chains(cluster_id: int | None = None) -> sa.Select:
    stmt = (sa.select(ValueChain).join(Cluster, Cluster.id == ValueChain.cluster_id)
            .where(ValueChain.deleted_at.is_(None), Cluster.deleted_at.is_(None)))
    if cluster_id is not None:
        stmt = stmt.where(ValueChain.cluster_id == cluster_id)
    return stmt.order_by(ValueChain.name, ValueChain.id)


def chain_counts(chain_ids: list[int]) -> dict[int, dict[str, int]]:
    """Organisations with a role, and supply links, per chain: two grouped queries over these
    chains only (not a count per chain)."""
    counts = {cid: {"organisations": 0, "links": 0} for cid in chain_ids}
    if not chain_ids:
        return counts
    roles = db.session.execute(
        sa.select(ChainRole.value_chain_id, sa.func.count(sa.distinct(ChainRole.organisation_id)))
        .join(Organisation, Organisation.id == ChainRole.organisation_id)
        .where(ChainRole.value_chain_id.in_(chain_ids), ChainRole.deleted_at.is_(None),
               *_live(Organisation))
        .group_by(ChainRole.value_chain_id))
    for cid, n in roles:
        counts[cid]["organisations"] = n
    supplier, customer = aliased(Organisation), aliased(Organisation)
    links = db.session.execute(
        sa.select(SupplyLink.value_chain_id, sa.func.count())
        .join(supplier, supplier.id == SupplyLink.supplier_id)
        .join(customer, customer.id == SupplyLink.customer_id)
        .where(SupplyLink.value_chain_id.in_(chain_ids), SupplyLink.deleted_at.is_(None),
               *_live(supplier), *_live(customer))
        .group_by(SupplyLink.value_chain_id))
    for cid, n in links:
        counts[cid]["links"] = n
    return counts


def cluster_member_counts(cluster_ids: list[int]) -> dict[int, int]:
    if not cluster_ids:
        return {}
    rows = db.session.execute(
        sa.select(OrganisationCluster.cluster_id, sa.func.count())
        .join(Organisation, Organisation.id == OrganisationCluster.organisation_id)
        .where(OrganisationCluster.cluster_id.in_(cluster_ids), *_live(Organisation))
        .group_by(OrganisationCluster.cluster_id))
    return {cid: n for cid, n in rows}


def cluster_members(cluster_id: int) -> sa.Select:
    return (sa.select(Organisation, OrganisationCluster.is_primary)
            .join(OrganisationCluster, OrganisationCluster.organisation_id == Organisation.id)
            .where(OrganisationCluster.cluster_id == cluster_id, *_live(Organisation))
            .order_by(Organisation.name, Organisation.id))


def chain_roles(chain_id: int, limit: int = ROLE_LIMIT) -> list[ChainRole]:
    """Live roles of live organisations in a chain, by stage, role and name (one query)."""
    return list(db.session.scalars(
        sa.select(ChainRole)
        .join(Organisation, Organisation.id == ChainRole.organisation_id)
        .where(ChainRole.value_chain_id == chain_id, ChainRole.deleted_at.is_(None),
               *_live(Organisation))
        .options(contains_eager(ChainRole.organisation))
        .order_by(Organisation.name, Organisation.id, ChainRole.id)
        .limit(limit + 1)))


def supply_link_list(*, organisation_id: int | None = None, supplier_id: int | None = None,
                     customer_id: int | None = None, value_chain_id: int | None = None,
                     sole_source: bool | None = None, by_name: bool = False) -> sa.Select:
    """Live links between live organisations, with both organisations and the chain loaded in
    the same statement; oldest first (stable for pagination) or by supplier and customer name."""
    supplier, customer = aliased(Organisation), aliased(Organisation)
    stmt = (
        sa.select(SupplyLink)
        .join(supplier, SupplyLink.supplier.of_type(supplier))
        .join(customer, SupplyLink.customer.of_type(customer))
        .outerjoin(ValueChain, SupplyLink.value_chain)
        .where(SupplyLink.deleted_at.is_(None), *_live(supplier), *_live(customer))
        .options(contains_eager(SupplyLink.supplier.of_type(supplier)),
                 contains_eager(SupplyLink.customer.of_type(customer)),
                 contains_eager(SupplyLink.value_chain))
    )
    if organisation_id is not None:
        stmt = stmt.where(sa.or_(SupplyLink.supplier_id == organisation_id,
                                 SupplyLink.customer_id == organisation_id))
    if supplier_id is not None:
        stmt = stmt.where(SupplyLink.supplier_id == supplier_id)
    if customer_id is not None:
        stmt = stmt.where(SupplyLink.customer_id == customer_id)
    if value_chain_id is not None:
        stmt = stmt.where(SupplyLink.value_chain_id == value_chain_id)
    if sole_source is not None:
        stmt = stmt.where(SupplyLink.sole_source.is_(sole_source))
    if by_name:
        return stmt.order_by(supplier.name, customer.name, SupplyLink.id)
    return stmt.order_by(SupplyLink.id)


# --- Who may edit what, in one query ------------------------------------------------------------

def editable_org_ids(user, orgs) -> set[int]:
    """The organisations among ``org_ids`` that ``user`` may edit (DESIGN 4.4), in at most one
    query: local account managers' own municipality is known from the loaded rows, their account
    teams are looked up together."""
    orgs = {o.id: o for o in orgs if o is not None}
    if user.role in EDIT_ALL_ROLES:
        return set(orgs)
    if user.role != Role.LOCAL_ACCOUNT_MANAGER or not orgs:
        return set()
    mine = {oid for oid, o in orgs.items()
            if o.municipality_code and o.municipality_code == user.municipality_code}
    rest = [oid for oid in orgs if oid not in mine]
    if rest:
        mine |= set(db.session.scalars(sa.select(AccountTeamMember.organisation_id).where(
            AccountTeamMember.user_id == user.id, AccountTeamMember.organisation_id.in_(rest))))
    return mine


# --- The organisation page's network section --------------------------------------------------

@dataclass
class OrganisationNetwork:
    clusters: list = field(default_factory=list)  # (Cluster, is_primary)
    roles: list = field(default_factory=list)  # ChainRole with value_chain and stage loaded
    supplies_to: list = field(default_factory=list)  # links where it is the supplier
    buys_from: list = field(default_factory=list)  # links where it is the customer
    more_supplies_to: bool = False
    more_buys_from: bool = False
    editable_links: set = field(default_factory=set)  # link ids the user may change


def organisation_network(org: Organisation, user) -> OrganisationNetwork:
    """Clusters, roles and supply links of one organisation: four queries (five for a local
    account manager), whatever their number."""
    net = OrganisationNetwork()
    net.clusters = db.session.execute(
        sa.select(Cluster, OrganisationCluster.is_primary)
        .join(OrganisationCluster, OrganisationCluster.cluster_id == Cluster.id)
        .where(OrganisationCluster.organisation_id == org.id, Cluster.deleted_at.is_(None))
        .order_by(OrganisationCluster.is_primary.desc(), Cluster.name)).all()
    stage = aliased(ValueChainStage)
    net.roles = list(db.session.scalars(
        sa.select(ChainRole)
        .join(ValueChain, ValueChain.id == ChainRole.value_chain_id)
        .outerjoin(stage, stage.id == ChainRole.stage_id)
        .where(ChainRole.organisation_id == org.id, ChainRole.deleted_at.is_(None),
               ValueChain.deleted_at.is_(None))
        .options(contains_eager(ChainRole.value_chain), contains_eager(ChainRole.stage.of_type(stage)))
        .order_by(ValueChain.name, stage.position, ChainRole.id)))
    out = list(db.session.scalars(
        supply_link_list(supplier_id=org.id).limit(ORG_LINK_LIMIT + 1)).unique())
    into = list(db.session.scalars(
        supply_link_list(customer_id=org.id).limit(ORG_LINK_LIMIT + 1)).unique())
    net.more_supplies_to, net.supplies_to = len(out) > ORG_LINK_LIMIT, out[:ORG_LINK_LIMIT]
    net.more_buys_from, net.buys_from = len(into) > ORG_LINK_LIMIT, into[:ORG_LINK_LIMIT]
    links = net.supplies_to + net.buys_from
    editable = editable_org_ids(user, [org] + [lk.customer for lk in net.supplies_to]
                                + [lk.supplier for lk in net.buys_from])
    net.editable_links = {lk.id for lk in links
                          if lk.supplier_id in editable or lk.customer_id in editable}
    return net
