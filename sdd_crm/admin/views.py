"""Admin screens: users and API tokens, the bin (Prullenbak) of soft-deleted records, the audit log.

Only administrators (functioneel beheerders) reach any of these: the blueprint checks the
role before every request, anonymous visitors are sent to the login page.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..auth.sessions import active_sessions
from ..exceptions import ValidationError
from ..forms import form_page
from ..pagination import paginate
from ..transaction import attempt
from . import bp, queries, recycle_bin, services
from .purge import retention_days
from .forms import TokenForm, UserCreateForm, UserEditForm

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
                           token_form=TokenForm(), sessions=active_sessions(user))


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def user_edit(user_id: int):
    user = queries.get_user(user_id)
    form = UserEditForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.municipality.data = user.municipality_code or ""
        form.version.data = str(user.version)
    if form.validate_on_submit():
        def render():
            # After a conflict the form carries the stored version and lists what changed in
            # between, field by field (sdd_crm/conflicts.py).
            return render_template("admin/user_form.html", form=form, user=user)

        def stored():
            loaded = UserEditForm(obj=user)
            loaded.municipality.data = user.municipality_code or ""
            return loaded

        form_page(form, render, conflict_message=USER_CONFLICT, current=stored)
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


@bp.route("/users/<int:user_id>/sign-out-everywhere", methods=["POST"])
def user_sign_out_everywhere(user_id: int):
    user = queries.get_user(user_id)
    n = services.sign_out_everywhere(user, actor=current_user)
    flash(_("%(name)s is overal afgemeld; %(n)s sessie(s) beëindigd.", name=user.name, n=n),
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
                               tokens=queries.tokens_of(user), token_form=form,
                               sessions=active_sessions(user))

    if form.validate_on_submit():
        form_page(form, render_detail)
        token = services.issue_token(user, form.name.data, actor=current_user)
        # Shown in this response only: never in a flash message (the session is a cookie).
        return render_template("admin/token.html", user=user, token=token,
                               name=form.name.data.strip())
    return render_detail(), 422


# --- Prullenbak: soft-deleted records of every kind (admin.recycle_bin.KINDS) -----------

@bp.route("/deleted")
def deleted():
    kinds = recycle_bin.KINDS
    kind = kinds.get(request.args.get("kind", ""), kinds[recycle_bin.DEFAULT_KIND])
    page = paginate(recycle_bin.deleted(kind), _page(), PER_PAGE)
    rows = [(r, kind.describe(r)) for r in page.items]
    deleters = queries.users_by_id(r.deleted_by_id for r in page.items)
    return render_template("admin/deleted.html", kind=kind, kinds=kinds.values(), page=page,
                           rows=rows, deleters=deleters, retention_days=retention_days(),
                           page_url=_page_url("admin.deleted"))


@bp.route("/deleted/<kind>/<int:record_id>/restore", methods=["POST"])
def restore_deleted(kind: str, record_id: int):
    entry = recycle_bin.KINDS.get(kind)
    if entry is None:
        abort(404)
    record = queries.get_deleted(entry.model, record_id)
    label = entry.describe(record).label
    try:
        with attempt():  # a refusal undoes only this, then says why
            entry.restore(record, actor=current_user)
    except ValidationError as e:
        flash(_("%(name)s is niet hersteld: %(reason)s", name=label,
                reason=" ".join(e.errors.values())), "error")
    else:
        flash(_("%(name)s is hersteld.", name=label), "success")
    return redirect(url_for("admin.deleted", kind=entry.key))
