"""Crafting value chains for the insight tests (critical list, network, what-if, gaps).

Rows are added directly (the chain-management services are another helper's work); each helper
flushes so ids are known, and the caller commits.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re

from sdd_crm.extensions import db
from sdd_crm.valuechains.models import (
    ChainRole,
    Cluster,
    CriticalityAssessment,
    OrganisationCluster,
    SupplyLink,
    ValueChain,
    ValueChainStage,
)

_seq = itertools.count(1)


def make_cluster(name: str | None = None) -> Cluster:
    cluster = Cluster(name=name or f"Testcluster {next(_seq)}")
    db.session.add(cluster)
    db.session.flush()
    return cluster


def make_chain(name: str, stage_names: list[str], cluster: Cluster | None = None) -> ValueChain:
    chain = ValueChain(name=name, cluster_id=(cluster or make_cluster()).id)
    chain.stages = [ValueChainStage(position=i + 1, name=s) for i, s in enumerate(stage_names)]
    db.session.add(chain)
    db.session.flush()
    return chain


def stage(chain: ValueChain, name: str) -> ValueChainStage:
    return next(s for s in chain.stages if s.name == name)


def add_role(org, chain: ValueChain, stage_name: str | None, role: str = "tier1") -> ChainRole:
    row = ChainRole(organisation_id=org.id, value_chain_id=chain.id, role=role,
                    stage_id=stage(chain, stage_name).id if stage_name else None)
    db.session.add(row)
    db.session.flush()
    return row


def add_link(supplier, customer, chain: ValueChain | None, *, sole: bool = False,
             supplied: str | None = None) -> SupplyLink:
    link = SupplyLink(supplier_id=supplier.id, customer_id=customer.id,
                      value_chain_id=chain.id if chain else None, sole_source=sole, supplied=supplied)
    db.session.add(link)
    db.session.flush()
    return link


def join_cluster(org, cluster: Cluster, primary: bool = True) -> None:
    db.session.add(OrganisationCluster(organisation_id=org.id, cluster_id=cluster.id, is_primary=primary))
    db.session.flush()


def flag_critical(org, *, score: float = 0.8, factors: list[dict] | None = None,
                  computed: bool = True, manual: bool | None = None, reason: str | None = None,
                  computed_at: dt.datetime | None = None, threshold: float = 0.5) -> None:
    """Set the effective flag and store an assessment, as the criticality engine would."""
    org.criticality_score = score
    org.manual_critical = manual
    org.manual_critical_reason = reason
    org.is_critical = manual if manual is not None else computed
    if factors is not None:
        db.session.add(CriticalityAssessment(
            organisation_id=org.id, score=score, threshold=threshold, critical=computed,
            factors=factors, computed_at=computed_at or dt.datetime.now(dt.UTC)))
    db.session.flush()


def factor(name: str, value, contribution: float, weight: float = 1.0, **extra) -> dict:
    """A factor record as the engine stores it (``criticality.Assessment.factors``)."""
    return {"name": name, "value": value, "level": round(contribution / weight, 4) if weight else 0.0,
            "weight": weight, "contribution": contribution, **extra}


def soft_delete(obj) -> None:
    obj.deleted_at = dt.datetime.now(dt.UTC)
    db.session.flush()


def row_ids(html: str, marker: str = "data-org-id") -> list[int]:
    """The ``data-org-id`` values of the table rows, in page order."""
    return [int(m) for m in re.findall(rf'<tr class="utrecht-table__row[^"]*" {marker}="(\d+)"', html)]


def section_ids(html: str, section: str) -> list[int]:
    """Organisation ids listed in a what-if section (``data-section``), in page order."""
    match = re.search(rf'data-section="{section}"[^>]*>(.*?)</ul>', html, re.S)
    return [int(i) for i in re.findall(r'data-org-id="(\d+)"', match.group(1))] if match else []
