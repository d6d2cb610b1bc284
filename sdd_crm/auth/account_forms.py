"""Forms of the account page (language, notification preferences) and of "forgot password"."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, SelectField
from wtforms.validators import DataRequired, InputRequired, Length

from .. import labels
from ..forms import ServiceErrorsMixin, options
from .forms import PasswordChangeForm


class LanguageForm(ServiceErrorsMixin, FlaskForm):
    locale = SelectField(_l("Taal van de schermen en e-mails"),
                         validators=[InputRequired(message=_l("Kies een taal."))])

    def __init__(self, languages, *args, **kwargs):
        super().__init__(*args, prefix="language", **kwargs)
        self.locale.choices = options((code, labels.label(labels.LANGUAGE, code))
                                      for code in languages)


class NotificationsForm(ServiceErrorsMixin, FlaskForm):
    in_app = BooleanField(_l("In de app (met het aantal ongelezen meldingen bovenaan elke "
                             "pagina)"))
    email = BooleanField(_l("Per e-mail, bij elke melding"))
    digest = BooleanField(_l("Eén e-mail per dag met de meldingen van de vorige dag"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="notify", **kwargs)


class ForgotPasswordForm(ServiceErrorsMixin, FlaskForm):
    email = EmailField(_l("E-mailadres"),
                       validators=[DataRequired(message=_l("Vul uw e-mailadres in.")),
                                   Length(max=254)],
                       render_kw={"autocomplete": "username"})


class ResetPasswordForm(ServiceErrorsMixin, FlaskForm):
    """The new password twice, declared once with the account page's password change."""

    new_password = PasswordChangeForm.new_password
    new_password_again = PasswordChangeForm.new_password_again
