"""Programme pages: the list, a programme's participation pipeline, adding one organisation
(issue 5). One participation lives in ``participation_views.py``, bulk add and bulk moves in
``bulk.py``.

Every signed-in user reads; only ``can_manage_participations`` users get the forms and may POST
(others 403). Views parse and call ``programmes.services``; the request boundary commits once
or rolls back (``sdd_crm.transaction``).
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..auth.models import User
from ..extensions import db
from ..interactions.queries import organisation_choice_label, resolve_organisation
from ..organisations.models import Organisation
from ..exceptions import PermissionDenied
from ..forms import form_page
from ..pagination import paginate, request_page
from ..reference.models import Municipality
from ..valuechains.models import Cluster
from . import bp
from .forms import FIELD_MAP, AddParticipationForm, PipelineFilterForm, apply_service_errors
from .labels import STATUS_ORDER
from .models import Participation, Programme
from .queries import (ParticipationFilters, get_programme_or_404, participation_list,
                      programme_list)
from .tally import tallies, tally, verdicts_for
from .services import (OWNER_ROLES, add_participation, allowed_next,
                       can_manage_participations)

INVALID, CONFLICT = 422, 409
FUNNEL_KINDS = ("status", "counted_status", "municipality_status")
PIPELINE_ARGS = ("q", "status", "municipality", "owner_id", "cluster", "counted", "organisation_id")


def require_manager() -> None:
    if not can_manage_participations(current_user):
        raise PermissionDenied()


def page_number() -> int:
    return request_page()


def owner_candidates() -> list[User]:
    """Active users who may own a participation (admin, regional AM, business developer)."""
    return list(db.session.scalars(sa.select(User).where(
        User.active.is_(True), User.role.in_(list(OWNER_ROLES))).order_by(User.name)))


def live_programmes() -> list[Programme]:
    return list(db.session.scalars(programme_list()))


@bp.route("/")
@login_required
def index():
    """Every live programme with its count against the target (DESIGN 4.2)."""
    programmes = live_programmes()
    # The kept figures (programmes/tally.py), not a count per request.
    kept = tallies(programmes, kinds=("counted", "status"))
    sizes = {pid: t.participations for pid, t in kept.items()}
    counts = {pid: t.count for pid, t in kept.items()}
    return render_template("programmes/index.html", programmes=programmes, counts=counts,
                           sizes=sizes, may_manage=can_manage_participations(current_user))


def _funnel(programme, filters) -> list[tuple[str, int]]:
    """How many participations per status, for the current filters except the status: from the
    kept tally when the only filter is the municipality or whether it counts, else counted."""
    others = dataclasses.replace(filters, status=None)
    kept = dataclasses.replace(others, municipality=None, counted=None) == ParticipationFilters()
    found = (tally(programme, kinds=FUNNEL_KINDS).funnel(municipality=others.municipality,
                                                        counted=others.counted)
             if kept else None)
    if found is None:
        base = participation_list(programme, others)
        sub = base.with_only_columns(Participation.status).order_by(None).subquery()
        found = dict(db.session.execute(
            sa.select(sub.c.status, sa.func.count()).group_by(sub.c.status)).all())
    return [(s, found.get(s, 0)) for s in STATUS_ORDER]


@bp.route("/<code>")
@login_required
def pipeline(code: str):
    """One programme's participations: filters, funnel, and whether each counts."""
    return render_pipeline(get_programme_or_404(code))


def render_pipeline(programme, *, selected=frozenset(), move_errors=(), move_to=None, code=200):
    """The pipeline page for the filters in the query string (also after a refused bulk move,
    with the user's selection kept)."""
    filters = ParticipationFilters.from_args(request.args)
    form = PipelineFilterForm(request.args)
    owners = owner_candidates()
    form.set_choices(
        db.session.scalars(sa.select(Municipality).order_by(Municipality.name)).all(), owners,
        db.session.scalars(sa.select(Cluster).where(Cluster.deleted_at.is_(None))
                           .order_by(Cluster.name)).all())
    funnel = _funnel(programme, filters)  # (first: reading the tally tells it is counted)
    page = paginate(participation_list(programme, filters), page_number(),
                    current_app.config["PAGE_SIZE"])
    verdicts = verdicts_for(programme, [p.id for p in page.items])
    kept = {k: request.args[k] for k in PIPELINE_ARGS if request.args.get(k)}
    may_manage = can_manage_participations(current_user)
    add_form = None
    if may_manage:
        add_form = AddParticipationForm(formdata=None, data={"programme": programme.code})
        add_form.set_choices([programme], owners)
        for f in add_form:  # the filter form above uses the plain ids (status, owner_id)
            f.id = f"nieuw-{f.name}"

    def page_url(number: int) -> str:
        return url_for("programmes.pipeline", code=programme.code, **kept, page=number)

    return render_template(
        "programmes/participations.html", programme=programme, page=page, form=form,
        filters=filters, verdicts=verdicts, funnel=funnel, page_url=page_url,
        filtered=bool(kept), funnel_args={k: v for k, v in kept.items() if k != "status"},
        may_manage=may_manage, add_form=add_form, allowed_next=allowed_next,
        selected=selected, move_errors=move_errors, move_to=move_to,
        move_url=url_for("programmes.move", code=programme.code, **kept, page=page.page),
        here=url_for("programmes.pipeline", code=programme.code, **kept, page=page.page)), code


# --- Adding one organisation --------------------------------------------------------------

def _render_add(form, candidates=(), status=200):
    return render_template("programmes/participation_new.html", form=form, candidates=candidates,
                           choice_label=organisation_choice_label), status


@bp.route("/participations/new", methods=["GET", "POST"])
@login_required
def add():
    """Put one organisation in a programme (from the pipeline or the organisation's page)."""
    require_manager()
    form = AddParticipationForm()
    form.set_choices(live_programmes(), owner_candidates())
    if not form.is_submitted():
        form.programme.data = request.args.get("programme") or form.programme.data
        org_id = request.args.get("organisation_id", "")
        org = (db.session.get(Organisation, int(org_id))
               if org_id.isdigit() and len(org_id) < 10 else None)
        if org is not None and org.deleted_at is None:
            form.organisation.data = organisation_choice_label(org)
        return _render_add(form)
    form.validate()
    programme = next((p for p in live_programmes() if p.code == form.programme.data), None)
    if programme is None:
        apply_service_errors(form, {"programme": _("Kies een programma.")})
    org, candidates = (None, [])
    if not form.organisation.errors:
        org, candidates = resolve_organisation(form.organisation.data)
        if org is None:
            form.organisation.errors = [*form.organisation.errors, (
                _("Meerdere organisaties passen bij uw invoer; kies er één uit de lijst.")
                if candidates else _("Geen organisatie gevonden met deze naam of dit KvK-nummer."))]
        else:
            form.organisation.data = organisation_choice_label(org)
    if form.errors:
        return _render_add(form, candidates, INVALID)
    form_page(form, lambda: _render_add(form)[0], field_map=FIELD_MAP)
    p = add_participation(programme, org.id, actor=current_user, status=form.status.data,
                          owner_id=form.owner_id.data or None, notes=form.notes.data or None)
    flash(_("%(name)s is toegevoegd aan %(programme)s.", name=org.name,
            programme=programme.name), "success")
    return redirect(url_for("programmes.participation", code=programme.code, participation_id=p.id))


# Their routes and template globals.
from . import bulk, labels, participation_views  # noqa: E402,F401
