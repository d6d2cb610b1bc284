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


_LIVE = sa.text("deleted_at IS NULL")
_DELETED = sa.text("deleted_at IS NOT NULL")


def _partial(name: str, *columns: str, where=_LIVE) -> sa.Index:
    """An index of only the live (or only the deleted) rows, on both databases."""
    return sa.Index(name, *columns, sqlite_where=where, postgresql_where=where)


class Interaction(AuditedMixin, VersionedMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    # Lists walk these newest first and stop after a page (DESIGN 4.4's condition is checked
    # per row on the way): all live ones by date; one author's; one organisation's. The deleted
    # ones (recycle bin, purge) have their own small index, so an index on ``deleted_at`` never
    # tempts SQLite (which keeps no statistics) to fetch every live row and sort them.
    __table_args__ = (
        sa.Index("ix_interaction_org_date", "organisation_id", "date"),
        _partial("ix_interaction_live_date", "date", "id"),
        # The "vertrouwelijk" filter; with the author and the organisation, so the rows outside
        # the user's circle are passed over without reading them.
        _partial("ix_interaction_live_confidential", "confidential", "date", "id", "author_id",
                 "organisation_id"),
        sa.Index("ix_interaction_author_date", "author_id", "date", "id"),
        _partial("ix_interaction_deleted_at", "deleted_at", where=_DELETED),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(16))
    date: Mapped[dt.date] = mapped_column(index=True)
    # active_history: a contact moment moved to another organisation knows the one it left
    # even when that was not loaded, so both dates of last contact are kept right.
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"),
                                                 active_history=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # see __table_args__
    subject: Mapped[str] = mapped_column(sa.String(200))
    notes: Mapped[str | None] = mapped_column(sa.Text)
    confidential: Mapped[bool] = mapped_column(default=False)

    organisation = relationship("Organisation", active_history=True)
    author = relationship("User", foreign_keys=[author_id])
    contacts = relationship("Contact", secondary=interaction_contact)
    users = relationship("User", secondary=interaction_user)
    topics: Mapped[list[InteractionTopic]] = relationship(cascade="all, delete-orphan")


class InteractionTopic(db.Model):
    interaction_id: Mapped[int] = mapped_column(sa.ForeignKey("interaction.id"), primary_key=True)
    topic: Mapped[str] = mapped_column(sa.String(32), primary_key=True, index=True)


class Task(AuditedMixin, VersionedMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    """A follow-up with a due date and an assignee."""

    # Each tab of "Mijn taken" (assigned to me / created by me; open by due date, done by
    # completion) is one walk of one of these; the API's list of all walks the due date.
    __table_args__ = (
        sa.Index("ix_task_assignee_status_due", "assignee_id", "status", "due_date"),
        sa.Index("ix_task_creator_status_due", "created_by_id", "status", "due_date", "id"),
        sa.Index("ix_task_assignee_status_completed", "assignee_id", "status", "completed_at",
                 "id"),
        sa.Index("ix_task_creator_status_completed", "created_by_id", "status", "completed_at",
                 "id"),
        sa.Index("ix_task_assignee_due", "assignee_id", "due_date", "id"),
        _partial("ix_task_deleted_at", "deleted_at", where=_DELETED),
    )

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
    deleted_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # see __table_args__

    assignee = relationship("User", foreign_keys=[assignee_id])
    organisation = relationship("Organisation")
