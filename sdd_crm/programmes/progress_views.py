"""The progress dashboard of a programme (issue 5.4) and its list of SMEs not yet approached.

Every signed-in user reads them, viewers included (DESIGN 4.4: dashboards). The figures come
from ``progress``; this module only turns them into labels and chart data. Each chart's data
travels in a ``<script type="application/json">`` block (the CSP forbids inline scripts) and
the table next to it holds the same numbers.
"""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import format_date, gettext as _
from flask_login import login_required

from ..labels import PARTICIPATION_STATUS, label
from . import bp
from .progress import Progress, Series, programme_progress
from .progress_unapproached import unapproached_smes
from .queries import get_programme_or_404

PREVIEW = 10  # SMEs not yet approached shown on the dashboard itself


def status_label(status: str) -> str:
    return label(PARTICIPATION_STATUS, status)


def period_label(start, weekly: bool) -> str:
    if weekly:
        year, week, _day = start.isocalendar()
        return _("week %(week)s, %(year)s", week=week, year=year)
    return format_date(start, "LLLL yyyy")


def series_chart(series: Series) -> dict:
    datasets = [{"label": _("Geteld (totaal)"), "role": "counted",
                 "data": [p.cumulative for p in series.points]}]
    if series.has_line:
        datasets.append({"label": _("Streeflijn"), "role": "target",
                         "data": [p.expected for p in series.points]})
    return {"kind": "line", "labels": [period_label(p.start, series.weekly) for p in series.points],
            "datasets": datasets}


def charts(progress: Progress) -> dict:
    """What each chart draws: the same numbers as the tables beside them."""
    return {
        "series": series_chart(progress.series),
        "funnel": {"kind": "bar", "horizontal": True,
                   "labels": [s.label for s in progress.funnel.steps],
                   "datasets": [{"label": _("Bereikt (deze fase of verder)"),
                                 "data": [s.reached for s in progress.funnel.steps]}]},
        "municipalities": {"kind": "bar", "horizontal": True,
                           "labels": [m.label for m in progress.municipalities],
                           "datasets": [{"label": _("Geteld"),
                                         "data": [m.counted for m in progress.municipalities]}]},
        "clusters": {"kind": "bar", "horizontal": True,
                     "labels": [c.label for c in progress.clusters],
                     "datasets": [{"label": _("Geteld"),
                                   "data": [c.counted for c in progress.clusters]}]},
    }


def _cursor(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 12 else None


@bp.route("/<code>/progress")
@login_required
def progress(code: str):
    programme = get_programme_or_404(code)
    data = programme_progress(programme)
    return render_template("programmes/progress.html", programme=programme, progress=data,
                           charts=charts(data), period_label=period_label, status_label=status_label,
                           unapproached=unapproached_smes(programme, per_page=PREVIEW))


@bp.route("/<code>/progress/unapproached")
@login_required
def progress_unapproached(code: str):
    programme = get_programme_or_404(code)
    after, before = _cursor("after"), _cursor("before")
    page = unapproached_smes(programme, per_page=current_app.config["PAGE_SIZE"], after=after,
                             before=None if after is not None else before)
    return render_template("programmes/progress_unapproached.html", programme=programme,
                           page=page, status_label=status_label)
