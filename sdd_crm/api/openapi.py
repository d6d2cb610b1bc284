"""GET /api/v1/openapi.json: the OpenAPI 3.1 document of exactly the routes of this blueprint.

A test compares it with ``app.url_map`` and checks real responses against its schemas.
"""

from __future__ import annotations

from flask import current_app, jsonify

from ..contacts.services import LANGUAGES
from ..organisations.models import OrgStatus, OrgType, SizeClass
from ..organisations.queries import SORTS
from . import bp


def _nullable(kind: str, **extra) -> dict:
    return {"type": [kind, "null"], **extra}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict, required=(), closed: bool = True) -> dict:
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


TEXT = {"type": "string"}
MONEY = _nullable("number", minimum=0, maximum=9999999999999.99,
                  description="Euros, at most two decimals; input may also be a string such as "
                              "\"1.250.000,00\".")

ORG_INPUT = {
    "name": {"type": "string", "maxLength": 200},
    "org_type": {"type": "string", "enum": [t.value for t in OrgType]},
    "kvk_number": _nullable("string", description="8 digits (KvK); unique."),
    "establishment_number": _nullable("string", description="12 digits (vestigingsnummer) of the main establishment."),
    "legal_form": _nullable("string", maxLength=100),
    "street": _nullable("string", maxLength=200),
    "postcode": _nullable("string", description="Dutch postcode, stored as \"1234 AB\"."),
    "city": _nullable("string", maxLength=100),
    "municipality": _nullable("string", description="CBS code such as GM0505; follows from `city` when not given."),
    "phone": _nullable("string", description="Stored in E.164, e.g. +31781234567."),
    "email": _nullable("string", maxLength=254),
    "website": _nullable("string", maxLength=255),
    "description": _nullable("string", maxLength=5000),
    "sbi_codes": {
        "type": ["array", "null"], "maxItems": 20,
        "description": "The first code (or the one with main: true) is the main activity.",
        "items": {"oneOf": [{"type": "string"}, _ref("SbiCodeInput")]},
    },
    "employees": _nullable("integer", minimum=0, maximum=10_000_000),
    "annual_turnover_eur": MONEY,
    "balance_sheet_total_eur": MONEY,
    "parent_id": _nullable("integer", minimum=1, description="The group this organisation belongs to."),
    "status": {"type": "string", "enum": [s.value for s in OrgStatus]},
    "tags": {"type": ["array", "null"], "maxItems": 30, "items": {"type": "string", "maxLength": 60}},
}

ORG_OUTPUT = {
    "id": {"type": "integer"},
    "name": TEXT,
    "org_type": ORG_INPUT["org_type"],
    "kvk_number": _nullable("string"),
    "establishment_number": _nullable("string"),
    "legal_form": _nullable("string"),
    "street": _nullable("string"),
    "postcode": _nullable("string"),
    "city": _nullable("string"),
    "municipality": _nullable("string", description="CBS code"),
    "phone": _nullable("string"),
    "email": _nullable("string"),
    "website": _nullable("string"),
    "description": _nullable("string"),
    "sbi_codes": {"type": "array", "items": _ref("SbiCode")},
    "employees": _nullable("integer"),
    "annual_turnover_eur": MONEY,
    "balance_sheet_total_eur": MONEY,
    "size_class": {"type": "string", "enum": [s.value for s in SizeClass],
                   "description": "EU size class (Recommendation 2003/361/EC)."},
    "parent_id": _nullable("integer"),
    "merged_into_id": _nullable("integer", description="Set when this record was merged into another (a duplicate): the surviving record's id. Lists show live records only; the merged one stays readable by id."),
    "status": ORG_INPUT["status"],
    "tags": {"type": "array", "items": TEXT},
    "critical": {"type": "boolean", "description": "The effective flag (manual overrides computed)."},
    "version": {"type": "integer", "description": "Send it back with a PATCH; a stale one gets 409."},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
}

CONTACT_INPUT = {
    "organisation_id": {"type": "integer", "minimum": 1},
    "first_name": _nullable("string", maxLength=100),
    "last_name": {"type": "string", "maxLength": 150},
    "function": _nullable("string", maxLength=150),
    "email": _nullable("string", maxLength=254),
    "phone": _nullable("string", description="Stored in E.164."),
    "mobile": _nullable("string", description="Stored in E.164."),
    "preferred_language": {"type": "string", "enum": list(LANGUAGES)},
    "lawful_basis": {"type": "string", "enum": ["public_task", "consent"],
                     "description": "GDPR art. 6(1); consent needs consent_date."},
    "consent_date": _nullable("string", format="date"),
    "source": _nullable("string", maxLength=200),
    "objection": {"type": "boolean"},
    "review_due": _nullable("string", format="date"),
    "notes": _nullable("string", maxLength=2000),
}
CONTACT_OUTPUT = {
    "id": {"type": "integer"},
    **{k: dict(v) for k, v in CONTACT_INPUT.items()},
    "last_name": TEXT,
    "version": {"type": "integer", "description": "Send it back with a PATCH; a stale one gets 409."},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
}
VERSION_IN = {"type": "integer", "minimum": 1, "description": "The version you last fetched."}


def _list_schema(item: str) -> dict:
    return _obj({
        "items": {"type": "array", "items": _ref(item)},
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1},
        "has_next": {"type": "boolean"},
        "next": _nullable("string", description="URL of the next page, or null."),
        "prev": _nullable("string", description="URL of the previous page, or null."),
    }, required=("items", "page", "per_page", "has_next", "next", "prev"))


def _schemas() -> dict:
    from .openapi_accounts import account_schemas
    from .openapi_criticality import criticality_schemas
    from .openapi_programmes import programme_schemas
    from .openapi_valuechains import valuechain_schemas

    return account_schemas() | valuechain_schemas() | criticality_schemas() | programme_schemas() | {
        "Error": _obj({"error": _obj({
            "status": {"type": "integer"},
            "code": {"type": "string", "examples": ["validation_error"]},
            "message": {"type": "string", "description": "In Dutch (or the user's language)."},
            "fields": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "Field → message, on 422 (and on 400 for query parameters)."},
        }, required=("status", "code", "message"))}, required=("error",)),
        "SbiCode": _obj({"code": TEXT, "version": {"type": "string", "enum": ["2008", "2025"]},
                         "main": {"type": "boolean"}}, required=("code", "version", "main")),
        "SbiCodeInput": _obj({"code": TEXT, "version": {"type": "string", "enum": ["2008", "2025"]},
                              "main": {"type": "boolean"}}, required=("code",)),
        "CriticalityFactor": _obj({
            "name": TEXT, "value": {"type": ["number", "string", "boolean", "null"]},
            "weight": _nullable("number"), "contribution": _nullable("number"),
        }, required=("name", "value", "weight", "contribution")),
        "Criticality": _obj({
            "score": _nullable("number"),
            "flag_source": {"type": ["string", "null"], "enum": ["manual", "computed", None],
                            "description": "manual when a manual flag is set, computed when an "
                                           "assessment exists, else null."},
            "manual": _nullable("boolean"),
            "manual_reason": _nullable("string"),
            "computed": _nullable("boolean"),
            "threshold": _nullable("number"),
            "assessed_at": _nullable("string", format="date-time"),
            "factors": {"type": "array", "items": _ref("CriticalityFactor"),
                        "description": "Of the latest assessment; empty without one."},
        }, required=("score", "flag_source", "factors")),
        "Organisation": _obj(ORG_OUTPUT, required=ORG_OUTPUT),
        "OrganisationDetail": _obj(ORG_OUTPUT | {"criticality": _ref("Criticality")},
                                   required=[*ORG_OUTPUT, "criticality"]),
        "OrganisationCreate": _obj(ORG_INPUT, required=("name",)),
        "OrganisationPatch": _obj(ORG_INPUT | {"version": VERSION_IN}, required=("version",)),
        "OrganisationList": _list_schema("Organisation"),
        "Contact": _obj(CONTACT_OUTPUT, required=CONTACT_OUTPUT),
        "ContactCreate": _obj(CONTACT_INPUT, required=("organisation_id", "last_name")),
        "ContactPatch": _obj(CONTACT_INPUT | {"version": VERSION_IN}, required=("version",)),
        "ContactList": _list_schema("Contact"),
    }


def _error(description: str, headers: dict | None = None) -> dict:
    response = {"description": description,
                "content": {"application/json": {"schema": _ref("Error")}}}
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
                       "with another record."),
    "TooLarge": _error("The body is larger than 1 MB."),
    "ValidationFailed": _error("Invalid fields; `fields` maps each field to a message. Unknown "
                               "fields are refused too."),
    "VersionRequired": _error("PATCH without `version` (code `version_required`)."),
}


def _json(schema_name: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": _ref(schema_name)}}}


def _r(*names: str) -> dict:
    codes = {"BadRequest": "400", "Unauthorized": "401", "Forbidden": "403", "NotFound": "404",
             "Conflict": "409", "TooLarge": "413", "ValidationFailed": "422",
             "VersionRequired": "428"}
    return {codes[n]: {"$ref": f"#/components/responses/{n}"} for n in names}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def _parameters(max_page_size: int, page_size: int) -> dict:
    from .openapi_accounts import account_parameters

    return account_parameters() | {
        "page": _query("page", {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
                       "Page number, from 1."),
        "per_page": _query("per_page", {"type": "integer", "minimum": 1, "default": page_size},
                           f"Items per page; values above {max_page_size} are clamped to {max_page_size}."),
        "q": _query("q", {"type": "string", "maxLength": 200}, "Search text."),
        "org_id": {"name": "org_id", "in": "path", "required": True,
                   "schema": {"type": "integer", "minimum": 1}},
        "contact_id": {"name": "contact_id", "in": "path", "required": True,
                       "schema": {"type": "integer", "minimum": 1}},
        "version": _query("version", {"type": "integer", "minimum": 1},
                          "Optional: the version you last fetched; a stale one gets 409."),
    }


def _p(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


def _body(schema_name: str) -> dict:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema_name)}}}


def _created(schema_name: str) -> dict:
    response = _json(schema_name, "Created.")
    response["headers"] = {"Location": {"schema": {"type": "string"},
                                        "description": "URL of the new record."}}
    return response


def _paths() -> dict:
    from .openapi_accounts import account_paths
    from .openapi_criticality import criticality_paths
    from .openapi_programmes import programme_paths
    from .openapi_valuechains import valuechain_paths

    return (_core_paths() | account_paths() | valuechain_paths() | criticality_paths()
            | programme_paths())


def _core_paths() -> dict:
    org_filters = [
        _p("q"),
        _query("kvk", {"type": "string"}, "KvK number (8 digits)."),
        _query("municipality", {"type": "string"}, "CBS code, e.g. GM0505."),
        _query("cluster", {"type": "integer", "minimum": 1}, "Cluster id."),
        _query("type", {"type": "string", "enum": [t.value for t in OrgType]}, "Organisation type."),
        _query("size_class", {"type": "string", "enum": [s.value for s in SizeClass]}, "EU size class."),
        _query("critical", {"type": "string", "enum": ["true", "false", "1", "0"]}, "Critical or not."),
        _query("status", {"type": "string", "enum": [s.value for s in OrgStatus]}, "Status."),
        _query("sort", {"type": "string", "enum": list(SORTS), "default": "name"}, "Sort order."),
        _p("page"), _p("per_page"),
    ]
    return {
        "/organisations": {
            "get": {"operationId": "listOrganisations", "tags": ["organisations"],
                    "summary": "List organisations (not deleted), filtered and paginated.",
                    "parameters": org_filters,
                    "responses": {"200": _json("OrganisationList", "One page."),
                                  **_r("BadRequest", "Unauthorized")}},
            "post": {"operationId": "createOrganisation", "tags": ["organisations"],
                     "summary": "Create an organisation.",
                     "requestBody": _body("OrganisationCreate"),
                     "responses": {"201": _created("OrganisationDetail"),
                                   **_r("BadRequest", "Unauthorized", "Forbidden", "Conflict",
                                        "TooLarge", "ValidationFailed")}},
        },
        "/organisations/{org_id}": {
            "parameters": [_p("org_id")],
            "get": {"operationId": "getOrganisation", "tags": ["organisations"],
                    "summary": "One organisation, with its criticality.",
                    "responses": {"200": _json("OrganisationDetail", "The organisation."),
                                  **_r("Unauthorized", "NotFound")}},
            "patch": {"operationId": "updateOrganisation", "tags": ["organisations"],
                      "summary": "Change the fields sent; `version` is required.",
                      "requestBody": _body("OrganisationPatch"),
                      "responses": {"200": _json("OrganisationDetail", "The changed organisation."),
                                    **_r("BadRequest", "Unauthorized", "Forbidden", "NotFound",
                                         "Conflict", "TooLarge", "ValidationFailed",
                                         "VersionRequired")}},
            "delete": {"operationId": "deleteOrganisation", "tags": ["organisations"],
                       "summary": "Soft delete (an admin can restore it).",
                       "parameters": [_p("version")],
                       "responses": {"204": {"description": "Deleted."},
                                     **_r("Unauthorized", "Forbidden", "NotFound", "Conflict",
                                          "ValidationFailed")}},
        },
        "/contacts": {
            "get": {"operationId": "listContacts", "tags": ["contacts"],
                    "summary": "List contact persons (not for viewers).",
                    "parameters": [_p("q"),
                                   _query("organisation_id", {"type": "integer", "minimum": 1},
                                          "Only the contacts of this organisation."),
                                   _p("page"), _p("per_page")],
                    "responses": {"200": _json("ContactList", "One page."),
                                  **_r("BadRequest", "Unauthorized", "Forbidden")}},
            "post": {"operationId": "createContact", "tags": ["contacts"],
                     "summary": "Create a contact person at an organisation you may edit.",
                     "requestBody": _body("ContactCreate"),
                     "responses": {"201": _created("Contact"),
                                   **_r("BadRequest", "Unauthorized", "Forbidden", "TooLarge",
                                        "ValidationFailed")}},
        },
        "/contacts/{contact_id}": {
            "parameters": [_p("contact_id")],
            "get": {"operationId": "getContact", "tags": ["contacts"], "summary": "One contact person.",
                    "responses": {"200": _json("Contact", "The contact person."),
                                  **_r("Unauthorized", "Forbidden", "NotFound")}},
            "patch": {"operationId": "updateContact", "tags": ["contacts"],
                      "summary": "Change the fields sent; `version` is required.",
                      "requestBody": _body("ContactPatch"),
                      "responses": {"200": _json("Contact", "The changed contact person."),
                                    **_r("BadRequest", "Unauthorized", "Forbidden", "NotFound",
                                         "Conflict", "TooLarge", "ValidationFailed",
                                         "VersionRequired")}},
            "delete": {"operationId": "deleteContact", "tags": ["contacts"], "summary": "Soft delete.",
                       "parameters": [_p("version")],
                       "responses": {"204": {"description": "Deleted."},
                                     **_r("Unauthorized", "Forbidden", "NotFound", "Conflict",
                                          "ValidationFailed")}},
        },
        "/openapi.json": {
            "get": {"operationId": "getOpenApi", "tags": ["meta"], "security": [],
                    "summary": "This document (no token needed).",
                    "responses": {"200": {"description": "OpenAPI 3.1 document.",
                                          "content": {"application/json": {"schema": {"type": "object"}}}}}},
        },
    }


DESCRIPTION = """\
The JSON API of SDD CRM. Authenticate with `Authorization: Bearer <token>` (a token from
`flask users token EMAIL`). Every error is `{"error": {"status", "code", "message"}}` with a 4xx
status; messages are in Dutch. Validation errors (422) add `fields`, a map of field to message;
unknown or read-only fields are refused. A PATCH must send the `version` it last fetched:
without it 428 (`version_required`), with a stale one 409. Money is a JSON number in euros.
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


def openapi_document() -> dict:
    config = current_app.config
    return {
        "openapi": "3.1.0",
        "info": {"title": "SDD CRM API", "version": "1.0.0", "description": DESCRIPTION,
                 "license": {"name": "EUPL-1.2", "identifier": "EUPL-1.2"}},
        "servers": [{"url": bp.url_prefix}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": "organisations"}, {"name": "contacts"}, {"name": "interactions"},
                 {"name": "tasks"}, {"name": "leads"}, {"name": "value chains"},
                 {"name": "supply links"}, {"name": "criticality"}, {"name": "programmes"},
                 {"name": "jobs"}, {"name": "meta"}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "An API token of a user."}},
            "schemas": _schemas(),
            "parameters": _parameters(config["API_MAX_PAGE_SIZE"], config["PAGE_SIZE"]),
            "responses": RESPONSES,
        },
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
