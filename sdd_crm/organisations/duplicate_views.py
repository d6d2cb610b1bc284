"""Browser screens for duplicate organisations: the list of likely pairs, the comparison with
its merge form, "geen dubbel" (not a duplicate) marks, and the banner data on a merged
organisation's page.

Admins and regional account managers only (``merge.MERGE_ROLES``): they keep the regional
picture clean; a merge changes what every municipality sees and the programme counts.
The list of marked pairs, and taking a mark off, are for admins.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField
from wtforms.validators import InputRequired, Optional

from ..auth.models import Role, User
from ..contacts.models import Contact
from ..extensions import db
from ..forms import CheckedTextMixin, ServiceErrorsMixin, form_page, max_length, options
from ..interactions.models import Interaction, Task
from ..jobs.views import register_kind
from ..leads.models import Lead
from ..organisations.models import Establishment, Organisation
from ..organisations.queries import get_organisation
from ..pagination import Page, paginate
from ..permissions import roles_required
from ..programmes.models import Participation
from ..valuechains.models import ChainRole, SupplyLink
from . import duplicates_bp as bp
from .dismissals import (NOTE_MAX, dismiss_pair, dismissal_list, find_dismissal,
                         undo_dismissal)
from .duplicates import (JOB_KIND, Pair, current_search, explain, latest_search, start_search,
                         stored_pairs)
from .merge import FIELD_GROUPS, final_survivor, merge_organisations, takes_merged

register_kind(JOB_KIND, title=_l("Dubbele organisaties zoeken"))
PER_PAGE = 50
MERGE_CONFLICT = _l("Een van beide organisaties is intussen gewijzigd. Bekijk de gegevens "
                    "hieronder opnieuw en voeg dan samen.")
MERGERS = (Role.ADMIN, Role.REGIONAL_ACCOUNT_MANAGER)
GROUP_LABELS = {
    "name": _l("Naam"), "org_type": _l("Type"), "legal_form": _l("Rechtsvorm"),
    "employees": _l("Werkzame personen"), "annual_turnover_eur": _l("Jaaromzet"),
    "balance_sheet_total_eur": _l("Balanstotaal"), "address": _l("Adres"),
    "website": _l("Website"), "phone": _l("Telefoon"), "email": _l("E-mailadres"),
    "description": _l("Omschrijving"), "status": _l("Status"),
}
# What a merge moves, counted per organisation on the comparison page.
ATTACHED = (
    ("contacts", _l("Contactpersonen"), Contact, Contact.organisation_id),
    ("interactions", _l("Contactmomenten"), Interaction, Interaction.organisation_id),
    ("tasks", _l("Taken"), Task, Task.organisation_id),
    ("leads", _l("Signalen"), Lead, Lead.organisation_id),
    ("participations", _l("Deelnames aan programma's"), Participation,
     Participation.organisation_id),
    ("establishments", _l("Vestigingen"), Establishment, Establishment.organisation_id),
    ("roles", _l("Rollen in waardeketens"), ChainRole, ChainRole.organisation_id),
)


class MergeForm(CheckedTextMixin, FlaskForm):
    survivor = RadioField(_l("Welke organisatie blijft bestaan?"), choices=options(
        [("a", ""), ("b", "")]), validators=[InputRequired(
            message=_l("Kies de organisatie die blijft bestaan."))])
    version_a = HiddenField()
    version_b = HiddenField()


class SearchForm(CheckedTextMixin, FlaskForm):
    """Only the CSRF token: starting a search is a POST."""


class DismissForm(ServiceErrorsMixin, FlaskForm):
    """"Geen dubbel", from a row of the list or from the comparison page."""

    note = StringField(_l("Notitie"), validators=[Optional(), max_length(NOTE_MAX)],
                       render_kw={"maxlength": NOTE_MAX})
    origin = HiddenField()  # "list" or "compare": where a refusal is shown
    page = HiddenField()  # the list page to return to


def _page_number(value=None) -> int:
    try:
        return max(1, min(int(value if value is not None else request.args.get("page", 1)),
                          100_000))
    except (TypeError, ValueError):
        return 1


def _render_list(number: int, *, dismiss: dict | None = None, status: int = 200):
    latest, running = latest_search(), current_search()
    pairs = stored_pairs(latest) if latest is not None else []
    start = (number - 1) * PER_PAGE
    page = Page(items=[Pair.from_dict(p) for p in pairs[start:start + PER_PAGE]], page=number,
                per_page=PER_PAGE, has_next=len(pairs) > start + PER_PAGE)
    ids = {i for p in page.items for i in (p.a_id, p.b_id)}
    orgs = {o.id: o for o in db.session.scalars(
        sa.select(Organisation).where(Organisation.id.in_(ids)))} if ids else {}
    return render_template(
        "imports/duplicates.html", page=page, orgs=orgs, latest=latest, running=running,
        total=len(pairs), explain=explain, form=SearchForm(), dismiss=dismiss,
        note_max=NOTE_MAX, page_url=lambda n: url_for("duplicates.duplicates", page=n)), status


@bp.route("")
@login_required
@roles_required(*MERGERS)
def duplicates():
    """The pairs of the latest search, best first, paged through the stored result."""
    return _render_list(_page_number())


@bp.route("/search", methods=["POST"])
@login_required
@roles_required(*MERGERS)
def duplicates_search():
    if not SearchForm().validate_on_submit():
        abort(400)
    start_search(actor=current_user)  # enqueued once the request has committed
    flash(_("Het zoeken naar dubbelen is gestart; de lijst vult zich zodra het klaar is."),
          "info")
    return redirect(url_for("duplicates.duplicates"))


def _attached_counts(ids: list[int]) -> dict[str, dict[int, int]]:
    counts: dict[str, dict[int, int]] = {}
    for key, _label, model, column in ATTACHED:
        stmt = sa.select(column, sa.func.count()).where(column.in_(ids)).group_by(column)
        if hasattr(model, "deleted_at"):
            stmt = stmt.where(model.deleted_at.is_(None))
        counts[key] = dict(db.session.execute(stmt).all())
    links = {}
    for org_id in ids:
        links[org_id] = db.session.scalar(sa.select(sa.func.count()).select_from(SupplyLink).where(
            SupplyLink.deleted_at.is_(None),
            sa.or_(SupplyLink.supplier_id == org_id, SupplyLink.customer_id == org_id)))
    counts["links"] = links
    return counts


def _suggested_survivor(a: Organisation, b: Organisation, counts) -> str:
    """The one with a KvK number, else the one with more attached, else the older record."""
    if bool(a.kvk_number) != bool(b.kvk_number):
        return "a" if a.kvk_number else "b"
    weight = {o.id: sum(c.get(o.id, 0) for c in counts.values()) for o in (a, b)}
    if weight[a.id] != weight[b.id]:
        return "a" if weight[a.id] > weight[b.id] else "b"
    return "a" if a.id < b.id else "b"


def _group_value(org: Organisation, group: str) -> list:
    return [getattr(org, f) for f in FIELD_GROUPS[group]]


def _blank(values) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _render_compare(a, b, form, *, counts=None, error=None, status=200, takes=None,
                    dismiss_form=None):
    counts = counts if counts is not None else _attached_counts([a.id, b.id])
    suggested = _suggested_survivor(a, b, counts)
    if form.survivor.data not in ("a", "b"):
        form.survivor.data = suggested
    keep = form.survivor.data
    survivor, merged = (a, b) if keep == "a" else (b, a)
    rows = []
    for group in FIELD_GROUPS:
        va, vb = _group_value(a, group), _group_value(b, group)
        differ = va != vb and not _blank(va) and not _blank(vb)
        # Checked by default: what the merge would do without a choice.
        default = ("b" if keep == "a" else "a") if takes_merged(group, survivor, merged) else keep
        rows.append({"group": group, "label": GROUP_LABELS[group], "a": va, "b": vb,
                     "choose": differ, "checked": (takes or {}).get(group, default)})
    merged_a, merged_b = final_survivor(a) if a.merged_into_id else None, \
        final_survivor(b) if b.merged_into_id else None
    dismissal = find_dismissal(a.id, b.id)
    dismissed_by = db.session.get(User, dismissal.dismissed_by_id) \
        if dismissal is not None and dismissal.dismissed_by_id else None
    return render_template(
        "imports/duplicate_compare.html", a=a, b=b, form=form, rows=rows, counts=counts,
        attached=ATTACHED, error=error, merged_a=merged_a, merged_b=merged_b,
        both_kvk=bool(a.kvk_number and b.kvk_number), dismissal=dismissal,
        dismissed_by=dismissed_by,
        dismiss_form=dismiss_form or DismissForm(formdata=None, data={"origin": "compare"})
    ), status


def _pair(a_id: int, b_id: int) -> tuple[Organisation, Organisation]:
    if a_id == b_id:
        abort(404)
    return get_organisation(a_id), get_organisation(b_id)


def _fresh_merge_form(a, b) -> MergeForm:
    return MergeForm(formdata=None, data={"version_a": str(a.version),
                                          "version_b": str(b.version)})


@bp.route("/<int:a_id>/<int:b_id>", methods=["GET", "POST"])
@login_required
@roles_required(*MERGERS)
def compare(a_id: int, b_id: int):
    """Side by side, with a choice per field; POST merges (the unchosen record goes)."""
    a, b = _pair(a_id, b_id)
    if request.method == "GET":
        return _render_compare(a, b, _fresh_merge_form(a, b))
    form = MergeForm()
    takes = {g: request.form.get(f"take_{g}") for g in FIELD_GROUPS
             if request.form.get(f"take_{g}") in ("a", "b")}
    if not form.validate():
        return _render_compare(a, b, form, status=422, takes=takes)
    keep = form.survivor.data
    survivor, merged = (a, b) if keep == "a" else (b, a)
    versions = (form.version_a.data, form.version_b.data)
    choices = {g: ("survivor" if v == keep else "merged") for g, v in takes.items()}
    names = (survivor.name, merged.name)

    def render_refusal():
        """Both records as they are now (the request rolled back), with the reason on top."""
        a, b = _pair(a_id, b_id)
        error = " ".join(str(m) for m in form.form_errors)
        if str(MERGE_CONFLICT) in form.form_errors:  # a second merge takes the current data
            form.version_a.data, form.version_b.data = str(a.version), str(b.version)
        form.form_errors.clear()  # shown once, as the page's alert
        return _render_compare(a, b, form, takes=takes, error=error)[0]

    form_page(form, render_refusal, conflict_message=MERGE_CONFLICT)
    result = merge_organisations(
        survivor, merged, actor=current_user, choices=choices,
        expected_versions=versions if keep == "a" else versions[::-1])
    notes = list(result.notes)
    current_app.logger.info("Organisation %s merged into %s by user %s", result.merged_id,
                            result.survivor_id, current_user.id)
    flash(_("%(merged)s is samengevoegd met %(survivor)s.", merged=names[1], survivor=names[0]),
          "success")
    for note in notes[:10]:
        flash(note, "info")
    return redirect(url_for("organisations.detail", org_id=result.survivor_id))


@bp.route("/<int:a_id>/<int:b_id>/dismiss", methods=["POST"])
@login_required
@roles_required(*MERGERS)
def dismiss(a_id: int, b_id: int):
    """"Geen dubbel": the pair leaves the list (and every later search) at once."""
    a, b = _pair(a_id, b_id)
    form = DismissForm()
    from_list = form.origin.data == "list"
    number = _page_number(form.page.data or 1)

    def render_refusal():
        """The page the form came from, with the messages (and the note) kept."""
        if from_list:
            errors = [str(m) for f in (form.note.errors, form.form_errors) for m in f]
            return _render_list(number, dismiss={
                "a": a_id, "b": b_id, "note": form.note.data or "", "errors": errors})[0]
        a, b = _pair(a_id, b_id)
        return _render_compare(a, b, _fresh_merge_form(a, b), dismiss_form=form)[0]

    if not form.validate():
        return render_refusal(), 422
    form_page(form, render_refusal)
    dismiss_pair(a.id, b.id, actor=current_user, note=form.note.data)
    flash(_("%(a)s en %(b)s zijn gemarkeerd als geen dubbel en staan niet meer in de lijst.",
            a=a.name, b=b.name), "success")
    return redirect(url_for("duplicates.duplicates", page=number if from_list else None))


@bp.route("/<int:a_id>/<int:b_id>/undo-dismissal", methods=["POST"])
@login_required
@roles_required(Role.ADMIN)
def undo_dismissal_view(a_id: int, b_id: int):
    """Take a "geen dubbel" mark off: the pair is listed again."""
    if not SearchForm().validate_on_submit():  # the CSRF token only
        abort(400)
    a, b = db.session.get(Organisation, a_id), db.session.get(Organisation, b_id)
    names = (a.name if a else "#%d" % a_id, b.name if b else "#%d" % b_id)
    undone = undo_dismissal(a_id, b_id, actor=current_user)
    if undone:
        flash(_("De markering geen dubbel van %(a)s en %(b)s is ongedaan gemaakt; het paar "
                "staat weer in de lijst van mogelijke dubbelen.", a=names[0], b=names[1]),
              "success")
    else:
        flash(_("%(a)s en %(b)s waren niet (meer) gemarkeerd als geen dubbel.", a=names[0],
                b=names[1]), "info")
    if request.form.get("origin") == "compare" and a and b and a_id != b_id:
        return redirect(url_for("duplicates.compare", a_id=a_id, b_id=b_id))
    return redirect(url_for("duplicates.dismissed"))


@bp.route("/dismissed")
@login_required
@roles_required(Role.ADMIN)
def dismissed():
    """The pairs marked as not duplicates, the most recent first, each with an undo button."""
    page = paginate(dismissal_list(), _page_number(), PER_PAGE)
    ids = {i for d in page.items for i in (d.organisation_a_id, d.organisation_b_id)}
    orgs = {o.id: o for o in db.session.scalars(
        sa.select(Organisation).where(Organisation.id.in_(ids)))} if ids else {}
    user_ids = {d.dismissed_by_id for d in page.items if d.dismissed_by_id}
    users = {u.id: u for u in db.session.scalars(
        sa.select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    return render_template("imports/dismissals.html", page=page, orgs=orgs, users=users,
                           form=SearchForm(),
                           page_url=lambda n: url_for("duplicates.dismissed", page=n))


@bp.app_template_global()
def merge_banner(org: Organisation) -> dict:
    """For the organisation page: the record it was merged into (following a chain), and the
    records merged into it (one indexed query)."""
    survivor = final_survivor(org) if org.merged_into_id is not None else None
    merged_from = db.session.scalars(
        sa.select(Organisation).where(Organisation.merged_into_id == org.id)
        .order_by(Organisation.name).limit(20)).all()
    return {"survivor": survivor, "merged_from": merged_from}
