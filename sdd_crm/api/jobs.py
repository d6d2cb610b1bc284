"""/api/v1/jobs/<id>: a background job's status, progress, message and result.

Visible to the user who started it and to admins; to anyone else it does not exist (404).
"""

from __future__ import annotations

from flask import abort

from ..auth.models import Role
from ..extensions import db
from ..jobs.models import Job
from . import bp
from .auth import api_user
from .schemas.criticality import JOB


@bp.get("/jobs/<job_id>", tags=["jobs"])
@bp.doc(operationId="getJob",
        summary="A background job's status, progress, message and result (the user who started "
                "it and admins; others get 404).",
        parameters=[{"name": "job_id", "in": "path", "required": True,
                     "schema": {"type": "string", "maxLength": 36}}])
@bp.response(200, JOB, description="The job.")
def get_job(job_id: str):
    user = api_user()
    job = db.session.get(Job, job_id) if 0 < len(job_id) <= 36 else None
    if job is None or (user.role != Role.ADMIN and job.created_by_id != user.id):
        abort(404)
    return job
