"""/api/v1/criticality/recompute and /api/v1/organisations/<id>/criticality-flag (DESIGN 4.3, 5).

A recompute runs as a background job: 202 with the job and a Location to ``/api/v1/jobs/<id>``.
The manual flag (regional account managers and admins) overrides the computed one; the
organisation's ``criticality`` shows both.
"""

from __future__ import annotations

from flask import url_for

from ..organisations.queries import get_organisation
from ..valuechains import criticality_services as services
from ..valuechains.jobs import create_job, enqueue_job
from . import bp, errors, guard
from .auth import api_user
from .errors import check_id, forbidden
from .openapi import JOB_LOCATION
from .schemas.criticality import CRITICALITY_FLAG, JOB
from .schemas.organisations import ORGANISATION_DETAIL



def _may_recompute() -> None:
    if not services.can_run_recompute(api_user()):
        forbidden()


@bp.post("/criticality/recompute", tags=["criticality"])
@bp.doc(operationId="recomputeCriticality",
        summary="Start a recompute of every organisation's criticality as a background job "
                "(admins and regional account managers).")
@errors(403)
@guard(_may_recompute)
@bp.response(202, JOB, description="The job; follow Location for progress.", headers=JOB_LOCATION)
def recompute_criticality():
    job = create_job(actor=api_user(), trigger="api")
    enqueue_job(job)  # after the commit: the worker must find the Job row
    return job, 202, {"Location": url_for("api.get_job", job_id=job.id)}


def _may_flag() -> None:
    if not services.can_set_manual_flag(api_user()):
        forbidden()


@bp.post("/organisations/<int:org_id>/criticality-flag", tags=["criticality"])
@bp.doc(operationId="setCriticalityFlag",
        summary="Set or clear the manual critical flag, with a reason (regional account managers "
                "and admins). It overrides the computed result; `criticality` shows both.")
@errors(403, 409)
@guard(_may_flag)
@bp.arguments(CRITICALITY_FLAG)
@bp.response(200, ORGANISATION_DETAIL, description="The organisation.")
def set_criticality_flag(data, org_id: int):
    org = get_organisation(check_id(org_id))
    services.set_manual_flag(org, data["critical"], data.get("reason"), actor=api_user(),
                             expected_version=data.get("version"))
    return org
