"""The accountability export as a background job, through the one job lifecycle
(:mod:`sdd_crm.jobs`): the Job row is committed before the RQ job is enqueued (a rolled-back
request enqueues nothing) and the RQ job carries the row's id as its own. The export only reads
until its last step; the file and the row's "finished" are then stored in one transaction, so a
crash leaves no half file and a rerun (an RQ retry, a second enqueue) builds the file again from
scratch, while a finished job is not rebuilt. A failure marks the row ``failed`` with a Dutch
message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..audit.events import record as record_audit
from ..auth.models import User
from ..db import utcnow
from ..exceptions import PermissionDenied
from ..extensions import db, rq
from ..jobs import lifecycle
from ..jobs.files import store_file
from ..jobs.models import Job
from ..organisations.models import Organisation
from ..reference.models import Municipality
from .counting import count_programme, counted_since
from .export import (XLSX_MIMETYPE, CountedRow, ExcludedRow, ExportData, build_workbook,
                     summarise)
from .models import Participation, Programme
from .services import can_manage_participations

JOB_KIND = "programme_export"
DEFAULT_TIMEOUT = 900  # seconds; SCALE's few thousand participations take a second or two
PHASES = {
    "counting": (10, _l("Telling uitvoeren")),
    "details": (40, _l("Organisatiegegevens ophalen")),
    "workbook": (70, _l("Werkmap opbouwen")),
    "storing": (90, _l("Bestand opslaan")),
}


class ExportError(lifecycle.JobFailed):
    """A failure the user can understand (the message is Dutch); not worth an RQ retry."""


def can_export(user) -> bool:
    """The workbook holds company data for accountability: the people who run participations."""
    return bool(user is not None and getattr(user, "is_authenticated", False)
                and can_manage_participations(user))


def create_export_job(programme: Programme, actor, *, enqueue: bool = True) -> Job:
    """A queued Job row in the current transaction; it goes to the queue when the caller commits."""
    if not can_export(actor):
        raise PermissionDenied()
    job = lifecycle.new_job(JOB_KIND, actor=actor, params={
        "programme_id": programme.id, "programme_code": programme.code})
    if enqueue:
        timeout = int(current_app.config.get("PROGRAMME_EXPORT_JOB_TIMEOUT", DEFAULT_TIMEOUT))
        lifecycle.enqueue(export_programme, job.id, timeout=timeout)
    return job


@rq.job
def export_programme(job_id: str) -> dict | None:
    """The RQ job: build the export of the Job row ``job_id``."""
    return run_export_job(job_id)


def run_export_job(job_id: str) -> dict | None:
    """Build and store the workbook of Job ``job_id``; returns the result summary."""
    return lifecycle.run(
        job_id, _build_and_store, kinds=JOB_KIND, running=str(PHASES["counting"][1]),
        failure=lambda exc: _("De export is mislukt (%(error)s). Probeer het opnieuw of vraag de "
                              "beheerder het logboek te bekijken.", error=type(exc).__name__))


def _build_and_store(job: Job, report) -> lifecycle.Finished:
    params = job.params or {}
    programme = db.session.get(Programme, params.get("programme_id") or 0)
    if programme is None or programme.deleted_at is not None:
        raise ExportError(_("Het programma bestaat niet meer; er is geen export gemaakt."))
    creator = db.session.get(User, job.created_by_id) if job.created_by_id else None
    zone = current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Amsterdam"
    generated_at = utcnow().replace(microsecond=0)
    data = collect_export_data(
        programme, job_id=job.id, generated_at=generated_at, timezone=zone,
        generated_by=f"{creator.name} ({creator.email})" if creator else "",
        progress=lambda phase: report(*_phase(phase)))
    report(*_phase("workbook"))
    content = build_workbook(data)
    report(*_phase("storing"))
    local_day = generated_at.astimezone(ZoneInfo(zone)).date()
    filename = f"{programme.code}-verantwoording-{local_day.isoformat()}.xlsx"
    store_file(job.id, "output", filename, XLSX_MIMETYPE, content)
    summary = summarise(data) | {
        "programme": programme.code, "filename": filename, "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "generated_at": generated_at.isoformat(),
    }
    # Who took a copy of the company data of which programme (in the job's transaction).
    record_audit("export", "programme", programme.id, user=job.created_by_id,
                 detail={"file": filename, "job": job.id, "counted": summary.get("counted"),
                         "excluded": summary.get("excluded_total")})
    return lifecycle.Finished(summary, _(
        "Klaar: %(counted)s organisaties meegeteld, %(excluded)s deelnames niet meegeteld.",
        counted=summary["counted"], excluded=summary["excluded_total"]))


def _phase(name: str) -> tuple[int, str]:
    percent, label = PHASES[name]
    return percent, str(label)


def collect_export_data(programme: Programme, *, job_id: str | None, generated_at: dt.datetime,
                        generated_by: str, timezone: str = "Europe/Amsterdam",
                        progress=None) -> ExportData:
    """Everything the workbook shows, read in a fixed number of queries (no N+1)."""
    progress = progress or (lambda phase: None)
    progress("counting")
    count = count_programme(programme)
    progress("details")
    verdicts = count.verdicts
    participations = {r.id: r for r in db.session.execute(
        sa.select(Participation.id, Participation.organisation_id, Participation.owner_id,
                  Participation.status_changed_at)
        .where(Participation.programme_id == programme.id, Participation.deleted_at.is_(None)))}
    orgs = _organisations({v.organisation_id for v in verdicts}
                          | {p.organisation_id for p in participations.values()})
    municipalities = dict(db.session.execute(sa.select(Municipality.code, Municipality.name)).all())
    owner_ids = {p.owner_id for p in participations.values() if p.owner_id}
    owners = dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(owner_ids)))
                  .all()) if owner_ids else {}
    since = counted_since([v.participation_id for v in verdicts if v.counts])
    zone = ZoneInfo(timezone)

    counted, excluded = [], []
    for v in verdicts:
        org, part = orgs.get(v.organisation_id), participations[v.participation_id]
        if org is None:  # cannot happen with the foreign keys; never fail the export on it
            continue
        parent = orgs.get(org.parent_id) if org.parent_id else None
        common = dict(
            organisation_id=org.id, participation_id=v.participation_id, name=org.name,
            kvk=org.kvk_number, municipality_code=org.municipality_code,
            municipality_name=municipalities.get(org.municipality_code),
            employees=org.employees, turnover=org.annual_turnover_eur,
            balance=org.balance_sheet_total_eur, status=v.status,
            parent_name=parent.name if parent else None,
            parent_kvk=parent.kvk_number if parent else None)
        if v.counts:
            moment = since.get(v.participation_id) or part.status_changed_at
            counted.append(CountedRow(
                **common, sme=str(v.sme), owner=owners.get(part.owner_id),
                counted_on=moment.astimezone(zone).date() if moment else None))
        else:
            original = orgs.get(part.organisation_id)
            merged = original is not None and original.id != org.id
            excluded.append(ExcludedRow(
                **common, org_type=org.org_type, reason=str(v.reason),
                registered_on=_label(original) if merged else None))
    return ExportData(
        programme_code=programme.code, programme_name=programme.name, funder=programme.funder,
        start_date=programme.start_date, end_date=programme.end_date,
        region=[(m.code, m.name) for m in programme.municipalities], target=count.target,
        generated_at=generated_at, generated_by=generated_by, job_id=job_id,
        counted=counted, excluded=excluded, timezone=timezone)


def _label(org) -> str:
    return f"{org.name} (KvK {org.kvk_number})" if org.kvk_number else org.name


def _organisations(ids: set[int]) -> dict:
    """The organisations and their parent groups (one level: the group named in the file)."""
    columns = (Organisation.id, Organisation.name, Organisation.kvk_number, Organisation.org_type,
               Organisation.municipality_code, Organisation.employees,
               Organisation.annual_turnover_eur, Organisation.balance_sheet_total_eur,
               Organisation.parent_id)
    found: dict = {}
    todo = set(ids)
    for _level in range(2):
        if not todo:
            break
        found |= {r.id: r for r in db.session.execute(
            sa.select(*columns).where(Organisation.id.in_(todo)))}
        todo = {r.parent_id for r in found.values() if r.parent_id} - set(found)
    return found
