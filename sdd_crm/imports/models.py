"""Imports: saved column mappings and rows held for review (DESIGN 4.5; issue 6)."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import TimestampMixin, utcnow
from ..extensions import db


class ImportKind(enum.StrEnum):
    ORGANISATIONS = "organisations"
    CONTACTS = "contacts"


class ImportMapping(TimestampMixin, db.Model):
    """A column mapping corrected by a user, reused for files with the same headers."""

    __table_args__ = (sa.UniqueConstraint("kind", "signature"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    signature: Mapped[str] = mapped_column(sa.String(64))  # hash of the normalised headers
    name: Mapped[str | None] = mapped_column(sa.String(200))
    headers: Mapped[list] = mapped_column(sa.JSON, default=list)
    mapping: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # header -> field (or "")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))


class ReviewStatus(enum.StrEnum):
    PENDING = "pending"
    MERGED = "merged"
    CREATED = "created"


class ImportReview(db.Model):
    """A row without a KvK number that looks like an existing organisation (name and postcode):
    held until someone merges it into that organisation or creates it as new."""

    __table_args__ = (
        sa.Index("ix_import_review_status_created", "status", "created_at"),
        sa.UniqueConstraint("candidate_id", "row_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str | None] = mapped_column(sa.ForeignKey("job.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20), default=ImportKind.ORGANISATIONS)
    source: Mapped[str | None] = mapped_column(sa.String(255))  # the file name
    row_number: Mapped[int | None]
    row_hash: Mapped[str] = mapped_column(sa.String(64))  # the same row held twice is held once
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # normalised field values
    candidate_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=ReviewStatus.PENDING)
    resolved_organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"))
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    resolved_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    candidate = relationship("Organisation", foreign_keys=[candidate_id])
    resolved_organisation = relationship("Organisation", foreign_keys=[resolved_organisation_id])


class ImportChange(db.Model):
    """One record an import created or updated, with the fields it changed ([before, after]):
    what an admin's undo of that import puts back (issue 14 point 7). Written in bulk with the
    import's audit events, in the same transaction. ``extra`` holds what the audit event does not
    carry in full (the SBI codes with their main flags before the import)."""

    __table_args__ = (sa.Index("ix_import_change_job", "job_id", "entity_type", "action"),
                      sa.Index("ix_import_change_entity", "entity_type", "entity_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.ForeignKey("job.id"))
    entity_type: Mapped[str] = mapped_column(sa.String(20))  # organisation, establishment, contact
    entity_id: Mapped[int]
    action: Mapped[str] = mapped_column(sa.String(10))  # create, update
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # {field: [before, after]}
    extra: Mapped[dict | None] = mapped_column(sa.JSON)
    record_version: Mapped[int | None]  # the record's version right after the import


class ImportUndo(db.Model):
    """An import an admin undid: one row per import, so it is never undone twice."""

    job_id: Mapped[str] = mapped_column(sa.ForeignKey("job.id"), primary_key=True)
    undone_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    undone_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    result: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # counts and conflicts
