"""The kinds of setting in :class:`sdd_crm.config.Settings`: marshmallow fields that know the
type an operator sees in the README table and the Dutch error that names what was expected.

A field's ``metadata`` holds ``doc`` (one line for the README), ``kind`` (its type column) and
optionally ``env`` (the variable, when not ``SDD_CRM_<NAME>``), ``default_doc`` (the default as
words) and ``secret`` (never echoed in an error).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import limits
import sqlalchemy as sa
from marshmallow import ValidationError, fields, validate


def _meta(doc, kind, **extra):
    return {"doc": doc, "kind": kind, **extra}


def _range(minimum, maximum):
    if maximum is None:
        return validate.Range(min=minimum, error=f"moet minstens {minimum} zijn")
    return validate.Range(min=minimum, max=maximum,
                          error=f"moet tussen {minimum} en {maximum} liggen")


class _Integer(fields.Integer):
    """An integer; unlike marshmallow's, 1.5 is refused rather than cut to 1."""

    def _validated(self, value):
        if isinstance(value, float) and not value.is_integer():  # no silent truncation of 1.5
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class _Seconds(fields.Field):
    """A duration: a number of seconds (environment) or a ``timedelta`` (instance/config.py)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dt.timedelta):
            return value
        if isinstance(value, bool):
            raise self.make_error("invalid")
        try:
            seconds = float(value)
        except (TypeError, ValueError) as exc:
            raise self.make_error("invalid") from exc
        if seconds < 0:
            raise self.make_error("invalid")
        return dt.timedelta(seconds=seconds)


class _Names(fields.Field):
    """Names: a JSON list (``["admin"]``), a Python list or tuple, or ``a,b`` in one string."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise self.make_error("invalid")
        return tuple(value)


def _messages(expected: str) -> dict:
    return {"invalid": expected, "null": "mag niet leeg zijn", "required": "ontbreekt"}


def integer(default, doc, *, minimum=0, maximum=None, **extra):
    return _Integer(load_default=default, validate=_range(minimum, maximum),
                    error_messages=_messages("verwacht een geheel getal"),
                    metadata=_meta(doc, "integer", **extra))


def number(default, doc, *, minimum=0, **extra):
    return fields.Float(load_default=default, validate=_range(minimum, None),
                        error_messages=_messages("verwacht een getal"),
                        metadata=_meta(doc, "number", **extra))


def boolean(default, doc, **extra):
    return fields.Boolean(load_default=default, allow_none=default is None,
                          error_messages=_messages("verwacht true of false"),
                          metadata=_meta(doc, "boolean", **extra))


def string(default, doc, *, kind="string", expected="verwacht tekst", check=None, **extra):
    validators = [] if check is None else [_checked(check, expected)]
    return fields.String(load_default=default, allow_none=default is None, validate=validators,
                         error_messages=_messages(expected), metadata=_meta(doc, kind, **extra))


class _Choice(fields.String):
    """One of a few words, in any case (``Redis``, ``info``), stored as the list writes it;
    empty counts as unset where the setting has no default (``SDD_CRM_JOBS=``)."""

    def __init__(self, choices, **kwargs):
        self.spelling = {c.lower(): c for c in choices}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not value.strip() and self.allow_none:
            return None
        return self.spelling.get(value.strip().lower(), value)


def choice(default, doc, choices, **extra):
    expected = "verwacht een van: " + ", ".join(choices)
    return _Choice(choices, load_default=default, allow_none=default is None,
                   validate=_unless_unset(validate.OneOf(choices, error=expected)),
                   error_messages=_messages(expected),
                   metadata=_meta(doc, "one of " + ", ".join(f"`{c}`" for c in choices), **extra))


def seconds(default, doc, **extra):
    return _Seconds(load_default=default, error_messages=_messages("verwacht een aantal seconden"),
                    metadata=_meta(doc, "seconds", **extra))


def names(default, doc, **extra):
    return _Names(load_default=default,
                  error_messages=_messages("verwacht een lijst, als JSON of met komma's"),
                  metadata=_meta(doc, "list", **extra))


def mapping(default, doc, **extra):
    return fields.Dict(load_default=default, error_messages=_messages("verwacht een JSON-object"),
                       metadata=_meta(doc, "JSON object", **extra))


def rate_limits(default, doc, **extra):
    return string(default, doc, kind="rate limits", check=_rate_limits,
                  expected="verwacht limieten als '10 per minute;100 per hour'", **extra)


def database_url(doc, **extra):
    return string(None, doc, kind="URL", check=sa.engine.make_url, secret=True,
                  expected="verwacht een database-URL zoals postgresql://gebruiker@host/sdd_crm",
                  **extra)


def redis_url(doc, **extra):
    return string(None, doc, kind="URL", check=_redis_url, secret=True,
                  expected="verwacht een Redis-URL zoals redis://host:6379/0", **extra)


def time_zone(default, doc, **extra):
    return string(default, doc, kind="time zone", check=zoneinfo.ZoneInfo,
                  expected="verwacht een tijdzone zoals 'Europe/Amsterdam'", **extra)


def _unless_unset(validator):
    def run(value):
        if value is not None:
            validator(value)
    return run


def _checked(check, expected):
    def run(value):
        try:
            check(value)
        except Exception as exc:  # any parse failure means "not this kind"
            raise ValidationError(expected) from exc
    return run


def _rate_limits(value):
    if not limits.parse_many(value):
        raise ValueError(value)


def _redis_url(value):
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(value)
