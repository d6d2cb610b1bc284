"""Admin screens: users and API tokens, the bin (Prullenbak) of soft-deleted records, the audit log.

Only administrators (functioneel beheerders) reach any of these: the blueprint checks the
role before every request, anonymous visitors are sent to the login page.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..contacts.models import Contact
from ..exceptions import ValidationError
from ..forms import form_page
from ..interactions.models import Interaction, Task
from ..leads.models import Lead
from ..organisations.models import Organisation
from ..pagination import paginate
from ..transaction import attempt
from . import bp, queries, services
from .forms import (
    AUDIT_ACTIONS,
    ENTITY_TYPES,
    AuditFilterForm,
    TokenForm,
    UserCreateForm,
    UserEditForm,
)

PER_PAGE = 50
USER_CONFLICT = _l("Iemand anders heeft deze gebruiker intussen gewijzigd. "
                   "Open de gebruiker opnieuw en voer uw wijziging nog eens in.")


@bp.before_request
def _admins_only():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403)
    return None


def _page() -> int:
    return max(1, min(request.args.get("page", 1, type=int) or 1, 100_000))


def _page_url(endpoint: str, **fixed):
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return lambda n: url_for(endpoint, **fixed, **args, page=n)


@bp.route("/")
def index():
    return redirect(url_for("admin.users"))


# --- Users ---------------------------------------------------------------------------------

@bp.route("/users")
def users():
    q = request.args.get("q", "").strip()[:200]
    role = request.args.get("role", "")
    page = paginate(queries.user_list(q or None, role or None), _page(), PER_PAGE)
    tokens = queries.active_token_counts([u.id for u in page.items])
    return render_template("admin/users.html", page=page, tokens=tokens, q=q, role=role,
                           page_url=_page_url("admin.users"))


@bp.route("/users/new", methods=["GET", "POST"])
def user_create():
    from ..auth.services import create_user

    form = UserCreateForm()
    if form.validate_on_submit():
        form_page(form, lambda: render_template("admin/user_form.html", form=form, user=None))
        user = create_user(email=form.email.data, name=form.name.data, role=form.role.data,
                           password=form.password.data,
                           municipality_code=form.municipality.data or None)
        flash(_("Gebruiker %(email)s is aangemaakt.", email=user.email), "success")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    return render_template("admin/user_form.html", form=form, user=None), 422 if form.errors else 200


@bp.route("/users/<int:user_id>")
def user_detail(user_id: int):
    user = queries.get_user(user_id)
    return render_template("admin/user_detail.html", user=user, tokens=queries.tokens_of(user),
                           token_form=TokenForm())


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def user_edit(user_id: int):
    user = queries.get_user(user_id)
    form = UserEditForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.municipality.data = user.municipality_code or ""
        form.version.data = str(user.version)
    if form.validate_on_submit():
        submitted = form.version.data

        def render():
            form.version.data = submitted  # the message asks to open the user again
            return render_template("admin/user_form.html", form=form, user=user)

        form_page(form, render, conflict_message=USER_CONFLICT)
        services.edit_user(user, actor=current_user, expected_version=form.version.data,
                           name=form.name.data, role=form.role.data,
                           municipality_code=form.municipality.data or None,
                           active=form.active.data, password=form.password.data or None)
        flash(_("De gegevens van %(name)s zijn opgeslagen.", name=user.name), "success")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    return render_template("admin/user_form.html", form=form, user=user), \
        422 if form.errors else 200


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def user_deactivate(user_id: int):
    user = queries.get_user(user_id)
    try:
        with attempt():  # a refusal undoes only this, then says why
            n = services.deactivate_user(user, actor=current_user)
    except ValidationError as e:
        flash(" ".join(e.errors.values()), "error")
    else:
        flash(_("%(name)s is gedeactiveerd; %(n)s token(s) ingetrokken.", name=user.name, n=n),
              "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/revoke-tokens", methods=["POST"])
def user_revoke_tokens(user_id: int):
    user = queries.get_user(user_id)
    n = services.revoke_user_tokens(user, actor=current_user)
    flash(_("%(n)s token(s) van %(name)s ingetrokken.", n=n, name=user.name), "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/tokens", methods=["POST"])
def user_issue_token(user_id: int):
    user = queries.get_user(user_id)
    form = TokenForm()

    def render_detail():
        return render_template("admin/user_detail.html", user=user,
                               tokens=queries.tokens_of(user), token_form=form)

    if form.validate_on_submit():
        form_page(form, render_detail)
        token = services.issue_token(user, form.name.data, actor=current_user)
        # Shown in this response only: never in a flash message (the session is a cookie).
        return render_template("admin/token.html", user=user, token=token,
                               name=form.name.data.strip())
    return render_detail(), 422


# --- Prullenbak: soft-deleted records ------------------------------------------------------

BIN_QUERIES = {
    "organisations": queries.deleted_organisations,
    "contacts": queries.deleted_contacts,
    "interactions": queries.deleted_interactions,
    "tasks": queries.deleted_tasks,
    "leads": queries.deleted_leads,
}


@bp.route("/deleted")
def deleted():
    kind = request.args.get("kind", "organisations")
    if kind not in BIN_QUERIES:
        kind = "organisations"
    stmt = BIN_QUERIES[kind]()
    page = paginate(stmt, _page(), PER_PAGE)
    deleters = queries.users_by_id(r.deleted_by_id for r in page.items)
    return render_template("admin/deleted.html", kind=kind, page=page, deleters=deleters,
                           page_url=_page_url("admin.deleted"))


@bp.route("/deleted/organisations/<int:org_id>/restore", methods=["POST"])
def restore_organisation(org_id: int):
    org = queries.get_deleted(Organisation, org_id)
    return _restore(org, services.restore_deleted_organisation, org.name, "organisations")


@bp.route("/deleted/contacts/<int:contact_id>/restore", methods=["POST"])
def restore_contact(contact_id: int):
    contact = queries.get_deleted(Contact, contact_id)
    return _restore(contact, services.restore_deleted_contact, contact.full_name, "contacts")


@bp.route("/deleted/interactions/<int:interaction_id>/restore", methods=["POST"])
def restore_interaction(interaction_id: int):
    interaction = queries.get_deleted(Interaction, interaction_id)
    return _restore(interaction, services.restore_deleted_interaction, interaction.subject,
                    "interactions")


@bp.route("/deleted/tasks/<int:task_id>/restore", methods=["POST"])
def restore_task(task_id: int):
    task = queries.get_deleted(Task, task_id)
    return _restore(task, services.restore_deleted_task, task.title, "tasks")


@bp.route("/deleted/leads/<int:lead_id>/restore", methods=["POST"])
def restore_lead(lead_id: int):
    lead = queries.get_deleted(Lead, lead_id)
    return _restore(lead, services.restore_deleted_lead, lead.title, "leads")


def _restore(record, restore, label: str, kind: str):
    try:
        with attempt():  # a refusal undoes only this, then says why
            restore(record, actor=current_user)
    except ValidationError as e:
        flash(_("%(name)s is niet hersteld: %(reason)s", name=label,
                reason=" ".join(e.errors.values())), "error")
    else:
        flash(_("%(name)s is hersteld.", name=label), "success")
    return redirect(url_for("admin.deleted", kind=kind))


# --- Audit log -----------------------------------------------------------------------------

@bp.route("/audit")
def audit():
    form = AuditFilterForm(request.args)
    entity_type = form.entity_type.data if form.entity_type.data in ENTITY_TYPES else None
    entity_id = form.entity_id.data if form.validate() else None
    page = paginate(queries.audit_events(entity_type, entity_id), _page(), PER_PAGE)
    actors = queries.users_by_id(e.user_id for e in page.items)
    return render_template("admin/audit.html", form=form, page=page, actors=actors,
                           actions=AUDIT_ACTIONS, entity_types=ENTITY_TYPES,
                           page_url=_page_url("admin.audit"))
