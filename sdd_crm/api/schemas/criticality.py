"""Criticality (DESIGN 4.3) and background jobs: output of an organisation's ``criticality``, the
manual flag's input, and the job resource."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from ...extensions import db
from ...jobs.models import JobStatus
from ...jobs.progress import live_progress
from ...valuechains.criticality_services import REASON_LIMIT
from ...valuechains.models import CriticalityAssessment
from .. import fields as f
from .base import ApiSchema, ResourceSchema, component

NON_BLANK = f.NON_BLANK_MULTI_LINE_PATTERN


class CriticalityFactorSchema(ApiSchema):
    name = f.Text(required=True)
    value = f.Raw(required=True, allow_none=True,
                  metadata={"type": ["number", "string", "boolean"]})
    weight = f.Number(required=True, allow_none=True)
    contribution = f.Number(required=True, allow_none=True)


class CriticalitySchema(ApiSchema):
    score = f.Number(required=True, allow_none=True)
    flag_source = f.Choice(["manual", "computed"], required=True, allow_none=True,
                           description="manual when a manual flag is set, computed when an "
                                       "assessment exists, else null.")
    manual = f.Boolean(allow_none=True)
    manual_reason = f.Text(allow_none=True, multiline=True)
    computed = f.Boolean(allow_none=True)
    threshold = f.Number(allow_none=True)
    assessed_at = f.DateTime(allow_none=True)
    factors = f.List(f.Nested(CriticalityFactorSchema), required=True,
                     description="Of the latest assessment; empty without one.")


component("CriticalityFactor", CriticalityFactorSchema())
component("Criticality", CriticalitySchema())


def latest_assessment(org_id: int) -> CriticalityAssessment | None:
    return db.session.scalar(
        sa.select(CriticalityAssessment)
        .where(CriticalityAssessment.organisation_id == org_id)
        .order_by(CriticalityAssessment.computed_at.desc(), CriticalityAssessment.id.desc())
        .limit(1)
    )


def criticality_of(org) -> dict:
    """Why an organisation is (not) critical: the manual flag overrides the computed one."""
    assessment = latest_assessment(org.id)
    if org.manual_critical is not None:
        flag_source = "manual"
    elif assessment is not None:
        flag_source = "computed"
    else:
        flag_source = None
    score = org.criticality_score
    if score is None and assessment is not None:
        score = assessment.score
    factors = [{k: item.get(k) for k in ("name", "value", "weight", "contribution")}
               for item in ((assessment.factors or []) if assessment is not None else [])
               if isinstance(item, Mapping)]
    return {
        "score": score,
        "flag_source": flag_source,
        "manual": org.manual_critical,
        "manual_reason": org.manual_critical_reason,
        "computed": assessment.critical if assessment is not None else None,
        "threshold": assessment.threshold if assessment is not None else None,
        "assessed_at": assessment.computed_at if assessment is not None else None,
        "factors": factors,
    }


class CriticalityFlagSchema(ResourceSchema):
    critical = f.Boolean(required=True, allow_none=True, error_messages={
                             "required": "Stuur critical mee: true, false of null (geen handmatige markering).",
                             "invalid": "Vul true, false of null in."},
                         description="true: critical, false: not critical, null: clear the manual "
                                     "flag (the computed result counts again).")
    reason = f.Text(allow_none=True, max_length=REASON_LIMIT, multiline=True,
                    description="Required when critical is true or false.")
    version = f.Id(description="Optional: the organisation's version you last fetched; a stale "
                               "one gets 409.")

    # A flag (true/false) needs a reason that is not blank; clearing it (null) needs none.
    openapi_extra = {"if": {"properties": {"critical": {"type": "boolean"}}, "required": ["critical"]},
                     "then": {"required": ["reason"],
                              "properties": {"reason": {"type": "string", "pattern": NON_BLANK}}}}


CRITICALITY_FLAG = component("CriticalityFlag", CriticalityFlagSchema())


class JobSchema(ResourceSchema):
    id = f.Text(required=True, description="A UUID.")
    kind = f.Text(required=True, metadata={"examples": ["criticality_recompute"]})
    status = f.Choice(JobStatus, required=True)
    progress = f.Integer(required=True, minimum=0, maximum=100,
                         source=lambda job: live_progress(job)[0])
    message = f.Text(allow_none=True, required=True, multiline=True, pattern=False,
                     source=lambda job: live_progress(job)[1],
                     description="What it is doing, or why it failed (Dutch).")
    result = f.Dict(allow_none=True, required=True,
                    description="When finished: a summary (for a recompute: organisations, "
                                "critical, new_assessments, updated_organisations, seconds per "
                                "phase, ...).")
    created_by_id = f.Integer(allow_none=True, required=True)
    created_at = f.DateTime(required=True)
    started_at = f.DateTime(allow_none=True, required=True)
    finished_at = f.DateTime(allow_none=True, required=True)


JOB = component("Job", JobSchema())
