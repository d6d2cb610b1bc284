"""Undoing an import (issue 14 point 7): an admin, within ``IMPORT_UNDO_DAYS`` of the import,
puts back what it did.

What an import did is in :class:`~.models.ImportChange` (written by :mod:`.apply` with the
import's audit events, in the same transaction): the organisations and establishments it created
and, for those it updated, each changed field's value before and after the import.

* an organisation the import **created** is soft-deleted (restorable by an admin from the bin;
  its establishments stay with it, hidden with it, as when a person deletes an organisation) —
  unless someone changed it since (an audited update of one of its own fields after the
  import) or uses it (a contact moment, contact, lead, task, participation, value-chain role,
  supply link or account-team member points at it): then it is kept and listed as a conflict. An establishment the import added to an
  organisation that existed is soft-deleted;
* a field the import **changed** gets its value from before the import back — when its current
  value is still the one the import wrote. A field someone changed since is left as it is and
  listed as a conflict: the field, the value before the import, the value the import wrote, the
  current value, and who changed it when. Nothing is overwritten silently;
* rows the import held for review and nobody handled yet are withdrawn.

The undo is one transaction (the request's): all of it or nothing. It is audited — every record
it changes through the ORM's audit hook, plus one ``import_undo`` event on the job with the
counts — and recorded in :class:`~.models.ImportUndo`, whose primary key (the job) makes a second
undo impossible. An organisation the undo deleted comes back when the same file is imported
again (:func:`undone_creations`): the import restores and updates it rather than refuse its KvK
number as that of a deleted organisation.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..audit import events as audit
from ..audit.labels import entity_label, field_label
from ..audit.models import AuditEvent
from ..auth.models import User
from ..db import utcnow
from ..exceptions import PermissionDenied, ValidationError
from ..extensions import db, rq
from ..jobs.models import Job, JobStatus
from ..organisations.models import Establishment, Organisation, OrganisationSbi
from ..organisations.size import size_class
from ..signals import organisation_changed
from .jobs import JOB_KINDS
from .models import ImportChange, ImportReview, ImportUndo, ReviewStatus
from .planning import UPDATE_COLUMNS, sbi_label
from .upsert import EST_FIELDS, _chunks

MONEY = {"annual_turnover_eur", "balance_sheet_total_eur"}
MOMENTS = {"deleted_at"}
ORG_RESTORABLE = set(UPDATE_COLUMNS) | {"deleted_at", "sbi_codes"}
EST_RESTORABLE = set(EST_FIELDS) | {"is_main", "deleted_at"}
# An audited update of one of these after the import means someone worked on the organisation
# the import created: it is kept (a recomputed flag or a refreshed figure does not count).
OWN_FIELDS = set(UPDATE_COLUMNS) | {"sbi_codes", "kvk_number", "status", "tags",
                                    "establishment_number", "deleted_at", "merged_into_id"}
UNDOABLE_KIND = JOB_KINDS["organisations"]


def undo_days() -> int:
    return int(current_app.config.get("IMPORT_UNDO_DAYS", 30))


def undo_of(job: Job) -> ImportUndo | None:
    return db.session.get(ImportUndo, job.id)


def undo_refusal(job: Job, *, now: dt.datetime | None = None) -> str | None:
    """Why ``job`` cannot be undone (Dutch), or None when it can."""
    params = job.params or {}
    if job.kind != UNDOABLE_KIND or params.get("dry_run"):
        return _("Alleen een uitgevoerde import van organisaties kan ongedaan worden gemaakt.")
    if job.status != JobStatus.FINISHED:
        return _("Deze import is niet afgerond; er is niets om ongedaan te maken.")
    if undo_of(job) is not None:
        return _("Deze import is al ongedaan gemaakt.")
    finished = job.finished_at or job.created_at
    days = undo_days()
    if (now or utcnow()) > finished + dt.timedelta(days=days):
        return _("Een import kan tot %(n)s dagen na het importeren ongedaan worden gemaakt; deze "
                 "termijn is voorbij.", n=days)
    if not db.session.scalar(sa.select(sa.exists().where(ImportChange.job_id == job.id))):
        return _("Deze import heeft niets aangemaakt of gewijzigd; er is niets om ongedaan te "
                 "maken.")
    return None


def import_moment(job: Job) -> dt.datetime:
    """When the import wrote its rows (its ``import`` audit event), else when it started."""
    at = db.session.scalar(sa.select(AuditEvent.at).where(
        AuditEvent.entity_type == "job", AuditEvent.entity_id == job.id,
        AuditEvent.action == "import").limit(1))
    return at or job.started_at or job.created_at


# --- values ------------------------------------------------------------------------------------

def _plain(value):
    """A stored value as the import's ImportChange holds it (JSON)."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, (str, int, float, bool)):
        return value.value  # an enum
    return value


def _moment(value) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    moment = dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _same(name: str, a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if name in MONEY:
        return decimal.Decimal(str(a)) == decimal.Decimal(str(b))
    if name in MOMENTS:
        return _moment(a) == _moment(b)
    return _plain(a) == _plain(b)


def _stored(name: str, value):
    """A JSON value from ImportChange as the model attribute takes it."""
    if value is None:
        return None
    if name in MONEY:
        return decimal.Decimal(str(value))
    if name in MOMENTS:
        return _moment(value)
    return value


def _sbi_labels(rows) -> list[str]:
    """Labels as the import's audit writes them: main codes first, then by code."""
    flags = {(r.code, r.version): r.is_main for r in rows}
    return [sbi_label(c) for c in sorted(flags, key=lambda c: (not flags[c], c))]


# --- the undo ----------------------------------------------------------------------------------

@dataclass
class UndoResult:
    deleted: int = 0  # organisations soft-deleted
    establishments_deleted: int = 0
    restored_fields: int = 0
    restored_organisations: set = field(default_factory=set)
    already_gone: int = 0  # created organisations someone deleted or merged since
    reviews_withdrawn: int = 0
    conflicts: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"deleted": self.deleted, "establishments_deleted": self.establishments_deleted,
                "restored_fields": self.restored_fields,
                "restored_organisations": len(self.restored_organisations),
                "already_gone": self.already_gone, "reviews_withdrawn": self.reviews_withdrawn,
                "conflicts": self.conflicts}


def _load(model, ids) -> dict[int, object]:
    out = {}
    for chunk in _chunks(sorted(set(ids))):
        out.update({o.id: o for o in db.session.scalars(sa.select(model).where(
            model.id.in_(chunk)))})
    return out


def _later_changes(entity_type: str, ids, since: dt.datetime) -> dict[int, list[AuditEvent]]:
    """Audited changes of these records after ``since``, oldest first, per record id."""
    out: dict[int, list[AuditEvent]] = {}
    for chunk in _chunks(sorted({str(i) for i in ids})):
        for event in db.session.scalars(sa.select(AuditEvent).where(
                AuditEvent.entity_type == entity_type, AuditEvent.entity_id.in_(chunk),
                AuditEvent.at > since, AuditEvent.result == "success",
                AuditEvent.action.in_(("update", "delete", "merge", "restore")))
                .order_by(AuditEvent.at, AuditEvent.id)):
            out.setdefault(int(event.entity_id), []).append(event)
    return out


def _who(events: list[AuditEvent], name: str | None, users: dict[int, str]):
    """The last of ``events`` that changed field ``name`` (any, for None): (user, when)."""
    for event in reversed(events):
        if name is None or name in (event.changes or {}):
            return users.get(event.user_id) if event.user_id else None, event.at
    return None, None


# Records people add to an organisation (table → its column naming the organisation): one of
# these added after the import means the organisation is in use, and the undo keeps it.
WORK_TABLES = {"interaction": ("organisation_id",), "contact": ("organisation_id",),
               "lead": ("organisation_id",), "task": ("organisation_id",),
               "participation": ("organisation_id",), "chain_role": ("organisation_id",),
               "supply_link": ("supplier_id", "customer_id"),
               "account_team_member": ("organisation_id",),
               "account_team_request": ("organisation_id",)}


def _work_added(org_ids) -> dict[int, list[str]]:
    """Per organisation the import created, the kinds of record (contact moments, contacts,
    leads, …) that point at it and still exist — the import makes none of these, so each was
    added since, or moved there by a merge: one query per kind and chunk of ids."""
    found: dict[int, list[str]] = {}
    if not org_ids:
        return found
    for name, columns in WORK_TABLES.items():
        table = db.metadata.tables[name]
        live = [table.c.deleted_at.is_(None)] if "deleted_at" in table.c else []
        for column in columns:
            for chunk in _chunks(sorted(org_ids), 500):
                rows = db.session.execute(
                    sa.select(table.c[column]).distinct()
                    .where(table.c[column].in_(chunk), *live))
                for (org_id,) in rows:
                    kinds = found.setdefault(org_id, [])
                    if name not in kinds:
                        kinds.append(name)
    return found


def _conflict(result, org, entity_type, name, before, after, current, events, users, *,
              reason=None):
    who, when = _who(events, name if reason is None else None, users)
    result.conflicts.append({
        "organisation_id": org.id, "organisation": org.name, "entity_type": entity_type,
        "field": name, "field_label": field_label(entity_type, name) if name else "",
        "before": before, "after": after, "current": current, "changed_by": who,
        "changed_at": when.isoformat() if when else None, "reason": reason})


def undo_import(job: Job, *, actor, progress=None) -> dict:
    """Undo ``job`` (see the module docstring), in the current transaction; the result (counts
    and conflicts), also kept in its ImportUndo row. ValidationError when it cannot be undone.
    ``progress(percent, message)``: told along the way (the background job's progress bar)."""
    progress = progress or (lambda _percent, _message: None)
    if not getattr(actor, "is_admin", False):
        raise PermissionDenied()
    if job.kind in JOB_KINDS.values():  # lock the job: a second undo waits, then is refused
        db.session.execute(sa.select(Job.id).where(Job.id == job.id).with_for_update())
    reason = undo_refusal(job)
    if reason:
        raise ValidationError(reason)
    now = utcnow()
    # Claimed first: a concurrent undo of the same import fails on the primary key.
    undo = ImportUndo(job_id=job.id, undone_at=now, undone_by_id=actor.id, result={})
    db.session.add(undo)
    db.session.flush()
    since = import_moment(job)
    progress(5, _("Nagaan wat de import veranderde"))
    changes = db.session.scalars(sa.select(ImportChange).where(ImportChange.job_id == job.id)
                                 .order_by(ImportChange.id)).all()
    by = {(c.entity_type, c.action): [] for c in changes}
    for c in changes:
        by[(c.entity_type, c.action)].append(c)
    created_orgs = by.get(("organisation", "create"), [])
    updated_orgs = by.get(("organisation", "update"), [])
    created_ests = by.get(("establishment", "create"), [])
    updated_ests = by.get(("establishment", "update"), [])

    org_ids = {c.entity_id for c in created_orgs + updated_orgs}
    ests = _load(Establishment, [c.entity_id for c in created_ests + updated_ests])
    org_ids |= {e.organisation_id for e in ests.values()}
    orgs = _load(Organisation, org_ids)
    later = _later_changes("organisation", org_ids, since)
    est_later = _later_changes("establishment", ests, since)
    user_ids = {e.user_id for evs in (*later.values(), *est_later.values()) for e in evs
                if e.user_id}
    users = {u.id: u.name for u in _load(User, user_ids).values()} if user_ids else {}
    result = UndoResult()
    progress(30, _("Organisaties verwijderen en velden terugzetten"))

    # 1. Organisations the import created: soft-deleted, unless worked on since.
    kept: set[int] = set()
    in_use = _work_added({c.entity_id for c in created_orgs})
    for change in created_orgs:
        org = orgs.get(change.entity_id)
        if org is None or org.deleted_at is not None or org.merged_into_id is not None:
            result.already_gone += 1
            continue
        worked_on = [e for e in later.get(org.id, [])
                     if set(e.changes or {}) & OWN_FIELDS or e.action != "update"]
        if worked_on:
            kept.add(org.id)
            _conflict(result, org, "organisation", None, None, None, None, worked_on, users,
                      reason=_("Na de import gewijzigd; de organisatie is niet verwijderd."))
            continue
        if org.id in in_use:
            kept.add(org.id)
            _conflict(result, org, "organisation", None, None, None, None, [], users,
                      reason=_("Na de import in gebruik genomen (%(what)s); de organisatie is "
                               "niet verwijderd.",
                               what=", ".join(str(entity_label(k)) for k in in_use[org.id])))
            continue
        org.deleted_at, org.deleted_by_id = now, actor.id
        result.deleted += 1
    deleted_orgs = {c.entity_id for c in created_orgs} - kept

    # 2. Establishments the import added to organisations that existed (those of a new
    # organisation are not listed: they stay with it).
    for change in created_ests:
        est = ests.get(change.entity_id)
        if est is None or est.deleted_at is not None or est.organisation_id in deleted_orgs:
            continue
        org = orgs.get(est.organisation_id)
        if est_later.get(est.id):
            _conflict(result, org, "establishment", None, None, None, None, est_later[est.id],
                      users, reason=_("Vestiging %(number)s is na de import gewijzigd en niet "
                                      "verwijderd.", number=est.establishment_number or est.id))
            continue
        est.deleted_at, est.deleted_by_id = now, actor.id
        result.establishments_deleted += 1

    # 3. Fields the import changed: back to their value before it, unless changed since.
    for change in updated_orgs:
        org = orgs.get(change.entity_id)
        if org is None:
            continue
        if org.merged_into_id is not None:
            _conflict(result, org, "organisation", None, None, None, None,
                      later.get(org.id, []), users,
                      reason=_("Na de import samengevoegd met een andere organisatie; niet "
                               "teruggezet."))
            continue
        events = later.get(org.id, [])
        sbi_extra = {}
        for name, (before, after) in (change.changes or {}).items():
            if name not in ORG_RESTORABLE or name == "size_class":
                continue  # the size class follows from the figures (below)
            if name == "sbi_codes":
                current = _sbi_labels(org.sbi_codes)
                if current == after and (change.extra or {}).get("sbi") is not None:
                    _restore_sbi(org, change.extra["sbi"])
                    sbi_extra["sbi_codes"] = [current, _sbi_labels(org.sbi_codes)]
                    result.restored_fields += 1
                    result.restored_organisations.add(org.id)
                elif current != before:
                    _conflict(result, org, "organisation", name, before, after, current, events,
                              users)
                continue
            current = getattr(org, name)
            if _same(name, current, before):
                continue  # already back where it was
            if not _same(name, current, after):
                _conflict(result, org, "organisation", name, before, after, _plain(current),
                          events, users)
                continue
            setattr(org, name, _stored(name, before))
            if name == "deleted_at":
                org.deleted_by_id = actor.id if before is not None else None
            result.restored_fields += 1
            result.restored_organisations.add(org.id)
        if "size_class" in (change.changes or {}):
            org.size_class = size_class(org.employees, org.annual_turnover_eur,
                                        org.balance_sheet_total_eur)
        if sbi_extra:
            org.updated_at = now  # a collection is no column: touch the row (version, audit)
            org._audit_extra = sbi_extra
    for change in updated_ests:
        est = ests.get(change.entity_id)
        if est is None or est.organisation_id in deleted_orgs:
            continue
        org = orgs.get(est.organisation_id)
        for name, (before, after) in (change.changes or {}).items():
            if name not in EST_RESTORABLE:
                continue
            current = getattr(est, name)
            if _same(name, current, before):
                continue
            if not _same(name, current, after):
                _conflict(result, org, "establishment", name, before, after, _plain(current),
                          est_later.get(est.id, []), users)
                continue
            setattr(est, name, _stored(name, before))
            if name == "deleted_at":
                est.deleted_by_id = actor.id if before is not None else None
            result.restored_fields += 1

    # 4. Rows held for review that nobody handled: withdrawn.
    result.reviews_withdrawn = db.session.execute(sa.delete(ImportReview).where(
        ImportReview.job_id == job.id, ImportReview.status == ReviewStatus.PENDING)).rowcount or 0

    progress(80, _("Opslaan"))
    db.session.flush()
    summary = result.as_dict()
    undo.result = summary
    audit.record("import_undo", "job", job.id, user=actor, detail={
        "file": (job.params or {}).get("filename", ""), "deleted": result.deleted,
        "restored_fields": result.restored_fields, "conflicts": len(result.conflicts)})
    db.session.flush()
    organisation_changed.send(None, reason="import_undo")
    return summary


def _restore_sbi(org: Organisation, before: list) -> None:
    """The organisation's SBI codes as they were before the import ([[code, version, main]])."""
    wanted = {(c, v): bool(m) for c, v, m in before}
    current = {(s.code, s.version): s for s in org.sbi_codes}
    org.sbi_codes = [s for key, s in current.items() if key in wanted] + [
        OrganisationSbi(code=c, version=v) for (c, v) in wanted if (c, v) not in current]
    for s in org.sbi_codes:
        s.is_main = wanted[(s.code, s.version)]


# --- a large undo as a background job ----------------------------------------------------------

UNDO_KIND = "import_undo"
INLINE_MAX = 2000  # records an import changed: more are undone by a background job


def change_count(job: Job) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(ImportChange)
                             .where(ImportChange.job_id == job.id)) or 0


def running_undo(job: Job) -> Job | None:
    """The background job undoing ``job`` while it is queued or running."""
    undo_job_id = (job.params or {}).get("undo_job_id")
    undo_job = db.session.get(Job, undo_job_id) if undo_job_id else None
    if undo_job is not None and undo_job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        return undo_job
    return None


def start_undo_job(job: Job, *, actor) -> Job:
    """A background job that undoes ``job`` (queued once the caller commits). The same checks
    as :func:`undo_import` first, so a refusal is said at once."""
    from ..jobs import lifecycle

    if not getattr(actor, "is_admin", False):
        raise PermissionDenied()
    db.session.execute(sa.select(Job.id).where(Job.id == job.id).with_for_update())
    reason = undo_refusal(job)
    if reason:
        raise ValidationError(reason)
    if running_undo(job) is not None:
        raise ValidationError(_("Deze import wordt al ongedaan gemaakt."))
    params = job.params or {}
    undo_job = lifecycle.new_job(UNDO_KIND, actor=actor, params={
        "import_job_id": job.id, "filename": params.get("filename", "")})
    job.params = {**params, "undo_job_id": undo_job.id}
    timeout = int(current_app.config.get("IMPORT_JOB_TIMEOUT", 3600))
    lifecycle.enqueue(undo_task, undo_job.id, timeout=timeout)
    return undo_job


@rq.job
def undo_task(job_id: str) -> dict | None:
    """The RQ job."""
    return run_undo_job(job_id)


def run_undo_job(job_id: str) -> dict | None:
    from ..jobs import lifecycle

    return lifecycle.run(job_id, _undo_body, kinds=(UNDO_KIND,),
                         running=_("Bezig met ongedaan maken"), exclusive=True,
                         failure=lambda exc: _("Het ongedaan maken is mislukt (%(error)s); er is "
                                               "niets veranderd. Probeer het opnieuw.",
                                               error=type(exc).__name__))


def _undo_body(undo_job: Job, progress):
    from flask import g

    from ..jobs import lifecycle

    imported = db.session.get(Job, (undo_job.params or {}).get("import_job_id", ""))
    actor = db.session.get(User, undo_job.created_by_id) if undo_job.created_by_id else None
    if imported is None or actor is None:
        raise lifecycle.JobFailed(_("De import of de beheerder bestaat niet meer."))
    before = {k: g.get(k) for k in ("audit_user_id", "audit_source")}
    g.audit_user_id, g.audit_source = actor.id, "job"  # the admin who asked, as in a request
    try:
        summary = undo_import(imported, actor=actor, progress=progress)
    except ValidationError as exc:
        raise lifecycle.JobFailed("; ".join(map(str, exc.errors.values()))) from exc
    finally:
        for key, value in before.items():
            if value is None:
                g.pop(key, None)
            else:
                setattr(g, key, value)
    result = {k: v for k, v in summary.items() if k != "conflicts"}
    result.update(conflicts=len(summary["conflicts"]), import_job_id=imported.id)
    return lifecycle.Finished(result, _(
        "Klaar: %(deleted)s organisaties verwijderd, %(fields)s velden teruggezet, "
        "%(conflicts)s niet teruggezet.", deleted=result["deleted"],
        fields=result["restored_fields"], conflicts=result["conflicts"]))


# --- what an import did, for its result page ---------------------------------------------------

LINKS_SHOWN = 50


def import_outcome(job: Job) -> dict:
    """The organisations an import created and updated (the first LINKS_SHOWN of each, by name,
    with the totals) and its undo, for the job page. Three or four statements, whatever the
    size of the import."""
    out = {"created": [], "updated": [], "created_total": 0, "updated_total": 0, "undo": None}
    if job.kind != UNDOABLE_KIND or (job.params or {}).get("dry_run"):
        return out
    C, O = ImportChange, Organisation
    for action in ("create", "update"):
        where = (C.job_id == job.id, C.entity_type == "organisation", C.action == action)
        out[f"{action}d_total"] = db.session.scalar(
            sa.select(sa.func.count()).select_from(C).where(*where)) or 0
        if out[f"{action}d_total"]:
            out[f"{action}d"] = db.session.execute(
                sa.select(O.id, O.name, O.deleted_at).join(C, C.entity_id == O.id).where(*where)
                .order_by(O.name, O.id).limit(LINKS_SHOWN)).all()
    out["undo"] = undo_of(job)
    return out


def undone_creations(org_ids) -> set[int]:
    """Which of these (deleted) organisations were deleted by the undo of the import that
    created them: a new import of their KvK number brings them back."""
    out: set[int] = set()
    for chunk in _chunks(sorted(set(org_ids))):
        out.update(db.session.scalars(
            sa.select(ImportChange.entity_id)
            .join(ImportUndo, ImportUndo.job_id == ImportChange.job_id)
            .join(Organisation, Organisation.id == ImportChange.entity_id)
            .where(ImportChange.entity_type == "organisation", ImportChange.action == "create",
                   ImportChange.entity_id.in_(chunk),
                   Organisation.deleted_at == ImportUndo.undone_at)))
    return out
