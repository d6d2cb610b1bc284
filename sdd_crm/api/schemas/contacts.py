"""The contact person resource of DESIGN 5 (personal data: not for viewers)."""

from __future__ import annotations

from ...contacts.models import LawfulBasis, SourceKind
from ...contacts.services import LANGUAGES, MAX_LENGTHS
from .. import fields as f
from .base import CursorPageArgs, ResourceSchema, resource_components, version_field


def _text(name: str, **kwargs) -> f.Text:
    return f.Text(allow_none=True, max_length=MAX_LENGTHS[name], **kwargs)


class ContactSchema(ResourceSchema):
    id = f.Integer(dump_only=True)
    organisation_id = f.Id(required=True, data_dependent=True)
    first_name = _text("first_name")
    last_name = f.Text(required=True, max_length=MAX_LENGTHS["last_name"], pattern=f.NON_BLANK_PATTERN)
    function = _text("function")
    email = f.Text(allow_none=True, max_length=254, pattern=f.EMAIL_PATTERN)
    phone = f.Text(allow_none=True, pattern=f.PHONE_PATTERN, description="Stored in E.164.")
    mobile = f.Text(allow_none=True, pattern=f.PHONE_PATTERN, description="Stored in E.164.")
    preferred_language = f.Choice(LANGUAGES, allow_none=True, error="Kies een taal.")
    lawful_basis = f.Choice(LawfulBasis, allow_none=True, error="Kies een grondslag.",
                            description="GDPR art. 6(1); consent needs consent_date.")
    consent_date = f.Date(allow_none=True)
    # Set by the system, never by a client (GDPR art. 14: where the data came from).
    source = f.Text(dump_only=True, allow_none=True,
                    description="Where the data came from, as the system recorded it.")
    source_kind = f.Choice(SourceKind, dump_only=True, allow_none=True,
                           description="user (entered by created_by_id), import "
                                       "(source_job_id) or system.")
    source_job_id = f.Text(dump_only=True, allow_none=True, pattern=False,
                           description="The import job the data came from.")
    created_by_id = f.Integer(dump_only=True, allow_none=True,
                              description="The user who entered the contact.")
    objection = f.Boolean(allow_none=True,
                          description="Objection to processing (GDPR art. 21): the contact is "
                                      "then hidden from everyone but admins and never exported.")
    review_due = f.Date(allow_none=True)
    notes = _text("notes", multiline=True)
    version = version_field()
    created_at = f.DateTime(dump_only=True)
    updated_at = f.DateTime(dump_only=True)
    anonymised_at = f.DateTime(dump_only=True, allow_none=True,
                               description="When the person was erased (GDPR art. 17).")


# With lawful_basis "consent" the date of the consent is required (and never null).
_CONSENT = {"if": {"properties": {"lawful_basis": {"const": "consent"}}, "required": ["lawful_basis"]}}
CONTACT, CONTACT_CREATE, CONTACT_PATCH, CONTACT_LIST = resource_components(
    "Contact", ContactSchema, cursor=True,
    create_extra=_CONSENT | {"then": {"required": ["consent_date"],
                                      "properties": {"consent_date": {"type": "string"}}}},
    patch_extra=_CONSENT | {"then": {"properties": {"consent_date": {"type": "string"}}}})


class ContactArgs(CursorPageArgs):
    q = f.Text(description="Search text (the first 200 characters count).")
    organisation_id = f.QueryId(description="Only the contacts of this organisation.")
