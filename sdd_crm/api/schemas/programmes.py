"""Programmes (by ``code``), their progress and participations: one schema per resource, for what a
client sends, what it gets back and the OpenAPI document (DESIGN 4.2, 5; issue 5)."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import validate

from ...programmes.admin_services import (MAX_CODE, MAX_DESCRIPTION, MAX_FUNDER, MAX_NAME,
                                          MAX_TARGET_DESCRIPTION, MAX_TARGET_VALUE, MAX_TARGETS)
from ...programmes.counting import ProgrammeCount, Reason
from ...programmes.models import ParticipationStatus, Programme, TargetKind
from ...programmes.services import MAX_NOTES
from .. import fields as f
from .base import (ApiSchema, PageArgs, ResourceSchema, component, create_view, input_view,
                   list_view, patch_view, resource_components, version_field)
from .valuechains import name_field

CODE_PATTERN = "^[a-z0-9]+(-[a-z0-9]+)*$"
MUNICIPALITY_PATTERN = "^[Gg][Mm][0-9]{4}$"
STATUS_DESCRIPTION = (
    "identified → approached → interested → participating → completed, or declined. Moves may "
    "skip ahead, never back (a declined one may be identified or approached again); another "
    "move gets 409.")


def _pattern(regex: str, message: str) -> validate.Regexp:
    return validate.Regexp(regex, error=message)


def _flatten_rows(messages: dict, key: str) -> None:
    """``{key: {0: {"value": [...]}}}`` → ``{"key.0.value": [...]}``: the services' keys."""
    rows = messages.get(key)
    if not isinstance(rows, dict):
        return
    del messages[key]
    for index, row in rows.items():
        if isinstance(row, dict):
            for name, message in row.items():
                messages[f"{key}.{index}" + ("" if name == "_schema" else f".{name}")] = message
        else:
            messages[f"{key}.{index}"] = row


# --- Programmes ----------------------------------------------------------------------------------

class ProgrammeTargetSchema(ApiSchema):
    # One component for input and output: keep the input rules in the document (stored targets
    # were checked by them).
    api_input = True

    kind = f.Choice(TargetKind, error="Kies een geldige soort doel.",
                    load_default=TargetKind.SME_COUNT.value,
                    metadata={"default": TargetKind.SME_COUNT.value})
    value = f.Integer(required=True, minimum=1, maximum=MAX_TARGET_VALUE)
    description = f.Text(allow_none=True, max_length=MAX_TARGET_DESCRIPTION)


def _municipality_codes(programme) -> list[str]:
    return sorted(m.code for m in programme.municipalities)


def _targets(programme) -> list:
    return sorted(programme.targets, key=lambda t: t.id)


class ProgrammeSchema(ResourceSchema):
    code = f.Text(required=True, max_length=MAX_CODE, pattern=CODE_PATTERN, data_dependent=True,
                  validate=_pattern(CODE_PATTERN, "Gebruik alleen kleine letters, cijfers en "
                                                  "streepjes, zoals regio-deal."),
                  description="Lowercase letters, digits and dashes; unique (deleted programmes "
                              "keep theirs: 409 when taken); fixed once created (409).")
    name = name_field(MAX_NAME)
    funder = f.Text(allow_none=True, max_length=MAX_FUNDER)
    description = f.Text(allow_none=True, max_length=MAX_DESCRIPTION, multiline=True)
    start_date = f.Date(allow_none=True)
    end_date = f.Date(allow_none=True, data_dependent=True,
                      description="Not before start_date (sent or stored; 409 otherwise).")
    municipalities = f.List(
        f.Text(pattern=MUNICIPALITY_PATTERN,
               validate=_pattern(MUNICIPALITY_PATTERN, "Vul een CBS-code in, zoals GM0505.")),
        required=True, source=_municipality_codes, data_dependent=True,
        validate=validate.Length(min=1, error="Kies minstens één gemeente voor de regio."),
        description="The region: CBS codes of known municipalities (409 otherwise), such as "
                    "GM0505.")
    targets = f.List(
        f.Nested(ProgrammeTargetSchema), required=True, source=_targets,
        validate=validate.Length(min=1, max=MAX_TARGETS,
                                 error=f"Geef het programma 1 tot {MAX_TARGETS} doelen."))
    version = version_field()
    created_at = f.DateTime(dump_only=True)
    updated_at = f.DateTime(dump_only=True)

    def handle_error(self, error, data, *, many, **kwargs):
        super().handle_error(error, data, many=many, **kwargs)
        if isinstance(error.messages, dict):
            _flatten_rows(error.messages, "targets")


PROGRAMME, PROGRAMME_CREATE, PROGRAMME_PATCH, PROGRAMME_LIST = resource_components(
    "Programme", ProgrammeSchema)


# --- Progress ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Progress:
    """A programme with its count (DESIGN 4.2): what ``ProgrammeProgressSchema`` dumps."""

    programme: Programme
    count: ProgrammeCount

    def by_municipality(self) -> list[tuple]:
        """Every municipality of the region with its count: ``(municipality, counted)``."""
        return [(m, self.count.by_municipality.get(m.code, 0))
                for m in self.programme.municipalities]


ExcludedSchema = type("ExcludedSchema", (ApiSchema,), {
    r.value: f.Integer(required=True, minimum=0, dump_default=0) for r in Reason})


class MunicipalityCountSchema(ApiSchema):
    """Dumped from ``(municipality, counted)``."""

    code = f.Text(required=True, pattern=False, source=lambda row: row[0].code)
    name = f.Text(required=True, pattern=False, source=lambda row: row[0].name)
    counted = f.Integer(required=True, source=lambda row: row[1])


class ProgrammeProgressSchema(ApiSchema):
    """Dumped from a ``Progress``."""

    code = f.Text(required=True, pattern=False, source=lambda p: p.programme.code)
    name = f.Text(required=True, pattern=False, source=lambda p: p.programme.name)
    target = f.Integer(required=True, allow_none=True, source=lambda p: p.count.target,
                       description="The first sme_count target.")
    counted = f.Integer(required=True, source=lambda p: p.count.counted,
                        description="Distinct organisations that count.")
    unverified = f.Integer(required=True, source=lambda p: p.count.unverified,
                           description="Of those counted: SMEs whose financial figures are "
                                       "unknown.")
    excluded = f.Nested(ExcludedSchema, required=True, source=lambda p: p.count.excluded,
                        description="Participations that do not count, per reason (DESIGN 4.2).")
    by_municipality = f.List(f.Nested(MunicipalityCountSchema), required=True,
                             source=Progress.by_municipality,
                             description="Every municipality of the region.")


PROGRAMME_PROGRESS = component("ProgrammeProgress", ProgrammeProgressSchema())


# --- Participations ------------------------------------------------------------------------------

class ParticipationEventSchema(ApiSchema):
    from_status = f.Text(required=True, allow_none=True, pattern=False)
    to_status = f.Text(required=True, pattern=False)
    at = f.DateTime(required=True)
    user_id = f.Integer(required=True, allow_none=True)


class ParticipationSchema(ResourceSchema):
    """Dumped from a row of the resource module: the participation plus what this user sees."""

    id = f.Integer(dump_only=True)
    organisation_id = f.Id(required=True, data_dependent=True,
                           description="A live organisation, once per programme (409 otherwise).")
    organisation_name = f.Text(dump_only=True)
    municipality = f.Text(dump_only=True, allow_none=True,
                          description="CBS code of the organisation.")
    status = f.Choice(ParticipationStatus, error="Kies een geldige status.", data_dependent=True,
                      description=STATUS_DESCRIPTION)
    status_changed_at = f.DateTime(dump_only=True)
    owner_id = f.Id(allow_none=True, data_dependent=True, description=(
        "The business developer who owns it: an active admin, regional account manager or "
        "business developer; defaults to you when adding, null clears it."))
    notes = f.Text(allow_none=True, max_length=MAX_NOTES, multiline=True,
                   description="null for viewers.")
    interaction_ids = f.List(f.Integer(), dump_only=True,
                             description="Linked contact moments you may see (none for viewers).")
    counts = f.Boolean(dump_only=True, description="Counts towards the target (DESIGN 4.2).")
    reason = f.Choice(Reason, dump_only=True, allow_none=True, description=(
        "Why it does not count (DESIGN 4.2), the first that applies; null when it counts."))
    version = version_field()
    created_at = f.DateTime(dump_only=True)
    updated_at = f.DateTime(dump_only=True)


class ParticipationDetailSchema(ParticipationSchema):
    next_statuses = f.List(f.Choice(ParticipationStatus), dump_only=True,
                           description="Where you may move it (empty if you may not manage).")
    events = f.List(f.Nested(ParticipationEventSchema), dump_only=True,
                    description="Every move, oldest first.")


class ParticipationLinkSchema(ApiSchema):
    interaction_id = f.Id(required=True, data_dependent=True, description=(
        "A contact moment of the participation's organisation that you may see (409 otherwise)."))


PARTICIPATION = component("Participation", ParticipationSchema())
PARTICIPATION_DETAIL = component("ParticipationDetail", ParticipationDetailSchema())
PARTICIPATION_CREATE = component("ParticipationCreate", create_view(ParticipationDetailSchema))
PARTICIPATION_PATCH = component("ParticipationPatch", patch_view(
    ParticipationDetailSchema, exclude=("organisation_id",)))
PARTICIPATION_LIST = component("ParticipationList", list_view(ParticipationSchema)())
PARTICIPATION_LINK = component("ParticipationLink", input_view(ParticipationLinkSchema))


class ParticipationQuery(PageArgs):
    status = f.Choice(ParticipationStatus, description="Only this status.")
    municipality = f.Text(max_length=6, description="CBS code of the organisation.")
    owner_id = f.QueryId(description="Only those owned by this user.")
    q = f.Text(max_length=200, description="Part of the organisation's name, or its KvK number.")
    cluster_id = f.QueryId(description="Only organisations in this cluster.")
    counted = f.QueryBoolean(description="Only those that count towards the target (true) or "
                                         "only the others (false).")
    organisation_id = f.QueryId(description="Only this organisation.")
