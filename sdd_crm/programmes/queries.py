"""Queries for programmes and participations. They return ``Select`` objects (views paginate)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from ..extensions import db
from ..organisations.models import Organisation
from ..organisations.queries import kvk_or_name
from ..validation import integer
from .models import Participation, ParticipationStatus, Programme
from .tally import counted_condition

CODE_MAX = 40
STATUSES = {s.value for s in ParticipationStatus}
COUNTED = {"1": True, "true": True, "0": False, "false": False}


def get_programme_or_404(code: str, *, include_deleted: bool = False) -> Programme:
    """A live programme by its code (case-insensitive), or 404."""
    code = (code or "").strip().lower()
    if not code or len(code) > CODE_MAX:
        abort(404)
    stmt = (sa.select(Programme).where(Programme.code == code)
            .options(selectinload(Programme.targets), selectinload(Programme.municipalities)))
    programme = db.session.scalar(stmt)
    if programme is None or (programme.deleted_at is not None and not include_deleted):
        abort(404)
    return programme


def programme_list(*, deleted: bool = False) -> sa.Select:
    """Live programmes (or, with ``deleted``, the soft-deleted ones), by name."""
    condition = Programme.deleted_at.is_not(None) if deleted else Programme.deleted_at.is_(None)
    return (sa.select(Programme).where(condition)
            .options(selectinload(Programme.targets), selectinload(Programme.municipalities))
            .order_by(Programme.name, Programme.id))


@dataclass
class ParticipationFilters:
    status: str | None = None
    municipality: str | None = None  # CBS code
    owner_id: int | None = None
    q: str | None = None  # organisation name, or a KvK number
    cluster_id: int | None = None
    counted: bool | None = None  # counts towards the target (DESIGN 4.2) or not
    organisation_id: int | None = None

    @classmethod
    def from_args(cls, args) -> ParticipationFilters:
        """From query parameters; a value that cannot mean anything is ignored."""
        status = args.get("status") or None
        municipality = (args.get("municipality") or "").strip().upper()[:6] or None
        counted = str(args.get("counted") or "").strip().lower()
        return cls(
            status=status if status in STATUSES else None,
            municipality=municipality,
            owner_id=_positive(args.get("owner_id")),
            q=(args.get("q") or "").strip()[:200] or None,
            cluster_id=_positive(args.get("cluster_id") or args.get("cluster")),
            counted=COUNTED.get(counted),
            organisation_id=_positive(args.get("organisation_id")),
        )


def _positive(value) -> int | None:
    number = integer(value)
    return number if number is not None and number > 0 else None


def participation_list(programme: Programme, filters: ParticipationFilters | None = None
                       ) -> sa.Select:
    """Live participations of live organisations, most recently moved first.

    The organisation (with its municipality) and the owner are loaded in the same query.
    ``filters.counted`` reads the kept verdicts (``programmes.tally``).
    """
    filters = filters or ParticipationFilters()
    stmt = (
        sa.select(Participation)
        .join(Organisation, Organisation.id == Participation.organisation_id)
        .where(Participation.programme_id == programme.id, Participation.deleted_at.is_(None),
               Organisation.deleted_at.is_(None))
        .options(contains_eager(Participation.organisation).joinedload(Organisation.municipality),
                 joinedload(Participation.owner))
    )
    if filters.status:
        stmt = stmt.where(Participation.status == filters.status)
    if filters.municipality:
        stmt = stmt.where(Organisation.municipality_code == filters.municipality)
    if filters.owner_id:
        stmt = stmt.where(Participation.owner_id == filters.owner_id)
    if filters.organisation_id:
        stmt = stmt.where(Participation.organisation_id == filters.organisation_id)
    if filters.q:
        stmt = stmt.where(kvk_or_name(filters.q))
    if filters.cluster_id:
        from ..valuechains.models import OrganisationCluster

        stmt = stmt.where(sa.exists().where(
            OrganisationCluster.organisation_id == Organisation.id,
            OrganisationCluster.cluster_id == filters.cluster_id))
    if filters.counted is not None:
        stmt = stmt.where(counted_condition(programme, filters.counted))
    return stmt.order_by(Participation.status_changed_at.desc(), Participation.id.desc())


def get_participation_or_404(programme: Programme, participation_id, *,
                             include_deleted: bool = False) -> Participation:
    """A participation of this programme (of a live organisation), or 404."""
    pid = integer(participation_id)
    if pid is None or pid < 1:
        abort(404)
    p = db.session.scalar(
        sa.select(Participation)
        .join(Organisation, Organisation.id == Participation.organisation_id)
        .where(Participation.id == pid, Participation.programme_id == programme.id,
               Organisation.deleted_at.is_(None))
        .options(contains_eager(Participation.organisation).joinedload(Organisation.municipality),
                 joinedload(Participation.owner)))
    if p is None or (p.deleted_at is not None and not include_deleted):
        abort(404)
    return p
