"""Browser screens for contact persons. Viewers never see personal data (DESIGN 4.4): 403."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..audit.events import record as record_audit
from ..exceptions import ValidationError
from ..forms import form_page, submitted_version
from ..organisations.forms import VersionForm, apply_service_errors
from ..organisations.queries import get_organisation
from ..pagination import request_keyset_page
from ..organisations.permissions import can_edit_organisation
from ..permissions import can_view_contacts
from ..views_common import confirm_soft_delete, offer_version
from . import bp
from .forms import ContactForm
from .queries import contact_list, get_contact, may_see_restricted
from .services import clean_contact_data, create_contact, delete_contact, update_contact

INVALID = 422
CONFLICT_MESSAGE = _l(
    "Iemand anders heeft deze contactpersoon intussen gewijzigd. Uw invoer staat hieronder "
    "nog; kies per gewijzigd veld welke waarde blijft en sla op.")


def _require_contact_access() -> None:
    if not can_view_contacts(current_user):
        abort(403)


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


@bp.route("/")
@login_required
def index():
    _require_contact_access()
    q = (request.args.get("q") or "").strip()[:200] or None
    organisation = None
    organisation_id = _int_arg("organisation_id")
    if organisation_id:
        organisation = get_organisation(organisation_id)
    stmt = contact_list(q, organisation_id, include_restricted=may_see_restricted(current_user))
    page = request_keyset_page(stmt, current_app.config["PAGE_SIZE"])
    kept = {k: v for k, v in (("q", q), ("organisation_id", organisation_id)) if v}

    def page_url(n: int, cursor: str | None = None) -> str:
        return url_for("contacts.index", **kept, cursor=cursor, page=n)

    return render_template("contacts/index.html", page=page, q=q or "",
                           organisation=organisation, page_url=page_url)


@bp.route("/<int:contact_id>")
@login_required
def detail(contact_id: int):
    contact = get_contact(contact_id, user=current_user)
    record_audit("view", "contact", contact.id)  # every look at a person's record (GDPR)
    return render_template("contacts/detail.html", contact=contact,
                           may_edit=can_edit_organisation(current_user, contact.organisation))


def _render_form(form, organisation, contact=None, status=200):
    return render_template("contacts/form.html", form=form, organisation=organisation,
                           contact=contact), status


def _refuse(form, organisation, contact=None):
    """Show the form's own messages plus the service's for the fields that passed them."""
    try:
        clean_contact_data({**form.service_data(), "organisation_id": organisation.id})
    except ValidationError as e:
        apply_service_errors(form, {k: v for k, v in e.errors.items()
                                    if not (k in form._fields and form._fields[k].errors)})
    return _render_form(form, organisation, contact, INVALID)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    """A new contact person, always at an organisation (``?organisation_id=``)."""
    _require_contact_access()
    organisation_id = _int_arg("organisation_id")
    if organisation_id is None:
        flash(_("Open eerst de organisatie waar de contactpersoon werkt."), "info")
        return redirect(url_for("organisations.index"))
    organisation = get_organisation(organisation_id, for_edit=True, user=current_user)
    form = ContactForm()
    if not form.is_submitted():
        return _render_form(form, organisation)
    if not form.validate():
        return _refuse(form, organisation)
    form_page(form, lambda: _render_form(form, organisation)[0])
    contact = create_contact({**form.service_data(), "organisation_id": organisation.id},
                             actor=current_user)
    flash(_("Contactpersoon %(name)s is toegevoegd.", name=contact.full_name), "success")
    return redirect(url_for("contacts.detail", contact_id=contact.id))


@bp.route("/<int:contact_id>/edit", methods=["GET", "POST"])
@login_required
def edit(contact_id: int):
    contact = get_contact(contact_id, user=current_user, for_edit=True)
    organisation = contact.organisation
    if request.method == "GET":
        record_audit("view", "contact", contact.id)  # the form shows the whole record
        return _render_form(ContactForm.from_contact(contact), organisation, contact)
    form = ContactForm()
    if not form.validate():
        return _refuse(form, organisation, contact)

    def render():
        offer_version(form, contact)
        return _render_form(form, organisation, contact)[0]

    form_page(form, render, conflict_message=CONFLICT_MESSAGE,
              current=lambda: ContactForm.from_contact(contact))
    update_contact(contact, {**form.service_data(), "organisation_id": organisation.id},
                   actor=current_user, expected_version=submitted_version(form))
    flash(_("De wijzigingen in %(name)s zijn opgeslagen.", name=contact.full_name), "success")
    if contact.objection and not may_see_restricted(current_user):
        # No further processing: from now on only admins see this person (GDPR art. 21).
        flash(_("Omdat deze persoon bezwaar heeft gemaakt, is de contactpersoon nu alleen nog "
                "zichtbaar voor beheerders."), "info")
        return redirect(url_for("organisations.detail", org_id=contact.organisation_id))
    return redirect(url_for("contacts.detail", contact_id=contact.id))


@bp.route("/<int:contact_id>/delete", methods=["GET", "POST"])
@login_required
def delete(contact_id: int):
    """Soft delete after a confirmation page; an admin can restore the contact."""
    contact = get_contact(contact_id, user=current_user, for_edit=True)
    return confirm_soft_delete(
        contact, delete=delete_contact, form_cls=VersionForm,
        template="contacts/delete.html", context={"contact": contact},
        conflict_message=_("Iemand anders heeft deze contactpersoon intussen gewijzigd. Bekijk de "
                           "huidige gegevens voordat u haar of hem verwijdert."),
        success_message=_("Contactpersoon %(name)s is verwijderd.", name=contact.full_name),
        next_url=url_for("organisations.detail", org_id=contact.organisation_id))