"""Erasure (GDPR art. 17): a contact person anonymised everywhere the system keeps them.

One transaction, in this order:

1. the person's marks (:class:`~.person.Person`) are taken from the contact row while it still
   holds them;
2. the contact row: the name becomes "Geanonimiseerd", e-mail, phones, function and notes are
   cleared, ``anonymised_at`` is set; the row stays (contact moments keep their count of people
   present) but identifies no one;
3. records about the person — their organisation's contact moments, tasks, leads with their
   comments and history, participations, the notifications of those tasks and leads, and the
   jobs about them (see :func:`_jobs_about`: the import that created them, a job naming them or
   their organisation, a job whose kept file holds them) with those jobs' audit events — lose
   the person's name (the first name or surname alone too), e-mail address and numbers;
4. the audit trail: the contact's own events lose every personal value (``"[verwijderd]"``),
   other events lose the marks — through the audit guard's one sanctioned rewrite;
5. every kept file (uploaded imports, import reports, exports): the person's rows and mentions;
6. every other text and JSON column of every table: the full name, e-mail address and numbers.
   A first name or surname alone stays there: another "Jan" in an unrelated job, export or
   file is not this person.

The writes are plain table UPDATEs, so the audit listener does not copy the old values into new
events; a record that changed gets its version raised (an edit form opened before the erasure
cannot save the old text back) and one audit event "erase" listing only the field names. Its
``updated_at`` stays: taking a name out is not activity, and the retention list
(:mod:`.retention`) measures a record's age by it — only the erased contact's own row is marked
changed (it is anonymised; retention no longer looks at it). The erasure itself is audited on
the contact, without any personal data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import current_app

from ..audit.events import build
from ..audit.guard import allow_rewrite
from ..audit.models import AuditEvent
from ..contacts.models import ANONYMISED_NAME, Contact
from ..db import escape_like, utcnow
from ..exceptions import ConflictError, PermissionDenied
from ..extensions import db
from ..interactions.models import Interaction, Task, interaction_contact
from ..jobs.models import Job, JobFile
from ..leads.models import Lead, LeadComment, LeadEvent
from ..notifications.models import Notification
from ..programmes.models import Participation
from . import files
from .person import REMOVED, People, Person

# The contact's own columns that identify the person (cleared on the row, "[verwijderd]" in
# the contact's audit events).
PERSONAL_FIELDS = ("first_name", "last_name", "function", "email", "phone", "mobile", "notes")
# Tables the sweep leaves alone: the users' own accounts and secrets, and Alembic's bookkeeping.
# (A user's own e-mail address is not a contact's data, even when it is the same address.)
NOT_SWEPT = {"user", "api_token", "user_session", "recovery_code", "alembic_version"}
# The free text of records about a person (step 3), per model.
SCOPED_TEXT = {
    Interaction: ("subject", "notes"),
    Task: ("title", "description"),
    Lead: ("title", "description", "decline_reason"),
    LeadComment: ("body",),
    LeadEvent: ("note",),
    Participation: ("notes",),
    Notification: ("title",),
}


def erase_contact(contact: Contact, *, actor) -> dict[str, Any]:
    """Anonymise ``contact`` everywhere (admins only); returns what changed, by table (counts,
    never values). A contact already anonymised: ConflictError."""
    if contact.anonymised_at is not None:
        raise ConflictError("already anonymised")
    return erase_contacts([contact], actor=actor)


def erase_contacts(contacts: list[Contact], *, actor, by_system: bool = False) -> dict[str, Any]:
    """Anonymise several contacts in one pass over the files and the database (the retention
    list). Admins only, or ``by_system`` for a system job without an actor (the bin's purge
    anonymises a contact before deleting it, so its audit history keeps no name either).
    Contacts already anonymised are skipped."""
    if not by_system and not getattr(actor, "is_admin", False):
        raise PermissionDenied()
    db.session.flush()
    contacts = [c for c in contacts if c.anonymised_at is None]
    now = utcnow()
    if not contacts:
        return {"contact_id": None, "anonymised_at": now, "records": {}}
    persons = [(c.id, c.organisation_id, Person.of(c)) for c in contacts]
    source_jobs = {c.id: c.source_job_id for c in contacts}
    people = People([p for _id, _org, p in persons])
    ids = [c.id for c in contacts]
    counts: dict[str, int] = defaultdict(int)
    erased_records: list[tuple[str, str, list[str], int | None]] = []

    def note(table: str, pk: str, fields: list[str], version: int | None) -> None:
        counts[table] += 1
        erased_records.append((table, pk, fields, version))

    reason = "AVG art. 17: anonimisering van contactpersoon " + ", ".join(map(str, ids[:20]))
    with allow_rewrite(reason):
        table = Contact.__table__
        # The one row whose updated_at moves (onupdate): the contact itself changed.
        db.session.execute(
            sa.update(table).where(table.c.id.in_(ids)).values(
                first_name=None, last_name=ANONYMISED_NAME, function=None, email=None, phone=None,
                mobile=None, notes=None, anonymised_at=now, version=table.c.version + 1))
        counts["contact"] = len(ids)
        _scrub_contact_events(ids, counts)
        if not people.empty:
            about, file_ids = _jobs_about(persons, source_jobs, people)
            _rename_files(people, persons, about)
            for contact_id, org_id, person in persons:
                if not person.empty:
                    _scrub_scoped(person, contact_id, org_id, note)
            _scrub_job_events(persons, about, note)
            _scrub_jobs(persons, about, note)
            counts["job_file"] += _scrub_files(people, persons, about, file_ids)
            _sweep(people, note)
        _record_erasures(erased_records, actor)
        db.session.flush()
        records = {k: v for k, v in sorted(counts.items()) if v}
        for contact_id in ids:
            db.session.add(AuditEvent(**build(
                "erase", "contact", contact_id, user=actor,
                changes={"anonymised": [None, True]},
                detail={"records": records, **({"together_with": len(ids) - 1}
                                                if len(ids) > 1 else {})})))
        db.session.flush()
    db.session.expire_all()
    current_app.logger.info("Contacts %s anonymised (%s)", ids, records)
    return {"contact_id": ids[0], "anonymised_at": now, "records": records}


# --- the audit trail of the contact itself -------------------------------------------------

def _scrub_contact_events(contact_ids: list[int], counts) -> None:
    """Every personal value in the contacts' own events becomes "[verwijderd]"."""
    rows = db.session.execute(
        sa.select(AuditEvent.id, AuditEvent.changes)
        .where(AuditEvent.entity_type == "contact",
               AuditEvent.entity_id.in_([str(i) for i in contact_ids])))
    table = AuditEvent.__table__
    for event_id, changes in rows.all():
        if not isinstance(changes, dict):
            continue
        new = {k: (_removed(v) if k in PERSONAL_FIELDS else v) for k, v in changes.items()}
        if new != changes:
            db.session.execute(sa.update(table).where(table.c.id == event_id).values(changes=new))
            counts["audit_event"] += 1


def _removed(value):
    if isinstance(value, list):
        return [None if v in (None, "") else REMOVED for v in value]
    return None if value in (None, "") else REMOVED


# --- records about the person ---------------------------------------------------------------

def _scope(contact_id: int, org_id: int) -> dict:
    """Subqueries of the ids of the records about the person: their organisation's contact
    moments and those they took part in, the tasks of either, the organisation's leads."""
    linked = sa.select(interaction_contact.c.interaction_id).where(
        interaction_contact.c.contact_id == contact_id)
    interactions = sa.select(Interaction.id).where(
        sa.or_(Interaction.organisation_id == org_id, Interaction.id.in_(linked)))
    tasks = sa.select(Task.id).where(sa.or_(
        Task.organisation_id == org_id, Task.interaction_id.in_(interactions)))
    leads = sa.select(Lead.id).where(Lead.organisation_id == org_id)
    comments = sa.select(LeadComment.id).where(LeadComment.lead_id.in_(leads))
    participations = sa.select(Participation.id).where(Participation.organisation_id == org_id)
    return {"interaction": interactions, "task": tasks, "lead": leads, "lead_comment": comments,
            "participation": participations}


def _scrub_scoped(person: Person, contact_id: int, org_id: int, note) -> None:
    """The free text of the records about this person, first name and surname alone included."""
    ids = _scope(contact_id, org_id)
    where = {
        Interaction: Interaction.id.in_(ids["interaction"]),
        Task: Task.id.in_(ids["task"]),
        Lead: Lead.id.in_(ids["lead"]),
        LeadComment: LeadComment.lead_id.in_(ids["lead"]),
        LeadEvent: LeadEvent.lead_id.in_(ids["lead"]),
        Participation: Participation.organisation_id == org_id,
        Notification: sa.or_(Notification.lead_id.in_(ids["lead"]),
                             Notification.task_id.in_(ids["task"])),
    }
    for model, columns in SCOPED_TEXT.items():
        _rewrite(model.__table__, where[model], columns,
                 lambda v: person.scrub(v, weak=True), note)
    # Their audit events (what the text said before).
    events = sa.or_(*[
        sa.and_(AuditEvent.entity_type == kind, AuditEvent.entity_id.in_(
            sub.with_only_columns(sa.cast(sub.selected_columns[0], sa.String))))
        for kind, sub in ids.items()])
    _rewrite(AuditEvent.__table__, events, ("changes",),
             lambda v: person.scrub_json(v, weak=True), note)


# --- jobs and their files -------------------------------------------------------------------

JOB_TEXT = ("params", "result", "message")


def _jobs_about(persons, source_jobs: dict, people: People) -> tuple[dict, list[int]]:
    """Per contact id, the ids of the jobs about the person: the import that created them, a
    job whose parameters, result or message hold a strong mark of them (full name, e-mail,
    number) or name their organisation or contact by id, a job with a kept file that holds
    them (a strong mark, or a row that is theirs). Only there do a first name or surname alone
    count as theirs. Also the ids of the kept files that mention any of them at all (the only
    ones :func:`_scrub_files` opens again). Read before anything is rewritten."""
    about: dict[int, set[str]] = {cid: set() for cid, _org, _p in persons}
    for cid, _org, person in persons:
        if source_jobs.get(cid) and not person.empty:
            about[cid].add(source_jobs[cid])
    table = Job.__table__
    cols = [table.c[name] for name in JOB_TEXT]
    condition = sa.or_(_like_any(cols, people.like_patterns()), _like_any(
        [table.c.params], ["organisation_id", "contact_id"]))
    for job_id, *values in db.session.execute(sa.select(table.c.id, *cols).where(condition)):
        for cid, org_id, person in persons:
            if not person.empty and (_names_ids(values[0], org_id, cid)
                                     or person.json_mentions(values)):
                about[cid].add(job_id)
    file_ids = []
    data_col = JobFile.__table__.c.data
    for file_id, job_id in db.session.execute(
            sa.select(JobFile.id, JobFile.job_id).order_by(JobFile.id)).all():
        data = db.session.execute(sa.select(data_col).where(JobFile.id == file_id)).scalar()
        mentioned = False
        for cid, _org, person in persons:
            if person.empty:
                continue
            found = files.holds(person, data or b"")
            mentioned |= found is not None
            if found:
                about[cid].add(job_id)
        if mentioned:
            file_ids.append(file_id)
    return about, file_ids


def _names_ids(value, org_id, contact_id) -> bool:
    """Whether a job's parameters name the organisation or the contact by id (a list export
    filtered on the organisation)."""
    if isinstance(value, list):
        return any(_names_ids(v, org_id, contact_id) for v in value)
    if not isinstance(value, dict):
        return False
    for key, v in value.items():
        if key == "organisation_id" and org_id is not None and str(v) == str(org_id):
            return True
        if key == "contact_id" and str(v) == str(contact_id):
            return True
        if key == "contact_ids" and isinstance(v, list) and str(contact_id) in map(str, v):
            return True
        if isinstance(v, (dict, list)) and _names_ids(v, org_id, contact_id):
            return True
    return False


def _export_key(params) -> tuple | None:
    """What the audit event of a list export built by this job holds (see
    ``exports.lists.record_export``): its format and filters."""
    if not isinstance(params, dict) or "export" not in params:
        return None
    args = params.get("args") if isinstance(params.get("args"), dict) else {}
    filters = urlencode(sorted((str(k), str(v)) for k, v in args.items()))[:500]
    return params.get("format"), filters


def _scrub_job_events(persons, about: dict, note) -> None:
    """The audit events of jobs and list exports. Those of a job about the person (its import,
    its downloads, the export it built) lose every mark of them, first name or surname alone
    included; so does one that holds a strong mark of them. Any other keeps a first name or
    surname alone (another person's). Before :func:`_scrub_jobs` (it reads the jobs' filters)."""
    table = AuditEvent.__table__
    for cid, _org, person in persons:
        job_ids = sorted(about[cid])
        if person.empty:
            continue
        tied = [sa.and_(table.c.entity_type == "job", table.c.entity_id.in_(job_ids))] \
            if job_ids else []
        exports = defaultdict(set)
        if job_ids:
            for user_id, params in db.session.execute(sa.select(Job.created_by_id, Job.params)
                                                      .where(Job.id.in_(job_ids))):
                key = _export_key(params)
                if key is not None and user_id is not None:
                    exports[user_id].add(key)
        if exports:
            rows = db.session.execute(sa.select(table.c.id, table.c.user_id, table.c.changes).where(
                table.c.entity_type == "export", table.c.source == "job",
                table.c.user_id.in_(list(exports))))
            ids = [event_id for event_id, user_id, changes in rows
                   if isinstance(changes, dict)
                   and (changes.get("format"), changes.get("filters")) in exports[user_id]]
            if ids:
                tied.append(table.c.id.in_(ids))
        if tied:
            _rewrite(table, sa.or_(*tied), ("changes",),
                     lambda v, p=person: p.scrub_json(v, weak=True), note)
        patterns = person.like_patterns()
        if patterns:
            holding = sa.and_(table.c.entity_type.in_(("job", "export")),
                              _like_any([table.c.changes], patterns))
            _rewrite(table, holding, ("changes",),
                     lambda v, p=person: p.scrub_json(v, weak=p.json_mentions(v)), note)


def _scrub_jobs(persons, about: dict, note) -> None:
    """The parameters, result and message of the jobs about each person (a list export that
    searched for the surname; an import's messages), first name and surname alone included.
    Other jobs lose only the strong marks (:func:`_sweep`)."""
    for cid, _org, person in persons:
        if about[cid] and not person.empty:
            _rewrite(Job.__table__, Job.id.in_(sorted(about[cid])), JOB_TEXT,
                     lambda v, p=person: p.scrub_json(v, weak=True), note)


def _rename_files(people: People, persons, about: dict) -> None:
    """A kept file of a job about the person named after them ("beurs-Zwartkruis.csv") gets a
    name without them, and that name is replaced wherever it was written down (contact
    sources, audit events, import reviews), like a strong mark. Another job's file
    ("jan-bakker.csv" when Jan Smit is erased) keeps its name."""
    for cid, _org, person in persons:
        job_ids = sorted(about[cid])
        if not job_ids or person.empty:
            continue
        for name in db.session.scalars(sa.select(JobFile.filename).where(
                JobFile.job_id.in_(job_ids))):
            if person.mentions(name, weak=True):
                people.add_literal(name, person.scrub(name, weak=True))
        for name in db.session.scalars(sa.select(Contact.source).where(
                Contact.source_kind == "import", Contact.source.is_not(None),
                Contact.source_job_id.in_(job_ids))):
            filename = name.partition(" ")[2]
            if filename and person.mentions(filename, weak=True):
                people.add_literal(filename, person.scrub(filename, weak=True))


def _scrub_files(people: People, persons, about: dict, file_ids: list[int]) -> int:
    """The kept files that mention someone, one at a time (they may be large); a file of a job
    about a person also loses that person's first name or surname alone from its metadata."""
    changed = 0
    table = JobFile.__table__
    for file_id in file_ids:
        job_id, data = db.session.execute(sa.select(table.c.job_id, table.c.data)
                                          .where(table.c.id == file_id)).one()
        weak = People([p for cid, _org, p in persons if job_id in about[cid]])
        new = files.scrub_file(people, data or b"", weak=weak)
        if new is not None:
            db.session.execute(sa.update(table).where(table.c.id == file_id)
                               .values(data=new, size=len(new)))
            changed += 1
    return changed


# --- every other column ---------------------------------------------------------------------

def _text_columns(table: sa.Table) -> list[sa.Column]:
    return [c for c in table.columns if not c.primary_key
            and isinstance(c.type, (sa.String, sa.JSON)) and not c.foreign_keys]


def _like_any(columns, patterns: list[str]):
    """SQL: one of ``columns`` (text or JSON) holds one of the lower-case ``patterns``."""
    if not patterns:
        return sa.false()
    return sa.or_(*[
        sa.func.lower(sa.cast(c, sa.Text) if isinstance(c.type, sa.JSON) else c)
        .like(f"%{escape_like(p)}%", escape="\\")
        for c in columns for p in patterns])


def _sweep(person: Person | People, note) -> None:
    """The person's full name, e-mail address and numbers out of every text and JSON column."""
    patterns = person.like_patterns()
    if not patterns:
        return
    for table in db.metadata.sorted_tables:
        if table.name in NOT_SWEPT or not table.primary_key.columns:
            continue
        columns = _text_columns(table)
        if not columns:
            continue
        condition = _like_any(columns, patterns)
        _rewrite(table, condition, tuple(c.name for c in columns),
                 lambda v: person.scrub_json(v) if not isinstance(v, str) else person.scrub(v),
                 note)


# --- the one way of rewriting rows ------------------------------------------------------------

def _rewrite(table: sa.Table, condition, columns: tuple[str, ...], scrub: Callable, note) -> None:
    """Rewrite ``columns`` of the rows of ``table`` matching ``condition`` with ``scrub``: a plain
    UPDATE per changed row, the version raised where the table has one, ``updated_at`` kept
    (no ``onupdate``: a scrubbed record is no more active than before — retention)."""
    pk = list(table.primary_key.columns)
    cols = [table.c[name] for name in columns if name in table.c]
    if not cols:
        return
    versioned = "version" in table.c
    stmt = sa.select(*pk, *cols, *([table.c.version] if versioned else [])).where(condition)
    for row in db.session.execute(stmt).all():
        keys = row[:len(pk)]
        values = row[len(pk):len(pk) + len(cols)]
        changed = {}
        for column, value in zip(cols, values):
            if value is None:
                continue
            new = scrub(value)
            if new != value:
                changed[column.name] = new
        if not changed:
            continue
        where = sa.and_(*[c == k for c, k in zip(pk, keys)])
        update = dict(changed)
        version = None
        if versioned:
            version = row[-1] + 1 if row[-1] is not None else None
            update["version"] = table.c.version + 1
        if "updated_at" in table.c:
            update["updated_at"] = table.c.updated_at
        db.session.execute(sa.update(table).where(where).values(**update))
        note(table.name, "/".join(str(k) for k in keys), sorted(changed), version)


def _record_erasures(records, actor) -> None:
    """One "erase" event per audited record whose text changed: which fields, no values."""
    audited = {m.__tablename__ for m in _audited_models()}
    rows = []
    for table, pk, fields, version in records:
        if table not in audited:
            continue
        values = build("erase", table, pk, user=actor,
                       changes={f: [REMOVED, REMOVED] for f in fields})
        values["record_version"] = version
        rows.append(values)
    if rows:
        db.session.execute(sa.insert(AuditEvent), rows)


def _audited_models():
    for mapper in db.Model.registry.mappers:
        if getattr(mapper.class_, "__audited__", False):
            yield mapper.class_
