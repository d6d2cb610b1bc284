"""The accountability export in the API (issue 5): start it, then fetch the file when done.

``POST /api/v1/programmes/<code>/export`` answers 202 with the job and a Location to
``/api/v1/jobs/<id>``; once that job is ``finished``, ``GET /api/v1/jobs/<id>/files/output``
returns the workbook. Jobs and their files are visible to the user who started them and to
admins; to anyone else they do not exist (404), as on the HTML job pages.
"""

from __future__ import annotations

from flask import Response, abort, jsonify, url_for

from ..auth.models import Role
from ..extensions import db
from ..jobs.files import load_file
from ..jobs.models import Job
from ..jobs.views import attachment_header
from ..programmes.export_jobs import can_export, create_export_job
from ..programmes.queries import get_programme_or_404
from . import bp
from .auth import api_user
from .errors import forbidden
from .jobs import job_to_dict


@bp.post("/programmes/<code>/export")
def export_programme(code: str):
    user = api_user()
    programme = get_programme_or_404(code)
    if not can_export(user):
        forbidden()
    job = create_export_job(programme, user)  # enqueued after the commit: the worker needs the row
    db.session.commit()
    db.session.refresh(job)  # without Redis the job has already run
    response = jsonify(job_to_dict(job))
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_job", job_id=job.id)
    return response


@bp.get("/jobs/<job_id>/files/<role>")
def get_job_file(job_id: str, role: str):
    user = api_user()
    job = db.session.get(Job, job_id) if 0 < len(job_id) <= 36 else None
    if job is None or (user.role != Role.ADMIN and job.created_by_id != user.id):
        abort(404)
    stored = load_file(job.id, role[:16])
    if stored is None:
        abort(404)
    response = Response(stored.data, content_type=stored.content_type)
    response.headers["Content-Disposition"] = attachment_header(stored.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response
