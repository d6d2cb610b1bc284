"""Browser screens for organisations: list, detail, create, edit, soft delete, account team.

Views stay thin: they parse the form, call the services (which hold the rules and flush), and
commit once; on any refusal they roll back and re-render the form with the user's input.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..exceptions import NotFound, PermissionDenied, ValidationError
from ..forms import form_page, submitted_version
from .. import labels
from ..audit import labels as audit_labels
from ..audit.models import AuditEvent, record_changes
from ..auth.models import Role, User
from ..contacts.queries import contact_list
from ..extensions import db
from ..timeline.queries import DEFAULT_LIMIT as TIMELINE_LIMIT
from ..timeline.queries import KIND_LABELS as TIMELINE_KIND_LABELS
from ..timeline.queries import KINDS as TIMELINE_KINDS
from ..timeline.queries import entry_url as timeline_entry_url
from ..timeline.queries import organisation_timeline
from ..timeline.queries import TimelineFilter
from ..pagination import request_keyset_page
from ..permissions import can_create_organisation, can_view_contacts
from .permissions import can_edit_organisation, can_manage_account_team
from .join_request_views import join_context
from ..reference.models import Municipality
from ..valuechains.models import Cluster
from ..valuechains.queries import organisation_network
from ..interactions.visibility import can_see_interactions
from ..views_common import confirm_soft_delete
from . import bp
from .forms import (
    AccountTeamForm,
    OrganisationFilterForm,
    OrganisationForm,
    VersionForm,
    apply_service_errors,
    options,
)
from .models import Organisation
from .page_views import page_sections, summary, timeline_filter
from .queries import OrganisationFilters, get_organisation, organisation_list
from .services import (
    clean_organisation_data,
    create_organisation,
    delete_organisation,
    remove_account_team_member,
    set_account_team_member,
    update_organisation,
)

INVALID = 422  # a form re-rendered with messages; nothing was saved
PAGE_TIMELINE_LIMIT = 20  # timeline entries shown at first; "Meer tonen" shows TIMELINE_LIMIT
TIMELINE_ARGS = ("kind", "type", "date_from", "date_to")
CONFLICT_MESSAGE = _l(
    "Iemand anders heeft deze organisatie intussen gewijzigd. Uw invoer staat hieronder nog; "
    "kies per gewijzigd veld welke waarde blijft en sla op.")
LIST_ARGS = ("q", "municipality", "cluster", "type", "size", "critical", "status", "sort")
# Sortable column headers: column → (sort key, reverse sort key or None).
SORT_COLUMNS = {"name": ("name", "-name"), "city": ("city", None),
                "employees": ("employees", "-employees")}
CHANGE_LABELS = labels.ORGANISATION_FIELD
ACTION_LABELS = {"create": _l("aangemaakt"), "update": _l("gewijzigd"),
                 "delete": _l("verwijderd"), "restore": _l("hersteld"),
                 "merge": _l("samengevoegd")}
VALUE_LABELS = {"org_type": labels.ORG_TYPE, "status": labels.ORG_STATUS,
                "size_class": labels.SIZE_CLASS}


def action_text(event) -> str:
    """What an audit event of the organisation did, as the user reads it; account-team changes
    say who and which role (before → after)."""
    return (labels.team_change_text(event.action, event.changes)
            or str(ACTION_LABELS.get(event.action, event.action)))


def change_value(key: str, value, names: dict | None = None) -> str:
    """An audited value as the user reads it: Dutch labels for codes, ja/nee, — for empty, the
    name of a record it refers to (``names`` from ``change_names``), dates and amounts."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("ja") if value else _("nee")
    if key in VALUE_LABELS:
        return labels.label(VALUE_LABELS[key], value)
    value = audit_labels.format_value("organisation", key, value, names)
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _municipalities():
    return db.session.scalars(sa.select(Municipality).order_by(Municipality.name)).all()


@bp.route("/")
@login_required
def index():
    """The list: search, filters, sorting and pagination without a COUNT(*)."""
    filters = OrganisationFilters.from_args(request.args)
    form = OrganisationFilterForm(request.args)
    clusters = db.session.scalars(
        sa.select(Cluster).where(Cluster.deleted_at.is_(None)).order_by(Cluster.name)).all()
    form.set_choices(_municipalities(), clusters)
    form.sort.data = filters.sort
    page = request_keyset_page(organisation_list(filters), current_app.config["PAGE_SIZE"])
    kept = {k: request.args[k] for k in LIST_ARGS if request.args.get(k)}

    def page_url(number: int, cursor: str | None = None) -> str:
        return url_for("organisations.index", **kept, cursor=cursor, page=number)

    def sort_url(column: str) -> str:
        key, reverse = SORT_COLUMNS[column]
        target = reverse if (filters.sort == key and reverse) else key
        return url_for("organisations.index", **{**kept, "sort": target})

    def sort_state(column: str) -> str | None:
        key, reverse = SORT_COLUMNS[column]
        if filters.sort == key:
            return "descending" if column == "employees" else "ascending"
        if reverse and filters.sort == reverse:
            return "ascending" if column == "employees" else "descending"
        return None

    return render_template("organisations/index.html", page=page, form=form, filters=filters,
                           page_url=page_url, sort_url=sort_url, sort_state=sort_state,
                           filtered=bool(kept.keys() - {"sort"}))


def change_names(changes) -> dict[tuple[str, str], str]:
    """The names of the organisations and municipalities the recent changes refer to (a parent,
    a merge, a municipality), as ``format_value`` wants them: one query per kind, none when no
    change names one."""
    wanted: dict[str, set] = {}
    for event, _user in changes:
        for key, pair in (event.changes or {}).items() if event.action == "update" else ():
            kind = audit_labels.reference_type("organisation", key)
            if kind in ("organisation", "municipality") and isinstance(pair, list):
                wanted.setdefault(kind, set()).update(str(v) for v in pair if v not in (None, ""))
    names = {}
    ids = [int(i) for i in wanted.get("organisation", ()) if i.isdigit() and len(i) < 10]
    if ids:
        names |= {("organisation", str(i)): n for i, n in db.session.execute(
            sa.select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids)))}
    codes = [c for c in wanted.get("municipality", ()) if len(c) <= 10]
    if codes:
        names |= {("municipality", c): n for c, n in db.session.execute(
            sa.select(Municipality.code, Municipality.name).where(Municipality.code.in_(codes)))}
    return names


def _recent_changes(org_id: int, limit: int = 10):
    """The organisation's audit events, with those of the records merged into it."""
    from ..organisations.merge import history_ids

    ids = [str(i) for i in history_ids(org_id)]
    stmt = (
        sa.select(AuditEvent, User.name)
        .outerjoin(User, AuditEvent.user_id == User.id)
        .where(AuditEvent.entity_type == "organisation", AuditEvent.entity_id.in_(ids),
               record_changes())  # not the views and refusals of the audit log
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return db.session.execute(stmt).all()


def _team_candidates():
    return db.session.scalars(
        sa.select(User)
        .where(User.active.is_(True), User.role.in_(
            [Role.ADMIN, Role.REGIONAL_ACCOUNT_MANAGER, Role.LOCAL_ACCOUNT_MANAGER]))
        .order_by(User.name)
    ).all()


def _render_detail(org: Organisation, team_form: AccountTeamForm | None = None, status=200,
                   join_form=None):
    # A merged record is history: its data lives on in the survivor, which is edited instead.
    may_edit = org.merged_into_id is None and can_edit_organisation(current_user, org)
    # The account team is not part of editing (DESIGN 4.4): admins and the strategic manager only.
    may_manage_team = org.merged_into_id is None and can_manage_account_team(current_user, org)
    if may_manage_team and team_form is None:
        team_form = AccountTeamForm(formdata=None)
    if team_form is not None:
        team_form.user_id.choices = options([("", _("— kies een accountmanager —"))] + [
            (str(u.id), f"{u.name} ({u.municipality.name if u.municipality else _('regio')})")
            for u in _team_candidates()])
    contacts = None
    changes = _recent_changes(org.id)
    if can_view_contacts(current_user):
        contacts = db.session.scalars(contact_list(
            organisation_id=org.id, include_restricted=current_user.is_admin).limit(51)).all()
    subsidiaries = db.session.scalars(
        sa.select(Organisation)
        .where(Organisation.parent_id == org.id, Organisation.deleted_at.is_(None))
        .order_by(Organisation.name).limit(50)
    ).all()
    team = sorted(org.team, key=lambda m: (m.team_role != "strategic", m.user.name))
    timeline_kind = request.args.get("kind") if request.args.get("kind") in TIMELINE_KINDS else None
    flt, filter_form = timeline_filter(request.args)
    may_log = can_see_interactions(current_user)
    # The first screenful of the timeline; "Meer tonen" reads up to TIMELINE_LIMIT.
    more = request.args.get("more") == "1"
    limit = TIMELINE_LIMIT if more else PAGE_TIMELINE_LIMIT
    kept = {k: request.args[k] for k in TIMELINE_ARGS if request.args.get(k)}
    return render_template(
        "organisations/detail.html", org=org, may_edit=may_edit, team=team,
        may_manage_team=may_manage_team, action_text=action_text,
        timeline=organisation_timeline(org.id, current_user,
                                       kinds=[timeline_kind] if timeline_kind else None,
                                       flt=flt, previews=may_log, limit=limit),
        timeline_kind=timeline_kind, timeline_kinds=TIMELINE_KIND_LABELS,
        timeline_url=timeline_entry_url, timeline_limit=limit,
        timeline_more_url=None if more else url_for(
            "organisations.detail", org_id=org.id, **kept, more=1, _anchor="tijdlijn"),
        timeline_form=filter_form, timeline_filtered=bool(timeline_kind or flt != TimelineFilter()),
        may_log=may_log, summary=summary(org, team, current_user, may_edit=may_edit),
        sections=page_sections(org.id, current_user,
                               contacts_shown=can_view_contacts(current_user)),
        team_form=team_form, contacts=contacts, subsidiaries=subsidiaries,
        network=organisation_network(org, current_user),
        changes=changes, change_names=change_names(changes), change_labels=CHANGE_LABELS,
        action_labels=ACTION_LABELS, change_value=change_value,
        establishments=[e for e in org.establishments if e.deleted_at is None],
        **join_context(org, current_user, join_form),
    ), status


@bp.route("/<int:org_id>")
@login_required
def detail(org_id: int):
    return _render_detail(get_organisation(org_id))


def _render_form(form, org=None, status=200):
    return render_template("organisations/form.html", form=form, org=org), status


def _refuse(form, org=None):
    """Re-render an invalid form with every message at once: the form's own (lengths,
    required) plus the service's rules for the fields that passed those checks."""
    try:
        clean_organisation_data(form.service_data(), organisation=org)
    except ValidationError as e:
        apply_service_errors(form, {k: v for k, v in e.errors.items()
                                    if not (k in form._fields and form._fields[k].errors)})
    return _render_form(form, org, INVALID)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    if not can_create_organisation(current_user):
        raise PermissionDenied()
    form = OrganisationForm()
    form.set_municipality_choices(_municipalities())
    if not form.is_submitted():
        return _render_form(form)
    if not form.validate():
        return _refuse(form)
    form_page(form, lambda: _render_form(form)[0])
    org = create_organisation(form.service_data(), actor=current_user)
    flash(_("Organisatie %(name)s is toegevoegd.", name=org.name), "success")
    return redirect(url_for("organisations.detail", org_id=org.id))


@bp.route("/<int:org_id>/edit", methods=["GET", "POST"])
@login_required
def edit(org_id: int):
    org = get_organisation(org_id, for_edit=True, user=current_user)
    if request.method == "GET":
        form = OrganisationForm.from_organisation(org)
        form.set_municipality_choices(_municipalities())
        return _render_form(form, org)
    form = OrganisationForm()
    form.set_municipality_choices(_municipalities())
    if not form.validate():
        return _refuse(form, org)
    form_page(form, lambda: _render_form(form, org)[0], conflict_message=CONFLICT_MESSAGE,
              current=lambda: OrganisationForm.from_organisation(org))
    update_organisation(org, form.service_data(), actor=current_user,
                        expected_version=submitted_version(form))
    flash(_("De wijzigingen in %(name)s zijn opgeslagen.", name=org.name), "success")
    return redirect(url_for("organisations.detail", org_id=org.id))


@bp.route("/<int:org_id>/delete", methods=["GET", "POST"])
@login_required
def delete(org_id: int):
    """Soft delete after a confirmation page; an admin can restore it."""
    org = get_organisation(org_id, for_edit=True, user=current_user)
    return confirm_soft_delete(
        org, delete=delete_organisation, form_cls=VersionForm,
        template="organisations/delete.html", context={"org": org},
        conflict_message=_("Iemand anders heeft deze organisatie intussen gewijzigd. Bekijk de "
                           "huidige gegevens voordat u haar verwijdert."),
        success_message=_("Organisatie %(name)s is verwijderd. Een beheerder kan haar herstellen.",
                          name=org.name),
        next_url=url_for("organisations.index"))


@bp.route("/<int:org_id>/team", methods=["POST"])
@login_required
def team_add(org_id: int):
    """Add a user to the account team or change their role; only admins and the strategic
    manager may (the service decides; a new strategic manager is a hand-over)."""
    org = get_organisation(org_id)
    if not can_manage_account_team(current_user, org):
        raise PermissionDenied()  # before any form is shown again; the service checks too
    form = AccountTeamForm()
    form.validate()
    user = None
    if (form.user_id.data or "").isdigit() and len(form.user_id.data) < 10:
        user = db.session.get(User, int(form.user_id.data))
    if user is None or not user.active:
        apply_service_errors(form, {"user_id": _("Kies een accountmanager.")})
    if form.errors:
        return _render_detail(org, form, INVALID)
    form_page(form, lambda: _render_detail(org, form)[0])
    set_account_team_member(org, user, form.team_role.data, actor=current_user)
    flash(_("%(name)s is toegevoegd aan het accountteam.", name=user.name), "success")
    return redirect(url_for("organisations.detail", org_id=org.id, _anchor="accountteam"))


@bp.route("/<int:org_id>/team/<int:member_id>/remove", methods=["POST"])
@login_required
def team_remove(org_id: int, member_id: int):
    org = get_organisation(org_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        remove_account_team_member(org, member_id, actor=current_user)
    except ValidationError:
        raise NotFound() from None
    flash(_("Het teamlid is uit het accountteam verwijderd."), "success")
    return redirect(url_for("organisations.detail", org_id=org.id, _anchor="accountteam"))
