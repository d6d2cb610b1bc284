"""The JSON API under /api/v1: bearer tokens, the same services as the HTML views (DESIGN 5).

Built on flask-smorest: one marshmallow schema per resource (``api/schemas/``) validates what a
client sends (``@bp.arguments``), serialises the answer (``@bp.response``) and generates
``/api/v1/openapi.json``. Errors stay DESIGN 5's JSON: a schema's refusal becomes a 422 with
``fields`` (400 for a query parameter), through the app-level handlers of ``sdd_crm.errors``.
"""

from __future__ import annotations

import functools
import re

from flask import Flask, g, request
from flask_babel import gettext
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import MultiDict

from ..exceptions import ValidationError
from ..extensions import csrf
from . import errors as _errors
from .errors import ApiError, check_query_text, json_object


def _first_message(messages) -> str | None:
    if isinstance(messages, str):
        return messages
    if isinstance(messages, (list, tuple)):
        for m in messages:
            if (found := _first_message(m)) is not None:
                return found
    if isinstance(messages, dict):
        for m in messages.values():
            if (found := _first_message(m)) is not None:
                return found
    return None


def field_messages(messages) -> dict[str, str]:
    """marshmallow's ``{field: [messages] | {nested}}`` → ``{field: first message}``, in the
    user's language where the catalogue has the message (Dutch otherwise)."""
    if not isinstance(messages, dict):
        return {"_": gettext(_first_message(messages) or "De gegevens zijn niet geldig.")}
    out = {}
    for key, value in messages.items():
        name = "_" if key == "_schema" else str(key)
        out[name] = gettext(_first_message(value) or "De gegevens zijn niet geldig.")
    return out


class ApiParser(FlaskParser):
    """webargs, the API's way: the body must be a JSON object (400 otherwise, whatever the content
    type), empty query parameters count as absent, and a refusal is DESIGN 5's error."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "json": None}

    def load_json(self, req, schema):
        g.api_body_schema = schema  # for the 409 of a refusal that depends on stored data
        return json_object()

    def load_querystring(self, req, schema):
        check_query_text()
        args = MultiDict([(k, v) for k, v in req.args.items(multi=True) if v.strip() != ""])
        return self._makeproxy(args, schema)

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        messages = error.messages
        location = next(iter(messages)) if isinstance(messages, dict) and len(messages) == 1 else None
        if location in ("json", "query", "querystring", "view_args", "path"):
            messages = messages[location]
        fields = field_messages(messages)
        status = error_status_code or (400 if location in ("query", "querystring") else 422)
        if status == 422:
            refusal = ValidationError(fields)
            refusal.from_schema = True
            raise refusal
        name = next(iter(fields), "")
        raise ApiError(status, "Ongeldige parameter %s." % name, fields=fields)


class Blueprint(SmorestBlueprint):
    ARGUMENTS_PARSER = ApiParser()

    def arguments(self, schema, *, location="json", **kwargs):
        if location in ("query", "querystring"):
            kwargs.setdefault("error_status_code", 400)
        return super().arguments(schema, location=location, **kwargs)


class Api(SmorestApi):
    """flask-smorest's Api, but the app answers HTTP errors itself (``sdd_crm.errors``: JSON under
    /api/, ``Allow`` kept on a 405) and ``bp`` serves the document (``openapi.py``)."""

    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        pass

    def _register_doc_blueprint(self):
        pass


bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bearer tokens only, never the session cookie: a forged cross-site request carries no token,
# so CSRF protection has nothing to protect here.
csrf.exempt(bp)
_errors.register(bp)


@bp.errorhandler(ValidationError)
def _refused(e: ValidationError):
    """422 as everywhere (``sdd_crm.errors``), except that a service's refusal of only fields whose
    validity depends on stored data (``data_dependent=True``: a reference, a unique number) is a
    409: the request was well formed, the data it points at is not there or clashes."""
    from ..errors import api_error, validation_response

    schema = g.get("api_body_schema")
    if schema is not None and not getattr(e, "from_schema", False) and e.errors \
            and all(_allowed_yet_refused(schema, name) for name in e.errors):
        return api_error(409, next(iter(e.errors.values())), fields=dict(e.errors))
    return validation_response(e)


def _allowed_yet_refused(schema, name: str) -> bool:
    """Whether field ``name`` of the body is data-dependent and its value fits the document."""
    field = schema.fields.get(name)
    if field is None or not getattr(field, "data_dependent", False):
        return False
    body = request.get_json(silent=True) or {}
    if name not in body:
        return False  # refused for what the request left out, not for a value it sent
    value = body[name]
    if value is None:
        return False  # null points at nothing stored
    pattern = (field.metadata or {}).get("pattern")
    if pattern and isinstance(value, str):
        return re.fullmatch(pattern, value) is not None
    return True

RESPONSE_NAMES = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
    413: "TooLarge", 422: "ValidationFailed", 428: "VersionRequired",
}


def errors(*codes: int):
    """Document the error answers an operation may give besides the ones the document adds by
    itself (401 always; 400/413/422 with a body; 400 with query parameters; 404 with a path
    parameter): ``@errors(403, 409)``."""
    return bp.doc(responses={code: RESPONSE_NAMES[code] for code in codes})


def guard(check):
    """Run ``check()`` (a permission check that raises) before the body is read, so a viewer's
    write is a 403 whatever it sends. Put it between the route and ``@bp.arguments``."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            check()
            return view(*args, **kwargs)

        return wrapper

    return decorator


from . import auth, openapi  # noqa: E402,F401
from . import contacts, organisations  # noqa: E402,F401
from . import gdpr  # noqa: E402,F401  (contact export and erasure, GDPR art. 15/17)
from . import interactions, leads, tasks  # noqa: E402,F401
from . import criticality, jobs  # noqa: E402,F401
from . import clusters, supply_links, value_chains  # noqa: E402,F401
from . import programme_exports, programmes  # noqa: E402,F401
from . import restore  # noqa: E402,F401
from . import audit  # noqa: E402,F401


_INPUT_RULES = ("pattern", "maxLength", "minLength", "maxItems", "minItems")


def _output_types_only(self, field, ret, **kwargs):
    """An output view documents the types; the input rules (pattern, lengths) are for input."""
    schema = field
    while getattr(schema, "parent", None) is not None:
        schema = schema.parent
    if not getattr(schema, "api_input", False):
        for key in _INPUT_RULES:
            ret.pop(key, None)
    return {}


def init_app(app: Flask) -> Api:
    """Register the API on ``app`` through flask-smorest (called by ``create_app``)."""
    from .openapi import init_spec
    from .schemas.base import COMPONENTS

    app.config.setdefault("API_TITLE", "SDD CRM API")
    app.config.setdefault("API_VERSION", "1.0.0")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    api = Api()
    api.ERROR_SCHEMA = COMPONENTS["Error"].__class__
    api.init_app(app)
    api.ma_plugin.converter.add_attribute_function(_output_types_only)
    init_spec(api.spec)
    for name, schema in COMPONENTS.items():
        if name not in api.spec.components.schemas:  # "Error" is in already (ERROR_SCHEMA)
            api.spec.components.schema(name, schema=schema)
    api.register_blueprint(bp)
    from .conflicts import register as register_conflicts

    register_conflicts(app)  # a stale version's 409 carries the current record
    return api


__all__ = ["bp", "errors", "guard", "init_app"]
