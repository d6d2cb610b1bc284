"""Contact persons at organisations, with their GDPR fields (DESIGN 2)."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import AuditedMixin, SoftDeleteMixin, TimestampMixin, VersionedMixin
from ..extensions import db


class LawfulBasis(enum.StrEnum):
    # A public authority cannot rely on legitimate interest for its tasks (GDPR art. 6(1)).
    PUBLIC_TASK = "public_task"
    CONSENT = "consent"


class Contact(AuditedMixin, VersionedMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    __table_args__ = (sa.Index("ix_contact_list", "deleted_at", "last_name", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    first_name: Mapped[str | None] = mapped_column(sa.String(100))
    last_name: Mapped[str] = mapped_column(sa.String(150))
    function: Mapped[str | None] = mapped_column(sa.String(150))
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    mobile: Mapped[str | None] = mapped_column(sa.String(20))
    preferred_language: Mapped[str] = mapped_column(sa.String(5), default="nl")
    lawful_basis: Mapped[str] = mapped_column(sa.String(16), default=LawfulBasis.PUBLIC_TASK)
    consent_date: Mapped[dt.date | None]
    source: Mapped[str | None] = mapped_column(sa.String(200))
    objection: Mapped[bool] = mapped_column(default=False)
    review_due: Mapped[dt.date | None] = mapped_column(index=True)
    notes: Mapped[str | None] = mapped_column(sa.String(2000))

    organisation = relationship("Organisation", lazy="joined")

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)
