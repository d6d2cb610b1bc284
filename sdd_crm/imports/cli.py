"""``flask import organisations FILE [--dry-run] [--json]`` (DESIGN 5), ``flask import contacts
FILE …`` and ``flask import resume JOB_ID`` (runs a crashed or queued import again).

The file is stored as a Job like an upload in the browser, and run in this process (or, with
``--async``, by a worker). The column mapping is the one saved for files with these headers,
else the automatic one. With ``--json`` the last line on stdout is the JSON summary with the
keys of DESIGN 5 (``created``, ``updated``, ``unchanged``, ``held_for_review``, ``rejected``,
``errors``) — also when the whole file is refused (unreadable, bad encoding, no header, no
name column) or the run fails: then the counts are 0, ``errors`` holds the one message (``row``
null) and ``error`` repeats it. Repaired cells are listed under ``warnings``. The progress bar
goes to stderr, and only when that is a terminal.

What the command itself writes (the Job row with the stored file, a re-queued job) is one unit
of work (:func:`sdd_crm.transaction.unit_of_work`); the import then runs as a job does, with
the job lifecycle of :mod:`.jobs`.
"""

from __future__ import annotations

import json
import sys

import click
from flask import g
from flask.cli import AppGroup

from ..extensions import db
from ..exceptions import ValidationError
from ..transaction import rollback, unit_of_work
from . import jobs
from .mapping import FIELDS, mapping_for, validate_mapping
from .reading import ImportFileError, read_table, safe_filename

import_cli = AppGroup("import", help="Organisaties en contactpersonen importeren (CSV of XLSX).")


class ProgressBar:
    """A one-line progress bar on ``stream`` (stderr), drawn only on a terminal."""

    def __init__(self, stream=None, width: int = 30):
        self.stream = stream or sys.stderr
        self.width = width
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last = None

    def __call__(self, percent: int, message: str | None = None) -> None:
        if not self.enabled:
            return
        percent = max(0, min(100, int(percent)))
        state = (percent, message)
        if state == self._last:
            return
        self._last = state
        filled = self.width * percent // 100
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {percent:3d}%  {(message or '')[:60]:<60}")
        if percent >= 100:
            self.stream.write("\n")
        self.stream.flush()


SUMMARY_KEYS = ("created", "updated", "unchanged", "held_for_review", "rejected")


def refused_summary(message: str) -> dict:
    """The summary of an import that did not get to its rows: nothing done, one message."""
    return {**dict.fromkeys(SUMMARY_KEYS, 0),
            "errors": [{"row": None, "column": "", "message": message}], "warnings": [],
            "error": message}


def _fail(message: str, as_json: bool, code: int = 2):
    if as_json:
        click.echo(json.dumps(refused_summary(message), ensure_ascii=False))
    else:
        click.echo(message, err=True)
    raise SystemExit(code)


def _print_summary(summary: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, default=str))
        return
    click.echo(jobs.finished_message(summary))
    extra = []
    if summary.get("duplicates_in_file"):
        extra.append(f"{summary['duplicates_in_file']} dubbele rij(en) in het bestand samengevoegd")
    if summary.get("establishments") or summary.get("establishments_updated"):
        extra.append(f"vestigingen: {summary.get('establishments', 0)} nieuw, "
                     f"{summary.get('establishments_updated', 0)} bijgewerkt")
    if extra:
        click.echo("; ".join(extra) + ".")
    errors = summary.get("errors") or []
    if errors:
        click.echo("Afgewezen (rijnummers zoals in het spreadsheet, kopregel = rij 1):")
        for error in errors[:50]:
            column = f", kolom {error['column']}" if error["column"] else ""
            click.echo(f"  rij {error['row']}{column}: {error['message']}")
        if len(errors) > 50:
            click.echo(f"  … en nog {len(errors) - 50}; het volledige rapport staat bij job "
                       f"{summary.get('job_id')}.")
    warnings = summary.get("warnings") or []
    if warnings:
        click.echo("Aangepast en wel geïmporteerd (rijnummers zoals in het spreadsheet):")
        for warning in warnings[:50]:
            column = f", kolom {warning['column']}" if warning["column"] else ""
            click.echo(f"  rij {warning['row']}{column}: {warning['message']}")
        total = summary.get("warnings_total", len(warnings))
        if total > 50:
            click.echo(f"  … en nog {total - 50}; zie job {summary.get('job_id')}.")


def _import(kind: str, path: str, dry_run: bool, as_json: bool, run_async: bool) -> None:
    g.audit_source = "cli"
    try:
        with open(path, "rb") as fh:
            data = fh.read(jobs_max_bytes() + 1)
    except OSError as exc:
        _fail(f"Kan {path} niet lezen: {exc.strerror}.", as_json)
    try:
        table = read_table(data, path)
    except ImportFileError as exc:
        _fail(exc.message, as_json)
    mapping, saved = mapping_for(table.headers, kind)
    try:
        validate_mapping(table.headers, kind, mapping)
    except ValidationError as exc:
        labels = dict(FIELDS[kind])
        known = ", ".join(f"{h} → {labels[f]}" for h, f in mapping.items() if f) or "geen"
        _fail(f"{'; '.join(exc.errors.values())} Herkende kolommen: {known}.", as_json)
    with unit_of_work():
        job = jobs.create_import_job(data, safe_filename(path), kind, mapping,
                                     dry_run=dry_run, actor=None)
        job_id = job.id
        if run_async:
            jobs.enqueue_import(job)  # sent once the Job row is committed
    if run_async:
        if as_json:
            click.echo(json.dumps({"job_id": job.id, "status": "queued"}))
        else:
            click.echo(f"Import in de wachtrij gezet: job {job.id}.")
        return
    if not as_json:
        how = "opgeslagen koppeling" if saved else "automatisch herkend"
        click.echo(f"Import gestart: job {job_id} ({table.row_count} rijen, kolommen {how}).",
                   err=True)
    _run(job_id, as_json)


def _run(job_id: str, as_json: bool) -> None:
    try:
        summary = jobs.run_import_job(job_id, echo=ProgressBar())
    except Exception as exc:  # the Job row says failed, with a Dutch message; the trace is logged
        from ..jobs.models import Job

        rollback()
        job = db.session.get(Job, job_id)
        _fail((job.message if job else None) or f"Mislukt: {type(exc).__name__}", as_json, 1)
    if summary is None:
        from ..jobs.models import Job

        job = db.session.get(Job, job_id)
        _fail((job.message if job else None) or "Mislukt.", as_json, 1)
    _print_summary(summary, as_json)


def jobs_max_bytes() -> int:
    from .reading import max_file_bytes

    return max_file_bytes()


@import_cli.command("organisations")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Alleen laten zien wat er zou gebeuren.")
@click.option("--json", "as_json", is_flag=True, help="Laatste regel: de samenvatting als JSON.")
@click.option("--async", "run_async", is_flag=True, help="Door een worker laten uitvoeren.")
def import_organisations(path, dry_run, as_json, run_async):
    """Organisaties importeren uit FILE (CSV of XLSX)."""
    _import("organisations", path, dry_run, as_json, run_async)


@import_cli.command("contacts")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Alleen laten zien wat er zou gebeuren.")
@click.option("--json", "as_json", is_flag=True, help="Laatste regel: de samenvatting als JSON.")
@click.option("--async", "run_async", is_flag=True, help="Door een worker laten uitvoeren.")
def import_contacts(path, dry_run, as_json, run_async):
    """Contactpersonen importeren uit FILE (Outlook- of Google-export, CSV of XLSX)."""
    _import("contacts", path, dry_run, as_json, run_async)


@import_cli.command("resume")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Laatste regel: de samenvatting als JSON.")
@click.option("--async", "run_async", is_flag=True, help="Opnieuw in de wachtrij zetten.")
def import_resume(job_id, as_json, run_async):
    """Een import die vastliep of mislukte opnieuw uitvoeren (hetzelfde eindresultaat)."""
    from ..jobs.models import Job, JobStatus

    g.audit_source = "cli"
    job = db.session.get(Job, job_id[:36])
    if job is None or job.kind not in jobs.JOB_KINDS.values():
        _fail(f"Geen import met job-id {job_id}.", as_json)
    if job.status == JobStatus.FINISHED:
        if not as_json:
            click.echo("Deze import was al klaar; er is niets opnieuw gedaan.")
        _print_summary(job.result or {}, as_json)
        return
    if run_async:
        with unit_of_work():
            jobs.requeue_import(job)
        click.echo(json.dumps({"job_id": job.id, "status": "queued"}) if as_json
                   else f"Import opnieuw in de wachtrij gezet: job {job.id}.")
        return
    _run(job.id, as_json)
