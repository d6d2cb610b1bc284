"""Helpers for the criticality tests: chains, links and a synchronous recompute."""

from __future__ import annotations

import itertools

import sqlalchemy as sa

from sdd_crm.extensions import db
from sdd_crm.organisations.models import Organisation
from sdd_crm.valuechains.models import ChainRole, Cluster, CriticalityAssessment, SupplyLink, ValueChain

_seq = itertools.count(1)


def make_chain(name: str | None = None) -> ValueChain:
    cluster = db.session.scalar(sa.select(Cluster).order_by(Cluster.id).limit(1))
    chain = ValueChain(cluster_id=cluster.id, name=name or f"Keten {next(_seq)}")
    db.session.add(chain)
    db.session.flush()
    return chain


def link(supplier, customer, chain=None, *, sole=False) -> SupplyLink:
    row = SupplyLink(supplier_id=supplier.id, customer_id=customer.id,
                     value_chain_id=chain.id if chain is not None else None, sole_source=sole)
    db.session.add(row)
    db.session.flush()
    return row


def role(org, chain, kind="tier1") -> ChainRole:
    row = ChainRole(organisation_id=org.id, value_chain_id=chain.id, role=kind)
    db.session.add(row)
    db.session.flush()
    return row


def recompute(actor=None) -> dict:
    """Run one recompute now, as ``flask criticality recompute`` does; returns its summary."""
    from sdd_crm.valuechains.jobs import create_job, run_job

    job = create_job(actor=actor, trigger="test")
    db.session.commit()
    summary = run_job(job.id)
    db.session.expire_all()
    return summary


def history(org) -> list[CriticalityAssessment]:
    return list(db.session.scalars(
        sa.select(CriticalityAssessment).where(CriticalityAssessment.organisation_id == org.id)
        .order_by(CriticalityAssessment.computed_at, CriticalityAssessment.id)))


def flags(*orgs) -> list[tuple[bool, float | None]]:
    """(is_critical, criticality_score) of each organisation, as stored."""
    db.session.expire_all()
    return [(db.session.get(Organisation, o.id).is_critical,
             db.session.get(Organisation, o.id).criticality_score) for o in orgs]
