"""Business rules for contact persons, including their GDPR fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _

from .. import validation as v
from ..validation import has_control_characters
from .. import normalise
from ..db import utcnow
from ..extensions import db
from ..organisations.models import Organisation
from ..exceptions import PermissionDenied, check_version
from ..organisations.permissions import can_edit_organisation
from ..exceptions import ValidationError
from .models import Contact, LawfulBasis, SourceKind

FIELDS = (
    "organisation_id", "first_name", "last_name", "function", "email", "phone", "mobile",
    "preferred_language", "lawful_basis", "consent_date", "objection", "review_due", "notes",
)
# Set by the system, never by a user (GDPR art. 14: where the data came from).
SYSTEM_FIELDS = ("source", "source_kind", "source_job_id", "created_by_id", "anonymised_at")
MAX_LENGTHS = {"first_name": 100, "last_name": 150, "function": 150, "notes": 2000}
SOURCE_LENGTH = 200
LANGUAGES = ("nl", "en", "de", "fr")
# Personal data is reviewed periodically (GDPR art. 5(1)(e), storage limitation).
REVIEW_AFTER = dt.timedelta(days=2 * 365)


def _date(value, field, errors):
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return v.parse_date(value)
    except ValueError:
        errors[field] = str(v.BAD_DATE)
        return None


def clean_contact_data(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key in sorted(set(data) - set(FIELDS) - {"version"}):
        errors[key] = _("Dit veld kan niet worden gewijzigd.") if key in SYSTEM_FIELDS \
            else _("Onbekend veld.")

    def present(key):
        return (key in data) if partial else True

    for key, limit in MAX_LENGTHS.items():
        if present(key):
            value = data.get(key)
            if value is not None and not isinstance(value, str):
                errors[key] = _("Vul tekst in.")
                continue
            value = (value or "").strip() or None
            if value and has_control_characters(value, multiline=key == "notes"):
                errors[key] = _("De tekst bevat ongeldige tekens.")
                continue
            if value and len(value) > limit:
                errors[key] = _("Hoogstens %(n)s tekens.", n=limit)
                continue
            out[key] = value
    if present("last_name") and not out.get("last_name") and "last_name" not in errors:
        errors["last_name"] = _("Vul de achternaam in.")

    for key, fn in (("email", normalise.email), ("phone", normalise.phone), ("mobile", normalise.phone)):
        if present(key):
            value = data.get(key)
            if value in (None, ""):
                out[key] = None
            elif not isinstance(value, str) or len(value) > 254:
                errors[key] = _("Vul tekst in.")
            else:
                try:
                    out[key] = fn(value)
                except ValueError as e:
                    errors[key] = str(e)

    if present("organisation_id"):
        try:
            org = db.session.get(Organisation, int(data.get("organisation_id")))
        except (TypeError, ValueError):
            org = None
        if org is None or org.deleted_at is not None:
            errors["organisation_id"] = _("Kies een bestaande organisatie.")
        elif org.merged_into_id is not None:
            errors["organisation_id"] = _("Deze organisatie is samengevoegd met een andere; kies die.")
        else:
            out["organisation_id"] = org.id

    if present("preferred_language"):
        lang = data.get("preferred_language") or "nl"
        if lang not in LANGUAGES:
            errors["preferred_language"] = _("Kies een taal.")
        out["preferred_language"] = lang
    if present("lawful_basis"):
        basis = data.get("lawful_basis") or LawfulBasis.PUBLIC_TASK
        if basis not in {b.value for b in LawfulBasis}:
            errors["lawful_basis"] = _("Kies een grondslag.")
        out["lawful_basis"] = basis
    if present("consent_date"):
        out["consent_date"] = _date(data.get("consent_date"), "consent_date", errors)
    if present("review_due"):
        out["review_due"] = _date(data.get("review_due"), "review_due", errors)
    if present("objection"):
        value = data.get("objection")
        if value in (None, ""):
            value = False
        if not isinstance(value, bool) and value not in ("y", "on", "true", "false", "0", "1"):
            errors["objection"] = _("Kies ja of nee.")
        out["objection"] = value in (True, "y", "on", "true", "1")

    if out.get("lawful_basis") == LawfulBasis.CONSENT and not out.get("consent_date") \
            and "consent_date" not in errors and present("consent_date"):
        errors["consent_date"] = _("Bij toestemming hoort de datum waarop die is gegeven.")
    if errors:
        raise ValidationError(errors)
    return out


def _check_consent(values: Mapping[str, Any]) -> None:
    """Consent as the lawful basis needs the date it was given (GDPR art. 7(1): the controller
    must be able to show it), whichever fields a PATCH sent."""
    if values["lawful_basis"] == LawfulBasis.CONSENT and not values["consent_date"]:
        raise ValidationError({"consent_date": _("Bij toestemming hoort de datum waarop die is "
                                                 "gegeven.")})


def create_contact(data: Mapping[str, Any], *, actor) -> Contact:
    """A contact entered by ``actor``: the source (this user) is recorded by the system."""
    clean = clean_contact_data(data)
    org = db.session.get(Organisation, clean["organisation_id"])
    if not can_edit_organisation(actor, org):
        raise PermissionDenied()
    clean["source"] = f"gebruiker:{actor.email}"[:SOURCE_LENGTH]
    clean["source_kind"] = SourceKind.USER.value
    clean["created_by_id"] = actor.id
    if not clean.get("review_due"):
        clean["review_due"] = (utcnow() + REVIEW_AFTER).date()
    contact = Contact(**clean)
    db.session.add(contact)
    db.session.flush()
    return contact


def update_contact(contact: Contact, data: Mapping[str, Any], *, actor, expected_version=None,
                   partial: bool = False) -> Contact:
    if not can_edit_organisation(actor, contact.organisation):
        raise PermissionDenied()
    if contact.objection and not actor.is_admin:
        raise PermissionDenied()  # no further processing: only admins handle the objection
    if contact.anonymised_at is not None:
        raise ValidationError(_("Deze contactpersoon is geanonimiseerd en kan niet meer worden "
                                "gewijzigd."))
    check_version(contact, expected_version)
    clean = clean_contact_data(data, partial=partial)
    if "organisation_id" in clean and clean["organisation_id"] != contact.organisation_id:
        target = db.session.get(Organisation, clean["organisation_id"])
        if not can_edit_organisation(actor, target):
            raise PermissionDenied()
    _check_consent({k: clean.get(k, getattr(contact, k)) for k in ("lawful_basis", "consent_date")})
    for key, value in clean.items():
        setattr(contact, key, value)
    db.session.flush()
    return contact


def delete_contact(contact: Contact, *, actor, expected_version=None) -> None:
    if not can_edit_organisation(actor, contact.organisation):
        raise PermissionDenied()
    if contact.objection and not actor.is_admin:
        raise PermissionDenied()
    check_version(contact, expected_version)
    contact.deleted_at = utcnow()
    contact.deleted_by_id = actor.id
    db.session.flush()


def restore_contact(contact: Contact, *, actor) -> None:
    """An admin takes a contact out of the bin; one of a deleted organisation waits for it."""
    if not actor.is_admin:
        raise PermissionDenied()
    org = contact.organisation
    if org is not None and org.deleted_at is not None:
        raise ValidationError(_("Herstel eerst de organisatie %(name)s; deze contactpersoon hoort "
                                "daarbij.", name=org.name))
    contact.deleted_at = None
    contact.deleted_by_id = None
    db.session.flush()
