"""The programme progress dashboard (issue 5.4) with exact numbers, on SQLite and PostgreSQL.

One crafted programme ("proef": 2026, target 20, region Dordrecht, Papendrecht, Zwijndrecht),
seen on 15 April 2026, carries every figure: five counted SMEs won in known months, every kind
of exclusion, a pipeline at each step, clusters, and SMEs of the region not yet approached.
"""

from __future__ import annotations

import datetime as dt
import re
from fractions import Fraction

import pytest
import sqlalchemy as sa

from sdd_crm.extensions import db
from sdd_crm.programmes import progress as progress_module
from sdd_crm.programmes.models import Participation, ParticipationEvent, Programme, ProgrammeTarget
from sdd_crm.programmes.progress import (cumulative_series, funnel_from_counts, needed_per_month,
                                         programme_progress, target_line)
from sdd_crm.programmes.progress_unapproached import unapproached_smes
from sdd_crm.reference.models import Municipality
from sdd_crm.valuechains.models import Cluster, OrganisationCluster

from html_helpers import ROLES, assert_good_markup, text

D = dt.date
TODAY = D(2026, 4, 15)
UTC = dt.UTC
SEED_CLUSTERS = ["Bouw & installatie", "Delta-technologie", "Energietransitie",
                 "Logistiek & digital mainport", "Maritieme maakindustrie", "Smart manufacturing",
                 "Zorginnovatie"]


# --- pure rules ----------------------------------------------------------------------------

def test_target_line_runs_straight_from_zero_to_the_target():
    line = target_line(D(2026, 1, 1), D(2026, 12, 31), 20)
    assert [line(d) for d in (D(2025, 12, 1), D(2026, 1, 1), D(2026, 1, 31), D(2026, 4, 15),
                              D(2026, 12, 31), D(2027, 6, 1))] == [0, 0, 2, 6, 20, 20]
    assert line(D(2026, 7, 2)) == 10  # 182 of 364 days: exactly half
    for start, end, target in [(None, D(2026, 12, 31), 20), (D(2026, 1, 1), None, 20),
                               (D(2026, 1, 1), D(2026, 12, 31), None),
                               (D(2026, 1, 1), D(2026, 12, 31), 0),
                               (D(2026, 1, 1), D(2026, 1, 1), 20)]:
        assert target_line(start, end, target) is None


def test_monthly_series_against_the_line():
    counted_on = [D(2026, 1, 20), D(2025, 12, 15), D(2026, 2, 10), D(2026, 3, 1), D(2026, 4, 2)]
    s = cumulative_series(counted_on, start=D(2026, 1, 1), end=D(2026, 12, 31), target=20,
                          today=TODAY)
    assert not s.weekly and s.has_line and s.expected_today == 6
    assert [p.start for p in s.points] == [D(2026, m, 1) for m in range(1, 13)]
    assert [p.end for p in s.points][:3] == [D(2026, 1, 31), D(2026, 2, 28), D(2026, 3, 31)]
    # December's count lands in January: dates before the start fall in the first period.
    assert [p.new for p in s.points] == [2, 1, 1, 1] + [None] * 8
    assert [p.cumulative for p in s.points] == [2, 3, 4, 5] + [None] * 8
    assert [p.expected for p in s.points] == [2, 3, 5, 7, 8, 10, 12, 13, 15, 17, 18, 20]


def test_weekly_series_for_a_short_programme():
    counted_on = [D(2026, 3, 3), D(2026, 3, 10), D(2026, 3, 10), D(2026, 3, 19)]
    s = cumulative_series(counted_on, start=D(2026, 3, 2), end=D(2026, 5, 31), target=10,
                          today=D(2026, 3, 20))
    assert s.weekly
    assert len(s.points) == 13 and s.points[0].start == D(2026, 3, 2)
    assert (s.points[-1].start, s.points[-1].end) == (D(2026, 5, 25), D(2026, 5, 31))
    assert [p.new for p in s.points][:4] == [1, 2, 1, None]
    assert [p.cumulative for p in s.points][:4] == [1, 3, 4, None]
    assert [p.expected for p in s.points] == [1, 1, 2, 3, 4, 5, 5, 6, 7, 8, 8, 9, 10]
    assert s.expected_today == 2  # 18 of 90 days


def test_series_without_dates_or_target():
    s = cumulative_series([D(2026, 2, 10), D(2026, 3, 5)], start=None, end=None, target=None,
                          today=D(2026, 3, 20))
    assert s.weekly and not s.has_line and s.expected_today is None
    assert [p.start for p in s.points] == [D(2026, 2, 9), D(2026, 2, 16), D(2026, 2, 23),
                                           D(2026, 3, 2), D(2026, 3, 9), D(2026, 3, 16)]
    assert [p.cumulative for p in s.points] == [1, 1, 1, 2, 2, 2]
    assert [p.expected for p in s.points] == [None] * 6
    empty = cumulative_series([], start=None, end=D(2026, 12, 31), target=20, today=TODAY)
    assert empty.points == [] and not empty.has_line


@pytest.mark.parametrize("target, counted, end, today, state, per_month, remaining", [
    (20, 5, D(2026, 12, 31), TODAY, "running", 2, 15),         # 15 in 260/30.44 = 8.54 months
    (1000, 123, D(2028, 12, 31), TODAY, "running", 27, 877),  # 877 / 32.56 = 26.9 → 27
    (20, 5, D(2026, 4, 30), TODAY, "running", 15, 15),        # 15 days: at least one month
    (20, 5, TODAY, TODAY, "running", 15, 15),                 # the last day itself
    (20, 20, D(2026, 12, 31), TODAY, "reached", None, 0),
    (20, 25, D(2026, 12, 31), TODAY, "reached", None, 0),
    (20, 19, D(2026, 4, 14), TODAY, "ended", None, 1),        # the day after the end date
    (20, 5, None, TODAY, "no_end_date", None, 15),
    (None, 5, D(2026, 12, 31), TODAY, "no_target", None, None),
])
def test_needed_per_month(target, counted, end, today, state, per_month, remaining):
    pace = needed_per_month(target, counted, end, today)
    assert (pace.state, pace.per_month, pace.remaining) == (state, per_month, remaining)


def test_months_left_is_days_over_the_mean_month():
    pace = needed_per_month(20, 5, D(2026, 12, 31), TODAY)
    assert pace.months_left == Fraction(260 * 100, 3044)
    assert pace.months_left_rounded == 8.5


def test_funnel_counts_who_reached_each_step():
    f = funnel_from_counts({"identified": 1, "approached": 1, "interested": 1,
                            "participating": 8, "completed": 1, "declined": 1})
    assert [(s.status, s.now, s.reached, s.conversion) for s in f.steps] == [
        ("identified", 1, 12, None), ("approached", 1, 11, 92), ("interested", 1, 10, 91),
        ("participating", 8, 9, 90), ("completed", 1, 1, 11)]
    assert (f.declined, f.total) == (1, 13)
    empty = funnel_from_counts({})
    assert [s.conversion for s in empty.steps] == [None] * 5 and empty.total == 0


# --- the crafted programme ------------------------------------------------------------------

@pytest.fixture
def proef(make_org, make_user):
    """The crafted programme and its organisations by letter (see the module docstring)."""
    admin = make_user("admin")
    programme = Programme(code="proef", name="Proefprogramma", funder="Provincie",
                          start_date=D(2026, 1, 1), end_date=D(2026, 12, 31))
    programme.municipalities = [db.session.get(Municipality, c)
                                for c in ("GM0505", "GM0590", "GM0642")]
    programme.targets = [ProgrammeTarget(kind="sme_count", value=20)]
    db.session.add(programme)
    db.session.flush()

    def org(name, city="Dordrecht", **kw):
        return make_org(actor=admin, name=name, city=city, **kw)

    big_group = org("Grote Groep", "Rotterdam", employees=900, annual_turnover_eur=400_000_000)
    small_group = org("Kleine Groep", "Rotterdam", employees=200, annual_turnover_eur=10_000_000)
    vague_group = org("Vage Groep", "Rotterdam")  # employees unknown
    o = {
        # counted
        "A": org("A Installaties", employees=10, annual_turnover_eur=1_000_000),
        "B": org("B Bouw", employees=20, balance_sheet_total_eur=2_000_000),
        "C": org("C Warmte", "Heerjansdam", employees=30),  # Zwijndrecht, unverified
        "E": org("E Energie", employees=12, annual_turnover_eur=500_000),
        "F": org("F Ramen", employees=8, annual_turnover_eur=400_000),
        # participating or further, not counted
        "G": org("G Groot", employees=250),
        "H": org("H Dochter", employees=5, parent_id=big_group.id),
        "L": org("L Gorinchem", "Gorinchem", employees=9),
        "M": org("M Opgeheven", employees=9, status="dissolved"),
        "X": org("X Verwijderd", employees=9),
        # earlier in the pipeline
        "I": org("I Benaderd", employees=5),
        "J": org("J Geïdentificeerd", employees=40, kvk_number="40000040"),
        "N": org("N Geïnteresseerd", "Papendrecht", employees=7),
        "K": org("K Afgehaakt", employees=6),
        # never in this programme
        "U1": org("U1 Grootste", employees=249, kvk_number="24924924"),
        "U2": org("U2 Te groot", employees=250),
        "U3": org("U3 Balans", "Heerjansdam", employees=100, annual_turnover_eur=60_000_000,
                  balance_sheet_total_eur=40_000_000),
        "U4": org("U4 Te rijk", employees=100, annual_turnover_eur=60_000_000,
                  balance_sheet_total_eur=50_000_000),
        "U5": org("U5 Dochter groot", "Papendrecht", employees=100, parent_id=big_group.id),
        "U6": org("U6 Dochter klein", employees=150, annual_turnover_eur=5_000_000,
                  parent_id=small_group.id),
        "U6b": org("U6b Dochter vaag", employees=120, annual_turnover_eur=5_000_000,
                   parent_id=vague_group.id),
        "U7": org("U7 Opgeheven", employees=60, status="dissolved"),
        "U8": org("U8 Gorinchem", "Gorinchem", employees=80),
        "U9": org("U9 Inactief", employees=70, annual_turnover_eur=1_000_000, status="inactive"),
        "Beta": org("Beta", employees=50),
        "Alfa": org("Alfa", employees=50),
        "U12": org("U12 School", employees=30, org_type="education"),
        "U13": org("U13 Onbekend"),
        "U15": org("U15 Verwijderd", employees=35),
        "U16": org("U16 Origineel", employees=35),
        "U17": org("U17 Elders benaderd", employees=33),
    }
    o["U5b"] = org("U5b Kleindochter", "Papendrecht", employees=20, parent_id=o["U5"].id)
    o["U14"] = org("U14 Dubbel van Alfa", employees=45)
    o["U16d"] = org("U16 Dubbel", employees=35)
    o["U14"].merged_into_id = o["Alfa"].id
    o["U16d"].merged_into_id = o["U16"].id
    now = dt.datetime(2026, 4, 1, tzinfo=UTC)
    o["X"].deleted_at = o["U15"].deleted_at = now

    def at(y, m, d, h=9, mi=0):
        return dt.datetime(y, m, d, h, mi, tzinfo=UTC)

    def participate(key, status, moves=(), programme=programme, changed=now):
        p = Participation(programme_id=programme.id, organisation_id=o[key].id, status=status,
                          status_changed_at=changed)
        db.session.add(p)
        db.session.flush()
        for frm, to, when in moves:
            db.session.add(ParticipationEvent(participation_id=p.id, from_status=frm,
                                              to_status=to, at=when))
        return p

    participate("A", "participating", [(None, "identified", at(2026, 1, 5)),
                                       ("identified", "participating", at(2026, 1, 20))])
    participate("B", "completed", [(None, "participating", at(2026, 2, 10)),
                                   ("participating", "completed", at(2026, 3, 20))])
    # 23:30 UTC on 28 February is 00:30 on 1 March in Dordrecht: counted in March.
    participate("C", "participating", [(None, "participating", at(2026, 2, 28, 23, 30))])
    participate("E", "participating", [(None, "participating", at(2025, 12, 15))])
    participate("F", "participating", changed=at(2026, 4, 2, 10))  # no events: status date
    for key in ("G", "H", "L", "M", "X"):
        participate(key, "participating", [(None, "participating", at(2026, 2, 1))])
    participate("I", "approached")
    participate("J", "identified")
    participate("N", "interested")
    participate("K", "declined")
    participate("U16d", "approached")  # approached through a duplicate: U16 is approached
    gone = participate("U2", "approached")  # a deleted participation does not exist
    gone.deleted_at = now
    scale = db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))
    participate("U9", "approached", programme=scale)  # another programme does not matter
    participate("U17", "approached", programme=scale)

    clusters = {c.name: c for c in db.session.scalars(sa.select(Cluster))}
    for key, name, primary in [("A", "Energietransitie", True), ("B", "Energietransitie", True),
                               ("C", "Bouw & installatie", True), ("C", "Energietransitie", False),
                               ("E", "Maritieme maakindustrie", False),
                               ("U1", "Maritieme maakindustrie", True)]:
        db.session.add(OrganisationCluster(organisation_id=o[key].id,
                                           cluster_id=clusters[name].id, is_primary=primary))
    db.session.commit()
    return programme, o


def test_progress_figures(proef):
    programme, _orgs = proef
    p = programme_progress(programme, today=TODAY)
    assert (p.count.target, p.count.counted, p.count.unverified, p.percent) == (20, 5, 1, 25)
    assert [(reason, n) for reason, _label, n in p.excluded] == [
        ("status", 5), ("deleted", 1), ("dissolved", 1), ("outside_region", 1), ("not_sme", 1),
        ("group_not_sme", 1)]
    assert dict((r, str(label)) for r, label, _n in p.excluded)["group_not_sme"] == \
        "Hoort bij een groep die geen mkb is"
    assert [p_.cumulative for p_ in p.series.points] == [2, 3, 4, 5] + [None] * 8
    assert [p_.new for p_ in p.series.points][:4] == [2, 1, 1, 1]
    assert [p_.expected for p_ in p.series.points] == [2, 3, 5, 7, 8, 10, 12, 13, 15, 17, 18, 20]
    assert p.series.expected_today == 6
    assert (p.pace.state, p.pace.remaining, p.pace.per_month) == ("running", 15, 2)
    # X's organisation is deleted and U2's participation too: neither is in the funnel.
    assert [(s.now, s.reached, s.conversion) for s in p.funnel.steps] == [
        (1, 13, None), (2, 12, 92), (1, 10, 83), (8, 9, 90), (1, 1, 11)]
    assert (p.funnel.declined, p.funnel.total) == (1, 14)
    assert [(m.key, m.label, m.counted) for m in p.municipalities] == [
        ("GM0505", "Dordrecht", 4), ("GM0590", "Papendrecht", 0), ("GM0642", "Zwijndrecht", 1)]
    assert sum(m.counted for m in p.municipalities) == p.count.counted
    assert [(c.label, c.counted) for c in p.clusters] == [
        ("Energietransitie", 2), ("Bouw & installatie", 1)] + [
        (name, 0) for name in SEED_CLUSTERS if name not in ("Energietransitie", "Bouw & installatie")
    ] + [("Geen cluster", 2)]
    assert sum(c.counted for c in p.clusters) == p.count.counted


def test_today_defaults_to_the_local_date(proef, monkeypatch):
    programme, _orgs = proef
    monkeypatch.setattr(progress_module, "local_today", lambda: D(2027, 1, 4))
    p = programme_progress(programme)
    assert p.today == D(2027, 1, 4)
    assert (p.pace.state, p.pace.remaining) == ("ended", 15)
    assert len(p.series.points) == 13 and p.series.points[-1].cumulative == 5


def test_cluster_of_a_deleted_cluster_counts_as_none(proef):
    programme, _orgs = proef
    energy = db.session.scalar(sa.select(Cluster).where(Cluster.name == "Energietransitie"))
    energy.deleted_at = dt.datetime(2026, 4, 1, tzinfo=UTC)
    db.session.flush()
    shares = programme_progress(programme, today=TODAY).clusters
    assert "Energietransitie" not in [c.label for c in shares]
    assert [(c.label, c.counted) for c in shares][0] == ("Bouw & installatie", 1)
    assert shares[-1].label == "Geen cluster" and shares[-1].counted == 4


def test_unapproached_smes_biggest_first(proef):
    programme, o = proef
    page = unapproached_smes(programme, per_page=50)
    assert [r.name for r in page.items] == [
        "U1 Grootste", "U6 Dochter klein", "U6b Dochter vaag", "U3 Balans", "U9 Inactief",
        "Alfa", "Beta", "J Geïdentificeerd", "U17 Elders benaderd"]
    assert not page.has_next
    rows = {r.name: r for r in page.items}
    assert (rows["U1 Grootste"].kvk_number, rows["U1 Grootste"].employees,
            rows["U1 Grootste"].municipality, rows["U1 Grootste"].cluster) == (
        "24924924", 249, "Dordrecht", "Maritieme maakindustrie")
    assert rows["U3 Balans"].municipality == "Zwijndrecht"
    assert [r.name for r in page.items if r.identified] == ["J Geïdentificeerd"]
    assert [r.name for r in page.items if not r.unverified] == [
        "U6 Dochter klein", "U3 Balans", "U9 Inactief"]


def test_unapproached_pages_forward_and_back(proef):
    programme, o = proef
    names = lambda page: [r.name for r in page.items]  # noqa: E731
    first = unapproached_smes(programme, per_page=3)
    assert names(first) == ["U1 Grootste", "U6 Dochter klein", "U6b Dochter vaag"]
    assert (first.has_prev, first.has_next) == (False, True)
    second = unapproached_smes(programme, per_page=3, after=first.last_id)
    assert names(second) == ["U3 Balans", "U9 Inactief", "Alfa"]  # Alfa before Beta: both 50
    third = unapproached_smes(programme, per_page=3, after=second.last_id)
    assert names(third) == ["Beta", "J Geïdentificeerd", "U17 Elders benaderd"]
    assert (third.has_prev, third.has_next) == (True, False)
    back = unapproached_smes(programme, per_page=3, before=third.first_id)
    assert names(back) == names(second) and (back.has_prev, back.has_next) == (True, True)
    back = unapproached_smes(programme, per_page=3, before=back.first_id)
    assert names(back) == names(first) and (back.has_prev, back.has_next) == (False, True)
    # An unknown cursor starts at the top.
    assert names(unapproached_smes(programme, per_page=3, after=999_999_999)) == names(first)


def test_a_group_deeper_than_the_sql_looks_is_caught_on_the_page(proef, make_org):
    programme, o = proef
    parent = db.session.scalar(sa.select(type(o["A"])).where(type(o["A"]).name == "Grote Groep"))
    for level in range(1, 6):  # five levels below a group that is not an SME
        parent = make_org(name=f"Laag {level}", city="Rotterdam" if level < 5 else "Dordrecht",
                          employees=245, parent_id=parent.id)
    page = unapproached_smes(programme, per_page=3)
    assert "Laag 5" not in [r.name for r in page.items]
    # It passed the SQL (four levels), so this page is one row short; the next goes on.
    assert [r.name for r in page.items] == ["U1 Grootste", "U6 Dochter klein"]
    assert page.has_next
    assert [r.name for r in unapproached_smes(programme, per_page=3, after=page.last_id).items] \
        == ["U6b Dochter vaag", "U3 Balans", "U9 Inactief"]


def test_unapproached_sql_agrees_with_the_sme_rule(make_org, make_user):
    """Every combination at the edges of DESIGN 4.1, as SQL and as sme.py, gives one answer."""
    from sdd_crm.programmes.counting import _load_orgs
    from sdd_crm.programmes.sme import sme_status

    admin = make_user("admin")
    programme = Programme(code="rand", name="Randgevallen")
    programme.municipalities = [db.session.get(Municipality, "GM0505")]
    db.session.add(programme)
    db.session.flush()
    m = 1_000_000
    ids = []
    for org_type in ("company", "other"):
        for employees in (None, 0, 249, 250):
            for turnover in (None, 50 * m, 50 * m + 1):
                for balance in (None, 43 * m, 43 * m + 1):
                    parent = make_org(actor=admin, name=f"Groep {len(ids)}", city="Rotterdam",
                                      org_type=org_type, employees=employees,
                                      annual_turnover_eur=turnover,
                                      balance_sheet_total_eur=balance)
                    child = make_org(actor=admin, name=f"Dochter {len(ids)}", employees=10,
                                     parent_id=parent.id)
                    alone = make_org(actor=admin, name=f"Los {len(ids)}", org_type=org_type,
                                     employees=employees, annual_turnover_eur=turnover,
                                     balance_sheet_total_eur=balance)
                    ids += [child.id, alone.id]
    loop_a = make_org(actor=admin, name="Kring A", employees=5)
    loop_b = make_org(actor=admin, name="Kring B", employees=5, parent_id=loop_a.id)
    loop_a.parent_id = loop_b.id
    db.session.commit()
    ids += [loop_a.id, loop_b.id]
    facts = _load_orgs(set(ids))
    expected = {i for i in ids if sme_status(facts[i].size, lambda j: facts[j].size).counts}
    listed = {r.id for r in unapproached_smes(programme, per_page=1000).items}
    assert listed == expected
    # Alone: 2 employee counts (0, 249) × 6 of 9 figure pairs. Children of company groups: 9 with
    # the group's employees unknown, 2 × 6 under an SME group. Plus the two in a loop.
    assert len(expected) == 2 * 6 + 9 + 2 * 6 + 2


# --- the pages ------------------------------------------------------------------------------

def _table(body: str, name: str) -> list[list[str]]:
    """The rows of ``<table data-table=name>``, each a list of cell texts."""
    table = re.search(rf'<table[^>]*data-table="{name}".*?</table>', body, re.S).group(0)
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    cells = [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
             for r in rows]
    return [[re.sub(r"\s+", " ", c) for c in row] for row in cells]


@pytest.mark.parametrize("role", ROLES)
def test_page_shows_the_same_numbers_to_every_role(proef, role, client, login, make_user,
                                                   monkeypatch):
    programme, _o = proef
    monkeypatch.setattr(progress_module, "local_today", lambda: TODAY)
    login(make_user(role))
    resp = client.get("/programmes/proef/progress")
    assert resp.status_code == 200
    assert_good_markup(resp)
    body = text(resp)
    assert "5 van 20 mkb-bedrijven geteld (25%)." in body
    assert '<progress id="progress-bar" class="app-progress" max="20" value="5">' in body
    assert ("Om het streefaantal op 31 dec. 2026 te halen zijn vanaf nu 2 mkb-bedrijven per maand "
            "nodig: nog 15 in 8,5 maanden.") in body
    assert "vendor/chart.umd.min.js" in body and "//cdn" not in body.lower() and "https://" not in body.lower()
    series = _table(body, "series")
    assert series[0] == ["Maand", "Nieuw geteld", "Geteld (totaal)", "Streeflijn"]
    assert series[1:5] == [["januari 2026", "2", "2", "2"], ["februari 2026", "1", "3", "3"],
                           ["maart 2026", "1", "4", "5"], ["april 2026", "1", "5", "7"]]
    assert series[-1] == ["december 2026", "—", "—", "20"]
    assert _table(body, "funnel")[1:] == [
        ["Geïdentificeerd", "1", "13", "—"], ["Benaderd", "2", "12", "92%"],
        ["Geïnteresseerd", "1", "10", "83%"], ["Neemt deel", "8", "9", "90%"],
        ["Afgerond", "1", "1", "11%"], ["Afgehaakt", "1", "—", "—"], ["Totaal", "14", ""]]
    assert _table(body, "municipalities")[1:] == [
        ["Dordrecht", "4"], ["Papendrecht", "0"], ["Zwijndrecht", "1"], ["Totaal", "5"]]
    assert _table(body, "clusters")[-2:] == [["Geen cluster", "2"], ["Totaal", "5"]]
    unapproached = _table(body, "unapproached")
    assert [r[0] for r in unapproached[1:4]] == [
        "U1 Grootste cijfers niet gecontroleerd", "U6 Dochter klein",
        "U6b Dochter vaag cijfers niet gecontroleerd"]
    assert unapproached[1][1:] == ["24924924", "Dordrecht", "249", "Maritieme maakindustrie",
                                   "nog niet"]
    assert len(unapproached) == 1 + 9
    # The chart data are the table's numbers.
    import json

    data = json.loads(re.search(r'id="chart-series">(.*?)</script>', body, re.S).group(1))
    assert data["datasets"][0]["data"][:5] == [2, 3, 4, 5, None]
    assert data["datasets"][1]["data"] == [2, 3, 5, 7, 8, 10, 12, 13, 15, 17, 18, 20]


def test_page_query_count_is_fixed(proef, client, login, make_user, make_org, count_queries,
                                   monkeypatch):
    monkeypatch.setattr(progress_module, "local_today", lambda: TODAY)
    login(make_user("viewer"))
    with count_queries() as q:
        assert client.get("/programmes/proef/progress").status_code == 200
    # user, programme (+ targets, municipalities), the kept tally (programmes/tally.py: count,
    # funnel, municipalities, counted per day), clusters, not yet approached (+ one level of
    # groups), unread notifications.
    assert q.count == 9, "\n".join(q.statements)
    # Fifteen more counted SMEs (with events and clusters) and more candidates: no more queries.
    programme, o = proef
    energy = db.session.scalar(sa.select(Cluster).where(Cluster.name == "Energietransitie"))
    for i in range(15):
        org = make_org(name=f"Extra {i}", employees=3 + i)
        p = Participation(programme_id=programme.id, organisation_id=org.id,
                          status="participating")
        db.session.add(p)
        db.session.flush()
        db.session.add(ParticipationEvent(participation_id=p.id, from_status=None,
                                          to_status="participating",
                                          at=dt.datetime(2026, 3, 1 + i, tzinfo=UTC)))
        db.session.add(OrganisationCluster(organisation_id=org.id, cluster_id=energy.id,
                                           is_primary=True))
        make_org(name=f"Kandidaat {i}", employees=100 + i)
    db.session.commit()
    with count_queries() as q:
        body = text(client.get("/programmes/proef/progress"))
    assert "20 van 20 mkb-bedrijven geteld (100%)." in body
    assert q.count == 9, "\n".join(q.statements)


def test_unapproached_list_page(proef, client, login, make_user, count_queries, app):
    programme, o = proef
    login(make_user("viewer"))
    with count_queries() as q:
        resp = client.get("/programmes/proef/progress/unapproached")
    assert resp.status_code == 200
    assert_good_markup(resp)
    rows = _table(text(resp), "unapproached")
    assert len(rows) == 1 + 9 and rows[1][0].startswith("U1 Grootste")
    # user, programme (+ municipalities, targets), one page, its groups, unread notifications
    assert q.count == 7, "\n".join(q.statements)
    app.config["PAGE_SIZE"], size = 4, app.config["PAGE_SIZE"]
    try:
        body = text(client.get("/programmes/proef/progress/unapproached"))
        after = re.search(r'href="([^"]*after=\d+)"', body).group(1)
        body = text(client.get(after))
        assert [r[0].split(" cijfers")[0] for r in _table(body, "unapproached")[1:]] == [
            "U9 Inactief", "Alfa", "Beta", "J Geïdentificeerd"]
        before = re.search(r'href="([^"]*before=\d+)"', body).group(1)
        assert _table(text(client.get(before)), "unapproached")[1][0].startswith("U1 Grootste")
    finally:
        app.config["PAGE_SIZE"] = size
    for bad in ("after=x", "before=-1", "after=99999999999999999999", "after=1&before=2"):
        assert client.get(f"/programmes/proef/progress/unapproached?{bad}").status_code == 200


def test_programme_without_dates_or_target(client, login, make_user, make_org):
    programme = Programme(code="los", name="Los programma")
    programme.municipalities = [db.session.get(Municipality, "GM0505")]
    db.session.add(programme)
    db.session.commit()
    login(make_user("business_developer"))
    body = text(client.get("/programmes/los/progress"))
    assert "Het programma heeft geen streefaantal." in body
    assert "Er is nog niets geteld en het programma heeft geen begindatum" in body
    assert "Dit programma heeft nog geen deelnames." in body
    assert "<progress" not in body
    org = make_org(name="Enige", employees=3)
    db.session.add(Participation(programme_id=programme.id, organisation_id=org.id,
                                 status="participating",
                                 status_changed_at=dt.datetime(2026, 2, 3, 12, tzinfo=UTC)))
    db.session.commit()
    body = text(client.get("/programmes/los/progress"))
    assert "1 mkb-bedrijf geteld." in body
    assert "Er is geen streeflijn" in body
    assert "Het programma heeft geen streefaantal." in body


def test_unknown_or_deleted_programme_is_404_and_anonymous_must_sign_in(proef, client, login,
                                                                        make_user):
    programme, _o = proef
    resp = client.get("/programmes/proef/progress")
    assert resp.status_code in (302, 401)
    login(make_user("viewer"))
    assert client.get("/programmes/bestaat-niet/progress").status_code == 404
    assert client.get("/programmes/bestaat-niet/progress/unapproached").status_code == 404
    programme.deleted_at = dt.datetime(2026, 4, 1, tzinfo=UTC)
    db.session.commit()
    assert client.get("/programmes/proef/progress").status_code == 404


def test_english_user_gets_english_month_names(proef, client, login, make_user, monkeypatch):
    monkeypatch.setattr(progress_module, "local_today", lambda: TODAY)
    login(make_user("viewer", locale="en"))
    series = _table(text(client.get("/programmes/proef/progress")), "series")
    assert [row[0] for row in series[1:4]] == ["January 2026", "February 2026", "March 2026"]
