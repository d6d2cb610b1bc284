"""Retention (GDPR art. 5(1)(e), storage limitation): contacts without any activity for
``RETENTION_MONTHS`` months (default 24) are listed for an admin to confirm; confirmed ones are
anonymised by the same erasure as a request (:mod:`.erasure`).

Activity: a change of the contact record (``updated_at``), a contact moment they took part in
(its date, or a later change of it), or a task following such a contact moment. Soft-deleted
contacts count too (their data is still held); anonymised ones never (nothing left to erase).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..contacts.models import Contact
from ..db import utcnow
from ..exceptions import PermissionDenied, ValidationError
from ..extensions import db
from ..interactions.models import Interaction, Task, interaction_contact
from ..organisations.models import Organisation
from .erasure import erase_contacts

MAX_BATCH = 200  # contacts confirmed at once (one erasure pass over the whole database)


def retention_months() -> int:
    return max(1, int(current_app.config.get("RETENTION_MONTHS", 24)))


def cutoff(months: int | None = None, *, now: dt.datetime | None = None) -> dt.datetime:
    """The moment before which no activity means "due": ``months`` calendar months ago."""
    now = now or utcnow()
    months = months or retention_months()
    year, month = divmod(now.month - 1 - months, 12)
    year, month = now.year + year, month + 1
    return now.replace(year=year, month=month,
                       day=min(now.day, calendar.monthrange(year, month)[1]))


def _present() -> sa.ColumnElement[bool]:
    """The contact moment had the (outer query's) contact present."""
    return sa.and_(interaction_contact.c.contact_id == Contact.id,
                   interaction_contact.c.interaction_id == Interaction.id)


def last_activity_columns():
    """The latest change of a contact moment they took part in, and of a task following one,
    as correlated expressions (for the list)."""
    last_interaction = (sa.select(sa.func.max(Interaction.updated_at))
                        .where(_present()).correlate(Contact).scalar_subquery())
    last_task = (sa.select(sa.func.max(Task.updated_at))
                 .where(_present(), Task.interaction_id == Interaction.id)
                 .correlate(Contact).scalar_subquery())
    return last_interaction, last_task


def due_contacts(months: int | None = None, *, now: dt.datetime | None = None) -> sa.Select:
    """Contacts without activity since the cutoff, not anonymised; oldest change first."""
    limit = cutoff(months, now=now)
    recent_interaction = sa.exists().where(
        _present(), sa.or_(Interaction.date >= limit.date(), Interaction.updated_at >= limit)
    ).correlate(Contact)
    recent_task = sa.exists().where(
        _present(), Task.interaction_id == Interaction.id, Task.updated_at >= limit
    ).correlate(Contact)
    last_interaction, last_task = last_activity_columns()
    return (sa.select(Contact, Organisation.name, last_interaction.label("last_interaction"),
                      last_task.label("last_task"))
            .join(Organisation, Organisation.id == Contact.organisation_id)
            .where(Contact.anonymised_at.is_(None), Contact.updated_at < limit,
                   ~recent_interaction, ~recent_task)
            .order_by(Contact.updated_at, Contact.id))


@dataclass
class Due:
    contact: Contact
    organisation_name: str
    last_activity: dt.datetime


def due_list(months: int | None = None, *, limit: int = 1000) -> list[Due]:
    rows = db.session.execute(due_contacts(months).limit(limit)).all()
    out = []
    for contact, org_name, last_interaction, last_task in rows:
        moments = [m for m in (contact.updated_at, last_interaction, last_task) if m is not None]
        out.append(Due(contact, org_name, max(_aware(m) for m in moments)))
    return out


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def count_due(months: int | None = None) -> int:
    stmt = due_contacts(months).with_only_columns(Contact.id).order_by(None)
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0


def confirm_erasure(contact_ids, *, actor, months: int | None = None) -> int:
    """Anonymise the chosen contacts — only those still due (a contact that became active since
    the list was shown is left alone). Returns how many were anonymised."""
    if not getattr(actor, "is_admin", False):
        raise PermissionDenied()
    ids = sorted({int(i) for i in contact_ids})
    if not ids:
        raise ValidationError({"contact_ids": _("Kies ten minste één contactpersoon.")})
    if len(ids) > MAX_BATCH:
        raise ValidationError({"contact_ids": _("Kies hoogstens %(n)s contactpersonen tegelijk.",
                                                n=MAX_BATCH)})
    due = db.session.scalars(due_contacts(months).with_only_columns(Contact)
                             .where(Contact.id.in_(ids))).all()
    erase_contacts(list(due), actor=actor)
    return len(due)

