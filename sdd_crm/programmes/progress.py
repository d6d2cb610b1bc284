"""A programme's progress against its target (issue 5.4), as plain functions.

Every figure starts from the count of DESIGN 4.2 (``counting``'s rule, as ``tally`` keeps it
current with every change); nothing here counts differently. Choices, so the board and the fund read the same numbers every week:

- **Counted vs target**: counted SMEs, the unverified among them, and every participation that
  does not count, per reason (``REASON_LABELS``). The percentage of the target is rounded *down*
  (999 of 1,000 is 99 %, never a premature 100 %).
- **Over time**: for each participation that counts *today*, the local date (Europe/Amsterdam)
  it last entered ``participating``/``completed`` (``counting.counted_since``; without such an
  event, the date of its current status). So the line shows when today's counted SMEs were won,
  not the history of ones that later dropped out, and it ends exactly at today's count. Dates
  before the series start fall in its first period. Periods are calendar months, or ISO weeks
  (from Monday) when the series spans at most 182 days. The series runs from the programme's
  start date (else the first counted date) to the later of today and the end date; periods
  after today carry no count. The *streeflijn* is the straight line from (start date, 0) to
  (end date, target): at date d it is target × (d − start) / (end − start) days, clamped to
  [0, target], rounded half up, read at the last day of each period. Without a start date, end
  date or target, or with the end not after the start, there is no line (the page says why).
- **Funnel**: live participations of organisations that are not deleted, per status.
  "Reached" a step = now at that step or further on (identified → … → completed); the
  conversion from one step to the next is reached(next) / reached(this), in whole percent
  (rounded half up). Declined ones left the funnel at an unknown step and are shown apart.
- **By municipality**: every municipality of the programme's region, zeros included. **By
  cluster**: counted organisations per *primary* cluster (every live cluster, zeros included),
  plus "geen cluster" (no primary cluster, or a deleted one). Both sum to the count.
- **Needed per month** = ceil((target − counted) / months left), months left = days from
  today to the end date / 30.44 (the mean month), at least 1 while the end date has not passed
  (so on the last day all that is missing is needed "this month"). Reached, ended, no end date
  and no target are named states instead of a number.
- **Not yet approached**: see ``progress_unapproached``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from fractions import Fraction

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..i18n import local_today
from ..labels import PARTICIPATION_STATUS, label
from ..valuechains.models import Cluster, OrganisationCluster
from .counting import ProgrammeCount, Reason
from .models import Programme
from .tally import counted_organisations, tally

PIPELINE = ("identified", "approached", "interested", "participating", "completed")
DECLINED = "declined"
DAYS_PER_MONTH = Fraction(3044, 100)  # the mean Gregorian month, 365.25 / 12, rounded
WEEKLY_UP_TO_DAYS = 182  # series spanning at most 26 weeks are shown per week

REASON_LABELS = {
    Reason.STATUS: _l("Nog niet deelnemend (of afgehaakt)"),
    Reason.DELETED: _l("Organisatie verwijderd"),
    Reason.DISSOLVED: _l("Organisatie opgeheven"),
    Reason.OUTSIDE_REGION: _l("Gemeente buiten de regio van het programma"),
    Reason.NOT_COMPANY: _l("Geen bedrijf"),
    Reason.EMPLOYEES_UNKNOWN: _l("Aantal werkzame personen onbekend"),
    Reason.NOT_SME: _l("Geen mkb (te groot)"),
    Reason.GROUP_NOT_SME: _l("Hoort bij een groep die geen mkb is"),
    Reason.DUPLICATE: _l("Dubbel (samengevoegd met een organisatie die al telt)"),
}


def _half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


# --- over time -----------------------------------------------------------------------------

@dataclass
class Point:
    start: dt.date  # first day of the period (a Monday for weeks)
    end: dt.date  # last day of the period: where the count and the line are read
    new: int | None  # counted in this period (None: the period lies after today)
    cumulative: int | None
    expected: int | None  # the streeflijn at ``end`` (None: no line)


@dataclass
class Series:
    weekly: bool
    points: list[Point]
    has_line: bool
    expected_today: int | None  # the streeflijn at today


def target_line(start: dt.date | None, end: dt.date | None, target: int | None):
    """The straight line from (start, 0) to (end, target) as a function of a date, or None."""
    if start is None or end is None or not target or end <= start:
        return None
    total = (end - start).days

    def at(day: dt.date) -> int:
        elapsed = min(max((day - start).days, 0), total)
        return _half_up(Fraction(target * elapsed, total))

    return at


def _periods(first: dt.date, last: dt.date, weekly: bool):
    if weekly:
        start = first - dt.timedelta(days=first.weekday())
        while start <= last:
            yield start, start + dt.timedelta(days=6)
            start += dt.timedelta(days=7)
        return
    start = first.replace(day=1)
    while start <= last:
        following = (start + dt.timedelta(days=32)).replace(day=1)
        yield start, following - dt.timedelta(days=1)
        start = following


def cumulative_series(counted_on: list[dt.date], *, start: dt.date | None, end: dt.date | None,
                      target: int | None, today: dt.date) -> Series:
    """The cumulative count per period, against the streeflijn (see the module docstring)."""
    line = target_line(start, end, target)
    first = start or (min(counted_on) if counted_on else None)
    if first is None:
        return Series(weekly=False, points=[], has_line=False, expected_today=None)
    last = max(today, end or today, first)
    weekly = (last - first).days <= WEEKLY_UP_TO_DAYS
    days = sorted(min(max(d, first), today) for d in counted_on)
    points, taken = [], 0
    for p_start, p_end in _periods(first, last, weekly):
        expected = line(p_end) if line else None
        if p_start > today:
            points.append(Point(p_start, p_end, None, None, expected))
            continue
        before = taken
        while taken < len(days) and days[taken] <= p_end:
            taken += 1
        points.append(Point(p_start, p_end, taken - before, taken, expected))
    return Series(weekly=weekly, points=points, has_line=line is not None,
                  expected_today=line(today) if line else None)


# --- needed per month ------------------------------------------------------------------------

@dataclass
class Pace:
    state: str  # "no_target", "reached", "no_end_date", "ended" or "running"
    remaining: int | None = None  # SMEs still missing
    months_left: Fraction | None = None
    per_month: int | None = None

    @property
    def months_left_rounded(self) -> float | None:
        return None if self.months_left is None else round(float(self.months_left), 1)


def needed_per_month(target: int | None, counted: int, end: dt.date | None,
                     today: dt.date) -> Pace:
    """How many SMEs a month must be counted from today on to reach the target by the end date."""
    if not target:
        return Pace("no_target")
    remaining = target - counted
    if remaining <= 0:
        return Pace("reached", remaining=0)
    if end is None:
        return Pace("no_end_date", remaining=remaining)
    if today > end:
        return Pace("ended", remaining=remaining)
    months = max(Fraction(1), Fraction((end - today).days) / DAYS_PER_MONTH)
    return Pace("running", remaining=remaining, months_left=months,
                per_month=math.ceil(Fraction(remaining) / months))


# --- funnel ----------------------------------------------------------------------------------

@dataclass
class FunnelStep:
    status: str
    label: str
    now: int  # participations at this status today
    reached: int  # at this status or further on
    conversion: int | None  # % of the previous step that reached this one (None: first/0)


@dataclass
class Funnel:
    steps: list[FunnelStep]
    declined: int
    total: int


def funnel_from_counts(per_status: dict[str, int]) -> Funnel:
    """The pipeline from the number of participations per status (see the module docstring)."""
    steps: list[FunnelStep] = []
    for i, status in enumerate(PIPELINE):
        reached = sum(per_status.get(s, 0) for s in PIPELINE[i:])
        previous = steps[-1].reached if steps else None
        conversion = _half_up(Fraction(100 * reached, previous)) if previous else None
        steps.append(FunnelStep(status, label(PARTICIPATION_STATUS, status),
                                per_status.get(status, 0), reached, conversion))
    declined = per_status.get(DECLINED, 0)
    return Funnel(steps=steps, declined=declined, total=steps[0].reached + declined)


# --- breakdowns ------------------------------------------------------------------------------

@dataclass
class Share:
    key: str | int | None  # CBS code, cluster id, or None for "geen cluster"
    label: str
    counted: int


def by_municipality(programme: Programme, count: ProgrammeCount) -> list[Share]:
    """Counted SMEs per municipality of the region, by name, zeros included."""
    return [Share(m.code, m.name, count.by_municipality.get(m.code, 0))
            for m in sorted(programme.municipalities, key=lambda m: m.name)]


def by_cluster(programme: Programme, count: ProgrammeCount) -> list[Share]:
    """Counted organisations per primary cluster (most first, then by name), then no cluster."""
    oc = OrganisationCluster
    counted = counted_organisations(programme).subquery()
    # From the counted organisations (kept verdicts) to their primary cluster: a few thousand
    # lookups, not every membership of every cluster.
    per_cluster = (sa.select(oc.cluster_id, sa.func.count().label("n"))
                   .join(counted, counted.c.survivor_id == oc.organisation_id)
                   .where(oc.is_primary.is_(True)).group_by(oc.cluster_id).subquery())
    rows = db.session.execute(
        sa.select(Cluster.id, Cluster.name, sa.func.coalesce(per_cluster.c.n, 0))
        .outerjoin(per_cluster, per_cluster.c.cluster_id == Cluster.id)
        .where(Cluster.deleted_at.is_(None))).all()
    shares = sorted((Share(cid, name, n) for cid, name, n in rows),
                    key=lambda s: (-s.counted, s.label))
    shares.append(Share(None, str(_l("Geen cluster")), count.counted - sum(s.counted for s in shares)))
    return shares


# --- everything on the page ------------------------------------------------------------------

@dataclass
class Progress:
    programme: Programme
    today: dt.date
    count: ProgrammeCount
    percent: int | None
    excluded: list[tuple[str, str, int]]  # (reason, label, participations), in Reason order
    series: Series
    pace: Pace
    funnel: Funnel
    municipalities: list[Share]
    clusters: list[Share] = field(default_factory=list)


def target_percent(counted: int, target: int | None) -> int | None:
    return math.floor(Fraction(100 * counted, target)) if target else None


def programme_progress(programme: Programme, *, today: dt.date | None = None) -> Progress:
    """Every figure of the progress dashboard of one programme."""
    today = today or local_today()
    kept = tally(programme)  # kept current by programmes/tally.py: no count per request
    count = kept.count
    excluded = [(str(r), str(REASON_LABELS[r]), count.excluded[str(r)])
                for r in Reason if count.excluded.get(str(r))]
    series = cumulative_series(kept.counted_dates(), start=programme.start_date,
                               end=programme.end_date, target=count.target, today=today)
    return Progress(
        programme=programme, today=today, count=count,
        percent=target_percent(count.counted, count.target), excluded=excluded, series=series,
        pace=needed_per_month(count.target, count.counted, programme.end_date, today),
        funnel=funnel_from_counts(kept.statuses),
        municipalities=by_municipality(programme, count), clusters=by_cluster(programme, count))
