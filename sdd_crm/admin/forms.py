"""Forms of the admin screens: users and API tokens (the audit-log filter: ``audit_forms``).

The forms check shape and length; the user rules (unique e-mail, municipality for local
account managers, password length) live in ``auth.services.validate_user_fields`` and their
messages are put back on the fields with ``apply_service_errors``.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import Email, InputRequired, Length, Optional, ValidationError

from .. import labels
from ..forms import CheckedTextMixin, ServiceErrorsMixin, apply_service_errors, max_length, options  # noqa: F401
from ..auth.passwords import MIN_PASSWORD_LENGTH
from ..extensions import db
from ..reference.models import Municipality

PASSWORD_TOO_SHORT = _l("Het wachtwoord moet minstens %(n)s tekens lang zijn.", n=MIN_PASSWORD_LENGTH)


def municipality_options() -> list:
    rows = db.session.execute(sa.select(Municipality.code, Municipality.name)
                              .order_by(Municipality.name)).all()
    return options([("", _l("Geen (regionaal)")), *rows])


class _UserFields(ServiceErrorsMixin, FlaskForm):
    name = StringField(_l("Naam"), validators=[
        InputRequired(message=_l("Vul een naam in.")),
        max_length(200)],
        render_kw={"autocomplete": "off"})
    role = SelectField(_l("Rol"), choices=options(labels.choices(labels.ROLE)),
                       validators=[InputRequired(message=_l("Kies een rol."))])
    municipality = SelectField(_l("Gemeente"), choices=[], validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.municipality.choices = municipality_options()

    def validate_municipality(self, field):
        if field.data and field.data not in {c.value if hasattr(c, "value") else c[0]
                                             for c in self.municipality.choices}:
            raise ValidationError(_l("Onbekende gemeente."))
        if not field.data and self.role.data == "local_account_manager":
            raise ValidationError(_l("Een lokaal accountmanager hoort bij een gemeente."))


class UserCreateForm(_UserFields):
    email = EmailField(_l("E-mailadres"), validators=[
        InputRequired(message=_l("Vul een e-mailadres in.")),
        max_length(254),
        Email(message=_l("Vul een geldig e-mailadres in."), check_deliverability=False)],
        render_kw={"autocomplete": "off"})
    password = PasswordField(_l("Wachtwoord"), validators=[
        InputRequired(message=_l("Vul een wachtwoord in.")),
        Length(min=MIN_PASSWORD_LENGTH, max=1000, message=PASSWORD_TOO_SHORT)],
        render_kw={"autocomplete": "new-password"})


class UserEditForm(_UserFields):
    active = BooleanField(_l("Actief (kan inloggen en de API gebruiken)"))
    password = PasswordField(_l("Nieuw wachtwoord"), validators=[
        Optional(), Length(min=MIN_PASSWORD_LENGTH, max=1000, message=PASSWORD_TOO_SHORT)],
        render_kw={"autocomplete": "new-password"})
    version = HiddenField()


class TokenForm(ServiceErrorsMixin, FlaskForm):
    name = StringField(_l("Naam van het token"), default="api", validators=[
        InputRequired(message=_l("Geef het token een naam.")),
        Length(max=100, message=_l("Hoogstens %(max)d tekens."))])
