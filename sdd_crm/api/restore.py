"""``POST /api/v1/<resource>/<id>/restore``: an admin takes a deleted record out of the bin.

One route for every resource the API deletes (organisations, contacts, interactions, tasks,
clusters, value chains, their roles, supply links, programmes, participations) and for leads
(which the bin holds too). Admins only: anyone else gets 403, whatever the id. 404 when there is
no such record or it is not deleted (a live record is not in the bin); 409 when it cannot come
back yet (its organisation, lead, cluster, chain or programme is still deleted — restore that
first — or it would clash with a live record); 200 with the record in the resource's own schema.
The same services as the bin in the browser (:mod:`sdd_crm.admin.recycle_bin`); the audit
listener writes the ``restore`` event.
"""

from __future__ import annotations

from flask import abort

from ..contacts.models import Contact
from ..contacts.queries import get_contact
from ..contacts.services import restore_contact
from ..extensions import db
from ..interactions.models import Interaction, Task
from ..interactions.services import restore_interaction, restore_task
from ..leads.models import Lead
from ..leads.services import restore_lead
from ..organisations.models import Organisation
from ..organisations.queries import get_organisation
from ..organisations.services import restore_organisation
from ..programmes.admin_services import restore_programme
from ..programmes.models import Participation
from ..programmes.queries import get_programme_or_404
from ..programmes.services import restore_participation
from ..valuechains.models import ChainRole, Cluster, SupplyLink, ValueChain
from ..valuechains.network_services import restore_chain_role, restore_supply_link
from ..valuechains.queries import get_chain, get_cluster, get_link
from ..valuechains.services import restore_cluster, restore_value_chain
from . import bp, errors
from .auth import admins_only, api_user
from .errors import check_id
from .interactions import load_interaction
from .leads import load_lead
from .programme_participations import ITEM as PARTICIPATION_ITEM
from .programme_participations import _detail as participation_detail
from .programmes import PROGRAMME_URL
from .schemas.accounts import INTERACTION, LEAD_DETAIL, TASK
from .schemas.contacts import CONTACT
from .schemas.organisations import ORGANISATION_DETAIL
from .schemas.programmes import PARTICIPATION_DETAIL, PROGRAMME
from .schemas.valuechains import CHAIN_ROLE, CLUSTER_DETAIL, SUPPLY_LINK, VALUE_CHAIN
from .state import refused_as_conflict
from .tasks import load_task

SUMMARY = ("Restore from the bin (admins only). 404 unless it is deleted; 409 while what it "
           "belongs to is deleted too (restore that first) or when it would clash.")




def _deleted(model, record_id: int, **where):
    """The deleted record or 404 (unknown, or live: a live record is not in the bin)."""
    record = db.session.get(model, check_id(record_id))
    if record is None or record.deleted_at is None \
            or any(getattr(record, k) != v for k, v in where.items()):
        abort(404)
    return record


def _restore(service, record) -> None:
    with refused_as_conflict():
        service(record, actor=api_user())


def _route(path: str, operation_id: str, tags: list[str], schema):
    """The decorators every restore route shares."""

    def decorator(view):
        view = bp.response(200, schema, description="The restored record.")(view)
        view = admins_only(view)
        view = errors(403, 409)(view)
        view = bp.doc(operationId=operation_id, summary=SUMMARY)(view)
        return bp.post(path, tags=tags)(view)

    return decorator


@_route("/organisations/<int:org_id>/restore", "restoreOrganisation", ["organisations"],
        ORGANISATION_DETAIL)
def restore_organisation_item(org_id: int):
    _restore(restore_organisation, _deleted(Organisation, org_id))
    return get_organisation(org_id)


@_route("/contacts/<int:contact_id>/restore", "restoreContact", ["contacts"], CONTACT)
def restore_contact_item(contact_id: int):
    _restore(restore_contact, _deleted(Contact, contact_id))
    return get_contact(contact_id, user=api_user())


@_route("/interactions/<int:interaction_id>/restore", "restoreInteraction", ["interactions"],
        INTERACTION)
def restore_interaction_item(interaction_id: int):
    _restore(restore_interaction, _deleted(Interaction, interaction_id))
    return load_interaction(interaction_id)


@_route("/tasks/<int:task_id>/restore", "restoreTask", ["tasks"], TASK)
def restore_task_item(task_id: int):
    _restore(restore_task, _deleted(Task, task_id))
    return load_task(task_id)


@_route("/leads/<int:lead_id>/restore", "restoreLead", ["leads"], LEAD_DETAIL)
def restore_lead_item(lead_id: int):
    _restore(restore_lead, _deleted(Lead, lead_id))
    return load_lead(lead_id)


@_route("/clusters/<int:cluster_id>/restore", "restoreCluster", ["value chains"], CLUSTER_DETAIL)
def restore_cluster_item(cluster_id: int):
    _restore(restore_cluster, _deleted(Cluster, cluster_id))
    return get_cluster(cluster_id)


@_route("/value-chains/<int:chain_id>/restore", "restoreValueChain", ["value chains"],
        VALUE_CHAIN)
def restore_value_chain_item(chain_id: int):
    _restore(restore_value_chain, _deleted(ValueChain, chain_id))
    return get_chain(chain_id)


@_route("/value-chains/<int:chain_id>/roles/<int:role_id>/restore", "restoreChainRole",
        ["value chains"], CHAIN_ROLE)
def restore_chain_role_item(chain_id: int, role_id: int):
    role = _deleted(ChainRole, role_id, value_chain_id=check_id(chain_id))
    _restore(restore_chain_role, role)
    return role


@_route("/supply-links/<int:link_id>/restore", "restoreSupplyLink", ["supply links"],
        SUPPLY_LINK)
def restore_supply_link_item(link_id: int):
    _restore(restore_supply_link, _deleted(SupplyLink, link_id))
    return get_link(link_id)


@_route(f"{PROGRAMME_URL}/restore", "restoreProgramme", ["programmes"], PROGRAMME)
def restore_programme_item(code: str):
    programme = get_programme_or_404(code, include_deleted=True)
    if programme.deleted_at is None:
        abort(404)
    _restore(restore_programme, programme)
    return get_programme_or_404(code)


@_route(f"{PARTICIPATION_ITEM}/restore", "restoreParticipation", ["programmes"],
        PARTICIPATION_DETAIL)
def restore_participation_item(code: str, participation_id: int):
    programme = get_programme_or_404(code, include_deleted=True)
    p = _deleted(Participation, participation_id, programme_id=programme.id)
    _restore(restore_participation, p)
    return participation_detail(programme, p)
