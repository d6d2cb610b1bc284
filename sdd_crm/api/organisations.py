"""/api/v1/organisations: list, get, create, PATCH (with version), soft DELETE."""

from __future__ import annotations

from flask import jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..organisations.models import Organisation, OrgStatus, OrgType, SizeClass
from ..organisations.queries import SORTS, OrganisationFilters, get_organisation, organisation_list
from ..organisations.services import create_organisation, delete_organisation, update_organisation
from ..pagination import paginate
from . import bp
from .auth import api_user, require_writer
from .errors import bad_request, check_id, check_query_text, json_object, page_args, query_int, read_version
from .serializers import organisation_detail, organisation_input, organisation_to_dict

CHOICES = {
    "type": {t.value for t in OrgType},
    "size_class": {s.value for s in SizeClass},
    "status": {s.value for s in OrgStatus},
    "sort": set(SORTS),
}
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


FILTER_PARAMS = ("q", "kvk", "municipality", "cluster", "type", "size_class", "critical",
                 "status", "sort")


def list_response(page, serialise, endpoint: str, params):
    """The list envelope: items plus where the next page is (no total: that would need a COUNT)."""
    args = {k: v for k, v in request.args.items() if k in params and v != ""}

    def link(n):
        return url_for(endpoint, **(args | {"page": n, "per_page": page.per_page}))

    return jsonify({
        "items": [serialise(item) for item in page.items],
        "page": page.page,
        "per_page": page.per_page,
        "has_next": page.has_next,
        "next": link(page.page + 1) if page.has_next else None,
        "prev": link(page.page - 1) if page.has_prev else None,
    })


def _filters() -> OrganisationFilters:
    check_query_text()
    for name, allowed in CHOICES.items():
        value = request.args.get(name)
        if value not in (None, "") and value not in allowed:
            bad_request(_("Ongeldige parameter %(name)s.", name=name),
                        **{name: _("Kies uit: %(values)s.", values=", ".join(sorted(allowed)))})
    critical = request.args.get("critical")
    if critical not in (None, "") and critical.lower() not in BOOLEANS:
        bad_request(_("Ongeldige parameter %(name)s.", name="critical"),
                    critical=_("Vul true of false in."))
    query_int("cluster")  # validated here: from_args would silently ignore a bad one
    filters = OrganisationFilters.from_args(request.args)
    filters.size_class = request.args.get("size_class") or None
    return filters


def _list_options(stmt):
    # Everything a row shows, in a fixed number of queries whatever the page size (no N+1).
    return stmt.options(
        selectinload(Organisation.sbi_codes),
        selectinload(Organisation.tags),
        selectinload(Organisation.establishments),
    )


@bp.get("/organisations")
def list_organisations():
    filters = _filters()
    page_no, per_page = page_args()
    page = paginate(_list_options(organisation_list(filters)), page_no, per_page)
    return list_response(page, organisation_to_dict, "api.list_organisations", FILTER_PARAMS)


@bp.get("/organisations/<int:org_id>")
def get_organisation_item(org_id: int):
    org = get_organisation(check_id(org_id))
    return jsonify(organisation_detail(org))


@bp.post("/organisations")
def create_organisation_item():
    require_writer()
    data = organisation_input(json_object())
    org = create_organisation(data, actor=api_user())
    db.session.commit()
    response = jsonify(organisation_detail(org))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_organisation_item", org_id=org.id)
    return response


@bp.patch("/organisations/<int:org_id>")
def update_organisation_item(org_id: int):
    require_writer()
    org = get_organisation(check_id(org_id), for_edit=True, user=api_user())
    body = json_object()
    version = read_version(body.get("version"), required=True)
    data = organisation_input(body, with_version=True)
    update_organisation(org, data, actor=api_user(), expected_version=version, partial=True)
    db.session.commit()
    return jsonify(organisation_detail(org))


@bp.delete("/organisations/<int:org_id>")
def delete_organisation_item(org_id: int):
    require_writer()
    org = get_organisation(check_id(org_id), for_edit=True, user=api_user())
    version = read_version(request.args.get("version"), required=False)
    delete_organisation(org, actor=api_user(), expected_version=version)
    db.session.commit()
    return "", 204
