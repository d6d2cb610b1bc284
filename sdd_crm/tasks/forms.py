"""Forms for follow-up tasks; the rules live in ``interactions.services.clean_task_data``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired

from ..forms import CheckedTextMixin, ServiceErrorsMixin, max_length, options

# Service keys → form fields, for apply_service_errors.
FIELD_MAP = {"organisation_id": "organisation"}


class TaskForm(ServiceErrorsMixin, FlaskForm):
    title = StringField(_l("Wat moet er gebeuren?"), validators=[
        InputRequired(message=_l("Vul in wat er moet gebeuren.")), max_length(200)])
    due_date = StringField(_l("Uiterlijk op"), validators=[max_length(40)],
                           render_kw={"type": "date"})
    assignee_id = SelectField(_l("Toegewezen aan"), choices=[], validate_choice=False,
                              validators=[InputRequired(message=_l("Kies een collega."))])
    organisation = StringField(
        _l("Organisatie"), validators=[max_length(300)],
        render_kw={"autocomplete": "off", "list": "organisation-options",
                   "data-organisation-search": "1"})
    description = TextAreaField(_l("Toelichting"), validators=[max_length(2000)],
                                render_kw={"rows": 4})
    interaction_id = HiddenField()
    version = HiddenField()

    def set_assignees(self, users, default_id: int) -> None:
        self.assignee_id.choices = options([(str(u.id), u.name) for u in users])
        if not self.assignee_id.data:
            self.assignee_id.data = str(default_id)

    def service_data(self, organisation_id: int | None, *, new: bool) -> dict:
        data = {"title": self.title.data, "due_date": self.due_date.data,
                "assignee_id": self.assignee_id.data, "organisation_id": organisation_id,
                "description": self.description.data}
        if new:
            data["interaction_id"] = self.interaction_id.data or None
        return data

    @classmethod
    def from_task(cls, task, organisation_label: str):
        return cls(data={
            "title": task.title, "due_date": task.due_date.isoformat() if task.due_date else "",
            "assignee_id": str(task.assignee_id or ""), "organisation": organisation_label,
            "description": task.description or "", "version": str(task.version),
        })


class ConfirmForm(CheckedTextMixin, FlaskForm):
    """A POST button with its CSRF token (complete, reopen, a new calendar address)."""

    version = HiddenField()
