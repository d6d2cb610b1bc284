"""/api/v1/supply-links: supplier → customer within a value chain, with ``sole_source``.

Everyone reads them; whoever may edit the supplier or the customer changes a link (DESIGN 4.4).
Links of deleted organisations are absent (404 on their own URL).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for

from ..extensions import db
from ..pagination import paginate
from ..valuechains.models import SupplyLink
from ..valuechains.network_services import create_supply_link, delete_supply_link, update_supply_link
from ..valuechains.queries import get_link, supply_link_list
from . import bp
from .auth import api_user, require_writer
from .errors import check_id, check_query_text, json_object, page_args, query_int, read_version
from .organisations import list_response
from .params import query_bool
from .serializers import BOOLEAN, RECORD_ID, TEXT, _timestamp, check_input

LINK_INPUT = {"supplier_id": RECORD_ID, "customer_id": RECORD_ID, "value_chain_id": RECORD_ID,
              "supplied": TEXT, "sole_source": BOOLEAN}
LINK_READ_ONLY = {"id", "created_at", "updated_at"}
FILTER_PARAMS = ("organisation_id", "supplier_id", "customer_id", "value_chain_id", "sole_source")


def link_to_dict(link: SupplyLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "supplier_id": link.supplier_id,
        "customer_id": link.customer_id,
        "value_chain_id": link.value_chain_id,
        "supplied": link.supplied,
        "sole_source": bool(link.sole_source),
        "version": link.version,
        "created_at": _timestamp(link.created_at),
        "updated_at": _timestamp(link.updated_at),
    }


def _input(body: dict, with_version: bool = False) -> dict:
    return check_input(body, LINK_INPUT, LINK_READ_ONLY, with_version=with_version)


@bp.get("/supply-links")
def list_supply_links():
    """One statement per page, whatever the page size: both organisations are joined in."""
    check_query_text()
    stmt = supply_link_list(
        organisation_id=query_int("organisation_id"), supplier_id=query_int("supplier_id"),
        customer_id=query_int("customer_id"), value_chain_id=query_int("value_chain_id"),
        sole_source=query_bool("sole_source"))
    page_no, per_page = page_args()
    page = paginate(stmt, page_no, per_page)
    return list_response(page, link_to_dict, "api.list_supply_links", FILTER_PARAMS)


@bp.get("/supply-links/<int:link_id>")
def get_supply_link_item(link_id: int):
    return jsonify(link_to_dict(get_link(check_id(link_id))))


@bp.post("/supply-links")
def create_supply_link_item():
    require_writer()
    data = _input(json_object())
    link = create_supply_link(data, actor=api_user())
    db.session.commit()
    response = jsonify(link_to_dict(link))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_supply_link_item", link_id=link.id)
    return response


@bp.patch("/supply-links/<int:link_id>")
def update_supply_link_item(link_id: int):
    require_writer()
    link = get_link(check_id(link_id))
    body = json_object()
    version = read_version(body.get("version"), required=True)
    data = _input(body, with_version=True)
    update_supply_link(link, data, actor=api_user(), expected_version=version, partial=True)
    db.session.commit()
    return jsonify(link_to_dict(link))


@bp.delete("/supply-links/<int:link_id>")
def delete_supply_link_item(link_id: int):
    require_writer()
    link = get_link(check_id(link_id))
    version = read_version(request.args.get("version"), required=False)
    delete_supply_link(link, actor=api_user(), expected_version=version)
    db.session.commit()
    return "", 204
