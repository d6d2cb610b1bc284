"""Managing programmes (functioneel beheer): code, name, funder, period, region and targets.

Shared by the admin screens and the API. Only administrators; services flush, the caller
commits once. Every rule's message is Dutch and keyed by field: ``targets.<n>.value`` for the
value of the n-th target (from 0) as it was sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import validation as v
from ..db import utcnow
from .. import numbers
from ..extensions import db
from ..exceptions import PermissionDenied, check_version
from ..reference.models import Municipality
from ..exceptions import ValidationError
from .models import Programme, ProgrammeTarget, TargetKind

CODE_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_CODE, MAX_NAME, MAX_FUNDER, MAX_DESCRIPTION, MAX_TARGET_DESCRIPTION = 40, 200, 200, 5000, 500
MAX_TARGET_VALUE = 1_000_000
MAX_TARGETS = 20
FIELDS = ("code", "name", "funder", "description", "start_date", "end_date", "municipalities",
          "targets")
TARGET_FIELDS = {"kind", "value", "description"}


def _require_admin(actor) -> None:
    if not actor.is_admin:
        raise PermissionDenied()


def _code(data, errors, programme: Programme | None) -> str | None:
    value = data.get("code")
    if value is not None and not isinstance(value, str):
        errors["code"] = _("Vul tekst in.")
        return None
    code = (value or "").strip().lower()
    if programme is not None:
        if code and code != programme.code:
            errors["code"] = _("De code van een programma kan niet meer worden gewijzigd.")
        return None
    if not code:
        errors["code"] = _("Vul een code in, zoals scale.")
    elif len(code) > MAX_CODE:
        errors["code"] = _("Hoogstens %(n)s tekens.", n=MAX_CODE)
    elif not CODE_RE.fullmatch(code):
        errors["code"] = _("Gebruik alleen kleine letters, cijfers en streepjes, zoals regio-deal.")
    elif db.session.scalar(sa.select(Programme.id).where(Programme.code == code)) is not None:
        # Deleted programmes keep their code: they can be restored.
        errors["code"] = _("Deze code is al in gebruik (ook verwijderde programma's tellen mee).")
    else:
        return code
    return None


def _municipalities(value, errors) -> list[Municipality] | None:
    if isinstance(value, str):
        value = [value]
    if value is None:
        value = []
    if not isinstance(value, (list, tuple)) or not all(isinstance(c, str) for c in value):
        errors["municipalities"] = _("Geef een lijst met CBS-codes van gemeenten.")
        return None
    codes = list(dict.fromkeys(c.strip().upper() for c in value if c.strip()))
    if not codes:
        errors["municipalities"] = _("Kies minstens één gemeente voor de regio.")
        return None
    if any(len(c) > 6 for c in codes):
        errors["municipalities"] = _("Onbekende gemeente: %(codes)s.",
                                     codes=", ".join(c[:10] for c in codes if len(c) > 6))
        return None
    found = {m.code: m for m in db.session.scalars(
        sa.select(Municipality).where(Municipality.code.in_(codes)))}
    unknown = [c for c in codes if c not in found]
    if unknown:
        errors["municipalities"] = _("Onbekende gemeente: %(codes)s.", codes=", ".join(unknown))
        return None
    return sorted(found.values(), key=lambda m: m.name)


def _targets(value, errors) -> list[dict] | None:
    if value is None:
        value = []
    if not isinstance(value, (list, tuple)) or not all(isinstance(t, Mapping) for t in value):
        errors["targets"] = _("Geef een lijst met doelen (kind, value, description).")
        return None
    if not value:
        errors["targets"] = _("Geef het programma minstens één doel.")
        return None
    if len(value) > MAX_TARGETS:
        errors["targets"] = _("Hoogstens %(n)s doelen.", n=MAX_TARGETS)
        return None
    out = []
    for i, raw in enumerate(value):
        row: dict[str, str] = {}  # this row's messages, keyed by its own field names
        for extra in sorted(set(raw) - TARGET_FIELDS):
            row[extra] = _("Onbekend veld.")
        kind = v.choice(raw, "kind", row, {k.value for k in TargetKind},
                        default=TargetKind.SME_COUNT, message=_("Kies een geldige soort doel."))
        number = raw.get("value")
        value_int = None
        if not v.blank(number) and not isinstance(number, bool):
            try:  # Dutch notation: "1.000" is a thousand; "12,5" is not a count
                value_int = numbers.parse_integer(number)
            except numbers.NumberError:
                value_int = None
        if v.blank(number):
            row["value"] = _("Vul het doel in (een aantal).")
        elif value_int is None or not 1 <= value_int <= MAX_TARGET_VALUE:
            row["value"] = _("Vul een heel getal tussen %(lo)s en %(hi)s in.", lo=1, hi="1.000.000")
        description = v.text(raw, "description", row, limit=MAX_TARGET_DESCRIPTION)
        errors.update({f"targets.{i}.{key}": message for key, message in row.items()})
        out.append({"kind": kind, "value": value_int, "description": description})
    return out


def clean_programme_data(data: Mapping[str, Any], *, programme: Programme | None = None,
                         partial: bool = False) -> dict[str, Any]:
    """Validate programme input (all fields, or with ``partial`` only those sent)."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}

    def present(key):
        return key in data if partial else True

    for key in sorted(set(data) - set(FIELDS) - {"version"}):
        errors[key] = _("Onbekend veld.")
    if present("code"):
        code = _code(data, errors, programme)
        if code:
            out["code"] = code
    if present("name"):
        out["name"] = v.text(data, "name", errors, limit=MAX_NAME, required=True,
                             message=_("Vul de naam van het programma in."))
    if present("funder"):
        out["funder"] = v.text(data, "funder", errors, limit=MAX_FUNDER)
    if present("description"):
        out["description"] = v.text(data, "description", errors, limit=MAX_DESCRIPTION)
    for key in ("start_date", "end_date"):
        if present(key):
            value = data.get(key)
            if value is not None and not isinstance(value, str) and not hasattr(value, "isoformat"):
                errors[key] = str(v.BAD_DATE)
            else:
                out[key] = v.date(data, key, errors)
    start = out.get("start_date", programme.start_date if programme is not None else None)
    end = out.get("end_date", programme.end_date if programme is not None else None)
    if start and end and end < start and not {"start_date", "end_date"} & set(errors):
        errors["end_date"] = _("De einddatum ligt vóór de begindatum.")
    if present("municipalities"):
        out["municipalities"] = _municipalities(data.get("municipalities"), errors)
    if present("targets"):
        out["targets"] = _targets(data.get("targets"), errors)
    if errors:
        raise ValidationError(errors)
    return out


def _apply(programme: Programme, clean: dict[str, Any]) -> None:
    with db.session.no_autoflush:
        for key in ("code", "name", "funder", "description", "start_date", "end_date"):
            if key in clean:
                setattr(programme, key, clean[key])
        extra = {}
        if "municipalities" in clean:
            before = sorted(m.code for m in programme.municipalities)
            programme.municipalities = clean["municipalities"]
            after = sorted(m.code for m in clean["municipalities"])
            if before != after:
                extra["municipalities"] = [before, after]
        if "targets" in clean:
            # Update the existing targets in place (their ids and audit trail stay).
            current = sorted(programme.targets, key=lambda t: t.id or 0)
            before = [_target_label(t) for t in current]
            targets = []
            for i, spec in enumerate(clean["targets"]):
                target = current[i] if i < len(current) else ProgrammeTarget()
                target.kind, target.value, target.description = spec["kind"], spec["value"], spec["description"]
                targets.append(target)
            programme.targets = targets
            for removed in current[len(targets):]:
                _delete_target(removed)
            after = [_target_label(t) for t in targets]
            if before != after:
                extra["targets"] = [before, after]
    if programme.id is not None:
        # Collections are not columns: touch the row so the version rises on every save
        # (a stale edit of only the region or the targets is still caught).
        programme.updated_at = utcnow()
        if extra:
            programme._audit_extra = extra


def _target_label(target: ProgrammeTarget) -> str:
    """A target as its programme's audit event shows it: kind, value and description."""
    kind = getattr(target.kind, "value", target.kind)
    label = f"{kind}: {target.value}"
    return f"{label} ({target.description})" if target.description else label


def _delete_target(target: ProgrammeTarget) -> None:
    """A target taken out of its programme is deleted explicitly, with its values in its own
    ``delete`` event (an orphan left to the cascade would go unseen by the audit log)."""
    if target.id is None:
        return
    target._audit_extra = {f: [getattr(target, f), None]
                           for f in ("programme_id", "kind", "value", "description")
                           if getattr(target, f) is not None}
    db.session.delete(target)


def create_programme(data: Mapping[str, Any], *, actor) -> Programme:
    """A new programme with its region and targets."""
    _require_admin(actor)
    clean = clean_programme_data(data)
    programme = Programme()
    _apply(programme, clean)
    db.session.add(programme)
    db.session.flush()
    return programme


def update_programme(programme: Programme, data: Mapping[str, Any], *, actor, expected_version,
                     partial: bool = False) -> Programme:
    """Change a programme; a stale ``expected_version`` raises ConflictError. The code stays."""
    _require_admin(actor)
    check_version(programme, expected_version)
    clean = clean_programme_data(data, programme=programme, partial=partial)
    _apply(programme, clean)
    db.session.flush()
    return programme


def delete_programme(programme: Programme, *, actor, expected_version=None) -> None:
    """Soft delete: the programme and its pipeline are hidden, restorable by an admin."""
    _require_admin(actor)
    check_version(programme, expected_version)
    programme.deleted_at = utcnow()
    programme.deleted_by_id = actor.id
    db.session.flush()


def restore_programme(programme: Programme, *, actor) -> None:
    _require_admin(actor)
    programme.deleted_at = None
    programme.deleted_by_id = None
    db.session.flush()
