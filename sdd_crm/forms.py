"""Form helpers shared by every feature.

Forms check shape and length; the business rules live in the services, whose Dutch messages
are put back on the matching fields with :func:`apply_service_errors`.

Every text field of every form refuses control characters (:class:`TextCheck`): a NUL byte
(which PostgreSQL cannot store) or any other control character is a form error with a Dutch
message, the form is shown again (422), on every database. Tab and line breaks are allowed in
a TextAreaField only. The check is bound by the WTForms ``Meta`` of :class:`CheckedTextMixin`,
which :class:`ServiceErrorsMixin` and :class:`BaseForm`/:class:`BaseSubForm` carry; a test
(tests/test_input_rules.py) fails for a form class without it.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import g
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    PasswordField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, ValidationError

from .validation import control_characters_error

try:
    from wtforms.fields import SelectChoice
except ImportError:  # pragma: no cover - WTForms < 3.3
    SelectChoice = None

TOO_LONG = _l("Hoogstens %(max)d tekens.")


def max_length(n: int) -> Length:
    return Length(max=n, message=TOO_LONG)


class TextCheck:
    """WTForms validator: no control characters (see :mod:`sdd_crm.validation`). In a hidden
    field the message goes to the form's own messages too (a hidden field shows none)."""

    field_flags: dict = {}

    def __init__(self, *, multiline: bool = False):
        self.multiline = multiline

    def __call__(self, form, field):
        message = control_characters_error(field.data, multiline=self.multiline)
        if message:
            if isinstance(field, HiddenField) and message not in form.form_errors:
                form.form_errors.append(message)
            raise ValidationError(message)


class TextCheckMeta:
    """A WTForms ``Meta``: binds :class:`TextCheck` to each text field of the form (passwords
    excepted: they are hashed, never stored as typed)."""

    def bind_field(self, form, unbound_field, options):
        field = super().bind_field(form, unbound_field, options)
        if isinstance(field, StringField) and not isinstance(field, PasswordField):
            check = TextCheck(multiline=isinstance(field, TextAreaField))
            field.validators = [*field.validators, check]
        return field


class CheckedTextMixin:
    """Put this (or :class:`ServiceErrorsMixin`) first in a form's bases: its text fields then
    refuse control characters. WTForms combines every ``Meta`` found along the bases."""

    Meta = TextCheckMeta


class ServiceErrorsMixin(CheckedTextMixin):
    """Form-level messages (service key ``_``) appear under ``form.errors['_']``,
    which is where the ``form_errors`` macro looks for them."""

    @property
    def errors(self):
        errors = {name: f.errors for name, f in self._fields.items() if f.errors}
        if self.form_errors:
            errors["_"] = list(self.form_errors)
        return errors


class BaseForm(CheckedTextMixin, FlaskForm):
    """A FlaskForm (CSRF) whose text fields refuse control characters."""


class BaseSubForm(CheckedTextMixin, Form):
    """A plain WTForms form (GET filters, FormField rows) whose text fields refuse control
    characters."""


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
    with the stored version and a message, and a second save overwrites knowingly. Version 0
    never exists, so the service's version check refuses it with the stored version."""
    value = (form.version.data or "").strip() if isinstance(form.version.data, str) else form.version.data
    if value in (None, ""):
        return "0"
    return value


def form_page(form, render: Callable[[], object], *, conflict_message=None,
              field_map: dict[str, str] | None = None,
              current: Callable[[], object] | None = None) -> None:
    """Say how this request shows ``form`` again if a service refuses its input.

    The view then simply calls the service: a ``ValidationError`` puts its messages on the form
    and a ``ConflictError`` adds ``conflict_message`` and the stored version, and ``render()``
    answers with 422 or 409 (see :mod:`sdd_crm.errors`). Nothing was saved: the boundary rolled
    the transaction back first.

    ``current`` (edit forms of a versioned record) builds the form from the stored record as the
    view's GET does; the 409 page then lists, field by field, what changed since the user opened
    the form and lets them keep theirs, take the other's or merge (:mod:`sdd_crm.conflicts`).
    """
    g.form_page = (form, render, conflict_message, field_map)
    g.form_page_current = current


# --- What the form macros need (templates/_macros/forms.html) ----------------------------------

def error_summary(form) -> list[dict]:
    """Every message of a form that failed to save, in the order of its fields, for the error
    summary at the top of the form: ``{"id", "label", "message"}`` with the id of the input a
    link should focus (the first option of a radio group; the rows of a list of sub-forms too).
    Form-level messages (no field) come last with ``id`` None."""
    items: list[dict] = []
    unlinked: list[str] = []  # hidden fields (version, CSRF) have no input to go to

    def walk(fields, prefix_label=""):
        for f in fields:
            if isinstance(f, HiddenField) or f.type == "CSRFTokenField":
                unlinked.extend(str(m) for m in f.errors if isinstance(m, str))
                continue
            if isinstance(f, FieldList):
                for n, entry in enumerate(f.entries, start=1):
                    walk([entry], f"{f.label.text} {n}")
                continue
            if isinstance(f, FormField):
                walk(list(f.form), prefix_label or f.label.text)
                continue
            errors = f.errors if isinstance(f.errors, (list, tuple)) else []
            if not errors:
                continue
            label = str(f.label.text) if f.label else f.name
            if prefix_label:
                label = f"{prefix_label}: {label}"
            target = f.id
            if isinstance(f, RadioField):
                target = f"{f.id}-0"
            for message in errors:
                if isinstance(message, str) or not isinstance(message, (list, dict)):
                    items.append({"id": target, "label": label, "message": str(message)})

    walk(list(form))
    for message in [*(getattr(form, "form_errors", None) or []), *unlinked]:
        if str(message) not in {i["message"] for i in items if i["id"] is None}:
            items.append({"id": None, "label": None, "message": str(message)})
    return items


def condition_met(trigger, values) -> bool:
    """Whether a conditional field's trigger is set now (server side, for the first render):
    a checkbox is set when ticked ("y"), any other field when its value is one of ``values``
    (``"*"``: any value, e.g. a follow-up's date once its title is typed)."""
    data = trigger.data
    if isinstance(data, bool) or trigger.type == "BooleanField":
        data = "y" if data else ""
    text = str(data if data is not None else "").strip()
    wanted = {str(v) for v in values}
    return text in wanted or ("*" in wanted and text != "")


def register(app) -> None:
    app.jinja_env.globals.update(error_summary=error_summary, condition_met=condition_met)
