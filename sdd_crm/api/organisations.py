"""/api/v1/organisations: list, get, create, PATCH (with version), soft DELETE."""

from __future__ import annotations

from flask import Response, url_for
from sqlalchemy.orm import selectinload

from ..organisations.models import Organisation
from ..organisations.queries import OrganisationFilters, get_organisation, organisation_list
from ..organisations.services import create_organisation, delete_organisation, update_organisation
from . import bp, errors
from .auth import api_user, writers_only
from .errors import check_id
from .openapi import LOCATION
from .schemas.base import VersionArgs, page_of
from .schemas.organisations import (
    ORGANISATION_CREATE,
    ORGANISATION_DETAIL,
    ORGANISATION_LIST,
    ORGANISATION_PATCH,
    OrganisationArgs,
)

TAGS = ["organisations"]


def _list_options(stmt):
    # Everything a row shows, in a fixed number of queries whatever the page size (no N+1).
    return stmt.options(
        selectinload(Organisation.sbi_codes),
        selectinload(Organisation.tags),
        selectinload(Organisation.establishments),
    )


@bp.get("/organisations", tags=TAGS)
@bp.doc(operationId="listOrganisations",
        summary="List organisations (not deleted), filtered and paginated.")
@bp.arguments(OrganisationArgs, location="query", as_kwargs=True)
@bp.response(200, ORGANISATION_LIST, description="One page.")
def list_organisations(**args):
    filters = OrganisationFilters.from_args(args | {"cluster": None})
    filters.cluster_id = args.get("cluster")
    filters.critical = args.get("critical")
    filters.size_class = args.get("size_class")
    stmt = _list_options(organisation_list(filters))
    return page_of(stmt, args, "api.list_organisations", keyset=True)


@bp.get("/organisations/<int:org_id>", tags=TAGS)
@bp.doc(operationId="getOrganisation", summary="One organisation, with its criticality.")
@bp.response(200, ORGANISATION_DETAIL, description="The organisation.")
def get_organisation_item(org_id: int):
    return get_organisation(check_id(org_id))


@bp.post("/organisations", tags=TAGS)
@bp.doc(operationId="createOrganisation", summary="Create an organisation.")
@errors(403, 409)
@writers_only
@bp.arguments(ORGANISATION_CREATE)
@bp.response(201, ORGANISATION_DETAIL, description="Created.", headers=LOCATION)
def create_organisation_item(data):
    org = create_organisation(data, actor=api_user())
    return org, 201, {"Location": url_for("api.get_organisation_item", org_id=org.id)}


@bp.patch("/organisations/<int:org_id>", tags=TAGS)
@bp.doc(operationId="updateOrganisation", summary="Change the fields sent; `version` is required.")
@errors(403, 409, 428)
@writers_only
@bp.arguments(ORGANISATION_PATCH)
@bp.response(200, ORGANISATION_DETAIL, description="The changed organisation.")
def update_organisation_item(data, org_id: int):
    org = get_organisation(check_id(org_id), for_edit=True, user=api_user())
    version = data.pop("version")
    update_organisation(org, data, actor=api_user(), expected_version=version, partial=True)
    return org


@bp.delete("/organisations/<int:org_id>", tags=TAGS)
@bp.doc(operationId="deleteOrganisation", summary="Soft delete (an admin can restore it).")
@errors(403, 409, 422)
@writers_only
@bp.arguments(VersionArgs, location="query", error_status_code=422)
@bp.response(204, description="Deleted.")
def delete_organisation_item(args, org_id: int):
    org = get_organisation(check_id(org_id), for_edit=True, user=api_user())
    delete_organisation(org, actor=api_user(), expected_version=args.get("version"))
    return Response(status=204)
