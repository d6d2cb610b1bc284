"""Pagination without COUNT(*): fetch one row more than a page to know if there is a next one.

Two ways to page:

* :func:`paginate` — ``LIMIT``/``OFFSET`` by page number, for small lists (a few thousand rows
  at most: users, tasks, a programme's participants).
* :func:`keyset_paginate` — for the big lists (organisations, contact moments, contacts, the
  audit log). The "next"/"previous" links carry a *cursor*: the sort-key values of the last
  (first) row shown, signed so it cannot be tampered with. The next page is then "the rows after
  these values" — a range scan of the sort's index — so page 2,000 costs what page 1 costs. The
  cursor also carries the page number, so the screen can still say "Pagina 7". A plain
  ``?page=N`` (an old link, a bookmark, a client counting pages) still works: the ids of that
  page are read through the sort's index alone (a deferred join), then the rows by id.

The sort is read from the statement's own ``ORDER BY``: every term must be a column of the
selected entity (``asc``/``desc``, ``nulls_first``/``nulls_last`` allowed) and the terms must end
in its primary key, so every row has one place. A nullable leading column is walked in two
segments (the non-NULL values, then the NULLs, or the other way round as the sort says), so each
segment is a plain index range on SQLite and PostgreSQL alike, whatever the NULLs order.

A list screen that shows its total (issue 14 point 2) asks ``page.total``: one more statement,
only then, that counts the list's rows up to :data:`TOTAL_CAP` (:func:`count_up_to`, a
``LIMIT`` subquery through the same indexes as the page) — never a COUNT(*) of a whole table.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from .extensions import db

PAGE_LIMIT = 100_000  # the highest ``?page=`` a screen honours (a deeper one is clamped to it)
CURSOR_MAX_PAGE = 10_000_000  # a cursor naming a deeper page was not made here
CURSOR_MAX_LENGTH = 1000  # longer cursors are refused unread
CURSOR_PATTERN = r"^[A-Za-z0-9_.\-]*$"  # what a cursor is made of (URL-safe base64 and dots)
_SALT = "sdd-crm.keyset-cursor"


def paginate(stmt: sa.Select, page: int, per_page: int):
    """One page without a COUNT(*) (FACTS: a count per page cut throughput to a third)."""
    page = max(1, page)
    rows = db.session.scalars(stmt.limit(per_page + 1).offset((page - 1) * per_page)).unique().all()
    return Page(items=rows[:per_page], page=page, per_page=per_page, has_next=len(rows) > per_page,
                source=stmt)


# A list's total (issue 14 point 2) is counted up to this many rows and no further: one bounded
# statement through the list's own indexes, never a COUNT(*) over a whole big table. Above it
# the screen says "meer dan 10.000" (on PostgreSQL: the planner's estimate, when it is higher).
TOTAL_CAP = 10_000


@dataclass(frozen=True)
class Total:
    """How many rows a list holds: ``count`` exactly, or — ``capped`` — more than ``count``
    (``estimate``: PostgreSQL's planner estimate, when it is higher than the cap)."""
    count: int
    capped: bool = False
    estimate: int | None = None


def _count_source(stmt: sa.Select) -> sa.Select:
    """``stmt`` reading only the primary key of its entity (no row, no eager load), unsorted."""
    description = stmt.column_descriptions[0] if stmt.column_descriptions else {}
    entity = description.get("entity")
    if entity is not None and len(stmt.column_descriptions) == 1:
        mapper = sa.inspect(entity)
        stmt = stmt.with_only_columns(*mapper.primary_key)
    return stmt.order_by(None)


def capped_count(stmt: sa.Select, cap: int) -> sa.ScalarSelect:
    """A scalar subquery: the rows of ``stmt`` counted up to ``cap`` + 1 (the database stops
    there), to read with the rows themselves in one statement."""
    return sa.select(sa.func.count()).select_from(
        _count_source(stmt).limit(cap + 1).subquery()).scalar_subquery()


# Counting is done in two steps, each given a time budget on SQLite (which keeps no statistics
# to foresee it): up to FIRST_CAP rows (what most filtered lists hold), then up to the cap. A
# count that runs out of time stops there and the screen says "meer dan" the last number known,
# so a search whose matches are spread thinly over a million rows (a walk of the whole index)
# never holds up its page. Measured at 100,000 organisations and 1,000,000 contact moments
# (SQLite, 2 busy cores): 10,000 contact moments counted through their join took 110 ms,
# 1,000 about 11 ms.
FIRST_CAP = 1_000
COUNT_BUDGET_MS = 25


class CountTimeout(Exception):
    """A count ran out of its time budget."""


@contextmanager
def time_box(ms: int | None):
    """Stop a statement of the current transaction after ``ms`` milliseconds (SQLite: its
    progress handler interrupts the statement; an interrupted read leaves the transaction as
    it was) with :class:`CountTimeout`. Elsewhere, and with ``ms`` None, no limit."""
    if ms is None or _dialect() != "sqlite":
        yield
        return
    # Pending writes go out first: an INSERT/UPDATE that SQLite interrupted would roll back the
    # whole transaction (an autoflush inside the box would do just that).
    db.session.flush()
    raw = db.session.connection().connection.driver_connection
    deadline = time.perf_counter() + ms / 1000
    raw.set_progress_handler(lambda: int(time.perf_counter() > deadline), 2000)
    try:
        yield
    except sa.exc.OperationalError as exc:
        if "interrupted" not in str(exc.orig):
            raise
        raise CountTimeout from exc
    finally:
        raw.set_progress_handler(None, 0)


def count_up_to(stmt: sa.Select, cap: int | None = None, *, estimate: bool = True,
                budget_ms: int | None = None, at_least: int = 0) -> Total:
    """The number of rows of ``stmt``, counted up to ``cap`` (default :data:`TOTAL_CAP`) + 1 — a
    ``LIMIT`` subquery, so the database stops there — first up to :data:`FIRST_CAP`, then, when
    there are more, up to ``cap``. Above the cap on PostgreSQL, with ``estimate``: the
    planner's estimate (``EXPLAIN``, no row read) when it is higher.

    ``budget_ms``: each step may take that long (SQLite); a step that runs out of time gives
    "more than" what is known: the first step's number, or ``at_least`` (the rows a caller has
    seen already)."""
    cap = TOTAL_CAP if cap is None else cap
    known = at_least
    for step in sorted({min(FIRST_CAP, cap), cap}):
        try:
            with time_box(budget_ms):
                counted = db.session.scalar(sa.select(capped_count(stmt, step)))
        except CountTimeout:
            return Total(known, capped=True)
        if counted <= step:
            return Total(counted)
        known = step
    guess = None
    if estimate and _dialect() == "postgresql":
        rows = int(estimated_rows(_count_source(stmt)))
        guess = rows if rows > cap else None
    return Total(cap, capped=True, estimate=guess)


def estimated_rows(stmt: sa.Select) -> float:
    """PostgreSQL's own estimate of the rows ``stmt`` returns (its planner, from the statistics
    ANALYZE keeps; no row is read)."""
    connection = db.session.connection()
    compiled = stmt.compile(dialect=connection.dialect)
    params = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup)
    plan = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled), params).scalar()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Plan"]["Plan Rows"])


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    has_next: bool
    # Keyset lists only: where the next / previous page starts (None: link by page number).
    next_cursor: str | None = None
    prev_cursor: str | None = None
    # The list's statement, for :attr:`total` (counted only when a screen asks for it).
    source: sa.Select | None = field(default=None, repr=False, compare=False)
    _total: Total | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def total(self) -> Total | None:
        """The number of rows of the whole list (:func:`count_up_to`), read once, on demand:
        a list screen shows it; the API, which pages the same statements, never asks."""
        if self._total is None and self.source is not None:
            # Counted even when the whole list is on this page: a list page then costs the
            # same statements however long its list (what the no-N+1 tests pin).
            seen = (self.page - 1) * self.per_page + len(self.items)
            total = count_up_to(self.source, budget_ms=COUNT_BUDGET_MS, at_least=seen)
            if total.capped and total.estimate is None and not self.has_next:
                total = Total(seen)  # out of time on the last page: what is shown is all
            self._total = total
        return self._total


def request_page(limit: int = PAGE_LIMIT) -> int:
    """The ``page`` query argument of the current request: 1 when missing or not a number, and
    never beyond ``limit`` (a deep offset is refused rather than scanned)."""
    from flask import request

    try:
        return max(1, min(int(request.args.get("page", 1)), limit))
    except (TypeError, ValueError):
        return 1


# --- keyset pagination --------------------------------------------------------------------------

class InvalidCursor(ValueError):
    """A cursor that was not made by this application for this sort (tampered, truncated, made
    with another secret key or for another sort order)."""


@dataclass(frozen=True)
class _Key:
    column: sa.ColumnElement
    attr: str            # the entity's attribute holding the value
    desc: bool
    nulls: str | None    # "first", "last", or None: the database's default
    nullable: bool


@dataclass(frozen=True)
class _Segment:
    where: sa.ColumnElement | None  # None: the whole list
    keys: tuple[_Key, ...]
    lead_null: bool | None          # the leading key: NULL (True), not NULL (False), any (None)


@dataclass(frozen=True)
class _Plan:
    keys: tuple[_Key, ...]
    segments: tuple[_Segment, ...]
    pk: sa.ColumnElement
    pk_attr: str
    fingerprint: str


_NULLS_SMALLEST = {"sqlite", "mysql", "mariadb"}  # NULL sorts first ascending; PostgreSQL: last


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _nulls_after(key: _Key, dialect: str, reverse: bool = False) -> bool:
    """Whether NULLs of ``key`` come after its values when walking the list (backwards:
    ``reverse``)."""
    if key.nulls is not None:
        after = key.nulls == "last"
    else:
        after = key.desc if dialect in _NULLS_SMALLEST else not key.desc
    return after != reverse


def _plan(stmt: sa.Select) -> _Plan:
    """The sort keys of ``stmt`` (see the module docstring), or TypeError when it cannot be
    walked by keyset (a programming error: the list's query must be fixed)."""
    description = stmt.column_descriptions[0]
    mapper = sa.inspect(description["entity"]) if description.get("entity") is not None else None
    if mapper is None or len(stmt.column_descriptions) != 1:
        raise TypeError("keyset pagination needs a select of one mapped entity")
    keys: list[_Key] = []
    for clause in stmt._order_by_clauses:
        desc, nulls, element = False, None, clause
        while isinstance(element, UnaryExpression) and element.modifier in (
                operators.desc_op, operators.asc_op, operators.nulls_first_op,
                operators.nulls_last_op):
            if element.modifier is operators.desc_op:
                desc = True
            elif element.modifier is operators.nulls_first_op:
                nulls = nulls or "first"
            elif element.modifier is operators.nulls_last_op:
                nulls = nulls or "last"
            element = element.element
        try:
            prop = mapper.get_property_by_column(element)
        except Exception as exc:  # not a column of the entity (an expression, another table)
            raise TypeError(f"keyset pagination cannot sort on {clause}") from exc
        primary = bool(getattr(element, "primary_key", False))
        keys.append(_Key(element, prop.key, desc, nulls,
                         bool(getattr(element, "nullable", True)) and not primary))
        if primary:
            break
    else:
        raise TypeError("keyset pagination needs an ORDER BY that ends in the primary key")
    lead = keys[0]
    if lead.nullable:
        values = _Segment(lead.column.is_not(None),
                          (replace(lead, nullable=False, nulls=None), *keys[1:]), False)
        nulls = _Segment(lead.column.is_(None), tuple(keys[1:]), True)
        segments = (values, nulls) if _nulls_after(lead, _dialect()) else (nulls, values)
    else:
        segments = (_Segment(None, tuple(keys), None),)
    text = "|".join(f"{k.column.table.name}.{k.column.name}:{int(k.desc)}:{k.nulls}" for k in keys)
    return _Plan(tuple(keys), segments, keys[-1].column, keys[-1].attr,
                 hashlib.sha256(text.encode()).hexdigest()[:10])  # a fingerprint of the sort, not a secret


def _order(keys: tuple[_Key, ...], reverse: bool) -> list:
    """ORDER BY terms walking ``keys`` forwards or backwards (explicit NULLS placement flips
    with the direction; the database's default flips by itself)."""
    terms = []
    for key in keys:
        term = key.column.desc() if key.desc != reverse else key.column.asc()
        if key.nullable and key.nulls is not None:
            last = (key.nulls == "last") != reverse
            term = term.nulls_last() if last else term.nulls_first()
        terms.append(term)
    return terms


def _after(keys: tuple[_Key, ...], values: list, reverse: bool, dialect: str):
    """SQL condition: the row comes after the row with ``values`` (of ``keys``) in walking order."""

    def beyond(key: _Key, value):
        nulls_after = key.nullable and _nulls_after(key, dialect, reverse)
        if value is None:
            return sa.false() if nulls_after else key.column.is_not(None)
        term = key.column < value if key.desc != reverse else key.column > value
        return sa.or_(term, key.column.is_(None)) if nulls_after else term

    condition = None
    for key, value in reversed(list(zip(keys, values))):
        step = beyond(key, value)
        if condition is not None:
            same = key.column.is_(None) if value is None else key.column == value
            step = sa.or_(step, sa.and_(same, condition))
        condition = step
    # The leading key as a plain range, so the index seeks instead of scanning from the start.
    lead, value = keys[0], values[0]
    if value is not None and not (lead.nullable and _nulls_after(lead, dialect, reverse)):
        bound = lead.column <= value if lead.desc != reverse else lead.column >= value
        condition = sa.and_(bound, condition)
    return condition


def _serializer() -> URLSafeSerializer:
    from flask import current_app

    return URLSafeSerializer(current_app.secret_key, salt=_SALT)


def _dump(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _load(key: _Key, value):
    """A cursor value back to the column's type; InvalidCursor when it is not of that type."""
    if value is None:
        if key.nullable:
            return None
        raise InvalidCursor("NULL for a column that has none")
    kind = _python_type(key.column.type)
    try:
        if kind is dt.datetime:
            return dt.datetime.fromisoformat(value)
        if kind is dt.date:
            return dt.date.fromisoformat(value)
        if kind is decimal.Decimal:
            return decimal.Decimal(value) if isinstance(value, str) else _fail()
        if kind is bool:
            return value if isinstance(value, bool) else _fail()
        if kind is int:
            return value if isinstance(value, int) and not isinstance(value, bool) else _fail()
        if kind is float:
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            return float(value) if number else _fail()
        if isinstance(value, str) or (kind is not str and isinstance(value, (int, float))):
            return value
    except (TypeError, ValueError, decimal.InvalidOperation) as exc:
        raise InvalidCursor(str(exc)) from exc
    return _fail()


def _python_type(type_) -> type | None:
    while isinstance(type_, sa.types.TypeDecorator):
        type_ = type_.impl_instance
    try:
        return type_.python_type
    except NotImplementedError:
        return None


def _fail():
    raise InvalidCursor("a value of the wrong type")


def _encode(plan: _Plan, row, page: int, backwards: bool) -> str | None:
    """The cursor to ``row``; None when it would be longer than a cursor may be (a row whose
    sort values are very long texts in a non-Latin script): the link then goes by page number."""
    values = [_dump(getattr(row, key.attr)) for key in plan.keys]
    cursor = _serializer().dumps({"o": plan.fingerprint, "p": page, "b": int(backwards),
                                  "v": values})
    return cursor if len(cursor) <= CURSOR_MAX_LENGTH else None


@dataclass(frozen=True)
class _Position:
    values: list
    page: int
    backwards: bool


def _decode(plan: _Plan, cursor: str) -> _Position:
    if not isinstance(cursor, str) or len(cursor) > CURSOR_MAX_LENGTH:
        raise InvalidCursor("too long")
    try:
        data = _serializer().loads(cursor)
    except (BadData, ValueError, TypeError, UnicodeError) as exc:
        raise InvalidCursor("bad signature") from exc
    if not isinstance(data, dict) or data.get("o") != plan.fingerprint:
        raise InvalidCursor("made for another sort")
    page, backwards, values = data.get("p"), data.get("b"), data.get("v")
    if (not isinstance(page, int) or isinstance(page, bool) or not 2 <= page <= CURSOR_MAX_PAGE
            or backwards not in (0, 1) or not isinstance(values, list)
            or len(values) != len(plan.keys)):
        raise InvalidCursor("malformed")
    return _Position([_load(k, v) for k, v in zip(plan.keys, values)], page, bool(backwards))


def _walk(plan: _Plan, stmt: sa.Select, limit: int, *, after: list | None = None,
          reverse: bool = False) -> list:
    """Up to ``limit`` rows of ``stmt`` in walking order (backwards: ``reverse``), from the start
    or from just after the row whose key values are ``after``."""
    dialect = _dialect()
    segments = plan.segments[::-1] if reverse else plan.segments
    started = after is None
    rows: list = []
    for segment in segments:
        query = stmt if segment.where is None else stmt.where(segment.where)
        if not started:
            lead_null = after[0] is None if segment.lead_null is not None else None
            if segment.lead_null != lead_null:
                continue  # the cursor row lies in a later segment
            started = True
            values = after[1:] if segment.lead_null else after
            query = query.where(_after(segment.keys, values, reverse, dialect))
        query = query.order_by(None).order_by(*_order(segment.keys, reverse))
        rows.extend(db.session.scalars(query.limit(limit - len(rows))).unique().all())
        if len(rows) >= limit:
            break
    return rows


def _page_ids(plan: _Plan, stmt: sa.Select, offset: int, limit: int) -> list:
    """The primary keys of rows ``offset`` to ``offset + limit`` in list order, read through the
    sort's index alone (no row, no eager load), segment by segment."""
    ids_stmt = stmt.with_only_columns(plan.pk)  # loader options go with the entity
    ids: list = []
    for number, segment in enumerate(plan.segments, start=1):
        query = ids_stmt if segment.where is None else ids_stmt.where(segment.where)
        got = db.session.scalars(query.order_by(None).order_by(*_order(segment.keys, False))
                                 .limit(limit - len(ids)).offset(offset)).all()
        if not got and offset and number < len(plan.segments):
            # The page starts beyond this segment: skip all of it (one index-only count).
            skipped = db.session.scalar(sa.select(sa.func.count()).select_from(
                query.order_by(None).subquery()))
            offset = max(0, offset - skipped)
            continue
        offset = 0
        ids.extend(got)
        if len(ids) >= limit:
            break
    return ids


def keyset_paginate(stmt: sa.Select, per_page: int, *, page: int | None = None,
                    cursor: str | None = None) -> Page:
    """One page of ``stmt`` (sorted by its ORDER BY, see the module docstring).

    ``cursor`` (from a previous page's ``next_cursor``/``prev_cursor``) is followed when given
    and ``page`` is None or the page the cursor leads to; otherwise ``page`` (default 1) is read
    by its number. A cursor that does not decode raises :class:`InvalidCursor` (callers fall
    back to the page number). The page links carry cursors, except the one to page 1."""
    plan = _plan(stmt)
    position = _decode(plan, cursor) if cursor else None
    if position is not None and page is not None and page != position.page:
        position = None  # the page number was changed by hand: it wins
    number = max(1, page or 1)
    if position is not None and position.backwards:
        rows = _walk(plan, stmt, per_page + 1, after=position.values, reverse=True)
        if len(rows) <= per_page:  # reached the start (rows went away meanwhile): page 1 afresh
            return _finish(plan, _walk(plan, stmt, per_page + 1), 1, per_page, has_next=None,
                           source=stmt)
        rows = rows[:per_page][::-1]
        return _finish(plan, rows, position.page, per_page, has_next=True, source=stmt)
    if position is not None:
        rows = _walk(plan, stmt, per_page + 1, after=position.values)
        number = position.page
    elif number == 1:
        rows = _walk(plan, stmt, per_page + 1)
    else:
        ids = _page_ids(plan, stmt, (number - 1) * per_page, per_page + 1)
        found = {}
        if ids:
            found = {getattr(row, plan.pk_attr): row for row in db.session.scalars(
                stmt.where(plan.pk.in_(ids)).order_by(None)).unique()}
        rows = [found[i] for i in ids if i in found]
    return _finish(plan, rows, number, per_page, has_next=None, source=stmt)


def _finish(plan: _Plan, rows: list, number: int, per_page: int, *, has_next: bool | None,
            source: sa.Select | None = None) -> Page:
    if has_next is None:
        has_next = len(rows) > per_page
    items = rows[:per_page]
    page = Page(items=items, page=number, per_page=per_page, has_next=has_next, source=source)
    if items and has_next:
        page.next_cursor = _encode(plan, items[-1], number + 1, backwards=False)
    if items and number > 2:
        page.prev_cursor = _encode(plan, items[0], number - 1, backwards=True)
    return page


def keyset_page(stmt: sa.Select, per_page: int, *, page: int | None,
                cursor: str | None) -> Page:
    """:func:`keyset_paginate`, a cursor that does not decode ignored (the page number, or
    page 1, is shown instead): how the screens and the API page a big list alike."""
    try:
        return keyset_paginate(stmt, per_page, page=page, cursor=cursor)
    except InvalidCursor:
        return keyset_paginate(stmt, per_page, page=page)


def request_keyset_page(stmt: sa.Select, per_page: int) -> Page:
    """:func:`keyset_page` with the current request's ``?cursor=`` and ``?page=``."""
    from flask import request

    cursor = (request.args.get("cursor") or "").strip() or None
    page = request_page() if (request.args.get("page") or "").strip() else None
    return keyset_page(stmt, per_page, page=page, cursor=cursor)
