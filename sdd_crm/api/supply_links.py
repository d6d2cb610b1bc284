"""/api/v1/supply-links: supplier → customer within a value chain, with ``sole_source``.

Everyone reads them; whoever may edit the supplier or the customer changes a link (DESIGN 4.4).
Links of deleted organisations are absent (404 on their own URL).
"""

from __future__ import annotations

from flask import Response, url_for

from ..valuechains.network_services import create_supply_link, delete_supply_link, update_supply_link
from ..valuechains.queries import get_link, supply_link_list
from . import bp, errors
from .auth import api_user, writers_only
from .openapi import LOCATION
from .schemas.base import VersionArgs, page_of
from .schemas.valuechains import (SUPPLY_LINK, SUPPLY_LINK_CREATE, SUPPLY_LINK_LIST,
                                  SUPPLY_LINK_PATCH, SupplyLinkQuery)
from .state import refused_as_conflict

TAGS = ["supply links"]


@bp.get("/supply-links", tags=TAGS)
@bp.doc(operationId="listSupplyLinks",
        summary="Supply links between live organisations, oldest first.")
@bp.arguments(SupplyLinkQuery, location="query", as_kwargs=True)
@bp.response(200, SUPPLY_LINK_LIST, description="One page.")
def list_supply_links(**args):
    """One statement per page, whatever the page size: both organisations are joined in."""
    stmt = supply_link_list(
        organisation_id=args.get("organisation_id"), supplier_id=args.get("supplier_id"),
        customer_id=args.get("customer_id"), value_chain_id=args.get("value_chain_id"),
        sole_source=args.get("sole_source"))
    return page_of(stmt, args, "api.list_supply_links")


@bp.get("/supply-links/<int:link_id>", tags=TAGS)
@bp.doc(operationId="getSupplyLink", summary="One supply link.")
@bp.response(200, SUPPLY_LINK, description="The supply link.")
def get_supply_link_item(link_id: int):
    return get_link(link_id)


@bp.post("/supply-links", tags=TAGS)
@bp.doc(operationId="createSupplyLink",
        summary="Record that a supplier supplies a customer (you must be allowed to edit one of "
                "the two). No link to itself; a duplicate of a live link gets 409.")
@errors(403, 409)
@writers_only
@bp.arguments(SUPPLY_LINK_CREATE)
@bp.response(201, SUPPLY_LINK, description="Created.", headers=LOCATION)
def create_supply_link_item(data):
    with refused_as_conflict():
        link = create_supply_link(data, actor=api_user())
    return link, 201, {"Location": url_for("api.get_supply_link_item", link_id=link.id)}


@bp.patch("/supply-links/<int:link_id>", tags=TAGS)
@bp.doc(operationId="updateSupplyLink", summary="Change the fields sent; `version` is required.")
@errors(403, 409, 428)
@writers_only
@bp.arguments(SUPPLY_LINK_PATCH)
@bp.response(200, SUPPLY_LINK, description="The changed supply link.")
def update_supply_link_item(data, link_id: int):
    link = get_link(link_id)
    version = data.pop("version")
    with refused_as_conflict():
        update_supply_link(link, data, actor=api_user(), expected_version=version, partial=True)
    return link


@bp.delete("/supply-links/<int:link_id>", tags=TAGS)
@bp.doc(operationId="deleteSupplyLink", summary="Soft delete.")
@errors(403, 409, 422)
@writers_only
@bp.arguments(VersionArgs, location="query", error_status_code=422)
@bp.response(204, description="Deleted.")
def delete_supply_link_item(args, link_id: int):
    link = get_link(link_id)
    delete_supply_link(link, actor=api_user(), expected_version=args.get("version"))
    return Response(status=204)
