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
from ..organisations.queries import final_survivor
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


ORG_CHUNK = 5000  # ids per IN (...) list: well below SQLite's and PostgreSQL's limits


def _load_orgs(ids, *, first: sa.Select | None = None) -> dict[int, OrgFacts]:
    """The organisations, the records they were merged into, and their parent groups.

    ``first`` (a select of organisation ids) names the first round instead of ``ids``: a
    whole programme's organisations are then joined in SQL rather than sent as ten thousand
    parameters (SQLite scanned every organisation for such a list)."""
    orgs: dict[int, OrgFacts] = {}
    columns = (Organisation.id, Organisation.org_type, Organisation.employees,
               Organisation.annual_turnover_eur, Organisation.balance_sheet_total_eur,
               Organisation.parent_id, Organisation.municipality_code, Organisation.status,
               Organisation.deleted_at.is_not(None).label("deleted"), Organisation.merged_into_id)
    rounds = [sa.select(*columns).where(Organisation.id.in_(first))] if first is not None else []
    todo = set(ids or ())
    while rounds or todo:
        if rounds:
            rows = db.session.execute(rounds.pop()).all()
        else:
            ordered, rows = sorted(todo), []
            for at in range(0, len(ordered), ORG_CHUNK):
                rows.extend(db.session.execute(sa.select(*columns).where(
                    Organisation.id.in_(ordered[at:at + ORG_CHUNK]))).all())
        todo = set()
        for r in rows:
            orgs[r.id] = OrgFacts(
                id=r.id,
                size=SizeFacts(r.id, r.org_type, r.employees, r.annual_turnover_eur,
                               r.balance_sheet_total_eur, r.parent_id),
                municipality_code=r.municipality_code, status=r.status,
                deleted=bool(r.deleted), merged_into_id=r.merged_into_id)
        for r in rows:
            for nxt in (r.parent_id, r.merged_into_id):
                if nxt is not None and nxt not in orgs:
                    todo.add(nxt)
    return orgs


def region_of(programme_id: int) -> set[str]:
    """The CBS codes of a programme's region."""
    return set(db.session.scalars(
        sa.select(programme_municipality.c.municipality_code)
        .where(programme_municipality.c.programme_id == programme_id)))


def target_of(programme_id: int) -> int | None:
    """The programme's first SME target (the one DESIGN 4.2 counts against)."""
    return db.session.scalar(
        sa.select(ProgrammeTarget.value).where(ProgrammeTarget.programme_id == programme_id,
                                               ProgrammeTarget.kind == "sme_count")
        .order_by(ProgrammeTarget.id).limit(1))


def live_participations(programme_id: int) -> sa.Select:
    """The programme's participations the count looks at (not deleted)."""
    return sa.select(Participation.id, Participation.organisation_id, Participation.status).where(
        Participation.programme_id == programme_id, Participation.deleted_at.is_(None))


def count_programme(programme: Programme) -> ProgrammeCount:
    """Count a programme's SMEs from the database, with every exclusion explained.

    This is the rule evaluated afresh over every participation; the screens and the API read
    the same figures kept current by ``programmes.tally`` (tests hold the two equal)."""
    participations = db.session.execute(live_participations(programme.id)).all()
    orgs = _load_orgs((), first=live_participations(programme.id)
                      .with_only_columns(Participation.organisation_id))
    return evaluate([tuple(p) for p in participations], orgs, region_of(programme.id),
                    target_of(programme.id))


def counted_since(participation_ids) -> dict[int, dt.datetime]:
    """When each participation last entered a counting status (participating or completed).

    The date of the move from a non-counting status into a counting one; a later move from
    participating to completed does not reset it. Participations never in a counting status are
    absent. Used for the cumulative progress line and as "date counted" in the export.
    """
    ids = list(participation_ids)
    if not ids:
        return {}
    events = []
    for at in range(0, len(ids), ORG_CHUNK):
        events.extend(db.session.execute(
            sa.select(ParticipationEvent.participation_id, ParticipationEvent.from_status,
                      ParticipationEvent.to_status, ParticipationEvent.at)
            .where(ParticipationEvent.participation_id.in_(ids[at:at + ORG_CHUNK]))
            .order_by(ParticipationEvent.participation_id, ParticipationEvent.at,
                      ParticipationEvent.id)).all())
    since: dict[int, dt.datetime] = {}
    for pid, from_status, to_status, at in events:
        entering = to_status in COUNTING_STATUSES and from_status not in COUNTING_STATUSES
        if entering:
            since[pid] = at
        elif to_status not in COUNTING_STATUSES:
            since.pop(pid, None)
    return since
