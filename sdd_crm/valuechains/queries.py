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
from ..organisations.models import AccountTeamMember, Organisation, OrgStatus
from ..pagination import Page
from ..permissions import EDIT_ALL_ROLES
from .models import ChainRole, Cluster, OrganisationCluster, SupplyLink, ValueChain, ValueChainStage

ROLES_PER_STAGE = 10  # roles shown per stage on a chain's page; the rest on its role list
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


def dead_organisation_ids(*, dissolved: bool = False) -> sa.CompoundSelect:
    """Ids of the organisations that are deleted or merged into another (and, with
    ``dissolved``, dissolved ones): few, each found through its own index. Counts over a whole
    chain or cluster subtract these instead of looking up every member's organisation row."""
    parts = [sa.select(Organisation.id).where(Organisation.deleted_at.is_not(None)),
             sa.select(Organisation.id).where(Organisation.merged_into_id.is_not(None))]
    if dissolved:
        parts.append(sa.select(Organisation.id).where(Organisation.status == OrgStatus.DISSOLVED))
    return sa.union(*parts)


def _less_dead(every: sa.Select, gone: sa.Select, keys) -> dict[int, int]:
    """Per key (a chain or cluster id) the sum of two grouped counts, each a select of (key,
    count): ``every`` counts the live rows from the chain's or cluster's own index, ``gone`` the
    same rows of dead organisations, negated (found from the dead ones' side). One statement;
    keys outside ``keys`` are dropped."""
    both = sa.union_all(every, gone).subquery()
    key, n = both.c[0], both.c[1]
    wanted = set(keys)
    return {k: int(total) for k, total in db.session.execute(
        sa.select(key, sa.func.sum(n)).group_by(key)) if k in wanted}


def chain_counts(chain_ids: list[int]) -> dict[int, dict[str, int]]:
    """Live organisations with a live role, and live links between live organisations, per
    chain: two grouped queries over these chains only, read from the chain indexes alone (the
    few dead organisations are subtracted, not looked up per row)."""
    counts = {cid: {"organisations": 0, "links": 0} for cid in chain_ids}
    if not chain_ids:
        return counts
    # The organisations: all with a live role counted from the chain index, less the dead ones
    # with a live role (found from their side), in one statement.
    live_role = (ChainRole.value_chain_id.in_(chain_ids), ChainRole.deleted_at.is_(None))
    every = (sa.select(ChainRole.value_chain_id,
                       sa.func.count(sa.distinct(ChainRole.organisation_id)).label("n"))
             .where(*live_role).group_by(ChainRole.value_chain_id))
    gone = (sa.select(ChainRole.value_chain_id,
                      (-sa.func.count(sa.distinct(ChainRole.organisation_id))).label("n"))
            .where(ChainRole.organisation_id.in_(dead_organisation_ids()),
                   ChainRole.deleted_at.is_(None))
            .group_by(ChainRole.value_chain_id))
    for cid, n in _less_dead(every, gone, chain_ids).items():
        counts[cid]["organisations"] = n
    # The links: all live ones counted from the chain index, less those touching a dead
    # organisation (found from the dead ones' side), in one statement.
    dead = dead_organisation_ids()
    every = (sa.select(SupplyLink.value_chain_id, sa.func.count().label("n"))
             .where(SupplyLink.value_chain_id.in_(chain_ids), SupplyLink.deleted_at.is_(None))
             .group_by(SupplyLink.value_chain_id))
    touching = sa.union(sa.select(SupplyLink.id).where(SupplyLink.supplier_id.in_(dead)),
                        sa.select(SupplyLink.id).where(SupplyLink.customer_id.in_(dead)))
    gone = (sa.select(SupplyLink.value_chain_id, (-sa.func.count()).label("n"))
            .where(SupplyLink.id.in_(touching), SupplyLink.deleted_at.is_(None))
            .group_by(SupplyLink.value_chain_id))
    for cid, n in _less_dead(every, gone, chain_ids).items():
        counts[cid]["links"] = n
    return counts


def cluster_member_counts(cluster_ids: list[int]) -> dict[int, int]:
    """Live members per cluster: all memberships counted from the cluster index, less those of
    dead organisations (found from the other side), in one statement."""
    if not cluster_ids:
        return {}
    OC = OrganisationCluster
    every = (sa.select(OC.cluster_id, sa.func.count().label("n"))
             .where(OC.cluster_id.in_(cluster_ids)).group_by(OC.cluster_id))
    dead = (sa.select(OC.cluster_id, (-sa.func.count()).label("n"))
            .where(OC.organisation_id.in_(dead_organisation_ids())).group_by(OC.cluster_id))
    return {cid: n for cid, n in _less_dead(every, dead, cluster_ids).items() if n}


def cluster_members(cluster_id: int) -> sa.Select:
    return (sa.select(Organisation, OrganisationCluster.is_primary)
            .join(OrganisationCluster, OrganisationCluster.organisation_id == Organisation.id)
            .where(OrganisationCluster.cluster_id == cluster_id, *_live(Organisation))
            .order_by(Organisation.name, Organisation.id))


@dataclass
class StagePreview:
    """The first roles at one stage of a chain (by organisation name) and how many there are."""

    stage_id: int | None
    total: int = 0
    roles: list = field(default_factory=list)  # ChainRole with its organisation loaded

    @property
    def more(self) -> int:
        return self.total - len(self.roles)


def stage_previews(chain: ValueChain, per_stage: int | None = None) -> dict[int | None, StagePreview]:
    """Per stage of the chain (None: roles without a stage): its number of live roles of live
    organisations and the first ``per_stage`` (default ``ROLES_PER_STAGE``) of them by
    organisation name, in one statement whatever the chain's size: the first roles of every
    stage, each a short range of ``ix_chain_role_chain_stage_name`` (the name copied onto the
    role), with their stage's count from the chain index less the roles of dead organisations."""
    per_stage = per_stage or ROLES_PER_STAGE
    live_role = (ChainRole.value_chain_id == chain.id, ChainRole.deleted_at.is_(None))
    every = (sa.select(ChainRole.stage_id, sa.func.count().label("n"))
             .where(*live_role).group_by(ChainRole.stage_id))
    gone = (sa.select(ChainRole.stage_id, (-sa.func.count()).label("n"))
            .where(*live_role, ChainRole.organisation_id.in_(dead_organisation_ids()))
            .group_by(ChainRole.stage_id))
    both = sa.union_all(every, gone).subquery()
    totals = (sa.select(both.c.stage_id, sa.func.sum(both.c.n).label("total"))
              .group_by(both.c.stage_id).subquery())
    firsts = [
        sa.select(ChainRole.id)
        .join(Organisation, Organisation.id == ChainRole.organisation_id)
        .where(*live_role, *_live(Organisation),
               ChainRole.stage_id.is_(None) if stage_id is None else ChainRole.stage_id == stage_id)
        .order_by(ChainRole.organisation_name, ChainRole.organisation_id, ChainRole.id)
        .limit(per_stage).subquery()
        for stage_id in [stage.id for stage in chain.stages] + [None]]
    previews: dict[int | None, StagePreview] = {}
    for role, total in db.session.execute(
            sa.select(ChainRole, totals.c.total).join(ChainRole.organisation)
            .join(totals, totals.c.stage_id.is_not_distinct_from(ChainRole.stage_id))
            .where(ChainRole.id.in_(sa.union_all(*(sa.select(f.c.id) for f in firsts))))
            .options(contains_eager(ChainRole.organisation))
            .order_by(ChainRole.organisation_name, ChainRole.organisation_id, ChainRole.id)):
        previews.setdefault(role.stage_id, StagePreview(role.stage_id, int(total))).roles.append(role)
    return previews


def chain_role_list(chain_id: int, stage_id: int | None = None, *,
                    without_stage: bool = False) -> sa.Select:
    """Live roles of live organisations in a chain (at one stage, or without a stage), by
    stage and organisation name, with the organisation and the stage in the same statement."""
    stmt = _ordered_roles(
        sa.select(ChainRole).where(ChainRole.value_chain_id == chain_id,
                                   ChainRole.deleted_at.is_(None)))
    if without_stage:
        stmt = stmt.where(ChainRole.stage_id.is_(None))
    elif stage_id is not None:
        stmt = stmt.where(ChainRole.stage_id == stage_id)
    return stmt


def _ordered_roles(stmt: sa.Select) -> sa.Select:
    stage = aliased(ValueChainStage)
    return (stmt.join(Organisation, Organisation.id == ChainRole.organisation_id)
            .outerjoin(stage, stage.id == ChainRole.stage_id)
            .where(*_live(Organisation))
            .options(contains_eager(ChainRole.organisation),
                     contains_eager(ChainRole.stage.of_type(stage)))
            .order_by(stage.position.is_(None), stage.position, ChainRole.organisation_name,
                      ChainRole.organisation_id, ChainRole.id))


def paginate_roles(page: int, per_page: int, chain_id: int, stage_id: int | None = None, *,
                   without_stage: bool = False) -> Page:
    """:func:`~sdd_crm.pagination.paginate` for :func:`chain_role_list` in one statement: the
    page's role ids on the narrow join first, then those roles with their organisations."""
    ids = chain_role_list(chain_id, stage_id, without_stage=without_stage)
    return _page_by_ids(ids.with_only_columns(ChainRole.id), _ordered_roles(sa.select(ChainRole)),
                        page, per_page)


def _page_by_ids(ids: sa.Select, rows: sa.Select, page: int, per_page: int) -> Page:
    """:func:`~sdd_crm.pagination.paginate` as a deferred join, in one statement: the page (and
    one id more, for "next") is cut from ``ids`` — the list's narrow join, in its order,
    selecting only the primary key — and ``rows`` (the list's entity with what the page shows,
    sorted alike) loads just those."""
    page = max(1, page)
    window = ids.limit(per_page + 1).offset((page - 1) * per_page)
    found = db.session.scalars(rows.where(ids.selected_columns[0].in_(window))).unique().all()
    return Page(items=found[:per_page], page=page, per_page=per_page,
                has_next=len(found) > per_page)


# The two ends of a link, aliased once: aliasing Organisation (some thirty columns) anew for
# every statement cost more than compiling it (2 ms of each organisation page).
_SUPPLIER = aliased(Organisation, name="supplier")
_CUSTOMER = aliased(Organisation, name="customer")


def supply_link_list(*, organisation_id: int | None = None, supplier_id: int | None = None,
                     customer_id: int | None = None, value_chain_id: int | None = None,
                     sole_source: bool | None = None, by_name: bool = False) -> sa.Select:
    """Live links between live organisations, with both organisations and the chain loaded in
    the same statement; oldest first (stable for pagination) or by supplier and customer name
    (the names copied onto the link, so an index gives the order: ``ix_supply_link_names`` and,
    for one chain, ``ix_supply_link_chain_names``)."""
    supplier, customer = _SUPPLIER, _CUSTOMER
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
        return stmt.order_by(SupplyLink.supplier_name, SupplyLink.customer_name, SupplyLink.id)
    return stmt.order_by(SupplyLink.id)


def paginate_links(page: int, per_page: int, *, by_name: bool = False, **filters) -> Page:
    """:func:`~sdd_crm.pagination.paginate` for :func:`supply_link_list` (``filters`` are its
    arguments), in one statement: the page's link ids are found on the narrow join (the sort
    and the ids), then only those links are loaded with both organisations — sorting every link
    with both organisations' whole rows cost ten times more."""
    ids = supply_link_list(by_name=by_name, **filters)
    return _page_by_ids(ids.with_only_columns(SupplyLink.id), supply_link_list(by_name=by_name),
                        page, per_page)


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
