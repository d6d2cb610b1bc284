"""Query parameters of the list endpoints: a bad value is a 400 with a Dutch message."""

from __future__ import annotations

import datetime as dt

from flask import request
from flask_babel import gettext as _

from .errors import bad_request

BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def query_choice(name: str, allowed, default: str | None = None) -> str | None:
    value = request.args.get(name)
    if value in (None, ""):
        return default
    if value not in allowed:
        bad_request(_("Ongeldige parameter %(name)s.", name=name),
                    **{name: _("Kies uit: %(values)s.", values=", ".join(sorted(allowed)))})
    return value


def query_date(name: str) -> dt.date | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        bad_request(_("Ongeldige parameter %(name)s.", name=name),
                    **{name: _("Vul een datum in als JJJJ-MM-DD.")})


def query_bool(name: str) -> bool | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    if value.lower() not in BOOLEANS:
        bad_request(_("Ongeldige parameter %(name)s.", name=name), **{name: _("Vul true of false in.")})
    return BOOLEANS[value.lower()]
