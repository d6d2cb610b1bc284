"""Keeping the programme counts current (programmes/tally.py explains the design): before a
transaction commits, evaluate DESIGN 4.2 again over every participation whose verdict the
marked changes can have changed, write the verdicts that changed and move the tallies by the
difference; or count whole programmes afresh (``recount``)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db
from ..organisations.models import Organisation
from ..organisations.queries import final_survivors, with_merged_records
from .counting import ORG_CHUNK, _load_orgs, counted_since, evaluate, live_participations, region_of
from .models import Participation, ParticipationVerdict, Programme, ProgrammeTally, programme_municipality
from .sme import SmeStatus
from .tally_marks import (_INFO, _Marks, _after_commit, _after_flush, _after_soft_rollback,
                          _on_execute, _state)

# More organisations than this in one settle: counting the kept programmes afresh is cheaper
# than following each one's family.
RECOUNT_ABOVE = 2000
CHUNK = 500
ADVISORY_LOCK = 0x5DD12  # pg_advisory_xact_lock key of the upkeep (any constant will do)

V = ParticipationVerdict
T = ProgrammeTally


def _before_commit(session: Session) -> None:
    # Before the commit's own flush: flush here, so what it writes is marked and settled too.
    if session.info.get(_INFO) is not None or session.new or session.dirty or session.deleted:
        settle(session)


_registered = False


def register() -> None:
    """Connect the upkeep to every session (once per process)."""
    global _registered
    if _registered:
        return
    _registered = True
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _on_execute)
    event.listen(Session, "before_commit", _before_commit)
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_soft_rollback", _after_soft_rollback)


def settle(session: Session | None = None) -> None:
    """Bring the kept figures up to date with what this transaction changed (it flushes)."""
    session = session or db.session
    state = _state(session)
    if state.busy:
        return
    state.busy = True
    try:
        for _round in range(10):  # the flush can mark more (a receiver flushing in turn)
            session.flush()
            if not state.pending:
                break
            marks, state.pending = state.pending, _Marks()
            state.done.update(marks)
            _apply(marks)
    finally:
        state.busy = False


def _lock() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(ADVISORY_LOCK)))


def _kept_programmes() -> set[int]:
    return set(db.session.scalars(sa.select(T.programme_id).where(T.kind == "kept")))


def _in_chunks(column, ids):
    ids = sorted(ids)
    return [column.in_(ids[at:at + CHUNK]) for at in range(0, len(ids), CHUNK)]


def _apply(marks: _Marks) -> None:
    _lock()
    kept = _kept_programmes()
    if marks.everything:
        if kept:  # (nothing counted yet: the first reader counts)
            recount(kept | set(db.session.scalars(sa.select(Programme.id))))
        return
    # A new programme (counted while it is empty) or another region: counted afresh.
    fresh = marks.programmes
    if fresh:
        recount(fresh)
        kept |= fresh
    others = kept - fresh
    if not others or not (marks.orgs or marks.participations):
        return
    orgs = set(marks.orgs)
    for condition in _in_chunks(Participation.id, marks.participations):
        orgs.update(db.session.scalars(sa.select(Participation.organisation_id).where(condition)))
    family = _family(orgs)
    if family is None:
        recount(others)
        return
    _reevaluate(family, marks.participations, others)


def _family(orgs: set[int]) -> set[int] | None:
    """Every organisation a participation of which can have another verdict when these
    organisations changed: their subsidiaries (any depth), and all records merged into the
    same survivor as any of those. None when that is more than ``RECOUNT_ABOVE``."""
    if len(orgs) > RECOUNT_ABOVE:  # (an import's many rows: no subsidiary lookups first)
        return None
    group, frontier = set(orgs), set(orgs)
    while frontier:
        found = set()
        for condition in _in_chunks(Organisation.parent_id, frontier):
            found.update(db.session.scalars(sa.select(Organisation.id).where(condition)))
        frontier = found - group
        group |= frontier
        if len(group) > RECOUNT_ABOVE:
            return None
    survivors = set(final_survivors(group).values())
    family = with_merged_records(survivors) | group
    return family if len(family) <= RECOUNT_ABOVE * 2 else None


@dataclass(frozen=True)
class _Row:
    """A verdict as stored: what its row holds, and what it adds to the tallies."""

    participation_id: int
    programme_id: int
    organisation_id: int
    survivor_id: int
    status: str
    live: bool
    counts: bool
    reason: str | None
    sme: str | None
    municipality_code: str | None
    own_municipality_code: str | None
    counted_at: dt.datetime | None
    counted_on: dt.date | None

    def tallies(self):
        if self.counts:
            yield "counted", ""
            yield "municipality", self.municipality_code or ""
            yield "counted_on", self.counted_on.isoformat() if self.counted_on else ""
            if self.sme == SmeStatus.SME_UNVERIFIED:
                yield "unverified", ""
        else:
            yield "excluded", self.reason or ""
        if self.live:  # the pipeline's funnel: unfiltered, by "counts", by municipality
            yield "status", self.status
            yield "municipality_status", f"{self.own_municipality_code or ''}:{self.status}"
            if self.counts:
                yield "counted_status", self.status

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def zone():
    """The application's time zone: the day a participation was counted is a local date."""
    from zoneinfo import ZoneInfo

    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or "Europe/Amsterdam")


def _rows(programme_id, participations, verdicts, orgs, since) -> list[_Row]:
    """Stored rows for ``verdicts`` (of ``counting.evaluate``) over ``participations``
    ({id: (organisation_id, status, status_changed_at)})."""
    rows = []
    local = zone()
    for v in verdicts:
        own_org, status, changed_at = participations[v.participation_id]
        own = orgs.get(own_org)
        survivor = orgs.get(v.organisation_id)
        counted_at = (since.get(v.participation_id) or changed_at) if v.counts else None
        rows.append(_Row(
            participation_id=v.participation_id, programme_id=programme_id,
            organisation_id=own_org, survivor_id=v.organisation_id, status=status,
            live=own is not None and not own.deleted, counts=v.counts,
            reason=str(v.reason) if v.reason is not None else None,
            sme=str(v.sme) if v.sme is not None else None,
            municipality_code=survivor.municipality_code if survivor else None,
            own_municipality_code=own.municipality_code if own else None,
            counted_at=counted_at,
            counted_on=counted_at.astimezone(local).date() if counted_at else None))
    return rows


def _stored(condition) -> dict[int, _Row]:
    columns = [getattr(V, name) for name in _Row.__dataclass_fields__]
    return {r.participation_id: _Row(*r) for r in db.session.execute(sa.select(*columns)
                                                                      .where(condition))}


def _reevaluate(family: set[int], participation_ids: set[int], kept: set[int]) -> None:
    """Evaluate the rule again over the participations of ``family`` in the kept programmes."""
    if not kept:
        return
    found = []
    for condition in _in_chunks(Participation.organisation_id, family):
        found.extend(db.session.execute(
            sa.select(Participation.id, Participation.programme_id, Participation.organisation_id,
                      Participation.status, Participation.status_changed_at)
            .where(condition, Participation.deleted_at.is_(None),
                   Participation.programme_id.in_(kept))).all())
    stored: dict[int, _Row] = {}
    for condition in (*_in_chunks(V.organisation_id, family),
                      *_in_chunks(V.participation_id, participation_ids)):
        stored.update(_stored(sa.and_(condition, V.programme_id.in_(kept))))
    if not found and not stored:
        return
    orgs = _load_orgs({r.organisation_id for r in found})
    by_programme: dict[int, dict] = {}
    for r in found:
        by_programme.setdefault(r.programme_id, {})[r.id] = (r.organisation_id, r.status,
                                                              r.status_changed_at)
    regions = _regions(by_programme)
    verdicts = {pid: evaluate([(i, o, s) for i, (o, s, _at) in parts.items()], orgs,
                              regions.get(pid, set())).verdicts
                for pid, parts in by_programme.items()}
    since = counted_since([v.participation_id for vs in verdicts.values() for v in vs if v.counts])
    new: dict[int, _Row] = {}
    for pid, vs in verdicts.items():
        new.update((r.participation_id, r) for r in _rows(pid, by_programme[pid], vs, orgs, since))
    _write(stored, new)


def _regions(programme_ids) -> dict[int, set[str]]:
    regions: dict[int, set[str]] = {}
    pm = programme_municipality
    for pid, code in db.session.execute(sa.select(pm.c.programme_id, pm.c.municipality_code)
                                        .where(pm.c.programme_id.in_(list(programme_ids)))):
        regions.setdefault(pid, set()).add(code)
    return regions


def _write(stored: dict[int, _Row], new: dict[int, _Row]) -> None:
    """Replace the stored verdicts that changed and move the tallies by the difference."""
    gone = [pid for pid, row in stored.items() if new.get(pid) != row]
    added = [row for pid, row in new.items() if stored.get(pid) != row]
    if not gone and not added:
        return
    delta: Counter = Counter()
    for pid in gone:
        row = stored[pid]
        for kind, key in row.tallies():
            delta[(row.programme_id, kind, key)] -= 1
    for row in added:
        for kind, key in row.tallies():
            delta[(row.programme_id, kind, key)] += 1
    for condition in _in_chunks(V.participation_id, gone):
        db.session.execute(sa.delete(V).where(condition))
    if added:
        db.session.execute(sa.insert(V), [row.as_dict() for row in added])
    delta = {k: n for k, n in delta.items() if n}
    if not delta:
        return
    programmes = {k[0] for k in delta}
    existing = {tuple(r) for r in db.session.execute(sa.select(T.programme_id, T.kind, T.key)
                                                      .where(T.programme_id.in_(programmes)))}
    bump = [{"p": p, "k": k, "y": key, "d": n} for (p, k, key), n in delta.items()
            if (p, k, key) in existing]
    if bump:
        table = T.__table__
        db.session.execute(
            sa.update(table).where(table.c.programme_id == sa.bindparam("p"),
                                   table.c.kind == sa.bindparam("k"),
                                   table.c.key == sa.bindparam("y"))
            .values(n=table.c.n + sa.bindparam("d")), bump)
    fresh = [{"programme_id": p, "kind": k, "key": key, "n": n}
             for (p, k, key), n in delta.items() if (p, k, key) not in existing]
    if fresh:
        db.session.execute(sa.insert(T), fresh)


def recount(programme_ids) -> None:
    """Count these programmes afresh (every participation) and store verdicts and tallies."""
    _lock()
    existing = set(db.session.scalars(sa.select(Programme.id)))
    for pid in sorted(set(programme_ids)):
        if pid not in existing:  # purged: its figures go with it
            db.session.execute(sa.delete(V).where(V.programme_id == pid))
            db.session.execute(sa.delete(T).where(T.programme_id == pid))
            continue
        _recount_one(pid)


def _recount_one(programme_id: int) -> None:
    _state(db.session).ensured.add(programme_id)
    rows = db.session.execute(
        sa.select(Participation.id, Participation.organisation_id, Participation.status,
                  Participation.status_changed_at)
        .where(Participation.programme_id == programme_id, Participation.deleted_at.is_(None))
    ).all()
    orgs = _load_orgs((), first=live_participations(programme_id)
                      .with_only_columns(Participation.organisation_id))
    participations = {r.id: (r.organisation_id, r.status, r.status_changed_at) for r in rows}
    count = evaluate([(r.id, r.organisation_id, r.status) for r in rows], orgs,
                     region_of(programme_id))
    since = counted_since([v.participation_id for v in count.verdicts if v.counts])
    new = {r.participation_id: r for r in _rows(programme_id, participations, count.verdicts,
                                                orgs, since)}
    stored = _stored(V.programme_id == programme_id)
    gone = [pid for pid, row in stored.items() if new.get(pid) != row]
    added = [row for pid, row in new.items() if stored.get(pid) != row]
    if len(gone) > len(stored) // 2:
        db.session.execute(sa.delete(V).where(V.programme_id == programme_id))
        added = list(new.values())
    else:
        for condition in _in_chunks(V.participation_id, gone):
            db.session.execute(sa.delete(V).where(condition))
    for at in range(0, len(added), ORG_CHUNK):
        db.session.execute(sa.insert(V), [row.as_dict() for row in added[at:at + ORG_CHUNK]])
    totals = Counter(t for row in new.values() for t in row.tallies())
    db.session.execute(sa.delete(T).where(T.programme_id == programme_id))
    db.session.execute(sa.insert(T), [
        {"programme_id": programme_id, "kind": kind, "key": key, "n": n}
        for (kind, key), n in sorted(totals.items())] + [
        {"programme_id": programme_id, "kind": "kept", "key": "", "n": 1}])


def recount_all() -> int:
    """Count every programme afresh (``flask programmes recount``, the end of a bulk seed):
    what the transaction changed before is covered by it."""
    db.session.flush()
    ids = set(db.session.scalars(sa.select(Programme.id))) | set(
        db.session.scalars(sa.select(T.programme_id).distinct()))
    recount(ids)
    if db.session.get_bind().dialect.name == "postgresql":
        # Fresh statistics for the planner: the tables were (re)written as a whole.
        db.session.execute(sa.text("ANALYZE participation_verdict"))
        db.session.execute(sa.text("ANALYZE programme_tally"))
    state = _state(db.session)
    state.done.update(state.pending)
    state.pending = _Marks()
    return len(set(db.session.scalars(sa.select(Programme.id))))
