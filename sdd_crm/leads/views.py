"""Browser screens for leads (signalen): inbox and lists, sharing, the detail with its status
flow and comments, and the response-time report.

Views stay thin: the rules (who may move a lead, which transitions exist) live in
``leads.services``; views parse the form and call the service, and the request boundary
commits once or rolls back.
Viewers get 403 everywhere; a lead outside the user's circle is a 404 (its existence is not
revealed).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..exceptions import NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..forms import form_page, submitted_version
from ..organisations.queries import get_organisation
from ..pagination import paginate
from ..reference.models import Municipality
from ..views_common import forbidden, offer_version
from .visibility import can_move_lead
from . import bp
from .forms import (
    CommentForm,
    EditLeadForm,
    LeadFilterForm,
    ShareLeadForm,
    StatusForm,
    apply_service_errors,
)
from .models import Lead, LeadStatus, SharedWith
from .queries import (
    LeadFilters,
    colleagues,
    get_lead,
    lead_comments,
    lead_history,
    lead_list,
    may_see_all_leads,
    may_use_leads,
    municipality_names,
    with_list_relations,
)
from .reports import PERIODS, chart_data, response_times
from .services import (
    TRANSITIONS,
    add_comment,
    change_status,
    clean_lead_data,
    municipalities_with_receivers,
    share_lead,
    status_label,
    update_lead,
)

INVALID = 422
STATUS_CONFLICT = _l("Iemand anders heeft dit signaal intussen gewijzigd. Bekijk de huidige status "
                     "en probeer het zo nodig opnieuw.")
EDIT_CONFLICT = _l("Iemand anders heeft dit signaal intussen gewijzigd. Uw invoer staat hieronder "
                   "nog; kies per gewijzigd veld welke waarde blijft en sla op.")
# The receiving side's next steps, in the order the buttons appear.
STEP_ORDER = (LeadStatus.ACCEPTED, LeadStatus.IN_PROGRESS, LeadStatus.WON, LeadStatus.LOST,
              LeadStatus.DECLINED)


def _require_leads() -> None:
    if not may_use_leads(current_user):
        abort(403)


def _int_arg(name: str) -> int | None:
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return None
    return value if 0 < value < 2**31 else None


def _page_number() -> int:
    return min(_int_arg("page") or 1, 100_000)


def receiver_label(lead: Lead, names: dict[str, str]) -> str:
    """Who the lead was shared with, as the user reads it."""
    if lead.shared_with == SharedWith.USER:
        return lead.shared_with_user.name if lead.shared_with_user else _("Collega")
    if lead.shared_with == SharedWith.MUNICIPALITY:
        code = lead.shared_with_municipality_code
        return _("Gemeente %(name)s", name=names.get(code, code))
    return _("Regionaal team")


@bp.route("/")
@login_required
def index():
    """Inbox (leads for me), shared by me, and for the regional team and admins: all leads."""
    _require_leads()
    filters = LeadFilters.from_args(request.args)
    if filters.tab == "all" and not may_see_all_leads(current_user):
        abort(403)
    form = LeadFilterForm(request.args)
    page = paginate(with_list_relations(lead_list(current_user, filters)), _page_number(),
                    current_app.config["PAGE_SIZE"])
    kept = {k: v for k, v in (("status", filters.status), ("type", filters.type)) if v}

    def page_url(number: int) -> str:
        return url_for("leads.index", tab=filters.tab, **kept, page=number)

    return render_template("leads/index.html", page=page, form=form, filters=filters,
                           page_url=page_url, filtered=bool(kept), names=municipality_names(),
                           receiver_label=receiver_label,
                           may_see_all=may_see_all_leads(current_user))


def _share_form(org) -> ShareLeadForm:
    form = ShareLeadForm()
    municipalities = db.session.scalars(sa.select(Municipality).order_by(Municipality.name)).all()
    form.set_choices(colleagues(current_user), municipalities,
                     own_municipality=current_user.municipality_code,
                     reachable=municipalities_with_receivers())
    if not form.is_submitted() and org.municipality_code \
            and org.municipality_code != current_user.municipality_code:
        form.shared_with_municipality.data = org.municipality_code
    return form


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    """Share a lead about an organisation (``?organisation_id=``)."""
    _require_leads()
    organisation_id = _int_arg("organisation_id")
    if organisation_id is None:
        flash(_("Open eerst de organisatie waarover u een signaal wilt delen."), "info")
        return redirect(url_for("organisations.index"))
    org = get_organisation(organisation_id)
    form = _share_form(org)
    if not form.is_submitted():
        return render_template("leads/form.html", form=form, org=org)
    data = {**form.service_data(), "organisation_id": org.id}
    if not form.validate():
        # Every message at once: the form's own plus the service's for the other fields.
        try:
            clean_lead_data(data, actor=current_user)
        except ValidationError as e:
            apply_service_errors(form, {k: v for k, v in e.errors.items()
                                        if not (k in form._fields and form._fields[k].errors)})
        return render_template("leads/form.html", form=form, org=org), INVALID
    form_page(form, lambda: render_template("leads/form.html", form=form, org=org))
    try:
        lead = share_lead(data, actor=current_user)
    except PermissionDenied:
        raise forbidden(_("U kunt geen signalen delen.")) from None
    flash(_("Het signaal is gedeeld met: %(to)s.", to=receiver_label(lead, municipality_names())),
          "success")
    return redirect(url_for("leads.detail", lead_id=lead.id))


def _may_edit_text(lead: Lead) -> bool:
    return lead.status == LeadStatus.NEW and (lead.author_id == current_user.id
                                              or current_user.is_admin)


def _render_detail(lead: Lead, *, status_form: StatusForm | None = None,
                   comment_form: CommentForm | None = None, code: int = 200):
    receiving = can_move_lead(current_user, lead)
    steps = [s for s in STEP_ORDER if s in TRANSITIONS[lead.status]] if receiving else []
    decline_form = None
    if LeadStatus.DECLINED in steps:
        decline_form = status_form if (status_form is not None and status_form.status.data
                                       == LeadStatus.DECLINED) else StatusForm(formdata=None)
    return render_template(
        "leads/detail.html", lead=lead, history=lead_history(lead), comments=lead_comments(lead),
        names=municipality_names(), receiver_label=receiver_label, receiving=receiving,
        steps=steps, decline_form=decline_form, status_errors=(status_form.errors if status_form
                                                               else {}),
        comment_form=comment_form or CommentForm(formdata=None),
        may_edit=_may_edit_text(lead)), code


@bp.route("/<int:lead_id>")
@login_required
def detail(lead_id: int):
    _require_leads()
    return _render_detail(get_lead(lead_id, current_user))


@bp.route("/<int:lead_id>/status", methods=["POST"])
@login_required
def change(lead_id: int):
    """One step in the status flow, taken by the receiving side."""
    _require_leads()
    lead = get_lead(lead_id, current_user)
    form = StatusForm()
    if not form.validate():
        return _render_detail(lead, status_form=form, code=INVALID)
    form_page(form, lambda: _render_detail(lead, status_form=form)[0],
              conflict_message=STATUS_CONFLICT, field_map={"decline_reason": "reason"})
    try:
        change_status(lead, form.status.data or "", actor=current_user, reason=form.reason.data,
                      expected_version=form.version.data or None)
    except PermissionDenied:
        raise forbidden(_("Alleen de ontvangende kant kan de status van dit signaal "
                          "wijzigen.")) from None
    flash(_("De status van het signaal is nu: %(status)s.", status=status_label(lead.status)),
          "success")
    return redirect(url_for("leads.detail", lead_id=lead.id))


@bp.route("/<int:lead_id>/comments", methods=["POST"])
@login_required
def comment(lead_id: int):
    _require_leads()
    lead = get_lead(lead_id, current_user)
    form = CommentForm()
    if not form.validate():
        return _render_detail(lead, comment_form=form, code=INVALID)
    form_page(form, lambda: _render_detail(lead, comment_form=form)[0])
    try:
        add_comment(lead, form.body.data, actor=current_user)
    except PermissionDenied:  # pragma: no cover - get_lead already refused outsiders
        raise NotFound() from None
    flash(_("Uw reactie is geplaatst."), "success")
    return redirect(url_for("leads.detail", lead_id=lead.id, _anchor="reacties"))


@bp.route("/<int:lead_id>/edit", methods=["GET", "POST"])
@login_required
def edit(lead_id: int):
    """The author corrects the text while the lead is still new."""
    _require_leads()
    lead = get_lead(lead_id, current_user)
    if lead.author_id != current_user.id and not current_user.is_admin:
        raise forbidden(_("Alleen wie het signaal deelde, kan de tekst wijzigen."))
    if request.method == "GET":
        if lead.status != LeadStatus.NEW:
            flash(_("Een signaal dat al in behandeling is, kan niet meer worden gewijzigd."),
                  "info")
            return redirect(url_for("leads.detail", lead_id=lead.id))
        form = EditLeadForm(obj=lead)
        form.version.data = str(lead.version)
        return render_template("leads/edit.html", form=form, lead=lead)
    form = EditLeadForm()
    if not form.validate():
        return render_template("leads/edit.html", form=form, lead=lead), INVALID

    def render():
        offer_version(form, lead)
        return render_template("leads/edit.html", form=form, lead=lead)

    form_page(form, render, conflict_message=EDIT_CONFLICT, current=lambda: EditLeadForm(obj=lead))
    update_lead(lead, form.service_data(), actor=current_user,
                expected_version=submitted_version(form))
    flash(_("Het signaal is bijgewerkt."), "success")
    return redirect(url_for("leads.detail", lead_id=lead.id))


@bp.route("/response-times")
@login_required
def response_time_report():
    """How fast each receiving side answers (shared → accepted or declined)."""
    _require_leads()
    if not may_see_all_leads(current_user):
        abort(403)
    period = request.args.get("period") if request.args.get("period") in PERIODS else "365"
    report = response_times(PERIODS[period], municipalities=municipality_names())
    return render_template("leads/response_times.html", report=report, period=period,
                           periods=PERIODS, chart=chart_data(report))
