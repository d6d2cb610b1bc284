"""The bin (Prullenbak): every kind of soft-deleted record, how it is listed and restored.

One entry per kind (``KINDS``, in tab order): the model, the Dutch names, the eager loads that
let a page of rows show its label, the record it belongs to and a detail without a query per
row, and the owning feature's restore service (each checks the admin role itself). The purge (:mod:`sdd_crm.admin.purge`) labels its audit events with the same
``describe``.

Restoring a record whose parent (organisation, lead, cluster, value chain, programme) is still in
the bin is refused with a Dutch message naming that parent: the admin restores the parent first,
on purpose, and so never brings back by accident what someone else deleted with it. The listing
marks such a parent "ook verwijderd".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from .. import labels
from ..i18n import format_day
from ..contacts.models import Contact
from ..contacts.services import restore_contact
from ..interactions.services import restore_interaction, restore_task
from ..leads.services import restore_comment, restore_lead
from ..organisations.services import restore_establishment, restore_organisation
from ..programmes.admin_services import restore_programme
from ..programmes.services import restore_participation  # the admin blueprint admits admins only
from ..valuechains.network_services import restore_chain_role, restore_supply_link
from ..valuechains.services import restore_cluster, restore_value_chain
from ..interactions.models import Interaction, Task
from ..leads.models import Lead, LeadComment
from ..organisations.models import Establishment, Organisation
from ..programmes.models import Participation, Programme
from ..valuechains.models import ChainRole, Cluster, SupplyLink, ValueChain


@dataclass(frozen=True)
class Row:
    """What the bin shows of one record."""

    label: str
    parent: str | None = None  # the record it belongs to
    parent_deleted: bool = False  # … which is in the bin itself
    detail: str = ""


@dataclass(frozen=True)
class Kind:
    key: str  # in the URL: /admin/deleted?kind=<key>
    model: type
    title: object  # the tab
    caption: object  # the table's caption
    describe: Callable[[object], Row]
    restore: Callable  # the owning feature's service: restore(record, *, actor)
    options: tuple = ()

    @property
    def entity_type(self) -> str:
        return self.model.__tablename__


def _gone(record) -> bool:
    return record is not None and record.deleted_at is not None


def _of_org(label: str, org, detail: str = "") -> Row:
    return Row(label, org.name if org is not None else None, _gone(org), detail)


def _organisation(o: Organisation) -> Row:
    return Row(o.name, None, False, " · ".join(x for x in (o.kvk_number and f"KvK {o.kvk_number}",
                                                          o.city) if x))


def _contact(c: Contact) -> Row:
    return _of_org(c.full_name, c.organisation, c.email or "")


def _interaction(i: Interaction) -> Row:
    return _of_org(i.subject, i.organisation, format_day(i.date))


def _task(t: Task) -> Row:
    return _of_org(t.title, t.organisation, labels.label(labels.TASK_STATUS, t.status))


def _lead(lead: Lead) -> Row:
    return _of_org(lead.title, lead.organisation, labels.label(labels.LEAD_STATUS, lead.status))


def _comment(c: LeadComment) -> Row:
    body = " ".join(c.body.split())
    return Row(body[:80] + ("…" if len(body) > 80 else ""), c.lead.title, _gone(c.lead),
               c.author.name if c.author is not None else "")


def _establishment(e: Establishment) -> Row:
    name = e.name or e.establishment_number or e.organisation.name
    return _of_org(name, e.organisation, " · ".join(
        x for x in (e.establishment_number, e.postcode, e.city) if x))


def _cluster(c: Cluster) -> Row:
    return Row(c.name)


def _chain(c: ValueChain) -> Row:
    return Row(c.name, c.cluster.name, _gone(c.cluster))


def _role(r: ChainRole) -> Row:
    org = r.organisation
    parent, deleted = (org.name, True) if _gone(org) else (r.value_chain.name, _gone(r.value_chain))
    detail = labels.label(labels.CHAIN_ROLE, r.role)
    if r.stage is not None:
        detail += f" · {r.stage.name}"
    return Row(f"{org.name} — {r.value_chain.name}", parent, deleted, detail)


def _link(link: SupplyLink) -> Row:
    label = f"{link.supplier.name} → {link.customer.name}"
    gone = next((o for o in (link.supplier, link.customer) if _gone(o)), None)
    if gone is not None:
        return Row(label, gone.name, True, link.supplied or "")
    chain = link.value_chain
    return Row(label, chain.name if chain is not None else None, _gone(chain),
               link.supplied or "")


def _programme(p: Programme) -> Row:
    return Row(p.name, None, False, p.code)


def _participation(p: Participation) -> Row:
    org, programme = p.organisation, p.programme
    parent = programme if _gone(programme) else org
    return Row(f"{org.name} — {programme.name}", parent.name, _gone(parent),
               labels.label(labels.PARTICIPATION_STATUS, p.status))


KINDS: dict[str, Kind] = {k.key: k for k in (
    Kind("organisations", Organisation, _l("Organisaties"), _l("Verwijderde organisaties"),
         _organisation, restore_organisation),
    Kind("contacts", Contact, _l("Contactpersonen"), _l("Verwijderde contactpersonen"),
         _contact, restore_contact),  # Contact.organisation is joined already
    Kind("interactions", Interaction, _l("Contactmomenten"), _l("Verwijderde contactmomenten"),
         _interaction, restore_interaction, (joinedload(Interaction.organisation),)),
    Kind("tasks", Task, _l("Taken"), _l("Verwijderde taken"), _task, restore_task,
         (joinedload(Task.organisation),)),
    Kind("leads", Lead, _l("Signalen"), _l("Verwijderde signalen"), _lead, restore_lead,
         (joinedload(Lead.organisation),)),
    Kind("lead-comments", LeadComment, _l("Reacties op signalen"),
         _l("Verwijderde reacties op signalen"), _comment, restore_comment,
         (joinedload(LeadComment.lead), joinedload(LeadComment.author))),
    Kind("establishments", Establishment, _l("Vestigingen"), _l("Verwijderde vestigingen"),
         _establishment, restore_establishment,
         (joinedload(Establishment.organisation),)),
    Kind("clusters", Cluster, _l("Clusters"), _l("Verwijderde clusters"), _cluster,
         restore_cluster),
    Kind("value-chains", ValueChain, _l("Waardeketens"), _l("Verwijderde waardeketens"), _chain,
         restore_value_chain, (joinedload(ValueChain.cluster),)),
    Kind("chain-roles", ChainRole, _l("Ketenrollen"), _l("Verwijderde ketenrollen"), _role,
         restore_chain_role,
         (joinedload(ChainRole.organisation), joinedload(ChainRole.value_chain),
          joinedload(ChainRole.stage))),
    Kind("supply-links", SupplyLink, _l("Leveringsrelaties"), _l("Verwijderde leveringsrelaties"),
         _link, restore_supply_link,
         (joinedload(SupplyLink.supplier), joinedload(SupplyLink.customer),
          joinedload(SupplyLink.value_chain))),
    Kind("programmes", Programme, _l("Programma's"), _l("Verwijderde programma's"), _programme,
         restore_programme),
    Kind("participations", Participation, _l("Deelnames"), _l("Verwijderde deelnames"),
         _participation, restore_participation,
         (joinedload(Participation.organisation), joinedload(Participation.programme))),
)}

KIND_BY_MODEL = {k.model: k for k in KINDS.values()}
DEFAULT_KIND = "organisations"


def deleted(kind: Kind) -> sa.Select:
    """The kind's records in the bin, most recently deleted first, with what a row shows."""
    model = kind.model
    return (sa.select(model).where(model.deleted_at.is_not(None)).options(*kind.options)
            .order_by(model.deleted_at.desc(), model.id.desc()))
