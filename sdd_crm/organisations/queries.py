"""Queries for organisations. They return ``Select`` objects so views and the API can paginate."""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.sql.functions import FunctionElement

from ..exceptions import PermissionDenied
from ..extensions import db
from ..pagination import Page, paginate  # noqa: F401  (re-exported for views)
from .permissions import can_edit_organisation
from .models import AccountTeamMember, Organisation, OrganisationCluster
from .search import name_condition

# Each sort is walked by keyset pagination (sdd_crm.pagination) over one partial index of the
# live rows (``ix_organisation_live_*`` on the model), forwards or backwards: a sort and its
# reverse end in the id in the same direction as their first column. Unknown places and
# employee counts come last on both databases.
SORTS = {
    "name": (Organisation.name, Organisation.id),
    "-name": (Organisation.name.desc(), Organisation.id.desc()),
    "city": (Organisation.city.asc().nulls_last(), Organisation.name, Organisation.id),
    "employees": (Organisation.employees.desc().nulls_last(), Organisation.id.desc()),
    "-employees": (Organisation.employees.asc().nulls_last(), Organisation.id),
    "updated": (Organisation.updated_at.desc(), Organisation.id.desc()),
}


@dataclass
class OrganisationFilters:
    q: str | None = None
    kvk: str | None = None
    municipality: str | None = None
    cluster_id: int | None = None
    org_type: str | None = None
    size_class: str | None = None
    critical: bool | None = None
    status: str | None = None
    sort: str = "name"

    @classmethod
    def from_args(cls, args) -> OrganisationFilters:
        from ..validation import integer as _int

        critical = args.get("critical")
        return cls(
            q=(args.get("q") or "").strip()[:200] or None,
            kvk=(args.get("kvk") or "").strip()[:20] or None,
            municipality=(args.get("municipality") or "").strip().upper()[:6] or None,
            cluster_id=_int(args.get("cluster")),
            org_type=args.get("type") or args.get("org_type") or None,
            size_class=args.get("size") or args.get("size_class") or None,
            critical={"1": True, "true": True, "0": False, "false": False}.get(str(critical).lower()) if critical not in (None, "") else None,
            status=args.get("status") or None,
            sort=args.get("sort") if args.get("sort") in SORTS else "name",
        )


def _kvk_owners(kvk: str) -> sa.Select:
    """The organisation with this KvK number, or the one it was merged into (a merged record
    keeps its number when the survivor had one of its own)."""
    owner = aliased(Organisation)
    return sa.select(sa.func.coalesce(owner.merged_into_id, owner.id)).where(
        owner.kvk_number == kvk)


def kvk_number_in(text: str) -> str | None:
    """The KvK number ``text`` is (8 digits; spaces, dots and dashes allowed), or None."""
    digits = re.sub(r"[\s.\-]", "", text)
    return digits if re.fullmatch(r"\d{8}", digits) else None


def kvk_or_name(text: str, organisation=Organisation, *, city: bool = False):
    """SQL condition: ``organisation`` (the entity, or an alias the query joins) has KvK number
    ``text``, or a name containing ``text`` (any case; ``city``: or a city containing it; a
    text of one or two characters: starting with it — see :mod:`.search`, which reads the
    name index and may run one statement to choose the plan).

    Merged records are followed: the KvK number or old name of a record merged into another
    finds the one it went into (a merged record keeps its number when the survivor had one).
    Every "KvK or name" search (organisation list, autocomplete, interaction and participation
    filters, the API) uses this one rule.
    """
    kvk = kvk_number_in(text)
    if kvk:
        return organisation.id.in_(_kvk_owners(kvk))
    return name_condition(text, organisation, city=city)


def final_survivor(org, get=None):
    """The record a (chain of) merge(s) ends in; ``org`` itself when it was never merged.

    ``get(id)`` loads a record (default: the Organisation from the session); any object with
    ``id`` and ``merged_into_id`` will do, so the programme counts walk their own facts. A loop
    (which a merge never makes) ends the walk instead of hanging it. This is the one survivor
    rule; :func:`final_survivors` walks many records by it at once."""
    get = get or (lambda org_id: db.session.get(Organisation, org_id))
    seen = set()
    while org is not None and org.merged_into_id is not None and org.id not in seen:
        seen.add(org.id)
        org = get(org.merged_into_id)
    return org


SURVIVOR_CHUNK = 500  # ids per IN (...) list: well below SQLite's and PostgreSQL's limits


def final_survivors(org_ids) -> dict[int, int]:
    """``{id: id of the record its merges end in}`` for every id of ``org_ids`` that names a
    record (itself when never merged): :func:`final_survivor` for many records at once.

    Set-based: the ``(id, merged_into_id)`` links are loaded one hop of all chains at a time
    (one query per hop and 500 ids), never one query per record; the walk itself is then
    :func:`final_survivor` over those links."""
    links: dict[int, object] = {}
    wanted = {int(i) for i in org_ids if i is not None}
    asked: set[int] = set()
    todo = set(wanted)
    while todo:
        asked |= todo
        loaded = []
        ordered = sorted(todo)
        for at in range(0, len(ordered), SURVIVOR_CHUNK):
            loaded.extend(db.session.execute(
                sa.select(Organisation.id, Organisation.merged_into_id)
                .where(Organisation.id.in_(ordered[at:at + SURVIVOR_CHUNK]))))
        links.update((row.id, row) for row in loaded)
        todo = {row.merged_into_id for row in loaded if row.merged_into_id is not None} - asked
    survivors = {}
    for org_id in wanted:
        end = final_survivor(links.get(org_id), links.get)
        if end is not None:
            survivors[org_id] = end.id
    return survivors


def with_merged_records(org_ids) -> set[int]:
    """``org_ids`` and every record merged into one of them, directly or through a chain (the
    reverse of ``final_survivor``)."""
    ids = set(org_ids)
    todo = set(ids)
    while todo:
        todo = set(db.session.scalars(sa.select(Organisation.id).where(
            Organisation.merged_into_id.in_(todo)))) - ids
        ids |= todo
    return ids


# SQLite keeps no statistics (unless ANALYZE ran), so it cannot tell a filter that keeps 97% of
# the rows (type=company) from one that keeps 0.1% (critical): it would sort all companies by
# employees, or walk the employee index past 99,900 rows for the 114 critical ones, or pick the
# "active" index over the "education" one. One statement counts, per filter, its rows up to
# FEW_MATCHES (through the filter's own index, never more entries than that), and each filter
# then tells SQLite how selective it is (``likelihood``): a rare one is read by its index and the
# few rows sorted; a common one is checked while walking the sort's index. PostgreSQL keeps
# statistics per value, so it gets no hints and no counting statement.
FEW_MATCHES = 2000


class likely(FunctionElement):
    """``likely(condition, probability)``: the condition, with the share of rows it keeps as a
    hint to SQLite's planner (``likelihood()``); on other databases the condition itself."""

    type = sa.types.NullType()  # rendered bare in WHERE (no "= 1")
    inherit_cache = True
    name = "likelihood"


@compiles(likely)
def _likely_plain(element, compiler, **kw):
    return compiler.process(list(element.clauses)[0], **kw)


@compiles(likely, "sqlite")
def _likely_sqlite(element, compiler, **kw):
    return compiler.visit_function(element, **kw)


def _live() -> list:
    return [Organisation.deleted_at.is_(None), Organisation.merged_into_id.is_(None)]


def _in_cluster(cluster_id: int, *, few: bool):
    """Membership of the cluster: as ``id IN (members)`` when it has few members (they are
    read first), else as a correlated EXISTS (checked row by row along the sort's index)."""
    if few:
        return Organisation.id.in_(sa.select(OrganisationCluster.organisation_id)
                                   .where(OrganisationCluster.cluster_id == cluster_id))
    return sa.exists().where(OrganisationCluster.organisation_id == Organisation.id,
                             OrganisationCluster.cluster_id == cluster_id)


def _filter_conditions(filters: OrganisationFilters) -> dict:
    """The filters other than the search text and the KvK number: name → SQL condition."""
    conditions = {}
    if filters.municipality:
        conditions["municipality"] = Organisation.municipality_code == filters.municipality
    if filters.cluster_id:
        conditions["cluster"] = _in_cluster(filters.cluster_id, few=False)
    if filters.org_type:
        conditions["type"] = Organisation.org_type == filters.org_type
    if filters.size_class:
        conditions["size"] = Organisation.size_class == filters.size_class
    if filters.critical is not None:
        conditions["critical"] = Organisation.is_critical.is_(filters.critical)
    if filters.status:
        conditions["status"] = Organisation.status == filters.status
    return conditions


def _hinted(conditions: dict, filters: OrganisationFilters) -> list:
    """The ``conditions``, with SQLite planner hints (see FEW_MATCHES) where the plan depends on
    how many rows each keeps: two filters or more, a sort other than the name, or the cluster."""
    if (not conditions or filters.q or filters.kvk
            or db.session.get_bind().dialect.name != "sqlite"
            or (len(conditions) == 1 and filters.sort in ("name", "-name")
                and "cluster" not in conditions)):
        return list(conditions.values())
    def probe(name, condition):
        rows = (sa.select(sa.literal(1)).where(OrganisationCluster.cluster_id == filters.cluster_id)
                if name == "cluster"  # its members, by the membership index alone
                else sa.select(sa.literal(1)).where(*_live(), condition))
        return sa.select(sa.func.count()).select_from(
            rows.limit(FEW_MATCHES).subquery()).scalar_subquery()

    probes = [probe(name, condition) for name, condition in conditions.items()]
    counts = db.session.execute(sa.select(*probes)).one()
    hinted = []
    for (name, condition), kept in zip(conditions.items(), counts):
        few = kept < FEW_MATCHES
        if name == "cluster":
            condition = _in_cluster(filters.cluster_id, few=few)
        hinted.append(likely(condition, sa.literal_column("0.001" if few else "0.9")))
    return hinted


def organisation_list(filters: OrganisationFilters) -> sa.Select:
    """Live (not deleted, not merged) organisations matching ``filters``, sorted.

    Each sort and each filter (with the name sort) has a partial index of the live rows
    (``ix_organisation_live_*``), so a page is an index range whichever is chosen; see
    ``sdd_crm.pagination.keyset_paginate`` for the pages beyond the first."""
    stmt = sa.select(Organisation).where(*_live())
    if filters.q:
        stmt = stmt.where(kvk_or_name(filters.q, city=True))
    if filters.kvk:
        stmt = stmt.where(Organisation.id.in_(
            _kvk_owners(re.sub(r"[\s.\-]", "", filters.kvk))))
    stmt = stmt.where(*_hinted(_filter_conditions(filters), filters))
    return stmt.order_by(*SORTS.get(filters.sort, SORTS["name"]))


def with_list_relations(stmt: sa.Select) -> sa.Select:
    """Eager-load what list rows show, so a page costs a fixed number of queries (no N+1)."""
    return stmt.options(selectinload(Organisation.sbi_codes))


def get_organisation(org_id: int, *, for_edit: bool = False, user=None,
                     include_deleted: bool = False) -> Organisation:
    """Load an organisation or 404; with ``for_edit`` the user must be allowed to edit it (403).

    ``for_edit`` without a ``user`` is a programming error (TypeError), never an unchecked load.
    """
    if for_edit and user is None:
        raise TypeError("get_organisation(for_edit=True) needs the user whose rights to check")
    org = db.session.scalar(
        sa.select(Organisation)
        .where(Organisation.id == org_id)
        .options(
            selectinload(Organisation.sbi_codes),
            selectinload(Organisation.tags),
            selectinload(Organisation.team).joinedload(AccountTeamMember.user),
            selectinload(Organisation.establishments),
        )
    )
    if org is None or (org.deleted_at is not None and not include_deleted):
        abort(404)
    if for_edit and not can_edit_organisation(user, org):
        raise PermissionDenied()
    return org
