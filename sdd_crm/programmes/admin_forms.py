"""Forms of the programme admin screens. They check shape and length; the rules (unique code,
period, region, targets) live in ``admin_services.clean_programme_data``, whose Dutch messages
are put back on the matching fields by ``apply_programme_errors``."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (FieldList, Form, FormField, HiddenField, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import InputRequired

from ..extensions import db
from ..forms import CheckedTextMixin, ServiceErrorsMixin, apply_service_errors, max_length, options
from ..reference.models import Municipality
from .admin_services import MAX_CODE, MAX_DESCRIPTION, MAX_FUNDER, MAX_NAME, MAX_TARGET_DESCRIPTION
from .models import TargetKind

TARGET_ROWS = 3  # rows shown; blank rows are ignored
TARGET_KINDS = {TargetKind.SME_COUNT.value: _l("Aantal mkb-bedrijven")}


class TargetForm(CheckedTextMixin, Form):
    """One target row (a sub-form: no CSRF of its own)."""

    kind = SelectField(_l("Soort doel"), choices=options(TARGET_KINDS.items()),
                       default=TargetKind.SME_COUNT.value, validate_choice=False)
    value = StringField(_l("Aantal"), validators=[max_length(20)],
                        render_kw={"inputmode": "numeric"})
    description = StringField(_l("Omschrijving van het doel"),
                              validators=[max_length(MAX_TARGET_DESCRIPTION)])

    @property
    def is_blank(self) -> bool:
        return not (self.value.data or "").strip() and not (self.description.data or "").strip()


class ProgrammeForm(ServiceErrorsMixin, FlaskForm):
    code = StringField(_l("Code"), validators=[InputRequired(message=_l("Vul een code in, zoals scale.")),
                                               max_length(MAX_CODE)],
                       render_kw={"autocomplete": "off", "spellcheck": "false"})
    name = StringField(_l("Naam"), validators=[
        InputRequired(message=_l("Vul de naam van het programma in.")), max_length(MAX_NAME)])
    funder = StringField(_l("Financier"), validators=[max_length(MAX_FUNDER)])
    description = TextAreaField(_l("Omschrijving"), validators=[max_length(MAX_DESCRIPTION)],
                                render_kw={"rows": 4})
    start_date = StringField(_l("Begindatum"), validators=[max_length(40)], render_kw={"type": "date"})
    end_date = StringField(_l("Einddatum"), validators=[max_length(40)], render_kw={"type": "date"})
    municipalities = SelectMultipleField(_l("Regio (gemeenten)"), choices=[], validate_choice=False)
    targets = FieldList(FormField(TargetForm), min_entries=TARGET_ROWS, max_entries=TARGET_ROWS)
    version = HiddenField()

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        rows = db.session.execute(sa.select(Municipality.code, Municipality.name)
                                  .order_by(Municipality.name)).all()
        self.municipalities.choices = options((code, f"{name} ({code})") for code, name in rows)
        if editing:
            # The code is fixed once created (the API and links use it).
            self.code.validators = []

    @property
    def errors(self):
        errors = super().errors
        rows = [row.form.errors for row in self.targets if row.form.errors]
        messages = self.target_messages
        if rows or messages:
            errors["targets"] = [*messages, *rows]
        return errors

    @property
    def target_messages(self) -> list[str]:
        """Messages about the targets as a whole (not about one row)."""
        return [e for e in self.targets.errors if isinstance(e, str)]

    def fill(self, programme) -> None:
        """Show a programme's current values (GET of the edit page)."""
        for key in ("code", "name", "funder", "description"):
            getattr(self, key).data = getattr(programme, key) or ""
        for key in ("start_date", "end_date"):
            value = getattr(programme, key)
            getattr(self, key).data = value.isoformat() if value else ""
        self.municipalities.data = [m.code for m in programme.municipalities]
        targets = sorted(programme.targets, key=lambda t: t.id)
        for i, row in enumerate(self.targets):
            t = targets[i] if i < len(targets) else None
            row.form.kind.data = t.kind if t else TargetKind.SME_COUNT.value
            row.form.value.data = str(t.value) if t else ""
            row.form.description.data = (t.description or "") if t else ""
        self.version.data = str(programme.version)

    def filled_rows(self) -> list[int]:
        """Indexes of the target rows that were filled in."""
        return [i for i, row in enumerate(self.targets) if not row.form.is_blank]

    def service_data(self, *, editing: bool = False) -> dict:
        data = {key: getattr(self, key).data for key in
                ("name", "funder", "description", "start_date", "end_date")}
        if not editing:
            data["code"] = self.code.data
        data["municipalities"] = list(self.municipalities.data or [])
        data["targets"] = [{"kind": self.targets[i].form.kind.data,
                            "value": self.targets[i].form.value.data,
                            "description": self.targets[i].form.description.data}
                           for i in self.filled_rows()]
        return data


def apply_programme_errors(form: ProgrammeForm, errors: dict[str, str]) -> None:
    """Service messages onto the fields; ``targets.<n>.<field>`` onto the n-th filled row."""
    rows = form.filled_rows()
    rest = {}
    for key, message in errors.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "targets" and parts[1].isdigit() and int(parts[1]) < len(rows):
            field = getattr(form.targets[rows[int(parts[1])]].form, parts[2], None)
            if field is not None:
                field.errors = [*field.errors, message]
                continue
        if key == "targets":
            form.targets.errors = [*form.target_messages, message]
            continue
        rest[key] = message
    apply_service_errors(form, rest)
