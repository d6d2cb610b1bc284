"""Queries for contact persons."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from ..db import escape_like
from ..extensions import db
from ..organisations.models import Organisation
from ..organisations.permissions import can_edit_organisation
from ..permissions import can_view_contacts
from .models import Contact


def contact_list(q: str | None = None, organisation_id: int | None = None) -> sa.Select:
    stmt = (
        sa.select(Contact)
        .join(Organisation, Contact.organisation_id == Organisation.id)
        .where(Contact.deleted_at.is_(None), Organisation.deleted_at.is_(None))
    )
    if q:
        pattern = f"%{escape_like(q.lower())}%"
        stmt = stmt.where(sa.or_(
            sa.func.lower(Contact.last_name).like(pattern, escape="\\"),
            sa.func.lower(Contact.first_name).like(pattern, escape="\\"),
            sa.func.lower(Contact.email).like(pattern, escape="\\"),
            sa.func.lower(Organisation.name).like(pattern, escape="\\"),
        ))
    if organisation_id:
        stmt = stmt.where(Contact.organisation_id == organisation_id)
    return stmt.order_by(Contact.last_name, Contact.first_name, Contact.id)


def get_contact(contact_id: int, *, user, for_edit: bool = False) -> Contact:
    """Load a contact or 404; viewers may not see personal data (403)."""
    if not can_view_contacts(user):
        abort(403)
    contact = db.session.get(Contact, contact_id)
    if contact is None or contact.deleted_at is not None or contact.organisation.deleted_at is not None:
        abort(404)
    if for_edit and not can_edit_organisation(user, contact.organisation):
        abort(403)
    return contact
