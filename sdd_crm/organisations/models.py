"""Organisations of the triple helix, their establishments, tags and account teams (DESIGN 2)."""

from __future__ import annotations

import datetime as dt
import decimal
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import AuditedMixin, SoftDeleteMixin, TimestampMixin, VersionedMixin, utcnow
from ..extensions import db


class OrgType(enum.StrEnum):
    COMPANY = "company"
    KNOWLEDGE_INSTITUTION = "knowledge_institution"
    EDUCATION = "education"
    GOVERNMENT = "government"
    OTHER = "other"


class OrgStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DISSOLVED = "dissolved"


class SizeClass(enum.StrEnum):
    """EU size classes (Recommendation 2003/361/EC), from the organisation's own figures."""

    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    UNKNOWN = "unknown"


class TeamRole(enum.StrEnum):
    STRATEGIC = "strategic"
    LOCAL = "local"


organisation_tag = sa.Table(
    "organisation_tag",
    db.metadata,
    sa.Column("organisation_id", sa.ForeignKey("organisation.id"), primary_key=True),
    sa.Column("tag_id", sa.ForeignKey("tag.id"), primary_key=True, index=True),
)


class Tag(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)


# The live rows: what every list shows (not deleted, not merged into another record).
LIVE_ORGANISATION = "deleted_at IS NULL AND merged_into_id IS NULL"


def _live_index(name: str, *columns: str) -> sa.Index:
    """A partial index of the live organisations: the list (``organisation_list``) reads a page
    of any filter or sort as one range of such an index, on SQLite and PostgreSQL alike."""
    return sa.Index(name, *columns, sqlite_where=sa.text(LIVE_ORGANISATION),
                    postgresql_where=sa.text(LIVE_ORGANISATION))


def _set_index(name: str, column: str) -> sa.Index:
    """An index of the rows where ``column`` is set (deleted, merged: a few): found by it,
    while the planner never mistakes ``column IS NULL`` (nearly every row) for a narrow range."""
    where = sa.text(f"{column} IS NOT NULL")
    return sa.Index(name, column, sqlite_where=where, postgresql_where=where)


class Organisation(AuditedMixin, VersionedMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    __audit_exclude__ = {"last_contact_on"}
    __table_args__ = (
        # A KvK number is unique when known; NULLs (unknown) may repeat.
        sa.Index("ix_organisation_kvk_number", "kvk_number", unique=True),
        _set_index("ix_organisation_deleted_at", "deleted_at"),
        _set_index("ix_organisation_merged_into_id", "merged_into_id"),
        # Every sort of the list (a sort and its reverse walk the same index) ...
        _live_index("ix_organisation_live_name", "name", "id"),
        _live_index("ix_organisation_live_city", "city", "name", "id"),
        _live_index("ix_organisation_live_employees", "employees", "id"),
        _live_index("ix_organisation_live_updated", "updated_at", "id"),
        # ... and every filter, sorted by name (the default); the municipality also by place.
        _live_index("ix_organisation_live_municipality", "municipality_code", "name", "id"),
        _live_index("ix_organisation_live_municipality_city", "municipality_code", "city",
                    "name", "id"),
        _live_index("ix_organisation_live_type", "org_type", "name", "id"),
        _live_index("ix_organisation_live_size", "size_class", "name", "id"),
        _live_index("ix_organisation_live_status", "status", "name", "id"),
        _live_index("ix_organisation_live_critical", "is_critical", "name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    org_type: Mapped[str] = mapped_column(sa.String(32), default=OrgType.COMPANY, index=True)
    kvk_number: Mapped[str | None] = mapped_column(sa.String(8))
    legal_form: Mapped[str | None] = mapped_column(sa.String(100))
    employees: Mapped[int | None] = mapped_column(index=True)
    annual_turnover_eur: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(15, 2))
    balance_sheet_total_eur: Mapped[decimal.Decimal | None] = mapped_column(sa.Numeric(15, 2))
    size_class: Mapped[str] = mapped_column(sa.String(10), default=SizeClass.UNKNOWN, index=True)
    street: Mapped[str | None] = mapped_column(sa.String(200))
    postcode: Mapped[str | None] = mapped_column(sa.String(7), index=True)
    city: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    municipality_code: Mapped[str | None] = mapped_column(
        sa.ForeignKey("municipality.code"), index=True
    )
    website: Mapped[str | None] = mapped_column(sa.String(255))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    description: Mapped[str | None] = mapped_column(sa.String(5000))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=OrgStatus.ACTIVE, index=True)
    # Criticality (DESIGN 4.3): the effective flag is kept here so lists can filter on it.
    is_critical: Mapped[bool] = mapped_column(default=False, index=True)
    criticality_score: Mapped[float | None]
    manual_critical: Mapped[bool | None]
    manual_critical_reason: Mapped[str | None] = mapped_column(sa.String(1000))
    # Merged duplicates point to the surviving record and count once (DESIGN 4.2).
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisation.id"))
    # SoftDeleteMixin's column, indexed above for the deleted rows only.
    deleted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    source: Mapped[str | None] = mapped_column(sa.String(200))
    # Date of the latest contact moment, kept by the interaction services (lists sort and
    # filter on it without scanning a million interactions).
    last_contact_on: Mapped[dt.date | None] = mapped_column(index=True)

    municipality = relationship("Municipality", lazy="joined")
    parent = relationship("Organisation", remote_side=[id], foreign_keys=[parent_id])
    establishments: Mapped[list[Establishment]] = relationship(
        back_populates="organisation", order_by="Establishment.establishment_number"
    )
    sbi_codes: Mapped[list[OrganisationSbi]] = relationship(
        back_populates="organisation",
        cascade="all, delete-orphan",
        order_by="(OrganisationSbi.is_main.desc(), OrganisationSbi.code)",
    )
    tags: Mapped[list[Tag]] = relationship(secondary=organisation_tag, order_by=Tag.name)
    team: Mapped[list[AccountTeamMember]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.name!r}>"


class OrganisationSbi(db.Model):
    """An SBI code of an organisation, with the SBI version it was registered under."""

    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(10), primary_key=True, index=True)
    version: Mapped[str] = mapped_column(sa.String(4), primary_key=True, default="2008")
    is_main: Mapped[bool] = mapped_column(default=False)

    organisation: Mapped[Organisation] = relationship(back_populates="sbi_codes")


class Establishment(AuditedMixin, VersionedMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    """A vestiging: one address of a KvK-registered company, with its own municipality."""

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    establishment_number: Mapped[str | None] = mapped_column(sa.String(12), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    street: Mapped[str | None] = mapped_column(sa.String(200))
    postcode: Mapped[str | None] = mapped_column(sa.String(7))
    city: Mapped[str | None] = mapped_column(sa.String(100))
    municipality_code: Mapped[str | None] = mapped_column(
        sa.ForeignKey("municipality.code"), index=True
    )
    is_main: Mapped[bool] = mapped_column(default=False)
    employees: Mapped[int | None]

    organisation: Mapped[Organisation] = relationship(back_populates="establishments")
    municipality = relationship("Municipality", lazy="joined")


class AccountTeamMember(AuditedMixin, TimestampMixin, db.Model):
    """One strategic (regional) account manager and any number of local ones per organisation."""

    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "user_id"),
        sa.Index(
            "uq_account_team_member_one_strategic",
            "organisation_id",
            unique=True,
            sqlite_where=sa.text("team_role = 'strategic'"),
            postgresql_where=sa.text("team_role = 'strategic'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    team_role: Mapped[str] = mapped_column(sa.String(16))

    organisation: Mapped[Organisation] = relationship(back_populates="team")
    user = relationship("User", lazy="joined")


class JoinRequestStatus(enum.StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


class AccountTeamRequest(AuditedMixin, TimestampMixin, db.Model):
    """A request by an account manager outside the account team to join it (DESIGN 4.4):
    membership opens confidential notes, so they ask, and the admins or the organisation's
    strategic manager decide (organisations.join_requests). One open request per user and
    organisation."""

    __table_args__ = (
        sa.Index(
            "uq_account_team_request_one_open",
            "organisation_id",
            "user_id",
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        ),
        sa.Index("ix_account_team_request_status", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    team_role: Mapped[str] = mapped_column(sa.String(16), default=TeamRole.LOCAL)
    reason: Mapped[str] = mapped_column(sa.String(1000))
    status: Mapped[str] = mapped_column(sa.String(16), default=JoinRequestStatus.OPEN)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    decided_at: Mapped[dt.datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(sa.String(1000))

    organisation: Mapped[Organisation] = relationship()
    user = relationship("User", foreign_keys=[user_id], lazy="joined")
    decided_by = relationship("User", foreign_keys=[decided_by_id])


class DuplicateDismissal(db.Model):
    """A pair a user marked as 'geen dubbel' (not a duplicate); the finder skips it."""

    __table_args__ = (
        sa.UniqueConstraint("organisation_a_id", "organisation_b_id"),
        sa.CheckConstraint("organisation_a_id < organisation_b_id", name="ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_a_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    organisation_b_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    dismissed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    dismissed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(sa.String(500))


class OrganisationCluster(AuditedMixin, db.Model):
    """Membership of a cluster (valuechains.Cluster); one of an organisation's clusters is its primary one.

    It lives here because the organisation list filters by cluster, and organisations sit below
    value chains."""

    __table_args__ = (
        sa.Index(
            "uq_organisation_cluster_one_primary",
            "organisation_id",
            unique=True,
            sqlite_where=sa.text("is_primary"),
            postgresql_where=sa.text("is_primary"),
        ),
    )

    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), primary_key=True)
    cluster_id: Mapped[int] = mapped_column(sa.ForeignKey("cluster.id"), primary_key=True, index=True)
    is_primary: Mapped[bool] = mapped_column(default=False)

    cluster = relationship("Cluster", lazy="joined")
