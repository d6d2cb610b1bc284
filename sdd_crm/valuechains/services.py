"""Business rules for clusters, cluster membership, value chains and their ordered stages.

The single place for these rules: the HTML views, the API, the CLI and jobs call them. Roles in
chains, supply links and cluster membership live in ``network_services``.
Services flush; the caller commits once (or rolls back). Every model here is audited.

Who may do what (DESIGN 4.4, issue 4): clusters, value chains and stages are managed by admins
and regional account managers; cluster membership, roles and supply links by whoever may edit
the organisation (for a link: either organisation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext

from .. import validation
from ..auth.models import Role
from ..db import utcnow
from ..extensions import db
from ..organisations.models import Organisation
from ..exceptions import PermissionDenied, check_version
from ..exceptions import ValidationError
from . import recompute
from .models import ChainRole, Cluster, SupplyLink, ValueChain, ValueChainStage

MAX_NAME = 100  # the columns' String(100)
MAX_DESCRIPTION = 2000
MAX_STAGES = 30
MANAGER_ROLES = {Role.ADMIN, Role.REGIONAL_ACCOUNT_MANAGER}
CLUSTER_FIELDS = ("name", "description")
CHAIN_FIELDS = ("name", "cluster_id", "description", "stages")


def can_manage_chains(user) -> bool:
    """Clusters, value chains and stages: admins and regional account managers."""
    return getattr(user, "role", None) in MANAGER_ROLES


def _require_manager(actor) -> None:
    if not can_manage_chains(actor):
        raise PermissionDenied()


def network_changed(reason: str) -> None:
    """Criticality depends on roles, links and stages: keep it current without a button."""
    recompute.schedule_recompute(reason=reason)


def _unknown_fields(data: Mapping, allowed, errors: dict) -> None:
    for key in sorted(set(data) - set(allowed) - {"version"}):
        errors[key] = _("Onbekend veld.")


def _name_clash(model, name: str, record, *, live_message: str, deleted_message: str) -> str | None:
    """Names are unique (also against deleted records, which an admin may restore)."""
    stmt = sa.select(model).where(sa.func.lower(model.name) == name.lower())
    if record is not None and record.id is not None:
        stmt = stmt.where(model.id != record.id)
    other = db.session.scalar(stmt.limit(1))
    if other is None:
        return None
    return deleted_message if other.deleted_at is not None else live_message


def live_cluster(cluster_id) -> Cluster | None:
    number = validation.integer(cluster_id)
    if number is None or number < 1:
        return None
    cluster = db.session.get(Cluster, number)
    return cluster if cluster is not None and cluster.deleted_at is None else None


def live_chain(chain_id) -> ValueChain | None:
    number = validation.integer(chain_id)
    if number is None or number < 1:
        return None
    chain = db.session.get(ValueChain, number)
    return chain if chain is not None and chain.deleted_at is None else None


def _soft_delete(record, actor) -> None:
    record.deleted_at = utcnow()
    record.deleted_by_id = actor.id


def audit_removal(record, *fields: str) -> None:
    """A row removed for good (a stage, a cluster membership: parts of another record, not records
    of their own): its delete event in the audit log says what it held (before → none)."""
    record._audit_extra = {f: [getattr(record, f), None] for f in fields
                           if getattr(record, f) is not None}


# --- Clusters ------------------------------------------------------------------------------

def clean_cluster_data(data: Mapping[str, Any], *, cluster: Cluster | None = None,
                       partial: bool = False) -> dict[str, Any]:
    errors: dict[str, str] = {}
    _unknown_fields(data, CLUSTER_FIELDS, errors)
    out: dict[str, Any] = {}
    if not partial or "name" in data:
        out["name"] = validation.text(data, "name", errors, limit=MAX_NAME, required=True,
                                      message=_("Vul de naam van het cluster in."))
    if not partial or "description" in data:
        out["description"] = validation.text(data, "description", errors, limit=MAX_DESCRIPTION)
    if out.get("name") and "name" not in errors:
        clash = _name_clash(Cluster, out["name"], cluster,
                            live_message=_("Er bestaat al een cluster met deze naam."),
                            deleted_message=_("Deze naam hoort bij een verwijderd cluster; een "
                                              "beheerder kan het herstellen."))
        if clash:
            errors["name"] = clash
    if errors:
        raise ValidationError(errors)
    return out


def create_cluster(data: Mapping[str, Any], *, actor) -> Cluster:
    """A new cluster (admins and regional account managers)."""
    _require_manager(actor)
    cluster = Cluster(**clean_cluster_data(data))
    db.session.add(cluster)
    db.session.flush()
    return cluster


def update_cluster(cluster: Cluster, data: Mapping[str, Any], *, actor, expected_version=None,
                   partial: bool = False) -> Cluster:
    _require_manager(actor)
    check_version(cluster, expected_version)
    for key, value in clean_cluster_data(data, cluster=cluster, partial=partial).items():
        setattr(cluster, key, value)
    db.session.flush()
    return cluster


def delete_cluster(cluster: Cluster, *, actor, expected_version=None) -> None:
    """Soft delete; refused while live value chains belong to it (they would be orphaned)."""
    _require_manager(actor)
    check_version(cluster, expected_version)
    chains = db.session.scalar(
        sa.select(sa.func.count()).select_from(ValueChain)
        .where(ValueChain.cluster_id == cluster.id, ValueChain.deleted_at.is_(None)))
    if chains:
        raise ValidationError(ngettext(
            "Dit cluster heeft nog %(num)d waardeketen; verwijder die eerst of verplaats hem naar "
            "een ander cluster.",
            "Dit cluster heeft nog %(num)d waardeketens; verwijder die eerst of verplaats ze naar "
            "een ander cluster.", chains))
    _soft_delete(cluster, actor)
    db.session.flush()


def restore_cluster(cluster: Cluster, *, actor) -> None:
    """An admin takes a cluster out of the bin (its name is still its own: names are unique)."""
    if not actor.is_admin:
        raise PermissionDenied()
    cluster.deleted_at = None
    cluster.deleted_by_id = None
    db.session.flush()


# --- Value chains ----------------------------------------------------------------------------

def _stage_name(value, errors: dict, key: str = "name") -> str | None:
    return validation.text({key: value}, key, errors, limit=MAX_NAME, required=True,
                           message=_("Vul de naam van de fase in."))


def _stage_names(value, errors: dict) -> list[str]:
    """Stages given when a chain is created: a list of names (or lines of text), in order."""
    if validation.blank(value):
        return []
    if isinstance(value, str):
        value = [line for line in value.splitlines() if line.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors["stages"] = _("Geef de fasen als een lijst met namen.")
        return []
    if len(value) > MAX_STAGES:
        errors["stages"] = _("Hoogstens %(n)s fasen.", n=MAX_STAGES)
        return []
    names: list[str] = []
    for item in value:
        item_errors: dict[str, str] = {}
        name = _stage_name(item, item_errors)
        if item_errors:
            errors["stages"] = _("Elke fase heeft een naam van hoogstens %(n)s tekens.", n=MAX_NAME)
            return []
        if name.lower() in (n.lower() for n in names):
            errors["stages"] = _("Twee fasen hebben dezelfde naam: %(name)s.", name=name)
            return []
        names.append(name)
    return names


def clean_chain_data(data: Mapping[str, Any], *, chain: ValueChain | None = None,
                     partial: bool = False) -> dict[str, Any]:
    errors: dict[str, str] = {}
    allowed = CHAIN_FIELDS if chain is None else tuple(f for f in CHAIN_FIELDS if f != "stages")
    _unknown_fields(data, allowed, errors)
    if chain is not None and "stages" in data:
        errors["stages"] = _("Wijzig de fasen een voor een.")
    out: dict[str, Any] = {}
    if not partial or "name" in data:
        out["name"] = validation.text(data, "name", errors, limit=MAX_NAME, required=True,
                                      message=_("Vul de naam van de waardeketen in."))
    if not partial or "cluster_id" in data:
        cluster = live_cluster(data.get("cluster_id"))
        if cluster is None:
            errors["cluster_id"] = _("Kies een bestaand cluster.")
        else:
            out["cluster_id"] = cluster.id
    if not partial or "description" in data:
        out["description"] = validation.text(data, "description", errors, limit=MAX_DESCRIPTION)
    if chain is None and "stages" in data:
        out["stages"] = _stage_names(data.get("stages"), errors)
    if out.get("name") and "name" not in errors:
        clash = _name_clash(ValueChain, out["name"], chain,
                            live_message=_("Er bestaat al een waardeketen met deze naam."),
                            deleted_message=_("Deze naam hoort bij een verwijderde waardeketen; "
                                              "een beheerder kan die herstellen."))
        if clash:
            errors["name"] = clash
    if errors:
        raise ValidationError(errors)
    return out


def create_value_chain(data: Mapping[str, Any], *, actor) -> ValueChain:
    """A new value chain in a cluster, optionally with its stages in order."""
    _require_manager(actor)
    clean = clean_chain_data(data)
    stage_names = clean.pop("stages", [])
    chain = ValueChain(**clean)
    chain.stages = [ValueChainStage(position=i + 1, name=n) for i, n in enumerate(stage_names)]
    db.session.add(chain)
    db.session.flush()
    if stage_names:
        network_changed("stages")
    return chain


def update_value_chain(chain: ValueChain, data: Mapping[str, Any], *, actor,
                       expected_version=None, partial: bool = False) -> ValueChain:
    _require_manager(actor)
    check_version(chain, expected_version)
    for key, value in clean_chain_data(data, chain=chain, partial=partial).items():
        setattr(chain, key, value)
    db.session.flush()
    return chain


def chain_usage(chain: ValueChain) -> tuple[int, int]:
    """Live roles and live supply links of a chain (of live organisations or not)."""
    roles = db.session.scalar(sa.select(sa.func.count()).select_from(ChainRole).where(
        ChainRole.value_chain_id == chain.id, ChainRole.deleted_at.is_(None)))
    links = db.session.scalar(sa.select(sa.func.count()).select_from(SupplyLink).where(
        SupplyLink.value_chain_id == chain.id, SupplyLink.deleted_at.is_(None)))
    return roles or 0, links or 0


def delete_value_chain(chain: ValueChain, *, actor, expected_version=None) -> None:
    """Soft delete; refused while roles or supply links still point at the chain."""
    _require_manager(actor)
    check_version(chain, expected_version)
    roles, links = chain_usage(chain)
    if roles or links:
        raise ValidationError(_(
            "Deze waardeketen is nog in gebruik (%(roles)s rollen, %(links)s leveringsrelaties). "
            "Verwijder die eerst, of verplaats de leveringsrelaties naar een andere keten.",
            roles=roles, links=links))
    _soft_delete(chain, actor)
    db.session.flush()
    network_changed("value_chain")


def restore_value_chain(chain: ValueChain, *, actor) -> None:
    """An admin takes a value chain out of the bin; one of a deleted cluster waits for it."""
    if not actor.is_admin:
        raise PermissionDenied()
    if chain.cluster.deleted_at is not None:
        raise ValidationError(_("Herstel eerst het cluster %(name)s; deze waardeketen hoort "
                                "daarbij.", name=chain.cluster.name))
    chain.deleted_at = None
    chain.deleted_by_id = None
    db.session.flush()
    network_changed("value_chain")


# --- Stages (ordered) -------------------------------------------------------------------------

def _check_stage_name(chain: ValueChain, name, stage: ValueChainStage | None = None) -> str:
    errors: dict[str, str] = {}
    clean = _stage_name(name, errors)
    if not errors and any(s.name.lower() == clean.lower() for s in chain.stages if s is not stage):
        errors["name"] = _("Deze waardeketen heeft al een fase met deze naam.")
    if errors:
        raise ValidationError(errors)
    return clean


def _reorder(chain: ValueChain, ordered: list[ValueChainStage]) -> None:
    """Give the stages positions 1..n in this order.

    (value_chain_id, position) is unique and both databases check it row by row, so the stages
    that move park on a negative position first (their own -id, unique) in one plain UPDATE
    that the audit log does not see; the ORM then writes (and audits) old → new position.
    """
    targets = {s.id: i + 1 for i, s in enumerate(ordered)}
    moving = [s for s in ordered if s.position != targets[s.id]]
    if not moving:
        return
    db.session.flush()
    db.session.execute(
        sa.update(ValueChainStage)
        .where(ValueChainStage.id.in_([s.id for s in moving]))
        .values(position=-ValueChainStage.id)
        .execution_options(synchronize_session=False))
    for s in moving:
        s.position = targets[s.id]
    db.session.flush()
    chain.stages.sort(key=lambda s: s.position)


def _position(value, count: int) -> int:
    number = validation.integer(value)
    if number is None or not 1 <= number <= count:
        raise ValidationError({"position": _("Kies een positie van 1 tot en met %(n)s.", n=count)})
    return number


def add_stage(chain: ValueChain, name, *, actor, position=None) -> ValueChainStage:
    """A new stage at the end of the chain, or at ``position`` (1 = first)."""
    _require_manager(actor)
    clean = _check_stage_name(chain, name)
    if len(chain.stages) >= MAX_STAGES:
        raise ValidationError({"name": _("Een waardeketen heeft hoogstens %(n)s fasen.", n=MAX_STAGES)})
    at = None if validation.blank(position) else _position(position, len(chain.stages) + 1)
    last = max((s.position for s in chain.stages), default=0)
    stage = ValueChainStage(position=last + 1, name=clean)
    chain.stages.append(stage)
    db.session.flush()
    if at is not None:
        ordered = [s for s in chain.stages if s is not stage]
        ordered.insert(at - 1, stage)
        _reorder(chain, ordered)
    network_changed("stage")
    return stage


def rename_stage(stage: ValueChainStage, name, *, actor) -> ValueChainStage:
    _require_manager(actor)
    stage.name = _check_stage_name(stage.value_chain, name, stage)
    db.session.flush()
    network_changed("stage")
    return stage


def move_stage(stage: ValueChainStage, *, actor, direction: str | None = None,
               position=None) -> ValueChainStage:
    """Move a stage one place ``up``/``down``, or to ``position`` (1 = first)."""
    _require_manager(actor)
    chain = stage.value_chain
    ordered = sorted(chain.stages, key=lambda s: s.position)
    index = ordered.index(stage)
    if direction is not None:
        if direction not in ("up", "down"):
            raise ValidationError({"direction": _("Kies omhoog of omlaag.")})
        target = index - 1 if direction == "up" else index + 1
        if not 0 <= target < len(ordered):
            raise ValidationError(_("Deze fase staat al helemaal bovenaan.") if direction == "up"
                                  else _("Deze fase staat al helemaal onderaan."))
    else:
        target = _position(position, len(ordered)) - 1
    ordered.insert(target, ordered.pop(index))
    _reorder(chain, ordered)
    network_changed("stage")
    return stage


def stage_in_use(stage: ValueChainStage) -> int:
    """Live roles of live organisations at this stage."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(ChainRole)
        .join(Organisation, Organisation.id == ChainRole.organisation_id)
        .where(ChainRole.stage_id == stage.id, ChainRole.deleted_at.is_(None),
               Organisation.deleted_at.is_(None))) or 0


def delete_stage(stage: ValueChainStage, *, actor) -> None:
    """Delete a stage no live role uses; the stages after it move up one place."""
    _require_manager(actor)
    used = stage_in_use(stage)
    if used:
        raise ValidationError(ngettext(
            "Deze fase kan niet worden verwijderd: %(num)d organisatie heeft hier een rol. "
            "Verwijder of verplaats die rol eerst.",
            "Deze fase kan niet worden verwijderd: %(num)d organisaties hebben hier een rol. "
            "Verwijder of verplaats die rollen eerst.", used))
    # Deleted roles (or roles of deleted organisations) keep their history without the stage.
    for role in db.session.scalars(sa.select(ChainRole).where(ChainRole.stage_id == stage.id)):
        role.stage_id = None
    chain = stage.value_chain
    audit_removal(stage, "value_chain_id", "position", "name")
    chain.stages.remove(stage)
    db.session.delete(stage)  # explicitly: an orphan alone is deleted unseen by the audit log
    db.session.flush()
    _reorder(chain, sorted(chain.stages, key=lambda s: s.position))
    network_changed("stage")

