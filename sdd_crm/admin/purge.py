"""The purge: what has been in the bin longer than ``BIN_RETENTION_DAYS`` (default 60) goes for good.

Which records: every kind of the bin (:data:`sdd_crm.admin.recycle_bin.KINDS`) whose
``deleted_at`` lies before the cut-off — and with each, what cannot exist without it
(:data:`CASCADE`): an organisation takes its contacts, contact moments, tasks, leads,
establishments, roles in chains, supply links, participations and the records merged into it,
whatever their own state (they have been hidden since the organisation was deleted); a lead its
comments, a cluster its value chains, a value chain its roles, a programme its participations.

Every other row that points at a purged record is handled by name (a test checks that every
foreign key is named): rows that only make sense with it are deleted with it (:data:`DELETE`:
account-team rows, SBI codes, links between records, status history, stages, …); a link from a
record that stays is cut (:data:`NULL`: a subsidiary's parent, a task's contact moment, a supply
link's value chain), and when that record is audited the cut is written as its ``update``.

Each purged record gets exactly one audit event, ``purge``, with its label in ``changes``
(``{"label": [label, None], "deleted_at": [when, None]}``, and ``purged_with`` for what went
with its parent). The rows are deleted with plain SQL statements, which the session's audit
listener does not see: no second ``delete`` event. The audit history of a purged record stays.

It runs as a job on the one job lifecycle (``bin_purge``), started by the schedule
(:mod:`sdd_crm.jobs.schedule`, nightly), by ``flask bin purge`` or by nothing else; ``--dry-run``
only counts.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app, g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..audit.events import record
from ..db import utcnow
from ..extensions import db, rq
from ..jobs import lifecycle
from ..jobs.models import Job
from .recycle_bin import KIND_BY_MODEL, KINDS

log = logging.getLogger(__name__)

JOB_KIND = "bin_purge"
ACTION = "purge"
DEFAULT_RETENTION_DAYS = 60
DEFAULT_TIMEOUT = 3600
CHUNK = 500

# (table, column) → the referencing record is purged with the record it points at.
CASCADE = {
    ("contact", "organisation_id"), ("interaction", "organisation_id"),
    ("task", "organisation_id"), ("lead", "organisation_id"),
    ("establishment", "organisation_id"), ("chain_role", "organisation_id"),
    ("supply_link", "supplier_id"), ("supply_link", "customer_id"),
    ("participation", "organisation_id"), ("organisation", "merged_into_id"),
    ("lead_comment", "lead_id"), ("value_chain", "cluster_id"),
    ("chain_role", "value_chain_id"), ("participation", "programme_id"),
}
# (table, column) → rows that only make sense with the purged record: deleted with it, without
# an event of their own (the purged record's event covers them).
DELETE = {
    ("account_team_member", "organisation_id"), ("account_team_request", "organisation_id"),
    ("criticality_assessment", "organisation_id"),
    ("duplicate_dismissal", "organisation_a_id"), ("duplicate_dismissal", "organisation_b_id"),
    ("import_review", "candidate_id"),
    ("organisation_cluster", "organisation_id"), ("organisation_cluster", "cluster_id"),
    ("organisation_sbi", "organisation_id"), ("organisation_tag", "organisation_id"),
    ("programme_municipality", "programme_id"), ("programme_target", "programme_id"),
    ("interaction_contact", "contact_id"), ("interaction_contact", "interaction_id"),
    ("interaction_topic", "interaction_id"), ("interaction_user", "interaction_id"),
    ("lead_event", "lead_id"), ("participation_event", "participation_id"),
    ("participation_interaction", "interaction_id"),
    ("participation_interaction", "participation_id"),
    ("value_chain_stage", "value_chain_id"),
    ("notification", "task_id"), ("notification", "lead_id"),
}
# (table, column) → a link from a record that stays: cut (set to NULL).
NULL = {
    ("organisation", "parent_id"), ("import_review", "resolved_organisation_id"),
    ("supply_link", "value_chain_id"), ("task", "interaction_id"), ("task", "lead_id"),
    ("chain_role", "stage_id"),
}

RUNNING = _l("Verwijderde gegevens opruimen")


def retention_days() -> int:
    """How many days a record stays in the bin (``BIN_RETENTION_DAYS``, at least 1)."""
    return max(1, int(current_app.config.get("BIN_RETENTION_DAYS", DEFAULT_RETENTION_DAYS)))


def cutoff(now: dt.datetime | None = None) -> dt.datetime:
    """Records deleted before this moment are due."""
    return (now or utcnow()) - dt.timedelta(days=retention_days())


# --- Which rows: the foreign keys, by name -----------------------------------------------------

def _tables() -> dict[str, sa.Table]:
    return db.metadata.tables


def references_to(table: str) -> list[tuple[sa.Table, sa.Column]]:
    """Every (table, column) whose foreign key points at ``table``."""
    out = []
    for t in _tables().values():
        for fk in t.foreign_keys:
            if fk.column.table.name == table:
                out.append((t, fk.parent))
    return sorted(out, key=lambda tc: (tc[0].name, tc[1].name))


def purged_tables() -> set[str]:
    """The tables the purge deletes rows from: the bin's kinds and what goes with them."""
    names = {k.entity_type for k in KINDS.values()}
    todo = list(names)
    while todo:
        for t, c in references_to(todo.pop()):
            key = (t.name, c.name)
            if (key in CASCADE or key in DELETE) and t.name not in names:
                names.add(t.name)
                todo.append(t.name)
    return names


def unnamed_references() -> list[tuple[str, str]]:
    """Foreign keys to a table the purge deletes from that no rule names (a test keeps it empty;
    meanwhile the purge cuts a nullable one and deletes the rows of any other, and logs it)."""
    named = CASCADE | DELETE | NULL
    return sorted({(t.name, c.name) for table in purged_tables()
                   for t, c in references_to(table) if (t.name, c.name) not in named})


def _rule(key: tuple[str, str], column: sa.Column) -> str:
    if key in CASCADE or key in DELETE:
        return "delete"
    if key in NULL:
        return "null"
    log.warning("Purge: no rule for %s.%s; %s", key[0], key[1],
                "cutting the link" if column.nullable else "deleting the rows")
    return "null" if column.nullable else "delete"


def _chunks(ids: Iterable) -> Iterable[list]:
    ids = sorted(ids)
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _pk(table: sa.Table) -> sa.Column | None:
    cols = list(table.primary_key.columns)
    return cols[0] if len(cols) == 1 else None


# --- The plan ------------------------------------------------------------------------------------

@dataclass
class Plan:
    """The records to purge: ``own`` (deleted before the cut-off) and ``cascaded`` (going with a
    purged record: ``{table: {id: "organisation/12"}}``), per table."""

    cutoff: dt.datetime
    own: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    cascaded: dict[str, dict[int, str]] = field(default_factory=lambda: defaultdict(dict))

    def ids(self, table: str) -> set[int]:
        return self.own.get(table, set()) | set(self.cascaded.get(table, {}))

    def counts(self) -> dict[str, int]:
        """Records per bin kind (its URL key), only kinds with any."""
        return {k.key: n for k in KINDS.values() if (n := len(self.ids(k.entity_type)))}

    @property
    def total(self) -> int:
        return sum(self.counts().values())


def plan(before: dt.datetime, *, lock: bool = False) -> Plan:
    """What a purge with cut-off ``before`` removes (reads only; ``lock``: FOR UPDATE on
    PostgreSQL, so a restore waits instead of racing the purge)."""
    result = Plan(before)
    todo: list[tuple[str, set[int]]] = []
    for kind in KINDS.values():
        model = kind.model
        stmt = sa.select(model.id).where(model.deleted_at.is_not(None), model.deleted_at < before)
        if lock:
            stmt = stmt.with_for_update()
        ids = set(db.session.scalars(stmt))
        if ids:
            result.own[kind.entity_type] |= ids
            todo.append((kind.entity_type, ids))
    while todo:
        table, ids = todo.pop()
        for ref, column in references_to(table):
            if (ref.name, column.name) not in CASCADE:
                continue
            pk = _pk(ref)
            found: dict[int, int] = {}
            for chunk in _chunks(ids):
                found.update((i, parent) for i, parent in db.session.execute(
                    sa.select(pk, column).where(column.in_(chunk))))
            fresh = {i: parent for i, parent in found.items() if i not in result.ids(ref.name)}
            if fresh:
                result.cascaded[ref.name].update({i: f"{table}/{p}" for i, p in fresh.items()})
                todo.append((ref.name, set(fresh)))
    return result


# --- Carrying it out -----------------------------------------------------------------------------

def _model_of(table: str):
    for mapper in db.Model.registry.mappers:
        if getattr(mapper.class_, "__tablename__", None) == table:
            return mapper.class_
    return None


def _labels(the_plan: Plan) -> dict[tuple[str, int], object]:
    """The purged records, loaded (with what their label shows) before they go."""
    loaded: dict[tuple[str, int], object] = {}
    for kind in KINDS.values():
        ids = the_plan.ids(kind.entity_type)
        for chunk in _chunks(ids):
            for obj in db.session.scalars(sa.select(kind.model).where(kind.model.id.in_(chunk))
                                          .options(*kind.options)):
                loaded[kind.entity_type, obj.id] = obj
    return loaded


def _write_events(the_plan: Plan, loaded: dict, actor_id) -> None:
    for (table, record_id), obj in sorted(loaded.items(), key=lambda kv: kv[0]):
        kind = KIND_BY_MODEL[type(obj)]
        changes = {"label": [kind.describe(obj).label, None]}
        if obj.deleted_at is not None:
            changes["deleted_at"] = [obj.deleted_at.isoformat(), None]
        if (parent := the_plan.cascaded.get(table, {}).get(record_id)) is not None:
            changes["purged_with"] = [None, parent]
        event = record(ACTION, table, record_id, changes=changes, user=actor_id)
        event.record_version = getattr(obj, "version", None)


def _cut(ref: sa.Table, column: sa.Column, ids: list, the_plan: Plan, actor_id) -> int:
    """Set ``ref.column`` to NULL where it points at ``ids``; an audited record that stays gets
    an ``update`` event for it."""
    pk = _pk(ref)
    model = _model_of(ref.name)
    rows = db.session.execute(sa.select(pk, column).where(column.in_(ids))).all() if pk is not None \
        else []
    staying = [(i, v) for i, v in rows if i not in the_plan.ids(ref.name)]
    if model is not None and getattr(model, "__audited__", False):
        for record_id, value in staying:
            record("update", ref.name, record_id, changes={column.name: [value, None]},
                   user=actor_id)
    db.session.execute(sa.update(ref).where(column.in_(ids)).values({column.name: None}))
    return len(staying)


def _delete(table: sa.Table, ids: Iterable, the_plan: Plan, actor_id, stats: dict) -> None:
    """Delete the rows ``ids`` of ``table`` after every row that points at them is handled."""
    ids = list(ids)
    if not ids:
        return
    pk = _pk(table)
    for ref, column in references_to(table.name):
        action = _rule((ref.name, column.name), column)
        for chunk in _chunks(ids):
            if action == "null":
                stats["links_cut"] += _cut(ref, column, chunk, the_plan, actor_id)
                continue
            ref_pk = _pk(ref)
            if ref_pk is not None and references_to(ref.name):
                children = set(db.session.scalars(sa.select(ref_pk).where(column.in_(chunk))))
                _delete(ref, children, the_plan, actor_id, stats)
            else:
                stats["rows_deleted"] += db.session.execute(
                    sa.delete(ref).where(column.in_(chunk))).rowcount or 0
    for chunk in _chunks(ids):
        stats["rows_deleted"] += db.session.execute(
            sa.delete(table).where(pk.in_(chunk))).rowcount or 0


def _forget(the_plan: Plan) -> None:
    """The purged rows are gone: the session must not keep (or later write) their objects."""
    for obj in list(db.session.identity_map.values()):
        table = getattr(obj, "__tablename__", None)
        if table and getattr(obj, "id", None) in the_plan.ids(table):
            db.session.expunge(obj)


@dataclass
class Summary:
    cutoff: dt.datetime
    retention_days: int
    purged: dict[str, int]
    dry_run: bool
    links_cut: int = 0
    rows_deleted: int = 0

    @property
    def total(self) -> int:
        return sum(self.purged.values())

    def as_dict(self) -> dict:
        return {"cutoff": self.cutoff.isoformat(), "retention_days": self.retention_days,
                "purged": dict(self.purged), "total": self.total, "dry_run": self.dry_run,
                "links_cut": self.links_cut, "rows_deleted": self.rows_deleted}


def purge_bin(*, now: dt.datetime | None = None, dry_run: bool = False, actor=None) -> Summary:
    """Remove for good what was deleted more than ``BIN_RETENTION_DAYS`` before ``now``, with
    what goes with it; one ``purge`` event per record. Flushes, the caller commits. With
    ``dry_run`` only counts: nothing is written."""
    before = cutoff(now)
    the_plan = plan(before, lock=not dry_run)
    summary = Summary(before, retention_days(), the_plan.counts(), dry_run)
    if dry_run or not the_plan.total:
        return summary
    actor_id = getattr(actor, "id", actor)
    db.session.flush()
    _anonymise_contacts(the_plan)
    loaded = _labels(the_plan)
    _write_events(the_plan, loaded, actor_id)
    db.session.flush()
    stats = {"links_cut": 0, "rows_deleted": 0}
    tables = _tables()
    for kind in KINDS.values():
        _delete(tables[kind.entity_type], the_plan.ids(kind.entity_type), the_plan, actor_id,
                stats)
    _forget(the_plan)
    db.session.flush()
    summary.links_cut, summary.rows_deleted = stats["links_cut"], stats["rows_deleted"]
    log.info("Purged %s records from the bin (deleted before %s)", summary.total, before)
    return summary


def _anonymise_contacts(the_plan: Plan) -> None:
    """A purged person leaves no name behind: anonymise the contacts going (their audit history,
    job files and notes included, GDPR art. 17) before their rows are deleted, so the purge
    events and what stays carry no personal data."""
    from ..contacts.models import Contact
    from ..privacy.erasure import erase_contacts

    ids = sorted(the_plan.ids(Contact.__tablename__))
    for chunk in _chunks(ids):
        contacts = list(db.session.scalars(sa.select(Contact).where(Contact.id.in_(chunk))))
        erase_contacts(contacts, actor=None, by_system=True)
    db.session.flush()


def describe_counts(purged: dict[str, int]) -> str:
    """"3 organisaties, 1 taken" for a message (the bin's tab names)."""
    return ", ".join(f"{KINDS[key].title}: {n}" for key, n in purged.items()) or _("niets")


# --- As a job on the one lifecycle ---------------------------------------------------------------

def create_job(*, actor=None, trigger: str = "manual") -> Job:
    """A queued purge Job row in the current transaction (the caller commits, then enqueues)."""
    return lifecycle.new_job(JOB_KIND, actor=actor, params={"trigger": trigger},
                             message=_("In de wachtrij"))


def enqueue_job(job: Job) -> None:
    lifecycle.enqueue(purge_task, job.id,
                      timeout=int(current_app.config.get("BIN_PURGE_JOB_TIMEOUT", DEFAULT_TIMEOUT)))


@rq.job
def purge_task(job_id: str) -> dict | None:
    """The RQ job: run the purge of Job row ``job_id``."""
    return run_job(job_id)


def run_job(job_id: str) -> dict | None:
    """Run the purge Job ``job_id`` through the lifecycle (one unit of work: all or nothing)."""

    def body(job: Job, progress) -> lifecycle.Finished:
        g.setdefault("audit_source", "job")
        summary = purge_bin(actor=job.created_by_id)
        progress(100, str(RUNNING))
        if not summary.total:
            message = _("Klaar: niets was langer dan %(n)s dagen verwijderd.",
                        n=summary.retention_days)
        else:
            message = _("Klaar: %(total)s records definitief verwijderd (%(what)s).",
                        total=summary.total, what=describe_counts(summary.purged))
        return lifecycle.Finished(summary.as_dict(), message)

    return lifecycle.run(
        job_id, body, kinds=JOB_KIND, running=str(RUNNING),
        failure=lambda exc: _("Het opruimen van de prullenbak is mislukt. Er is niets "
                              "verwijderd; de beheerder vindt de oorzaak in het logboek."))


def start_scheduled_purge() -> Job:
    """The schedule's start function (:mod:`sdd_crm.jobs.schedule`): queue a purge job."""
    job = create_job(trigger="schedule")
    enqueue_job(job)
    return job
