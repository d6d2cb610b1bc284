"""Rows held for review: a row without a KvK number that looks like an existing organisation
(name and postcode, DESIGN 4.5) waits until someone merges it into that organisation or
creates it as a new one. Both go through the organisation services (validated and audited)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from ..db import utcnow
from ..extensions import db
from ..organisations.models import Organisation
from ..organisations.services import create_organisation, update_organisation
from ..exceptions import ValidationError
from .models import ImportReview, ReviewStatus
from .rules import normalise_name


def pending_reviews() -> sa.Select:
    """Rows waiting for a decision, oldest first."""
    return (sa.select(ImportReview).where(ImportReview.status == ReviewStatus.PENDING)
            .order_by(ImportReview.created_at, ImportReview.id))


def _claim(review: ImportReview, status: ReviewStatus, actor) -> None:
    """Mark the review resolved, unless someone else just did (then ValidationError)."""
    result = db.session.execute(
        sa.update(ImportReview)
        .where(ImportReview.id == review.id, ImportReview.status == ReviewStatus.PENDING)
        .values(status=status.value, resolved_by_id=getattr(actor, "id", None),
                resolved_at=utcnow())
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise ValidationError(_("Deze rij is al afgehandeld."))
    db.session.refresh(review)


def merge_review(review: ImportReview, *, actor) -> Organisation:
    """Apply the held row to its candidate organisation; empty values never erase, SBI codes
    are added to the organisation's own. Flushes; the caller commits."""
    if review.status != ReviewStatus.PENDING:
        raise ValidationError(_("Deze rij is al afgehandeld."))
    org = db.session.get(Organisation, review.candidate_id)
    if org is None or org.deleted_at is not None:
        raise ValidationError(_("De organisatie van deze rij bestaat niet meer; maak de rij "
                                "aan als nieuwe organisatie."))
    data = {k: v for k, v in (review.data or {}).items() if v not in (None, "", [])}
    if normalise_name(data.get("name")) == normalise_name(org.name):
        data.pop("name", None)  # "Jansen BV" for "Jansen B.V.": the stored spelling stays
    if "sbi_codes" in data:
        codes = [{"code": s.code, "version": s.version} for s in org.sbi_codes]
        codes += [c for c in data["sbi_codes"] if c not in codes]
        data["sbi_codes"] = codes
    _claim(review, ReviewStatus.MERGED, actor)
    update_organisation(org, data, actor=actor, partial=True)
    review.resolved_organisation_id = org.id
    db.session.flush()
    return org


def create_from_review(review: ImportReview, *, actor) -> Organisation:
    """Create the held row as a new organisation. Flushes; the caller commits."""
    if review.status != ReviewStatus.PENDING:
        raise ValidationError(_("Deze rij is al afgehandeld."))
    _claim(review, ReviewStatus.CREATED, actor)
    org = create_organisation(dict(review.data or {}), actor=actor,
                              source=f"import:{review.job_id or ''} {review.source or ''}"[:200])
    review.resolved_organisation_id = org.id
    db.session.flush()
    return org
