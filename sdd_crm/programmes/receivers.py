"""How programmes react to other features' changes (connected when the package is imported)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from ..extensions import db
from ..labels import PARTICIPATION_STATUS, label
from ..organisations.models import Organisation
from ..reference.models import Municipality
from ..reference.services import PROGRAMMES
from ..signals import organisations_merged, organisations_written, reference_seeded
from . import tally
from .models import (
    Participation,
    ParticipationEvent,
    Programme,
    ProgrammeTarget,
    TargetKind,
)

# How far along the pipeline a participation is; declined is behind every live status.
PIPELINE_RANK = {"declined": 0, "identified": 1, "approached": 2, "interested": 3,
                 "participating": 4, "completed": 5}


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
        execution_options={"synchronize_session": False, tally.MARKED: True})
    tally.mark_participations([a.id, b.id])  # their counted dates move with the events


@organisations_merged.connect
def move_participations(survivor: Organisation, *, merged: Organisation, result, actor,
                        **_kwargs) -> None:
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
            theirs.soft_delete(actor)
            result.notes.append(note)
    db.session.flush()


def _status_label(status: str) -> str:
    return str(label(PARTICIPATION_STATUS, status))


@reference_seeded.connect
def seed_programmes(_sender, *, counts, **_kwargs) -> None:
    """The region's programmes with their SME target, when missing (an edited one is kept)."""
    for spec in PROGRAMMES:
        p = db.session.scalar(sa.select(Programme).where(Programme.code == spec["code"]))
        if p is None:
            p = Programme(code=spec["code"], name=spec["name"], funder=spec["funder"],
                          description=spec["description"], start_date=spec["start_date"],
                          end_date=spec["end_date"])
            p.municipalities = [db.session.get(Municipality, c) for c in spec["region"]]
            p.targets = [ProgrammeTarget(kind=TargetKind.SME_COUNT, value=spec["target"],
                                         description="mkb-bedrijven")]
            db.session.add(p)
        counts["programmes"] += 1
    db.session.flush()


@organisations_written.connect
def recount_organisations(_sender, *, ids, **_kwargs) -> None:
    """Organisations written past the ORM (an import): their verdicts are evaluated again
    before the commit, like any other change (``tally``)."""
    tally.mark_organisations(ids)
