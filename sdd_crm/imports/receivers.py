"""How imports react to other features' changes (connected when the package is imported)."""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..signals import organisations_merged
from .models import ImportReview, ReviewStatus


@organisations_merged.connect
def move_import_reviews(survivor, *, merged, result, **_) -> None:
    """Held import rows follow the survivor; the same row held for both is held once."""
    held = set(db.session.scalars(sa.select(ImportReview.row_hash).where(
        ImportReview.candidate_id == survivor.id)))
    for review in db.session.scalars(sa.select(ImportReview).where(
            ImportReview.candidate_id == merged.id)):
        if review.row_hash not in held:
            review.candidate_id = survivor.id
            result.moved["import_reviews"] += 1
        elif review.status == ReviewStatus.PENDING:
            db.session.delete(review)  # the same row waits for the survivor already
    db.session.execute(sa.update(ImportReview).where(
        ImportReview.resolved_organisation_id == merged.id).values(
        resolved_organisation_id=survivor.id), execution_options={"synchronize_session": False})
