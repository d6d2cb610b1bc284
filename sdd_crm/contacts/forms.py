"""Forms for the contact-person screens; the rules live in ``services.clean_contact_data``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired

from .. import labels
from ..forms import ServiceErrorsMixin, max_length, options
from .services import MAX_LENGTHS

# The keys the service takes from this form; organisation_id comes from the page, not the form.
# ``source`` is not among them: the system records where the data came from (GDPR art. 14).
SERVICE_FIELDS = ("first_name", "last_name", "function", "email", "phone", "mobile",
                  "preferred_language", "lawful_basis", "consent_date", "objection",
                  "review_due", "notes")


_max = max_length


class ContactForm(ServiceErrorsMixin, FlaskForm):
    first_name = StringField(_l("Voornaam"), validators=[_max(MAX_LENGTHS["first_name"])],
                             render_kw={"autocomplete": "off"})
    last_name = StringField(_l("Achternaam"), validators=[
        InputRequired(message=_l("Vul de achternaam in.")), _max(MAX_LENGTHS["last_name"])],
        render_kw={"autocomplete": "off"})
    function = StringField(_l("Functie"), validators=[_max(MAX_LENGTHS["function"])])
    email = StringField(_l("E-mailadres"), validators=[_max(254)],
                        render_kw={"type": "email", "autocomplete": "off"})
    phone = StringField(_l("Telefoon"), validators=[_max(40)],
                        render_kw={"type": "tel", "autocomplete": "off"})
    mobile = StringField(_l("Mobiel"), validators=[_max(40)],
                         render_kw={"type": "tel", "autocomplete": "off"})
    preferred_language = SelectField(_l("Voorkeurstaal"),
                                     choices=options(labels.choices(labels.LANGUAGE)),
                                     default="nl", validate_choice=False)
    lawful_basis = SelectField(_l("Grondslag (AVG)"),
                               choices=options(labels.choices(labels.LAWFUL_BASIS)),
                               default="public_task", validate_choice=False)
    consent_date = StringField(_l("Datum van toestemming"), validators=[_max(10)],
                               render_kw={"type": "date"})
    objection = BooleanField(_l("Heeft bezwaar gemaakt tegen verwerking"))
    review_due = StringField(_l("Herbeoordelen uiterlijk op"), validators=[_max(10)],
                             render_kw={"type": "date"})
    notes = TextAreaField(_l("Notities"), validators=[_max(MAX_LENGTHS["notes"])],
                          render_kw={"rows": 4})
    version = HiddenField()

    def service_data(self) -> dict:
        return {key: self._fields[key].data for key in SERVICE_FIELDS}

    @classmethod
    def from_contact(cls, contact):
        data = {key: getattr(contact, key) for key in SERVICE_FIELDS}
        for key in ("consent_date", "review_due"):
            data[key] = data[key].isoformat() if data[key] else ""
        data = {k: ("" if v is None else v) for k, v in data.items()}
        data["objection"] = bool(contact.objection)
        data["version"] = str(contact.version)
        return cls(data=data)
