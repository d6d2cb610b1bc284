"""Small input checks shared by the services; each adds a Dutch message to ``errors``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

# Control characters (Unicode Cc: C0, DEL and C1) and lone surrogates: never text a person
# typed, and PostgreSQL refuses NUL and surrogates outright (a 500 instead of a message).
# Tab, line feed and carriage return are allowed in multi-line text only.
_BAD_ANYWHERE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_BAD_IN_A_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
CONTROL_CHARACTERS_MESSAGE = "De tekst bevat ongeldige tekens."


def has_control_characters(value, *, multiline: bool = True) -> bool:
    """Whether ``value`` (a str; anything else is False) holds a character no text input may
    hold: a control character or a lone surrogate. ``multiline=False`` (a one-line input such
    as a name) also refuses tab, line feed and carriage return."""
    if not isinstance(value, str):
        return False
    return (_BAD_ANYWHERE if multiline else _BAD_IN_A_LINE).search(value) is not None


def control_characters_error(value, *, multiline: bool = True) -> str | None:
    """The Dutch message for text with control characters (see :func:`has_control_characters`),
    or None when ``value`` is fine. For services, forms, import rules and API schemas alike."""
    if has_control_characters(value, multiline=multiline):
        return _("De tekst bevat ongeldige tekens.")
    return None


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def text(data, key, errors, *, limit: int, required: bool = False, message=None) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        errors[key] = _("Vul tekst in.")
        return None
    value = (value or "").strip() or None
    if value and has_control_characters(value):
        errors[key] = _("De tekst bevat ongeldige tekens.")
        return None
    if value and len(value) > limit:
        errors[key] = _("Hoogstens %(n)s tekens.", n=limit)
        return None
    if required and not value:
        errors[key] = message or _("Dit veld is verplicht.")
    return value


def choice(data, key, errors, allowed, *, default=None, message=None) -> str | None:
    value = data.get(key)
    if blank(value):
        value = default
    if value is None or value not in allowed:
        errors[key] = message or _("Kies een geldige waarde.")
        return None
    return value


# What a person types, not the wire format: a date field shows the browser's date picker, and
# where a browser shows a plain text box people type 6-12-2026 (issue 14).
BAD_DATE = _l("Vul een geldige datum in, bijvoorbeeld 6-12-2026.")
_DUTCH_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")


def parse_date(text) -> dt.date:
    """A date as the browser sends it (2026-12-06) or as a person types it (6-12-2026,
    6/12/2026, 6.12.2026: day first). ValueError when it is neither."""
    text = str(text).strip()
    found = _DUTCH_DATE.match(text)
    if found:
        day, month, year = (int(p) for p in found.groups())
        return dt.date(year, month, day)
    return dt.date.fromisoformat(text)


def date(data, key, errors, *, required=False, message=None) -> dt.date | None:
    value = data.get(key)
    if blank(value):
        if required:
            errors[key] = message or _("Vul een datum in.")
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return parse_date(value)
    except ValueError:
        errors[key] = str(BAD_DATE)
        return None


def boolean(data, key, errors, *, default=False) -> bool:
    value = data.get(key)
    if blank(value):
        return default
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("y", "yes", "on", "true", "1", "ja"):
        return True
    if str(value).lower() in ("n", "no", "off", "false", "0", "nee"):
        return False
    errors[key] = _("Kies ja of nee.")
    return default


def integer(value) -> int | None:
    """An int from user input, or None (never raises); refuses bools and absurd sizes."""
    if isinstance(value, bool) or blank(value):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if -2**31 < number < 2**31 else None


def id_list(data, key, errors, *, limit: int = 50) -> list[int]:
    raw: Any = data.get(key) or []
    if isinstance(raw, (str, int)) and not isinstance(raw, bool):
        raw = [raw]
    if not isinstance(raw, (list, tuple)):
        errors[key] = _("Geef een lijst.")
        return []
    if len(raw) > limit:
        errors[key] = _("Kies hoogstens %(n)s.", n=limit)
        return []
    ids = []
    for item in raw:
        number = integer(item)
        if number is None or number < 1:
            errors[key] = _("Ongeldige keuze.")
            return []
        if number not in ids:
            ids.append(number)
    return ids
