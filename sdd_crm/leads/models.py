"""Leads (signalen) shared across municipal borders, with their history and comments."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import AuditedMixin, SoftDeleteMixin, TimestampMixin, VersionedMixin, utcnow
from ..extensions import db


class LeadType(enum.StrEnum):
    EXPANSION = "expansion"
    RELOCATION = "relocation"
    WORKFORCE = "workforce"
    INNOVATION = "innovation"
    SUBSIDY = "subsidy"
    RISK = "risk"


class LeadStatus(enum.StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    WON = "won"
    LOST = "lost"
    DECLINED = "declined"


class SharedWith(enum.StrEnum):
    REGIONAL_TEAM = "regional_team"
    USER = "user"
    MUNICIPALITY = "municipality"


_LIVE = sa.text("deleted_at IS NULL")
_NEW = sa.text("status = 'new' AND deleted_at IS NULL")
_DELETED = sa.text("deleted_at IS NOT NULL")


class Lead(AuditedMixin, VersionedMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    # Lists walk the live leads newest first; the inboxes (dashboard, report) the new ones.
    # Deleted ones (recycle bin, purge) have their own index, so SQLite (no statistics) is
    # never tempted to fetch every live lead through an index on ``deleted_at`` or ``status``
    # and sort them.
    __table_args__ = (
        sa.Index("ix_lead_live_created", "created_at", "id", sqlite_where=_LIVE,
                 postgresql_where=_LIVE),
        sa.Index("ix_lead_new", "created_at", "id", sqlite_where=_NEW, postgresql_where=_NEW),
        sa.Index("ix_lead_deleted_at", "deleted_at", sqlite_where=_DELETED,
                 postgresql_where=_DELETED),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    type: Mapped[str] = mapped_column(sa.String(16))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.String(5000))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    from_municipality_code: Mapped[str | None] = mapped_column(sa.ForeignKey("municipality.code"))
    shared_with: Mapped[str] = mapped_column(sa.String(16))
    shared_with_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    shared_with_municipality_code: Mapped[str | None] = mapped_column(
        sa.ForeignKey("municipality.code"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(16), default=LeadStatus.NEW)
    decline_reason: Mapped[str | None] = mapped_column(sa.String(1000))
    responded_at: Mapped[dt.datetime | None]
    deleted_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # see __table_args__

    organisation = relationship("Organisation")
    author = relationship("User", foreign_keys=[author_id])
    shared_with_user = relationship("User", foreign_keys=[shared_with_user_id])


class LeadEvent(db.Model):
    """One status transition of a lead: who moved it, when, from what to what."""

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("lead.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str | None] = mapped_column(sa.String(1000))


class LeadComment(AuditedMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(sa.ForeignKey("lead.id"), index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(sa.String(5000))

    lead = relationship("Lead")
    author = relationship("User", foreign_keys=[author_id])
