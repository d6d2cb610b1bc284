"""The accountability export in the API (issue 5): start it, then fetch the file when done.

``POST /api/v1/programmes/<code>/export`` answers 202 with the job and a Location to
``/api/v1/jobs/<id>``; once that job is ``finished``, ``GET /api/v1/jobs/<id>/files/output``
returns the workbook. Jobs and their files are visible to the user who started them and to
admins; to anyone else they do not exist (404), as on the HTML job pages.
"""

from __future__ import annotations

from flask import Response, abort, url_for

from ..audit.events import record as record_audit
from ..jobs.files import load_file
from ..jobs.views import attachment_header
from ..programmes.export import XLSX_MIMETYPE
from ..programmes.export_jobs import can_export, create_export_job
from ..programmes.queries import get_programme_or_404
from . import bp, errors
from .auth import api_user
from .errors import forbidden
from .jobs import JOB_URL, visible_job_or_404
from .openapi import JOB_LOCATION
from .programmes import PROGRAMME_URL, TAGS
from .schemas.criticality import JOB


@bp.post(f"{PROGRAMME_URL}/export", tags=TAGS)
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


@bp.get(f"{JOB_URL}/files/<string(maxlength=16):role>", tags=["jobs"])
@bp.doc(operationId="getJobFile",
        summary="A file a background job produced, by its role (`output`: an export's workbook); "
                "the user who started the job and admins only (others get 404, as do files that "
                "do not exist yet).")
@bp.response(200, description="The file, as an attachment (Content-Disposition); an export's "
                              f"workbook is {XLSX_MIMETYPE}.")
def get_job_file(job_id: str, role: str):
    job = visible_job_or_404(job_id)
    stored = load_file(job.id, role)
    if stored is None:
        abort(404)
    record_audit("download", "job", job.id, detail={"file": stored.filename, "role": role})
    response = Response(stored.data, content_type=stored.content_type)
    response.headers["Content-Disposition"] = attachment_header(stored.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response
