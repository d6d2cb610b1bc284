"""The organisation resource of DESIGN 5: input, output and its part of the OpenAPI document."""

from __future__ import annotations

from collections.abc import Mapping

import marshmallow as ma

from ...organisations.models import OrgStatus, OrgType, SizeClass
from ...organisations.queries import SORTS
from ...organisations.services import MAX_AMOUNT, MAX_EMPLOYEES, MAX_LENGTHS, main_establishment
from .. import fields as f
from .base import (CursorPageArgs, ResourceSchema, component, input_view,
                   resource_components, version_field)
from .criticality import Assessed, CriticalitySchema

SBI_PATTERN = r"^[0-9]{2}(\.?[0-9]{1,3})?(\.?[0-9A-Za-z])?$"
SBI_MESSAGE = "Een SBI-code is tekst of een object met code, version en main."
# What the service's number parser reads as an amount in euros (``1.250.000,00``, ``1250000``).
AMOUNT_PATTERN = r"^(0|[1-9][0-9]{0,2}(\.[0-9]{3}){0,3}|[1-9][0-9]{0,11})(,[0-9]{1,2})?$"
KVK_PATTERN = r"^[0-9]{8}$"
ESTABLISHMENT_PATTERN = r"^[0-9]{12}$"
POSTCODE_PATTERN = r"^[1-9][0-9]{3} ?([A-RT-Z][A-Z]|S[BCE-RT-Z])$"
PHONE_PATTERN = f.PHONE_PATTERN
EMAIL_PATTERN = f.EMAIL_PATTERN
WEBSITE_PATTERN = (r"^(https?://)?[a-z0-9]{1,30}(\.[a-z0-9]{1,30}){0,2}\.(nl|com|org|eu)"
                   r"(/[A-Za-z0-9_~%/-]{0,100})?$")
MUNICIPALITY_PATTERN = r"^GM[0-9]{4}$"


class SbiCodeSchema(ResourceSchema):
    code = f.Text(required=True, max_length=10, pattern=SBI_PATTERN)
    version = f.Choice(["2008", "2025"])
    main = f.Boolean()


SBI_CODE = component("SbiCode", SbiCodeSchema())
SBI_CODE_INPUT = component("SbiCodeInput", input_view(SbiCodeSchema, partial=("version", "main")))


class SbiCodeItem(f.Raw):
    """A code as text (``"2811"``) or as an object (``{"code", "version", "main"}``)."""

    default_error_messages = {"invalid": SBI_MESSAGE}

    def __init__(self, **kwargs):
        super().__init__(metadata={"oneOf": [
            {"type": "string", "pattern": SBI_PATTERN, "maxLength": 10},
            {"$ref": "#/components/schemas/SbiCodeInput"},
        ]}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            if f.bad_text(value):
                raise ma.ValidationError(f.BAD_CHARACTERS)
            return value
        if isinstance(value, Mapping):
            try:
                return SBI_CODE_INPUT.load(value)
            except ma.ValidationError as e:
                field, messages = next(iter(e.messages.items()))
                raise ma.ValidationError(SBI_MESSAGE if field not in ("code", "version", "main")
                                         else f"{field}: {messages[0]}") from None
        raise self.make_error("invalid")


def _sbi_codes(org) -> list[dict]:
    return [{"code": s.code, "version": s.version, "main": s.is_main} for s in org.sbi_codes]


def _establishment_number(org) -> str | None:
    main = main_establishment(org)
    return main.establishment_number if main is not None else None


class Money(f.Raw):
    """Euros: a JSON number (at most two decimals count) or Dutch text such as ``1.250.000,00``."""

    default_error_messages = {"invalid": "Vul een bedrag in euro in, zoals 1250000 of 1.250.000,00."}

    def __init__(self, **kwargs):
        super().__init__(allow_none=True, metadata={
            "oneOf": [{"type": "number", "minimum": 0, "maximum": float(MAX_AMOUNT)},
                      {"type": "string", "pattern": AMOUNT_PATTERN}, {"type": "null"}],
            "description": "Euros, at most two decimals; input may also be a string such as "
                           "\"1.250.000,00\"."}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise self.make_error("invalid")
        if isinstance(value, str) and f.bad_text(value):
            raise ma.ValidationError(f.BAD_CHARACTERS)
        return value

    def _serialize(self, value, attr, obj, **kwargs):
        return f.Number()._serialize(value, attr, obj)


def _text(name: str, **kwargs) -> f.Text:
    return f.Text(allow_none=True, max_length=MAX_LENGTHS.get(name), **kwargs)


class OrganisationSchema(ResourceSchema):
    """DESIGN 5's organisation. The service normalises and checks the rules (KvK, postcode, ...);
    the patterns below describe the input it certainly accepts."""

    id = f.Integer(dump_only=True)
    name = f.Text(required=True, max_length=MAX_LENGTHS["name"], pattern=f.NON_BLANK_PATTERN)
    org_type = f.Choice(OrgType, allow_none=True, error="Kies een geldig type organisatie.")
    kvk_number = f.Text(allow_none=True, pattern=KVK_PATTERN, data_dependent=True,
                        description="8 digits (KvK); unique.")
    establishment_number = f.Text(allow_none=True, pattern=ESTABLISHMENT_PATTERN, data_dependent=True,
                                  source=_establishment_number,
                                  description="12 digits (vestigingsnummer) of the main "
                                              "establishment; unique.")
    legal_form = _text("legal_form")
    street = _text("street")
    postcode = f.Text(allow_none=True, pattern=POSTCODE_PATTERN,
                      description="Dutch postcode, stored as \"1234 AB\".")
    city = _text("city")
    municipality = f.Text(allow_none=True, pattern=MUNICIPALITY_PATTERN, source="municipality_code",
                          data_dependent=True,
                          description="CBS code such as GM0505; follows from `city` when not given.")
    phone = f.Text(allow_none=True, pattern=PHONE_PATTERN,
                   description="Stored in E.164, e.g. +31781234567.")
    email = f.Text(allow_none=True, max_length=MAX_LENGTHS["email"], pattern=EMAIL_PATTERN)
    website = f.Text(allow_none=True, max_length=MAX_LENGTHS["website"], pattern=WEBSITE_PATTERN)
    description = _text("description", multiline=True)
    sbi_codes = f.List(SbiCodeItem(), allow_none=True, max_items=20, source=_sbi_codes,
                       description="The first code (or the one with main: true) is the main activity.")
    employees = f.Integer(allow_none=True, minimum=0, maximum=MAX_EMPLOYEES)
    annual_turnover_eur = Money()
    balance_sheet_total_eur = Money()
    size_class = f.Choice(SizeClass, dump_only=True,
                          description="EU size class (Recommendation 2003/361/EC).")
    parent_id = f.Id(allow_none=True, data_dependent=True,
                     description="The group this organisation belongs to.")
    merged_into_id = f.Integer(dump_only=True, allow_none=True,
                               description="Set when this record was merged into another (a "
                                           "duplicate): the surviving record's id. Lists show "
                                           "live records only; the merged one stays readable by id.")
    status = f.Choice(OrgStatus, allow_none=True, error="Kies een geldige status.")
    tags = f.List(f.Text(max_length=60), allow_none=True, max_items=30,
                  source=lambda org: [t.name for t in org.tags])
    critical = f.Boolean(dump_only=True, source=lambda org: bool(org.is_critical),
                         description="The effective flag (manual overrides computed).")
    version = version_field()
    created_at = f.DateTime(dump_only=True)
    updated_at = f.DateTime(dump_only=True)

    read_only_names = ("criticality",)

    @ma.validates("sbi_codes")
    def _one_main(self, codes, **kwargs):
        if codes and sum(1 for i in codes if isinstance(i, Mapping) and i.get("main")) > 1:
            raise ma.ValidationError("Hoogstens één SBI-code is de hoofdactiviteit.")

    @ma.post_load
    def _main_first(self, data, **kwargs):
        # The service takes the first code as the main activity.
        codes = data.get("sbi_codes")
        if isinstance(codes, list):
            data["sbi_codes"] = sorted(codes, key=lambda i: not (isinstance(i, Mapping) and i.get("main")))
        return data


class OrganisationDetailSchema(OrganisationSchema):
    criticality = f.Nested(CriticalitySchema, dump_only=True, source=Assessed.of)


ORGANISATION, ORGANISATION_CREATE, ORGANISATION_PATCH, ORGANISATION_LIST = resource_components(
    "Organisation", OrganisationSchema, cursor=True)
ORGANISATION_DETAIL = component("OrganisationDetail", OrganisationDetailSchema())


class OrganisationArgs(CursorPageArgs):
    q = f.Text(max_length=None, description="Search text (the first 200 characters count).")
    kvk = f.Text(description="KvK number (8 digits).")
    municipality = f.Text(description="CBS code, e.g. GM0505.")
    cluster = f.QueryId(description="Cluster id.")
    type = f.Choice(OrgType, description="Organisation type.")
    size_class = f.Choice(SizeClass, description="EU size class.")
    critical = f.QueryBoolean(description="Critical or not.")
    status = f.Choice(OrgStatus, description="Status.")
    sort = f.Choice(SORTS, metadata={"default": "name"}, description="Sort order.")

