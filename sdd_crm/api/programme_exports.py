"""The accountability export in the API (issue 5): start it, then fetch the file when done.

``POST /api/v1/programmes/<code>/export`` answers 202 with the job and a Location to
``/api/v1/jobs/<id>``; once that job is ``finished``, ``GET /api/v1/jobs/<id>/files/output``
returns the workbook. Jobs and their files are visible to the user who started them and to
admins; to anyone else they do not exist (404), as on the HTML job pages.
"""

from __future__ import annotations

from flask import Response, abort, url_for

from ..auth.models import Role
from ..extensions import db
from ..jobs.files import load_file
from ..jobs.models import Job
from ..jobs.views import attachment_header
from ..programmes.export import XLSX_MIMETYPE
from ..programmes.export_jobs import can_export, create_export_job
from ..programmes.queries import get_programme_or_404
from . import bp, errors
from .auth import api_user
from .errors import forbidden
from .programmes import CODE_PARAMETER, TAGS
from .schemas.criticality import JOB

JOB_LOCATION = {"Location": {"schema": {"type": "string"},
                             "description": "URL of the job: /api/v1/jobs/{job_id}."}}
FILE_PARAMETERS = [
    {"in": "path", "name": "job_id", "required": True,
     "schema": {"type": "string", "maxLength": 36}},
    {"in": "path", "name": "role", "required": True, "schema": {"type": "string", "maxLength": 16},
     "description": "Which file: `output` for an export's workbook."},
]


@bp.post("/programmes/<code>/export", tags=TAGS, parameters=[CODE_PARAMETER])
@bp.doc(operationId="exportProgramme",
        summary="Start the accountability export of a programme's SME count as a background job "
                "(admins, regional account managers, business developers).",
        description="An Excel workbook (sheets Samenvatting, Meegeteld, Niet meegeteld): every "
                    "counted organisation with its size evidence and date counted, and every "
                    "excluded participation with its reason (DESIGN 4.2). No request body. When "
                    "the job is `finished`, its `result` holds `counted`, `unverified`, "
                    "`excluded` (per reason), `excluded_total`, `rows`, `target`, `filename`, "
                    "`size` and `sha256`, and the file is at "
                    "`/api/v1/jobs/{job_id}/files/output`.")
@errors(403)
@bp.response(202, JOB, headers=JOB_LOCATION, description="The job; follow Location for progress.")
def export_programme(code: str):
    user = api_user()
    programme = get_programme_or_404(code)
    if not can_export(user):
        forbidden()
    job = create_export_job(programme, user)  # enqueued after the commit: the worker needs the row
    return job, 202, {"Location": url_for("api.get_job", job_id=job.id)}


@bp.get("/jobs/<job_id>/files/<role>", tags=["jobs"], parameters=FILE_PARAMETERS)
@bp.doc(operationId="getJobFile",
        summary="A file a background job produced (the user who started it and admins; others "
                "get 404, as do files that do not exist yet).",
        responses={"200": {"description": "The file, as an attachment (Content-Disposition).",
                           "content": {
                               XLSX_MIMETYPE: {"schema": {"type": "string",
                                                          "contentMediaType": XLSX_MIMETYPE}},
                               "application/octet-stream": {"schema": {
                                   "type": "string",
                                   "contentMediaType": "application/octet-stream"}}}}})
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
