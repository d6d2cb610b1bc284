"""Many at once: bulk add from the filtered organisation list, moving ticked participations of
the pipeline to one status; and the programme boxes on the organisation pages.

"All SMEs in Maritieme maakindustrie in Sliedrecht → identified": the organisation list's filter
travels in the URL; the confirmation page and the POST both re-evaluate it on the server (ids
from the browser are never trusted), in one query for the ids and their size facts, capped at
``MAX_BULK``. The SME test is DESIGN 4.1 (``programmes.sme``), unverified SMEs included.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..auth.models import User
from ..extensions import db
from ..interactions.queries import organisation_choice_label
from ..organisations.models import Organisation
from ..organisations.queries import OrganisationFilters, organisation_list
from ..exceptions import ConflictError, PermissionDenied, ValidationError
from ..forms import form_page
from . import bp
from .forms import BulkAddForm, MoveForm, QuickAddForm, options
from .labels import STATUS_ORDER, participation_status_label
from .models import Participation, Programme
from .queries import get_programme_or_404
from .services import allowed_next, bulk_add, can_manage_participations, update_participation
from .sme import SizeFacts, SmeStatus, sme_status

MAX_BULK = 5000  # one confirmation, one transaction; larger sets need a narrower filter
FILTER_ARGS = ("q", "kvk", "municipality", "cluster", "type", "size", "critical", "status")
INVALID = 422
BULK_ADD_RACE = _l("Iemand anders voegde tegelijk organisaties aan dit programma toe. Er is "
                   "niets opgeslagen; probeer het opnieuw.")
MOVE_RACE = _l("Iemand anders heeft intussen een van deze deelnames gewijzigd. Er is niets "
               "opgeslagen; bekijk de huidige stand en probeer het opnieuw.")


def filter_args(args) -> dict[str, str]:
    """The organisation list's filter as query-string arguments (no sort, no page)."""
    return {k: args[k] for k in FILTER_ARGS if args.get(k)}


def has_filter(filters: OrganisationFilters) -> bool:
    return any(getattr(filters, name) is not None for name in (
        "q", "kvk", "municipality", "cluster_id", "org_type", "size_class", "critical", "status"))


@dataclass
class Selection:
    """The organisations a filter matches, as far as bulk add is concerned."""

    ids: list[int] = field(default_factory=list)
    too_many: bool = False
    sme_ids: set[int] = field(default_factory=set)
    unverified: int = 0
    already: set[int] = field(default_factory=set)

    def chosen(self, sme_only: bool) -> set[int]:
        return self.sme_ids if sme_only else set(self.ids)

    def to_add(self, sme_only: bool) -> int:
        return len(self.chosen(sme_only) - self.already)


def select_organisations(filters: OrganisationFilters, programme: Programme | None) -> Selection:
    """Evaluate the list's filter: ids (at most MAX_BULK), their SME status, those already in."""
    cols = (Organisation.id, Organisation.org_type, Organisation.employees,
            Organisation.annual_turnover_eur, Organisation.balance_sheet_total_eur,
            Organisation.parent_id)
    rows = db.session.execute(organisation_list(filters).with_only_columns(*cols)
                              .order_by(None).limit(MAX_BULK + 1)).all()
    if len(rows) > MAX_BULK:
        return Selection(too_many=True)
    facts = {r.id: SizeFacts(*r) for r in rows}
    known = dict(facts)
    todo = {f.parent_id for f in facts.values() if f.parent_id} - set(known)
    while todo:  # the groups above them, for the group test of DESIGN 4.1
        found = db.session.execute(sa.select(*cols).where(Organisation.id.in_(todo))).all()
        known.update((r.id, SizeFacts(*r)) for r in found)
        todo = {r.parent_id for r in found if r.parent_id} - set(known)
    selection = Selection(ids=[r.id for r in rows])
    for f in facts.values():
        status = sme_status(f, known.get)
        if status.counts:
            selection.sme_ids.add(f.id)
            selection.unverified += status == SmeStatus.SME_UNVERIFIED
    if programme is not None and rows:
        selection.already = set(db.session.scalars(sa.select(Participation.organisation_id).where(
            Participation.programme_id == programme.id, Participation.deleted_at.is_(None),
            Participation.organisation_id.in_(selection.ids))))
    return selection


def _programmes() -> list[Programme]:
    from .views import live_programmes

    return live_programmes()


@bp.route("/bulk-add", methods=["GET", "POST"])
@login_required
def bulk_add_confirm():
    """GET: how many match, are already in, are SMEs. POST: add them (the same filter, again)."""
    if not can_manage_participations(current_user):
        raise PermissionDenied()
    filters = OrganisationFilters.from_args(request.args)
    args = filter_args(request.args)
    programmes = _programmes()
    form = BulkAddForm()
    form.set_programmes(programmes)
    if form.is_submitted():
        form.validate()
        # The page shows programme and status as a summary: their messages go on top.
        form.form_errors.extend(e for f in form for e in f.errors if e not in form.form_errors)
    else:
        form.programme.data = request.args.get("programme") or form.programme.data
        form.start_status.data = request.args.get("start_status") or "identified"
    programme = next((p for p in programmes if p.code == form.programme.data), None)
    if programme is None and _("Kies een programma.") not in form.form_errors:
        form.form_errors.append(_("Kies een programma."))
    if not has_filter(filters):
        form.form_errors.append(_("Kies eerst een of meer filters in de lijst met organisaties."))
    selection = select_organisations(filters, programme) if has_filter(filters) else Selection()
    if selection.too_many:
        form.form_errors.append(_(
            "Dit filter levert meer dan %(max)s organisaties op. Maak het filter nauwer "
            "(bijvoorbeeld op gemeente of cluster) en voeg ze in delen toe.",
            max=format_decimal(MAX_BULK)))

    def render(status=200):
        return render_template("programmes/participations_bulk.html", form=form,
                               selection=selection, programme=programme, args=args), status

    if not form.is_submitted():
        return render(200 if not form.errors else INVALID)
    if form.errors:
        return render(INVALID)
    chosen = selection.chosen(form.sme_only.data)
    form_page(form, lambda: render()[0], conflict_message=BULK_ADD_RACE,
              field_map={"status": "_"})
    try:
        result = bulk_add(programme, chosen, actor=current_user, status=form.start_status.data)
    except IntegrityError as e:  # someone added some of them at the same moment
        raise ConflictError() from e
    message = ngettext("%(added)s toegevoegd, %(skipped)s stond er al in.",
                       "%(added)s toegevoegd, %(skipped)s stonden er al in.", result["skipped"],
                       added=format_decimal(result["added"]),
                       skipped=format_decimal(result["skipped"]))
    left_out = len(selection.ids) - len(chosen)
    if left_out:
        message += " " + ngettext("%(n)s organisatie is geen mkb en is niet toegevoegd.",
                                  "%(n)s organisaties zijn geen mkb en zijn niet toegevoegd.",
                                  left_out, n=format_decimal(left_out))
    flash(message, "success")
    return redirect(url_for("programmes.pipeline", code=programme.code,
                            status=form.start_status.data))


# --- Moving several participations at once (from the pipeline) ----------------------------

MAX_MOVE = 200


def _selected_ids() -> list[int]:
    ids = []
    for raw in request.form.getlist("ids")[:MAX_MOVE]:
        if raw.isdigit() and len(raw) < 10 and int(raw) not in ids:
            ids.append(int(raw))
    return ids


@bp.route("/<code>/move", methods=["POST"])
@login_required
def move(code: str):
    """Move the ticked participations to one status: all of them, or none (each checked
    against the version the user saw and against the allowed moves)."""
    from .views import CONFLICT, PIPELINE_ARGS, render_pipeline, require_manager

    require_manager()
    programme = get_programme_or_404(code)
    ids, to_status = _selected_ids(), request.form.get("to_status") or ""
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    found = {p.id: p for p in db.session.scalars(
        sa.select(Participation).where(Participation.id.in_(ids),
                                       Participation.programme_id == programme.id,
                                       Participation.deleted_at.is_(None))
        .options(joinedload(Participation.organisation)))} if ids else {}
    problems, stale = [], False
    if not ids:
        problems.append(_("Kies eerst een of meer deelnemers (vink ze aan in de tabel)."))
    elif to_status not in STATUS_ORDER:
        problems.append(_("Kies een geldige status."))
    for pid in ids if not problems else []:
        p = found.get(pid)
        if p is None:
            problems.append(_("Een gekozen deelname bestaat niet meer."))
            continue
        if str(p.version) != request.form.get(f"v{pid}", str(p.version)):
            stale = True
            problems.append(_("%(name)s: iemand anders heeft deze deelname intussen gewijzigd.",
                              name=p.organisation.name))
        elif to_status not in allowed_next(p.status):
            problems.append(_("%(name)s: van '%(from)s' kan niet naar '%(to)s'.",
                              name=p.organisation.name,
                              **{"from": participation_status_label(p.status),
                                 "to": participation_status_label(to_status)}))
    if problems:
        return render_pipeline(programme, selected=set(ids), move_errors=problems,
                               move_to=to_status, code=CONFLICT if stale else INVALID)
    # All or nothing: a refusal of any one rolls the whole request back.
    form_page(form, lambda: render_pipeline(programme, selected=set(ids), move_to=to_status,
                                            move_errors=[str(MOVE_RACE)])[0],
              conflict_message=MOVE_RACE)
    try:
        for pid in ids:
            update_participation(found[pid], actor=current_user,
                                 expected_version=request.form.get(f"v{pid}"), status=to_status)
    except ValidationError as e:  # a move checked a moment ago is refused now: a race as well
        raise ConflictError() from e
    flash(ngettext("%(num)s deelnemer staat nu op '%(status)s'.",
                   "%(num)s deelnemers staan nu op '%(status)s'.", len(ids),
                   status=participation_status_label(to_status)), "success")
    args = {k: v for k, v in request.args.items() if k in PIPELINE_ARGS + ("page",)}
    return redirect(url_for("programmes.pipeline", code=programme.code, **args))


# --- Template globals for the boxes other pages include -----------------------------------

@bp.app_template_global()
def bulk_add_box(filters: OrganisationFilters):
    """For the organisation list: the programmes to bulk-add to, or None (no box)."""
    if not current_user.is_authenticated or not can_manage_participations(current_user) \
            or not has_filter(filters):
        return None
    form = BulkAddForm(formdata=None)
    form.set_programmes(_programmes())
    return {"form": form, "args": filter_args(request.args)}


@bp.app_template_global()
def organisation_participations(org):
    """For an organisation's page: its participation in every programme, and for managers a
    quick "add to programme" form (only the programmes it is not in yet)."""
    rows = db.session.execute(
        sa.select(Participation, Programme.code, Programme.name, User.name)
        .join(Programme, Programme.id == Participation.programme_id)
        .outerjoin(User, User.id == Participation.owner_id)
        .where(Participation.organisation_id == org.id, Participation.deleted_at.is_(None),
               Programme.deleted_at.is_(None))
        .order_by(Programme.name)).all()
    form = None
    if can_manage_participations(current_user):
        taken = {code for _p, code, _n, _o in rows}
        # Codes and names only: the programmes' targets and municipalities are not shown here.
        available = [(code, name) for code, name in db.session.execute(
            sa.select(Programme.code, Programme.name).where(Programme.deleted_at.is_(None))
            .order_by(Programme.name, Programme.id)) if code not in taken]
        if available:
            form = QuickAddForm(formdata=None)
            form.programme.choices = options(available)
    return {"rows": rows, "form": form, "org_label": organisation_choice_label(org)}
