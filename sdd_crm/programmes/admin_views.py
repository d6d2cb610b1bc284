"""Admin screens for programmes (registered on the admin blueprint, so admins only):
the list (with the deleted ones apart, restorable), create, edit and soft delete."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..admin import bp
from ..extensions import db
from ..exceptions import ConflictError, NotFound, ValidationError
from ..forms import form_page
from ..transaction import attempt
from .admin_forms import ProgrammeForm, apply_programme_errors
from .admin_services import (clean_programme_data, create_programme, delete_programme,
                             restore_programme, update_programme)
from .queries import get_programme_or_404, programme_list


def _conflict_message() -> str:
    return _("Iemand anders heeft dit programma intussen gewijzigd. Open het programma opnieuw "
             "en voer uw wijziging nog eens in.")


def _rule_errors(form: ProgrammeForm, programme=None) -> bool:
    """Put the rules' messages on the form too (for fields its own checks did not refuse), so
    one round shows them all; ``targets.<n>.<field>`` land on the n-th filled row. True if any."""
    try:
        clean_programme_data(form.service_data(editing=programme is not None), programme=programme)
    except ValidationError as e:
        apply_programme_errors(form, {k: m for k, m in e.errors.items()
                                      if not _has_error(form, k)})
        return True
    return False


def _has_error(form: ProgrammeForm, key: str) -> bool:
    field = form._fields.get(key)
    return field is not None and bool(field.errors)


@bp.route("/programmes")
def programmes():
    live = db.session.scalars(programme_list()).all()
    deleted = db.session.scalars(programme_list(deleted=True)).all()
    return render_template("programmes/admin/index.html", programmes=live, deleted=deleted)


def _render_form(form, programme=None, status=200):
    if programme is not None:
        form.code.data = programme.code
    conflict = programme is not None and _conflict_message() in form.form_errors
    return render_template("programmes/admin/form.html", form=form, programme=programme,
                           conflict=conflict), status


@bp.route("/programmes/new", methods=["GET", "POST"])
def programme_create():
    form = ProgrammeForm()
    if not form.is_submitted():
        return _render_form(form)
    valid = form.validate()
    if _rule_errors(form) or not valid:
        return _render_form(form, status=422)
    form_page(form, lambda: _render_form(form)[0])
    programme = create_programme(form.service_data(), actor=current_user)
    flash(_("Programma %(name)s is aangemaakt.", name=programme.name), "success")
    return redirect(url_for("admin.programmes"))


@bp.route("/programmes/<code>/edit", methods=["GET", "POST"])
def programme_edit(code: str):
    programme = get_programme_or_404(code)
    form = ProgrammeForm(editing=True)
    if request.method == "GET":
        form.fill(programme)
        return _render_form(form, programme)
    valid = form.validate()
    if _rule_errors(form, programme) or not valid:
        return _render_form(form, programme, 422)
    def render_again():
        # After a conflict the form carries the stored version and lists what changed in
        # between, field by field (sdd_crm/conflicts.py): the next save is made knowingly.
        return _render_form(form, programme)[0]

    def stored():
        filled = ProgrammeForm(editing=True)
        filled.fill(programme)
        return filled

    form_page(form, render_again, conflict_message=_conflict_message(), current=stored)
    update_programme(programme, form.service_data(editing=True), actor=current_user,
                     expected_version=form.version.data or None)
    flash(_("Programma %(name)s is opgeslagen.", name=programme.name), "success")
    return redirect(url_for("admin.programmes"))


@bp.route("/programmes/<code>/delete", methods=["POST"])
def programme_delete(code: str):
    programme = get_programme_or_404(code)
    # Refusals are checked before anything changes; they go back with a message, not a form.
    try:
        with attempt():
            delete_programme(programme, actor=current_user,
                             expected_version=request.form.get("version") or None)
    except ConflictError:
        flash(_conflict_message(), "error")
        return redirect(url_for("admin.programme_edit", code=programme.code))
    except ValidationError as e:
        flash(" ".join(e.errors.values()), "error")
        return redirect(url_for("admin.programmes"))
    flash(_("Programma %(name)s is verwijderd. U kunt het hieronder herstellen.",
            name=programme.name), "success")
    return redirect(url_for("admin.programmes"))


@bp.route("/programmes/<code>/restore", methods=["POST"])
def programme_restore(code: str):
    programme = get_programme_or_404(code, include_deleted=True)
    if programme.deleted_at is None:
        raise NotFound()
    restore_programme(programme, actor=current_user)
    flash(_("Programma %(name)s is hersteld.", name=programme.name), "success")
    return redirect(url_for("admin.programmes"))
