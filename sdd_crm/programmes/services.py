"""Participation in programmes: the pipeline and its rules (DESIGN 2; issue 5).

identified → approached → interested → participating → completed, or declined. A participation
may skip ahead (a company can sign up at once) but never goes back, except that a declined one
can be approached again. Every move is recorded with its date (ParticipationEvent).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import gettext as _

from ..auth.models import Role
from ..db import utcnow
from ..extensions import db
from ..organisations.models import Organisation
from ..organisations.services import PermissionDenied, check_version
from .. import validation as v
from ..services import ValidationError
from .models import Participation, ParticipationEvent, ParticipationStatus as S, Programme

PIPELINE = [S.IDENTIFIED, S.APPROACHED, S.INTERESTED, S.PARTICIPATING, S.COMPLETED]
MANAGERS = {Role.ADMIN, Role.REGIONAL_ACCOUNT_MANAGER, Role.BUSINESS_DEVELOPER}


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


def _status(value, errors, key="status") -> str | None:
    return v.choice({key: value}, key, errors, {s.value for s in S}, default=S.IDENTIFIED,
                    message=_("Kies een geldige status."))


def add_participation(programme: Programme, organisation_id, *, actor, status=S.IDENTIFIED,
                      owner_id=None, notes=None) -> Participation:
    """Put an organisation in a programme's pipeline (once per programme)."""
    if not can_manage_participations(actor):
        raise PermissionDenied()
    errors: dict[str, str] = {}
    org = db.session.get(Organisation, v.integer(organisation_id) or 0)
    if org is None or org.deleted_at is not None:
        errors["organisation_id"] = _("Kies een bestaande organisatie.")
    status = _status(status, errors)
    notes = v.text({"notes": notes}, "notes", errors, limit=5000)
    owner = v.integer(owner_id) if not v.blank(owner_id) else actor.id
    if errors:
        raise ValidationError(errors)
    exists = db.session.scalar(sa.select(Participation.id).where(
        Participation.programme_id == programme.id, Participation.organisation_id == org.id))
    if exists:
        raise ValidationError({"organisation_id": _("Deze organisatie doet al mee aan dit programma.")})
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
    if not can_manage_participations(actor):
        raise PermissionDenied()
    check_version(p, expected_version)
    errors: dict[str, str] = {}
    to_status = _status(to_status, errors)
    if errors:
        raise ValidationError(errors)
    if to_status not in allowed_next(p.status):
        raise ValidationError({"status": _("Van '%(from)s' kan niet naar '%(to)s'.",
                                           **{"from": status_label(p.status),
                                              "to": status_label(to_status)})})
    db.session.add(ParticipationEvent(participation_id=p.id, user_id=actor.id,
                                      from_status=p.status, to_status=to_status))
    p.status = to_status
    p.status_changed_at = utcnow()
    db.session.flush()
    return p


def bulk_add(programme: Programme, organisation_ids: Iterable[int], *, actor,
             status=S.IDENTIFIED) -> dict[str, int]:
    """Add many organisations at once (from a filtered list); those already in are skipped."""
    if not can_manage_participations(actor):
        raise PermissionDenied()
    errors: dict[str, str] = {}
    status = _status(status, errors)
    if errors:
        raise ValidationError(errors)
    ids = set(organisation_ids)
    already = set(db.session.scalars(sa.select(Participation.organisation_id).where(
        Participation.programme_id == programme.id, Participation.organisation_id.in_(ids)))) if ids else set()
    live = set(db.session.scalars(sa.select(Organisation.id).where(
        Organisation.id.in_(ids - already), Organisation.deleted_at.is_(None)))) if ids - already else set()
    now = utcnow()
    added = [Participation(programme_id=programme.id, organisation_id=oid, status=status,
                           owner_id=actor.id, status_changed_at=now) for oid in sorted(live)]
    db.session.add_all(added)
    db.session.flush()
    db.session.add_all(ParticipationEvent(participation_id=p.id, user_id=actor.id, from_status=None,
                                          to_status=status, at=now) for p in added)
    db.session.flush()
    return {"added": len(added), "skipped": len(ids) - len(added)}


def status_label(status: str) -> str:
    from ..labels import PARTICIPATION_STATUS, label

    return label(PARTICIPATION_STATUS, status)
