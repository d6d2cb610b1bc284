"""The kept programme counts (programmes/tally.py) equal the rule evaluated afresh
(``counting.count_programme``) after every kind of change, on SQLite and PostgreSQL.

After each change the check compares, for the programme: the counted total, the unverified,
the exclusions per reason and the count per municipality; every participation's verdict (whom
it counts for, whether it counts, why not, its SME status); the pipeline per status (live
participations of live organisations); the date each counted one was counted; and finally that
counting the programme afresh (``tally.recount``) writes exactly the rows the upkeep kept.
Changes are committed before the check, so it is the upkeep at the commit that is checked (a
reader settles what is not committed yet; one test checks that too).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
import sqlalchemy as sa

from sdd_crm.extensions import db
from sdd_crm.organisations.merge import merge_organisations
from sdd_crm.organisations.models import Organisation
from sdd_crm.organisations.services import (delete_organisation, restore_organisation,
                                            update_organisation)
from sdd_crm.programmes import tally
from sdd_crm.programmes.admin_services import update_programme
from sdd_crm.programmes.counting import count_programme, counted_since
from sdd_crm.programmes.models import (Participation, ParticipationEvent, ParticipationVerdict,
                                       Programme, ProgrammeTally)
from sdd_crm.programmes.services import (add_participation, bulk_add, delete_participation,
                                         restore_participation, update_participation)
from sdd_crm.transaction import attempt

from import_support import KVK_HEADERS, csv_bytes, kvk_row, run_import

V, T = ParticipationVerdict, ProgrammeTally


def _scale() -> Programme:
    return db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))


def _snapshot(programme_id: int):
    verdicts = sorted(tuple(r) for r in db.session.execute(
        sa.select(V.participation_id, V.programme_id, V.organisation_id, V.survivor_id, V.status,
                  V.live, V.counts, V.reason, V.sme, V.municipality_code,
                  V.own_municipality_code, V.counted_at, V.counted_on)
        .where(V.programme_id == programme_id)))
    tallies = sorted(tuple(r) for r in db.session.execute(
        sa.select(T.kind, T.key, T.n).where(T.programme_id == programme_id, T.n != 0)))
    return verdicts, tallies


def assert_kept(programme: Programme, *, committed: bool = True) -> None:
    """The kept figures of ``programme`` are those of the rule evaluated afresh."""
    if committed:  # the commit settled everything: nothing is left for a reader to do
        assert not tally._state(db.session).pending
    kept_rows = _snapshot(programme.id)  # before any reader could settle
    fresh = count_programme(programme)
    kept = tally.tally(programme)
    if committed:
        assert _snapshot(programme.id) == kept_rows, "a reader had to repair the kept rows"
    assert (kept.count.target, kept.count.counted, kept.count.unverified, kept.count.excluded,
            kept.count.by_municipality) == (fresh.target, fresh.counted, fresh.unverified,
                                            fresh.excluded, fresh.by_municipality)
    stored = {r.participation_id: (r.survivor_id, r.counts, r.reason, r.sme)
              for r in db.session.scalars(sa.select(V).where(V.programme_id == programme.id))}
    assert stored == {v.participation_id: (v.organisation_id, v.counts,
                                           str(v.reason) if v.reason else None,
                                           str(v.sme) if v.sme else None)
                      for v in fresh.verdicts}
    # The pipeline's funnel: all, those that count or not, per municipality.
    counts = {v.participation_id: v.counts for v in fresh.verdicts}
    rows = db.session.execute(
        sa.select(Participation.id, Participation.status, Organisation.municipality_code)
        .join(Organisation, Organisation.id == Participation.organisation_id)
        .where(Participation.programme_id == programme.id, Participation.deleted_at.is_(None),
               Organisation.deleted_at.is_(None))).all()

    def per_status(selected):
        return dict(Counter(r.status for r in selected))

    assert kept.statuses == per_status(rows)
    assert kept.funnel(counted=True) == per_status(r for r in rows if counts[r.id])
    assert {s: n for s, n in kept.funnel(counted=False).items() if n} == per_status(
        r for r in rows if not counts[r.id])
    for code in {r.municipality_code for r in rows} | {"GM0505"}:
        assert kept.funnel(municipality=code) == per_status(
            r for r in rows if r.municipality_code == code)
    counting = [v.participation_id for v in fresh.verdicts if v.counts]
    since = counted_since(counting)
    changed = dict(db.session.execute(sa.select(Participation.id, Participation.status_changed_at)
                                      .where(Participation.id.in_(counting))).all())
    moments = {pid: since.get(pid) or changed[pid] for pid in counting}
    assert dict(db.session.execute(sa.select(V.participation_id, V.counted_at).where(
        V.programme_id == programme.id, V.counts.is_(True))).all()) == moments
    local = tally.zone()
    assert kept.counted_dates() == sorted(m.astimezone(local).date() for m in moments.values())
    # Counting afresh writes exactly what the upkeep kept.
    before = _snapshot(programme.id)
    tally.recount([programme.id])
    assert _snapshot(programme.id) == before


@pytest.fixture
def people(make_user):
    return {"admin": make_user("admin"), "bd": make_user("business_developer")}


@pytest.fixture
def orgs(make_org, people):
    admin = people["admin"]
    o = {}
    o["group"] = make_org(actor=admin, name="Groep", city="Rotterdam", employees=100,
                          annual_turnover_eur=20_000_000)
    o["a"] = make_org(actor=admin, name="Alfa", city="Dordrecht", employees=10,
                      annual_turnover_eur=1_000_000, kvk_number="11111111")
    o["b"] = make_org(actor=admin, name="Bravo", city="Sliedrecht", employees=200)
    o["c"] = make_org(actor=admin, name="Charlie", city="Gorinchem", employees=5)
    o["d"] = make_org(actor=admin, name="Delta", city="Dordrecht")  # employees unknown
    o["e"] = make_org(actor=admin, name="Echo", city="Papendrecht", employees=20,
                      parent_id=o["group"].id)
    o["f"] = make_org(actor=admin, name="Foxtrot", city="Dordrecht", employees=30)
    o["g"] = make_org(actor=admin, name="Foxtrot B.V.", city="Dordrecht", employees=30)
    o["h"] = make_org(actor=admin, name="Hotel", city="Zwijndrecht", employees=3)
    return o


def test_kept_counts_follow_every_kind_of_change(people, orgs):
    admin, bd = people["admin"], people["bd"]
    scale = _scale()
    o = orgs
    assert_kept(scale)

    # Added: counting and not, in and outside the region.
    parts = {key: add_participation(scale, o[key].id, actor=bd, status=status)
             for key, status in [("a", "participating"), ("b", "completed"),
                                 ("c", "participating"), ("d", "participating"),
                                 ("e", "completed"), ("f", "participating"),
                                 ("g", "interested"), ("h", "identified")]}
    db.session.commit()
    assert_kept(scale)
    assert tally.tally(scale).count.counted == 4  # a, b (unverified), e, f

    # Moved along the pipeline, out of it, and back.
    update_participation(parts["h"], actor=bd, expected_version=None, status="completed")
    update_participation(parts["g"], actor=bd, expected_version=None, status="participating")
    db.session.commit()
    assert_kept(scale)
    update_participation(parts["a"], actor=bd, expected_version=None, status="declined")
    db.session.commit()
    assert_kept(scale)
    update_participation(parts["a"], actor=bd, expected_version=None, status="approached")
    db.session.commit()
    assert_kept(scale)

    # Deleted and restored.
    delete_participation(parts["b"], actor=bd)
    db.session.commit()
    assert_kept(scale)
    restore_participation(parts["b"], actor=bd)
    db.session.commit()
    assert_kept(scale)

    # The organisation's size (employees, turnover), type, municipality, status.
    update_organisation(o["b"], {"employees": 300}, actor=admin, partial=True)
    db.session.commit()
    assert_kept(scale)
    update_organisation(o["b"], {"employees": 40, "annual_turnover_eur": "60000000"},
                        actor=admin, partial=True)
    db.session.commit()
    assert_kept(scale)
    update_organisation(o["h"], {"org_type": "education"}, actor=admin, partial=True)
    db.session.commit()
    assert_kept(scale)
    update_organisation(o["c"], {"municipality": "GM0505"}, actor=admin, partial=True)
    db.session.commit()
    assert_kept(scale)
    update_organisation(o["f"], {"status": "dissolved"}, actor=admin, partial=True)
    db.session.commit()
    assert_kept(scale)

    # The group of a participant (it has no participation itself) outgrows the SME ceilings.
    update_organisation(o["group"], {"employees": 900}, actor=admin, partial=True)
    db.session.commit()
    assert_kept(scale)
    update_organisation(o["e"], {"parent_id": None}, actor=admin, partial=True)
    db.session.commit()
    assert_kept(scale)

    # Soft delete and restore of an organisation.
    delete_organisation(o["g"], actor=admin)
    db.session.commit()
    assert_kept(scale)
    restore_organisation(o["g"], actor=admin)
    db.session.commit()
    assert_kept(scale)

    # A merge through the service, and a merged record whose participation stays (duplicate).
    merge_organisations(o["g"], o["f"], actor=admin)
    db.session.commit()
    assert_kept(scale)
    o["d"].merged_into_id = o["a"].id
    update_participation(parts["a"], actor=bd, expected_version=None, status="participating")
    db.session.commit()
    assert_kept(scale)
    assert tally.tally(scale).count.excluded.get("duplicate") == 1
    # The survivor's size decides for the record merged into it too.
    update_organisation(o["a"], {"employees": 300}, actor=admin, partial=True)
    db.session.commit()
    assert_kept(scale)
    assert tally.tally(scale).count.excluded.get("not_sme") >= 2
    update_organisation(o["a"], {"employees": 12}, actor=admin, partial=True)
    db.session.commit()
    assert_kept(scale)

    # A status event written on its own (as a data repair would): the counted date follows.
    db.session.add(ParticipationEvent(participation_id=parts["e"].id, from_status="declined",
                                      to_status="completed",
                                      at=dt.datetime(2030, 3, 2, 9, tzinfo=dt.UTC)))
    db.session.commit()
    assert_kept(scale)
    assert dt.date(2030, 3, 2) in tally.tally(scale).counted_dates()

    # A region that no longer holds Sliedrecht.
    codes = [m.code for m in scale.municipalities if m.code != "GM0610"]
    update_programme(scale, {"municipalities": codes}, actor=admin,
                     expected_version=scale.version, partial=True)
    db.session.commit()
    assert_kept(scale)

    # Many at once.
    more = [o[k].id for k in ("b", "c", "e", "h")]
    others = db.session.scalar(sa.select(Programme).where(Programme.code == "regio-deal"))
    bulk_add(others, more, actor=bd, status="participating")
    db.session.commit()
    assert_kept(scale)
    assert_kept(others)

    # A merge whose merged record is further along (completed beats participating): the two
    # participations swap state and events, so the survivor's row takes the counted date.
    merge_organisations(o["c"], o["h"], actor=admin)
    db.session.commit()
    assert_kept(scale)
    assert_kept(others)


def test_a_core_update_past_the_orm_recounts(people, orgs):
    scale, bd = _scale(), people["bd"]
    add_participation(scale, orgs["a"].id, actor=bd, status="participating")
    db.session.commit()
    assert tally.tally(scale).count.counted == 1
    # As the purge or a bulk update does: no flush sees it, the statement is marked stale.
    db.session.execute(sa.update(Organisation).where(Organisation.id == orgs["a"].id)
                       .values(employees=400))
    db.session.commit()
    assert_kept(scale)
    assert tally.tally(scale).count.counted == 0
    # A column the rule does not read leaves the count alone (no recount).
    db.session.execute(sa.update(Organisation).where(Organisation.id == orgs["a"].id)
                       .values(last_contact_on=dt.date(2026, 1, 5)))
    assert not tally._state(db.session).pending
    db.session.execute(sa.delete(ParticipationEvent))
    assert tally._state(db.session).pending.everything
    db.session.commit()
    assert_kept(scale)


def test_an_import_updates_the_kept_count(people, orgs):
    scale, bd = _scale(), people["bd"]
    add_participation(scale, orgs["a"].id, actor=bd, status="participating")
    db.session.commit()
    assert tally.tally(scale).count.counted == 1
    summary = run_import(csv_bytes(KVK_HEADERS, [kvk_row("Alfa", "11111111", employees="300")]))
    assert summary["updated"] == 1, summary
    assert db.session.get(Organisation, orgs["a"].id).employees == 300
    assert_kept(scale)
    assert tally.tally(scale).count.excluded == {"not_sme": 1}


def test_a_reader_settles_what_is_not_committed_yet_and_a_savepoint_rollback(people, orgs):
    scale, bd = _scale(), people["bd"]
    p = add_participation(scale, orgs["a"].id, actor=bd, status="interested")
    q = add_participation(scale, orgs["f"].id, actor=bd, status="interested")
    db.session.commit()
    update_participation(p, actor=bd, expected_version=None, status="participating")
    # Not committed: the reader brings the kept figures up to date within the transaction.
    assert tally.tally(scale).count.counted == 1
    assert_kept(scale, committed=False)
    # A change not yet settled, then a savepoint in which a reader settles it and another one,
    # rolled back: the first change is settled again at the commit.
    update_participation(q, actor=bd, expected_version=None, status="participating")
    with pytest.raises(RuntimeError):
        with attempt():
            update_organisation(orgs["a"], {"employees": 500}, actor=people["admin"], partial=True)
            assert tally.tally(scale).count.counted == 1  # f counts, a no longer
            raise RuntimeError("refused")
    db.session.commit()
    assert_kept(scale)
    assert tally.tally(scale).count.counted == 2


def test_a_programme_never_counted_is_counted_by_its_first_reader(client, login, people, orgs):
    scale, bd = _scale(), people["bd"]
    add_participation(scale, orgs["a"].id, actor=bd, status="participating")
    db.session.commit()
    db.session.execute(sa.delete(V))
    db.session.execute(sa.delete(T))
    db.session.commit()
    login(people["admin"])
    assert client.get("/programmes/").status_code == 200
    assert db.session.scalar(sa.select(T.n).where(T.programme_id == scale.id, T.kind == "kept"))
    assert_kept(scale)


def test_recount_command_and_a_bulk_seed(app, runner, people):
    result = runner.invoke(args=["seed", "synthetic", "--organisations", "400",
                                 "--interactions", "0", "--no-criticality"])
    assert result.exit_code == 0, result.output
    scale = _scale()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Participation).where(
        Participation.programme_id == scale.id)) > 0
    assert_kept(scale)
    # Rows written with raw SQL are invisible to the upkeep; the command rebuilds the count.
    db.session.execute(sa.text("UPDATE programme_tally SET n = n + 7 WHERE kind = 'counted'"))
    db.session.commit()
    result = runner.invoke(args=["programmes", "recount"])
    assert result.exit_code == 0, result.output
    assert "opnieuw geteld" in result.output
    assert_kept(scale)
