"""Forms for the organisation screens.

The forms only check shape and length; the business rules (KvK, postcode, phone, municipality
from the place, uniqueness) live in ``services.clean_organisation_data`` and their messages are
put back onto the matching fields with ``apply_service_errors``.
"""

from __future__ import annotations

import decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired

from .. import labels
from ..forms import CheckedTextMixin, TOO_LONG, ServiceErrorsMixin, apply_service_errors, max_length, options  # noqa: F401
from ..extensions import db
from .models import Organisation
from .services import EDITABLE_FIELDS, MAX_LENGTHS

_max = max_length


def _blank_first(label, choices):
    return options([("", label), *choices])


class OrganisationForm(ServiceErrorsMixin, FlaskForm):
    """Create and edit an organisation; field names are the service's input keys."""

    name = StringField(_l("Naam"), validators=[
        InputRequired(message=_l("Vul de naam van de organisatie in.")), _max(MAX_LENGTHS["name"])],
        render_kw={"autocomplete": "organization"})
    org_type = SelectField(_l("Type organisatie"), choices=options(labels.choices(labels.ORG_TYPE)),
                           validate_choice=False, default="company",
                           validators=[InputRequired(message=_l("Kies een type organisatie."))])
    kvk_number = StringField(_l("KvK-nummer"), validators=[_max(20)],
                             render_kw={"inputmode": "numeric"})
    establishment_number = StringField(_l("Vestigingsnummer (hoofdvestiging)"),
                                       validators=[_max(20)], render_kw={"inputmode": "numeric"})
    legal_form = StringField(_l("Rechtsvorm"), validators=[_max(MAX_LENGTHS["legal_form"])])
    sbi_codes = StringField(_l("SBI-codes"), validators=[_max(300)])
    employees = StringField(_l("Werkzame personen"), validators=[_max(20)],
                            render_kw={"inputmode": "numeric"})
    annual_turnover_eur = StringField(_l("Jaaromzet (EUR)"), validators=[_max(30)],
                                      render_kw={"inputmode": "decimal"})
    balance_sheet_total_eur = StringField(_l("Balanstotaal (EUR)"), validators=[_max(30)],
                                          render_kw={"inputmode": "decimal"})
    street = StringField(_l("Straat en huisnummer"), validators=[_max(MAX_LENGTHS["street"])],
                         render_kw={"autocomplete": "street-address"})
    postcode = StringField(_l("Postcode"), validators=[_max(20)],
                           render_kw={"autocomplete": "postal-code"})
    city = StringField(_l("Plaats"), validators=[_max(MAX_LENGTHS["city"])],
                       render_kw={"autocomplete": "address-level2"})
    municipality = SelectField(_l("Gemeente"), choices=[], validate_choice=False)
    website = StringField(_l("Website"), validators=[_max(MAX_LENGTHS["website"])],
                          render_kw={"inputmode": "url"})
    phone = StringField(_l("Telefoon"), validators=[_max(40)],
                        render_kw={"type": "tel", "autocomplete": "tel"})
    email = StringField(_l("E-mailadres"), validators=[_max(MAX_LENGTHS["email"])],
                        render_kw={"type": "email", "autocomplete": "email"})
    description = TextAreaField(_l("Omschrijving"),
                                validators=[_max(MAX_LENGTHS["description"])],
                                render_kw={"rows": 4})
    parent_id = StringField(_l("Moederorganisatie"), validators=[_max(20)],
                            render_kw={"inputmode": "numeric"})
    status = SelectField(_l("Status"), choices=options(labels.choices(labels.ORG_STATUS)),
                         validate_choice=False, default="active",
                         validators=[InputRequired(message=_l("Kies een status."))])
    tags = StringField(_l("Labels"), validators=[_max(2000)])
    version = HiddenField()

    def set_municipality_choices(self, municipalities) -> None:
        self.municipality.choices = _blank_first(
            _l("— volgt uit de plaats —"), [(m.code, m.name) for m in municipalities])

    def service_data(self) -> dict:
        """The service's input: exactly the editable keys, as the user typed them (the parent
        by its KvK number, which people know, turned into the record it names)."""
        data = {key: self._fields[key].data for key in EDITABLE_FIELDS}
        data["parent_id"] = _parent_ref(data.get("parent_id"))
        return data

    @classmethod
    def from_organisation(cls, org):
        data = {
            "name": org.name, "org_type": org.org_type, "kvk_number": org.kvk_number,
            "legal_form": org.legal_form, "street": org.street, "postcode": org.postcode,
            "city": org.city, "municipality": org.municipality_code or "",
            "website": org.website, "phone": org.phone, "email": org.email,
            "description": org.description, "status": org.status,
            "parent_id": _parent_text(org),
            "employees": str(org.employees) if org.employees is not None else "",
            "annual_turnover_eur": _amount_text(org.annual_turnover_eur),
            "balance_sheet_total_eur": _amount_text(org.balance_sheet_total_eur),
            "sbi_codes": ", ".join(s.code for s in org.sbi_codes),
            "tags": ", ".join(t.name for t in org.tags),
            "establishment_number": next(
                (e.establishment_number for e in org.establishments
                 if e.is_main and e.deleted_at is None and e.establishment_number), ""),
            "version": str(org.version),
        }
        return cls(data={k: ("" if v is None else v) for k, v in data.items()})


def _parent_text(org) -> str:
    """The parent as the form shows it: its KvK number (its number when it has none)."""
    if not org.parent_id:
        return ""
    parent = db.session.get(Organisation, org.parent_id)
    return (parent.kvk_number if parent is not None and parent.kvk_number
            else str(org.parent_id))


def _parent_ref(text):
    """The organisation a typed parent names: by KvK number (8 digits) first, else taken as
    the organisation's number (older links and organisations without a KvK number); the
    service checks that it exists and is not the organisation itself."""
    value = str(text or "").strip().replace(" ", "")
    if len(value) == 8 and value.isdigit():
        found = db.session.scalar(sa.select(Organisation.id).where(
            Organisation.kvk_number == value, Organisation.deleted_at.is_(None),
            Organisation.merged_into_id.is_(None)).limit(1))
        if found is not None:
            return str(found)
    return value


def _amount_text(value: decimal.Decimal | None) -> str:
    """An amount as a Dutch user types it (``1250000,50``); the service reads it back."""
    if value is None:
        return ""
    return format(value, "f").replace(".", ",")


class VersionForm(ServiceErrorsMixin, FlaskForm):
    """A confirm-and-post form (delete) carrying the version the user saw."""

    version = HiddenField()


class AccountTeamForm(ServiceErrorsMixin, FlaskForm):
    user_id = SelectField(_l("Accountmanager"), choices=[], validate_choice=False,
                          validators=[InputRequired(message=_l("Kies een accountmanager."))])
    team_role = SelectField(_l("Rol in het accountteam"),
                            choices=options(labels.choices(labels.TEAM_ROLE)),
                            validate_choice=False, default="local",
                            validators=[InputRequired(message=_l("Kies een rol."))])



class JoinRequestForm(ServiceErrorsMixin, FlaskForm):
    """Ask to join an account team (organisations.join_requests): the role and a short reason."""

    team_role = SelectField(_l("Gewenste rol"), choices=options(labels.choices(labels.TEAM_ROLE)),
                            validate_choice=False, default="local")
    reason = TextAreaField(_l("Waarom wilt u in het accountteam?"), validators=[
        InputRequired(message=_l("Schrijf kort waarom u in het accountteam wilt.")), _max(1000)])


class JoinDecisionForm(ServiceErrorsMixin, FlaskForm):
    """Decline a request to join, with an optional reason for the requester."""

    decision_reason = TextAreaField(_l("Reden (optioneel)"), validators=[_max(1000)])

class OrganisationFilterForm(CheckedTextMixin, Form):
    """The GET filter form of the list; field names are the query-string keys."""

    q = StringField(_l("Zoeken op naam, KvK-nummer of plaats"), validators=[_max(200)],
                    render_kw={"type": "search"})
    municipality = SelectField(_l("Gemeente"), choices=[], validate_choice=False)
    cluster = SelectField(_l("Cluster"), choices=[], validate_choice=False)
    type = SelectField(_l("Type"), validate_choice=False,
                       choices=_blank_first(_l("Alle typen"), labels.choices(labels.ORG_TYPE)))
    size = SelectField(_l("Grootteklasse"), validate_choice=False, choices=_blank_first(
        _l("Alle grootteklassen"), labels.choices(labels.SIZE_CLASS)))
    critical = SelectField(_l("Kritisch"), validate_choice=False, choices=options([
        ("", _l("Alle")), ("1", _l("Alleen kritisch")), ("0", _l("Niet kritisch"))]))
    status = SelectField(_l("Status"), validate_choice=False, choices=_blank_first(
        _l("Alle statussen"), labels.choices(labels.ORG_STATUS)))
    sort = SelectField(_l("Sorteren op"), validate_choice=False, choices=options([
        ("name", _l("Naam (A–Z)")), ("-name", _l("Naam (Z–A)")), ("city", _l("Plaats")),
        ("employees", _l("Meeste werkzame personen")),
        ("-employees", _l("Minste werkzame personen")), ("updated", _l("Laatst gewijzigd")),
    ]))

    def set_choices(self, municipalities, clusters) -> None:
        self.municipality.choices = _blank_first(
            _l("Alle gemeenten"), [(m.code, m.name) for m in municipalities])
        self.cluster.choices = _blank_first(
            _l("Alle clusters"), [(str(c.id), c.name) for c in clusters])
