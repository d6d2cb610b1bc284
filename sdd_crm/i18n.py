"""Dutch first, English available: locale choice and Dutch-formatted dates, numbers, money.

UI strings are written in Dutch (the default language) and translated to English in
``translations/en``; so a missing English translation shows Dutch, never a blank.

One date format per language, everywhere a person reads a date (templates through the
``date`` filter, the audit and conflict screens through :func:`format_day` and
:func:`format_moment`): day, abbreviated month, year — Dutch ``6 dec. 2026``, English
``6 Dec 2026`` — and with a time ``6 dec. 2026 14:05`` in the region's time zone. Never
``12/6/26`` nor ISO (ISO belongs in ``<time datetime>`` attributes only). Durations read in the
unit that fits (:func:`format_duration`): seconds and minutes for short work, hours up to two
days, days after that — never 12,003.3 hours.
"""

from __future__ import annotations

import datetime as dt
import decimal

from babel.dates import get_month_names
from flask import current_app, request, session
from flask_babel import (
    format_currency,
    format_date,
    format_decimal,
    get_locale,
    ngettext,
    to_user_timezone,
)
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if current_user and getattr(current_user, "is_authenticated", False):
        if current_user.locale in languages:
            return current_user.locale
    lang = session.get("lang") if request else None
    if lang in languages:
        return lang
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def local_today() -> dt.date:
    """Today in the region's time zone (the server may run in UTC)."""
    from zoneinfo import ZoneInfo

    zone = current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Amsterdam"
    return dt.datetime.now(ZoneInfo(zone)).date()


def local_day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the region's time zone, as a UTC moment."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Amsterdam")
    return dt.datetime.combine(day, dt.time.min, tzinfo=zone).astimezone(dt.UTC)


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


# Languages whose abbreviated months take a full stop (Taalunie: "6 dec. 2026", but "6 mei").
_ABBREVIATION_STOP = {"nl"}


def _month(month: int) -> str:
    locale = get_locale()
    short = get_month_names("abbreviated", "format", locale)[month]
    if locale is not None and locale.language in _ABBREVIATION_STOP \
            and short != get_month_names("wide", "format", locale)[month] \
            and not short.endswith("."):
        short += "."
    return short


def format_day(value) -> str:
    """A date (or a moment's local date) as ``6 dec. 2026`` / ``6 Dec 2026``; "" for nothing."""
    if value in (None, ""):
        return ""
    if isinstance(value, dt.datetime):
        value = _local(value).date()
    return f"{value.day} {_month(value.month)} {value.year}"


def format_moment(value) -> str:
    """A moment in the region's time zone: ``6 dec. 2026 14:05``; a bare date as a day."""
    if value in (None, ""):
        return ""
    if not isinstance(value, dt.datetime):
        return format_day(value)
    local = _local(value)
    return f"{format_day(local.date())} {local:%H:%M}"


def _local(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:  # stored naive in UTC (SQLite)
        moment = moment.replace(tzinfo=dt.UTC)
    return to_user_timezone(moment)


def format_duration(value, unit: str = "seconds") -> str:
    """A length of time as a person says it: ``40 seconden``, ``12 minuten``, ``5 uur``,
    ``3,5 dagen``, ``500 dagen``. ``value`` is a timedelta or a number of ``unit``
    (``seconds``, ``minutes``, ``hours`` or ``days``); "" for nothing."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.timedelta):
        seconds = value.total_seconds()
    else:
        seconds = float(value) * {"seconds": 1, "minutes": 60, "hours": 3600,
                                  "days": 86400}[unit]
    seconds = max(0.0, seconds)
    if seconds < 60:
        n = round(seconds)
        return ngettext("%(n)s seconde", "%(n)s seconden", n, n=format_decimal(n))
    if seconds < 3600:
        n = round(seconds / 60)
        return ngettext("%(n)s minuut", "%(n)s minuten", n, n=format_decimal(n))
    if seconds < 2 * 86400:
        hours = seconds / 3600
        n = round(hours, 1) if hours < 10 else round(hours)
        return ngettext("%(n)s uur", "%(n)s uur", n, n=format_decimal(n))
    days = seconds / 86400
    n = round(days, 1) if days < 10 else round(days)
    return ngettext("%(n)s dag", "%(n)s dagen", n, n=format_decimal(n))


def register_filters(app) -> None:
    @app.template_filter("date")
    def _date(value, fmt="medium"):
        """A date as ``6 dec. 2026``, a moment as ``6 dec. 2026 14:05`` (``fmt='long'``:
        Babel's long form, ``6 december 2026``)."""
        if value in (None, ""):
            return ""
        if fmt == "medium":
            return format_moment(value)
        if isinstance(value, dt.datetime):
            value = _local(value).date()
        return format_date(value, fmt)

    @app.template_filter("day")
    def _day(value):
        """Only the day, also of a moment: ``6 dec. 2026``."""
        return format_day(value)

    @app.template_filter("duration")
    def _duration(value, unit="seconds"):
        return format_duration(value, unit)

    @app.template_filter("isodate")
    def _isodate(value):
        """For ``<time datetime="…">`` attributes only (machines read it, people do not)."""
        if value in (None, ""):
            return ""
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)  # stored naive in UTC (SQLite)
        return value.isoformat()

    @app.template_filter("number")
    def _number(value):
        if value is None:
            return ""
        return format_decimal(value)

    @app.template_filter("money")
    def _money(value):
        if value is None:
            return ""
        return format_currency(decimal.Decimal(value), "EUR")
