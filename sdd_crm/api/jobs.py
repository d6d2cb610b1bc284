"""/api/v1/jobs/<id>: a background job's status, progress, message and result.

Visible to the user who started it and to admins; to anyone else it does not exist (404).
"""

from __future__ import annotations

from flask import abort

from ..auth.models import Role
from ..exceptions import hidden
from ..extensions import db
from ..jobs.models import Job
from . import bp
from .auth import api_user
from .schemas.criticality import JOB


# A job's URL by its id (a UUID): the converter's bounds document the parameter.
JOB_URL = "/jobs/<string(maxlength=36):job_id>"


def visible_job_or_404(job_id: str) -> Job:
    """The job, if this user started it or is an admin; to anyone else it does not exist."""
    user = api_user()
    job = db.session.get(Job, job_id)
    if job is None:
        abort(404)
    if user.role != Role.ADMIN and job.created_by_id != user.id:
        raise hidden(job)  # answered as a missing job; the refusal is audited
    return job


@bp.get(JOB_URL, tags=["jobs"])
@bp.doc(operationId="getJob",
        summary="A background job's status, progress, message and result (the user who started "
                "it and admins; others get 404).")
@bp.response(200, JOB, description="The job.")
def get_job(job_id: str):
    return visible_job_or_404(job_id)
