"""Participation in programmes: the pipeline and its rules (DESIGN 2; issue 5).

identified → approached → interested → participating → completed, or declined. A participation
may skip ahead (a company can sign up at once) but never goes back, except that a declined one
can be approached again. Every move is recorded with its date (ParticipationEvent).
Services flush; the view, API or job commits once.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import validation as v
from ..auth.models import Role, User
from ..db import utcnow
from ..extensions import db
from ..organisations.models import Organisation
from ..exceptions import PermissionDenied, check_version
from ..exceptions import ValidationError
from .models import Participation, ParticipationEvent, ParticipationStatus as S, Programme

PIPELINE = [S.IDENTIFIED, S.APPROACHED, S.INTERESTED, S.PARTICIPATING, S.COMPLETED]
MANAGERS = {Role.ADMIN, Role.REGIONAL_ACCOUNT_MANAGER, Role.BUSINESS_DEVELOPER}
# Who may own (be the business developer of) a participation.
OWNER_ROLES = {Role.ADMIN, Role.REGIONAL_ACCOUNT_MANAGER, Role.BUSINESS_DEVELOPER}
MAX_NOTES = 5000


class _Unset:
    """Marks an argument that was not given (``None`` means "clear it")."""

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET = _Unset()


def allowed_next(status: str) -> list[str]:
    """The statuses a participation may move to from ``status``."""
    if status == S.DECLINED:
        return [S.IDENTIFIED, S.APPROACHED]
    if status == S.COMPLETED:
        return []
    later = PIPELINE[PIPELINE.index(status) + 1:]
    return [*later, S.DECLINED]


def can_manage_participations(user) -> bool:
    return user.role in MANAGERS


def _require_manager(actor) -> None:
    if not can_manage_participations(actor):
        raise PermissionDenied()


def _status(value, errors, key="status", *, required=False) -> str | None:
    if (value is not None and not isinstance(value, str)) or (required and v.blank(value)):
        errors[key] = _("Kies een geldige status.")
        return None
    return v.choice({key: value}, key, errors, {s.value for s in S}, default=S.IDENTIFIED,
                    message=_("Kies een geldige status."))


def _owner(value, errors, key="owner_id") -> int | None:
    """An active user who may own a participation (admin, regional AM, business developer)."""
    if v.blank(value):
        return None
    user_id = v.integer(value)
    user = db.session.get(User, user_id) if user_id and user_id > 0 else None
    if user is None or not user.active or user.role not in OWNER_ROLES:
        errors[key] = _("Kies een actieve business developer, regionaal accountmanager of "
                        "beheerder als eigenaar.")
        return None
    return user.id


def _notes(value, errors) -> str | None:
    return v.text({"notes": value}, "notes", errors, limit=MAX_NOTES)


def _transition_error(from_status: str, to_status: str) -> ValidationError:
    return ValidationError({"status": _("Van '%(from)s' kan niet naar '%(to)s'.",
                                        **{"from": status_label(from_status),
                                           "to": status_label(to_status)})})


def _record_move(p: Participation, to_status: str, actor, *, from_status=UNSET) -> None:
    db.session.add(ParticipationEvent(
        participation_id=p.id, user_id=actor.id,
        from_status=p.status if from_status is UNSET else from_status, to_status=to_status))
    p.status = to_status
    p.status_changed_at = utcnow()


def _live_organisation(organisation_id, errors) -> Organisation | None:
    org_id = v.integer(organisation_id)
    org = db.session.get(Organisation, org_id) if org_id and org_id > 0 else None
    if org is None or org.deleted_at is not None:
        errors["organisation_id"] = _("Kies een bestaande organisatie.")
        return None
    if org.merged_into_id is not None:
        errors["organisation_id"] = _("Deze organisatie is samengevoegd met een andere; kies die.")
        return None
    return org


def add_participation(programme: Programme, organisation_id, *, actor, status=S.IDENTIFIED,
                      owner_id=None, notes=None) -> Participation:
    """Put an organisation in a programme's pipeline (once per programme).

    A participation that was deleted earlier is brought back (the pair is unique), starting
    afresh with the given status, owner and notes; its history is kept.
    """
    _require_manager(actor)
    errors: dict[str, str] = {}
    org = _live_organisation(organisation_id, errors)
    status = _status(status, errors)
    notes = _notes(notes, errors)
    owner = _owner(owner_id, errors) if not v.blank(owner_id) else actor.id
    if errors:
        raise ValidationError(errors)
    existing = db.session.scalar(sa.select(Participation).where(
        Participation.programme_id == programme.id, Participation.organisation_id == org.id))
    if existing is not None and existing.deleted_at is None:
        raise ValidationError({"organisation_id": _("Deze organisatie doet al mee aan dit programma.")})
    if existing is not None:
        p = existing
        p.deleted_at = None
        p.deleted_by_id = None
        p.owner_id, p.notes = owner, notes
        # A fresh start: from_status None, so "counted since" restarts too (counting.counted_since).
        _record_move(p, status, actor, from_status=None)
        db.session.flush()
        return p
    p = Participation(programme_id=programme.id, organisation_id=org.id, status=status,
                      owner_id=owner, notes=notes, status_changed_at=utcnow())
    db.session.add(p)
    db.session.flush()
    db.session.add(ParticipationEvent(participation_id=p.id, user_id=actor.id, from_status=None,
                                      to_status=status))
    db.session.flush()
    return p


def change_participation_status(p: Participation, to_status: str, *, actor,
                                expected_version=None) -> Participation:
    """Move a participation on along the pipeline (see ``allowed_next``), recording the move."""
    _require_manager(actor)
    check_version(p, expected_version)
    errors: dict[str, str] = {}
    to_status = _status(to_status, errors)
    if errors:
        raise ValidationError(errors)
    if to_status not in allowed_next(p.status):
        raise _transition_error(p.status, to_status)
    _record_move(p, to_status, actor)
    db.session.flush()
    return p


def update_participation(p: Participation, *, actor, expected_version, owner_id=UNSET,
                         notes=UNSET, status=UNSET) -> Participation:
    """Change owner, notes and/or status in one go; all checked before anything changes.

    ``None`` clears the owner or the notes; a status equal to the current one changes nothing.
    A stale ``expected_version`` raises ConflictError.
    """
    _require_manager(actor)
    check_version(p, expected_version)
    errors: dict[str, str] = {}
    new_owner = _owner(owner_id, errors) if owner_id is not UNSET else UNSET
    new_notes = _notes(notes, errors) if notes is not UNSET else UNSET
    new_status = _status(status, errors, required=True) if status is not UNSET else UNSET
    if errors:
        raise ValidationError(errors)
    if new_status is not UNSET and new_status != p.status and new_status not in allowed_next(p.status):
        raise _transition_error(p.status, new_status)
    if new_owner is not UNSET:
        p.owner_id = new_owner
    if new_notes is not UNSET:
        p.notes = new_notes
    if new_status is not UNSET and new_status != p.status:
        _record_move(p, new_status, actor)
    db.session.flush()
    return p


def delete_participation(p: Participation, *, actor, expected_version=None) -> None:
    """Soft delete: hidden from the pipeline and the count, restorable."""
    _require_manager(actor)
    check_version(p, expected_version)
    p.deleted_at = utcnow()
    p.deleted_by_id = actor.id
    db.session.flush()


def restore_participation(p: Participation, *, actor) -> Participation:
    """Bring a deleted participation back as it was (status, owner, notes, links)."""
    _require_manager(actor)
    if p.deleted_at is None:
        return p
    org = db.session.get(Organisation, p.organisation_id)
    if org is None or org.deleted_at is not None:
        raise ValidationError(_("Herstel eerst de organisatie %(name)s; deze deelname hoort "
                                "daarbij.", name=org.name if org is not None else ""))
    if p.programme.deleted_at is not None:
        raise ValidationError(_("Herstel eerst het programma %(name)s; deze deelname hoort "
                                "daarbij.", name=p.programme.name))
    if org.merged_into_id is not None:
        # The merge kept the survivor's participation; this one stays as history.
        raise ValidationError(_("Deze organisatie is samengevoegd met een andere; de deelname "
                                "van die organisatie geldt."))
    p.deleted_at = None
    p.deleted_by_id = None
    db.session.flush()
    return p


def _visible_interaction(interaction_id, actor):
    from ..interactions.models import Interaction
    from ..interactions.visibility import interaction_visible

    iid = v.integer(interaction_id)
    if iid is None or iid < 1:
        return None
    return db.session.scalar(sa.select(Interaction).where(
        Interaction.id == iid, Interaction.deleted_at.is_(None), interaction_visible(actor)))


def _note_links(p: Participation, before: list[int]) -> None:
    after = sorted(i.id for i in p.interactions)
    if before != after:
        # A collection is not a column: touch the row so its version rises and the audit log
        # records the change (the same pattern as interactions' contacts and topics).
        p.updated_at = utcnow()
        p._audit_extra = {"interaction_ids": [before, after]}


def link_interaction(p: Participation, interaction_id, *, actor) -> Participation:
    """Link a contact moment of the participation's organisation (one the actor may see)."""
    _require_manager(actor)
    interaction = _visible_interaction(interaction_id, actor)
    if interaction is None:
        raise ValidationError({"interaction_id": _("Kies een bestaand contactmoment.")})
    if interaction.organisation_id != p.organisation_id:
        raise ValidationError({"interaction_id": _(
            "Dit contactmoment hoort bij een andere organisatie dan deze deelname.")})
    before = sorted(i.id for i in p.interactions)
    if interaction.id not in before:
        p.interactions.append(interaction)
        _note_links(p, before)
    db.session.flush()
    return p


def unlink_interaction(p: Participation, interaction_id, *, actor) -> Participation:
    """Remove a link to a contact moment; the contact moment itself stays."""
    _require_manager(actor)
    iid = v.integer(interaction_id)
    before = sorted(i.id for i in p.interactions)
    # A contact moment the actor may not see cannot be unlinked (nor be known to be linked).
    if iid not in before or _visible_interaction(iid, actor) is None:
        raise ValidationError({"interaction_id": _(
            "Dit contactmoment is niet aan deze deelname gekoppeld.")})
    p.interactions = [i for i in p.interactions if i.id != iid]
    _note_links(p, before)
    db.session.flush()
    return p


def bulk_add(programme: Programme, organisation_ids: Iterable[int], *, actor,
             status=S.IDENTIFIED) -> dict[str, int]:
    """Add many organisations at once (from a filtered list); those already in are skipped.

    Deleted participations of these organisations are brought back (counted as added).
    """
    _require_manager(actor)
    errors: dict[str, str] = {}
    status = _status(status, errors)
    if errors:
        raise ValidationError(errors)
    ids = set(organisation_ids)
    existing = {p.organisation_id: p for p in db.session.scalars(sa.select(Participation).where(
        Participation.programme_id == programme.id, Participation.organisation_id.in_(ids)))} if ids else {}
    live = set(db.session.scalars(sa.select(Organisation.id).where(
        Organisation.id.in_(ids), Organisation.deleted_at.is_(None),
        Organisation.merged_into_id.is_(None)))) if ids else set()
    now = utcnow()
    revived = [existing[oid] for oid in sorted(live) if oid in existing
               and existing[oid].deleted_at is not None]
    for p in revived:
        p.deleted_at = None
        p.deleted_by_id = None
        p.owner_id = actor.id
        _record_move(p, status, actor, from_status=None)
    added = [Participation(programme_id=programme.id, organisation_id=oid, status=status,
                           owner_id=actor.id, status_changed_at=now)
             for oid in sorted(live - set(existing))]
    db.session.add_all(added)
    db.session.flush()
    db.session.add_all(ParticipationEvent(participation_id=p.id, user_id=actor.id, from_status=None,
                                          to_status=status, at=now) for p in added)
    db.session.flush()
    n = len(added) + len(revived)
    return {"added": n, "skipped": len(ids) - n}


def status_label(status: str) -> str:
    from ..labels import PARTICIPATION_STATUS, label

    return label(PARTICIPATION_STATUS, status)
