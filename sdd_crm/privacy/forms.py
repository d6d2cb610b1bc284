"""Forms of the GDPR screens (each only a CSRF token and a confirmation)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import InputRequired

from ..forms import CheckedTextMixin


class EraseForm(CheckedTextMixin, FlaskForm):
    confirm = BooleanField(
        _l("Ik begrijp dat anonimiseren niet ongedaan kan worden gemaakt."),
        validators=[InputRequired(message=_l("Bevestig dat u deze persoon wilt anonimiseren."))])


class RetentionForm(CheckedTextMixin, FlaskForm):
    confirm = BooleanField(
        _l("Ik heb gecontroleerd dat deze personen niet meer nodig zijn; anonimiseren kan niet "
           "ongedaan worden gemaakt."),
        validators=[InputRequired(message=_l("Bevestig dat u deze personen wilt anonimiseren."))])
