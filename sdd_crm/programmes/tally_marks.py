"""What changed that a kept programme count depends on (programmes/tally.py): marks collected
from the session's flushes and from Core statements, kept in ``session.info`` until the upkeep
(``tally_upkeep.settle``) has dealt with them, and again after a savepoint rolled back."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..extensions import db
from ..organisations.models import Organisation
from .models import Participation, ParticipationEvent, Programme

# What the verdict reads (DESIGN 4.1, 4.2): a change to any other column leaves it as it is.
ORGANISATION_INPUTS = ("org_type", "employees", "annual_turnover_eur", "balance_sheet_total_eur",
                       "parent_id", "municipality_code", "status", "deleted_at", "merged_into_id")
PARTICIPATION_INPUTS = ("programme_id", "organisation_id", "status", "status_changed_at",
                        "deleted_at")
EVENT_INPUTS = ("participation_id", "from_status", "to_status", "at")
WATCHED_TABLES = {"organisation": ORGANISATION_INPUTS, "participation": PARTICIPATION_INPUTS,
                  "participation_event": EVENT_INPUTS, "programme_municipality": None}
# A Core statement that announces its rows itself (``mark_participations``) passes this
# execution option, so it does not make the whole count stale.
MARKED = "programme_tally_marked"


@dataclass
class _Marks:
    orgs: set[int] = field(default_factory=set)
    participations: set[int] = field(default_factory=set)
    programmes: set[int] = field(default_factory=set)
    everything: bool = False

    def __bool__(self) -> bool:
        return bool(self.everything or self.orgs or self.participations or self.programmes)

    def update(self, other: _Marks) -> None:
        self.orgs |= other.orgs
        self.participations |= other.participations
        self.programmes |= other.programmes
        self.everything = self.everything or other.everything


@dataclass
class _State:
    pending: _Marks = field(default_factory=_Marks)
    # Settled since the transaction began: marked again when a savepoint rolls back (what was
    # written inside it is gone, and it may have been the upkeep of earlier changes).
    done: _Marks = field(default_factory=_Marks)
    busy: bool = False
    # Programmes known to be counted (their ``kept`` row read or written) in this transaction.
    ensured: set[int] = field(default_factory=set)


_INFO = "programme_tally"


def _state(session: Session) -> _State:
    state = session.info.get(_INFO)
    if state is None:
        state = session.info[_INFO] = _State()
    return state


def mark_organisations(ids, session: Session | None = None) -> None:
    """These organisations' verdict inputs changed past the ORM (an import's raw UPDATE)."""
    _state(session or db.session).pending.orgs.update(i for i in ids if i is not None)


def mark_participations(ids, session: Session | None = None) -> None:
    _state(session or db.session).pending.participations.update(i for i in ids if i is not None)


def mark_everything(session: Session | None = None) -> None:
    """Count every kept programme afresh before the commit."""
    _state(session or db.session).pending.everything = True


def _history(obj, keys):
    """Old and new values of the changed ones of ``keys`` (empty: none changed)."""
    attrs = sa.inspect(obj).attrs
    changed = {}
    for key in keys:
        h = attrs[key].history
        if h.has_changes():
            changed[key] = [*h.deleted, *h.added]
    return changed


def _after_flush(session: Session, _context) -> None:
    marks = _Marks()
    for obj in session.new:
        if isinstance(obj, Programme):
            marks.programmes.add(obj.id)
        elif isinstance(obj, Participation):
            marks.orgs.add(obj.organisation_id)
            marks.participations.add(obj.id)
        elif isinstance(obj, ParticipationEvent):
            marks.participations.add(obj.participation_id)
    for obj in session.dirty:
        if isinstance(obj, Participation):
            changed = _history(obj, PARTICIPATION_INPUTS)
            if changed:
                marks.orgs.update([obj.organisation_id, *changed.get("organisation_id", ())])
                marks.participations.add(obj.id)
        elif isinstance(obj, Organisation):
            changed = _history(obj, ORGANISATION_INPUTS)
            if changed:
                marks.orgs.update([obj.id, *changed.get("merged_into_id", ())])
        elif isinstance(obj, ParticipationEvent):
            changed = _history(obj, EVENT_INPUTS)
            if changed:
                marks.participations.update([obj.participation_id,
                                             *changed.get("participation_id", ())])
        elif isinstance(obj, Programme):
            if sa.inspect(obj).attrs["municipalities"].history.has_changes():
                marks.programmes.add(obj.id)
    for obj in session.deleted:
        if isinstance(obj, Participation):
            marks.orgs.add(obj.organisation_id)
            marks.participations.add(obj.id)
        elif isinstance(obj, Organisation):
            marks.orgs.add(obj.id)
        elif isinstance(obj, ParticipationEvent):
            marks.participations.add(obj.participation_id)
        elif isinstance(obj, Programme):
            marks.programmes.add(obj.id)
    marks.orgs.discard(None)
    marks.participations.discard(None)
    if marks:
        _state(session).pending.update(marks)


def _set_columns(orm_state) -> set[str] | None:
    """The columns an UPDATE sets, or None when that cannot be told."""
    names = set()
    values = getattr(orm_state.statement, "_values", None) or {}
    for key in values:
        names.add(getattr(key, "key", None) or getattr(key, "name", None) or str(key))
    params = orm_state.parameters
    if isinstance(params, (list, tuple)):
        params = params[0] if params else None
    if isinstance(params, dict):
        names |= set(params)
    return names or None


def _on_execute(orm_state) -> None:
    """A Core (or ORM bulk) INSERT, UPDATE or DELETE on a table the rule reads."""
    if not (orm_state.is_insert or orm_state.is_update or orm_state.is_delete):
        return
    table = getattr(orm_state.statement, "table", None)
    inputs = WATCHED_TABLES.get(getattr(table, "name", None), ())
    if inputs == () or orm_state.execution_options.get(MARKED):
        return
    if orm_state.is_insert and table.name == "organisation":
        return  # a new organisation has no participations and no subsidiaries yet
    if orm_state.is_update and inputs is not None:
        columns = _set_columns(orm_state)
        if columns is not None and not columns & set(inputs):
            return
    _state(orm_state.session).pending.everything = True


def _after_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # a released savepoint: its work is the outer's
        session.info.pop(_INFO, None)


def _after_soft_rollback(session: Session, previous_transaction) -> None:
    state = session.info.get(_INFO)
    if state is None:
        return
    if previous_transaction is not None and previous_transaction.nested:
        state.pending.update(state.done)
        state.ensured.clear()  # a count written inside the savepoint is gone
    elif not session.in_transaction():
        session.info.pop(_INFO, None)
