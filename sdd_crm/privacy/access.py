"""Access (GDPR art. 15): everything the system holds about one contact person.

The contact record and where it came from; the contact moments they took part in or that name
them; tasks and leads (with comments) that name them; the audit events about the record or
naming them; the rows of kept files (imports, reports, exports) that are theirs. "Naming them"
uses the same marks as the erasure (:mod:`.person`): the full name, e-mail address and numbers
anywhere, the first name or surname alone in their own organisation's records. Soft-deleted
records are included: they are still held. Admins only (they handle the request).
"""

from __future__ import annotations

import sqlalchemy as sa

from ..audit.events import record
from ..audit.models import AuditEvent
from ..contacts.models import Contact
from ..db import escape_like, utcnow
from ..exceptions import PermissionDenied
from ..extensions import db
from ..interactions.models import Interaction, Task, interaction_contact
from ..jobs.models import Job, JobFile
from ..leads.models import Lead, LeadComment
from . import files
from .person import Person

CONTACT_FIELDS = (
    "id", "organisation_id", "first_name", "last_name", "function", "email", "phone", "mobile",
    "preferred_language", "lawful_basis", "consent_date", "source", "source_kind",
    "source_job_id", "created_by_id", "objection", "review_due", "notes", "version",
    "created_at", "updated_at", "deleted_at", "anonymised_at",
)


def _like_any(columns, person: Person):
    patterns = person.like_patterns()
    if not patterns:
        return sa.false()
    return sa.or_(*[
        sa.func.lower(sa.cast(c, sa.Text) if isinstance(c.type, sa.JSON) else c)
        .like(f"%{escape_like(p)}%", escape="\\") for c in columns for p in patterns])


def _mentioning(model, columns: tuple[str, ...], person: Person, scope) -> list:
    """Rows of ``model`` whose ``columns`` name the person: weakly inside ``scope`` (a
    condition), strongly anywhere."""
    cols = [getattr(model, c) for c in columns]
    rows = db.session.execute(
        sa.select(model, scope.label("in_scope")).where(sa.or_(scope, _like_any(cols, person)))
        .order_by(model.id)).all()
    return [obj for obj, in_scope in rows
            if any(person.mentions(getattr(obj, c), weak=bool(in_scope)) for c in columns)]


def personal_data(contact: Contact, *, actor) -> dict:
    """Everything held about ``contact``'s person, as plain values (dumped by the API's
    ``PersonalData`` schema, also for the download on the contact page). Audited as an
    "export" of the contact."""
    if not getattr(actor, "is_admin", False):
        raise PermissionDenied()
    person = Person.of(contact)
    org_id = contact.organisation_id
    linked = sa.select(interaction_contact.c.interaction_id).where(
        interaction_contact.c.contact_id == contact.id)
    linked_ids = set(db.session.scalars(linked))

    interactions = _mentioning(Interaction, ("subject", "notes"), person,
                               Interaction.organisation_id == org_id)
    seen = {i.id for i in interactions}
    present = db.session.scalars(sa.select(Interaction).where(Interaction.id.in_(linked_ids))
                                 .order_by(Interaction.id)).all() if linked_ids else []
    interactions = sorted([*interactions, *(i for i in present if i.id not in seen)],
                          key=lambda i: (i.date, i.id))
    interaction_ids = [i.id for i in interactions]
    tasks = _mentioning(Task, ("title", "description"), person, sa.or_(
        Task.organisation_id == org_id,
        Task.interaction_id.in_(interaction_ids) if interaction_ids else sa.false()))
    leads = _mentioning(Lead, ("title", "description", "decline_reason"), person,
                        Lead.organisation_id == org_id)
    comments = _mentioning(LeadComment, ("body",), person, LeadComment.lead_id.in_(
        sa.select(Lead.id).where(Lead.organisation_id == org_id)))
    lead_ids = {lead.id for lead in leads} | {c.lead_id for c in comments}
    leads = db.session.scalars(sa.select(Lead).where(Lead.id.in_(lead_ids))
                               .order_by(Lead.id)).all() if lead_ids else []

    own = sa.and_(AuditEvent.entity_type == "contact", AuditEvent.entity_id == str(contact.id))
    events = [e for e in db.session.scalars(
        sa.select(AuditEvent).where(sa.or_(own, _like_any([AuditEvent.changes], person)))
        .order_by(AuditEvent.at, AuditEvent.id))
        if (e.entity_type == "contact" and e.entity_id == str(contact.id))
        or person.json_mentions(e.changes)]

    import_rows = []
    for file_id, job_id, role, filename in db.session.execute(
            sa.select(JobFile.id, JobFile.job_id, JobFile.role, JobFile.filename)
            .order_by(JobFile.id)).all():
        data = db.session.scalar(sa.select(JobFile.data).where(JobFile.id == file_id))
        for row in files.rows_about(person, data or b""):
            import_rows.append({"job_id": job_id, "role": role, "filename": filename, **row})

    job = db.session.get(Job, contact.source_job_id) if contact.source_job_id else None
    created_by = contact.created_by
    data = {
        "generated_at": utcnow(),
        "contact": {k: getattr(contact, k) for k in CONTACT_FIELDS},
        "organisation": {"id": contact.organisation.id, "name": contact.organisation.name,
                         "kvk_number": contact.organisation.kvk_number},
        "source": {
            "kind": contact.source_kind, "description": contact.source,
            "created_by": {"id": created_by.id, "name": created_by.name} if created_by else None,
            "import": {"job_id": job.id, "filename": contact.import_filename,
                       "created_at": job.created_at} if job is not None else None,
        },
        "interactions": [{
            "id": i.id, "date": i.date, "type": i.type, "subject": i.subject, "notes": i.notes,
            "confidential": i.confidential, "organisation_id": i.organisation_id,
            "present": i.id in linked_ids, "deleted_at": i.deleted_at} for i in interactions],
        "tasks": [{
            "id": t.id, "title": t.title, "description": t.description, "due_date": t.due_date,
            "status": t.status, "organisation_id": t.organisation_id,
            "interaction_id": t.interaction_id, "deleted_at": t.deleted_at} for t in tasks],
        "leads": [{
            "id": lead.id, "type": lead.type, "title": lead.title,
            "description": lead.description, "status": lead.status,
            "organisation_id": lead.organisation_id, "deleted_at": lead.deleted_at,
            "comments": [{"id": c.id, "created_at": c.created_at, "body": c.body}
                         for c in comments if c.lead_id == lead.id]} for lead in leads],
        "audit_events": [{
            "id": e.id, "at": e.at, "action": e.action, "entity_type": e.entity_type,
            "entity_id": e.entity_id, "user_id": e.user_id, "changes": e.changes or {},
            "source": e.source, "result": e.result} for e in events],
        "import_rows": import_rows,
    }
    record("export", "contact", contact.id, user=actor,
           detail={"kind": "gdpr_access", "interactions": len(interactions),
                   "tasks": len(tasks), "leads": len(leads), "audit_events": len(events),
                   "import_rows": len(import_rows)})
    return data
