"""Exports of large lists as a background job (RQ through Flask-RQ), tracked in a Job row.

The job gets ids and strings only: the list kind, the page's filter arguments, the format and
the id of the user who asked. It re-runs the list's query as that user — the visibility rules
(DESIGN 4.4) are those of the user, checked again when the job runs — and stores the file as
the job's "output" JobFile, together with the audit entry and the finished mark, in one
transaction: a crash stores nothing, a rerun stores the same file once.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import ngettext

from ..auth.models import User
from ..extensions import db, rq
from ..jobs import lifecycle
from ..jobs.files import store_file
from ..jobs.models import Job
from . import lists as exports

JOB_KIND = "export_list"
DEFAULT_TIMEOUT = 1800  # seconds; 100,000 organisations take a few seconds (see the report)


class ExportRefused(lifecycle.JobFailed):
    """The user may no longer export this list (role changed, deactivated, programme gone)."""


def create_job(*, actor, kind: str, fmt: str, args: dict, programme_code: str | None = None) -> Job:
    """A queued Job row in the current transaction, enqueued once the caller commits."""
    job = lifecycle.new_job(JOB_KIND, actor=actor, params={
        "export": kind, "format": fmt, "args": args, "programme": programme_code})
    timeout = int(current_app.config.get("EXPORT_JOB_TIMEOUT", DEFAULT_TIMEOUT))
    lifecycle.enqueue(export_list, job.id, timeout=timeout)
    return job


@rq.job
def export_list(job_id: str) -> dict | None:
    """The RQ job: build the export of Job row ``job_id``."""
    return run_job(job_id)


def run_job(job_id: str) -> dict | None:
    """Build and store the file of Job ``job_id`` (also callable in-process)."""
    return lifecycle.run(
        job_id, _build, kinds=JOB_KIND, running=_("Bezig met exporteren"),
        failure=lambda exc: _("Het exporteren is mislukt (%(error)s). Probeer het later opnieuw "
                              "of vraag de beheerder het logboek te bekijken.",
                              error=type(exc).__name__))


def _locale(actor) -> str:
    languages = current_app.config["LANGUAGES"]
    return actor.locale if actor is not None and actor.locale in languages else "nl"


def _build(job: Job, reporter) -> lifecycle.Finished:
    """Re-run the list's query as the user who asked (their visibility, checked again now) and
    store the file, with the audit entry, in the job's transaction."""
    actor = db.session.get(User, job.created_by_id) if job.created_by_id else None
    with force_locale(_locale(actor)):
        return _build_as(job, actor, reporter)


def _build_as(job: Job, actor, reporter) -> lifecycle.Finished:
    params = job.params or {}
    kind, fmt = params.get("export"), params.get("format")
    args = {str(k): str(v) for k, v in (params.get("args") or {}).items()}
    if fmt not in exports.CONTENT_TYPES or not exports.may_export(actor, kind):
        raise ExportRefused(_("U mag deze lijst niet (meer) exporteren."))
    programme = None
    if kind == "participations":
        programme = _programme(params.get("programme"))
    export = exports.build_export(kind, actor, args, programme=programme)
    total = max(export.count(), 1)

    def progress(done: int) -> None:
        reporter(min(95, done * 95 // total),
                 ngettext("%(num)d rij geëxporteerd", "%(num)d rijen geëxporteerd", done))

    data, rows = exports.write(fmt, export, export.rows(), progress=progress)
    name = exports.filename(export, fmt)
    store_file(job.id, "output", name, exports.CONTENT_TYPES[fmt], data)
    exports.record_export(actor, export, fmt, rows, args, source="job")
    return lifecycle.Finished(
        {"rows": rows, "filename": name, "size": len(data)},
        ngettext("Klaar: %(num)d rij geëxporteerd naar %(file)s.",
                 "Klaar: %(num)d rijen geëxporteerd naar %(file)s.", rows, file=name))


def _programme(code):
    from ..programmes.models import Programme

    programme = db.session.scalar(sa.select(Programme).where(
        Programme.code == str(code or "").lower(), Programme.deleted_at.is_(None)))
    if programme is None:
        raise ExportRefused(_("Dit programma bestaat niet meer."))
    return programme
