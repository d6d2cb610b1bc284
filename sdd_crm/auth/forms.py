from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, InputRequired, Length

from ..forms import CheckedTextMixin, ServiceErrorsMixin


class LoginForm(CheckedTextMixin, FlaskForm):
    email = EmailField(_l("E-mailadres"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Wachtwoord"), validators=[DataRequired(), Length(max=1000)],
                             render_kw={"autocomplete": "current-password"})


class PasswordChangeForm(ServiceErrorsMixin, FlaskForm):
    """Self-service password change on /account; the policy is checked by the service."""

    current_password = PasswordField(
        _l("Huidig wachtwoord"), validators=[InputRequired(message=_l("Vul uw huidige wachtwoord in.")),
                                             Length(max=1000)],
        render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(
        _l("Nieuw wachtwoord"), validators=[InputRequired(message=_l("Vul een nieuw wachtwoord in.")),
                                            Length(max=1000)],
        render_kw={"autocomplete": "new-password"})
    new_password_again = PasswordField(
        _l("Nieuw wachtwoord (nogmaals)"),
        validators=[InputRequired(message=_l("Vul het nieuwe wachtwoord nog een keer in.")),
                    Length(max=1000)],
        render_kw={"autocomplete": "new-password"})
