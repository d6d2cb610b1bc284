"""How value chains react to other features' changes (connected when the package is imported):
an organisation's change schedules a criticality recompute; a merge moves the merged record's
cluster memberships, roles in chains and supply links to the survivor; loading the reference
data loads the region's clusters."""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..organisations.models import Organisation
from ..reference.services import CLUSTERS
from ..signals import organisation_changed, organisations_merged, reference_seeded
from . import recompute
from .services import audit_removal
from .models import ChainRole, Cluster, OrganisationCluster, SupplyLink


@reference_seeded.connect
def seed_clusters(_sender, *, counts, **_kwargs) -> None:
    for name, description in CLUSTERS:
        if db.session.scalar(sa.select(Cluster).where(Cluster.name == name)) is None:
            db.session.add(Cluster(name=name, description=description))
        counts["clusters"] += 1
    db.session.flush()


@organisation_changed.connect
def recompute_criticality(_sender, *, reason: str = "", **_kwargs) -> None:
    """What the criticality engine reads changed (DESIGN 4.3): recompute after the commit."""
    recompute.schedule_recompute(reason=reason)


@organisations_merged.connect
def move_network(survivor: Organisation, *, merged: Organisation, result, actor,
                 **_kwargs) -> None:
    """Cluster memberships, roles in chains and supply links. A role or link the survivor
    already has, or a link that would become a delivery to itself, is soft-deleted on the
    merged record (restorable, audited); the kept link learns what the other knew."""
    memberships = {m.cluster_id: m for m in db.session.scalars(sa.select(OrganisationCluster)
                   .where(OrganisationCluster.organisation_id == survivor.id))}
    has_primary = any(m.is_primary and m.cluster.deleted_at is None for m in memberships.values())
    new_primary = None
    for m in db.session.scalars(sa.select(OrganisationCluster).where(
            OrganisationCluster.organisation_id == merged.id)).all():
        if m.cluster_id not in memberships:
            moved = OrganisationCluster(organisation_id=survivor.id, cluster_id=m.cluster_id,
                                        is_primary=False)
            db.session.add(moved)
            memberships[m.cluster_id] = moved
            result.moved["clusters"] += 1
            if m.is_primary and not has_primary:
                new_primary = moved
        audit_removal(m, "organisation_id", "cluster_id", "is_primary")
        db.session.delete(m)
    db.session.flush()
    if new_primary is not None:
        new_primary.is_primary = True

    roles = {(r.value_chain_id, r.stage_id, r.role) for r in db.session.scalars(
        sa.select(ChainRole).where(ChainRole.organisation_id == survivor.id,
                                   ChainRole.deleted_at.is_(None)))}
    for role in db.session.scalars(sa.select(ChainRole).where(
            ChainRole.organisation_id == merged.id).order_by(ChainRole.id)).all():
        key = (role.value_chain_id, role.stage_id, role.role)
        if role.deleted_at is None and key in roles:
            role.soft_delete(actor)
            result.moved["duplicate_roles"] += 1
            continue
        role.organisation_id = survivor.id
        result.moved["chain_roles"] += 1
        if role.deleted_at is None:
            roles.add(key)

    S = SupplyLink
    touching = sa.or_(S.supplier_id.in_([survivor.id, merged.id]),
                      S.customer_id.in_([survivor.id, merged.id]))
    links = db.session.scalars(sa.select(S).where(touching).order_by(S.id)).all()
    live = {(l.supplier_id, l.customer_id, l.value_chain_id): l for l in links
            if l.deleted_at is None and merged.id not in (l.supplier_id, l.customer_id)}
    for link in links:
        if merged.id not in (link.supplier_id, link.customer_id):
            continue
        supplier = survivor.id if link.supplier_id == merged.id else link.supplier_id
        customer = survivor.id if link.customer_id == merged.id else link.customer_id
        if supplier == customer:  # between the two duplicates: it would supply itself
            if link.deleted_at is None:
                link.soft_delete(actor)
                result.moved["self_links"] += 1
            continue
        key = (supplier, customer, link.value_chain_id)
        kept = live.get(key) if link.deleted_at is None else None
        if kept is not None:
            kept.sole_source = kept.sole_source or link.sole_source
            kept.supplied = kept.supplied or link.supplied
            link.soft_delete(actor)
            result.moved["duplicate_links"] += 1
            continue
        link.supplier_id, link.customer_id = supplier, customer
        result.moved["supply_links"] += 1
        if link.deleted_at is None:
            live[key] = link
    db.session.flush()
