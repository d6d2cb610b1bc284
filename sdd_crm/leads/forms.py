"""Forms for the lead screens; the rules live in ``leads.services``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired

from .. import labels
from ..forms import CheckedTextMixin, ServiceErrorsMixin, apply_service_errors, max_length, options  # noqa: F401
from ..labels import LEAD_STATUS, LEAD_TYPE, SHARED_WITH

SHARE_FIELDS = ("type", "title", "description", "shared_with", "shared_with_user_id",
                "shared_with_municipality")


def _type_field():
    return SelectField(_l("Soort signaal"), choices=options(labels.choices(LEAD_TYPE)),
                       validate_choice=False,
                       validators=[InputRequired(message=_l("Kies het soort signaal."))])


class LeadTextMixin:
    type = _type_field()
    title = StringField(_l("Titel"), validators=[
        InputRequired(message=_l("Vul een korte titel in.")), max_length(200)])
    description = TextAreaField(_l("Toelichting"), validators=[max_length(5000)],
                                render_kw={"rows": 5})


class ShareLeadForm(ServiceErrorsMixin, LeadTextMixin, FlaskForm):
    """Share a lead about one organisation (the organisation comes from the page)."""

    shared_with = RadioField(_l("Delen met"), choices=options(labels.choices(SHARED_WITH)),
                             validate_choice=False, default="regional_team")
    shared_with_user_id = SelectField(_l("Collega"), choices=[], validate_choice=False)
    shared_with_municipality = SelectField(_l("Gemeente"), choices=[], validate_choice=False)

    def set_choices(self, users, municipalities, *, own_municipality: str | None = None,
                    reachable: set[str] | None = None) -> None:
        """The colleagues and municipalities to choose from. One's own municipality is left out
        and a municipality without a local account manager says so (``reachable``: the codes
        that have one); the service refuses both whatever is posted."""
        self.shared_with_user_id.choices = options(
            [("", _l("— kies een collega —"))]
            + [(str(u.id), f"{u.name} ({labels.label(labels.ROLE, u.role)}"
                + (f", {u.municipality.name})" if u.municipality else ")")) for u in users])
        nobody = str(_l("nog niemand ontvangt hier signalen"))
        self.shared_with_municipality.choices = options(
            [("", _l("— kies een gemeente —"))]
            + [(m.code, m.name if reachable is None or m.code in reachable
                else f"{m.name} ({nobody})")
               for m in municipalities if m.code != own_municipality])

    def service_data(self) -> dict:
        return {key: self._fields[key].data for key in SHARE_FIELDS}


class EditLeadForm(ServiceErrorsMixin, LeadTextMixin, FlaskForm):
    version = HiddenField()

    def service_data(self) -> dict:
        return {"type": self.type.data, "title": self.title.data,
                "description": self.description.data}


class CommentForm(ServiceErrorsMixin, FlaskForm):
    body = TextAreaField(_l("Reactie"), validators=[
        InputRequired(message=_l("Schrijf een reactie.")), max_length(5000)],
        render_kw={"rows": 3})


class StatusForm(ServiceErrorsMixin, FlaskForm):
    """One next step for the receiving side; ``reason`` is needed to decline."""

    status = HiddenField()
    version = HiddenField()
    reason = TextAreaField(_l("Reden van afwijzen"), validators=[max_length(1000)],
                           render_kw={"rows": 3})


class LeadFilterForm(CheckedTextMixin, FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(_l("Status"), validate_choice=False, choices=options(
        [("", _l("Alle statussen")), ("open", _l("Nog niet afgerond"))]
        + labels.choices(LEAD_STATUS)))
    type = SelectField(_l("Soort"), validate_choice=False, choices=options(
        [("", _l("Alle soorten"))] + labels.choices(LEAD_TYPE)))
