"""Contact moments (interactions) and follow-up tasks (DESIGN 2)."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import AuditedMixin, SoftDeleteMixin, TimestampMixin, VersionedMixin
from ..extensions import db


class InteractionType(enum.StrEnum):
    VISIT = "visit"
    CALL = "call"
    MEETING = "meeting"
    EMAIL = "email"
    EVENT = "event"


class Topic(enum.StrEnum):
    EXPANSION = "expansion"
    WORKFORCE = "workforce"
    INNOVATION = "innovation"
    SUBSIDY = "subsidy"
    ACCOMMODATION = "accommodation"
    MOBILITY = "mobility"
    ENERGY = "energy"
    RISK = "risk"


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


interaction_contact = sa.Table(
    "interaction_contact",
    db.metadata,
    sa.Column("interaction_id", sa.ForeignKey("interaction.id"), primary_key=True),
    sa.Column("contact_id", sa.ForeignKey("contact.id"), primary_key=True, index=True),
)

interaction_user = sa.Table(
    "interaction_user",
    db.metadata,
    sa.Column("interaction_id", sa.ForeignKey("interaction.id"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("user.id"), primary_key=True, index=True),
)


class Interaction(AuditedMixin, VersionedMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    __table_args__ = (sa.Index("ix_interaction_org_date", "organisation_id", "date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(16))
    date: Mapped[dt.date] = mapped_column(index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    subject: Mapped[str] = mapped_column(sa.String(200))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    confidential: Mapped[bool] = mapped_column(default=False, index=True)

    organisation = relationship("Organisation")
    author = relationship("User", foreign_keys=[author_id])
    contacts = relationship("Contact", secondary=interaction_contact)
    users = relationship("User", secondary=interaction_user)
    topics: Mapped[list[InteractionTopic]] = relationship(cascade="all, delete-orphan")


class InteractionTopic(db.Model):
    interaction_id: Mapped[int] = mapped_column(sa.ForeignKey("interaction.id"), primary_key=True)
    topic: Mapped[str] = mapped_column(sa.String(32), primary_key=True, index=True)


class Task(AuditedMixin, VersionedMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    """A follow-up with a due date and an assignee."""

    __table_args__ = (sa.Index("ix_task_assignee_status_due", "assignee_id", "status", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.String(2000))
    due_date: Mapped[dt.date | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=TaskStatus.OPEN)
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    interaction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("interaction.id"), index=True)
    lead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lead.id"), index=True)
    completed_at: Mapped[dt.datetime | None]

    assignee = relationship("User", foreign_keys=[assignee_id])
    organisation = relationship("Organisation")
