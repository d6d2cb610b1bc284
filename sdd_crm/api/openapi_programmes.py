"""OpenAPI paths and schemas for programmes, participations, progress and exports (issue 5)."""

from __future__ import annotations

from ..programmes.admin_services import (MAX_CODE, MAX_DESCRIPTION, MAX_FUNDER, MAX_NAME,
                                         MAX_TARGET_DESCRIPTION, MAX_TARGET_VALUE, MAX_TARGETS)
from ..programmes.counting import Reason
from ..programmes.models import ParticipationStatus, TargetKind
from ..programmes.services import MAX_NOTES
from .openapi import TEXT, VERSION_IN, _body, _created, _json, _list_schema, _nullable, _obj, _query, _r

ID_OUT = {"type": "integer"}
ID_IN = {"type": "integer", "minimum": 1}
STAMP = {"type": "string", "format": "date-time"}
DATE = _nullable("string", format="date")
VERSION_OUT = {"type": "integer", "description": "Send it back with a PATCH; a stale one gets 409."}
STATUS = {"type": "string", "enum": [s.value for s in ParticipationStatus],
          "description": "identified → approached → interested → participating → completed, or "
                         "declined. Moves may skip ahead, never back (a declined one may be "
                         "identified or approached again)."}
REASON = {"type": ["string", "null"], "enum": [r.value for r in Reason] + [None],
          "description": "Why it does not count (DESIGN 4.2), the first that applies; null when "
                         "it counts."}
WRITE_ERRORS = ("BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict", "TooLarge",
                "ValidationFailed")

TARGET_IN = _obj({
    "kind": {"type": "string", "enum": [k.value for k in TargetKind], "default": "sme_count"},
    "value": {"type": "integer", "minimum": 1, "maximum": MAX_TARGET_VALUE},
    "description": _nullable("string", maxLength=MAX_TARGET_DESCRIPTION),
}, required=("value",))
TARGET_OUT = _obj({"kind": TEXT, "value": ID_OUT, "description": _nullable("string")},
                  required=("kind", "value", "description"))
PROGRAMME_INPUT = {
    "code": {"type": "string", "maxLength": MAX_CODE, "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$",
             "description": "Lowercase letters, digits and dashes; unique (deleted programmes "
                            "keep theirs); fixed once created."},
    "name": {"type": "string", "maxLength": MAX_NAME},
    "funder": _nullable("string", maxLength=MAX_FUNDER),
    "description": _nullable("string", maxLength=MAX_DESCRIPTION),
    "start_date": DATE,
    "end_date": _nullable("string", format="date", description="Not before start_date."),
    "municipalities": {"type": "array", "minItems": 1, "items": {"type": "string"},
                       "description": "The region: CBS codes such as GM0505."},
    "targets": {"type": "array", "minItems": 1, "maxItems": MAX_TARGETS, "items": TARGET_IN,
                "description": "Replaces the targets; the first sme_count target is the one "
                               "progress is measured against."},
}
PROGRAMME_OUTPUT = {
    "code": TEXT, "name": TEXT, "funder": _nullable("string"), "description": _nullable("string"),
    "start_date": DATE, "end_date": DATE,
    "municipalities": {"type": "array", "items": TEXT, "description": "CBS codes."},
    "targets": {"type": "array", "items": TARGET_OUT},
    "version": VERSION_OUT, "created_at": STAMP, "updated_at": STAMP,
}
PARTICIPATION_OUTPUT = {
    "id": ID_OUT, "organisation_id": ID_OUT, "organisation_name": TEXT,
    "municipality": _nullable("string", description="CBS code of the organisation."),
    "status": STATUS, "status_changed_at": STAMP,
    "owner_id": _nullable("integer", description="The business developer who owns it."),
    "notes": _nullable("string", description="null for viewers."),
    "interaction_ids": {"type": "array", "items": ID_OUT,
                        "description": "Linked contact moments you may see (none for viewers)."},
    "counts": {"type": "boolean", "description": "Counts towards the target (DESIGN 4.2)."},
    "reason": REASON,
    "version": VERSION_OUT, "created_at": STAMP, "updated_at": STAMP,
}
EVENT = _obj({"from_status": {"type": ["string", "null"]}, "to_status": TEXT, "at": STAMP,
              "user_id": _nullable("integer")}, required=("from_status", "to_status", "at", "user_id"))
PARTICIPATION_INPUT = {
    "status": STATUS,
    "owner_id": _nullable("integer", minimum=1,
                          description="An active admin, regional account manager or business "
                                      "developer; defaults to you when adding, null clears it."),
    "notes": _nullable("string", maxLength=MAX_NOTES),
}


def programme_schemas() -> dict:
    return {
        "Programme": _obj(PROGRAMME_OUTPUT, required=PROGRAMME_OUTPUT),
        "ProgrammeCreate": _obj(PROGRAMME_INPUT, required=("code", "name", "municipalities", "targets")),
        "ProgrammePatch": _obj({k: v for k, v in PROGRAMME_INPUT.items()} | {"version": VERSION_IN},
                               required=("version",)),
        "ProgrammeList": _list_schema("Programme"),
        "ProgrammeProgress": _obj({
            "code": TEXT, "name": TEXT,
            "target": _nullable("integer", description="The first sme_count target."),
            "counted": {"type": "integer", "description": "Distinct organisations that count."},
            "unverified": {"type": "integer",
                           "description": "Of those counted: SMEs whose financial figures are unknown."},
            "excluded": _obj({r.value: {"type": "integer", "minimum": 0} for r in Reason},
                             required=[r.value for r in Reason]),
            "by_municipality": {"type": "array", "description": "Every municipality of the region.",
                                "items": _obj({"code": TEXT, "name": TEXT, "counted": ID_OUT},
                                              required=("code", "name", "counted"))},
        }, required=("code", "name", "target", "counted", "unverified", "excluded",
                     "by_municipality")),
        "Participation": _obj(PARTICIPATION_OUTPUT, required=PARTICIPATION_OUTPUT),
        "ParticipationDetail": _obj(PARTICIPATION_OUTPUT | {
            "next_statuses": {"type": "array", "items": STATUS,
                              "description": "Where you may move it (empty if you may not manage)."},
            "events": {"type": "array", "items": EVENT, "description": "Every move, oldest first."},
        }, required=[*PARTICIPATION_OUTPUT, "next_statuses", "events"]),
        "ParticipationCreate": _obj({"organisation_id": ID_IN} | PARTICIPATION_INPUT,
                                    required=("organisation_id",)),
        "ParticipationPatch": _obj(PARTICIPATION_INPUT | {"version": VERSION_IN}, required=("version",)),
        "ParticipationList": _list_schema("Participation"),
        "ParticipationLink": _obj({"interaction_id": ID_IN}, required=("interaction_id",)),
    }


def _path(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": ID_IN}


CODE = {"name": "code", "in": "path", "required": True, "description": "The programme's code, e.g. `scale`.",
        "schema": {"type": "string", "maxLength": MAX_CODE}}
PAGE = [{"$ref": "#/components/parameters/page"}, {"$ref": "#/components/parameters/per_page"}]
TAG = ["programmes"]


def _participation_paths() -> dict:
    item = [CODE, _path("participation_id", "The participation's id.")]
    filters = [
        _query("status", STATUS, "Only this status."),
        _query("municipality", {"type": "string", "maxLength": 6}, "CBS code of the organisation."),
        _query("owner_id", ID_IN, "Only those owned by this user."),
        _query("q", {"type": "string", "maxLength": 200}, "Part of the organisation's name, or its KvK number."),
        _query("cluster_id", ID_IN, "Only organisations in this cluster."),
        _query("counted", {"type": "string", "enum": ["true", "false", "1", "0"]},
               "Only those that count towards the target (true) or only the others (false)."),
        _query("organisation_id", ID_IN, "Only this organisation."),
    ]
    return {
        "/programmes/{code}/participations": {
            "parameters": [CODE],
            "get": {"operationId": "listParticipations", "tags": TAG,
                    "summary": "The pipeline, most recently moved first, with whether each counts.",
                    "parameters": [*filters, *PAGE],
                    "responses": {"200": _json("ParticipationList", "One page."),
                                  **_r("BadRequest", "Unauthorized", "NotFound")}},
            "post": {"operationId": "createParticipation", "tags": TAG,
                     "summary": "Put an organisation in the pipeline (admins, regional account "
                                "managers, business developers). Once per programme; a deleted "
                                "one comes back.",
                     "requestBody": _body("ParticipationCreate"),
                     "responses": {"201": _created("ParticipationDetail"), **_r(*WRITE_ERRORS)}},
        },
        "/programmes/{code}/participations/{participation_id}": {
            "parameters": item,
            "get": {"operationId": "getParticipation", "tags": TAG,
                    "summary": "One participation with the date of every move.",
                    "responses": {"200": _json("ParticipationDetail", "The participation."),
                                  **_r("Unauthorized", "NotFound")}},
            "patch": {"operationId": "updateParticipation", "tags": TAG,
                      "summary": "Move it on (`status`), change owner or notes; `version` is "
                                 "required. A move the pipeline does not allow gets 422.",
                      "requestBody": _body("ParticipationPatch"),
                      "responses": {"200": _json("ParticipationDetail", "The changed participation."),
                                    **_r(*WRITE_ERRORS, "VersionRequired")}},
            "delete": {"operationId": "deleteParticipation", "tags": TAG,
                       "summary": "Soft delete (it no longer counts); adding the organisation "
                                  "again brings it back.",
                       "parameters": [{"$ref": "#/components/parameters/version"}],
                       "responses": {"204": {"description": "Deleted."},
                                     **_r("Unauthorized", "Forbidden", "NotFound", "Conflict",
                                          "ValidationFailed")}},
        },
        "/programmes/{code}/participations/{participation_id}/interactions": {
            "parameters": item,
            "post": {"operationId": "linkParticipationInteraction", "tags": TAG,
                     "summary": "Link a contact moment of the same organisation that you may see.",
                     "requestBody": _body("ParticipationLink"),
                     "responses": {"201": _created("ParticipationDetail"), **_r(*WRITE_ERRORS)}},
        },
        "/programmes/{code}/participations/{participation_id}/interactions/{interaction_id}": {
            "parameters": [*item, _path("interaction_id", "The linked contact moment.")],
            "delete": {"operationId": "unlinkParticipationInteraction", "tags": TAG,
                       "summary": "Remove the link (the contact moment stays).",
                       "responses": {"204": {"description": "Unlinked."},
                                     **_r("Unauthorized", "Forbidden", "NotFound",
                                          "ValidationFailed")}},
        },
    }


def programme_paths() -> dict:
    try:
        from .openapi_programme_exports import export_paths
    except ImportError:  # the export endpoint is documented by its own module when present
        export_paths = dict
    paths = {
        "/programmes": {
            "get": {"operationId": "listProgrammes", "tags": TAG,
                    "summary": "Programmes (not deleted), by name.", "parameters": PAGE,
                    "responses": {"200": _json("ProgrammeList", "One page."),
                                  **_r("BadRequest", "Unauthorized")}},
            "post": {"operationId": "createProgramme", "tags": TAG,
                     "summary": "Create a programme with its region and targets (admins).",
                     "requestBody": _body("ProgrammeCreate"),
                     "responses": {"201": _created("Programme"),
                                   **_r("BadRequest", "Unauthorized", "Forbidden", "TooLarge",
                                        "ValidationFailed")}},
        },
        "/programmes/{code}": {
            "parameters": [CODE],
            "get": {"operationId": "getProgramme", "tags": TAG, "summary": "One programme.",
                    "responses": {"200": _json("Programme", "The programme."),
                                  **_r("Unauthorized", "NotFound")}},
            "patch": {"operationId": "updateProgramme", "tags": TAG,
                      "summary": "Change the fields sent (admins); `version` is required, the "
                                 "code cannot change.",
                      "requestBody": _body("ProgrammePatch"),
                      "responses": {"200": _json("Programme", "The changed programme."),
                                    **_r(*WRITE_ERRORS, "VersionRequired")}},
            "delete": {"operationId": "deleteProgramme", "tags": TAG,
                       "summary": "Soft delete (admins); an admin can restore it in the screens.",
                       "parameters": [{"$ref": "#/components/parameters/version"}],
                       "responses": {"204": {"description": "Deleted."},
                                     **_r("Unauthorized", "Forbidden", "NotFound", "Conflict",
                                          "ValidationFailed")}},
        },
        "/programmes/{code}/progress": {
            "parameters": [CODE],
            "get": {"operationId": "getProgrammeProgress", "tags": TAG,
                    "summary": "Progress against the target (DESIGN 4.2): counted, unverified, "
                               "excluded per reason (all reasons, zeros included) and the count "
                               "per municipality of the region.",
                    "responses": {"200": _json("ProgrammeProgress", "The count."),
                                  **_r("Unauthorized", "NotFound")}},
        },
        **_participation_paths(),
    }
    for path, item in export_paths().items():
        paths.setdefault(path, {}).update(item)
    return paths
