"""Criticality (DESIGN 4.3) and background jobs: output of an organisation's ``criticality``, the
manual flag's input, and the job resource."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...jobs.models import JobStatus
from ...jobs.progress import live_progress
from ...valuechains.criticality_services import REASON_LIMIT, latest_assessment
from ...valuechains.models import CriticalityAssessment
from .. import fields as f
from .base import ApiSchema, ResourceSchema, component

NON_BLANK = f.NON_BLANK_MULTI_LINE_PATTERN


class CriticalityFactorSchema(ApiSchema):
    """One factor of an assessment (a stored mapping; a key it lacks is null)."""

    name = f.Text(required=True, dump_default=None)
    value = f.Raw(required=True, allow_none=True, dump_default=None,
                  metadata={"type": ["number", "string", "boolean"]})
    weight = f.Number(required=True, allow_none=True, dump_default=None)
    contribution = f.Number(required=True, allow_none=True, dump_default=None)


@dataclass(frozen=True)
class Assessed:
    """An organisation with its latest assessment (or None): what ``CriticalitySchema`` dumps."""

    org: Any
    assessment: CriticalityAssessment | None

    @classmethod
    def of(cls, org) -> Assessed:
        return cls(org, latest_assessment(org.id))

    def computed(self, name: str):
        return getattr(self.assessment, name) if self.assessment is not None else None


def _score(c: Assessed):
    return c.org.criticality_score if c.org.criticality_score is not None else c.computed("score")


def _flag_source(c: Assessed) -> str | None:
    if c.org.manual_critical is not None:
        return "manual"
    return "computed" if c.assessment is not None else None


class CriticalitySchema(ApiSchema):
    """Why an organisation is (not) critical: the manual flag overrides the computed one.
    Dumped from an ``Assessed``."""

    score = f.Number(required=True, allow_none=True, source=_score)
    flag_source = f.Choice(["manual", "computed"], required=True, allow_none=True,
                           source=_flag_source,
                           description="manual when a manual flag is set, computed when an "
                                       "assessment exists, else null.")
    manual = f.Boolean(allow_none=True, source=lambda c: c.org.manual_critical)
    manual_reason = f.Text(allow_none=True, multiline=True,
                           source=lambda c: c.org.manual_critical_reason)
    computed = f.Boolean(allow_none=True, source=lambda c: c.computed("critical"))
    threshold = f.Number(allow_none=True, source=lambda c: c.computed("threshold"))
    assessed_at = f.DateTime(allow_none=True, source=lambda c: c.computed("computed_at"))
    factors = f.List(f.Nested(CriticalityFactorSchema), required=True,
                     source=lambda c: [i for i in (c.computed("factors") or [])
                                       if isinstance(i, Mapping)],
                     description="Of the latest assessment; empty without one.")


component("CriticalityFactor", CriticalityFactorSchema())
component("Criticality", CriticalitySchema())


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
