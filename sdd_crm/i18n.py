"""Dutch first, English available: locale choice and Dutch-formatted dates, numbers, money.

UI strings are written in Dutch (the default language) and translated to English in
``translations/en``; so a missing English translation shows Dutch, never a blank.
"""

from __future__ import annotations

import datetime as dt
import decimal

from flask import current_app, request, session
from flask_babel import format_date, format_datetime, format_decimal, format_currency
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


def select_timezone() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def register_filters(app) -> None:
    @app.template_filter("date")
    def _date(value, fmt="medium"):
        if value in (None, ""):
            return ""
        if isinstance(value, dt.datetime):
            return format_datetime(value, "short" if fmt == "medium" else fmt)
        return format_date(value, fmt)

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
