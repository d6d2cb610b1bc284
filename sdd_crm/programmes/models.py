"""Subsidy programmes, their region and targets, and organisations' participation (DESIGN 2, 4.2)."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import AuditedMixin, SoftDeleteMixin, TimestampMixin, VersionedMixin, utcnow
from ..extensions import db


class ParticipationStatus(enum.StrEnum):
    IDENTIFIED = "identified"
    APPROACHED = "approached"
    INTERESTED = "interested"
    PARTICIPATING = "participating"
    COMPLETED = "completed"
    DECLINED = "declined"


class TargetKind(enum.StrEnum):
    SME_COUNT = "sme_count"


programme_municipality = sa.Table(
    "programme_municipality",
    db.metadata,
    sa.Column("programme_id", sa.ForeignKey("programme.id"), primary_key=True),
    sa.Column("municipality_code", sa.ForeignKey("municipality.code"), primary_key=True),
)


class Programme(AuditedMixin, VersionedMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    funder: Mapped[str | None] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.String(5000))
    start_date: Mapped[dt.date | None]
    end_date: Mapped[dt.date | None]

    municipalities = relationship("Municipality", secondary=programme_municipality,
                                  order_by="Municipality.name")
    targets: Mapped[list[ProgrammeTarget]] = relationship(
        back_populates="programme", cascade="all, delete-orphan"
    )


class ProgrammeTarget(AuditedMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programme.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(24), default=TargetKind.SME_COUNT)
    value: Mapped[int]
    description: Mapped[str | None] = mapped_column(sa.String(500))

    programme: Mapped[Programme] = relationship(back_populates="targets")


participation_interaction = sa.Table(
    "participation_interaction",
    db.metadata,
    sa.Column("participation_id", sa.ForeignKey("participation.id"), primary_key=True),
    sa.Column("interaction_id", sa.ForeignKey("interaction.id"), primary_key=True, index=True),
)


class Participation(AuditedMixin, VersionedMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    __table_args__ = (
        sa.UniqueConstraint("programme_id", "organisation_id"),
        sa.Index("ix_participation_programme_status", "programme_id", "status"),
        sa.Index("ix_participation_programme_changed", "programme_id", "status_changed_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programme.id"))
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=ParticipationStatus.IDENTIFIED)
    status_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    notes: Mapped[str | None] = mapped_column(sa.String(5000))

    programme = relationship("Programme")
    organisation = relationship("Organisation")
    owner = relationship("User", foreign_keys=[owner_id])
    interactions = relationship("Interaction", secondary=participation_interaction,
                                order_by="Interaction.date.desc()")


class ParticipationEvent(db.Model):
    """The date of every status transition of a participation."""

    id: Mapped[int] = mapped_column(primary_key=True)
    participation_id: Mapped[int] = mapped_column(sa.ForeignKey("participation.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str] = mapped_column(sa.String(16))

    __table_args__ = (sa.Index("ix_participation_event_to_status_at", "to_status", "at"),)
