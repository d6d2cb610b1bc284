"""View helpers shared by the feature blueprints."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template
from flask_login import current_user

from .extensions import db
from .exceptions import PermissionDenied
from .exceptions import ConflictError, ValidationError

CONFLICT = 409


def confirm_soft_delete(record, *, delete: Callable, form_cls, template: str, context: dict,
                        conflict_message, success_message, next_url: str):
    """GET: a confirmation page. POST: soft delete through the service, checking the version the
    user saw (409 with the page again if someone changed the record meanwhile)."""
    form = form_cls(data={"version": str(record.version)})
    context = {**context, "form": form}
    if not form.validate_on_submit():
        return render_template(template, **context)
    try:
        delete(record, actor=current_user, expected_version=form.version.data or None)
    except (ConflictError, ValidationError):
        db.session.rollback()
        form.form_errors.append(str(conflict_message))
        form.version.data = str(record.version)
        return render_template(template, **context), CONFLICT
    except PermissionDenied:
        db.session.rollback()
        abort(403)
    message = str(success_message)  # rendered before the commit expires the record
    db.session.commit()
    flash(message, "success")
    return redirect(next_url)
