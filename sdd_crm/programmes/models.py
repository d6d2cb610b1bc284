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


# --- Kept aggregates (issue 12): the count of DESIGN 4.2, kept current by programmes/tally.py ---

class ParticipationVerdict(db.Model):
    """DESIGN 4.2's verdict on one live participation, as ``counting.evaluate`` gives it.

    Written only by ``programmes.tally`` in the transaction that changes what the verdict
    depends on (never edited by hand), so the pipeline can filter on "counts" and show why not
    without evaluating the programme per request. No foreign keys: the purge and merges remove
    and move the rows it describes, and the upkeep follows them."""

    __tablename__ = "participation_verdict"
    __table_args__ = (
        sa.Index("ix_participation_verdict_programme_counts", "programme_id", "counts",
                 "participation_id"),
        sa.Index("ix_participation_verdict_organisation_id", "organisation_id"),
        sa.Index("ix_participation_verdict_survivor_id", "survivor_id"),
    )

    participation_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    programme_id: Mapped[int]
    organisation_id: Mapped[int]  # the participation's own organisation
    survivor_id: Mapped[int]  # the organisation it counts for (its merges followed)
    status: Mapped[str] = mapped_column(sa.String(16))
    live: Mapped[bool]  # its own organisation is not deleted (the pipeline and the funnel)
    counts: Mapped[bool]
    reason: Mapped[str | None] = mapped_column(sa.String(20))
    sme: Mapped[str | None] = mapped_column(sa.String(20))
    municipality_code: Mapped[str | None] = mapped_column(sa.String(10))  # the survivor's
    # its own organisation's (the pipeline's municipality filter)
    own_municipality_code: Mapped[str | None] = mapped_column(sa.String(10))
    counted_at: Mapped[dt.datetime | None]  # counting ones: when it last entered a counting status
    counted_on: Mapped[dt.date | None]  # that moment's date in the application's time zone


class ProgrammeTally(db.Model):
    """One kept number of a programme: ``counted``, ``unverified``, ``excluded`` per reason,
    ``municipality`` per CBS code (counted ones), and for the pipeline's funnel (live
    participations of live organisations) ``status`` per status, ``counted_status`` per status
    of those that count and ``municipality_status`` per "code:status" of their own
    organisation; ``counted_on`` per local date (YYYY-MM-DD) the counted ones were counted;
    ``kept`` is there once the programme has been counted (its other rows then hold the whole
    count)."""

    __tablename__ = "programme_tally"

    programme_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    n: Mapped[int]
