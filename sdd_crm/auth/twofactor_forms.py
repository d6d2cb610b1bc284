from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..forms import BaseForm


def _code_field(label):
    return StringField(label, validators=[DataRequired(), Length(max=32)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "text",
                                  "autocapitalize": "none", "spellcheck": "false"})


class CodeForm(BaseForm):
    """The second step of the login: a code from the app, or a recovery code."""

    code = _code_field(_l("Code"))


class ConfirmForm(BaseForm):
    """Enrolment: the first code from the app proves it holds the secret."""

    code = StringField(_l("Code uit de app"), validators=[DataRequired(), Length(max=32)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class DisableForm(BaseForm):
    password = PasswordField(_l("Wachtwoord"), validators=[DataRequired(), Length(max=1000)],
                             render_kw={"autocomplete": "current-password"})
    code = _code_field(_l("Code uit de app of herstelcode"))


class RenewCodesForm(BaseForm):
    code = StringField(_l("Code uit de app"), validators=[DataRequired(), Length(max=32)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})
