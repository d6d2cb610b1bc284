"""The marshmallow fields of the API, with Dutch messages and types enforced as published.

Every schema in ``sdd_crm.api`` uses these fields (never ``marshmallow.fields`` directly), so a
message is Dutch everywhere and the OpenAPI document says exactly what is refused:

* ``Integer``/``Id``: strict (a JSON string or ``12.5`` is refused, and ``true`` is no number);
  in a query string use ``QueryInteger`` (the value arrives as text).
* ``Text``: refuses NUL, other control characters and lone surrogates (``multiline=True`` allows
  tab, newline and carriage return); ``max_length`` becomes ``maxLength``; the refused
  characters become a ``pattern`` in the document.
* ``Boolean``: only JSON ``true``/``false``.
* ``data_dependent=True``: the value refers to stored data (another record's id, a unique
  number); when the service refuses only such fields, the answer is 409, not 422.
* ``source=``: on output, read the value from another attribute (or a callable of the object),
  so a field keeps the DESIGN 5 name while the model's attribute differs (``municipality`` ←
  ``municipality_code``). Input keeps the field's own name (the services take those names).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Callable

import marshmallow as ma
from marshmallow import fields as mf
from flask_babel import gettext
from marshmallow import validate

from ..validation import has_control_characters

MAX_ID = 2**31 - 1

REQUIRED = "Dit veld is verplicht."
NOT_NULL = "Dit veld mag niet leeg zijn."
BAD_CHARACTERS = "De tekst bevat ongeldige tekens."

# The characters ``sdd_crm.validation.has_control_characters`` refuses, as a JSON Schema pattern:
# C0 controls (tab, newline, carriage return allowed when multi-line), DEL and C1 controls.
SINGLE_LINE_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
MULTI_LINE_PATTERN = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
# Text that holds more than white space (a name, a title): what the services call "filled in".
NON_BLANK_PATTERN = ("^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f]"
                     "[^\\u0000-\\u001f\\u007f-\\u009f]*$")
NON_BLANK_MULTI_LINE_PATTERN = (
    "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*"
    "[^\\s\\u0000-\\u001f\\u007f-\\u009f]"
    "[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$")
# Shapes the normalisers (sdd_crm.normalise) certainly accept; they accept more (spaces, ...).
EMAIL_PATTERN = (r"^[a-z0-9]{1,30}(\.[a-z0-9]{1,30}){0,2}@[a-z0-9]{1,30}(\.[a-z0-9]{1,30}){0,2}"
                 r"\.(nl|com|org|eu)$")
PHONE_PATTERN = r"^(\+31|0)(6[1-5][0-9]|78[1-9])[0-9]{6}$"


def bad_text(value: str, *, multiline: bool = False) -> bool:
    """Control characters (NUL among them: PostgreSQL refuses it) or lone surrogates."""
    return has_control_characters(value, multiline=multiline)


class _Base:
    """Dutch messages for every field, and ``source=`` for output."""

    default_error_messages = {"required": REQUIRED, "null": NOT_NULL,
                              "validator_failed": "Ongeldige waarde."}

    def __init__(self, *args, source: str | Callable | None = None, description: str | None = None,
                 data_dependent: bool = False, **kwargs):
        self.source = source
        # Whether a valid value may still be refused for what is stored (a reference to a
        # record, a unique number): the service's refusal of only such fields is a 409.
        self.data_dependent = data_dependent
        if description is not None:
            kwargs.setdefault("metadata", {})
            kwargs["metadata"] = {**kwargs["metadata"], "description": description}
        super().__init__(*args, **kwargs)

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        if callable(self.source):
            return self.source(obj)
        return super().get_value(obj, self.source or attr, accessor, default)


class Raw(_Base, mf.Raw):
    pass


class Text(_Base, mf.String):
    """A string; ``max_length``/``min_length`` in characters; no control characters."""

    default_error_messages = {"invalid": "Vul tekst in.", "invalid_utf8": BAD_CHARACTERS,
                              "bad_characters": BAD_CHARACTERS}

    def __init__(self, *, max_length: int | None = None, min_length: int | None = None,
                 multiline: bool = False, pattern: bool | str = True,
                 enforce_pattern: str | None = None, **kwargs):
        """``enforce_pattern``: refuse a value that does not match ``pattern``, with this message
        (otherwise the pattern only documents what the service certainly accepts)."""
        self.multiline = multiline
        validators = list(_as_list(kwargs.pop("validate", None)))
        if enforce_pattern:
            validators.append(validate.Regexp(pattern, error=enforce_pattern))
        if max_length is not None or min_length is not None:
            validators.insert(0, length(min_length, max_length))
        metadata = dict(kwargs.pop("metadata", {}) or {})
        if pattern is True:
            pattern = MULTI_LINE_PATTERN if multiline else SINGLE_LINE_PATTERN
        if pattern:
            metadata.setdefault("pattern", pattern)
        super().__init__(validate=validators, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        if bad_text(value, multiline=self.multiline):
            raise self.make_error("bad_characters")
        return value


class Integer(_Base, mf.Integer):
    """A JSON integer (strict: no strings, no fractions, no booleans). As in JSON Schema, a
    number without a fraction (``12.0``) is an integer; ``12.5`` and ``"12"`` are not."""

    default_error_messages = {"invalid": "Vul een heel getal in.",
                              "too_large": "Dit getal is te groot."}

    def __init__(self, *, strict: bool = True, minimum: int | None = None,
                 maximum: int | None = None, **kwargs):
        validators = list(_as_list(kwargs.pop("validate", None)))
        if minimum is not None or maximum is not None:
            validators.insert(0, number_range(minimum, maximum))
        super().__init__(strict=strict, validate=validators, **kwargs)

    def _validated(self, value):
        if self.strict and isinstance(value, float) and value.is_integer():
            value = int(value)
        return super()._validated(value)


class QueryInteger(Integer):
    """An integer in the query string (text that holds a whole number)."""

    def __init__(self, **kwargs):
        super().__init__(strict=False, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip()
            if not re.fullmatch(r"[+-]?\d{1,30}", value):
                raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def Id(**kwargs) -> Integer:  # noqa: N802 (reads as a field class)
    """The id of a record: an integer from 1 to 2**31 - 1."""
    kwargs.setdefault("minimum", 1)
    kwargs.setdefault("maximum", MAX_ID)
    return Integer(**kwargs)


def QueryId(**kwargs) -> QueryInteger:  # noqa: N802
    kwargs.setdefault("minimum", 1)
    kwargs.setdefault("maximum", MAX_ID)
    return QueryInteger(**kwargs)


class Number(_Base, mf.Float):
    """A JSON number (no strings, no booleans, no NaN)."""

    default_error_messages = {"invalid": "Vul een getal in.", "too_large": "Dit getal is te groot.",
                              "special": "Vul een getal in."}

    def __init__(self, *, minimum=None, maximum=None, **kwargs):
        validators = list(_as_list(kwargs.pop("validate", None)))
        if minimum is not None or maximum is not None:
            validators.insert(0, number_range(minimum, maximum))
        super().__init__(validate=validators, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if isinstance(value, decimal.Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        return value


class Boolean(_Base, mf.Boolean):
    """Only JSON ``true`` or ``false``."""

    default_error_messages = {"invalid": "Vul true of false in."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class QueryBoolean(_Base, mf.Boolean):
    """``true``/``false``/``1``/``0`` in a query string."""

    truthy = {"true", "1", "True", "TRUE"}
    falsy = {"false", "0", "False", "FALSE"}
    default_error_messages = {"invalid": "Vul true of false in."}

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {})
        kwargs["metadata"] = {"type": "string", "enum": ["true", "false", "1", "0"],
                              **kwargs["metadata"]}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value.lower() in ("true", "1"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "0"):
            return False
        raise self.make_error("invalid")


class Date(_Base, mf.Date):
    """``YYYY-MM-DD`` (a JSON string)."""

    default_error_messages = {"invalid": "Vul een datum in als JJJJ-MM-DD.",
                              "format": "Vul een datum in als JJJJ-MM-DD."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            raise self.make_error("invalid")
        return super()._deserialize(value.strip(), attr, data, **kwargs)


class DateTime(_Base, mf.DateTime):
    """ISO 8601 (output: in UTC as stored)."""

    default_error_messages = {"invalid": "Vul een tijdstip in (ISO 8601).",
                              "format": "Vul een tijdstip in (ISO 8601)."}

    def _serialize(self, value, attr, obj, **kwargs):
        return value.isoformat() if isinstance(value, dt.datetime) else value


class Choice(Text):
    """One of ``choices`` (an OpenAPI ``enum``)."""

    def __init__(self, choices, *, error: str | None = None, **kwargs):
        self.choices = [c.value if hasattr(c, "value") else c for c in choices]
        validators = list(_as_list(kwargs.pop("validate", None)))
        validators.insert(0, one_of(self.choices, error))
        super().__init__(validate=validators, pattern=False, **kwargs)


class List(_Base, mf.List):
    default_error_messages = {"invalid": "Geef een lijst."}

    def __init__(self, inner, *, max_items: int | None = None, **kwargs):
        validators = list(_as_list(kwargs.pop("validate", None)))
        if max_items is not None:
            validators.insert(0, _Length(max=max_items))
        super().__init__(inner, validate=validators, **kwargs)


class Nested(_Base, mf.Nested):
    default_error_messages = {"type": "Stuur een object."}


class Dict(_Base, mf.Dict):
    default_error_messages = {"invalid": "Stuur een object."}


# Validators whose messages are those of the services, translated when they are raised (the
# user's language, Dutch by default); the fixed messages above are translated when the error is
# answered (``sdd_crm.api.field_messages``).

class _Length(validate.Length):
    def _format_error(self, value, message: str) -> str:
        if self.max is not None and len(value) > self.max:
            unit = "items" if isinstance(value, (list, tuple)) else "tekens"
            if unit == "items":
                return gettext("Hoogstens %(n)s items.", n=self.max)
            return gettext("Hoogstens %(n)s tekens.", n=self.max)
        if self.min == 1:
            return gettext(REQUIRED)
        return super()._format_error(value, message)


class _Range(validate.Range):
    def _format_error(self, value, message: str) -> str:
        lo = self.min if self.min is not None else "…"
        hi = self.max if self.max is not None else "…"
        return gettext("Vul een getal tussen %(lo)s en %(hi)s in.", lo=lo, hi=hi)


class _OneOf(validate.OneOf):
    def __init__(self, choices, error: str | None = None):
        super().__init__(choices)
        self.own_error = error

    def _format_error(self, value) -> str:
        if self.own_error:
            return gettext(self.own_error)
        return gettext("Kies uit: %(values)s.", values=", ".join(str(c) for c in self.choices))


def length(minimum: int | None, maximum: int | None) -> validate.Length:
    return _Length(min=minimum, max=maximum)


def number_range(minimum, maximum) -> validate.Range:
    return _Range(min=minimum, max=maximum)


def one_of(choices, error: str | None = None) -> validate.OneOf:
    return _OneOf(list(choices), error)


def _as_list(value):
    if value is None:
        return []
    if callable(value):
        return [value]
    return list(value)

