"""A small supply network for the value-chain tests: five users, organisations in Dordrecht
(GM0505) and Sliedrecht (GM0610), a cluster with two chains, and a recompute counter."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from sdd_crm.extensions import db
from sdd_crm.valuechains import recompute
from sdd_crm.valuechains.models import ChainRole, Cluster, SupplyLink, ValueChain, ValueChainStage
from sdd_crm.valuechains.network_services import add_chain_role, create_supply_link
from sdd_crm.valuechains.services import create_cluster, create_value_chain

ROLES = ("admin", "regional_account_manager", "business_developer", "local_account_manager",
         "viewer")
MANAGERS = {"admin", "regional_account_manager"}
EDIT_ALL = {"admin", "regional_account_manager", "business_developer"}
LONG = "x" * 5000


@dataclass
class Net:
    users: dict
    dordrecht: object  # company in Dordrecht: the local account manager's own municipality
    sliedrecht: object  # company in Sliedrecht
    sliedrecht2: object  # a second company in Sliedrecht
    cluster: Cluster
    chain: ValueChain  # stages Ontwerp, Casco, Afbouw
    other: ValueChain  # stage Productie

    def stage(self, name: str, chain: ValueChain | None = None) -> ValueChainStage:
        return next(s for s in (chain or self.chain).stages if s.name == name)


def build_net(make_user, make_org) -> Net:
    users = {role: make_user(role, municipality="GM0505" if role == "local_account_manager" else None)
             for role in ROLES}
    admin = users["admin"]
    dordrecht = make_org(actor=admin, name="Dordtse Werf B.V.", city="Dordrecht", employees=300)
    sliedrecht = make_org(actor=admin, name="Sliedrechtse Schroeven B.V.", city="Sliedrecht")
    sliedrecht2 = make_org(actor=admin, name="Baggerbedrijf Sliedrecht B.V.", city="Sliedrecht")
    cluster = create_cluster({"name": "Maritiem (test)", "description": "Schepen"}, actor=admin)
    chain = create_value_chain({"name": "Scheepsbouw (test)", "cluster_id": cluster.id,
                                "stages": ["Ontwerp", "Casco", "Afbouw"]}, actor=admin)
    other = create_value_chain({"name": "Waterstof (test)", "cluster_id": cluster.id,
                                "stages": ["Productie"]}, actor=admin)
    db.session.commit()
    return Net(users, dordrecht, sliedrecht, sliedrecht2, cluster, chain, other)


def count_recomputes(monkeypatch) -> list[str]:
    """Every schedule_recompute call, by reason (the services call it through the module)."""
    calls: list[str] = []
    monkeypatch.setattr(recompute, "schedule_recompute",
                        lambda *, reason="": calls.append(reason))
    return calls


def role_for(net: Net, org, stage="Casco", role="tier1", chain=None):
    chain = chain or net.chain
    r = add_chain_role({"organisation_id": org.id, "value_chain_id": chain.id,
                        "stage_id": net.stage(stage, chain).id, "role": role},
                       actor=net.users["admin"])
    db.session.commit()
    return r


def link_for(net: Net, supplier, customer, chain=None, sole=False, supplied="staal"):
    link = create_supply_link({"supplier_id": supplier.id, "customer_id": customer.id,
                               "value_chain_id": (chain or net.chain).id if chain is not False else None,
                               "supplied": supplied, "sole_source": sole},
                              actor=net.users["admin"])
    db.session.commit()
    return link


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def live_links() -> int:
    return count(SupplyLink, SupplyLink.deleted_at.is_(None))


def live_roles() -> int:
    return count(ChainRole, ChainRole.deleted_at.is_(None))
