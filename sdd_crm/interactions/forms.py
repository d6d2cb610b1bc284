"""Forms for contact moments: the one form (a visit is one of its kinds), the list filters.

Forms check shape and length; the rules (no future date, contacts of this organisation, known
topics, active colleagues) live in ``services.clean_interaction_data``, whose Dutch messages are
put back onto the fields with ``apply_service_errors``.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired

from .. import labels
from ..forms import CheckedTextMixin, ServiceErrorsMixin, max_length, options
from .queries import local_today
from .services import NOTES_LIMIT

FOLLOW_UP_ROWS = 3  # at most this many follow-ups are read from one submit; one row is shown
# Service keys → form fields, for apply_service_errors.
FIELD_MAP = {"organisation_id": "organisation", "contact_ids": "contact_ids",
             "user_ids": "user_ids", "follow_ups": "follow_ups"}


def _today() -> str:
    return local_today().isoformat()


class FollowUpForm(CheckedTextMixin, Form):
    """One follow-up task typed with the contact moment (a sub-form: no CSRF of its own)."""

    title = StringField(_l("Wat moet er gebeuren?"), validators=[max_length(200)])
    due_date = StringField(_l("Uiterlijk op"), validators=[max_length(40)],
                           render_kw={"type": "date"})
    assignee_id = SelectField(_l("Door wie?"), choices=[], validate_choice=False)


class _InteractionFields(ServiceErrorsMixin, FlaskForm):
    type = SelectField(_l("Soort contact"), choices=options(labels.choices(labels.INTERACTION_TYPE)),
                       default="visit", validate_choice=False,
                       validators=[InputRequired(message=_l("Kies het soort contact."))])
    date = StringField(_l("Datum"), default=_today, render_kw={"type": "date"},
                       validators=[InputRequired(message=_l("Vul de datum in.")), max_length(40)])
    organisation = StringField(
        _l("Organisatie"), render_kw={"autocomplete": "off", "list": "organisation-options",
                                      "data-organisation-search": "1"},
        validators=[InputRequired(message=_l("Kies de organisatie.")), max_length(300)])
    subject = StringField(_l("Onderwerp"), validators=[
        InputRequired(message=_l("Vul het onderwerp in.")), max_length(200)])
    notes = TextAreaField(_l("Verslag"), validators=[max_length(NOTES_LIMIT)],
                          render_kw={"rows": 6})
    topics = SelectMultipleField(_l("Thema's"), validate_choice=False,
                                 choices=options(labels.choices(labels.TOPIC)))
    confidential = BooleanField(_l("Vertrouwelijk: alleen zichtbaar voor mij, het accountteam "
                                   "en beheerders"))

    def set_assignees(self, users, default_id: int) -> None:
        choices = options([(str(u.id), u.name) for u in users])
        for row in self.follow_ups:
            row.assignee_id.choices = choices
            if not row.assignee_id.data:
                row.assignee_id.data = str(default_id)

    def service_data(self, organisation_id: int | None) -> dict:
        data = {
            "organisation_id": organisation_id, "type": self.type.data, "date": self.date.data,
            "subject": self.subject.data, "notes": self.notes.data,
            "confidential": bool(self.confidential.data), "topics": list(self.topics.data or []),
            "follow_ups": [
                {"title": row.title.data, "due_date": row.due_date.data,
                 "assignee_id": row.assignee_id.data}
                for row in self.follow_ups if (row.title.data or "").strip()],
        }
        if "contact_ids" in self._fields:
            data["contact_ids"] = list(self.contact_ids.data or [])
            data["user_ids"] = list(self.user_ids.data or [])
        return data


class InteractionForm(_InteractionFields):
    """The one form for logging a contact moment of any kind (issue 14 point 4): who was there
    (contacts of the organisation and colleagues) and a follow-up task. A visit is a kind."""

    contact_ids = SelectMultipleField(_l("Contactpersonen aanwezig"), choices=[],
                                      validate_choice=False)
    user_ids = SelectMultipleField(_l("Collega's aanwezig"), choices=[], validate_choice=False)
    follow_ups = FieldList(FormField(FollowUpForm), min_entries=1, max_entries=FOLLOW_UP_ROWS)
    version = HiddenField()

    def set_people(self, contacts, users) -> None:
        self.contact_ids.choices = options([(str(c.id), c.full_name + (f", {c.function}"
                                                                        if c.function else ""))
                                            for c in contacts])
        self.user_ids.choices = options([(str(u.id), u.name) for u in users])

    @classmethod
    def from_interaction(cls, interaction, organisation_label: str):
        return cls(data={
            "type": interaction.type, "date": interaction.date.isoformat(),
            "organisation": organisation_label, "subject": interaction.subject,
            "notes": interaction.notes or "", "confidential": interaction.confidential,
            "topics": [t.topic for t in interaction.topics],
            "contact_ids": [str(c.id) for c in interaction.contacts],
            "user_ids": [str(u.id) for u in interaction.users],
            "version": str(interaction.version),
        })


class InteractionFilterForm(CheckedTextMixin, Form):
    """The GET filter form of the list; field names are the query-string keys."""

    q = StringField(_l("Onderwerp bevat"), validators=[max_length(200)],
                    render_kw={"type": "search"})
    organisation = StringField(_l("Organisatie (naam of KvK-nummer)"), validators=[max_length(200)],
                               render_kw={"type": "search"})
    type = SelectField(_l("Soort contact"), validate_choice=False, choices=options(
        [("", _l("Alle soorten")), *labels.choices(labels.INTERACTION_TYPE)]))
    topic = SelectField(_l("Thema"), validate_choice=False, choices=options(
        [("", _l("Alle thema's")), *labels.choices(labels.TOPIC)]))
    author = SelectField(_l("Vastgelegd door"), validate_choice=False, choices=options(
        [("", _l("Iedereen")), ("me", _l("Mij"))]))
    date_from = StringField(_l("Vanaf"), validators=[max_length(40)], render_kw={"type": "date"})
    date_to = StringField(_l("Tot en met"), validators=[max_length(40)], render_kw={"type": "date"})
    confidential = SelectField(_l("Vertrouwelijk"), validate_choice=False, choices=options(
        [("", _l("Alle")), ("1", _l("Alleen vertrouwelijk")), ("0", _l("Niet vertrouwelijk"))]))
