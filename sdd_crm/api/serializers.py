"""Records → JSON (the field names of DESIGN 5), and a type check of what clients send.

Money goes out as JSON numbers (euros, at most two decimals), dates as ``YYYY-MM-DD`` and
timestamps as ISO 8601 in UTC. The services hold the rules; the type check here only makes
sure a value of the wrong JSON type gets a Dutch message and a 422 instead of surprising them.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from ..contacts.models import Contact
from ..extensions import db
from ..organisations.models import Organisation
from ..organisations.services import main_establishment
from ..exceptions import ValidationError
from ..valuechains.models import CriticalityAssessment
from .errors import MAX_ID

# --- output -------------------------------------------------------------------------------


def _money(value: decimal.Decimal | None):
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _timestamp(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def organisation_to_dict(org: Organisation) -> dict[str, Any]:
    """One organisation as in lists; ``sbi_codes``, ``tags`` and ``establishments`` must be loaded."""
    main = main_establishment(org)
    return {
        "id": org.id,
        "name": org.name,
        "org_type": org.org_type,
        "kvk_number": org.kvk_number,
        "establishment_number": main.establishment_number if main is not None else None,
        "legal_form": org.legal_form,
        "street": org.street,
        "postcode": org.postcode,
        "city": org.city,
        "municipality": org.municipality_code,
        "phone": org.phone,
        "email": org.email,
        "website": org.website,
        "description": org.description,
        "sbi_codes": [{"code": s.code, "version": s.version, "main": s.is_main} for s in org.sbi_codes],
        "employees": org.employees,
        "annual_turnover_eur": _money(org.annual_turnover_eur),
        "balance_sheet_total_eur": _money(org.balance_sheet_total_eur),
        "size_class": org.size_class,
        "parent_id": org.parent_id,
        "merged_into_id": org.merged_into_id,
        "status": org.status,
        "tags": [t.name for t in org.tags],
        "critical": bool(org.is_critical),
        "version": org.version,
        "created_at": _timestamp(org.created_at),
        "updated_at": _timestamp(org.updated_at),
    }


def latest_assessment(org_id: int) -> CriticalityAssessment | None:
    return db.session.scalar(
        sa.select(CriticalityAssessment)
        .where(CriticalityAssessment.organisation_id == org_id)
        .order_by(CriticalityAssessment.computed_at.desc(), CriticalityAssessment.id.desc())
        .limit(1)
    )


def criticality_to_dict(org: Organisation) -> dict[str, Any]:
    """Why an organisation is (not) critical (DESIGN 4.3): the manual flag overrides the computed one."""
    assessment = latest_assessment(org.id)
    if org.manual_critical is not None:
        flag_source = "manual"
    elif assessment is not None:
        flag_source = "computed"
    else:
        flag_source = None
    score = org.criticality_score
    if score is None and assessment is not None:
        score = assessment.score
    factors = []
    for f in (assessment.factors or []) if assessment is not None else []:
        if isinstance(f, Mapping):
            factors.append({k: f.get(k) for k in ("name", "value", "weight", "contribution")})
    return {
        "score": score,
        "flag_source": flag_source,
        "manual": org.manual_critical,
        "manual_reason": org.manual_critical_reason,
        "computed": assessment.critical if assessment is not None else None,
        "threshold": assessment.threshold if assessment is not None else None,
        "assessed_at": _timestamp(assessment.computed_at) if assessment is not None else None,
        "factors": factors,
    }


def organisation_detail(org: Organisation) -> dict[str, Any]:
    return organisation_to_dict(org) | {"criticality": criticality_to_dict(org)}


def contact_to_dict(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "organisation_id": contact.organisation_id,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "function": contact.function,
        "email": contact.email,
        "phone": contact.phone,
        "mobile": contact.mobile,
        "preferred_language": contact.preferred_language,
        "lawful_basis": contact.lawful_basis,
        "consent_date": _date(contact.consent_date),
        "source": contact.source,
        "objection": bool(contact.objection),
        "review_due": _date(contact.review_due),
        "notes": contact.notes,
        "version": contact.version,
        "created_at": _timestamp(contact.created_at),
        "updated_at": _timestamp(contact.updated_at),
    }


# --- input --------------------------------------------------------------------------------

TEXT, INTEGER, NUMBER, ID, BOOLEAN, LIST_OR_TEXT = (
    "text", "integer", "number", "id", "boolean", "list_or_text")
# Kinds of the account-management resources (interactions, tasks, leads).
RECORD_ID, TEXT_LIST, ID_LIST, OBJECT_LIST = "record_id", "text_list", "id_list", "object_list"

ORGANISATION_INPUT = {
    "name": TEXT, "org_type": TEXT, "kvk_number": TEXT, "establishment_number": TEXT,
    "legal_form": TEXT, "sbi_codes": LIST_OR_TEXT, "employees": INTEGER,
    "annual_turnover_eur": NUMBER, "balance_sheet_total_eur": NUMBER, "street": TEXT,
    "postcode": TEXT, "city": TEXT, "municipality": TEXT, "website": TEXT, "phone": TEXT,
    "email": TEXT, "description": TEXT, "parent_id": ID, "status": TEXT, "tags": LIST_OR_TEXT,
}
ORGANISATION_READ_ONLY = {"id", "critical", "criticality", "size_class", "created_at", "updated_at"}

CONTACT_INPUT = {
    "organisation_id": ID, "first_name": TEXT, "last_name": TEXT, "function": TEXT,
    "email": TEXT, "phone": TEXT, "mobile": TEXT, "preferred_language": TEXT,
    "lawful_basis": TEXT, "consent_date": TEXT, "source": TEXT, "objection": BOOLEAN,
    "review_due": TEXT, "notes": TEXT,
}
CONTACT_READ_ONLY = {"id", "created_at", "updated_at"}
SBI_ITEM_KEYS = {"code", "version", "main"}


def _type_error(kind: str, value) -> str | None:
    if value is None:
        return None
    if kind == TEXT:
        return None if isinstance(value, str) else _("Vul tekst in.")
    if kind in (TEXT_LIST, ID_LIST, OBJECT_LIST):
        return _list_error(kind, value)
    if kind == RECORD_ID:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
            return _("Vul een id (een heel getal) in.")
        return None
    if kind == BOOLEAN:
        return None if isinstance(value, bool) else _("Vul true of false in.")
    if isinstance(value, bool):  # JSON true is not the number 1
        return _("Vul een getal in.")
    if kind == INTEGER:
        return None if isinstance(value, (int, float, str)) else _("Vul een heel getal in.")
    if kind == NUMBER:
        return None if isinstance(value, (int, float, str)) else _("Vul een getal in.")
    if kind == ID:
        if not isinstance(value, int) or not 1 <= value <= MAX_ID:
            return _("Vul het id (een heel getal) van een bestaande organisatie in.")
        return None
    if kind == LIST_OR_TEXT:
        return None if isinstance(value, (list, str)) else _("Geef een lijst.")
    return None


def _list_error(kind: str, value) -> str | None:
    if kind == TEXT_LIST:
        ok = isinstance(value, list) and all(isinstance(i, str) for i in value)
        return None if ok else _("Geef een lijst met teksten.")
    if kind == ID_LIST:
        ok = isinstance(value, list) and all(
            isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= MAX_ID for i in value)
        return None if ok else _("Geef een lijst met id's (hele getallen).")
    ok = isinstance(value, list) and all(isinstance(i, Mapping) for i in value)
    return None if ok else _("Geef een lijst met objecten.")


def _bad_text(value) -> bool:
    """NUL characters and lone surrogates cannot be stored (PostgreSQL refuses them)."""
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, list):
        return any(_bad_text(v) for v in value)
    if isinstance(value, dict):
        return any(_bad_text(k) or _bad_text(v) for k, v in value.items())
    return False


def check_input(data: Mapping[str, Any], types: Mapping[str, str], read_only: set[str],
                *, with_version: bool) -> dict:
    """Refuse unknown and read-only fields and values of the wrong JSON type (422).

    ``version`` belongs in a PATCH (checked by the caller); a new record has none to send.
    """
    errors: dict[str, str] = {}
    for key, value in data.items():
        if key == "version" and with_version:
            continue
        if key in read_only or key == "version":
            errors[key] = _("Dit veld kan niet worden gewijzigd.")
        elif key not in types:
            errors[key] = _("Onbekend veld.")
        elif _bad_text(value):
            errors[key] = _("De tekst bevat ongeldige tekens.")
        elif (message := _type_error(types[key], value)) is not None:
            errors[key] = message
    if errors:
        raise ValidationError(errors)
    return {k: v for k, v in data.items() if k != "version"}


def organisation_input(data: Mapping[str, Any], *, with_version: bool = False) -> dict[str, Any]:
    """Type-checked organisation input; SBI codes marked ``main`` move to the front."""
    clean = check_input(data, ORGANISATION_INPUT, ORGANISATION_READ_ONLY, with_version=with_version)
    codes = clean.get("sbi_codes")
    if isinstance(codes, list):
        for item in codes:
            if isinstance(item, Mapping):
                if set(item) - SBI_ITEM_KEYS or not isinstance(item.get("main", False), bool):
                    raise ValidationError({"sbi_codes": _(
                        "Een SBI-code is tekst of een object met code, version en main.")})
            elif not isinstance(item, str):
                raise ValidationError({"sbi_codes": _(
                    "Een SBI-code is tekst of een object met code, version en main.")})
        if sum(1 for i in codes if isinstance(i, Mapping) and i.get("main")) > 1:
            raise ValidationError({"sbi_codes": _("Hoogstens één SBI-code is de hoofdactiviteit.")})
        # The service takes the first code as the main activity.
        clean["sbi_codes"] = sorted(codes, key=lambda i: not (isinstance(i, Mapping) and i.get("main")))
    tags = clean.get("tags")
    if isinstance(tags, list) and not all(isinstance(t, str) for t in tags):
        raise ValidationError({"tags": _("Geef een lijst met labels.")})
    return clean


def contact_input(data: Mapping[str, Any], *, with_version: bool = False) -> dict[str, Any]:
    return check_input(data, CONTACT_INPUT, CONTACT_READ_ONLY, with_version=with_version)
