"""Admin screens for programmes (registered on the admin blueprint, so admins only):
the list (with the deleted ones apart, restorable), create, edit and soft delete."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..admin import bp
from ..extensions import db
from ..exceptions import ConflictError, ValidationError
from .admin_forms import ProgrammeForm, apply_programme_errors
from .admin_services import (clean_programme_data, create_programme, delete_programme,
                             restore_programme, update_programme)
from .queries import get_programme_or_404, programme_list


def _conflict_message() -> str:
    return _("Iemand anders heeft dit programma intussen gewijzigd. Open het programma opnieuw "
             "en voer uw wijziging nog eens in.")


def _all_messages(form: ProgrammeForm, programme=None) -> None:
    """After the form's own checks failed: add the rules' messages too, so one round shows all."""
    try:
        clean_programme_data(form.service_data(editing=programme is not None), programme=programme)
    except ValidationError as e:
        apply_programme_errors(form, {k: m for k, m in e.errors.items()
                                      if not _has_error(form, k)})


def _has_error(form: ProgrammeForm, key: str) -> bool:
    field = form._fields.get(key)
    return field is not None and bool(field.errors)


@bp.route("/programmes")
def programmes():
    live = db.session.scalars(programme_list()).all()
    deleted = db.session.scalars(programme_list(deleted=True)).all()
    return render_template("programmes/admin/index.html", programmes=live, deleted=deleted)


@bp.route("/programmes/new", methods=["GET", "POST"])
def programme_create():
    form = ProgrammeForm()
    status = 200
    if form.validate_on_submit():
        try:
            programme = create_programme(form.service_data(), actor=current_user)
            db.session.commit()
        except ValidationError as e:
            db.session.rollback()
            apply_programme_errors(form, e.errors)
            status = 422
        else:
            flash(_("Programma %(name)s is aangemaakt.", name=programme.name), "success")
            return redirect(url_for("admin.programmes"))
    elif form.is_submitted():
        _all_messages(form)
        status = 422
    return render_template("programmes/admin/form.html", form=form, programme=None), status


@bp.route("/programmes/<code>/edit", methods=["GET", "POST"])
def programme_edit(code: str):
    programme = get_programme_or_404(code)
    form = ProgrammeForm(editing=True)
    if request.method == "GET":
        form.fill(programme)
    status = 200
    conflict = False
    if form.validate_on_submit():
        try:
            update_programme(programme, form.service_data(editing=True), actor=current_user,
                             expected_version=form.version.data or None)
            db.session.commit()
        except ConflictError:
            db.session.rollback()
            form.form_errors.append(_conflict_message())
            conflict, status = True, 409
        except ValidationError as e:
            db.session.rollback()
            apply_programme_errors(form, e.errors)
            status = 422
        else:
            flash(_("Programma %(name)s is opgeslagen.", name=programme.name), "success")
            return redirect(url_for("admin.programmes"))
    elif form.is_submitted():
        _all_messages(form, programme)
        status = 422
    form.code.data = programme.code
    return render_template("programmes/admin/form.html", form=form, programme=programme,
                           conflict=conflict), status


@bp.route("/programmes/<code>/delete", methods=["POST"])
def programme_delete(code: str):
    programme = get_programme_or_404(code)
    try:
        delete_programme(programme, actor=current_user,
                         expected_version=request.form.get("version") or None)
        db.session.commit()
    except ConflictError:
        db.session.rollback()
        flash(_conflict_message(), "error")
        return redirect(url_for("admin.programme_edit", code=programme.code))
    except ValidationError as e:
        db.session.rollback()
        flash(" ".join(e.errors.values()), "error")
        return redirect(url_for("admin.programmes"))
    flash(_("Programma %(name)s is verwijderd. U kunt het hieronder herstellen.",
            name=programme.name), "success")
    return redirect(url_for("admin.programmes"))


@bp.route("/programmes/<code>/restore", methods=["POST"])
def programme_restore(code: str):
    programme = get_programme_or_404(code, include_deleted=True)
    if programme.deleted_at is None:
        abort(404)
    restore_programme(programme, actor=current_user)
    db.session.commit()
    flash(_("Programma %(name)s is hersteld.", name=programme.name), "success")
    return redirect(url_for("admin.programmes"))
