"""Imports as background jobs: a preview (dry run) and the real run, tracked in a Job row with
the uploaded file as its "input" JobFile (issue 6 points 4 and 5).

It runs through the one job lifecycle (:mod:`sdd_crm.jobs`). Never half-applied: the whole
import — organisations, establishments, SBI codes, reviews, audit events, the report file *and*
the Job row's ``finished`` status with its summary — is one database transaction (the job's unit
of work). A job that fails rolls back and is marked ``failed`` with a Dutch message;
a worker killed mid-import leaves no trace but a Job row still saying ``running`` (the database
drops the dead connection's open transaction). Running the same job again — RQ's retry (also
for jobs abandoned by a dead worker, once RQ notices), ``flask import resume JOB_ID``, or a
second worker that picks up a duplicate — re-plans from the database and reaches exactly the
end state a run without the crash would have: upserts are by KvK number, and a job already
``finished`` is not applied twice. On PostgreSQL an advisory lock per job (the lifecycle's
``exclusive``) makes a second run of the same job wait for the first and then find it finished.

Progress goes through :class:`sdd_crm.jobs.progress.ProgressReporter` (RQ's job meta and, on
PostgreSQL, the Job row over a separate connection); the job's own transaction stays open.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import os

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _

from ..audit.listeners import origin as request_origin
from ..exceptions import ValidationError
from ..extensions import rq
from ..jobs import lifecycle
from ..jobs.files import load_file, store_file
from ..jobs.models import Job, JobStatus
from .mapping import validate_mapping
from .models import ImportKind
from .reading import ImportFileError, read_table

JOB_KINDS = {ImportKind.ORGANISATIONS.value: "import_organisations",
             ImportKind.CONTACTS.value: "import_contacts"}
DEFAULT_TIMEOUT = 3600  # seconds; 100,000 rows take well under a minute
MAX_RESULT_ERRORS = 1000  # in Job.result; the report file has them all
CONTENT_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "csv": "text/csv"}


def create_import_job(data: bytes, filename: str, kind: str, mapping: dict[str, str], *,
                      dry_run: bool, actor) -> Job:
    """A queued import Job with the file stored as its "input"; flushes, the caller commits
    and then calls :func:`enqueue_import`. Raises ValidationError for a bad mapping.

    The job keeps the client address of the request that created it (``params["origin"]``;
    None from the CLI): the worker writes it into the import's audit events."""
    if kind not in JOB_KINDS:
        raise ValidationError({"kind": _("Onbekende soort import.")})
    mapping = validate_mapping(list(mapping), kind, mapping)
    filename = os.path.basename(filename or "bestand.csv")[:255] or "bestand.csv"
    job = lifecycle.new_job(JOB_KINDS[kind], actor=actor, params={
        "filename": filename, "kind": kind, "mapping": mapping, "dry_run": bool(dry_run),
        "origin": request_origin()})
    is_xlsx = data[:4] == b"PK\x03\x04"
    store_file(job.id, "input", filename, CONTENT_TYPES["xlsx" if is_xlsx else "csv"], data)
    return job


def create_run_from_preview(preview_job: Job, *, actor) -> Job:
    """The real run of a previewed file: the same input and mapping, not a dry run, with the
    address of the request that started it."""
    if preview_job.kind not in JOB_KINDS.values() or not (preview_job.params or {}).get("dry_run"):
        raise ValidationError(_("Dit is geen proefimport."))
    if preview_job.status != JobStatus.FINISHED:
        raise ValidationError(_("De proefimport is nog niet klaar."))
    stored = load_file(preview_job.id, "input")
    if stored is None:
        raise ValidationError(_("Het bestand van de proefimport is er niet meer."))
    job = lifecycle.new_job(preview_job.kind, actor=actor, params=dict(
        preview_job.params, dry_run=False, preview_job_id=preview_job.id,
        origin=request_origin()))
    store_file(job.id, "input", stored.filename, stored.content_type, stored.data)
    return job


def enqueue_import(job: Job) -> None:
    """Enqueue ``job`` for a worker; RQ retries it twice. Called before the commit, it goes out
    when the transaction commits (dropped on rollback); called right after, at once."""
    from rq import Retry

    state = sa.inspect(job)
    job_id = state.identity[0] if state.identity else job.id  # no reload of an expired row
    timeout = int(current_app.config.get("IMPORT_JOB_TIMEOUT", DEFAULT_TIMEOUT))
    options = {}
    if rq.queue.is_async:  # no interval: that would need a worker started --with-scheduler
        options["retry"] = Retry(max=2)
    lifecycle.enqueue(import_task, job_id, timeout=timeout, **options)


def requeue_import(job: Job) -> None:
    """Put an import that crashed or failed back in the queue (once the caller commits)."""
    lifecycle.requeue(job)
    enqueue_import(job)


@rq.job
def import_task(job_id: str) -> dict | None:
    """The RQ job."""
    summary = run_import_job(job_id)
    return None if summary is None else {k: v for k, v in summary.items() if k != "errors"}


def run_import_job(job_id: str, *, echo=None) -> dict | None:
    """Run import Job ``job_id`` (in a worker or in-process); the summary, with every error.

    ``echo(percent, message)`` sees the progress too (the CLI's progress bar)."""
    return lifecycle.run(job_id, _import, kinds=tuple(JOB_KINDS.values()),
                         running=_("Bezig met importeren"), failure=_failure_message, echo=echo,
                         exclusive=True)


def _failure_message(exc: BaseException) -> str:
    from .apply import ImportConflict

    if isinstance(exc, ImportConflict):
        return str(exc)
    return _("De import is mislukt (%(error)s); er is niets opgeslagen. Probeer het opnieuw of "
             "vraag de beheerder het logboek te bekijken.", error=type(exc).__name__)


def _import(job: Job, progress) -> lifecycle.Finished:
    try:
        with _gc_paused():
            summary = _run(job, progress)
    except ImportFileError as exc:  # the file itself: running again will not help
        raise lifecycle.JobFailed(exc.message) from exc
    return lifecycle.Finished(stored_result(summary), finished_message(summary), returned=summary)


@contextlib.contextmanager
def _gc_paused():
    """No cyclic garbage collection while the import builds its millions of small objects:
    each collection walks them all, and that took half the import's time (reference counting
    still frees everything; one collection runs at the end)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _run(job: Job, progress) -> dict:
    from .apply import apply_plan
    from .contacts import apply_contacts, plan_contacts
    from .upsert import plan_organisations

    job_id = job.id
    params = job.params or {}
    kind, dry_run, filename = params["kind"], bool(params.get("dry_run")), params["filename"]
    actor_id = job.created_by_id
    source = f"import:{job_id} {filename}"
    progress(2, _("Bestand lezen"))
    stored = load_file(job_id, "input")
    if stored is None:
        raise ImportFileError(_("Het bestand van deze import is er niet meer."))
    table = read_table(stored.data, stored.filename)
    mapping = {h: (params.get("mapping") or {}).get(h, "") for h in table.headers}
    if kind == ImportKind.ORGANISATIONS:
        plan = plan_organisations(table, mapping, progress=progress)
        summary = plan.summary(dry_run=dry_run)
        if not dry_run:
            apply_plan(plan, actor_id=actor_id, source=source, filename=filename, job_id=job_id,
                       progress=progress, origin=params.get("origin"))
    else:
        plan = plan_contacts(table, mapping, progress=progress)
        summary = plan.summary(dry_run=dry_run)
        if not dry_run:
            apply_contacts(plan, actor_id=actor_id, source=source, filename=filename,
                           job_id=job_id, progress=progress, origin=params.get("origin"))
    summary["job_id"] = job_id
    if summary["errors"] or summary.get("warnings"):
        stem = os.path.splitext(filename)[0][:200]
        name = _("%(name)s-afgewezen-rijen.csv", name=stem) if summary["errors"] else \
            _("%(name)s-waarschuwingen.csv", name=stem)
        store_file(job_id, "report", name, "text/csv; charset=utf-8",
                   report_csv(summary["errors"], plan.warnings))  # every warning
    return summary


def stored_result(summary: dict) -> dict:
    """The summary for Job.result: at most MAX_RESULT_ERRORS errors (the report has all)."""
    errors = summary["errors"]
    return dict(summary, errors=errors[:MAX_RESULT_ERRORS], errors_total=len(errors),
                errors_truncated=len(errors) > MAX_RESULT_ERRORS)


def finished_message(summary: dict) -> str:
    counts = {"created": summary["created"], "updated": summary["updated"],
              "unchanged": summary["unchanged"], "held": summary["held_for_review"],
              "rejected": summary["rejected"]}
    counts = {k: format_decimal(v) for k, v in counts.items()}  # 30.000, as in the summary
    if summary.get("dry_run"):
        return _("Proefimport, er is nog niets opgeslagen. Zou worden aangemaakt: %(created)s; "
                 "bijgewerkt: %(updated)s; ongewijzigd blijven: %(unchanged)s; vastgehouden ter "
                 "beoordeling: %(held)s; afgewezen: %(rejected)s.", **counts)
    return _("Klaar: %(created)s nieuw, %(updated)s bijgewerkt, %(unchanged)s ongewijzigd, "
             "%(held)s ter beoordeling, %(rejected)s afgewezen.", **counts)


def _safe(cell) -> str:
    """A cell Excel will not run as a formula."""
    text = str(cell)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def report_csv(errors: list[dict], warnings=()) -> bytes:
    """The rejected rows for Dutch Excel: UTF-8 with BOM, ``;``-separated, spreadsheet rows;
    then the warnings (rows imported with a repaired or emptied cell, such as a municipality
    outside the region), each message marked as a warning."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([_("Rij (spreadsheet)"), _("Kolom"), _("Melding")])
    for error in errors:
        writer.writerow([error["row"], _safe(error["column"]), _safe(error["message"])])
    for warning in warnings:
        writer.writerow([warning["row"], _safe(warning["column"]), _safe(_(
            "Waarschuwing (de rij is wel geïmporteerd): %(message)s",
            message=warning["message"]))])
    return ("\ufeff" + out.getvalue()).encode("utf-8")

