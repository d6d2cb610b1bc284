"""The audit screen's filter: record type and number, actor, action, result, period, address."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional, Regexp, ValidationError

from ..audit.labels import ACTIONS, ENTITY_TYPES, RESULTS
from ..auth.models import User
from ..extensions import db
from ..forms import CheckedTextMixin, options
from ..validation import BAD_DATE, parse_date

def _date(_form, field) -> None:
    if field.data:
        try:
            field.parsed = parse_date(field.data)
        except ValueError:
            raise ValidationError(str(BAD_DATE)) from None


def _sorted(mapping: dict) -> list:
    return sorted(mapping.items(), key=lambda kv: str(kv[1]).lower())


class AuditFilterForm(CheckedTextMixin, FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    entity_type = SelectField(_l("Soort record"), validate_choice=False, choices=options(
        [("", _l("Alle soorten")), *_sorted(ENTITY_TYPES)]))
    entity_id = StringField(_l("Recordnummer"), validators=[Optional(), Length(max=40)])
    actor = SelectField(_l("Wie"), validate_choice=False, choices=[])
    action = SelectField(_l("Actie"), validate_choice=False, choices=options(
        [("", _l("Alle acties")), *_sorted(ACTIONS)]))
    result = SelectField(_l("Resultaat"), validate_choice=False, choices=options(
        [("", _l("Alle resultaten")), *RESULTS.items()]))
    date_from = StringField(_l("Vanaf datum"), validators=[Optional(), Length(max=10), _date],
                            render_kw={"type": "date"})
    date_to = StringField(_l("Tot en met datum"), validators=[Optional(), Length(max=10), _date],
                          render_kw={"type": "date"})
    origin = StringField(_l("Adres (IP)"), validators=[
        Optional(), Length(max=64),
        Regexp(r"^[0-9A-Fa-f:.]+$", message=_l("Vul een IP-adres in, zoals 192.0.2.10."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        users = db.session.execute(sa.select(User.id, User.name).order_by(User.name, User.id)).all()
        self.actor.choices = options([("", _l("Iedereen")), ("system", _l("Systeem (niemand)")),
                                      *((str(u.id), u.name) for u in users)])

    def filters(self) -> dict:
        """The valid filters, by name (an invalid one is left out and shown as an error)."""
        valid = self.validate()
        out = {}
        if self.entity_type.data in ENTITY_TYPES:
            out["entity_type"] = self.entity_type.data
        for name in ("entity_id", "origin"):
            field = getattr(self, name)
            if field.data and not field.errors:
                out[name] = field.data.strip()
        actor = self.actor.data or ""
        if actor == "system":
            out["actor_id"] = None
        elif actor.isdigit() and len(actor) < 10:
            out["actor_id"] = int(actor)
        if self.action.data and len(self.action.data) <= 32:
            out["action"] = self.action.data
        if self.result.data in RESULTS:
            out["result"] = self.result.data
        for name in ("date_from", "date_to"):
            field = getattr(self, name)
            if getattr(field, "parsed", None) and not field.errors:
                out[name] = field.parsed
        out["_valid"] = valid
        return out
