"""The parts of a merge where uniqueness rules: participations (one per programme and
organisation), cluster memberships, roles in chains, supply links and 'geen dubbel' marks
(see ``merge``).

A duplicate is soft-deleted where it stood, on the merged record: restorable, audited, and out
of every list and count; what it knew that the kept one did not is carried over.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from ..db import utcnow
from ..extensions import db
from ..organisations.models import Organisation
from ..programmes.models import Participation, ParticipationEvent
from ..valuechains.models import ChainRole, OrganisationCluster, SupplyLink

# How far along the pipeline a participation is; declined is behind every live status.
PIPELINE_RANK = {"declined": 0, "identified": 1, "approached": 2, "interested": 3,
                 "participating": 4, "completed": 5}


def _soft_delete(record, actor) -> None:
    record.deleted_at = utcnow()
    record.deleted_by_id = actor.id


def _swap_participation(a: Participation, b: Participation) -> None:
    """Give row ``a`` the state and history of ``b`` and vice versa (the pair programme ×
    organisation is unique, deleted rows included, so the survivor's row must stay the
    survivor's: what moves is the state, with the events that led to it)."""
    for key in ("status", "status_changed_at", "owner_id", "notes", "deleted_at", "deleted_by_id"):
        va, vb = getattr(a, key), getattr(b, key)
        setattr(a, key, vb)
        setattr(b, key, va)
    E = ParticipationEvent
    db.session.execute(
        sa.update(E).where(E.participation_id.in_([a.id, b.id])).values(
            participation_id=sa.case((E.participation_id == a.id, b.id), else_=a.id)),
        execution_options={"synchronize_session": False})


def move_participations(survivor: Organisation, merged: Organisation, result: MergeResult,
                        actor) -> None:
    """One participation per programme: the furthest along the pipeline stays live (a live one
    beats a deleted one; on a tie the survivor's); the other is soft-deleted on the merged
    record with its events and a note why. Linked contact moments go to the one kept."""
    mine = {p.programme_id: p for p in db.session.scalars(sa.select(Participation).where(
        Participation.organisation_id == survivor.id))}
    for theirs in db.session.scalars(sa.select(Participation).where(
            Participation.organisation_id == merged.id).order_by(Participation.id)).all():
        kept = mine.get(theirs.programme_id)
        if kept is None:
            theirs.organisation_id = survivor.id
            result.moved["participations"] += 1
            continue
        if kept.deleted_at is not None and theirs.deleted_at is not None:
            continue  # two deleted ones: each stays where it is
        rank_kept = PIPELINE_RANK.get(kept.status, 0) if kept.deleted_at is None else -1
        rank_theirs = PIPELINE_RANK.get(theirs.status, 0) if theirs.deleted_at is None else -1
        if rank_theirs > rank_kept:
            _swap_participation(kept, theirs)
        kept.owner_id = kept.owner_id or theirs.owner_id
        kept.notes = kept.notes or theirs.notes
        before = sorted(i.id for i in kept.interactions)
        for interaction in theirs.interactions:
            if interaction not in kept.interactions:
                kept.interactions.append(interaction)
        after = sorted(i.id for i in kept.interactions)
        if after != before:
            kept._audit_extra = {"interaction_ids": [before, after]}
        if theirs.deleted_at is None:
            note = _("Vervallen bij het samenvoegen van %(merged)s met %(survivor)s: de deelname "
                     "met status '%(status)s' is bewaard.", merged=merged.name,
                     survivor=survivor.name, status=_status_label(kept.status))
            theirs.notes = (f"{theirs.notes}\n\n{note}" if theirs.notes else note)[:5000]
            _soft_delete(theirs, actor)
            result.notes.append(note)
    db.session.flush()


def _status_label(status: str) -> str:
    from ..labels import PARTICIPATION_STATUS, label

    return str(label(PARTICIPATION_STATUS, status))


def move_network(survivor: Organisation, merged: Organisation, result: MergeResult,
                 actor) -> None:
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
            _soft_delete(role, actor)
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
                _soft_delete(link, actor)
                result.moved["self_links"] += 1
            continue
        key = (supplier, customer, link.value_chain_id)
        kept = live.get(key) if link.deleted_at is None else None
        if kept is not None:
            kept.sole_source = kept.sole_source or link.sole_source
            kept.supplied = kept.supplied or link.supplied
            _soft_delete(link, actor)
            result.moved["duplicate_links"] += 1
            continue
        link.supplier_id, link.customer_id = supplier, customer
        result.moved["supply_links"] += 1
        if link.deleted_at is None:
            live[key] = link
    db.session.flush()


def move_dismissals(survivor: Organisation, merged: Organisation, result: MergeResult,
                    actor) -> None:
    """'Geen dubbel' marks on the merged record go to the survivor (see dismissals.py)."""
    from .dismissals import repoint_for_merge

    moved, dropped, self_pairs = repoint_for_merge(survivor, merged, actor)
    if moved:
        result.moved["dismissals"] += moved
    if dropped:
        result.moved["dropped_dismissals"] += dropped
    for name in self_pairs:
        result.notes.append(_("%(merged)s en %(survivor)s waren gemarkeerd als geen dubbel; die "
                              "markering is vervallen.", merged=name, survivor=survivor.name))

