"""SMEs of a programme's region that it has not approached yet, biggest first (issue 5.4).

Listed: live, unmerged, not dissolved organisations with their municipality in the programme's
region that are SMEs by DESIGN 4.1 (unverified included) and have no live participation in the
programme other than ``identified`` — nor one through a duplicate merged into them. Order:
employees descending, then name, then id.

The rule runs in SQL so nothing loads all organisations: the own-size test as plain conditions,
the group test over up to ``GROUP_LEVELS`` ancestors. Each page is then re-checked with
``sme.sme_status`` (any depth), which also tells whether the figures are unverified; a company
under a group more than four levels deep that is not an SME is dropped there, so such a page
may show a row less. Pages are keyset pages (``after``/``before`` an organisation id), not
offsets: at 100,000 organisations a deep OFFSET read and checked every row before it (seconds
on PostgreSQL), a keyset page reads about one page of rows wherever it is.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sqlalchemy as sa

from ..extensions import db
from ..organisations.models import Organisation
from ..organisations.queries import likely
from ..reference.models import Municipality
from ..valuechains.models import Cluster, OrganisationCluster
from .models import Participation, Programme, programme_municipality
from .sme import MAX_BALANCE, MAX_EMPLOYEES, MAX_TURNOVER, SizeFacts, SmeStatus, sme_status

GROUP_LEVELS = 4  # the group test in SQL looks this far up; ``sme_status`` all the way
# The share of organisations a region or "company" keeps, as a hint to SQLite's planner (it has
# no statistics); PostgreSQL gets the plain condition.
COMMON = sa.literal_column("0.9")


# The helpers take a table's columns (``organisation.c`` or an alias's ``.c``): Core aliases
# are cheap to build, where ORM aliases of Organisation cost ~35 ms per query to adapt.
ORG = Organisation.__table__


def _financial_ok(o):
    """SQL: turnover or balance-sheet total within its ceiling, or both unknown (never NULL)."""
    t, b = o.annual_turnover_eur, o.balance_sheet_total_eur
    return sa.or_(sa.and_(t.is_(None), b.is_(None)), sa.and_(t.is_not(None), t <= MAX_TURNOVER),
                  sa.and_(b.is_not(None), b <= MAX_BALANCE))


def own_sme_sql(o):
    """SQL for ``sme.own_status`` in (SME, SME_UNVERIFIED)."""
    # Most organisations are companies: a hint, so SQLite walks the employee index instead of
    # reading every company by the type index and sorting them all (0.8 s at 100,000).
    return sa.and_(likely(o.org_type == "company", COMMON), o.employees.is_not(None),
                   o.employees < MAX_EMPLOYEES, _financial_ok(o))


def _spoils_group(o):
    """SQL for ``sme.own_status`` in (NOT_SME, NOT_COMPANY): no one below it is an SME."""
    return sa.or_(o.org_type != "company", sa.and_(
        o.employees.is_not(None), sa.or_(o.employees >= MAX_EMPLOYEES, sa.not_(_financial_ok(o)))))


def group_ok_sql(o):
    """SQL: no ancestor of ``o`` (up to GROUP_LEVELS up) spoils its group (DESIGN 4.1).

    A scalar subquery by primary key behind ``parent_id IS NULL OR``: it runs only for the
    subsidiaries among the rows read, so PostgreSQL keeps walking organisations biggest first
    and stops after a page. (A recursive CTE, joins, or NOT EXISTS — which PostgreSQL turns
    into a hashed set over all organisations — made it work through every candidate first.)
    """
    ancestors = [ORG.alias() for _ in range(GROUP_LEVELS)]
    chain = ancestors[0]
    for child, parent in zip(ancestors, ancestors[1:]):
        chain = chain.outerjoin(parent, parent.c.id == child.c.parent_id)
    spoiled = sa.or_(_spoils_group(ancestors[0].c),
                     *(sa.and_(a.c.id.is_not(None), _spoils_group(a.c)) for a in ancestors[1:]))
    flag = (sa.select(sa.case((spoiled, 1), else_=0)).select_from(chain)
            .where(ancestors[0].c.id == o.parent_id).scalar_subquery())
    return sa.or_(o.parent_id.is_(None), sa.func.coalesce(flag, 0) == 0)


@functools.cache
def unapproached_query() -> sa.Select:
    """Rows of the SMEs of the region a programme (bind ``programme_id``) has not approached.

    Built once per process: the statement is large, and SQLAlchemy's compiled cache then
    serves every page.
    """
    programme_id = sa.bindparam("programme_id", type_=sa.Integer)
    O, P = ORG.c, Participation.__table__.c  # noqa: N806
    duplicate, identified = ORG.alias(), Participation.__table__.alias()
    moved_on = sa.and_(P.programme_id == programme_id, P.deleted_at.is_(None),
                       P.status != "identified")
    # Approached through a duplicate merged into them: a short list, built once (uncorrelated;
    # correlated, SQLite scanned every participation for every organisation).
    via_duplicate = (sa.select(duplicate.c.merged_into_id)
                     .join(Participation.__table__, P.organisation_id == duplicate.c.id)
                     .where(moved_on, duplicate.c.merged_into_id.is_not(None)))
    region = sa.select(programme_municipality.c.municipality_code).where(
        programme_municipality.c.programme_id == programme_id)
    return (
        sa.select(O.id, O.name, O.kvk_number, O.org_type, O.employees, O.annual_turnover_eur,
                  O.balance_sheet_total_eur, O.parent_id, Municipality.name.label("municipality"),
                  Cluster.name.label("cluster"),
                  sa.exists().where(identified.c.programme_id == programme_id,
                                    identified.c.organisation_id == O.id,
                                    identified.c.deleted_at.is_(None)).label("identified"))
        .select_from(ORG)
        .join(Municipality, Municipality.code == O.municipality_code)
        .outerjoin(OrganisationCluster, sa.and_(OrganisationCluster.organisation_id == O.id,
                                                OrganisationCluster.is_primary.is_(True)))
        .outerjoin(Cluster, sa.and_(Cluster.id == OrganisationCluster.cluster_id,
                                    Cluster.deleted_at.is_(None)))
        .where(O.deleted_at.is_(None), O.merged_into_id.is_(None), O.status != "dissolved",
               likely(O.municipality_code.in_(region), COMMON), own_sme_sql(O),
               ~sa.exists().where(P.organisation_id == O.id, moved_on),
               O.id.not_in(via_duplicate), group_ok_sql(O)))


@functools.cache
def _page_query(forward: bool, from_cursor: bool) -> sa.Select:
    """Order (employees desc, name, id), after (or, backwards, before) the bound cursor."""
    stmt = unapproached_query()
    O = ORG.c  # noqa: N806
    if from_cursor:
        employees = sa.bindparam("cursor_employees", type_=sa.Integer)
        name = sa.bindparam("cursor_name", type_=sa.String)
        oid = sa.bindparam("cursor_id", type_=sa.Integer)
        if forward:
            stmt = stmt.where(O.employees <= employees, sa.or_(
                O.employees < employees, O.name > name, sa.and_(O.name == name, O.id > oid)))
        else:
            stmt = stmt.where(O.employees >= employees, sa.or_(
                O.employees > employees, O.name < name, sa.and_(O.name == name, O.id < oid)))
    stmt = stmt.limit(sa.bindparam("page_limit", type_=sa.Integer))
    if forward:
        return stmt.order_by(O.employees.desc(), O.name, O.id)
    return stmt.order_by(O.employees, O.name.desc(), O.id.desc())


@dataclass
class Unapproached:
    id: int
    name: str
    kvk_number: str | None
    municipality: str
    employees: int
    cluster: str | None
    identified: bool  # in the pipeline as "identified", not yet approached
    unverified: bool  # SME by employees only: turnover and balance sheet (or the group's) unknown


@dataclass
class UnapproachedPage:
    items: list[Unapproached]
    has_next: bool
    has_prev: bool
    first_id: int | None  # cursors for the previous and the next page
    last_id: int | None


def _sme_statuses(rows) -> dict[int, SmeStatus]:
    """``sme.sme_status`` of each row, loading its ancestors level by level."""
    facts = {r.id: SizeFacts(r.id, r.org_type, r.employees, r.annual_turnover_eur,
                             r.balance_sheet_total_eur, r.parent_id) for r in rows}
    todo = {r.parent_id for r in rows if r.parent_id} - facts.keys()
    while todo:
        found = [SizeFacts(*r) for r in db.session.execute(
            sa.select(Organisation.id, Organisation.org_type, Organisation.employees,
                      Organisation.annual_turnover_eur, Organisation.balance_sheet_total_eur,
                      Organisation.parent_id).where(Organisation.id.in_(todo)))]
        facts.update((f.id, f) for f in found)
        todo = {f.parent_id for f in found if f.parent_id} - facts.keys()
    return {r.id: sme_status(facts[r.id], facts.get) for r in rows}


def unapproached_smes(programme: Programme, *, per_page: int = 10, after: int | None = None,
                      before: int | None = None) -> UnapproachedPage:
    """One keyset page: the first, the one after organisation ``after`` or before ``before``.

    An unknown cursor id starts at the top. No COUNT is run.
    """
    cursor_id = after if after is not None else before
    cursor = None
    if cursor_id is not None:
        cursor = db.session.execute(
            sa.select(Organisation.employees, Organisation.name, Organisation.id)
            .where(Organisation.id == cursor_id, Organisation.employees.is_not(None))).first()
    forward = cursor is None or after is not None
    params = {"programme_id": programme.id, "page_limit": per_page + 1}
    if cursor is not None:
        params.update(cursor_employees=cursor.employees, cursor_name=cursor.name,
                      cursor_id=cursor.id)
    rows = db.session.execute(_page_query(forward, cursor is not None), params).all()
    more = len(rows) > per_page
    rows = rows[:per_page] if forward else list(reversed(rows[:per_page]))
    statuses = _sme_statuses(rows)
    items = [Unapproached(r.id, r.name, r.kvk_number, r.municipality, r.employees, r.cluster,
                          bool(r.identified), statuses[r.id] == SmeStatus.SME_UNVERIFIED)
             for r in rows if statuses[r.id].counts]
    return UnapproachedPage(
        items=items,
        has_next=more if forward else True, has_prev=cursor is not None and (more or forward),
        first_id=rows[0].id if rows else None, last_id=rows[-1].id if rows else None)
