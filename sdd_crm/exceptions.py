"""The domain's exceptions: the one vocabulary services use to refuse something.

Services raise them; nothing below the web layer catches them. The request boundary
(:mod:`sdd_crm.transaction`) rolls the transaction back, and the app-level handlers in
:mod:`sdd_crm.errors` turn them into a response: the form re-rendered with its messages, the
403/404 page or the conflict page in the browser, the error JSON of DESIGN 5 in the API.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from flask_babel import gettext as _


class DomainError(Exception):
    """Base class of every refusal a service can give."""


class NotFound(DomainError):
    """The record does not exist, is deleted, or is not visible to the actor (404).

    ``hidden=(entity type, id)``: the record exists but the actor may not see it (DESIGN 4.4).
    The answer is byte for byte that of a missing id; the refusal is audited
    (:mod:`sdd_crm.errors`). Raise it with :func:`hidden`. A missing id records nothing.
    """

    def __init__(self, message: str | None = None, *, hidden: tuple[str, Any] | None = None):
        super().__init__(message or "not found")
        self.hidden = hidden


def hidden(record) -> NotFound:
    """The 404 of a load-or-404 that found ``record`` but may not show it: ``raise hidden(x)``."""
    return NotFound(hidden=(record.__table__.name, record.id))


class PermissionDenied(DomainError):
    """The actor may not do this (DESIGN 4.4) (403)."""


class ConflictError(DomainError):
    """The record changed since the user loaded it, or clashes with another (409).

    ``current_version`` is the stored version, so a form can offer to overwrite knowingly.
    ``record`` and ``expected_version`` (set by :func:`check_version`) say which record and which
    version the user had, so the answer can show what changed in between
    (:mod:`sdd_crm.conflicts`).
    """

    def __init__(self, message: str | None = None, *, current_version: int | None = None,
                 record: Any = None, expected_version: int | None = None):
        super().__init__(message or "conflict")
        self.message = message
        self.current_version = current_version
        self.record = record
        self.expected_version = expected_version


class ValidationError(DomainError):
    """Input breaks a rule; ``errors`` maps field → Dutch message (``"_"``: the whole input).

    Views put the messages on the form; the API returns them as a 422 JSON error.
    """

    def __init__(self, errors: dict[str, Any] | str):
        if isinstance(errors, str):
            errors = {"_": errors}
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


def check_version(record, expected_version) -> None:
    """Raise ConflictError if ``record`` changed since the user loaded ``expected_version``."""
    if expected_version is None:
        return
    try:
        expected = int(expected_version)
    except (TypeError, ValueError):
        raise ValidationError({"version": _("Ongeldige versie.")}) from None
    if not 0 <= expected <= 2**31 - 1:
        # Never a stored version, and beyond the database's integers: a plain conflict, without
        # the field-by-field comparison (which would query the audit trail with it).
        raise ConflictError(current_version=record.version)
    if expected != record.version:
        raise ConflictError(current_version=record.version, record=record,
                            expected_version=expected)
    if has_request_context():
        # Should the UPDATE still find a newer version (a save that passed this check at the
        # same moment), the conflict answer knows which record and version (conflicts.py).
        g.setdefault("version_checks", []).append((record, expected))
