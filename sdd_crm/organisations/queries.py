"""Queries for organisations. They return ``Select`` objects so views and the API can paginate."""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import aliased, selectinload

from ..db import escape_like
from ..exceptions import PermissionDenied
from ..extensions import db
from ..pagination import Page, paginate  # noqa: F401  (re-exported for views)
from .permissions import can_edit_organisation
from .models import AccountTeamMember, Organisation, OrganisationCluster

SORTS = {
    "name": (Organisation.name, Organisation.id),
    "-name": (Organisation.name.desc(), Organisation.id.desc()),
    "city": (Organisation.city, Organisation.name, Organisation.id),
    "employees": (Organisation.employees.desc().nulls_last(), Organisation.id),
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
    ``text``, or a name containing ``text`` (any case; ``city``: or a city containing it).

    Merged records are followed: the KvK number or old name of a record merged into another
    finds the one it went into (a merged record keeps its number when the survivor had one).
    Every "KvK or name" search (organisation list, autocomplete, interaction and participation
    filters, the API) uses this one rule.
    """
    kvk = kvk_number_in(text)
    if kvk:
        return organisation.id.in_(_kvk_owners(kvk))
    pattern = f"%{escape_like(text.lower())}%"
    merged = aliased(Organisation)
    conditions = [sa.func.lower(organisation.name).like(pattern, escape="\\")]
    if city:
        conditions.append(sa.func.lower(organisation.city).like(pattern, escape="\\"))
    # A merged record is found under its old name, as the one it went into.
    conditions.append(organisation.id.in_(sa.select(merged.merged_into_id).where(
        merged.merged_into_id.is_not(None), sa.func.lower(merged.name).like(pattern, escape="\\"))))
    return sa.or_(*conditions)


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


def organisation_list(filters: OrganisationFilters) -> sa.Select:
    """Live (not deleted, not merged) organisations matching ``filters``, sorted."""
    stmt = sa.select(Organisation).where(
        Organisation.deleted_at.is_(None), Organisation.merged_into_id.is_(None)
    )
    if filters.q:
        stmt = stmt.where(kvk_or_name(filters.q, city=True))
    if filters.kvk:
        stmt = stmt.where(Organisation.id.in_(
            _kvk_owners(re.sub(r"[\s.\-]", "", filters.kvk))))
    if filters.municipality:
        stmt = stmt.where(Organisation.municipality_code == filters.municipality)
    if filters.cluster_id:
        stmt = stmt.where(
            sa.exists().where(
                OrganisationCluster.organisation_id == Organisation.id,
                OrganisationCluster.cluster_id == filters.cluster_id,
            )
        )
    if filters.org_type:
        stmt = stmt.where(Organisation.org_type == filters.org_type)
    if filters.size_class:
        stmt = stmt.where(Organisation.size_class == filters.size_class)
    if filters.critical is not None:
        stmt = stmt.where(Organisation.is_critical.is_(filters.critical))
    if filters.status:
        stmt = stmt.where(Organisation.status == filters.status)
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
