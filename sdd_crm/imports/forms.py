"""Forms for the import screens: the upload, the column mapping and the one-button actions.

The mapping form is built per file: one select per column of the uploaded table. The forms
check shape (a known target field); the rules of a mapping (each field once, the required
fields) live in ``mapping.validate_mapping`` and come back onto the selects.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, RadioField, SelectField
from wtforms.validators import InputRequired

from ..forms import CheckedTextMixin, ServiceErrorsMixin, apply_service_errors, options  # noqa: F401

ALLOWED_EXTENSIONS = ("csv", "xlsx")
KIND_LABELS = {"organisations": _l("Organisaties"), "contacts": _l("Contactpersonen")}


class UploadForm(ServiceErrorsMixin, FlaskForm):
    kind = RadioField(_l("Wat wilt u importeren?"), choices=options(KIND_LABELS.items()),
                      default="organisations", validate_choice=True,
                      validators=[InputRequired(message=_l("Kies wat u wilt importeren."))])
    file = FileField(_l("Bestand"), validators=[
        FileRequired(message=_l("Kies een bestand om te uploaden.")),
        FileAllowed(ALLOWED_EXTENSIONS,
                    message=_l("Dit type bestand kan niet worden geïmporteerd. Kies een "
                               "CSV-bestand (.csv) of een Excel-bestand (.xlsx).")),
    ])


class ActionForm(CheckedTextMixin, FlaskForm):
    """A POST button (merge, create, run): only the CSRF token."""


class MappingFormBase(ServiceErrorsMixin, FlaskForm):
    save_mapping = BooleanField(
        _l("Deze kolomindeling bewaren voor bestanden met dezelfde kolommen"))

    headers: list[str] = []

    def column_fields(self):
        return [self._fields[f"col_{i}"] for i in range(len(self.headers))]

    def mapping(self) -> dict[str, str]:
        """header → field ("" for a column that is not imported)."""
        return {header: (self._fields[f"col_{i}"].data or "")
                for i, header in enumerate(self.headers)}

    def field_map(self) -> dict[str, str]:
        """header → form field name, to put the engine's messages (keyed by header) on selects."""
        return {header: f"col_{i}" for i, header in enumerate(self.headers)}


def mapping_form(headers: list[str], fields: list[tuple[str, object]], initial: dict[str, str],
                 **kwargs) -> MappingFormBase:
    """A form with one select per column (``col_0``, ``col_1``, …) offering ``fields``."""
    choices = options([("", _l("— niet importeren —")), *fields])

    class MappingForm(MappingFormBase):
        pass

    MappingForm.headers = list(headers)
    for i, header in enumerate(headers):
        setattr(MappingForm, f"col_{i}", SelectField(
            header or _l("Kolom %(n)s", n=i + 1), choices=choices, validate_choice=True,
            default=initial.get(header, "") or ""))
    return MappingForm(**kwargs)
