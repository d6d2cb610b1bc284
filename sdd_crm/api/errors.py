"""JSON errors of the API, and the parsing of what a client sends (never a 500 for bad input).

Statuses: 400 malformed JSON, a body that is not an object, or a bad query parameter;
401 no or bad token; 403 not allowed; 404 missing or deleted; 409 stale ``version`` or a
clash with another record; 413 body over 1 MB; 422 invalid fields (``fields``: field → message);
428 a PATCH without ``version``.
"""

from __future__ import annotations

import json
from typing import Any

from flask import abort, current_app, request
from flask_babel import gettext as _
from sqlalchemy.exc import DataError, IntegrityError

from ..errors import api_error
from ..extensions import db
from ..exceptions import PermissionDenied
from ..exceptions import ConflictError, ValidationError
from . import bp

# Primary keys are 32-bit integers on PostgreSQL: a larger id cannot exist (and must not reach
# the database, which would refuse the parameter with an error instead of finding nothing).
MAX_ID = 2**31 - 1
MAX_PAGE = 1_000_000


class ApiError(Exception):
    """An error answered as it is: ``raise ApiError(400, "...", fields={...})``."""

    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


@bp.errorhandler(ApiError)
def _api_error(e: ApiError):
    db.session.rollback()
    return api_error(e.status, e.message, **e.extra)


def bad_request(message: str, **fields: str):
    raise ApiError(400, message, **({"fields": fields} if fields else {}))


@bp.errorhandler(ValidationError)
def _validation(e: ValidationError):
    db.session.rollback()
    fields = {k: v for k, v in e.errors.items() if k != "_"}
    return api_error(422, e.errors.get("_"), fields=fields)


@bp.errorhandler(ConflictError)
def _conflict(e):
    db.session.rollback()
    return api_error(409, _("Dit record is intussen gewijzigd; haal het opnieuw op en stuur de nieuwe versie mee."))


@bp.errorhandler(IntegrityError)
def _integrity(e):
    # Two requests racing for the same KvK number: the database refuses the second.
    db.session.rollback()
    return api_error(409, _("Dit botst met een bestaand record, bijvoorbeeld een KvK-nummer dat al bestaat."))


@bp.errorhandler(DataError)
def _data(e):
    db.session.rollback()
    current_app.logger.warning("API input refused by the database: %s", e.orig)
    return api_error(422, _("De gegevens zijn niet geldig."))


@bp.errorhandler(PermissionDenied)
def _denied(e):
    db.session.rollback()
    return api_error(403, _("U heeft geen recht om dit te doen."))


def forbidden() -> None:
    raise ApiError(403, _("U heeft geen recht om dit te doen."))


def check_id(value: int) -> int:
    """An id from the URL; one that cannot exist is simply not found."""
    if not 1 <= value <= MAX_ID:
        abort(404)
    return value


def _no_constants(name: str):
    raise ValueError(name)


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or 400 with a Dutch message."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        bad_request(_("Stuur een JSON-object in de body."))
    try:
        data = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        bad_request(_("De body is geen geldige JSON."))
    if not isinstance(data, dict):
        bad_request(_("Stuur een JSON-object in de body, geen lijst of losse waarde."))
    return data


def query_int(name: str, default: int | None = None, *, minimum: int = 1,
              maximum: int = MAX_ID) -> int | None:
    """An integer query parameter; 400 when it is not a whole number in range."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        bad_request(_("Ongeldige parameter %(name)s.", name=name), **{name: _("Vul een heel getal in.")})
    if not minimum <= value <= maximum:
        bad_request(_("Ongeldige parameter %(name)s.", name=name),
                    **{name: _("Vul een getal tussen %(lo)s en %(hi)s in.", lo=minimum, hi=maximum)})
    return value


def page_args() -> tuple[int, int]:
    """``?page=`` (from 1) and ``?per_page=`` (1 to API_MAX_PAGE_SIZE; larger is clamped)."""
    page = query_int("page", 1, maximum=MAX_PAGE)
    per_page = query_int("per_page", current_app.config["PAGE_SIZE"], maximum=MAX_ID)
    return page, min(per_page, current_app.config["API_MAX_PAGE_SIZE"])


def check_query_text() -> None:
    """Query parameters go into SQL as parameters; PostgreSQL refuses NUL characters in text."""
    for name, value in request.args.items(multi=True):
        if "\x00" in value or "\x00" in name:
            bad_request(_("Ongeldige tekens in parameter %(name)s.", name=name.replace("\x00", "")))


def read_version(value, *, required: bool) -> int | None:
    """The ``version`` the client last saw; 428 when it is required and missing, 422 if invalid."""
    if value is None or value == "":
        if required:
            msg = _("Stuur de versie mee die u het laatst heeft opgehaald (veld version).")
            raise ApiError(428, msg, code="version_required", fields={"version": msg})
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValidationError({"version": _("Ongeldige versie.")})
    try:
        number = int(value)
    except ValueError:
        raise ValidationError({"version": _("Ongeldige versie.")}) from None
    if not 1 <= number <= MAX_ID:
        raise ValidationError({"version": _("Ongeldige versie.")})
    return number
