"""The count of DESIGN 4.2 kept as aggregates, current at every commit (issue 12).

Evaluating the rule over every participation on every request (``counting.count_programme``)
cost 0.6–2.5 s per page at 10,000 participations. Instead two tables hold its result:

* ``participation_verdict``: the verdict on each live participation (counts or not and why,
  whom it counts for, the survivor's municipality, when it was counted), so the pipeline can
  filter on "counts" and a page shows its verdicts with one indexed read;
* ``programme_tally``: per programme the numbers — counted, unverified, excluded per reason,
  counted per municipality and per day, and the pipeline's funnel (live participations per
  status: all, those that count, per municipality) — so a page reads a few dozen rows.

**Kept in the same transaction as the change.** An ORM flush that touches what a verdict depends
on marks it: a participation (added, moved, deleted, restored, moved to another organisation by
a merge), a status event, an organisation's size, type, municipality, group (parent), status,
deletion or merge, a programme's region (or a new programme). Before the transaction commits (and before any reader
of the kept figures reads within it), :func:`settle` evaluates the rule again — the same
``counting.evaluate`` — over every participation whose verdict can have changed: those of the
marked organisations' subsidiaries (any depth: the group test looks up the parent chain), of
every record merged into the same survivor (the duplicate test), in every programme. It writes
the verdicts that changed and adjusts the tallies by the difference. That set is complete, so
the kept figures equal a fresh ``count_programme`` after every commit (tests/test_programme_tally.py
checks it after each kind of change, on SQLite and PostgreSQL).

**Writes past the ORM.** A Core INSERT, UPDATE or DELETE through the session on the tables the
rule reads (the purge, a bulk update) cannot say which rows it touched: it marks *everything*,
and the kept programmes are counted afresh before the commit (about a second at 20,000
participations). An UPDATE that sets only columns the rule does not read (``last_contact_on``,
criticality) is ignored. Raw SQL is not seen at all: the import writes organisations with raw
SQL and announces their ids (``signals.organisations_written``); ``flask seed synthetic``
inserts by COPY on PostgreSQL and counts afresh at its end; ``flask programmes recount``
rebuilds everything by hand (after a restore, or anything written past the application).

**Never counted.** A programme without its ``kept`` row (a database migrated from before these
tables) is counted afresh by its first reader, inside that request.

**Where.** ``tally_marks`` collects what changed, ``tally_upkeep`` settles it and counts afresh;
this module reads the kept figures (and re-exports the rest, the one name features use).

**Concurrency.** On PostgreSQL the upkeep takes a transaction-scoped advisory lock before it
reads, so two transactions changing the same merged family settle one after the other and the
second reads what the first committed (READ COMMITTED). SQLite has one writer at a time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from ..extensions import db
from .counting import ProgrammeCount, Reason, Verdict
from .models import Participation, ParticipationVerdict, ProgrammeTally, TargetKind
from .sme import SmeStatus
from .tally_marks import MARKED, _state, mark_everything, mark_organisations, mark_participations
from .tally_upkeep import recount, recount_all, register, settle, zone

__all__ = ["MARKED", "Tally", "counted_condition", "counted_organisations", "mark_everything",
           "mark_organisations", "mark_participations", "recount", "recount_all", "register",
           "settle", "tallies", "tally", "verdicts_for", "zone"]

V = ParticipationVerdict
T = ProgrammeTally


@dataclass
class Tally:
    """A programme's kept figures."""

    count: ProgrammeCount  # without verdicts (read them with ``verdicts_for``)
    statuses: dict[str, int]  # live participations of live organisations, per status
    counted_statuses: dict[str, int]  # of those, the ones that count
    municipality_statuses: dict[str, dict[str, int]]  # per own organisation's CBS code
    counted_days: dict[dt.date, int]  # counted organisations per local date they were counted

    def counted_dates(self) -> list[dt.date]:
        """The local date each counted organisation was counted (one entry each)."""
        return [day for day, n in sorted(self.counted_days.items()) for _i in range(n)]

    @property
    def participations(self) -> int:
        return sum(self.statuses.values())

    def funnel(self, *, municipality: str | None = None, counted: bool | None = None):
        """Participations per status within these filters, or None when that is not kept (a
        municipality and "counts" together)."""
        if municipality is not None:
            return None if counted is not None else self.municipality_statuses.get(municipality, {})
        if counted is None:
            return self.statuses
        if counted:
            return self.counted_statuses
        return {s: n - self.counted_statuses.get(s, 0) for s, n in self.statuses.items()}


def tallies(programmes, *, kinds=None) -> dict[int, Tally]:
    """The kept figures of these programmes (counting any that never were, first); ``kinds``
    limits what is read (the list page needs no count per day)."""
    settle()
    ids = {p.id for p in programmes}
    if not ids:
        return {}
    rows = _read(ids, kinds)
    missing = ids - {pid for pid, kind, _key, _n in rows if kind == "kept"}
    if missing:
        recount(missing)
        rows = _read(ids, kinds)
    _state(db.session).ensured.update(ids)
    found: dict[int, list] = {pid: [] for pid in ids}
    for row in rows:
        found[row[0]].append(row[1:])
    return {p.id: _tally(found[p.id], _target(p)) for p in programmes}


def tally(programme, *, kinds=None) -> Tally:
    return tallies([programme], kinds=kinds)[programme.id]


def _read(ids, kinds=None) -> list[tuple]:
    stmt = sa.select(T.programme_id, T.kind, T.key, T.n).where(T.programme_id.in_(sorted(ids)),
                                                              T.n != 0)
    if kinds is not None:
        stmt = stmt.where(T.kind.in_(sorted({*kinds, "kept"})))
    return [tuple(r) for r in db.session.execute(stmt)]


def _target(programme) -> int | None:
    """The programme's first SME target (as ``counting.target_of``), from its targets (loaded
    with the programme by ``queries``)."""
    targets = [t for t in programme.targets if t.kind == TargetKind.SME_COUNT]
    return min(targets, key=lambda t: t.id).value if targets else None


def _tally(rows, target) -> Tally:
    counted = unverified = 0
    excluded: dict[str, int] = {}
    by_municipality: dict[str, int] = {}
    statuses: dict[str, int] = {}
    counted_statuses: dict[str, int] = {}
    municipality_statuses: dict[str, dict[str, int]] = {}
    counted_days: dict[dt.date, int] = {}
    for kind, key, n in rows:
        if kind == "counted":
            counted = n
        elif kind == "unverified":
            unverified = n
        elif kind == "excluded":
            excluded[key] = n
        elif kind == "municipality":
            by_municipality[key] = n
        elif kind == "status":
            statuses[key] = n
        elif kind == "counted_status":
            counted_statuses[key] = n
        elif kind == "municipality_status":
            code, _sep, status = key.rpartition(":")
            municipality_statuses.setdefault(code, {})[status] = n
        elif kind == "counted_on" and key:
            counted_days[dt.date.fromisoformat(key)] = n
    order = {str(r): i for i, r in enumerate(Reason)}
    excluded = dict(sorted(excluded.items(), key=lambda kv: order.get(kv[0], len(order))))
    return Tally(ProgrammeCount(target=target, counted=counted, unverified=unverified,
                                excluded=excluded, by_municipality=dict(sorted(by_municipality.items()))),
                 statuses, counted_statuses, municipality_statuses, counted_days)


def _ensure(programme) -> None:
    """The programme has been counted (else count it now); once per transaction."""
    settle()
    state = _state(db.session)
    if programme.id in state.ensured:
        return
    kept = db.session.scalar(sa.select(T.n).where(T.programme_id == programme.id,
                                                  T.kind == "kept"))
    if kept is None:
        recount([programme.id])
    state.ensured.add(programme.id)


def verdicts_for(programme, participation_ids) -> dict[int, Verdict]:
    """The kept verdicts of these participations of ``programme`` (live ones only)."""
    ids = list(participation_ids)
    if not ids:
        return {}
    _ensure(programme)
    rows = db.session.execute(
        sa.select(V.participation_id, V.survivor_id, V.status, V.counts, V.reason, V.sme)
        .where(V.programme_id == programme.id, V.participation_id.in_(ids))).all()
    return {r.participation_id: Verdict(
        r.participation_id, r.survivor_id, r.status, r.counts,
        Reason(r.reason) if r.reason else None, SmeStatus(r.sme) if r.sme else None)
        for r in rows}


def counted_condition(programme, counted: bool):
    """SQL: the participation counts (or, with ``counted`` False, does not) towards the target."""
    _ensure(programme)
    return sa.exists().where(V.participation_id == Participation.id,
                             V.programme_id == programme.id, V.counts.is_(counted))


def counted_organisations(programme):
    """SQL: the ids of the organisations counted for ``programme`` (their survivors)."""
    _ensure(programme)
    return sa.select(V.survivor_id).where(V.programme_id == programme.id, V.counts.is_(True))
