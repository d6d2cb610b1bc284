"""Criticality settings (weights and threshold) and the manual flag (DESIGN 4.3).

Running and storing a recompute is in ``criticality_store``; the engine in ``criticality``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import validation
from ..settings import Setting
from ..auth.models import Role
from .. import numbers
from ..extensions import db
from ..organisations.models import Organisation, OrgStatus
from ..exceptions import PermissionDenied, check_version
from ..exceptions import ConflictError, ValidationError
from . import criticality as engine
from .models import CriticalityAssessment

SETTING_KEY = "criticality"
WEIGHT_RANGE = (0.0, 5.0)
THRESHOLD_RANGE = (0.05, 10.0)
REASON_LIMIT = 1000
FLAG_ROLES = {Role.ADMIN, Role.REGIONAL_ACCOUNT_MANAGER}


# --- who may ----------------------------------------------------------------------------------

def can_set_manual_flag(user) -> bool:
    """Regional account managers decide which companies are critical (DESIGN 1), and admins."""
    return getattr(user, "role", None) in FLAG_ROLES


def can_run_recompute(user) -> bool:
    return getattr(user, "role", None) in FLAG_ROLES


def can_edit_settings(user) -> bool:
    return getattr(user, "role", None) == Role.ADMIN


# --- settings ---------------------------------------------------------------------------------

def settings_row() -> Setting | None:
    return db.session.get(Setting, SETTING_KEY)


def get_settings() -> engine.Settings:
    """The weights and threshold in force (the defaults until an admin changes them)."""
    row = settings_row()
    stored = row.value if row is not None and isinstance(row.value, Mapping) else {}
    weights = dict(engine.DEFAULT_WEIGHTS)
    for name, value in (stored.get("weights") or {}).items():
        if name in weights and _finite(value):
            weights[name] = float(value)
    threshold = stored.get("threshold")
    return engine.Settings(weights=weights,
                           threshold=float(threshold) if _finite(threshold) else engine.DEFAULT_THRESHOLD)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(data: Mapping, key: str, errors: dict, lo: float, hi: float, message: str) -> float | None:
    value = data.get(key)
    if isinstance(value, str):
        if not value.strip():
            errors[key] = _("Dit veld is verplicht.")
            return None
        try:  # "0,5" as people type it here; "0.5" (never Dutch grouping) as software writes it
            value = float(numbers.parse_decimal_text(value, locale="nl"))
        except numbers.NumberError:
            try:
                value = float(numbers.parse_decimal_text(value, locale="en"))
            except numbers.NumberError:
                errors[key] = message
                return None
    if not _finite(value) or not lo <= float(value) <= hi:
        errors[key] = message if value is not None else _("Dit veld is verplicht.")
        return None
    return float(value)


def clean_settings(data: Mapping[str, Any]) -> dict:
    """``{"weights": {factor: 0..5}, "threshold": 0.05..10}``; flat keys (``employment``) also do."""
    errors: dict[str, str] = {}
    nested = data.get("weights") if isinstance(data.get("weights"), Mapping) else {}
    weights = {}
    for name in engine.FACTORS:
        source = nested if name in nested else data
        weights[name] = _number(source, name, errors, *WEIGHT_RANGE,
                                _("Vul een gewicht tussen 0 en 5 in."))
    threshold = _number(data, "threshold", errors, *THRESHOLD_RANGE,
                        _("Vul een drempel tussen 0,05 en 10 in."))
    if errors:
        raise ValidationError(errors)
    return {"weights": weights, "threshold": threshold}


def save_settings(data: Mapping[str, Any], *, actor, expected_version=None) -> Setting:
    """Change the weights and threshold (admins only; audited through Setting); recompute after.

    ``expected_version``: the version the form showed ("" when there were no settings yet);
    None skips the check."""
    if not can_edit_settings(actor):
        raise PermissionDenied()
    clean = clean_settings(data)
    row = settings_row()
    if row is None:
        row = Setting(key=SETTING_KEY, value=clean)
        db.session.add(row)
    else:
        if expected_version == "":  # the form was loaded before anyone had saved settings
            raise ConflictError()
        check_version(row, expected_version)
        row.value = clean
    db.session.flush()
    from .recompute import schedule_recompute

    schedule_recompute(reason="settings")
    return row


# --- the manual flag --------------------------------------------------------------------------

def latest_assessment(org_id: int) -> CriticalityAssessment | None:
    return db.session.scalar(
        sa.select(CriticalityAssessment)
        .where(CriticalityAssessment.organisation_id == org_id)
        .order_by(CriticalityAssessment.computed_at.desc(), CriticalityAssessment.id.desc())
        .limit(1))


def set_manual_flag(org: Organisation, critical: bool | None, reason: str | None, *, actor,
                    expected_version=None) -> Organisation:
    """Mark critical (True) or not critical (False) by hand, with a reason; None clears it.

    The manual flag overrides the computed one; the computed assessment stays as it is, so the
    screens show both.
    """
    if not can_set_manual_flag(actor):
        raise PermissionDenied()
    check_version(org, expected_version)
    errors: dict[str, str] = {}
    if critical not in (True, False, None):
        errors["critical"] = _("Kies kritisch, niet kritisch of geen handmatige markering.")
    reason = validation.text({"reason": reason}, "reason", errors, limit=REASON_LIMIT,
                             required=critical is not None,
                             message=_("Geef een reden voor de handmatige markering."))
    if errors:
        raise ValidationError(errors)
    org.manual_critical = critical
    org.manual_critical_reason = reason if critical is not None else None
    if critical is None:
        latest = latest_assessment(org.id)
        org.is_critical = bool(latest.critical) if latest is not None and _live(org) else False
    else:
        org.is_critical = critical
    db.session.flush()
    return org


def _live(org: Organisation) -> bool:
    return org.deleted_at is None and org.merged_into_id is None and org.status != OrgStatus.DISSOLVED
