"""/api/v1/contacts: list, get, create, PATCH (with version), soft DELETE. Not for viewers."""

from __future__ import annotations

from flask import jsonify, request, url_for

from ..contacts.queries import contact_list, get_contact
from ..contacts.services import create_contact, delete_contact, update_contact
from ..extensions import db
from ..pagination import paginate
from ..permissions import can_view_contacts
from . import bp
from .auth import api_user, require_writer
from .errors import check_id, check_query_text, forbidden, json_object, page_args, query_int, read_version
from .organisations import list_response
from .serializers import contact_input, contact_to_dict


@bp.get("/contacts")
def list_contacts():
    if not can_view_contacts(api_user()):
        forbidden()
    check_query_text()
    q = (request.args.get("q") or "").strip()[:200] or None
    organisation_id = query_int("organisation_id")
    page_no, per_page = page_args()
    # contact_list joins the organisation; Contact.organisation is eager (joined): no N+1.
    page = paginate(contact_list(q=q, organisation_id=organisation_id), page_no, per_page)
    return list_response(page, contact_to_dict, "api.list_contacts", ("q", "organisation_id"))


@bp.get("/contacts/<int:contact_id>")
def get_contact_item(contact_id: int):
    contact = get_contact(check_id(contact_id), user=api_user())
    return jsonify(contact_to_dict(contact))


@bp.post("/contacts")
def create_contact_item():
    require_writer()
    contact = create_contact(contact_input(json_object()), actor=api_user())
    db.session.commit()
    response = jsonify(contact_to_dict(contact))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_contact_item", contact_id=contact.id)
    return response


@bp.patch("/contacts/<int:contact_id>")
def update_contact_item(contact_id: int):
    require_writer()
    contact = get_contact(check_id(contact_id), user=api_user(), for_edit=True)
    body = json_object()
    version = read_version(body.get("version"), required=True)
    data = contact_input(body, with_version=True)
    update_contact(contact, data, actor=api_user(), expected_version=version, partial=True)
    db.session.commit()
    return jsonify(contact_to_dict(contact))


@bp.delete("/contacts/<int:contact_id>")
def delete_contact_item(contact_id: int):
    require_writer()
    contact = get_contact(check_id(contact_id), user=api_user(), for_edit=True)
    version = read_version(request.args.get("version"), required=False)
    delete_contact(contact, actor=api_user(), expected_version=version)
    db.session.commit()
    return "", 204
