"""The OpenAPI part for the accountability export (merged by ``openapi_programmes``)."""

from __future__ import annotations

from .openapi import _json, _r

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def export_paths() -> dict:
    job_location = {"Location": {"schema": {"type": "string"},
                                 "description": "URL of the job: /api/v1/jobs/{job_id}."}}
    return {
        "/programmes/{code}/export": {
            "parameters": [{"name": "code", "in": "path", "required": True,
                            "schema": {"type": "string", "maxLength": 40},
                            "description": "The programme's code, e.g. `scale`."}],
            "post": {
                "operationId": "exportProgramme", "tags": ["programmes"],
                "summary": "Start the accountability export of a programme's SME count as a "
                           "background job (admins, regional account managers, business "
                           "developers).",
                "description": "An Excel workbook (sheets Samenvatting, Meegeteld, Niet "
                               "meegeteld): every counted organisation with its size evidence "
                               "and date counted, and every excluded participation with its "
                               "reason (DESIGN 4.2). No request body. When the job is "
                               "`finished`, its `result` holds `counted`, `unverified`, "
                               "`excluded` (per reason), `excluded_total`, `rows`, `target`, "
                               "`filename`, `size` and `sha256`, and the file is at "
                               "`/api/v1/jobs/{job_id}/files/output`.",
                "responses": {"202": {**_json("Job", "The job; follow Location for progress."),
                                      "headers": job_location},
                              **_r("Unauthorized", "Forbidden", "NotFound")},
            },
        },
        "/jobs/{job_id}/files/{role}": {
            "parameters": [
                {"name": "job_id", "in": "path", "required": True,
                 "schema": {"type": "string", "maxLength": 36}},
                {"name": "role", "in": "path", "required": True,
                 "schema": {"type": "string", "maxLength": 16},
                 "description": "Which file: `output` for an export's workbook."},
            ],
            "get": {
                "operationId": "getJobFile", "tags": ["jobs"],
                "summary": "A file a background job produced (the user who started it and "
                           "admins; others get 404, as do files that do not exist yet).",
                "responses": {
                    "200": {"description": "The file, as an attachment (Content-Disposition).",
                            "content": {XLSX: {"schema": {"type": "string",
                                                          "contentMediaType": XLSX}},
                                        "application/octet-stream": {
                                            "schema": {"type": "string",
                                                       "contentMediaType":
                                                           "application/octet-stream"}}}},
                    **_r("Unauthorized", "NotFound")},
            },
        },
    }
