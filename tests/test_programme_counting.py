"""DESIGN 4.1 and 4.2 with exact expectations, edges included, on SQLite and PostgreSQL."""

import decimal

import pytest
import sqlalchemy as sa

from sdd_crm.extensions import db
from sdd_crm.programmes.counting import count_programme
from sdd_crm.programmes.models import Participation, Programme
from sdd_crm.programmes.sme import SizeFacts, SmeStatus, own_status, sme_status

M = decimal.Decimal(1_000_000)


@pytest.mark.parametrize(
    "org_type, employees, turnover, balance, expected",
    [
        ("company", 249, None, None, SmeStatus.SME_UNVERIFIED),
        ("company", 250, None, None, SmeStatus.NOT_SME),
        ("company", 249, 50 * M, None, SmeStatus.SME),
        ("company", 249, 50 * M + 1, None, SmeStatus.NOT_SME),
        ("company", 249, None, 43 * M, SmeStatus.SME),
        ("company", 249, None, 43 * M + 1, SmeStatus.NOT_SME),
        ("company", 249, 50 * M + 1, 43 * M, SmeStatus.SME),  # turnover OR balance sheet
        ("company", 249, 50 * M, 43 * M + 1, SmeStatus.SME),
        ("company", 249, 50 * M + 1, 43 * M + 1, SmeStatus.NOT_SME),
        ("company", 0, None, None, SmeStatus.SME_UNVERIFIED),
        ("company", None, 1 * M, 1 * M, SmeStatus.EMPLOYEES_UNKNOWN),
        ("education", 20, 1 * M, 1 * M, SmeStatus.NOT_COMPANY),
        ("government", 20, None, None, SmeStatus.NOT_COMPANY),
    ],
)
def test_own_sme_status(org_type, employees, turnover, balance, expected):
    assert own_status(SizeFacts(1, org_type, employees, turnover, balance)) == expected


def test_group_test():
    big = SizeFacts(1, "company", 800, 200 * M, 150 * M)
    public = SizeFacts(2, "government", 5000, None, None)
    small_group = SizeFacts(3, "company", 100, 20 * M, None)
    unknown_group = SizeFacts(4, "company", None, None, None)
    facts = {f.id: f for f in (big, public, small_group, unknown_group)}
    child = lambda parent: SizeFacts(10, "company", 20, 2 * M, None, parent)  # noqa: E731
    assert sme_status(child(1), facts.get) == SmeStatus.GROUP_NOT_SME
    assert sme_status(child(2), facts.get) == SmeStatus.GROUP_NOT_SME
    assert sme_status(child(3), facts.get) == SmeStatus.SME
    assert sme_status(child(4), facts.get) == SmeStatus.SME_UNVERIFIED
    # The group test looks all the way up, and survives a cycle in bad data.
    grandchild = SizeFacts(11, "company", 5, None, 1 * M, 10)
    assert sme_status(grandchild, {**facts, 10: child(1)}.get) == SmeStatus.GROUP_NOT_SME
    loop = {20: SizeFacts(20, "company", 5, 1 * M, None, 21), 21: SizeFacts(21, "company", 5, 1 * M, None, 20)}
    assert sme_status(loop[20], loop.get) == SmeStatus.SME


@pytest.fixture
def scale():
    return db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))


def _participate(programme, org, status="participating"):
    p = Participation(programme_id=programme.id, organisation_id=org.id, status=status)
    db.session.add(p)
    db.session.flush()
    return p


def test_scale_count_covers_every_clause(scale, make_org, make_user):
    admin = make_user("admin")
    org = lambda **kw: make_org(actor=admin, **kw)  # noqa: E731
    counted = [
        org(name="A", city="Dordrecht", employees=249, annual_turnover_eur=50_000_000),
        org(name="B", city="Sliedrecht", employees=249, balance_sheet_total_eur=43_000_000),
        org(name="C", city="Papendrecht", employees=10),  # unverified
        org(name="D", city="Heerjansdam", employees=3, annual_turnover_eur=100_000),  # Zwijndrecht
    ]
    big_group = org(name="Groep", city="Rotterdam", employees=900, annual_turnover_eur=400_000_000)
    excluded = {
        "status": org(name="E", city="Dordrecht", employees=5),
        "outside_region": org(name="F", city="Gorinchem", employees=5),
        "not_sme": org(name="G", city="Dordrecht", employees=250),
        "not_sme_money": org(name="G2", city="Dordrecht", employees=20,
                             annual_turnover_eur=50_000_001, balance_sheet_total_eur=43_000_001),
        "employees_unknown": org(name="H", city="Dordrecht"),
        "not_company": org(name="I", city="Dordrecht", org_type="education", employees=40),
        "group_not_sme": org(name="J", city="Dordrecht", employees=30, parent_id=big_group.id),
        "dissolved": org(name="K", city="Dordrecht", employees=8, status="dissolved"),
    }
    for o in counted:
        _participate(scale, o, "participating" if o.name != "B" else "completed")
    for key, o in excluded.items():
        _participate(scale, o, "interested" if key == "status" else "completed")
    # A duplicate merged into A counts once, for A.
    dup = org(name="A (dubbel)", city="Dordrecht", employees=249)
    dup.merged_into_id = counted[0].id
    _participate(scale, dup)
    # Another programme's participation never counts here.
    other = db.session.scalar(sa.select(Programme).where(Programme.code == "regio-deal"))
    _participate(other, excluded["outside_region"])
    db.session.commit()

    result = count_programme(scale)
    assert result.target == 1000
    assert result.counted == 4
    assert result.unverified == 1
    assert result.excluded == {
        "status": 1, "outside_region": 1, "not_sme": 2, "employees_unknown": 1,
        "not_company": 1, "group_not_sme": 1, "dissolved": 1, "duplicate": 1,
    }
    assert result.by_municipality == {"GM0505": 1, "GM0590": 1, "GM0610": 1, "GM0642": 1}
    dup_verdict = next(v for v in result.verdicts if not v.counts and v.reason == "duplicate")
    assert dup_verdict.organisation_id == counted[0].id


def test_counted_since_is_the_last_move_into_a_counting_status(scale, make_org):
    import datetime as dt

    from sdd_crm.programmes.counting import counted_since
    from sdd_crm.programmes.models import ParticipationEvent

    t = [dt.datetime(2026, m, 1, 9, tzinfo=dt.UTC) for m in range(1, 7)]
    moves = {
        1: [(None, "identified", t[0]), ("identified", "participating", t[1]),
            ("participating", "completed", t[2])],                     # completed keeps t[1]
        2: [(None, "approached", t[0]), ("approached", "declined", t[1])],  # never counted
        3: [(None, "participating", t[0]), ("participating", "declined", t[1]),
            ("declined", "approached", t[2]), ("approached", "participating", t[4])],  # again: t[4]
        4: [(None, "participating", t[0]), ("participating", "declined", t[3])],  # out again
    }
    ids = [_participate(scale, make_org(name=f"Org {i}")).id for i in range(len(moves))]
    for pid, steps in zip(ids, moves.values(), strict=True):
        for frm, to, at in steps:
            db.session.add(ParticipationEvent(participation_id=pid, from_status=frm, to_status=to, at=at))
    db.session.flush()
    since = counted_since(ids)
    assert since == {ids[0]: t[1], ids[2]: t[4]}
    assert counted_since([]) == {}
