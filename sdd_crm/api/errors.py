"""JSON errors of the API, and the reading of what a client sends (never a 500 for bad input).

Statuses: 400 malformed JSON, a body that is not an object, or a bad query parameter;
401 no or bad token; 403 not allowed; 404 missing or deleted; 409 stale ``version`` or a
clash with another record; 413 body over 1 MB; 422 invalid fields (``fields``: field → message);
428 a PATCH without ``version``.

The domain exceptions (``ValidationError``, ``ConflictError``, ``PermissionDenied``, ``NotFound``)
and database refusals become this JSON in the app-level handlers of ``sdd_crm.errors``; only what
is particular to the API is answered here (:class:`ApiError`).
"""

from __future__ import annotations

import json
from typing import Any

from flask import abort, request
from flask_babel import gettext as _

from ..errors import api_error
from .fields import MAX_ID

MAX_PAGE = 1_000_000


class ApiError(Exception):
    """An error answered as it is: ``raise ApiError(400, "...", fields={...})``."""

    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


def register(bp) -> None:
    @bp.errorhandler(ApiError)
    def _api_error(e: ApiError):
        return api_error(e.status, e.message, **e.extra)


def bad_request(message: str, **fields: str):
    raise ApiError(400, message, **({"fields": fields} if fields else {}))


def forbidden() -> None:
    raise ApiError(403, _("U heeft geen recht om dit te doen."))


def version_required() -> ApiError:
    msg = _("Stuur de versie mee die u het laatst heeft opgehaald (veld version).")
    return ApiError(428, msg, code="version_required", fields={"version": msg})


def check_id(value: int) -> int:
    """An id from the URL; one that cannot exist is simply not found."""
    if not 1 <= value <= MAX_ID:
        abort(404)
    return value


def _no_constants(name: str):
    raise ValueError(name)


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or 400 with a Dutch message (whatever the content type:
    a body that is not JSON is refused as such)."""
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


def check_query_text() -> None:
    """Query parameters go into SQL as parameters; PostgreSQL refuses NUL characters in text."""
    for name, value in request.args.items(multi=True):
        if "\x00" in value or "\x00" in name:
            bad_request(_("Ongeldige tekens in parameter %(name)s.", name=name.replace("\x00", "")))
