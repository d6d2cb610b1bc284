"""Forms for clusters, value chains, stages, roles, supply links and cluster membership.

The forms check shape and length; the rules (unique names, a stage of this chain, no link to
itself, no duplicate link) live in the services, whose Dutch messages are put back onto the
fields with ``apply_service_errors``.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired

from .. import labels
from ..forms import ServiceErrorsMixin, apply_service_errors, max_length, options  # noqa: F401  (re-exported)
from .network_services import MAX_SUPPLIED
from .services import MAX_DESCRIPTION, MAX_NAME

# Service keys → form fields, where they differ.
LINK_FIELD_MAP = {"supplier_id": "supplier", "customer_id": "customer"}
ROLE_FIELD_MAP = {"organisation_id": "organisation"}
ORG_SEARCH = {"autocomplete": "off", "list": "organisation-options", "data-organisation-search": "1"}


def _blank_first(label, pairs):
    return options([("", label), *pairs])


class ClusterForm(ServiceErrorsMixin, FlaskForm):
    name = StringField(_l("Naam"), validators=[
        InputRequired(message=_l("Vul de naam van het cluster in.")), max_length(MAX_NAME)])
    description = TextAreaField(_l("Omschrijving"), validators=[max_length(MAX_DESCRIPTION)],
                                render_kw={"rows": 3})
    version = HiddenField()

    def service_data(self) -> dict:
        return {"name": self.name.data, "description": self.description.data}


class ValueChainForm(ServiceErrorsMixin, FlaskForm):
    name = StringField(_l("Naam"), validators=[
        InputRequired(message=_l("Vul de naam van de waardeketen in.")), max_length(MAX_NAME)])
    cluster_id = SelectField(_l("Cluster"), choices=[], validate_choice=False,
                             validators=[InputRequired(message=_l("Kies een bestaand cluster."))])
    description = TextAreaField(_l("Omschrijving"), validators=[max_length(MAX_DESCRIPTION)],
                                render_kw={"rows": 3})
    stages = TextAreaField(_l("Fasen, in volgorde (één per regel)"), validators=[max_length(4000)],
                           render_kw={"rows": 5})
    version = HiddenField()

    def set_clusters(self, clusters) -> None:
        self.cluster_id.choices = _blank_first(_l("— kies een cluster —"),
                                               [(str(c.id), c.name) for c in clusters])

    def service_data(self, *, with_stages: bool) -> dict:
        data = {"name": self.name.data, "cluster_id": self.cluster_id.data,
                "description": self.description.data}
        if with_stages:
            data["stages"] = self.stages.data or ""
        return data


class StageForm(ServiceErrorsMixin, FlaskForm):
    name = StringField(_l("Naam van de fase"), validators=[
        InputRequired(message=_l("Vul de naam van de fase in.")), max_length(MAX_NAME)])


class ChainRoleForm(ServiceErrorsMixin, FlaskForm):
    """A role of an organisation in a chain at a stage; the stage list holds every stage of the
    chains offered (labelled "keten › fase"), and the service checks it belongs to the chain."""

    # DataRequired: a box of only spaces names no organisation either.
    organisation = StringField(_l("Organisatie"), render_kw=ORG_SEARCH, validators=[
        DataRequired(message=_l("Kies de organisatie.")), max_length(300)])
    value_chain_id = SelectField(_l("Waardeketen"), choices=[], validate_choice=False,
                                 validators=[InputRequired(message=_l("Kies een bestaande waardeketen."))])
    stage_id = SelectField(_l("Fase"), choices=[], validate_choice=False)
    role = SelectField(_l("Rol in de keten"), validate_choice=False,
                       choices=_blank_first(_l("— kies een rol —"), labels.choices(labels.CHAIN_ROLE)),
                       validators=[InputRequired(message=_l("Kies een geldige rol in de keten."))])

    def set_chains(self, chains) -> None:
        self.value_chain_id.choices = _blank_first(
            _l("— kies een waardeketen —"), [(str(c.id), c.name) for c in chains])
        stages = [(str(s.id), f"{c.name} › {s.position}. {s.name}")
                  for c in chains for s in c.stages]
        self.stage_id.choices = _blank_first(_l("— kies een fase —"), stages)

    def service_data(self, organisation_id) -> dict:
        return {"organisation_id": organisation_id, "value_chain_id": self.value_chain_id.data,
                "stage_id": self.stage_id.data, "role": self.role.data}


class SupplyLinkForm(ServiceErrorsMixin, FlaskForm):
    supplier = StringField(_l("Leverancier"), render_kw=ORG_SEARCH, validators=[
        DataRequired(message=_l("Kies de leverancier: een bestaande organisatie.")), max_length(300)])
    customer = StringField(_l("Afnemer"), render_kw=ORG_SEARCH, validators=[
        DataRequired(message=_l("Kies de afnemer: een bestaande organisatie.")), max_length(300)])
    value_chain_id = SelectField(_l("Waardeketen"), choices=[], validate_choice=False)
    supplied = StringField(_l("Wat wordt er geleverd?"), validators=[max_length(MAX_SUPPLIED)])
    sole_source = BooleanField(_l("Enige leverancier: de afnemer heeft geen alternatief"))
    version = HiddenField()

    def set_chains(self, chains) -> None:
        self.value_chain_id.choices = _blank_first(
            _l("— geen (buiten een waardeketen) —"), [(str(c.id), c.name) for c in chains])

    def service_data(self, supplier_id, customer_id) -> dict:
        return {"supplier_id": supplier_id, "customer_id": customer_id,
                "value_chain_id": self.value_chain_id.data, "supplied": self.supplied.data,
                "sole_source": bool(self.sole_source.data)}


class MembershipForm(ServiceErrorsMixin, FlaskForm):
    cluster_id = SelectField(_l("Cluster"), choices=[], validate_choice=False,
                             validators=[InputRequired(message=_l("Kies een bestaand cluster."))])
    primary = BooleanField(_l("Primair cluster van deze organisatie"))

    def set_clusters(self, clusters) -> None:
        self.cluster_id.choices = _blank_first(_l("— kies een cluster —"),
                                               [(str(c.id), c.name) for c in clusters])


class ConfirmForm(ServiceErrorsMixin, FlaskForm):
    """A post-only action (delete, move, set primary) with the version the user saw."""

    version = HiddenField()
    back = HiddenField()
    direction = HiddenField()
    cluster_id = HiddenField()
