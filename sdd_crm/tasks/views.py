"""Browser screens for follow-up tasks: "Mijn taken", create, edit with the version,
complete/reopen, soft delete, and the personal calendar feed (ICS) for Outlook.

Viewers have no tasks (403). A task following a confidential contact moment the user may not
see is a 404 (DESIGN 4.4). Only the assignee, the creator or an admin changes a task.
"""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..exceptions import ValidationError
from ..extensions import db
from ..forms import apply_service_errors, form_page
from ..interactions.queries import (
    colleagues,
    organisation_choice_label,
    resolve_organisation,
)
from ..interactions.services import (
    can_edit_task,
    clean_task_data,
    complete_task,
    create_task,
    delete_task,
    update_task,
)
from ..organisations.queries import get_organisation
from ..pagination import paginate, request_page
from ..interactions.visibility import can_see_interaction, can_see_interactions
from ..leads.visibility import can_see_lead
from ..views_common import confirm_soft_delete
from . import bp
from .calendar import new_calendar_secret, render_feed, user_for_secret
from .forms import FIELD_MAP, ConfirmForm, TaskForm
from .queries import (
    TaskFilters,
    end_of_week,
    feed_tasks,
    get_task,
    local_today,
    task_list,
    with_list_relations,
)

INVALID = 422
CONFLICT_MESSAGE = _l(
    "Iemand anders heeft deze taak intussen gewijzigd. Uw invoer staat hieronder nog; "
    "kies per gewijzigd veld welke waarde blijft en sla op.")


def _require_worker() -> None:
    if not can_see_interactions(current_user):
        abort(403)


def _page_number() -> int:
    return request_page()


def _back(default: str) -> str:
    """Where a POST button returns to: a local path from the form, else ``default``."""
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


@bp.route("/")
@login_required
def index():
    """Mijn taken: open, overdue, due this week (today up to Sunday) or done; assigned to me
    or created by me. Paginated without COUNT(*)."""
    _require_worker()
    filters = TaskFilters.from_args(request.args)
    today = local_today()
    page = paginate(with_list_relations(task_list(current_user, filters, today)),
                    _page_number(), current_app.config["PAGE_SIZE"])

    def tab_url(tab=None, scope=None, page=None) -> str:
        args = {"tab": tab or filters.tab, "scope": scope or filters.scope}
        if page:
            args["page"] = page
        return url_for("tasks.index", **args)

    return render_template("tasks/index.html", page=page, filters=filters, today=today,
                           week_end=end_of_week(today), tab_url=tab_url,
                           page_url=lambda n: tab_url(page=n), confirm=ConfirmForm())


@bp.route("/<int:task_id>")
@login_required
def detail(task_id: int):
    task = get_task(task_id, user=current_user)
    interaction = lead = None
    if task.interaction_id:
        from ..interactions.models import Interaction

        found = db.session.get(Interaction, task.interaction_id)
        if found is not None and found.deleted_at is None and can_see_interaction(current_user, found):
            interaction = found
    if task.lead_id:
        from ..leads.models import Lead

        found = db.session.get(Lead, task.lead_id)
        if found is not None and found.deleted_at is None and can_see_lead(current_user, found):
            lead = found
    return render_template("tasks/detail.html", task=task, interaction=interaction, lead=lead,
                           may_edit=can_edit_task(current_user, task), today=local_today(),
                           confirm=ConfirmForm())


def _render_form(form, *, task=None, candidates=(), status=200):
    return render_template("tasks/form.html", form=form, task=task, candidates=candidates,
                           choice_label=organisation_choice_label), status


def _resolve(form):
    text = (form.organisation.data or "").strip()
    if not text:
        return None, [], True
    org, candidates = resolve_organisation(text)
    if org is None:
        form.organisation.errors = [*form.organisation.errors, (
            _("Meerdere organisaties passen bij uw invoer; kies er één uit de lijst.")
            if candidates else _("Geen organisatie gevonden met deze naam of dit KvK-nummer."))]
        return None, candidates, False
    form.organisation.data = organisation_choice_label(org)
    return org, [], True


def _save(form, task=None):
    """Validate and call the service; on refusal the form comes back with the input kept."""
    form.set_assignees(colleagues(), current_user.id)
    valid = form.validate()  # first: it resets the fields' errors
    org, candidates, resolved = _resolve(form)
    data = form.service_data(org.id if org else None, new=task is None)
    if not valid or not resolved:
        # Every message at once: the service's rules for the fields that passed the form's.
        try:
            clean_task_data(data, partial=task is not None)
        except ValidationError as e:
            apply_service_errors(form, {
                k: m for k, m in e.errors.items()
                if not (FIELD_MAP.get(k, k) in form._fields and form[FIELD_MAP.get(k, k)].errors)
                and not (k == "organisation_id" and not resolved)}, FIELD_MAP)
        return None, _render_form(form, task=task, candidates=candidates, status=INVALID)
    existing = task  # a refused new task was not saved: the form shows no task

    def current():
        return TaskForm.from_task(existing, organisation_choice_label(existing.organisation)
                                  if existing.organisation else "")

    form_page(form, lambda: _render_form(form, task=existing)[0],
              conflict_message=CONFLICT_MESSAGE, field_map=FIELD_MAP,
              current=current if existing is not None else None)
    if task is None:
        task = create_task(data, actor=current_user)
    else:
        update_task(task, data, actor=current_user, partial=True,
                    expected_version=form.version.data or None)
    return task, None


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    _require_worker()
    form = TaskForm()
    if not form.is_submitted():
        org_id = request.args.get("organisation_id", "")
        if org_id.isdigit() and len(org_id) < 10:
            form.organisation.data = organisation_choice_label(get_organisation(int(org_id)))
        interaction_id = request.args.get("interaction_id", "")
        if interaction_id.isdigit() and len(interaction_id) < 10:
            form.interaction_id.data = interaction_id
        form.set_assignees(colleagues(), current_user.id)
        return _render_form(form)
    task, refused = _save(form)
    if refused:
        return refused
    flash(_("De taak %(title)s is aangemaakt.", title=task.title), "success")
    return redirect(url_for("tasks.detail", task_id=task.id))


@bp.route("/<int:task_id>/edit", methods=["GET", "POST"])
@login_required
def edit(task_id: int):
    task = get_task(task_id, user=current_user, for_edit=True)
    if request.method == "GET":
        form = TaskForm.from_task(
            task, organisation_choice_label(task.organisation) if task.organisation else "")
        form.set_assignees(colleagues(), current_user.id)
        return _render_form(form, task=task)
    task, refused = _save(TaskForm(), task)
    if refused:
        return refused
    flash(_("De wijzigingen in de taak zijn opgeslagen."), "success")
    return redirect(url_for("tasks.detail", task_id=task.id))


def _set_done(task_id: int, done: bool):
    task = get_task(task_id, user=current_user, for_edit=True)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    complete_task(task, actor=current_user, done=done)
    flash(_("De taak %(title)s is afgerond.", title=task.title) if done
          else _("De taak %(title)s staat weer open.", title=task.title), "success")
    return redirect(_back(url_for("tasks.detail", task_id=task.id)))


@bp.route("/<int:task_id>/complete", methods=["POST"])
@login_required
def complete(task_id: int):
    return _set_done(task_id, True)


@bp.route("/<int:task_id>/reopen", methods=["POST"])
@login_required
def reopen(task_id: int):
    return _set_done(task_id, False)


@bp.route("/<int:task_id>/delete", methods=["GET", "POST"])
@login_required
def delete(task_id: int):
    task = get_task(task_id, user=current_user, for_edit=True)
    return confirm_soft_delete(
        task, delete=delete_task, form_cls=ConfirmForm, template="tasks/delete.html",
        context={"task": task},
        conflict_message=_("Iemand anders heeft deze taak intussen gewijzigd. Bekijk de huidige "
                           "gegevens voordat u haar verwijdert."),
        success_message=_("De taak is verwijderd."), next_url=url_for("tasks.index"))


# --- The calendar feed -----------------------------------------------------------------------

@bp.route("/calendar", methods=["GET", "POST"])
@login_required
def calendar():
    """"Abonneer in Outlook": the personal feed URL, shown once when (re)generated."""
    _require_worker()
    form = ConfirmForm()
    feed_url = None
    if form.validate_on_submit():
        secret = new_calendar_secret(current_user)
        feed_url = url_for("tasks.calendar_feed", secret=secret, _external=True)
    elif request.method == "POST":
        abort(400)
    return render_template("tasks/calendar.html", form=form, feed_url=feed_url,
                           has_feed=bool(current_user.calendar_token_hash))


@bp.route("/calendar/<secret>.ics")
def calendar_feed(secret: str):
    """No login: the secret in the URL is the key. Unknown or replaced secret: 404."""
    user = user_for_secret(secret)
    if user is None:
        abort(404)
    body = render_feed(
        feed_tasks(user),
        task_url=lambda t: url_for("tasks.detail", task_id=t.id, _external=True))
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="sdd-crm-taken.ics"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
