"""The OpenAPI part for criticality and background jobs (merged by ``openapi``)."""

from __future__ import annotations

from ..jobs.models import JobStatus
from .openapi import _body, _json, _nullable, _obj, _r

STAMP = {"type": "string", "format": "date-time"}
JOB = {
    "id": {"type": "string", "description": "A UUID."},
    "kind": {"type": "string", "examples": ["criticality_recompute"]},
    "status": {"type": "string", "enum": [s.value for s in JobStatus]},
    "progress": {"type": "integer", "minimum": 0, "maximum": 100},
    "message": _nullable("string", description="What it is doing, or why it failed (Dutch)."),
    "result": {"type": ["object", "null"],
               "description": "When finished: a summary (for a recompute: organisations, critical, "
                              "new_assessments, updated_organisations, seconds per phase, ...)."},
    "created_by_id": _nullable("integer"),
    "created_at": STAMP,
    "started_at": _nullable("string", format="date-time"),
    "finished_at": _nullable("string", format="date-time"),
}
FLAG_INPUT = {
    "critical": {"type": ["boolean", "null"],
                 "description": "true: critical, false: not critical, null: clear the manual flag "
                                "(the computed result counts again)."},
    "reason": {"type": ["string", "null"], "maxLength": 1000,
               "description": "Required when critical is true or false."},
    "version": {"type": "integer", "minimum": 1,
                "description": "Optional: the organisation's version you last fetched; a stale "
                               "one gets 409."},
}


def criticality_schemas() -> dict:
    return {
        "Job": _obj(JOB, required=JOB),
        "CriticalityFlag": _obj(FLAG_INPUT, required=("critical",)),
    }


def criticality_paths() -> dict:
    job_location = {"Location": {"schema": {"type": "string"},
                                 "description": "URL of the job: /api/v1/jobs/{job_id}."}}
    return {
        "/criticality/recompute": {
            "post": {"operationId": "recomputeCriticality", "tags": ["criticality"],
                     "summary": "Start a recompute of every organisation's criticality as a "
                                "background job (admins and regional account managers).",
                     "responses": {"202": {**_json("Job", "The job; follow Location for progress."),
                                           "headers": job_location},
                                   **_r("Unauthorized", "Forbidden")}},
        },
        "/jobs/{job_id}": {
            "parameters": [{"name": "job_id", "in": "path", "required": True,
                            "schema": {"type": "string", "maxLength": 36}}],
            "get": {"operationId": "getJob", "tags": ["jobs"],
                    "summary": "A background job's status, progress, message and result (the "
                               "user who started it and admins; others get 404).",
                    "responses": {"200": _json("Job", "The job."), **_r("Unauthorized", "NotFound")}},
        },
        "/organisations/{org_id}/criticality-flag": {
            "parameters": [{"$ref": "#/components/parameters/org_id"}],
            "post": {"operationId": "setCriticalityFlag", "tags": ["criticality"],
                     "summary": "Set or clear the manual critical flag, with a reason (regional "
                                "account managers and admins). It overrides the computed result; "
                                "`criticality` shows both.",
                     "requestBody": _body("CriticalityFlag"),
                     "responses": {"200": _json("OrganisationDetail", "The organisation."),
                                   **_r("BadRequest", "Unauthorized", "Forbidden", "NotFound",
                                        "Conflict", "TooLarge", "ValidationFailed")}},
        },
    }


