"""GDPR requests about a contact person (issue 11 point 7): the answer to an access request
(art. 15, ``PersonalData``) and the result of an erasure (art. 17, ``Erasure``)."""

from __future__ import annotations

from ...contacts.models import LawfulBasis, SourceKind
from .. import fields as f
from .base import ApiSchema, component


def _text(**kwargs) -> f.Text:
    return f.Text(allow_none=True, pattern=False, **kwargs)


class HeldContactSchema(ApiSchema):
    """The contact record as stored, every column."""

    id = f.Integer(required=True)
    organisation_id = f.Integer(required=True)
    first_name = _text()
    last_name = _text(required=True)
    function = _text()
    email = _text()
    phone = _text()
    mobile = _text()
    preferred_language = _text()
    lawful_basis = f.Choice(LawfulBasis, allow_none=True)
    consent_date = f.Date(allow_none=True)
    source = _text()
    source_kind = f.Choice(SourceKind, allow_none=True)
    source_job_id = _text()
    created_by_id = f.Integer(allow_none=True)
    objection = f.Boolean(required=True)
    review_due = f.Date(allow_none=True)
    notes = _text()
    version = f.Integer(required=True)
    created_at = f.DateTime(allow_none=True)
    updated_at = f.DateTime(allow_none=True)
    deleted_at = f.DateTime(allow_none=True)
    anonymised_at = f.DateTime(allow_none=True)


class HeldOrganisationSchema(ApiSchema):
    id = f.Integer(required=True)
    name = _text(required=True)
    kvk_number = _text()


class SourceUserSchema(ApiSchema):
    id = f.Integer(required=True)
    name = _text(required=True)


class SourceImportSchema(ApiSchema):
    job_id = _text(required=True)
    filename = _text()
    created_at = f.DateTime(allow_none=True)


class HeldSourceSchema(ApiSchema):
    """Where the data came from, as the system recorded it (GDPR art. 15(1)(g))."""

    kind = f.Choice(SourceKind, allow_none=True)
    description = _text()
    created_by = f.Nested(SourceUserSchema, allow_none=True)
    # "import" is a Python keyword: the attribute is read from the mapping by its key.
    import_ = f.Nested(SourceImportSchema, allow_none=True, data_key="import",
                       source=lambda s: s.get("import"))


class HeldInteractionSchema(ApiSchema):
    id = f.Integer(required=True)
    date = f.Date(required=True)
    type = _text(required=True)
    subject = _text(required=True)
    notes = _text()
    confidential = f.Boolean(required=True)
    organisation_id = f.Integer(required=True)
    present = f.Boolean(required=True, description="The person was present (else: named).")
    deleted_at = f.DateTime(allow_none=True)


class HeldTaskSchema(ApiSchema):
    id = f.Integer(required=True)
    title = _text(required=True)
    description = _text()
    due_date = f.Date(allow_none=True)
    status = _text(required=True)
    organisation_id = f.Integer(allow_none=True)
    interaction_id = f.Integer(allow_none=True)
    deleted_at = f.DateTime(allow_none=True)


class HeldCommentSchema(ApiSchema):
    id = f.Integer(required=True)
    created_at = f.DateTime(allow_none=True)
    body = _text(required=True)


class HeldLeadSchema(ApiSchema):
    id = f.Integer(required=True)
    type = _text(required=True)
    title = _text(required=True)
    description = _text()
    status = _text(required=True)
    organisation_id = f.Integer(required=True)
    deleted_at = f.DateTime(allow_none=True)
    comments = f.List(f.Nested(HeldCommentSchema), required=True,
                      description="The comments that name the person.")


class HeldAuditEventSchema(ApiSchema):
    id = f.Integer(required=True)
    at = f.DateTime(required=True)
    action = _text(required=True)
    entity_type = _text(required=True)
    entity_id = _text(required=True)
    user_id = f.Integer(allow_none=True)
    changes = f.Dict(keys=f.Text(pattern=False), values=f.Raw(allow_none=True), required=True,
                     description="{field: [before, after]} or the event's details.")
    source = _text()
    result = _text()


class HeldFileRowSchema(ApiSchema):
    job_id = _text(required=True)
    role = _text(required=True, description="input (an upload), report or output (an export).")
    filename = _text(required=True)
    sheet = _text(required=True, description="The worksheet; empty for a CSV file.")
    row = f.Integer(required=True, description="Row number in the file (1 is the header).")
    values = f.Dict(keys=f.Text(pattern=False), values=f.Raw(allow_none=True), required=True,
                    description="The row's cells by the file's column headers.")


class PersonalDataSchema(ApiSchema):
    """Everything the system holds about a contact person (GDPR art. 15)."""

    generated_at = f.DateTime(required=True)
    contact = f.Nested(HeldContactSchema, required=True)
    organisation = f.Nested(HeldOrganisationSchema, required=True)
    source = f.Nested(HeldSourceSchema, required=True)
    interactions = f.List(f.Nested(HeldInteractionSchema), required=True,
                          description="Contact moments the person took part in or that name them.")
    tasks = f.List(f.Nested(HeldTaskSchema), required=True)
    leads = f.List(f.Nested(HeldLeadSchema), required=True)
    audit_events = f.List(f.Nested(HeldAuditEventSchema), required=True,
                          description="Events about the contact record or naming the person.")
    import_rows = f.List(f.Nested(HeldFileRowSchema), required=True,
                         description="Rows of kept files (imports, reports, exports) that are "
                                     "the person's.")


class ErasureSchema(ApiSchema):
    """What an erasure changed: counts of records per table, never values."""

    contact_id = f.Integer(required=True)
    anonymised_at = f.DateTime(required=True)
    records = f.Dict(keys=f.Text(pattern=False), values=f.Integer(), required=True,
                     description="Table → number of rows (or files) rewritten.")


PERSONAL_DATA = component("PersonalData", PersonalDataSchema())
ERASURE = component("Erasure", ErasureSchema())
