"""Browser screens for contact moments: list, detail, the one form for logging a contact moment
of any kind (the old visit address leads to it with the kind preset), edit with the version,
soft delete.

Viewers never read interaction notes (403). A confidential contact moment outside the user's
circle answers 404, as if it did not exist (DESIGN 4.4). Views parse, call the services (which
hold the rules and flush); the request boundary commits once, and a refusal re-renders the
registered form with the user's input (:func:`sdd_crm.forms.form_page`).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from ..contacts.queries import shown_to
from ..exceptions import ValidationError
from ..extensions import db
from ..forms import apply_service_errors, form_page, submitted_version
from ..organisations.forms import VersionForm
from ..organisations.queries import get_organisation
from ..pagination import request_keyset_page
from ..validation import BAD_DATE
from ..views_common import confirm_soft_delete, offer_version
from .visibility import can_see_interactions, task_visible
from . import bp
from .forms import FIELD_MAP, InteractionFilterForm, InteractionForm
from .models import InteractionType, Task
from .queries import (
    InteractionFilters,
    colleagues,
    get_interaction,
    interaction_list,
    organisation_choice_label,
    organisation_contacts,
    organisation_matches,
    resolve_organisation,
    with_list_relations,
)
from .services import (
    can_edit_interaction,
    clean_interaction_data,
    create_interaction,
    delete_interaction,
    update_interaction,
)

INVALID = 422  # a form re-rendered with messages; nothing was saved
CONFLICT_MESSAGE = _l(
    "Iemand anders heeft dit contactmoment intussen gewijzigd. Uw invoer staat hieronder "
    "nog; kies per gewijzigd veld welke waarde blijft en sla op.")
LIST_ARGS = ("q", "organisation", "organisation_id", "type", "topic", "author", "date_from",
             "date_to", "confidential")


def _require_worker() -> None:
    if not can_see_interactions(current_user):
        abort(403)


@bp.route("/")
@login_required
def index():
    """Contact moments the user may see, newest first, filtered; paginated without COUNT(*)."""
    _require_worker()
    filters = InteractionFilters.from_args(request.args)
    form = InteractionFilterForm(request.args)
    for key in ("date_from", "date_to"):
        raw = (request.args.get(key) or "").strip()
        if raw and getattr(filters, key) is None:
            form[key].errors = [str(BAD_DATE)]
    organisation = None
    if filters.organisation_id:
        organisation = get_organisation(filters.organisation_id)
    page = request_keyset_page(with_list_relations(interaction_list(current_user, filters)),
                               current_app.config["PAGE_SIZE"])
    kept = {k: request.args[k] for k in LIST_ARGS if request.args.get(k)}

    def page_url(number: int, cursor: str | None = None) -> str:
        return url_for("interactions.index", **kept, cursor=cursor, page=number)

    return render_template("interactions/index.html", page=page, form=form,
                           organisation=organisation, page_url=page_url, filtered=bool(kept))


@bp.route("/<int:interaction_id>")
@login_required
def detail(interaction_id: int):
    interaction = get_interaction(interaction_id, user=current_user)
    tasks = db.session.scalars(
        sa.select(Task).where(Task.interaction_id == interaction.id, Task.deleted_at.is_(None),
                              task_visible(current_user))
        .options(selectinload(Task.assignee))
        .order_by(Task.due_date.is_(None), Task.due_date, Task.id)).all()
    # Objecting and anonymised people: admins only (GDPR art. 21, 17).
    contacts = shown_to(current_user, [c for c in interaction.contacts if c.deleted_at is None])
    return render_template("interactions/detail.html", interaction=interaction, tasks=tasks,
                           contacts=contacts,
                           may_edit=can_edit_interaction(current_user, interaction))


@bp.route("/organisations.json")
@login_required
def organisation_options():
    """Suggestions for the organisation search box (filled by a static script)."""
    _require_worker()
    matches = organisation_matches(request.args.get("q", ""), limit=10)
    return jsonify([{"value": organisation_choice_label(o), "label": o.city or ""}
                    for o in matches])


# --- Create: one form for every kind of contact moment -----------------------------------

TEMPLATE = "interactions/form.html"


def _resolve(form):
    """The organisation the user typed or picked; on failure a Dutch message on the field."""
    text = (form.organisation.data or "").strip()
    if not text:
        return None, []
    org, candidates = resolve_organisation(text)
    if org is None:
        form.organisation.errors = [*form.organisation.errors, (
            _("Meerdere organisaties passen bij uw invoer; kies er één uit de lijst.")
            if candidates else _("Geen organisatie gevonden met deze naam of dit KvK-nummer."))]
    else:
        form.organisation.data = organisation_choice_label(org)
    return org, candidates


def _prepare(form, org):
    users = colleagues()
    form.set_assignees(users, current_user.id)
    form.set_people(organisation_contacts(org.id if org else None,
                                          include_restricted=current_user.is_admin), users)


def _render(form, *, org=None, candidates=(), interaction=None, status=200):
    return render_template(TEMPLATE, form=form, org=org, candidates=candidates,
                           interaction=interaction, choice_label=organisation_choice_label), status


def _refuse(form, org, candidates, interaction=None):
    """Every message at once: the form's own (required, lengths) plus the service's rules for
    the fields that passed those; nothing is saved."""
    try:
        clean_interaction_data(form.service_data(org.id if org else None),
                               interaction=interaction)
    except ValidationError as e:
        errors = {k: m for k, m in e.errors.items()
                  if not (FIELD_MAP.get(k, k) in form._fields and form[FIELD_MAP.get(k, k)].errors)}
        if org is None:  # the field already says why
            errors.pop("organisation_id", None)
        apply_service_errors(form, errors, FIELD_MAP)
    return _render(form, org=org, candidates=candidates, interaction=interaction,
                   status=INVALID)


def _picked(form) -> bool:
    """A candidate button ("Bedoelt u een van deze?") was pressed: take it as the organisation
    and show the form again with its contacts (works without JavaScript)."""
    picked = (request.form.get("pick_organisation") or "").strip()
    if picked:
        form.organisation.data = picked[:300]
    return bool(picked)


def _landing(org) -> str:
    """Where a logged contact moment lands: the organisation page's timeline, whose top shows
    the success message (issue 14 point 4)."""
    return url_for("organisations.detail", org_id=org.id, _anchor="tijdlijn")


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    """Log a contact moment of any kind: ``?organisation_id=`` and ``?type=`` preset the form."""
    _require_worker()
    form = InteractionForm()
    org = None
    if not form.is_submitted():
        org_id = request.args.get("organisation_id", "")
        if org_id.isdigit() and len(org_id) < 10:
            org = get_organisation(int(org_id))
            form.organisation.data = organisation_choice_label(org)
        if request.args.get("type") in {t.value for t in InteractionType}:
            form.type.data = request.args["type"]
        _prepare(form, org)
        return _render(form, org=org)
    # "Contactpersonen tonen" or a picked candidate: show the form again, no save yet.
    refresh = _picked(form) or request.form.get("action") == "refresh"
    valid = refresh or form.validate()  # (validate() first: it resets the fields' errors)
    org, candidates = _resolve(form)
    _prepare(form, org)
    if refresh:
        return _render(form, org=org, candidates=candidates)
    if not valid or org is None:
        return _refuse(form, org, candidates)
    form_page(form, lambda: _render(form, org=org)[0], field_map=FIELD_MAP)
    create_interaction(form.service_data(org.id), actor=current_user)
    flash(_("Het contactmoment met %(name)s is vastgelegd.", name=org.name), "success")
    return redirect(_landing(org))


@bp.route("/visit", methods=["GET", "POST"])
@login_required
def visit():
    """The old "Bezoek vastleggen" address: the one form with the kind "visit" preset. A POST
    (an old page still open, other code) is handled by the one form itself."""
    _require_worker()
    if request.method == "POST":
        return create()
    args = {"type": InteractionType.VISIT.value}
    org_id = request.args.get("organisation_id", "")
    if org_id.isdigit() and len(org_id) < 10:
        args["organisation_id"] = org_id
    return redirect(url_for("interactions.create", **args))


@bp.route("/<int:interaction_id>/edit", methods=["GET", "POST"])
@login_required
def edit(interaction_id: int):
    """Only the author (or an admin) edits; a stale version gets 409 with the input kept."""
    interaction = get_interaction(interaction_id, user=current_user, for_edit=True)
    if request.method == "GET":
        form = InteractionForm.from_interaction(
            interaction, organisation_choice_label(interaction.organisation))
        _prepare(form, interaction.organisation)
        return _render(form, org=interaction.organisation, interaction=interaction)
    form = InteractionForm()
    refresh = _picked(form) or request.form.get("action") == "refresh"
    valid = refresh or form.validate()
    org, candidates = _resolve(form)
    _prepare(form, org)
    if refresh:
        return _render(form, org=org, candidates=candidates, interaction=interaction)
    if not valid or org is None:
        return _refuse(form, org, candidates, interaction)

    def render():
        offer_version(form, interaction)  # a second save overwrites knowingly
        return _render(form, org=org, interaction=interaction)[0]

    form_page(form, render, conflict_message=CONFLICT_MESSAGE, field_map=FIELD_MAP,
              current=lambda: InteractionForm.from_interaction(
                  interaction, organisation_choice_label(interaction.organisation)))
    update_interaction(interaction, form.service_data(org.id), actor=current_user,
                       expected_version=submitted_version(form))
    flash(_("De wijzigingen in het contactmoment zijn opgeslagen."), "success")
    return redirect(url_for("interactions.detail", interaction_id=interaction.id))


@bp.route("/<int:interaction_id>/delete", methods=["GET", "POST"])
@login_required
def delete(interaction_id: int):
    """Soft delete after a confirmation page; an admin can restore it."""
    interaction = get_interaction(interaction_id, user=current_user, for_edit=True)
    return confirm_soft_delete(
        interaction, delete=delete_interaction, form_cls=VersionForm,
        template="interactions/delete.html", context={"interaction": interaction},
        conflict_message=_("Iemand anders heeft dit contactmoment intussen gewijzigd. Bekijk de "
                           "huidige gegevens voordat u het verwijdert."),
        success_message=_("Het contactmoment is verwijderd. Een beheerder kan het herstellen."),
        next_url=url_for("organisations.detail", org_id=interaction.organisation_id,
                         _anchor="tijdlijn"))