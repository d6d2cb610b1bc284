"""One parser for the numbers people type in Dutch: HTML forms, the services and imports.

Built on babel's ``parse_decimal(text, locale="nl", strict=True)``: the comma is the decimal
sign and the dot groups thousands, so ``1.250`` is 1250, ``12,5`` is 12.5 and ``1.250.000,00``
is 1250000. Strict parsing refuses a dot that does not group thousands (``12.5``, ``1.25.000``)
instead of guessing, so ``12.5`` employees is never 125 — and never 12.

Around babel: spaces (also non-breaking ones, a thousands separator too), ``€``/``EUR`` and
the Dutch whole-euro notation ``,-`` are ignored; only ASCII digits count (babel alone would
take ``1e6``, ``,5`` or Arabic-Indic digits).

Every function raises :class:`NumberError` (a ``ValueError``) with a Dutch message; its
``kind`` says what was wrong (``"not_a_number"``, ``"fraction"``, ``"range"``) for callers that
word the first case themselves (an import names the cell). A ground-floor module: it imports
no feature package.
"""

from __future__ import annotations

import decimal
import re

from babel.numbers import NumberFormatError, format_decimal, parse_decimal
from flask_babel import gettext as _

_SHAPE = re.compile(r"[+-]?[0-9](?:[0-9.,]*[0-9])?")
# The everyday shapes, read without babel, exactly as its strict parser reads them (checked
# against it in tests/test_import_speed.py): up to 20 characters of digits with at most one
# decimal sign, or thousands grouped in threes (first group 1-3 digits, not starting with 0)
# with an optional decimal part. babel checks a grouped number by formatting it again: 0.1 ms
# a cell, half the time of checking a KvK file's rows (issue 12). Longer numbers exceed what
# babel formats exactly. locale → (plain, grouped, group sign, decimal sign).
FAST_MAX = 20
_FAST = {
    "nl": (re.compile(r"-?[0-9]+(?:,[0-9]+)?"),
           re.compile(r"-?[1-9][0-9]{0,2}(?:\.[0-9]{3})+(?:,[0-9]+)?"), ".", ","),
    "en": (re.compile(r"-?[0-9]+(?:\.[0-9]+)?"),
           re.compile(r"-?[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]+)?"), ",", "."),
}
_SPACES = re.compile(r"[\s\u00a0\u202f]+")
CENT = decimal.Decimal("0.01")


class NumberError(ValueError):
    """Not a (valid) number; ``str(exc)`` is the Dutch message."""

    def __init__(self, message: str, kind: str = "not_a_number"):
        super().__init__(message)
        self.message = message
        self.kind = kind


def clean(text) -> str:
    """The number part of ``text``: without spaces, ``€``, ``EUR`` and a trailing ``,-``."""
    t = _SPACES.sub("", str(text)).replace("€", "")
    if t[:3].upper() == "EUR":
        t = t[3:]
    if t.endswith((",-", ",--")):  # "€ 1.250.000,-": whole euros, Dutch style
        t = t[:t.rindex(",")]
    return t


def parse_decimal_text(text, *, locale: str = "nl") -> decimal.Decimal:
    """A number in ``locale``'s notation, strictly (see the module docstring); NumberError if
    there is none. ``locale`` is "nl" for everything people type here; imports also try "en"
    for files written by English software (:func:`sdd_crm.imports.rules.parse_number`)."""
    t = clean(text)
    fast = _fast_decimal(t, locale)
    if fast is not None:
        return fast
    if not _SHAPE.fullmatch(t):
        raise NumberError(_("Dit is geen getal."))
    try:
        number = parse_decimal(t, locale=locale, strict=True)
    except NumberFormatError:
        raise NumberError(_("Dit is geen getal.")) from None
    if not number.is_finite():  # pragma: no cover - the shape allows digits only
        raise NumberError(_("Dit is geen getal."))
    return number


def _fast_decimal(t: str, locale: str) -> decimal.Decimal | None:
    """What babel's strict parser gives for the cleaned text ``t`` in an everyday shape of
    ``locale`` (see ``_FAST``), or None for anything else (then babel decides)."""
    shapes = _FAST.get(locale)
    if shapes is None or len(t) > FAST_MAX:
        return None
    plain, grouped, group, point = shapes
    if plain.fullmatch(t) or grouped.fullmatch(t):
        return decimal.Decimal(t.replace(group, "").replace(point, "."))
    return None


def _integer_message() -> str:
    return _("Vul een heel getal in.")


def _fraction_message() -> str:
    return _("Vul een heel getal in, zonder cijfers achter de komma; een punt scheidt "
             "duizendtallen, zoals in 1.250.")


def parse_integer(value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """A whole number: Dutch text (``1.250`` → 1250), an int, or an integral float/Decimal.

    ``12,5`` and ``12.5`` are refused (kind "fraction"); so are booleans and other types."""
    if isinstance(value, bool):
        raise NumberError(_integer_message())
    if isinstance(value, int):
        number = value
    elif isinstance(value, (float, decimal.Decimal)):
        if not decimal.Decimal(value).is_finite() or value != int(value):
            raise NumberError(_fraction_message(), "fraction")
        number = int(value)
    elif isinstance(value, str):
        try:
            parsed = parse_decimal_text(value)
        except NumberError:
            # "12.5" is a number, badly written in Dutch: say how to write a whole one.
            if _SHAPE.fullmatch(clean(value)) and any(c in value for c in ".,"):
                raise NumberError(_fraction_message(), "fraction") from None
            raise NumberError(_integer_message()) from None
        if parsed != parsed.to_integral_value():
            raise NumberError(_fraction_message(), "fraction")
        number = int(parsed)
    else:
        raise NumberError(_integer_message())
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise NumberError(_("Vul een getal tussen %(lo)s en %(hi)s in.", lo=minimum, hi=maximum),
                          "range")
    return number


def _amount_message() -> str:
    return _("Vul een bedrag in euro in, zoals 1250000 of 1.250.000,00.")


def parse_amount(value, *, maximum: decimal.Decimal | None = None) -> decimal.Decimal:
    """An amount in euros, to the cent: ``€ 1.250.000,-``, ``1.250.000,00``, ``1250000``.

    A number with a single decimal point that Dutch strict parsing refuses (``1250000.50``,
    what the API and other programs write) is read as a decimal point: it cannot be Dutch
    thousands grouping, so it is not ambiguous. ``1.250`` stays 1250 (Dutch)."""
    if isinstance(value, bool):
        raise NumberError(_amount_message())
    if isinstance(value, (int, float, decimal.Decimal)):
        try:
            number = decimal.Decimal(str(value))
        except decimal.InvalidOperation:  # pragma: no cover
            raise NumberError(_amount_message()) from None
        if not number.is_finite():
            raise NumberError(_amount_message())
    elif isinstance(value, str):
        try:
            number = parse_decimal_text(value)
        except NumberError:
            t = clean(value)
            if "," in t or t.count(".") != 1:
                raise NumberError(_amount_message()) from None
            try:
                number = parse_decimal_text(t, locale="en")
            except NumberError:
                raise NumberError(_amount_message()) from None
    else:
        raise NumberError(_amount_message())
    if number < 0 or (maximum is not None and number > maximum):
        hi = format_decimal(maximum.to_integral_value(decimal.ROUND_FLOOR), locale="nl") \
            if maximum is not None else "…"
        raise NumberError(_("Vul een bedrag tussen 0 en %(hi)s in.", hi=hi), "range")
    try:
        cents = number.quantize(CENT)
    except decimal.InvalidOperation:  # more digits than a Decimal holds: no amount of euros
        raise NumberError(_amount_message(), "range") from None
    if cents != number:  # never round an amount silently
        raise NumberError(_("Vul een bedrag in met hoogstens twee cijfers achter de komma."),
                          "fraction")
    return cents
