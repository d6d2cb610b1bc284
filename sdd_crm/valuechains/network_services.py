"""Business rules on the organisation side: cluster membership, roles in chains, supply links.

A role or a supply link may be changed by whoever may edit the organisation it touches — for a
link, either of its two organisations (``permissions.can_edit_organisation``, DESIGN 4.4). A
local account manager of Dordrecht may so record that a Sliedrecht firm supplies a Dordrecht
customer. Every change schedules a criticality recompute (``recompute.schedule_recompute``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import validation
from ..extensions import db
from ..organisations.models import Organisation
from ..exceptions import PermissionDenied, check_version
from ..organisations.permissions import can_edit_organisation
from ..exceptions import ValidationError
from .models import ChainRole, ChainRoleType, OrganisationCluster, SupplyLink, ValueChainStage
from .services import (_soft_delete, _unknown_fields, audit_removal, live_chain, live_cluster,
                       network_changed)

ROLE_FIELDS = ("organisation_id", "value_chain_id", "stage_id", "role")
LINK_FIELDS = ("supplier_id", "customer_id", "value_chain_id", "supplied", "sole_source")
MAX_SUPPLIED = 500  # the column's String(500)


def live_organisation(org_id) -> Organisation | None:
    number = validation.integer(org_id)
    if number is None or number < 1:
        return None
    org = db.session.get(Organisation, number)
    if org is None or org.deleted_at is not None or org.merged_into_id is not None:
        return None
    return org


# --- Organisation ↔ cluster, one of them primary ----------------------------------------------

def _memberships(org_id: int) -> list[OrganisationCluster]:
    return list(db.session.scalars(
        sa.select(OrganisationCluster).where(OrganisationCluster.organisation_id == org_id)))


def _make_primary(memberships: list[OrganisationCluster], target: OrganisationCluster) -> None:
    # The partial unique index allows one primary per organisation: clear first, then set.
    for m in memberships:
        if m.is_primary and m is not target:
            m.is_primary = False
    db.session.flush()
    target.is_primary = True
    db.session.flush()


def _membership(org: Organisation, cluster_id, memberships) -> OrganisationCluster:
    cluster = live_cluster(cluster_id)
    member = next((m for m in memberships if cluster is not None and m.cluster_id == cluster.id),
                  None)
    if member is None:
        raise ValidationError({"cluster_id": _("Deze organisatie hoort niet bij dit cluster.")})
    return member


def add_organisation_to_cluster(org: Organisation, cluster_id, *, actor,
                                primary: bool = False) -> OrganisationCluster:
    """Add a membership; the first (live) cluster of an organisation becomes its primary one."""
    if not can_edit_organisation(actor, org):
        raise PermissionDenied()
    cluster = live_cluster(cluster_id)
    if cluster is None:
        raise ValidationError({"cluster_id": _("Kies een bestaand cluster.")})
    memberships = _memberships(org.id)
    if any(m.cluster_id == cluster.id for m in memberships):
        raise ValidationError({"cluster_id": _("Deze organisatie hoort al bij dit cluster.")})
    has_primary = any(m.is_primary and m.cluster.deleted_at is None for m in memberships)
    member = OrganisationCluster(organisation_id=org.id, cluster_id=cluster.id, is_primary=False)
    db.session.add(member)
    db.session.flush()
    if primary or not has_primary:
        _make_primary(memberships, member)
    return member


def set_primary_cluster(org: Organisation, cluster_id, *, actor) -> OrganisationCluster:
    """Make one of the organisation's clusters its primary one (the previous one stops being it)."""
    if not can_edit_organisation(actor, org):
        raise PermissionDenied()
    memberships = _memberships(org.id)
    member = _membership(org, cluster_id, memberships)
    if not member.is_primary:
        _make_primary(memberships, member)
    return member


def remove_organisation_from_cluster(org: Organisation, cluster_id, *, actor) -> None:
    """End a membership; when it was the primary one, the first remaining cluster takes over."""
    if not can_edit_organisation(actor, org):
        raise PermissionDenied()
    memberships = _memberships(org.id)
    member = _membership(org, cluster_id, memberships)
    was_primary = member.is_primary
    audit_removal(member, "organisation_id", "cluster_id", "is_primary")
    db.session.delete(member)
    db.session.flush()
    rest = sorted((m for m in memberships if m is not member and m.cluster.deleted_at is None),
                  key=lambda m: m.cluster.name.lower())
    if was_primary and rest:
        _make_primary(rest, rest[0])


# --- Roles in chains ---------------------------------------------------------------------------

def clean_role_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Organisation, chain, a stage of that chain, and a known role; no duplicate live role."""
    errors: dict[str, str] = {}
    _unknown_fields(data, ROLE_FIELDS, errors)
    org = live_organisation(data.get("organisation_id"))
    if org is None:
        errors["organisation_id"] = _("Kies een bestaande organisatie.")
    chain = live_chain(data.get("value_chain_id"))
    if chain is None:
        errors["value_chain_id"] = _("Kies een bestaande waardeketen.")
    role = data.get("role")
    if not isinstance(role, str) or role not in {r.value for r in ChainRoleType}:
        errors["role"] = _("Kies een geldige rol in de keten.")
    stage = None
    stage_id = data.get("stage_id")
    if chain is not None:
        if validation.blank(stage_id):
            if chain.stages:
                errors["stage_id"] = _("Kies een fase van deze waardeketen.")
        else:
            number = validation.integer(stage_id)
            stage = db.session.get(ValueChainStage, number) if number and number > 0 else None
            if stage is None or stage.value_chain_id != chain.id:
                errors["stage_id"] = _("Kies een fase van deze waardeketen.")
                stage = None
    if not errors:
        duplicate = db.session.scalar(sa.select(ChainRole.id).where(
            ChainRole.organisation_id == org.id, ChainRole.value_chain_id == chain.id,
            ChainRole.stage_id.is_(None) if stage is None else ChainRole.stage_id == stage.id,
            ChainRole.role == role, ChainRole.deleted_at.is_(None)).limit(1))
        if duplicate is not None:
            errors["_"] = _("Deze organisatie heeft deze rol al in deze fase van de keten.")
    if errors:
        raise ValidationError(errors)
    return {"organisation": org, "value_chain": chain, "stage": stage, "role": role}


def add_chain_role(data: Mapping[str, Any], *, actor) -> ChainRole:
    """Record the role an organisation plays in a chain, at a stage."""
    clean = clean_role_data(data)
    if not can_edit_organisation(actor, clean["organisation"]):
        raise PermissionDenied()
    role = ChainRole(organisation_id=clean["organisation"].id, value_chain_id=clean["value_chain"].id,
                     stage_id=clean["stage"].id if clean["stage"] is not None else None,
                     role=clean["role"])
    db.session.add(role)
    db.session.flush()
    network_changed("chain_role")
    return role


def delete_chain_role(role: ChainRole, *, actor) -> None:
    """Soft delete (the audit log keeps who played which role when)."""
    if not can_edit_organisation(actor, role.organisation):
        raise PermissionDenied()
    _soft_delete(role, actor)
    db.session.flush()
    network_changed("chain_role")


# --- Supply links ------------------------------------------------------------------------------

def may_edit_link(actor, supplier: Organisation, customer: Organisation) -> bool:
    """Either side will do: a link is as much the customer's dependency as the supplier's sale."""
    return can_edit_organisation(actor, supplier) or can_edit_organisation(actor, customer)


def clean_link_data(data: Mapping[str, Any], *, link: SupplyLink | None = None,
                    partial: bool = False) -> dict[str, Any]:
    """Validate a supply link (merged with the stored one for a partial update)."""
    errors: dict[str, str] = {}
    _unknown_fields(data, LINK_FIELDS, errors)

    def given(key):
        return not partial or key in data

    out: dict[str, Any] = {}
    for key in ("supplier_id", "customer_id"):
        if given(key):
            org = live_organisation(data.get(key))
            if org is None:
                errors[key] = (_("Kies de leverancier: een bestaande organisatie.")
                               if key == "supplier_id"
                               else _("Kies de afnemer: een bestaande organisatie."))
            else:
                out[key] = org
    if given("value_chain_id"):
        if validation.blank(data.get("value_chain_id")):
            out["value_chain_id"] = None
        else:
            chain = live_chain(data.get("value_chain_id"))
            if chain is None:
                errors["value_chain_id"] = _("Kies een bestaande waardeketen, of geen.")
            else:
                out["value_chain_id"] = chain.id
    if given("supplied"):
        out["supplied"] = validation.text(data, "supplied", errors, limit=MAX_SUPPLIED)
    if given("sole_source"):
        out["sole_source"] = validation.boolean(data, "sole_source", errors)

    supplier = out.get("supplier_id", link.supplier if link is not None else None)
    customer = out.get("customer_id", link.customer if link is not None else None)
    if supplier is not None and customer is not None and supplier.id == customer.id:
        errors["customer_id"] = _("Een organisatie kan niet aan zichzelf leveren.")
    if errors:
        raise ValidationError(errors)
    return out


def check_duplicate_link(clean: dict[str, Any], link: SupplyLink | None = None) -> None:
    """One live link per supplier, customer and chain (checked after the permission, so nobody
    learns of links they could not make anyway)."""
    supplier = clean.get("supplier_id", link.supplier if link is not None else None)
    customer = clean.get("customer_id", link.customer if link is not None else None)
    chain_id = clean.get("value_chain_id", link.value_chain_id if link is not None else None)
    stmt = sa.select(SupplyLink.id).where(
        SupplyLink.supplier_id == supplier.id, SupplyLink.customer_id == customer.id,
        SupplyLink.value_chain_id.is_(None) if chain_id is None
        else SupplyLink.value_chain_id == chain_id,
        SupplyLink.deleted_at.is_(None))
    if link is not None:
        stmt = stmt.where(SupplyLink.id != link.id)
    if db.session.scalar(stmt.limit(1)) is not None:
        raise ValidationError(_("Deze leveringsrelatie bestaat al (zelfde leverancier, afnemer en "
                                "waardeketen)."))


def _apply(link: SupplyLink, clean: dict[str, Any]) -> None:
    for key, value in clean.items():
        if key in ("supplier_id", "customer_id"):
            setattr(link, key[:-3], value)
        else:
            setattr(link, key, value)


def create_supply_link(data: Mapping[str, Any], *, actor) -> SupplyLink:
    """Supplier → customer (within a chain or not), with what is supplied and ``sole_source``."""
    clean = clean_link_data(data)
    if not may_edit_link(actor, clean["supplier_id"], clean["customer_id"]):
        raise PermissionDenied()
    check_duplicate_link(clean)
    link = SupplyLink()
    _apply(link, clean)
    db.session.add(link)
    db.session.flush()
    network_changed("supply_link")
    return link


def update_supply_link(link: SupplyLink, data: Mapping[str, Any], *, actor, expected_version=None,
                       partial: bool = False) -> SupplyLink:
    """Change a link the actor may edit (before and after the change), refusing a stale version."""
    if not may_edit_link(actor, link.supplier, link.customer):
        raise PermissionDenied()
    check_version(link, expected_version)
    clean = clean_link_data(data, link=link, partial=partial)
    supplier = clean.get("supplier_id", link.supplier)
    customer = clean.get("customer_id", link.customer)
    if not may_edit_link(actor, supplier, customer):
        raise PermissionDenied()
    check_duplicate_link(clean, link)
    with db.session.no_autoflush:
        _apply(link, clean)
    db.session.flush()
    network_changed("supply_link")
    return link


def delete_supply_link(link: SupplyLink, *, actor, expected_version=None) -> None:
    if not may_edit_link(actor, link.supplier, link.customer):
        raise PermissionDenied()
    check_version(link, expected_version)
    _soft_delete(link, actor)
    db.session.flush()
    network_changed("supply_link")


def _gone(org: Organisation) -> bool:
    """Deleted (restore it first) or merged into another (whose own roles and links count)."""
    if org.merged_into_id is not None and org.deleted_at is None:
        raise ValidationError(_("De organisatie %(name)s is samengevoegd met een andere; leg dit "
                                "daar opnieuw vast als het nog nodig is.", name=org.name))
    return org.deleted_at is not None


def restore_chain_role(role: ChainRole, *, actor) -> None:
    """An admin takes a role out of the bin; it waits for a deleted organisation or chain and
    must not duplicate a live role."""
    if not actor.is_admin:
        raise PermissionDenied()
    if _gone(role.organisation):
        raise ValidationError(_("Herstel eerst de organisatie %(name)s; deze rol hoort daarbij.",
                                name=role.organisation.name))
    if role.value_chain.deleted_at is not None:
        raise ValidationError(_("Herstel eerst de waardeketen %(name)s; deze rol hoort daarbij.",
                                name=role.value_chain.name))
    duplicate = db.session.scalar(sa.select(ChainRole.id).where(
        ChainRole.organisation_id == role.organisation_id,
        ChainRole.value_chain_id == role.value_chain_id,
        ChainRole.stage_id.is_(None) if role.stage_id is None
        else ChainRole.stage_id == role.stage_id,
        ChainRole.role == role.role, ChainRole.deleted_at.is_(None),
        ChainRole.id != role.id).limit(1))
    if duplicate is not None:
        raise ValidationError(_("Deze organisatie heeft deze rol al in deze fase van de keten."))
    role.deleted_at = None
    role.deleted_by_id = None
    db.session.flush()
    network_changed("chain_role")


def restore_supply_link(link: SupplyLink, *, actor) -> None:
    """An admin restores a link; it waits for a deleted organisation or chain and must not
    duplicate a live link."""
    if not actor.is_admin:
        raise PermissionDenied()
    if (org := next((o for o in (link.supplier, link.customer) if _gone(o)), None)) is not None:
        raise ValidationError(_("Herstel eerst de organisatie %(name)s; deze leveringsrelatie "
                                "hoort daarbij.", name=org.name))
    if link.value_chain is not None and link.value_chain.deleted_at is not None:
        raise ValidationError(_("Herstel eerst de waardeketen %(name)s; deze leveringsrelatie "
                                "hoort daarbij.", name=link.value_chain.name))
    check_duplicate_link({}, link)
    link.deleted_at = None
    link.deleted_by_id = None
    db.session.flush()
    network_changed("supply_link")
