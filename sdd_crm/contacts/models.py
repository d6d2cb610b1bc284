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


class SourceKind(enum.StrEnum):
    """Where a contact's data came from (GDPR art. 14(2)(f)); set by the system, never edited."""

    USER = "user"  # entered by a user (browser or API): created_by_id
    IMPORT = "import"  # an import: source_job_id, and the file name in ``source``
    SYSTEM = "system"  # demo data, or from before the source was recorded this way


ANONYMISED_NAME = "Geanonimiseerd"


_LIVE = sa.text("deleted_at IS NULL")
_DELETED = sa.text("deleted_at IS NOT NULL")
_NOT_ANONYMISED = sa.text("anonymised_at IS NULL")


class Contact(AuditedMixin, VersionedMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    # Partial indexes: an index whose first column is ``deleted_at`` or ``anonymised_at`` would
    # tempt SQLite (no statistics) to fetch every live contact through it and sort them all.
    __table_args__ = (
        # The list, by name: walked a page at a time (keyset pagination).
        sa.Index("ix_contact_live_name", "last_name", "first_name", "id",
                 sqlite_where=_LIVE, postgresql_where=_LIVE),
        # The retention list: not anonymised, no change for a long time (GDPR art. 5(1)(e)).
        sa.Index("ix_contact_retention", "updated_at", "id", sqlite_where=_NOT_ANONYMISED,
                 postgresql_where=_NOT_ANONYMISED),
        # The recycle bin and the purge.
        sa.Index("ix_contact_deleted_at", "deleted_at", sqlite_where=_DELETED,
                 postgresql_where=_DELETED),
    )

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
    # A readable description of the source, written by the system ("import:<job> <file>",
    # "gebruiker:<e-mail>"); the structured columns below say the same for queries.
    source: Mapped[str | None] = mapped_column(sa.String(200))
    source_kind: Mapped[str | None] = mapped_column(sa.String(16))
    source_job_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("job.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    # An objecting person's data is no longer processed (GDPR art. 21): no exports, no mail,
    # hidden from every list, search and picker except to admins.
    objection: Mapped[bool] = mapped_column(default=False)
    review_due: Mapped[dt.date | None] = mapped_column(index=True)
    notes: Mapped[str | None] = mapped_column(sa.String(2000))
    # Set by the erasure (GDPR art. 17, sdd_crm/privacy/erasure.py); the row stays, without
    # anything that identifies the person.
    anonymised_at: Mapped[dt.datetime | None]
    deleted_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # see __table_args__

    organisation = relationship("Organisation", lazy="joined")
    created_by = relationship("User", foreign_keys=[created_by_id])

    @property
    def import_filename(self) -> str | None:
        """The file of the import this contact came from ("import:<job id> <file name>")."""
        if self.source_kind != SourceKind.IMPORT or not self.source:
            return None
        return self.source.partition(" ")[2] or None

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)
