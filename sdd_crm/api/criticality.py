"""/api/v1/criticality/recompute and /api/v1/organisations/<id>/criticality-flag (DESIGN 4.3, 5).

A recompute runs as a background job: 202 with the job and a Location to ``/api/v1/jobs/<id>``.
The manual flag (regional account managers and admins) overrides the computed one; the
organisation's ``criticality`` shows both.
"""

from __future__ import annotations

from flask import jsonify, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..organisations.queries import get_organisation
from ..exceptions import ValidationError
from ..valuechains import criticality_services as services
from ..valuechains.jobs import create_job, enqueue_job
from . import bp
from .auth import api_user
from .errors import check_id, forbidden, json_object, read_version
from .jobs import job_to_dict
from .serializers import organisation_detail

FLAG_FIELDS = {"critical", "reason", "version"}


@bp.post("/criticality/recompute")
def recompute_criticality():
    user = api_user()
    if not services.can_run_recompute(user):
        forbidden()
    job = create_job(actor=user, trigger="api")
    enqueue_job(job)  # after the commit: the worker must find the Job row
    db.session.commit()
    location = url_for("api.get_job", job_id=job.id)
    db.session.refresh(job)  # without Redis the job has already run
    response = jsonify(job_to_dict(job))
    response.status_code = 202
    response.headers["Location"] = location
    return response


@bp.post("/organisations/<int:org_id>/criticality-flag")
def set_criticality_flag(org_id: int):
    user = api_user()
    org = get_organisation(check_id(org_id))
    if not services.can_set_manual_flag(user):
        forbidden()
    body = json_object()
    errors = {key: _("Onbekend veld.") for key in body if key not in FLAG_FIELDS}
    if "critical" not in body:
        errors["critical"] = _("Stuur critical mee: true, false of null (geen handmatige markering).")
    elif body["critical"] is not None and not isinstance(body["critical"], bool):
        errors["critical"] = _("Vul true, false of null in.")
    if body.get("reason") is not None and not isinstance(body["reason"], str):
        errors["reason"] = _("Vul tekst in.")
    if errors:
        raise ValidationError(errors)
    version = read_version(body.get("version"), required=False)
    services.set_manual_flag(org, body["critical"], body.get("reason"), actor=user,
                             expected_version=version)
    db.session.commit()
    return jsonify(organisation_detail(get_organisation(org_id)))
