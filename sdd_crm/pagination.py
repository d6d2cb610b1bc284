"""Pagination without COUNT(*): fetch one row more than a page to know if there is a next one."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from .extensions import db


def paginate(stmt: sa.Select, page: int, per_page: int):
    """One page without a COUNT(*) (FACTS: a count per page cut throughput to a third)."""
    page = max(1, page)
    rows = db.session.scalars(stmt.limit(per_page + 1).offset((page - 1) * per_page)).unique().all()
    return Page(items=rows[:per_page], page=page, per_page=per_page, has_next=len(rows) > per_page)


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def request_page(limit: int = 100_000) -> int:
    """The ``page`` query argument of the current request: 1 when missing or not a number, and
    never beyond ``limit`` (a deep offset is refused rather than scanned)."""
    from flask import request

    try:
        return max(1, min(int(request.args.get("page", 1)), limit))
    except (TypeError, ValueError):
        return 1
