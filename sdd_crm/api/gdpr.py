"""GDPR requests about a contact person, for admins (DESIGN 5, issue 11 point 7):

* ``GET /api/v1/contacts/<id>/export`` — everything held about the person (art. 15);
* ``POST /api/v1/contacts/<id>/erase`` — anonymise the person everywhere (art. 17).

Both also for soft-deleted contacts (their data is still held). Anyone but an admin: 403.
"""

from __future__ import annotations

from flask import abort

from ..contacts.models import Contact
from ..extensions import db
from ..privacy.access import personal_data
from ..privacy.erasure import erase_contact
from . import bp, errors
from .auth import admins_only, api_user
from .errors import check_id
from .schemas.gdpr import ERASURE, PERSONAL_DATA

TAGS = ["contacts"]




def _held_contact(contact_id: int) -> Contact:
    """The contact, deleted or not (an admin answers the request either way), or 404."""
    contact = db.session.get(Contact, check_id(contact_id))
    if contact is None:
        abort(404)
    return contact


@bp.get("/contacts/<int:contact_id>/export", tags=TAGS)
@bp.doc(operationId="exportContactData",
        summary="Everything the system holds about a contact person (GDPR art. 15; admins only).",
        description="The contact record and its source, contact moments they took part in or "
                    "that name them, tasks and leads that name them, audit events about the "
                    "record or naming them, and their rows in kept import and export files. "
                    "Audited as an export.")
@errors(403)
@admins_only
@bp.response(200, PERSONAL_DATA, description="The personal data held.")
def export_contact_data(contact_id: int):
    return personal_data(_held_contact(contact_id), actor=api_user())


@bp.post("/contacts/<int:contact_id>/erase", tags=TAGS)
@bp.doc(operationId="eraseContact",
        summary="Anonymise a contact person everywhere (GDPR art. 17; admins only).",
        description="The contact row keeps no name, e-mail address, phone numbers, function or "
                    "notes; their name, e-mail address and numbers are removed from contact "
                    "moments, tasks, leads, comments, the audit trail, job files and import "
                    "reports. No request body. Audited as `erase` (without personal data). "
                    "409 when the contact was anonymised already.")
@errors(403, 409)
@admins_only
@bp.response(200, ERASURE, description="What was anonymised (counts per table).")
def erase_contact_item(contact_id: int):
    return erase_contact(_held_contact(contact_id), actor=api_user())
