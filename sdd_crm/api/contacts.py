"""/api/v1/contacts: list, get, create, PATCH (with version), soft DELETE. Not for viewers."""

from __future__ import annotations

from flask import Response, url_for

from ..audit.events import record as record_audit
from ..audit.events import record_many
from ..contacts.queries import contact_list, get_contact, may_see_restricted
from ..contacts.services import create_contact, delete_contact, update_contact
from ..permissions import can_view_contacts
from . import bp, errors, guard
from .auth import api_user, writers_only
from .errors import check_id, forbidden
from .openapi import LOCATION
from .schemas.base import VersionArgs, page_of
from .schemas.contacts import CONTACT, CONTACT_CREATE, CONTACT_LIST, CONTACT_PATCH, ContactArgs

TAGS = ["contacts"]


def _contacts_reader() -> None:
    if not can_view_contacts(api_user()):
        forbidden()


@bp.get("/contacts", tags=TAGS)
@bp.doc(operationId="listContacts",
        summary="List contact persons (not for viewers); each contact returned is audited as "
                "viewed.")
@errors(403)
@guard(_contacts_reader)
@bp.arguments(ContactArgs, location="query", as_kwargs=True)
@bp.response(200, CONTACT_LIST, description="One page.")
def list_contacts(**args):
    q = (args.get("q") or "").strip()[:200] or None
    # contact_list joins the organisation; Contact.organisation is eager (joined): no N+1.
    # Objecting and anonymised people: admins only, marked by objection / anonymised_at.
    stmt = contact_list(q=q, organisation_id=args.get("organisation_id"),
                        include_restricted=may_see_restricted(api_user()))
    page = page_of(stmt, args, "api.list_contacts", keyset=True)
    # The list returns whole records (e-mail, phone, notes): each one returned is a view of a
    # person's record (GDPR), written in one INSERT, however long the page.
    record_many("view", "contact", [c.id for c in page["items"]])
    return page


@bp.get("/contacts/<int:contact_id>", tags=TAGS)
@bp.doc(operationId="getContact", summary="One contact person.")
@errors(403)
@bp.response(200, CONTACT, description="The contact person.")
def get_contact_item(contact_id: int):
    contact = get_contact(check_id(contact_id), user=api_user())
    record_audit("view", "contact", contact.id)  # every look at a person's record (GDPR)
    return contact


@bp.post("/contacts", tags=TAGS)
@bp.doc(operationId="createContact", summary="Create a contact person at an organisation you may edit.")
@errors(403, 409)
@writers_only
@bp.arguments(CONTACT_CREATE)
@bp.response(201, CONTACT, description="Created.", headers=LOCATION)
def create_contact_item(data):
    contact = create_contact(data, actor=api_user())
    return contact, 201, {"Location": url_for("api.get_contact_item", contact_id=contact.id)}


@bp.patch("/contacts/<int:contact_id>", tags=TAGS)
@bp.doc(operationId="updateContact", summary="Change the fields sent; `version` is required.")
@errors(403, 409, 428)
@writers_only
@bp.arguments(CONTACT_PATCH)
@bp.response(200, CONTACT, description="The changed contact person.")
def update_contact_item(data, contact_id: int):
    contact = get_contact(check_id(contact_id), user=api_user(), for_edit=True)
    version = data.pop("version")
    update_contact(contact, data, actor=api_user(), expected_version=version, partial=True)
    return contact


@bp.delete("/contacts/<int:contact_id>", tags=TAGS)
@bp.doc(operationId="deleteContact", summary="Soft delete.")
@errors(403, 409, 422)
@writers_only
@bp.arguments(VersionArgs, location="query", error_status_code=422)
@bp.response(204, description="Deleted.")
def delete_contact_item(args, contact_id: int):
    contact = get_contact(check_id(contact_id), user=api_user(), for_edit=True)
    delete_contact(contact, actor=api_user(), expected_version=args.get("version"))
    return Response(status=204)
