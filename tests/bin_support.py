"""Records of every kind the bin holds, deleted the way users delete them (tests of the bin,
its API and the purge)."""

from __future__ import annotations

import datetime as dt
import itertools
from types import SimpleNamespace

import sqlalchemy as sa

from sdd_crm.contacts.services import create_contact, delete_contact
from sdd_crm.db import utcnow
from sdd_crm.extensions import db
from sdd_crm.interactions.services import (
    create_interaction,
    create_task,
    delete_interaction,
    delete_task,
)
from sdd_crm.leads.services import add_comment, share_lead
from sdd_crm.organisations.services import delete_organisation
from sdd_crm.programmes.admin_services import create_programme, delete_programme
from sdd_crm.programmes.services import add_participation, delete_participation
from sdd_crm.valuechains.network_services import (
    add_chain_role,
    create_supply_link,
    delete_chain_role,
    delete_supply_link,
)
from sdd_crm.valuechains.services import (
    create_cluster,
    create_value_chain,
    delete_cluster,
    delete_value_chain,
)

KINDS = ("organisations", "contacts", "interactions", "tasks", "leads", "lead-comments",
         "establishments", "clusters", "value-chains", "chain-roles", "supply-links",
         "programmes", "participations")
# Kinds whose record belongs to another that can be deleted too: the restore waits for it.
WITH_PARENT = tuple(k for k in KINDS if k not in ("organisations", "clusters", "programmes"))
VISIT = dt.date.today() - dt.timedelta(days=3)
_n = itertools.count(1)


def soft_delete(record, actor) -> None:
    record.soft_delete(actor)
    db.session.flush()


def age(record, days: int) -> None:
    """Pretend ``record`` was deleted ``days`` ago (a plain UPDATE: no audit event)."""
    table = type(record).__table__
    db.session.execute(sa.update(table).where(table.c.id == record.id)
                       .values(deleted_at=utcnow() - dt.timedelta(days=days)))
    db.session.expire(record)


class Maker:
    """``Maker(admin, make_org).deleted(kind)``: a record of ``kind`` in the bin, as a namespace
    with ``record``, ``label`` (what the bin shows), ``parent`` (what it belongs to, or None) and
    ``deleter``."""

    def __init__(self, admin, make_org):
        self.admin, self.make_org = admin, make_org

    def org(self, name: str, **fields):
        return self.make_org(actor=self.admin, name=name, **fields)

    def cluster(self, name: str):
        return create_cluster({"name": name}, actor=self.admin)

    def chain(self, name: str, cluster=None):
        cluster = cluster or self.cluster(f"Cluster van {name}")
        return create_value_chain({"name": name, "cluster_id": cluster.id,
                                   "stages": ["Ontwerp", "Bouw"]}, actor=self.admin)

    def programme(self, name: str):
        return create_programme({"code": f"prog{next(_n)}", "name": name,
                                 "municipalities": ["GM0505"],
                                 "targets": [{"kind": "sme_count", "value": 10}]}, actor=self.admin)

    def live(self, kind: str, tag: str):
        """A live record of ``kind`` (its label contains ``tag``) and its parent."""
        a = self.admin
        if kind == "organisations":
            return self.org(f"Werf {tag} B.V."), None
        if kind == "contacts":
            org = self.org(f"Bij {tag} B.V.")
            return create_contact({"organisation_id": org.id, "first_name": "Jan",
                                   "last_name": f"Contact {tag}", "email": f"c{next(_n)}@ex.nl"},
                                  actor=a), org
        if kind == "interactions":
            org = self.org(f"Bij {tag} B.V.")
            return create_interaction({"organisation_id": org.id, "type": "visit", "date": VISIT,
                                       "subject": f"Bezoek {tag}", "topics": ["risk"],
                                       "confidential": False}, actor=a), org
        if kind == "tasks":
            org = self.org(f"Bij {tag} B.V.")
            return create_task({"title": f"Taak {tag}", "organisation_id": org.id}, actor=a), org
        if kind == "leads":
            org = self.org(f"Bij {tag} B.V.")
            return share_lead({"organisation_id": org.id, "type": "expansion",
                               "title": f"Lead {tag}", "shared_with": "regional_team"},
                              actor=a), org
        if kind == "lead-comments":
            org = self.org(f"Bij {tag} B.V.")
            lead = share_lead({"organisation_id": org.id, "type": "expansion",
                               "title": f"Lead van {tag}", "shared_with": "regional_team"}, actor=a)
            return add_comment(lead, f"Reactie {tag}", actor=a), lead
        if kind == "establishments":
            number = f"{next(_n):012d}"
            org = self.org(f"Bij {tag} B.V.", kvk_number=f"{next(_n) + 10_000_000:08d}",
                           establishment_number=number)
            return org.establishments[0], org
        if kind == "clusters":
            return self.cluster(f"Cluster {tag}"), None
        if kind == "value-chains":
            cluster = self.cluster(f"Cluster van {tag}")
            return self.chain(f"Keten {tag}", cluster), cluster
        if kind == "chain-roles":
            chain = self.chain(f"Keten van {tag}")
            org = self.org(f"Rol {tag} B.V.")
            return add_chain_role({"organisation_id": org.id, "value_chain_id": chain.id,
                                   "stage_id": chain.stages[0].id, "role": "tier1"},
                                  actor=a), chain
        if kind == "supply-links":
            supplier = self.org(f"Levert {tag} B.V.")
            customer = self.org(f"Koopt {tag} B.V.")
            return create_supply_link({"supplier_id": supplier.id, "customer_id": customer.id,
                                       "supplied": "staal"}, actor=a), supplier
        if kind == "programmes":
            return self.programme(f"Programma {tag}"), None
        if kind == "participations":
            programme = self.programme(f"Programma van {tag}")
            org = self.org(f"Doet mee {tag} B.V.")
            return add_participation(programme, org.id, actor=a), programme
        raise KeyError(kind)

    def delete(self, kind: str, record, actor=None) -> None:
        a = actor or self.admin
        delete = {
            "organisations": delete_organisation, "contacts": delete_contact,
            "interactions": delete_interaction, "tasks": delete_task,
            "clusters": delete_cluster, "value-chains": delete_value_chain,
            "chain-roles": delete_chain_role, "supply-links": delete_supply_link,
            "programmes": delete_programme, "participations": delete_participation,
        }.get(kind)
        if delete is None:  # leads, comments and establishments have no delete of their own
            soft_delete(record, a)
        else:
            delete(record, actor=a)
        db.session.flush()

    def deleted(self, kind: str, tag: str | None = None, deleter=None):
        tag = tag or str(next(_n))
        record, parent = self.live(kind, tag)
        self.delete(kind, record)
        if deleter is not None and deleter.id != self.admin.id:
            record.deleted_by_id = deleter.id
        db.session.commit()
        return SimpleNamespace(kind=kind, record=record, parent=parent, tag=tag,
                               label=label(kind, record))


def label(kind: str, r) -> str:
    return {
        "organisations": lambda: r.name, "contacts": lambda: r.full_name,
        "interactions": lambda: r.subject, "tasks": lambda: r.title, "leads": lambda: r.title,
        "lead-comments": lambda: r.body, "establishments": lambda: r.name or r.establishment_number,
        "clusters": lambda: r.name, "value-chains": lambda: r.name,
        "chain-roles": lambda: f"{r.organisation.name} — {r.value_chain.name}",
        "supply-links": lambda: f"{r.supplier.name} → {r.customer.name}",
        "programmes": lambda: r.name,
        "participations": lambda: f"{r.organisation.name} — {r.programme.name}",
    }[kind]()


def delete_parent(maker: Maker, kind: str, parent) -> str:
    """Delete what a record of ``kind`` (itself in the bin) belongs to; its name."""
    a = maker.admin
    if kind == "lead-comments":
        soft_delete(parent, a)
        return parent.title
    if kind == "value-chains":
        delete_cluster(parent, actor=a)
    elif kind == "chain-roles":
        delete_value_chain(parent, actor=a)
    elif kind == "participations":
        delete_programme(parent, actor=a)
    else:
        delete_organisation(parent, actor=a)
    db.session.flush()
    return parent.name
