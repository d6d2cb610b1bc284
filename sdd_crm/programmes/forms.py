"""Forms for the participation screens.

Forms check shape and length; the pipeline rules (allowed moves, who may own, once per
programme) live in ``programmes.services`` and their messages come back onto the fields with
``apply_service_errors``.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired

from .. import labels
from ..forms import CheckedTextMixin, ServiceErrorsMixin, apply_service_errors, max_length, options  # noqa: F401
from .labels import STATUS_ORDER
from .services import MAX_NOTES

ORG_SEARCH = {"autocomplete": "off", "list": "organisation-options",
              "data-organisation-search": "1"}
# Service keys → form fields.
FIELD_MAP = {"organisation_id": "organisation", "owner_id": "owner_id", "status": "status",
             "notes": "notes", "interaction_id": "interaction_id"}


def status_choices(first=None):
    pairs = [(s, labels.PARTICIPATION_STATUS[s]) for s in STATUS_ORDER]
    return options(([first] if first else []) + pairs)


def owner_choices(users, blank_label):
    return options([("", blank_label)] + [(str(u.id), u.name) for u in users])


class PipelineFilterForm(CheckedTextMixin, Form):
    """The GET filter form of a programme's pipeline; field names are the query-string keys."""

    q = StringField(_l("Zoeken op naam of KvK-nummer"), validators=[max_length(200)],
                    render_kw={"type": "search"})
    status = SelectField(_l("Status"), validate_choice=False,
                         choices=status_choices(("", _l("Alle statussen"))))
    municipality = SelectField(_l("Gemeente"), choices=[], validate_choice=False)
    owner_id = SelectField(_l("Eigenaar"), choices=[], validate_choice=False)
    cluster = SelectField(_l("Cluster"), choices=[], validate_choice=False)
    counted = SelectField(_l("Telt mee voor het doel"), validate_choice=False, choices=options([
        ("", _l("Alle")), ("1", _l("Telt mee")), ("0", _l("Telt niet mee"))]))

    def set_choices(self, municipalities, owners, clusters) -> None:
        self.municipality.choices = options(
            [("", _l("Alle gemeenten"))] + [(m.code, m.name) for m in municipalities])
        self.owner_id.choices = options([("", _l("Alle eigenaren"))]
                                        + [(str(u.id), u.name) for u in owners])
        self.cluster.choices = options(
            [("", _l("Alle clusters"))] + [(str(c.id), c.name) for c in clusters])


class AddParticipationForm(ServiceErrorsMixin, FlaskForm):
    """Put one organisation in a programme's pipeline."""

    programme = SelectField(_l("Programma"), choices=[], validate_choice=False,
                            validators=[InputRequired(message=_l("Kies een programma."))])
    organisation = StringField(_l("Organisatie"), render_kw=ORG_SEARCH, validators=[
        InputRequired(message=_l("Kies een organisatie.")), max_length(300)])
    status = SelectField(_l("Status"), choices=status_choices(), default="identified",
                         validate_choice=False)
    owner_id = SelectField(_l("Eigenaar (business developer)"), choices=[],
                           validate_choice=False)
    notes = TextAreaField(_l("Notities"), validators=[max_length(MAX_NOTES)],
                          render_kw={"rows": 3})

    def set_choices(self, programmes, owners) -> None:
        self.programme.choices = options([(p.code, p.name) for p in programmes])
        self.owner_id.choices = owner_choices(owners, _l("— ikzelf —"))


class QuickAddForm(ServiceErrorsMixin, FlaskForm):
    """The small "add to programme" form on an organisation's page."""

    programme = SelectField(_l("Programma"), choices=[], validate_choice=False)
    status = SelectField(_l("Beginstatus"), choices=status_choices(), default="identified",
                         validate_choice=False)


class StatusForm(ServiceErrorsMixin, FlaskForm):
    """One step along the pipeline, from a button on the participation page."""

    status = SelectField(_l("Nieuwe status"), choices=status_choices(), validate_choice=False,
                         validators=[InputRequired(message=_l("Kies een status."))])
    version = HiddenField()


class EditParticipationForm(ServiceErrorsMixin, FlaskForm):
    owner_id = SelectField(_l("Eigenaar (business developer)"), choices=[],
                           validate_choice=False)
    notes = TextAreaField(_l("Notities"), validators=[max_length(MAX_NOTES)],
                          render_kw={"rows": 5})
    version = HiddenField()

    def set_owner_choices(self, owners) -> None:
        self.owner_id.choices = owner_choices(owners, _l("— geen eigenaar —"))


class LinkInteractionForm(ServiceErrorsMixin, FlaskForm):
    interaction_id = SelectField(_l("Contactmoment"), choices=[], validate_choice=False,
                                 validators=[InputRequired(message=_l("Kies een contactmoment."))])


class MoveForm(CheckedTextMixin, FlaskForm):
    """Moving several participations at once: only the CSRF check; the ticked ids, their
    versions and the target status are read from the request and checked one by one."""


class VersionForm(ServiceErrorsMixin, FlaskForm):
    """A confirm-and-post form (delete) carrying the version the user saw."""

    version = HiddenField()


class BulkAddForm(ServiceErrorsMixin, FlaskForm):
    """Bulk add from the organisation list; the organisations come from the filter in the URL,
    re-evaluated on the server, never from ids the browser sends."""

    programme = SelectField(_l("Programma"), choices=[], validate_choice=False,
                            validators=[InputRequired(message=_l("Kies een programma."))])
    start_status = SelectField(_l("Beginstatus"), choices=status_choices(), default="identified",
                               validate_choice=False)
    sme_only = BooleanField(_l("Alleen mkb (EU-definitie)"), default=True)

    def set_programmes(self, programmes) -> None:
        self.programme.choices = options([(p.code, p.name) for p in programmes])
