"""The OpenAPI part for clusters, value chains (with stages and roles) and supply links."""

from __future__ import annotations

from ..valuechains.models import ChainRoleType
from ..valuechains.network_services import MAX_SUPPLIED
from ..valuechains.services import MAX_DESCRIPTION, MAX_NAME, MAX_STAGES
from .openapi import (
    TEXT,
    VERSION_IN,
    _body,
    _created,
    _json,
    _list_schema,
    _nullable,
    _obj,
    _query,
    _r,
    _ref,
)

ID_OUT = {"type": "integer"}
ID_IN = {"type": "integer", "minimum": 1}
STAMP = {"type": "string", "format": "date-time"}
VERSION_OUT = {"type": "integer", "description": "Send it back with a PATCH; a stale one gets 409."}
ROLE = {"type": "string", "enum": [r.value for r in ChainRoleType],
        "description": "oem (OEM / system integrator), tier1, tier2, service_provider, "
                       "knowledge_partner or customer."}

CLUSTER_INPUT = {
    "name": {"type": "string", "maxLength": MAX_NAME, "description": "Unique."},
    "description": _nullable("string", maxLength=MAX_DESCRIPTION),
}
CLUSTER_OUTPUT = {"id": ID_OUT, "name": TEXT, "description": _nullable("string"),
                  "version": VERSION_OUT, "created_at": STAMP, "updated_at": STAMP}
CHAIN_INPUT = {
    "name": {"type": "string", "maxLength": MAX_NAME, "description": "Unique."},
    "cluster_id": ID_IN,
    "description": _nullable("string", maxLength=MAX_DESCRIPTION),
    "stages": {"type": "array", "maxItems": MAX_STAGES,
               "items": {"type": "string", "maxLength": MAX_NAME},
               "description": "Only when creating: the stage names in order. Afterwards use "
                              "the stages sub-resource."},
}
STAGE = {"id": ID_OUT, "position": {"type": "integer", "minimum": 1, "description": "1 = first."},
         "name": TEXT}
CHAIN_OUTPUT = {"id": ID_OUT, "name": TEXT, "cluster_id": ID_OUT, "description": _nullable("string"),
                "stages": {"type": "array", "items": _ref("ValueChainStage"),
                           "description": "In order."},
                "version": VERSION_OUT, "created_at": STAMP, "updated_at": STAMP}
STAGE_INPUT = {
    "name": {"type": "string", "maxLength": MAX_NAME, "description": "Unique within the chain."},
    "position": {"type": "integer", "minimum": 1,
                 "description": "Where the stage goes (1 = first); the others shift. New stages "
                                "go last without it."},
}
ROLE_INPUT = {
    "organisation_id": ID_IN,
    "stage_id": _nullable("integer", minimum=1,
                          description="A stage of this chain; required when the chain has stages."),
    "role": ROLE,
}
ROLE_OUTPUT = {"id": ID_OUT, "organisation_id": ID_OUT, "value_chain_id": ID_OUT,
               "stage_id": _nullable("integer"), "role": ROLE, "created_at": STAMP}
LINK_INPUT = {
    "supplier_id": {**ID_IN, "description": "The organisation that supplies."},
    "customer_id": {**ID_IN, "description": "The organisation that buys; not the supplier."},
    "value_chain_id": _nullable("integer", minimum=1, description="A live value chain, or null."),
    "supplied": _nullable("string", maxLength=MAX_SUPPLIED, description="What is supplied."),
    "sole_source": {"type": "boolean",
                    "description": "The customer has no alternative supplier for this."},
}
LINK_OUTPUT = {"id": ID_OUT, **{k: dict(v) for k, v in LINK_INPUT.items()},
               "supplier_id": ID_OUT, "customer_id": ID_OUT,
               "value_chain_id": _nullable("integer"), "supplied": _nullable("string"),
               "version": VERSION_OUT, "created_at": STAMP, "updated_at": STAMP}


def valuechain_schemas() -> dict:
    return {
        "Cluster": _obj(CLUSTER_OUTPUT, required=CLUSTER_OUTPUT),
        "ClusterDetail": _obj(CLUSTER_OUTPUT | {"value_chains": {
            "type": "array", "items": _obj({"id": ID_OUT, "name": TEXT}, required=("id", "name"))}},
            required=[*CLUSTER_OUTPUT, "value_chains"]),
        "ClusterCreate": _obj(CLUSTER_INPUT, required=("name",)),
        "ClusterPatch": _obj(CLUSTER_INPUT | {"version": VERSION_IN}, required=("version",)),
        "ClusterList": _list_schema("Cluster"),
        "ValueChainStage": _obj(STAGE, required=STAGE),
        "ValueChain": _obj(CHAIN_OUTPUT, required=CHAIN_OUTPUT),
        "ValueChainCreate": _obj(CHAIN_INPUT, required=("name", "cluster_id")),
        "ValueChainPatch": _obj({k: v for k, v in CHAIN_INPUT.items() if k != "stages"}
                                | {"version": VERSION_IN}, required=("version",)),
        "ValueChainList": _list_schema("ValueChain"),
        "ValueChainStageCreate": _obj(STAGE_INPUT, required=("name",)),
        "ValueChainStagePatch": _obj(STAGE_INPUT) | {"minProperties": 1},
        "ChainRole": _obj(ROLE_OUTPUT, required=ROLE_OUTPUT),
        "ChainRoleCreate": _obj(ROLE_INPUT, required=("organisation_id", "role")),
        "ChainRoleList": _list_schema("ChainRole"),
        "SupplyLink": _obj(LINK_OUTPUT, required=LINK_OUTPUT),
        "SupplyLinkCreate": _obj(LINK_INPUT, required=("supplier_id", "customer_id")),
        "SupplyLinkPatch": _obj(LINK_INPUT | {"version": VERSION_IN}, required=("version",)),
        "SupplyLinkList": _list_schema("SupplyLink"),
    }


def _path(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": ID_IN}


def _page_params() -> list:
    return [{"$ref": "#/components/parameters/page"}, {"$ref": "#/components/parameters/per_page"}]


VERSION_QUERY = {"$ref": "#/components/parameters/version"}
WRITE_ERRORS = ("BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict", "TooLarge",
                "ValidationFailed")


def _crud(tag: str, name: str, param: str, *, list_params: list, summaries: dict) -> tuple[dict, dict]:
    collection = {
        "get": {"operationId": f"list{name}s", "tags": [tag], "summary": summaries["list"],
                "parameters": [*list_params, *_page_params()],
                "responses": {"200": _json(f"{name}List", "One page."),
                              **_r("BadRequest", "Unauthorized")}},
        "post": {"operationId": f"create{name}", "tags": [tag], "summary": summaries["create"],
                 "requestBody": _body(f"{name}Create"),
                 "responses": {"201": _created(summaries.get("detail", name)),
                               **_r("BadRequest", "Unauthorized", "Forbidden", "TooLarge",
                                    "ValidationFailed")}},
    }
    detail = summaries.get("detail", name)
    item = {
        "parameters": [_path(param)],
        "get": {"operationId": f"get{name}", "tags": [tag], "summary": summaries["get"],
                "responses": {"200": _json(detail, "The record."), **_r("Unauthorized", "NotFound")}},
        "patch": {"operationId": f"update{name}", "tags": [tag],
                  "summary": "Change the fields sent; `version` is required.",
                  "requestBody": _body(f"{name}Patch"),
                  "responses": {"200": _json(detail, "The changed record."),
                                **_r(*WRITE_ERRORS, "VersionRequired")}},
        "delete": {"operationId": f"delete{name}", "tags": [tag], "summary": summaries["delete"],
                   "parameters": [VERSION_QUERY],
                   "responses": {"204": {"description": "Deleted."},
                                 **_r("Unauthorized", "Forbidden", "NotFound", "Conflict",
                                      "ValidationFailed")}},
    }
    return collection, item


def valuechain_paths() -> dict:
    q = _query("q", {"type": "string", "maxLength": 200}, "Part of the name.")
    clusters, cluster = _crud("value chains", "Cluster", "cluster_id", list_params=[q], summaries={
        "list": "Clusters, by name.", "create": "Create a cluster (admins, regional account managers).",
        "get": "One cluster with its value chains.", "detail": "ClusterDetail",
        "delete": "Soft delete; refused (422) while it still has value chains."})
    chains, chain = _crud("value chains", "ValueChain", "chain_id", list_params=[
        _query("cluster_id", ID_IN, "Only the chains of this cluster."), q], summaries={
        "list": "Value chains with their stages, by name.",
        "create": "Create a value chain in a cluster, optionally with its stages (admins, "
                  "regional account managers).",
        "get": "One value chain with its stages in order.",
        "delete": "Soft delete; refused (422) while roles or supply links use it."})
    links, link = _crud("supply links", "SupplyLink", "link_id", list_params=[
        _query("organisation_id", ID_IN, "Links where this organisation is supplier or customer."),
        _query("supplier_id", ID_IN, "Links of this supplier."),
        _query("customer_id", ID_IN, "Links of this customer."),
        _query("value_chain_id", ID_IN, "Links within this value chain."),
        _query("sole_source", {"type": "string", "enum": ["true", "false", "1", "0"]},
               "Only sole-source links (true) or only the others (false)."),
    ], summaries={
        "list": "Supply links between live organisations, oldest first.",
        "create": "Record that a supplier supplies a customer (you must be allowed to edit one of "
                  "the two). No link to itself, no duplicate of a live link.",
        "get": "One supply link.", "delete": "Soft delete."})
    chain_param = [_path("chain_id")]
    stage_changed = {"200": _json("ValueChain", "The chain, its stages in their new order."),
                     **_r(*WRITE_ERRORS)}
    return {
        "/clusters": clusters, "/clusters/{cluster_id}": cluster,
        "/value-chains": chains, "/value-chains/{chain_id}": chain,
        "/value-chains/{chain_id}/stages": {
            "parameters": chain_param,
            "post": {"operationId": "createValueChainStage", "tags": ["value chains"],
                     "summary": "Add a stage (last, or at `position`).",
                     "requestBody": _body("ValueChainStageCreate"),
                     "responses": {"201": _created("ValueChain"), **_r(*WRITE_ERRORS)}},
        },
        "/value-chains/{chain_id}/stages/{stage_id}": {
            "parameters": [*chain_param, _path("stage_id")],
            "patch": {"operationId": "updateValueChainStage", "tags": ["value chains"],
                      "summary": "Rename (`name`) and/or move (`position`) a stage.",
                      "requestBody": _body("ValueChainStagePatch"), "responses": stage_changed},
            "delete": {"operationId": "deleteValueChainStage", "tags": ["value chains"],
                       "summary": "Delete a stage no organisation has a role at (else 422); the "
                                  "stages after it move up.",
                       "responses": {"204": {"description": "Deleted."},
                                     **_r("Unauthorized", "Forbidden", "NotFound",
                                          "ValidationFailed")}},
        },
        "/value-chains/{chain_id}/roles": {
            "parameters": chain_param,
            "get": {"operationId": "listChainRoles", "tags": ["value chains"],
                    "summary": "The roles organisations play in this chain.",
                    "parameters": [_query("organisation_id", ID_IN, "Only this organisation."),
                                   _query("stage_id", ID_IN, "Only this stage."),
                                   _query("role", ROLE, "Only this role."), *_page_params()],
                    "responses": {"200": _json("ChainRoleList", "One page."),
                                  **_r("BadRequest", "Unauthorized", "NotFound")}},
            "post": {"operationId": "createChainRole", "tags": ["value chains"],
                     "summary": "Record an organisation's role at a stage of this chain (you must "
                                "be allowed to edit the organisation). No duplicates.",
                     "requestBody": _body("ChainRoleCreate"),
                     "responses": {"201": _created("ChainRole"), **_r(*WRITE_ERRORS)}},
        },
        "/value-chains/{chain_id}/roles/{role_id}": {
            "parameters": [*chain_param, _path("role_id")],
            "delete": {"operationId": "deleteChainRole", "tags": ["value chains"],
                       "summary": "Soft delete a role.",
                       "responses": {"204": {"description": "Deleted."},
                                     **_r("Unauthorized", "Forbidden", "NotFound")}},
        },
        "/supply-links": links, "/supply-links/{link_id}": link,
    }
