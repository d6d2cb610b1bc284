"""The review queue: imported rows without a KvK number that look like an existing organisation
(name and postcode) are held (DESIGN 4.5). Someone who may import merges each one into that
organisation or creates it as new; the rules live in ``review.py``.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from .. import labels
from ..auth.models import User
from ..extensions import db
from ..exceptions import ConflictError
from ..forms import form_page
from ..pagination import paginate, request_page
from ..reference.models import Municipality
from . import bp
from .forms import ActionForm
from .mapping import FIELDS
from .models import ImportReview, ReviewStatus
from .review import create_from_review, merge_review, pending_reviews
from .views import require_import

# The values shown side by side in the list; the detail page shows every field of the row.
LIST_FIELDS = ("name", "kvk_number", "street", "postcode", "city", "employees")
DETAIL_FIELDS = ("name", "kvk_number", "org_type", "legal_form", "street", "postcode", "city",
                 "municipality", "employees", "annual_turnover_eur", "balance_sheet_total_eur",
                 "website", "phone", "email", "sbi_codes", "description")
STATUS_LABELS = {ReviewStatus.PENDING: _l("Te beoordelen"),
                 ReviewStatus.MERGED: _l("Samengevoegd"),
                 ReviewStatus.CREATED: _l("Als nieuwe organisatie aangemaakt")}
EXTRA_LABELS = {"municipality_code": _l("Gemeente"), "sbi_codes": _l("SBI-codes")}


def field_labels() -> dict[str, str]:
    return {**EXTRA_LABELS, **{key: label for key, label in FIELDS["organisations"]}}


def municipality_names() -> dict[str, str]:
    return dict(db.session.execute(sa.select(Municipality.code, Municipality.name)).all())


def show(value, key: str = "", names: dict | None = None) -> str:
    """A value as the user reads it: lists joined, municipality by name, empty as —."""
    if key in ("municipality", "municipality_code") and names and value in names:
        return names[value]
    if key == "org_type" and value:
        return labels.label(labels.ORG_TYPE, value)
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v.get("code", v)) if isinstance(v, dict) else str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def organisation_value(org, key: str, *, detail: bool = False):
    """The organisation's value for an import field (municipality by name, SBI codes listed)."""
    if org is None:
        return None
    if key in ("municipality", "municipality_code"):
        return org.municipality.name if org.municipality else org.municipality_code
    if key in ("sbi_codes", "sbi_code", "main_sbi", "sbi_main"):
        return [s.code for s in org.sbi_codes] if detail else None
    if key == "establishment_number":
        if not detail:
            return None
        return [e.establishment_number for e in org.establishments if e.deleted_at is None]
    return getattr(org, key, None)


def _page_number() -> int:
    return request_page()


def _resolved_reviews() -> sa.Select:
    return (sa.select(ImportReview)
            .where(ImportReview.status != ReviewStatus.PENDING)
            .order_by(ImportReview.resolved_at.desc(), ImportReview.id.desc()))


def _user_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(ids))).all())


@bp.route("/review")
@login_required
def review_index():
    """Pending rows oldest first; ``?view=resolved`` lists the resolved ones, newest first."""
    require_import()
    resolved = request.args.get("view") == "resolved"
    stmt = _resolved_reviews() if resolved else pending_reviews()
    stmt = stmt.options(joinedload(ImportReview.candidate),
                        joinedload(ImportReview.resolved_organisation))
    page = paginate(stmt, _page_number(), current_app.config["PAGE_SIZE"])
    view = "resolved" if resolved else None

    def page_url(number: int) -> str:
        return url_for("imports.review_index", view=view, page=number)

    return render_template(
        "imports/review.html", page=page, resolved=resolved, page_url=page_url,
        form=ActionForm(formdata=None), labels=field_labels(), list_fields=LIST_FIELDS,
        show=show, organisation_value=organisation_value, status_labels=STATUS_LABELS,
        user_names=_user_names(r.resolved_by_id for r in page.items))


def get_review_or_404(review_id: int, *, lock: bool = False) -> ImportReview:
    stmt = sa.select(ImportReview).where(ImportReview.id == review_id)
    if lock:  # two people resolving the same row at once: the second waits, then sees it done
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    review = db.session.scalars(stmt).first()
    if review is None:
        abort(404)
    return review


def _render_detail(review: ImportReview, errors=(), status: int = 200):
    names_of_fields = field_labels()
    keys = [*DETAIL_FIELDS, *(k for k in (review.data or {}) if k not in DETAIL_FIELDS)]
    names = municipality_names()
    rows = [(names_of_fields.get(k, k), show((review.data or {}).get(k), k, names),
             show(organisation_value(review.candidate, k, detail=True), k, names)) for k in keys]
    return render_template(
        "imports/review_detail.html", review=review, rows=rows, errors=list(errors),
        form=ActionForm(formdata=None), status_labels=STATUS_LABELS,
        resolved_by=_user_names([review.resolved_by_id]).get(review.resolved_by_id)), status


@bp.route("/review/<int:review_id>")
@login_required
def review_detail(review_id: int):
    require_import()
    return _render_detail(get_review_or_404(review_id))


def _resolve(review_id: int, action, success_message):
    require_import()
    form = ActionForm()  # the CSRF token is checked for every POST by CSRFProtect
    # A refusal shows the row again as it is now (the request rolled back), with the reasons.
    form_page(form, lambda: _render_detail(get_review_or_404(review_id), form.form_errors)[0])
    review = get_review_or_404(review_id, lock=True)
    if review.status != ReviewStatus.PENDING:  # someone resolved it first (the lock waited)
        raise ConflictError(_("Deze rij is al afgehandeld."))
    organisation = action(review, actor=current_user)
    flash(success_message(organisation.name), "success")
    return redirect(url_for("imports.review_index"))


@bp.route("/review/<int:review_id>/merge", methods=["POST"])
@login_required
def review_merge(review_id: int):
    return _resolve(review_id, merge_review,
                    lambda name: _("De rij is samengevoegd met %(name)s.", name=name))


@bp.route("/review/<int:review_id>/create", methods=["POST"])
@login_required
def review_create(review_id: int):
    return _resolve(review_id, create_from_review,
                    lambda name: _("%(name)s is als nieuwe organisatie aangemaakt.", name=name))
