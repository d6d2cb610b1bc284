"""Response time per receiving side (issue 3.5): shared (created_at) → accepted or declined
(responded_at), as the median and the 90th percentile in hours, plus what is still waiting."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from html_helpers import assert_good_markup, text
from sdd_crm.extensions import db
from sdd_crm.leads.reports import MAX_ROWS, response_times
from sdd_crm.leads.services import share_lead

# Whole hours, so the figures are exact; close to the real clock, so the page's periods apply.
NOW = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def crafted(make_user, make_org):
    """Leads with known timings. Sliedrecht answered after 2, 4 and 10 hours; Dordrecht after
    1, 3, 5 and 30; the regional team after 6; a named colleague has one waiting for 50 hours.
    Plus: one Sliedrecht lead waiting 8 hours, one answered long ago, one deleted."""
    author = make_user("local_account_manager", municipality="GM0642")
    colleague = make_user("business_developer")
    # A lead goes only to a municipality where someone receives it (issue 14).
    make_user("local_account_manager", municipality="GM0610")
    make_user("local_account_manager", municipality="GM0505")
    org = make_org(name="Werf", city="Sliedrecht")

    def lead(target: dict, shared_hours_ago: float, answered_after: float | None,
             status="accepted", deleted=False):
        data = {"organisation_id": org.id, "type": "expansion", "title": "Signaal", **target}
        row = share_lead(data, actor=author)
        row.created_at = NOW - dt.timedelta(hours=shared_hours_ago)
        if answered_after is not None:
            row.responded_at = row.created_at + dt.timedelta(hours=answered_after)
            row.status = status
        if deleted:
            row.deleted_at = NOW
        return row

    sliedrecht = {"shared_with_municipality": "GM0610"}
    dordrecht = {"shared_with_municipality": "GM0505"}
    for hours in (2, 4, 10):
        lead(sliedrecht, 100, hours)
    lead(sliedrecht, 8, None, status="new")
    for hours in (1, 3, 5):
        lead(dordrecht, 200, hours, status="declined")
    lead(dordrecht, 300, 30, status="won")  # answered, then moved on: still counts
    lead({"shared_with": "regional_team"}, 20, 6)
    lead({"shared_with_user_id": colleague.id}, 50, None, status="new")
    lead(dordrecht, 24 * 400, 1000)  # shared more than a year ago: outside the default period
    lead(sliedrecht, 10, 500, deleted=True)  # deleted: never counted
    db.session.commit()


def _by_label(report):
    return {r.label: r for r in report.rows}


def test_medians_and_90th_percentiles_are_exact(app, crafted):
    with app.test_request_context("/"):
        report = response_times(365, now=NOW, municipalities={"GM0610": "Sliedrecht",
                                                              "GM0505": "Dordrecht"})
    rows = _by_label(report)
    assert [r.label for r in report.rows] == ["Regionaal team", "Dordrecht", "Sliedrecht",
                                              "Collega"]
    s = rows["Sliedrecht"]
    # 2, 4, 10: median 4; P90 by linear interpolation 4 + 0.8 × (10 − 4) = 8.8.
    assert (s.answered, s.median_hours, s.p90_hours) == (3, 4.0, 8.8)
    assert (s.waiting, s.oldest_waiting_hours) == (1, 8.0)
    d = rows["Dordrecht"]
    # 1, 3, 5, 30: median (3 + 5) / 2 = 4; P90 at position 2.7: 5 + 0.7 × 25 = 22.5.
    assert (d.answered, d.median_hours, d.p90_hours, d.waiting) == (4, 4.0, 22.5, 0)
    assert d.oldest_waiting_hours is None
    r = rows["Regionaal team"]
    assert (r.answered, r.median_hours, r.p90_hours, r.waiting) == (1, 6.0, 6.0, 0)
    c = rows["Collega"]
    assert (c.answered, c.median_hours, c.waiting, c.oldest_waiting_hours) == (0, None, 1, 50.0)
    assert not report.truncated and MAX_ROWS >= 10_000


def test_the_period_decides_which_answered_leads_count(app, crafted):
    with app.test_request_context("/"):
        names = {"GM0505": "Dordrecht"}
        everything = _by_label(response_times(None, now=NOW, municipalities=names))
        recent = _by_label(response_times(3, now=NOW, municipalities=names))
    # All time: Dordrecht also has the 1000-hour answer: 1, 3, 5, 30, 1000 → median 5.
    assert (everything["Dordrecht"].answered, everything["Dordrecht"].median_hours) == (5, 5.0)
    # The last 3 days: only the regional team answered; waiting leads always show.
    assert "Dordrecht" not in recent
    assert recent["Regionaal team"].answered == 1
    assert recent["GM0610"].waiting == 1 and recent["GM0610"].answered == 0


def test_the_report_page_shows_the_table_and_the_chart_data(client, login, make_user, crafted):
    login(make_user("regional_account_manager"))
    resp = client.get("/leads/response-times")
    assert resp.status_code == 200
    assert_good_markup(resp)
    page = text(resp)
    row = re.search(r'scope="row">Sliedrecht</th>(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r">([^<]*)</td>", row)
    # Durations in the unit that fits, never a bare number of hours (issue 14).
    assert cells[:4] == ["3", "4 uur", "8,8 uur", "1"]  # the oldest waiting depends on the clock
    # Waiting 8 hours since NOW (the hour the module was imported); a run that crossed the next
    # hour reads 9 and a bit.
    assert re.fullmatch(r"[89](,\d)? uur", cells[4]), cells[4]
    data = json.loads(re.search(
        r'<script type="application/json" id="response-times-data">(.*?)</script>', page,
        re.S).group(1))
    assert data["labels"] == ["Regionaal team", "Dordrecht", "Sliedrecht"]
    assert data["unit"] == "hours"  # no bar passes two days
    assert data["datasets"][0]["data"] == [6.0, 4.0, 4.0]
    assert data["datasets"][1]["data"] == [6.0, 22.5, 8.8]
    assert 'src="/static/js/lead-response-times.js"' in page
    assert client.get("/leads/response-times?period=90").status_code == 200
    assert client.get("/leads/response-times?period=bogus").status_code == 200


def test_an_empty_report_says_so(client, login, make_user):
    login(make_user("admin"))
    page = text(client.get("/leads/response-times"))
    assert "Nog geen signalen in deze periode." in page
    assert "response-times-data" not in page
