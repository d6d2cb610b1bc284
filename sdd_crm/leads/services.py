"""Leads shared across municipal borders: sharing, the status flow, comments (DESIGN 2, 4.4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import validation as v
from ..auth.models import Role, User
from ..db import utcnow
from ..extensions import db
from ..notifications.services import notify
from ..organisations.models import Organisation
from ..exceptions import PermissionDenied, check_version
from ..reference.models import Municipality
from ..exceptions import ValidationError
from .visibility import can_move_lead, can_see_lead
from .models import Lead, LeadComment, LeadEvent, LeadStatus, LeadType, SharedWith

FIELDS = ("organisation_id", "type", "title", "description", "shared_with",
          "shared_with_user_id", "shared_with_municipality")
# The only ways a lead moves on; there is no way back (DESIGN 2).
TRANSITIONS: dict[str, set[str]] = {
    LeadStatus.NEW: {LeadStatus.ACCEPTED, LeadStatus.DECLINED},
    LeadStatus.ACCEPTED: {LeadStatus.IN_PROGRESS},
    LeadStatus.IN_PROGRESS: {LeadStatus.WON, LeadStatus.LOST},
    LeadStatus.WON: set(),
    LeadStatus.LOST: set(),
    LeadStatus.DECLINED: set(),
}


def receivers(lead: Lead) -> list[int]:
    """The ids of the users on the receiving side of a lead."""
    if lead.shared_with == SharedWith.USER:
        return [lead.shared_with_user_id]
    stmt = sa.select(User.id).where(User.active.is_(True))
    if lead.shared_with == SharedWith.MUNICIPALITY:
        stmt = stmt.where(User.role == Role.LOCAL_ACCOUNT_MANAGER,
                          User.municipality_code == lead.shared_with_municipality_code)
    else:
        stmt = stmt.where(User.role == Role.REGIONAL_ACCOUNT_MANAGER)
    return list(db.session.scalars(stmt.order_by(User.id)))  # one order: notified, e-mailed


def municipalities_with_receivers() -> set[str]:
    """The codes of the municipalities where at least one active local account manager works:
    the only ones a lead shared "with a municipality" reaches. One query."""
    return set(db.session.scalars(
        sa.select(User.municipality_code).distinct()
        .where(User.active.is_(True), User.role == Role.LOCAL_ACCOUNT_MANAGER,
               User.municipality_code.is_not(None))))


def check_municipality_target(code: str, actor) -> str | None:
    """Why a lead may not go to municipality ``code`` (a Dutch message), or None.

    Refused, not merely warned (issue 14): a lead shared with one's own municipality goes back
    to oneself and one's direct colleagues, who can simply act on it; one shared with a
    municipality where nobody works in the CRM reaches no one, waits as "new" for ever and
    skews the response times. Both are refused with what to do instead; the form is kept."""
    if actor is not None and actor.municipality_code and code == actor.municipality_code:
        return _("Dit is uw eigen gemeente. Een signaal deelt u met een andere gemeente, het "
                 "regionale team of een collega; voor uw eigen gemeente kunt u er zelf mee aan de "
                 "slag, bijvoorbeeld met een taak.")
    if code not in municipalities_with_receivers():
        municipality = db.session.get(Municipality, code)
        return _("In %(name)s werkt nog geen lokaal accountmanager met het CRM, dus niemand zou "
                 "dit signaal ontvangen. Deel het met het regionale team of met een collega.",
                 name=municipality.name if municipality else code)
    return None


def clean_lead_data(data: Mapping[str, Any], *, partial: bool = False,
                    actor=None) -> dict[str, Any]:
    """The lead's fields checked; a municipality must be reachable and (with ``actor``) not the
    actor's own (:func:`check_municipality_target`)."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key in sorted(set(data) - set(FIELDS) - {"version"}):
        errors[key] = _("Onbekend veld.")

    def present(key):
        return (key in data) if partial else True

    if present("organisation_id"):
        org = db.session.get(Organisation, v.integer(data.get("organisation_id")) or 0)
        if org is None or org.deleted_at is not None:
            errors["organisation_id"] = _("Kies een bestaande organisatie.")
        elif org.merged_into_id is not None:
            errors["organisation_id"] = _("Deze organisatie is samengevoegd met een andere; kies die.")
        else:
            out["organisation_id"] = org.id
    if present("type"):
        out["type"] = v.choice(data, "type", errors, {t.value for t in LeadType},
                               message=_("Kies het soort signaal."))
    if present("title"):
        out["title"] = v.text(data, "title", errors, limit=200, required=True,
                              message=_("Vul een korte titel in."))
    if present("description"):
        out["description"] = v.text(data, "description", errors, limit=5000)

    if not partial:
        # Where the lead goes: the regional team, a named user, or another municipality.
        target = data.get("shared_with")
        if v.blank(target):
            target = (SharedWith.USER if not v.blank(data.get("shared_with_user_id"))
                      else SharedWith.MUNICIPALITY if not v.blank(data.get("shared_with_municipality"))
                      else None)
        if target not in {s.value for s in SharedWith}:
            errors["shared_with"] = _("Kies met wie u het signaal deelt.")
        out["shared_with"] = target
        out["shared_with_user_id"] = None
        out["shared_with_municipality_code"] = None
        if target == SharedWith.USER:
            user = db.session.get(User, v.integer(data.get("shared_with_user_id")) or 0)
            if user is None or not user.active or user.role == Role.VIEWER:
                errors["shared_with_user_id"] = _("Kies een actieve collega.")
            else:
                out["shared_with_user_id"] = user.id
        elif target == SharedWith.MUNICIPALITY:
            code = str(data.get("shared_with_municipality") or "").strip().upper()
            if not code or db.session.get(Municipality, code) is None:
                errors["shared_with_municipality"] = _("Kies een gemeente.")
            elif refused := check_municipality_target(code, actor):
                errors["shared_with_municipality"] = refused
            else:
                out["shared_with_municipality_code"] = code
    if errors:
        raise ValidationError(errors)
    return out


def share_lead(data: Mapping[str, Any], *, actor) -> Lead:
    """Share a lead; the receiving side is notified (in the app, and by e-mail if configured)."""
    if actor.role == Role.VIEWER:
        raise PermissionDenied()
    clean = clean_lead_data(data, actor=actor)
    if clean["shared_with_user_id"] == actor.id:
        # The author would be its own receiving side and could accept its own lead.
        raise ValidationError({"shared_with_user_id":
                               _("Deel het signaal met een collega, niet met uzelf.")})
    lead = Lead(author_id=actor.id, from_municipality_code=actor.municipality_code,
                status=LeadStatus.NEW, **clean)
    db.session.add(lead)
    db.session.flush()
    db.session.add(LeadEvent(lead_id=lead.id, user_id=actor.id, from_status=None,
                             to_status=LeadStatus.NEW))
    notify([uid for uid in receivers(lead) if uid != actor.id], "lead_shared",
           _l("Nieuw signaal van %(name)s: %(title)s", name=actor.name, title=lead.title),
           link=f"/leads/{lead.id}", lead_id=lead.id)
    db.session.flush()
    return lead


def update_lead(lead: Lead, data: Mapping[str, Any], *, actor, expected_version=None) -> Lead:
    """The author may correct the text of a lead while it is still new."""
    if lead.author_id != actor.id and actor.role != Role.ADMIN:
        raise PermissionDenied()
    check_version(lead, expected_version)
    if lead.status != LeadStatus.NEW:
        raise ValidationError(_("Een signaal dat al in behandeling is, kan niet meer worden gewijzigd."))
    allowed = {k: data[k] for k in ("type", "title", "description") if k in data}
    extra = set(data) - set(allowed) - {"version", "status", "decline_reason", "note"}
    if extra:
        raise ValidationError({k: _("Dit veld kan niet worden gewijzigd.") for k in sorted(extra)})
    for key, value in clean_lead_data(allowed, partial=True).items():
        setattr(lead, key, value)
    db.session.flush()
    return lead


def change_status(lead: Lead, to_status: str, *, actor, reason: str | None = None,
                  expected_version=None) -> Lead:
    """Move a lead on. Only the receiving side may, only along TRANSITIONS; declining needs a reason."""
    if not can_see_lead(actor, lead):
        raise PermissionDenied()
    check_version(lead, expected_version)
    if to_status not in {s.value for s in LeadStatus}:
        raise ValidationError({"status": _("Onbekende status.")})
    if not can_move_lead(actor, lead):
        raise PermissionDenied()
    if to_status not in TRANSITIONS[lead.status]:
        raise ValidationError({"status": _("Een signaal met status '%(from)s' kan niet naar '%(to)s'.",
                                           **{"from": status_label(lead.status), "to": status_label(to_status)})})
    reason = (reason or "").strip() or None
    if to_status == LeadStatus.DECLINED and not reason:
        raise ValidationError({"decline_reason": _("Geef aan waarom u het signaal afwijst.")})
    if reason and len(reason) > 1000:
        raise ValidationError({"decline_reason": _("Hoogstens %(n)s tekens.", n=1000)})
    previous = lead.status
    lead.status = to_status
    if previous == LeadStatus.NEW:
        lead.responded_at = utcnow()
    if to_status == LeadStatus.DECLINED:
        lead.decline_reason = reason
    db.session.add(LeadEvent(lead_id=lead.id, user_id=actor.id, from_status=previous,
                             to_status=to_status, note=reason))
    if lead.author_id != actor.id:
        notify([lead.author_id], "lead_status",
               _l("Uw signaal '%(title)s' is nu: %(status)s", title=lead.title,
                  status=_status_label_lazy(to_status)),
               link=f"/leads/{lead.id}", lead_id=lead.id)
    db.session.flush()
    return lead


def add_comment(lead: Lead, body: str, *, actor) -> LeadComment:
    if not can_see_lead(actor, lead):
        raise PermissionDenied()
    errors: dict[str, str] = {}
    text = v.text({"body": body}, "body", errors, limit=5000, required=True,
                  message=_("Schrijf een reactie."))
    if errors:
        raise ValidationError(errors)
    comment = LeadComment(lead_id=lead.id, author_id=actor.id, body=text)
    db.session.add(comment)
    others = {lead.author_id, *receivers(lead)} - {actor.id}
    notify(others, "lead_comment", _l("%(name)s reageerde op '%(title)s'", name=actor.name,
                                      title=lead.title), link=f"/leads/{lead.id}", lead_id=lead.id)
    db.session.flush()
    return comment


def restore_lead(lead: Lead, *, actor) -> None:
    """An admin takes a lead out of the bin; a lead about a deleted organisation waits for it."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied()
    org = lead.organisation
    if org is not None and org.deleted_at is not None:
        raise ValidationError(_("Herstel eerst de organisatie %(name)s; dit signaal hoort daarbij.",
                                name=org.name))
    lead.deleted_at = None
    lead.deleted_by_id = None
    db.session.flush()


def restore_comment(comment: LeadComment, *, actor) -> None:
    """An admin takes a comment out of the bin; a comment on a deleted lead waits for the lead."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied()
    lead = comment.lead
    if lead.deleted_at is not None:
        raise ValidationError(_("Herstel eerst het signaal %(title)s; deze reactie hoort daarbij.",
                                title=lead.title))
    comment.deleted_at = None
    comment.deleted_by_id = None
    db.session.flush()


def status_label(status: str) -> str:
    from ..labels import LEAD_STATUS, label

    return label(LEAD_STATUS, status)


def _status_label_lazy(status: str):
    """The status label, translated only when the text is written (in the reader's language)."""
    from ..labels import LEAD_STATUS

    return LEAD_STATUS.get(status, status)
