"""GET /api/v1/openapi.json: the OpenAPI 3.1 document flask-smorest generates from the routes and
their schemas, with the security scheme, the shared error answers and the tags added here.

Paths are relative to the server URL ``/api/v1``. Every operation answers 401 without a valid
token; the document adds that, and 400/413/422 for a body, 400 for query parameters and 404 for
a path parameter, so a route only declares the rest (``@errors(403, 409)``).
"""

from __future__ import annotations

from flask import current_app, jsonify

from . import bp

DESCRIPTION = """\
The JSON API of SDD CRM. Authenticate with `Authorization: Bearer <token>` (a token from
`flask users token EMAIL`). Every error is `{"error": {"status", "code", "message"}}` with a 4xx
status; messages are in Dutch. Validation errors (422) add `fields`, a map of field to message;
unknown or read-only fields are refused. A PATCH must send the `version` it last fetched:
without it 428 (`version_required`), with a stale one 409 with `current_version`, `current`
(the record now) and `changed_fields`. Money is a JSON number in euros.
Lists return `items`, `page`, `per_page`, `has_next` and the `next`/`prev` URLs; there is no
total count (it would cost a COUNT over every row).
Viewers read organisations only; local account managers change the organisations of their own
municipality and those whose account team they are in (DESIGN 4.4).
A confidential interaction is visible to its author, the organisation's account team and admins
only; a lead to its author, the user or municipality it is shared with, regional account
managers and admins. Outside that circle a record is absent from lists and 404 on its own URL.
A lead moves on by `PATCH {"status": ...}`, only by the receiving side and only along
new → accepted → in_progress → won | lost, or new → declined (with `decline_reason`).
"""

TAGS = ["organisations", "contacts", "interactions", "tasks", "leads", "value chains",
        "supply links", "criticality", "programmes", "jobs", "audit", "meta"]


# The ``headers=`` of a 201 (``@bp.response(201, ..., headers=LOCATION)``) and of a 202 that
# started a background job.
LOCATION = {"Location": {"schema": {"type": "string"}, "description": "URL of the new record."}}
JOB_LOCATION = {"Location": {"schema": {"type": "string"},
                             "description": "URL of the job: /api/v1/jobs/{job_id}."}}


def _error(description: str, headers: dict | None = None) -> dict:
    response = {"description": description,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if headers:
        response["headers"] = headers
    return response


RESPONSES = {
    "BadRequest": _error("Malformed JSON, a body that is not an object, or a bad query parameter."),
    "Unauthorized": _error("No token, or an invalid or revoked one.",
                           {"WWW-Authenticate": {"schema": {"type": "string"}}}),
    "Forbidden": _error("Your role may not do this (viewers read organisations only), or you "
                        "are not the author, assignee or receiving side this change needs."),
    "NotFound": _error("No such record, or it was deleted."),
    "Conflict": _error("The record changed since you fetched it (stale version), or it clashes "
                       "with another record. For a stale `version` the error carries "
                       "`current_version`, `current` (the record as its GET returns it now) and "
                       "`changed_fields` (what changed since the version sent): merge your "
                       "change into `current` and send it again with `current_version`."),
    "TooLarge": _error("The body is larger than 1 MB."),
    "ValidationFailed": _error("Invalid fields; `fields` maps each field to a message. Unknown "
                               "fields are refused too."),
    "VersionRequired": _error("PATCH without `version` (code `version_required`)."),
}
# What flask-smorest calls the answers it documents by itself.
_SMOREST_NAMES = {"UNPROCESSABLE_CONTENT": "ValidationFailed", "UNPROCESSABLE_ENTITY": "ValidationFailed",
                  "BAD_REQUEST": "BadRequest"}


def init_spec(spec) -> None:
    """Called once per app, before the routes are registered."""
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                   "description": "An API token of a user."})
    for name, response in RESPONSES.items():
        spec.components.response(name, response)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/responses/{name}"}


def _complete(path: str, item: dict) -> None:
    common = [p for p in item.get("parameters", []) if isinstance(p, dict)]
    for method, op in item.items():
        if method not in ("get", "post", "put", "patch", "delete"):
            continue
        responses = op.setdefault("responses", {})
        for code, response in list(responses.items()):
            ref = response.get("$ref", "") if isinstance(response, dict) else ""
            name = ref.rsplit("/", 1)[-1]
            if name in _SMOREST_NAMES:
                responses[code] = _ref(_SMOREST_NAMES[name])
        if path == "/openapi.json":
            continue
        params = common + [p for p in op.get("parameters", []) if isinstance(p, dict)]
        wanted = {"401": "Unauthorized"}
        if "requestBody" in op:
            wanted |= {"400": "BadRequest", "413": "TooLarge", "422": "ValidationFailed"}
        if any(p.get("in") == "query" for p in params):
            wanted["400"] = "BadRequest"
        if any(p.get("in") == "path" for p in params):
            wanted["404"] = "NotFound"
        for code, name in wanted.items():
            responses.setdefault(code, _ref(name))
        op["responses"] = dict(sorted(responses.items()))


def openapi_document() -> dict:
    api = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
    document = api.spec.to_dict()
    prefix = bp.url_prefix
    paths = {}
    for path, item in document.get("paths", {}).items():
        if path.startswith(prefix + "/"):
            path = path[len(prefix):]
        paths[path] = item
    for path, item in paths.items():
        _complete(path, item)
    document["paths"] = paths
    document["servers"] = [{"url": prefix}]
    document["security"] = [{"bearerAuth": []}]
    document["info"] |= {"description": DESCRIPTION,
                         "license": {"name": "EUPL-1.2", "identifier": "EUPL-1.2"}}
    document["tags"] = [{"name": t} for t in TAGS]
    responses = document.setdefault("components", {}).setdefault("responses", {})
    for name in _SMOREST_NAMES:
        responses.pop(name, None)
    from .schemas.base import COMPONENTS

    schemas = document["components"].setdefault("schemas", {})
    for name, schema in COMPONENTS.items():
        if getattr(schema, "openapi_extra", None) and name in schemas:
            schemas[name].update(schema.openapi_extra)
    return document


@bp.get("/openapi.json", tags=["meta"])
@bp.doc(operationId="getOpenApi", security=[], summary="This document (no token needed).")
@bp.response(200, description="OpenAPI 3.1 document.")
def openapi():
    return jsonify(openapi_document())
