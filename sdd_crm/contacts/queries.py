"""Queries for contact persons."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from ..exceptions import hidden
from ..extensions import db
from ..organisations.models import Organisation
from ..organisations.permissions import can_edit_organisation
from ..permissions import can_view_contacts
from .models import Contact
from .search import contact_condition


def processable() -> sa.ColumnElement[bool]:
    """Contacts whose data may still be processed: no objection (GDPR art. 21) and not
    anonymised (art. 17). Everything but an admin's own view of them filters on this: lists,
    search, pickers, exports, notifications."""
    return sa.and_(Contact.objection.is_(False), Contact.anonymised_at.is_(None))


def may_see_restricted(user) -> bool:
    """Admins handle objections and erasure requests, so they see those contacts (marked)."""
    return bool(getattr(user, "is_admin", False))


def is_restricted(contact: Contact) -> bool:
    """The object-side twin of :func:`processable`: an objection, or anonymised."""
    return bool(contact.objection) or contact.anonymised_at is not None


def shown_to(user, contacts) -> list[Contact]:
    """The contacts of a record (the people at a contact moment) that ``user`` may see."""
    if may_see_restricted(user):
        return list(contacts)
    return [c for c in contacts if not is_restricted(c)]


def contact_list(q: str | None = None, organisation_id: int | None = None, *,
                 include_restricted: bool = False) -> sa.Select:
    """Live contacts, searched and filtered; objecting and anonymised ones only with
    ``include_restricted`` (an admin's lists; never an export)."""
    stmt = (
        sa.select(Contact)
        .join(Organisation, Contact.organisation_id == Organisation.id)
        .where(Contact.deleted_at.is_(None), Organisation.deleted_at.is_(None))
    )
    if not include_restricted:
        stmt = stmt.where(processable())
    if q:
        # Last name, first name, e-mail or organisation name containing ``q`` (a text of one
        # or two characters: a last name starting with it), through the search index.
        stmt = stmt.where(contact_condition(q))
    if organisation_id:
        stmt = stmt.where(Contact.organisation_id == organisation_id)
    return stmt.order_by(Contact.last_name, Contact.first_name, Contact.id)


def get_contact(contact_id: int, *, user, for_edit: bool = False) -> Contact:
    """Load a contact or 404; viewers may not see personal data (403); an objecting or
    anonymised contact is there for admins only."""
    if not can_view_contacts(user):
        abort(403)
    contact = db.session.get(Contact, contact_id)
    if contact is None or contact.deleted_at is not None or contact.organisation.deleted_at is not None:
        abort(404)
    if (contact.objection or contact.anonymised_at is not None) and not may_see_restricted(user):
        # No further processing of an objecting or erased person: admins only. Answered as a
        # missing id; the refusal is audited.
        raise hidden(contact)
    if for_edit and not can_edit_organisation(user, contact.organisation):
        abort(403)
    return contact
