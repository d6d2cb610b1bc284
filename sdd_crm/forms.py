"""Form helpers shared by every feature.

Forms check shape and length; the business rules live in the services, whose Dutch messages
are put back on the matching fields with :func:`apply_service_errors`.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import g
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField
from wtforms.validators import Length

from .exceptions import ConflictError

try:
    from wtforms.fields import SelectChoice
except ImportError:  # pragma: no cover - WTForms < 3.3
    SelectChoice = None

TOO_LONG = _l("Hoogstens %(max)d tekens.")


def max_length(n: int) -> Length:
    return Length(max=n, message=TOO_LONG)


class ServiceErrorsMixin:
    """Form-level messages (service key ``_``) appear under ``form.errors['_']``,
    which is where the ``form_errors`` macro looks for them."""

    @property
    def errors(self):
        errors = {name: f.errors for name, f in self._fields.items() if f.errors}
        if self.form_errors:
            errors["_"] = list(self.form_errors)
        return errors


def apply_service_errors(form, errors: dict[str, str], field_map: dict[str, str] | None = None):
    """Put a service ``ValidationError``'s messages onto the form's fields (``_`` → form level)."""
    field_map = field_map or {}
    for key, message in errors.items():
        field = form._fields.get(field_map.get(key, key))
        if field is None or isinstance(field, HiddenField) or key == "csrf_token":
            if message not in form.form_errors:
                form.form_errors.append(message)
            continue
        if message not in field.errors:
            field.errors = [*field.errors, message]


def options(pairs) -> list:
    """Select options as WTForms 3.3 wants them (tuples are deprecated there)."""
    if SelectChoice is None:  # pragma: no cover - WTForms < 3.3
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]


def submitted_version(form) -> str:
    """The version an edit form was loaded with. A POST without one (a stale page, a hand-made
    request) cannot be checked for conflicts, so it is treated as a conflict: the form comes back
    with the stored version and a message, and a second save overwrites knowingly."""
    value = (form.version.data or "").strip() if isinstance(form.version.data, str) else form.version.data
    if value in (None, ""):
        raise ConflictError()
    return value


def form_page(form, render: Callable[[], object], *, conflict_message=None,
              field_map: dict[str, str] | None = None) -> None:
    """Say how this request shows ``form`` again if a service refuses its input.

    The view then simply calls the service: a ``ValidationError`` puts its messages on the form
    and a ``ConflictError`` adds ``conflict_message`` and the stored version, and ``render()``
    answers with 422 or 409 (see :mod:`sdd_crm.errors`). Nothing was saved: the boundary rolled
    the transaction back first.
    """
    g.form_page = (form, render, conflict_message, field_map)
