"""'Geen dubbel': pairs of organisations a person marked as two different organisations, which
the duplicate finder then leaves out (issue 6).

A pair is stored once, ordered (``organisation_a_id < organisation_b_id``); marking it again is
not an error. Admins and regional account managers mark pairs, like they merge them; only
admins undo a mark (the list of marked pairs is theirs). Every mark and undo is audited.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from ..audit.listeners import _actor, _jsonable
from ..audit.models import AuditEvent
from ..auth.models import Role
from ..db import utcnow
from ..extensions import db
from ..organisations.models import Organisation
from ..exceptions import PermissionDenied
from ..exceptions import ValidationError
from ..permissions import can_merge
from .models import DuplicateDismissal

NOTE_MAX = 500  # the column's length
AUDITED_COLUMNS = ("organisation_a_id", "organisation_b_id", "dismissed_by_id", "dismissed_at",
                   "note")


def ordered(a_id: int, b_id: int) -> tuple[int, int]:
    return (a_id, b_id) if a_id < b_id else (b_id, a_id)


def dismissed_pairs() -> set[tuple[int, int]]:
    """Every marked pair as ``(a, b)`` with a < b: what the finder and the list leave out.
    One SELECT of two integers per pair (people mark hundreds, not millions)."""
    D = DuplicateDismissal
    return {(a, b) for a, b in db.session.execute(
        sa.select(D.organisation_a_id, D.organisation_b_id))}


def find_dismissal(a_id: int, b_id: int) -> DuplicateDismissal | None:
    a_id, b_id = ordered(a_id, b_id)
    return db.session.scalar(sa.select(DuplicateDismissal).where(
        DuplicateDismissal.organisation_a_id == a_id, DuplicateDismissal.organisation_b_id == b_id))


def dismissal_list() -> sa.Select:
    """Marked pairs, the most recent first (for ``paginate``)."""
    D = DuplicateDismissal
    return sa.select(D).order_by(D.dismissed_at.desc(), D.id.desc())


def audit_dismissal(dismissal: DuplicateDismissal, action: str, changes: dict, actor) -> None:
    """Write the audit event of a change to a mark. The model does not carry ``AuditedMixin``
    (so the session listener skips it); should it get it, the listener writes the event and
    this does nothing, so no change is logged twice."""
    if getattr(DuplicateDismissal, "__audited__", False):
        return
    _user_id, source = _actor()
    db.session.add(AuditEvent(at=utcnow(), user_id=actor.id if actor is not None else None,
                              action=action, entity_type=DuplicateDismissal.__tablename__,
                              entity_id=str(dismissal.id), changes=changes, source=source))


def _snapshot(dismissal: DuplicateDismissal) -> dict:
    return {c: _jsonable(getattr(dismissal, c)) for c in AUDITED_COLUMNS}


def _live_organisation(org_id, errors: dict, key: str) -> Organisation | None:
    org = db.session.get(Organisation, org_id) if isinstance(org_id, int) else None
    if org is None or org.deleted_at is not None:
        errors[key] = _("Deze organisatie bestaat niet (meer).")
        return None
    if org.merged_into_id is not None:
        errors[key] = _("%(name)s is al samengevoegd met een andere organisatie.", name=org.name)
        return None
    return org


def dismiss_pair(a_id: int, b_id: int, *, actor, note: str | None = None) -> DuplicateDismissal:
    """Mark two organisations as not a duplicate (flushes; the caller commits). Marking a pair
    that is marked already returns the existing mark unchanged.
    Raises PermissionDenied, ValidationError (unknown, deleted or merged organisation, the same
    organisation twice, a note over 500 characters)."""
    if not can_merge(actor):
        raise PermissionDenied()
    errors: dict[str, str] = {}
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        errors["note"] = _("Hoogstens %(max)d tekens.", max=NOTE_MAX)
    if a_id == b_id:
        errors["_"] = _("Een organisatie is altijd een dubbel van zichzelf.")
        raise ValidationError(errors)
    _live_organisation(a_id, errors, "organisation_a_id")
    _live_organisation(b_id, errors, "organisation_b_id")
    if errors:
        raise ValidationError(errors)
    a_id, b_id = ordered(a_id, b_id)
    existing = find_dismissal(a_id, b_id)
    if existing is not None:
        return existing
    dismissal = DuplicateDismissal(organisation_a_id=a_id, organisation_b_id=b_id,
                                   dismissed_by_id=actor.id, dismissed_at=utcnow(), note=note)
    try:
        # Someone else may mark the same pair at this moment: the unique pair decides.
        with db.session.begin_nested():
            db.session.add(dismissal)
    except IntegrityError:
        existing = find_dismissal(a_id, b_id)
        if existing is None:
            raise
        return existing
    audit_dismissal(dismissal, "create", {k: [None, v] for k, v in _snapshot(dismissal).items()
                                          if v is not None}, actor)
    db.session.flush()
    return dismissal


def can_undo(user) -> bool:
    return user.role == Role.ADMIN


def undo_dismissal(a_id: int, b_id: int, *, actor) -> bool:
    """Take the mark off a pair, so the finder lists it again (flushes). Admins only.
    False when the pair was not marked (undone by someone else already, or never)."""
    if not can_undo(actor):
        raise PermissionDenied()
    dismissal = find_dismissal(a_id, b_id)
    if dismissal is None:
        return False
    remove(dismissal, actor)
    db.session.flush()
    return True


def remove(dismissal: DuplicateDismissal, actor) -> None:
    """Delete a mark with its audit event (also used by the merge)."""
    audit_dismissal(dismissal, "delete", {k: [v, None] for k, v in _snapshot(dismissal).items()
                                          if v is not None}, actor)
    db.session.delete(dismissal)


def repoint_for_merge(survivor: Organisation, merged: Organisation,
                      actor) -> tuple[int, int, list[str]]:
    """Marks that name the merged record now name the survivor. A mark between the two is
    dropped (they were merged after all), as is one the survivor has already.
    Returns (moved, dropped, names of organisations whose mark against both was dropped)."""
    mine = {d.organisation_b_id if d.organisation_a_id == survivor.id else d.organisation_a_id
            for d in _touching([survivor.id])}
    moved = dropped = 0
    self_pairs: list[str] = []
    for dismissal in _touching([merged.id]):
        other = (dismissal.organisation_b_id if dismissal.organisation_a_id == merged.id
                 else dismissal.organisation_a_id)
        if other == survivor.id:
            remove(dismissal, actor)
            dropped += 1
            self_pairs.append(merged.name)
            continue
        if other in mine:
            remove(dismissal, actor)  # the survivor carries this mark already
            dropped += 1
            continue
        before = _snapshot(dismissal)
        dismissal.organisation_a_id, dismissal.organisation_b_id = ordered(survivor.id, other)
        after = _snapshot(dismissal)
        mine.add(other)
        moved += 1
        audit_dismissal(dismissal, "update", {k: [before[k], after[k]] for k in before
                                              if before[k] != after[k]}, actor)
    db.session.flush()
    return moved, dropped, self_pairs


def _touching(ids: Iterable[int]) -> list[DuplicateDismissal]:
    D = DuplicateDismissal
    ids = list(ids)
    return db.session.scalars(sa.select(D).where(
        sa.or_(D.organisation_a_id.in_(ids), D.organisation_b_id.in_(ids))).order_by(D.id)).all()
