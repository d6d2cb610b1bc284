"""View helpers shared by the feature blueprints."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, render_template
from flask_login import current_user
from werkzeug.exceptions import Forbidden

from .exceptions import ConflictError, ValidationError
from .forms import form_page


def forbidden(message) -> Forbidden:
    """A 403 whose page says why (raise it: the boundary rolls back, the handler renders it)."""
    error = Forbidden()
    error.sdd_message = str(message)
    return error


def offer_version(form, record) -> None:
    """After a conflict the form carries the stored version, so a second save overwrites
    knowingly. The conflict handler sets it from the ``ConflictError``; an edit posted without
    any version (see :func:`sdd_crm.forms.submitted_version`) gets it here."""
    if form.version.data in (None, ""):
        form.version.data = str(record.version)


def confirm_soft_delete(record, *, delete: Callable, form_cls, template: str, context: dict,
                        conflict_message, success_message, next_url: str):
    """GET: a confirmation page. POST: soft delete through the service, checking the version the
    user saw (409 with the page again if someone changed the record meanwhile)."""
    form = form_cls(data={"version": str(record.version)})
    context = {**context, "form": form}
    if not form.validate_on_submit():
        return render_template(template, **context)

    def render():
        # The boundary rolled back: the record shows its stored state and version again.
        form.version.data = str(record.version)
        return render_template(template, **context)

    form_page(form, render, conflict_message=conflict_message)
    try:
        delete(record, actor=current_user, expected_version=form.version.data or None)
    except ValidationError:
        # A refusal here (say an unreadable version from a tampered page) is shown like a
        # stale version: the page again, with the stored version and the conflict message.
        raise ConflictError() from None
    flash(str(success_message), "success")
    return redirect(next_url)
