"""Response time of the receiving side (issue 3.5): from sharing a lead to its acceptance or
decline.

Computed with pandas over one bounded query: the median and 90th percentile are not portable
SQL (SQLite has no percentile function), and leads are few (hundreds a year), so at most
``MAX_ROWS`` answered leads of the chosen period are read. The waiting leads are counted in SQL.
Percentiles use linear interpolation (pandas' default): the median of 2, 4, 10 and 12 hours is 7.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..db import utcnow
from ..extensions import db
from .models import Lead, LeadStatus, SharedWith

MAX_ROWS = 50_000
PERIODS = {"90": 90, "365": 365, "all": None}  # ?period= → days back (None: everything)
GROUP_LABELS = {SharedWith.REGIONAL_TEAM.value: _l("Regionaal team"),
                SharedWith.USER.value: _l("Collega")}


@dataclass
class ResponseTimes:
    key: str  # a CBS code, "regional_team" or "user"
    label: str
    answered: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None
    waiting: int = 0
    oldest_waiting_hours: float | None = None


@dataclass
class Report:
    rows: list[ResponseTimes]
    since: dt.datetime | None
    truncated: bool  # more answered leads than MAX_ROWS: the figures cover the newest only


def _group_key():
    """The receiving side: the municipality's CBS code, or the kind of receiver."""
    return sa.case(
        (Lead.shared_with == SharedWith.MUNICIPALITY, Lead.shared_with_municipality_code),
        else_=Lead.shared_with)


def response_times(days: int | None = 365, *, now: dt.datetime | None = None,
                   municipalities: dict[str, str] | None = None) -> Report:
    """Per receiving municipality, the regional team and named colleagues: leads answered (shared
    in the period), median and 90th-percentile hours to the answer, and those still waiting."""
    import pandas as pd  # only this report needs it; keep it out of every request's imports

    now = now or utcnow()
    since = now - dt.timedelta(days=days) if days else None
    key = _group_key().label("key")
    answered = (sa.select(key, Lead.created_at, Lead.responded_at)
                .where(Lead.deleted_at.is_(None), Lead.responded_at.is_not(None))
                .order_by(Lead.created_at.desc()).limit(MAX_ROWS + 1))
    if since is not None:
        answered = answered.where(Lead.created_at >= since)
    rows = db.session.execute(answered).all()
    truncated = len(rows) > MAX_ROWS
    rows = rows[:MAX_ROWS]

    waiting = db.session.execute(
        sa.select(key, sa.func.count(), sa.func.min(Lead.created_at))
        .where(Lead.deleted_at.is_(None), Lead.status == LeadStatus.NEW)
        .group_by(key)).all()

    names = municipalities or {}
    result: dict[str, ResponseTimes] = {}

    def entry(k: str) -> ResponseTimes:
        if k not in result:
            result[k] = ResponseTimes(key=k, label=str(GROUP_LABELS.get(k) or names.get(k, k)))
        return result[k]

    if rows:
        frame = pd.DataFrame({"key": [r.key for r in rows],
                              "hours": [(r.responded_at - r.created_at).total_seconds() / 3600
                                        for r in rows]})
        stats = frame.groupby("key")["hours"].agg(
            answered="count", median="median", p90=lambda h: h.quantile(0.9))
        for k, s in stats.iterrows():
            e = entry(str(k))
            e.answered = int(s["answered"])
            e.median_hours = round(float(s["median"]), 1)
            e.p90_hours = round(float(s["p90"]), 1)
    for k, count, oldest in waiting:
        e = entry(str(k))
        e.waiting = int(count)
        e.oldest_waiting_hours = round((now - oldest).total_seconds() / 3600, 1)

    order = {SharedWith.REGIONAL_TEAM.value: 0, SharedWith.USER.value: 2}
    ordered = sorted(result.values(), key=lambda e: (order.get(e.key, 1), e.label))
    return Report(rows=ordered, since=since, truncated=truncated)


def chart_data(report: Report) -> dict:
    """What the bar chart draws, as JSON for a ``<script type="application/json">`` block."""
    rows = [r for r in report.rows if r.answered]
    # Hours while they stay short, days once any bar passes two days (never 12,003.3 hours).
    in_days = any((r.p90_hours or 0) > 48 for r in rows)

    def unit(hours):
        return None if hours is None else round(hours / 24, 1) if in_days else hours

    median, p90 = ((_l("Mediaan (dagen)"), _l("90e percentiel (dagen)")) if in_days
                   else (_l("Mediaan (uren)"), _l("90e percentiel (uren)")))
    return {
        "labels": [r.label for r in rows],
        "unit": "days" if in_days else "hours",
        "datasets": [
            {"label": str(median), "data": [unit(r.median_hours) for r in rows]},
            {"label": str(p90), "data": [unit(r.p90_hours) for r in rows]},
        ],
    }
