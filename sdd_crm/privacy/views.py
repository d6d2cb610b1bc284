"""GDPR screens: the download of everything held about a contact (admins), its erasure with a
confirmation (admins), the retention list (admins) and the processing register (everyone)."""

from __future__ import annotations

import json

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..api.schemas.gdpr import PERSONAL_DATA
from ..contacts.models import Contact
from ..exceptions import ConflictError
from ..extensions import db
from ..jobs.views import register_kind
from . import bp, erasure
from .access import personal_data
from .forms import EraseForm, RetentionForm
from .jobs import JOB_KIND
from .register import activities, measures, settings
from .retention import MAX_BATCH, confirm_erasure, due_list, retention_months

register_kind(JOB_KIND, title=_l("Controle van de bewaartermijn (AVG)"))


def _admin_only() -> None:
    if not current_user.is_admin:
        abort(403)


def _held_contact(contact_id: int) -> Contact:
    """Any contact, deleted or not, for an admin (a request must be answered either way)."""
    _admin_only()
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        abort(404)
    return contact


@bp.route("/contacts/<int:contact_id>/export.json")
@login_required
def contact_export(contact_id: int):
    """The access request's answer as a JSON file (the same as the API's)."""
    contact = _held_contact(contact_id)
    body = json.dumps(PERSONAL_DATA.dump(personal_data(contact, actor=current_user)),
                      ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="contactpersoon-{contact.id}-gegevens.json"',
        "Cache-Control": "no-store"})


@bp.route("/contacts/<int:contact_id>/erase", methods=["GET", "POST"])
@login_required
def erase_contact(contact_id: int):
    """A confirmation page, then anonymisation everywhere."""
    contact = _held_contact(contact_id)
    if contact.anonymised_at is not None:
        flash(_("Deze contactpersoon is al geanonimiseerd."), "info")
        return redirect(url_for("contacts.detail", contact_id=contact.id)
                        if contact.deleted_at is None else url_for("privacy.retention"))
    form = EraseForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("privacy/erase.html", contact=contact, form=form), status
    org_id, deleted = contact.organisation_id, contact.deleted_at is not None
    try:
        erasure.erase_contact(contact, actor=current_user)
    except ConflictError:
        flash(_("Deze contactpersoon is al geanonimiseerd."), "info")
    else:
        # No name in the message: it would be kept in the session cookie and shown again.
        flash(_("De contactpersoon is geanonimiseerd."), "success")
    if deleted:
        return redirect(url_for("organisations.detail", org_id=org_id))
    return redirect(url_for("contacts.detail", contact_id=contact_id))


@bp.route("/admin/retention", methods=["GET", "POST"])
@login_required
def retention():
    """Contacts without activity for RETENTION_MONTHS: choose, confirm, anonymise."""
    _admin_only()
    form = RetentionForm()
    chosen: set[int] = set()
    status = 200
    if request.method == "POST":
        chosen = {int(v) for v in request.form.getlist("contact_ids") if v.isdigit() and len(v) < 10}
        if not chosen:
            flash(_("Kies ten minste één contactpersoon."), "error")
            status = 422
        elif not form.validate_on_submit():
            status = 422
        else:
            done = confirm_erasure(chosen, actor=current_user)
            flash(_("%(n)s contactpersonen zijn geanonimiseerd.", n=done), "success")
            return redirect(url_for("privacy.retention"))
    months = retention_months()
    due = due_list(months, limit=MAX_BATCH)
    return render_template("privacy/retention.html", due=due, months=months, form=form,
                           chosen=chosen, batch=MAX_BATCH), status


@bp.route("/privacy")
@login_required
def register():
    """The register of processing activities (GDPR art. 30), for every signed-in user."""
    return render_template("privacy/register.html", activities=activities(),
                           measures=measures(), settings=settings())
