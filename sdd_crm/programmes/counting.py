"""Counting towards a programme target, exactly as DESIGN 4.2 states it.

A programme's count is the number of distinct organisations that (a) have a participation in
the programme with status ``participating`` or ``completed``, (b) are SMEs by DESIGN 4.1
(unverified included), (c) have their municipality inside the programme's region, and (d) are
not dissolved. Merged duplicates count once (a participation of a merged record counts for the
surviving one). Every participation that does not count carries the first reason that applies,
checked in this order: status, deleted, dissolved, outside_region, not_company,
employees_unknown, not_sme, group_not_sme, duplicate.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..extensions import db
from ..organisations.models import Organisation
from ..organisations.queries import final_survivor, with_merged_records
from .models import (Participation, ParticipationEvent, Programme, ProgrammeTarget,
                     programme_municipality)
from .sme import SizeFacts, SmeStatus, sme_status

COUNTING_STATUSES = ("participating", "completed")


class Reason(enum.StrEnum):
    STATUS = "status"
    DELETED = "deleted"
    DISSOLVED = "dissolved"
    OUTSIDE_REGION = "outside_region"
    NOT_COMPANY = "not_company"
    EMPLOYEES_UNKNOWN = "employees_unknown"
    NOT_SME = "not_sme"
    GROUP_NOT_SME = "group_not_sme"
    DUPLICATE = "duplicate"


SME_REASONS = {
    SmeStatus.NOT_COMPANY: Reason.NOT_COMPANY,
    SmeStatus.EMPLOYEES_UNKNOWN: Reason.EMPLOYEES_UNKNOWN,
    SmeStatus.NOT_SME: Reason.NOT_SME,
    SmeStatus.GROUP_NOT_SME: Reason.GROUP_NOT_SME,
}


@dataclass(frozen=True)
class OrgFacts:
    id: int
    size: SizeFacts
    municipality_code: str | None
    status: str
    deleted: bool
    merged_into_id: int | None


@dataclass
class Verdict:
    participation_id: int
    organisation_id: int  # the surviving organisation
    status: str
    counts: bool
    reason: Reason | None
    sme: SmeStatus | None


@dataclass
class ProgrammeCount:
    target: int | None
    counted: int
    unverified: int
    excluded: dict[str, int]
    by_municipality: dict[str, int]
    verdicts: list[Verdict] = field(default_factory=list)


def evaluate(participations, orgs: dict[int, OrgFacts], region: set[str],
             target: int | None = None) -> ProgrammeCount:
    """The pure rule: ``participations`` are (id, organisation_id, status) tuples."""

    def survivor(org_id: int) -> OrgFacts | None:
        return final_survivor(orgs.get(org_id), orgs.get)

    def lookup(org_id):
        org = orgs.get(org_id)
        return org.size if org else None

    verdicts: list[Verdict] = []
    counted_ids: set[int] = set()
    for pid, org_id, status in sorted(participations):
        org = survivor(org_id)
        reason: Reason | None = None
        sme: SmeStatus | None = None
        if status not in COUNTING_STATUSES:
            reason = Reason.STATUS
        elif org is None or org.deleted:
            reason = Reason.DELETED
        elif org.status == "dissolved":
            reason = Reason.DISSOLVED
        elif org.municipality_code not in region:
            reason = Reason.OUTSIDE_REGION
        else:
            sme = sme_status(org.size, lookup)
            reason = SME_REASONS.get(sme)
            if reason is None and org.id in counted_ids:
                reason = Reason.DUPLICATE
        if org is not None and reason is None:
            counted_ids.add(org.id)
        verdicts.append(Verdict(pid, org.id if org else org_id, status, reason is None, reason, sme))

    counted = [v for v in verdicts if v.counts]
    by_municipality = Counter(orgs[v.organisation_id].municipality_code for v in counted)
    return ProgrammeCount(
        target=target,
        counted=len(counted),
        unverified=sum(1 for v in counted if v.sme == SmeStatus.SME_UNVERIFIED),
        excluded=dict(Counter(str(v.reason) for v in verdicts if not v.counts)),
        by_municipality=dict(sorted(by_municipality.items())),
        verdicts=verdicts,
    )


def _load_orgs(ids: set[int]) -> dict[int, OrgFacts]:
    """The organisations, the records they were merged into, and their parent groups."""
    orgs: dict[int, OrgFacts] = {}
    todo = set(ids)
    while todo:
        rows = db.session.execute(
            sa.select(Organisation.id, Organisation.org_type, Organisation.employees,
                      Organisation.annual_turnover_eur, Organisation.balance_sheet_total_eur,
                      Organisation.parent_id, Organisation.municipality_code, Organisation.status,
                      Organisation.deleted_at, Organisation.merged_into_id)
            .where(Organisation.id.in_(todo))
        ).all()
        todo = set()
        for r in rows:
            orgs[r.id] = OrgFacts(
                id=r.id,
                size=SizeFacts(r.id, r.org_type, r.employees, r.annual_turnover_eur,
                               r.balance_sheet_total_eur, r.parent_id),
                municipality_code=r.municipality_code, status=r.status,
                deleted=r.deleted_at is not None, merged_into_id=r.merged_into_id)
            for nxt in (r.parent_id, r.merged_into_id):
                if nxt is not None and nxt not in orgs:
                    todo.add(nxt)
    return orgs


def count_programme(programme: Programme) -> ProgrammeCount:
    """Count a programme's SMEs from the database, with every exclusion explained."""
    participations = db.session.execute(
        sa.select(Participation.id, Participation.organisation_id, Participation.status)
        .where(Participation.programme_id == programme.id, Participation.deleted_at.is_(None))
    ).all()
    region = set(db.session.scalars(
        sa.select(programme_municipality.c.municipality_code)
        .where(programme_municipality.c.programme_id == programme.id)))
    target = db.session.scalar(
        sa.select(ProgrammeTarget.value).where(ProgrammeTarget.programme_id == programme.id,
                                               ProgrammeTarget.kind == "sme_count")
        .order_by(ProgrammeTarget.id).limit(1))
    orgs = _load_orgs({p.organisation_id for p in participations})
    return evaluate([tuple(p) for p in participations], orgs, region, target)


def counted_since(participation_ids) -> dict[int, dt.datetime]:
    """When each participation last entered a counting status (participating or completed).

    The date of the move from a non-counting status into a counting one; a later move from
    participating to completed does not reset it. Participations never in a counting status are
    absent. Used for the cumulative progress line and as "date counted" in the export.
    """
    ids = list(participation_ids)
    if not ids:
        return {}
    events = db.session.execute(
        sa.select(ParticipationEvent.participation_id, ParticipationEvent.from_status,
                  ParticipationEvent.to_status, ParticipationEvent.at)
        .where(ParticipationEvent.participation_id.in_(ids))
        .order_by(ParticipationEvent.participation_id, ParticipationEvent.at, ParticipationEvent.id)
    ).all()
    since: dict[int, dt.datetime] = {}
    for pid, from_status, to_status, at in events:
        entering = to_status in COUNTING_STATUSES and from_status not in COUNTING_STATUSES
        if entering:
            since[pid] = at
        elif to_status not in COUNTING_STATUSES:
            since.pop(pid, None)
    return since


def page_verdicts(programme: Programme, participations) -> dict:
    """DESIGN 4.2 verdicts for a few participations, in a fixed number of queries.

    The same rule as ``count_programme``, evaluated over just these participations plus the
    programme's other counting ones for the same (merged) organisations, so "duplicate" stays
    right without loading the whole programme."""
    rows = {(p.id, p.organisation_id, p.status) for p in participations}
    if not rows:
        return {}
    orgs = _load_orgs({r[1] for r in rows})

    survivors = {o.id for r in rows if r[2] in COUNTING_STATUSES
                 and (o := final_survivor(orgs.get(r[1]), orgs.get))}
    if survivors:
        family = with_merged_records(survivors)
        others = db.session.execute(sa.select(
            Participation.id, Participation.organisation_id, Participation.status).where(
            Participation.programme_id == programme.id, Participation.deleted_at.is_(None),
            Participation.status.in_(COUNTING_STATUSES),
            Participation.organisation_id.in_(family))).all()
        rows |= {tuple(r) for r in others}
        missing = {r[1] for r in rows} - set(orgs)
        if missing:
            orgs.update(_load_orgs(missing))
    region = set(db.session.scalars(sa.select(programme_municipality.c.municipality_code).where(
        programme_municipality.c.programme_id == programme.id)))
    wanted = {p.id for p in participations}
    return {v.participation_id: v for v in evaluate(list(rows), orgs, region).verdicts
            if v.participation_id in wanted}
