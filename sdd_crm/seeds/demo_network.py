"""The demo region's value chains: stages, the roles organisations play, and supply links."""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..organisations.size import SME_MAX_EMPLOYEES
from ..valuechains.models import ChainRole, Cluster, SupplyLink, ValueChain, ValueChainStage
from .demo_data import VALUE_CHAINS

EARLY, MIDDLE, LATE = "early", "middle", "late"


def _chains() -> list[dict]:
    clusters = {c.name: c for c in db.session.scalars(sa.select(Cluster))}
    chains = []
    for name, cluster_name, stage_names, supplied in VALUE_CHAINS:
        chain = db.session.scalar(sa.select(ValueChain).where(ValueChain.name == name))
        if chain is None:
            chain = ValueChain(cluster_id=clusters[cluster_name].id, name=name,
                               description=f"Waardeketen {name.lower()} in de Drechtsteden.")
            db.session.add(chain)
        if not chain.stages:
            chain.stages = [ValueChainStage(position=i + 1, name=s) for i, s in enumerate(stage_names)]
        chains.append({"chain": chain, "cluster": cluster_name, "supplied": supplied})
    db.session.flush()
    return chains


def _role_for(rng, employees: int | None) -> str:
    e = employees or 0
    if e >= SME_MAX_EMPLOYEES:
        return "oem" if rng.random() < 0.8 else "tier1"
    if e >= 50:
        return rng.choices(["tier1", "oem", "service_provider"], [70, 15, 15])[0]
    if e >= 10:
        return rng.choices(["tier2", "tier1", "service_provider"], [50, 25, 25])[0]
    return rng.choices(["tier2", "service_provider"], [55, 45])[0]


def _stage_index(rng, role: str, n: int) -> int:
    """Where in the chain a role sits: suppliers early, integrators late, knowledge first."""
    if role == "knowledge_partner":
        return 0
    if role == "customer":
        return n - 1
    if role == "oem":
        return max(0, n - 2)
    if role == "tier1":
        return rng.randint(1, max(1, n - 2))
    if role == "tier2":
        return rng.randint(0, max(0, n - 3))
    return rng.randint(0, n - 1)


def seed_network(rng, specs: list[dict], orgs: list) -> dict[str, int]:
    chains = _chains()
    by_cluster: dict[str, list[int]] = {}
    for k, c in enumerate(chains):
        by_cluster.setdefault(c["cluster"], []).append(k)
    roles: list[tuple[int, int, str]] = []  # (org index, chain index, role)

    for i, (spec, org) in enumerate(zip(specs, orgs, strict=True)):
        if org.status == "dissolved":
            continue
        if org.org_type == "company":
            if rng.random() < 0.15:
                continue  # not every company has been placed in a chain yet
            roles.append((i, rng.choice(by_cluster[spec["clusters"][0]]), _role_for(rng, org.employees)))
            if len(spec["clusters"]) > 1 and rng.random() < 0.7:
                # Companies active in two clusters bridge their chains.
                roles.append((i, rng.choice(by_cluster[spec["clusters"][1]]),
                              rng.choice(["tier2", "service_provider"])))
        elif org.org_type in ("knowledge_institution", "education"):
            for name in spec["clusters"]:
                roles.append((i, rng.choice(by_cluster[name]), "knowledge_partner"))
        elif org.org_type == "government" and org.name.startswith("Gemeente"):
            for name in ("Warmtenetten", "Verduurzaming woningen", "Dijkversterking & waterbouw"):
                k = next(k for k, c in enumerate(chains) if c["chain"].name == name)
                if rng.random() < 0.5:
                    roles.append((i, k, "customer"))

    # Every chain has an OEM / system integrator: promote its largest member if needed.
    for k in range(len(chains)):
        members = [(n, (i, kk, r)) for n, (i, kk, r) in enumerate(roles) if kk == k]
        if not any(r == "oem" for _, (_, _, r) in members):
            companies = [(n, i) for n, (i, _, r) in members
                         if orgs[i].org_type == "company" and r != "customer"]
            if companies:
                n, i = max(companies, key=lambda t: orgs[t[1]].employees or 0)
                roles[n] = (i, k, "oem")

    chain_roles = []
    for i, k, role in roles:
        chain = chains[k]["chain"]
        stage = chain.stages[_stage_index(rng, role, len(chain.stages))]
        chain_roles.append(ChainRole(organisation_id=orgs[i].id, value_chain_id=chain.id,
                                     stage_id=stage.id, role=role))
    db.session.add_all(chain_roles)
    links = _supply_links(rng, chains, roles, orgs)
    db.session.add_all(links)
    db.session.flush()
    return {"value_chains": len(chains), "chain_roles": len(chain_roles),
            "supply_links": len(links), "sole_source_links": sum(1 for link in links if link.sole_source)}


def wire_chain(rng, members: dict[str, list[int]], link, hubs) -> None:
    """The supply network of one chain from its members by role: tier-2 → tier-1 → OEM →
    customer, service providers to OEMs or tier-1s, and sole-source links from the specialists
    ``hubs(specialists)`` picks to up to five buyers. ``link(supplier, customer, sole=None)``
    records one link (the demo seed and the synthetic seed keep them differently)."""
    oems, tier1 = members.get("oem", []), members.get("tier1", [])
    for i in tier1:
        for c in rng.sample(oems, min(len(oems), rng.randint(1, 2))):
            link(i, c)
    for i in members.get("tier2", []):
        buyers = tier1 or oems
        for c in rng.sample(buyers, min(len(buyers), rng.randint(1, 2))):
            link(i, c)
    for i in members.get("service_provider", []):
        if oems or tier1:
            link(i, rng.choice(oems + tier1))
    for c in members.get("customer", []):
        if oems:
            link(rng.choice(oems), c)
    specialists = members.get("tier2", []) + members.get("service_provider", [])
    buyers = oems + tier1
    if specialists and len(buyers) >= 3:
        for hub in hubs(specialists):
            for c in rng.sample(buyers, min(5, len(buyers))):
                link(hub, c, sole=True)


def _supply_links(rng, chains, roles, orgs) -> list[SupplyLink]:
    """Tier-2 → tier-1 → OEM → customer, with some sole-source dependencies."""
    seen: set[tuple[int, int, int]] = set()
    links: list[SupplyLink] = []

    def link(supplier: int, customer: int, k: int, sole: bool | None = None):
        key = (supplier, customer, k)
        if supplier == customer or key in seen:
            return
        seen.add(key)
        links.append(SupplyLink(
            supplier_id=orgs[supplier].id, customer_id=orgs[customer].id,
            value_chain_id=chains[k]["chain"].id, supplied=rng.choice(chains[k]["supplied"]),
            sole_source=rng.random() < 0.12 if sole is None else sole))

    for k in range(len(chains)):
        members: dict[str, list[int]] = {}
        for i, kk, role in roles:
            if kk == k:
                members.setdefault(role, []).append(i)
        # One small specialist that many chain partners cannot do without (DESIGN 4.3's
        # "obvious case") in every third chain: the criticality screens have something true to show.
        wire_chain(rng, members, lambda a, b, sole=None, k=k: link(a, b, k, sole),
                   hubs=lambda specialists, k=k: [rng.choice(specialists)] if k % 3 == 0 else [])
    return links
