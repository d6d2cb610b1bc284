"""/api/v1/jobs/<id>: a background job's status, progress, message and result.

Visible to the user who started it and to admins; to anyone else it does not exist (404).
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify

from ..auth.models import Role
from ..extensions import db
from ..jobs.models import Job
from ..jobs.progress import live_progress
from . import bp
from .auth import api_user
from .serializers import _timestamp


def job_to_dict(job: Job) -> dict[str, Any]:
    # A running job's progress may be ahead in the worker's RQ meta (a job that applies its work
    # in one transaction cannot commit progress to its row on SQLite).
    progress, message = live_progress(job)
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "progress": progress,
        "message": message,
        "result": job.result,
        "created_by_id": job.created_by_id,
        "created_at": _timestamp(job.created_at),
        "started_at": _timestamp(job.started_at),
        "finished_at": _timestamp(job.finished_at),
    }


@bp.get("/jobs/<job_id>")
def get_job(job_id: str):
    user = api_user()
    job = db.session.get(Job, job_id) if 0 < len(job_id) <= 36 else None
    if job is None or (user.role != Role.ADMIN and job.created_by_id != user.id):
        abort(404)
    return jsonify(job_to_dict(job))
