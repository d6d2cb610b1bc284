from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from ..forms import CheckedTextMixin


class LoginForm(CheckedTextMixin, FlaskForm):
    email = EmailField(_l("E-mailadres"), validators=[DataRequired(), Length(max=254)],
                       render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Wachtwoord"), validators=[DataRequired(), Length(max=1000)],
                             render_kw={"autocomplete": "current-password"})
