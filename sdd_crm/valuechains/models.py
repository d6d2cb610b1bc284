"""Clusters, value chains with ordered stages, roles, supply links and criticality (DESIGN 2, 4.3)."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import AuditedMixin, SoftDeleteMixin, TimestampMixin, VersionedMixin, utcnow
from ..extensions import db
from ..organisations.models import OrganisationCluster  # noqa: F401  (membership lives with organisations)

# The soft-delete columns are indexed for the deleted rows only (the recycle bin, the purge).
# A full index on them made SQLite without statistics take ``deleted_at IS NULL`` for a
# selective condition and walk every live row through it (for a chain's links, or every role
# of every chain to find the chains of fifty organisations).
_DELETED_ONLY = sa.text("deleted_at IS NOT NULL")
LIVE_ROWS_NOT_INDEXED = {"sqlite_where": _DELETED_ONLY, "postgresql_where": _DELETED_ONLY}
_LIVE_ONLY = sa.text("deleted_at IS NULL")
LIVE_ROWS = {"sqlite_where": _LIVE_ONLY, "postgresql_where": _LIVE_ONLY}


class ChainRoleType(enum.StrEnum):
    OEM = "oem"  # OEM / system integrator
    TIER1 = "tier1"
    TIER2 = "tier2"
    SERVICE_PROVIDER = "service_provider"
    KNOWLEDGE_PARTNER = "knowledge_partner"
    CUSTOMER = "customer"


class Cluster(AuditedMixin, VersionedMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    __table_args__ = (sa.Index("ix_cluster_deleted_at", "deleted_at", **LIVE_ROWS_NOT_INDEXED),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    description: Mapped[str | None] = mapped_column(sa.String(2000))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # partial index above

    value_chains: Mapped[list[ValueChain]] = relationship(
        back_populates="cluster", order_by="ValueChain.name"
    )


class ValueChain(AuditedMixin, VersionedMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    __table_args__ = (sa.Index("ix_value_chain_deleted_at", "deleted_at", **LIVE_ROWS_NOT_INDEXED),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(sa.ForeignKey("cluster.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    description: Mapped[str | None] = mapped_column(sa.String(2000))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # partial index above

    cluster: Mapped[Cluster] = relationship(back_populates="value_chains")
    stages: Mapped[list[ValueChainStage]] = relationship(
        back_populates="value_chain", order_by="ValueChainStage.position", cascade="all, delete-orphan"
    )


class ValueChainStage(AuditedMixin, db.Model):
    __table_args__ = (sa.UniqueConstraint("value_chain_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    value_chain_id: Mapped[int] = mapped_column(sa.ForeignKey("value_chain.id"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(100))

    value_chain: Mapped[ValueChain] = relationship(back_populates="stages")


class ChainRole(AuditedMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    """The role an organisation plays in a value chain, at a stage."""

    __table_args__ = (
        # A chain's roles by stage, covering what the chain's pages, counts and gaps read.
        sa.Index("ix_chain_role_chain_stage", "value_chain_id", "stage_id", "organisation_id",
                 "deleted_at"),
        sa.Index("ix_chain_role_deleted_at", "deleted_at", **LIVE_ROWS_NOT_INDEXED),
        # The chain page's first roles per stage by name: one short range per stage.
        sa.Index("ix_chain_role_chain_stage_name", "value_chain_id", "stage_id",
                 "organisation_name", "organisation_id", "id", **LIVE_ROWS),
    )
    __audit_exclude__ = {"organisation_name"}

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    value_chain_id: Mapped[int] = mapped_column(sa.ForeignKey("value_chain.id"))
    stage_id: Mapped[int | None] = mapped_column(sa.ForeignKey("value_chain_stage.id"))
    role: Mapped[str] = mapped_column(sa.String(24))
    deleted_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # partial index above
    # A copy of the organisation's name for sorting a chain's thousands of roles by an index,
    # written by the database whoever writes the row or renames the organisation (triggers,
    # migration b12000000007); never set it in Python.
    organisation_name: Mapped[str | None] = mapped_column(sa.String(200), deferred=True)

    organisation = relationship("Organisation")
    value_chain = relationship("ValueChain")
    stage = relationship("ValueChainStage")


class SupplyLink(AuditedMixin, VersionedMixin, SoftDeleteMixin, TimestampMixin, db.Model):
    """Supplier → customer within a value chain; ``sole_source``: the customer has no alternative."""

    __table_args__ = (
        sa.CheckConstraint("supplier_id <> customer_id", name="not_self"),
        # A chain's links, covering its members, counts and picture.
        sa.Index("ix_supply_link_chain", "value_chain_id", "supplier_id", "customer_id",
                 "deleted_at", "sole_source"),
        sa.Index("ix_supply_link_deleted_at", "deleted_at", **LIVE_ROWS_NOT_INDEXED),
        # Links by supplier and customer name: a chain's, and all of them.
        sa.Index("ix_supply_link_chain_names", "value_chain_id", "supplier_name",
                 "customer_name", "id", **LIVE_ROWS),
        sa.Index("ix_supply_link_names", "supplier_name", "customer_name", "id", **LIVE_ROWS),
    )
    __audit_exclude__ = {"supplier_name", "customer_name"}

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"), index=True)
    value_chain_id: Mapped[int | None] = mapped_column(sa.ForeignKey("value_chain.id"))
    supplied: Mapped[str | None] = mapped_column(sa.String(500))
    sole_source: Mapped[bool] = mapped_column(default=False)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # partial index above
    # Copies of both organisations' names, as ChainRole.organisation_name (never set in Python).
    supplier_name: Mapped[str | None] = mapped_column(sa.String(200), deferred=True)
    customer_name: Mapped[str | None] = mapped_column(sa.String(200), deferred=True)

    supplier = relationship("Organisation", foreign_keys=[supplier_id])
    customer = relationship("Organisation", foreign_keys=[customer_id])
    value_chain = relationship("ValueChain")


class CriticalityAssessment(db.Model):
    """One computed assessment, kept for history; ``factors`` holds name, value, weight, contribution."""

    __table_args__ = (sa.Index("ix_criticality_assessment_org_at", "organisation_id", "computed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisation.id"))
    computed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    score: Mapped[float]
    threshold: Mapped[float]
    critical: Mapped[bool]
    factors: Mapped[list] = mapped_column(sa.JSON, default=list)
    job_id: Mapped[str | None] = mapped_column(sa.ForeignKey("job.id"))


class CriticalityState(db.Model):
    """One row (id 1): how current the stored criticality is (issue 14). ``network_version``
    rises with every committed change of what the engine reads (roles, links, chains, the
    organisations' employment, the settings); a finished recompute records the version it read
    (``computed_version``) and when it started reading (``computed_at``). Stale: the network is
    newer than the computation; missing: never computed. A counter, not a clock, decides."""

    __tablename__ = "criticality_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    network_version: Mapped[int] = mapped_column(default=0)
    network_changed_at: Mapped[dt.datetime | None]
    network_change_reason: Mapped[str | None] = mapped_column(sa.String(40))
    computed_version: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[dt.datetime | None]
    computed_job_id: Mapped[str | None] = mapped_column(sa.String(36))
