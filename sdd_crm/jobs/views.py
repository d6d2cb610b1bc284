"""Background jobs in the browser: a progress page, its JSON status, and the files when done.

A job is visible to the user who started it and to admins; to anyone else it does not exist.
Features describe their jobs with ``register_kind`` (a title and an optional result template).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, current_app, jsonify, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..audit.events import record as record_audit
from ..exceptions import PermissionDenied, hidden
from ..extensions import db
from . import bp, schedule
from .files import file_roles, load_file
from .models import Job, JobStatus
from .outbox import pending
from .progress import live_progress

_KINDS: dict[str, dict] = {}


def register_kind(kind: str, *, title, result_template: str | None = None,
                  file_labels: dict | None = None) -> None:
    """How the jobs page shows jobs of ``kind``: title (lazy string), result partial, file labels."""
    _KINDS[kind] = {"title": title, "result_template": result_template,
                    "file_labels": file_labels or {}}


def kind_info(kind: str) -> dict:
    return _KINDS.get(kind, {"title": kind, "result_template": None, "file_labels": {}})


def get_job_or_404(job_id: str) -> Job:
    """The job, if the current user may see it (its creator or an admin)."""
    job = db.session.get(Job, job_id) if 0 < len(job_id) <= 36 else None
    if job is None:
        abort(404)
    if not (current_user.is_admin or job.created_by_id == current_user.id):
        raise hidden(job)  # someone else's job: answered as a missing one, the refusal audited
    return job


def status_payload(job: Job) -> dict:
    percent, message = live_progress(job)
    done = job.status in (JobStatus.FINISHED, JobStatus.FAILED)
    return {
        "id": job.id, "kind": job.kind, "status": job.status,
        "status_label": job_status_label(job.status), "progress": percent,
        "message": message, "done": done,
        "files": {role: url_for("jobs.download", job_id=job.id, role=role)
                  for role, _name, _size in (file_roles(job.id) if done else [])},
    }


@bp.route("/")
@login_required
def index():
    """The current user's most recent background jobs."""
    jobs = db.session.scalars(
        sa.select(Job).where(Job.created_by_id == current_user.id)
        .order_by(Job.created_at.desc()).limit(50)).all()
    return render_template("jobs/index.html", jobs=jobs, kind_info=kind_info)


@bp.route("/schedule")
@login_required
def schedule_overview():
    """Admins: the periodic work (:mod:`.schedule`) with each entry's last start and its
    outcome, and when it is next due; and the queue: jobs waiting to be handed to RQ, jobs
    running. Read from the database only (it answers with Redis down)."""
    if not current_user.is_admin:
        raise PermissionDenied()
    rows = schedule.status()
    ids = [run.last_job_id for _entry, run, _due in rows if run is not None and run.last_job_id]
    jobs = {j.id: j for j in db.session.scalars(sa.select(Job).where(Job.id.in_(ids)))} if ids else {}
    waiting, _oldest = pending()
    running = db.session.scalar(sa.select(sa.func.count()).select_from(Job)
                                .where(Job.status == JobStatus.RUNNING))
    return render_template("jobs/schedule.html", rows=rows, jobs=jobs, waiting=waiting,
                           running=running, mode=current_app.config.get("JOBS"),
                           kind_info=kind_info)


@bp.route("/<job_id>")
@login_required
def detail(job_id: str):
    job = get_job_or_404(job_id)
    percent, message = live_progress(job)
    return render_template("jobs/detail.html", job=job, info=kind_info(job.kind), percent=percent,
                           message=message, files=file_roles(job.id), JobStatus=JobStatus)


@bp.route("/<job_id>/status")
@login_required
def status(job_id: str):
    return jsonify(status_payload(get_job_or_404(job_id)))


@bp.route("/<job_id>/files/<role>")
@login_required
def download(job_id: str, role: str):
    job = get_job_or_404(job_id)
    stored = load_file(job.id, role[:16])
    if stored is None:
        abort(404)
    record_audit("download", "job", job.id, detail={"file": stored.filename, "role": role[:16]})
    response = Response(stored.data, content_type=stored.content_type)
    response.headers["Content-Disposition"] = attachment_header(stored.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def attachment_header(filename: str) -> str:
    from urllib.parse import quote

    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def job_status_label(status: str) -> str:
    return {
        JobStatus.QUEUED: _("In de wachtrij"), JobStatus.RUNNING: _("Bezig"),
        JobStatus.FINISHED: _("Klaar"), JobStatus.FAILED: _("Mislukt"),
    }.get(status, status)


@bp.app_template_global()
def job_status_text(status: str) -> str:
    return job_status_label(status)
