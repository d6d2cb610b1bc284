"""Queries for leads. Every path filters through ``visibility`` (DESIGN 4.4)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import contains_eager, joinedload

from ..auth.models import Role, User
from ..exceptions import hidden
from ..extensions import db
from ..organisations.models import Organisation
from ..reference.models import Municipality
from .visibility import can_see_lead, lead_receivers_condition, lead_visible
from .models import Lead, LeadComment, LeadEvent, LeadStatus, LeadType

TABS = ("inbox", "shared", "all")
OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.ACCEPTED, LeadStatus.IN_PROGRESS)


def may_use_leads(user) -> bool:
    """Viewers read dashboards and reports, not the leads themselves."""
    return user.role != Role.VIEWER


def may_see_all_leads(user) -> bool:
    """The "all leads" tab and the response-time report: the regional team and admins."""
    return user.role in (Role.ADMIN, Role.REGIONAL_ACCOUNT_MANAGER)


@dataclass
class LeadFilters:
    tab: str = "inbox"
    status: str | None = None  # a LeadStatus value, or "open"
    type: str | None = None

    @classmethod
    def from_args(cls, args) -> LeadFilters:
        tab = args.get("tab") if args.get("tab") in TABS else "inbox"
        status = args.get("status") or None
        if status not in {s.value for s in LeadStatus} | {"open", None}:
            status = None
        lead_type = args.get("type") or None
        if lead_type not in {t.value for t in LeadType}:
            lead_type = None
        return cls(tab=tab, status=status, type=lead_type)


def lead_list(user, filters: LeadFilters) -> sa.Select:
    """The leads of one tab that ``user`` may see (about live organisations), newest first."""
    stmt = (sa.select(Lead).join(Organisation, Organisation.id == Lead.organisation_id)
            .where(Lead.deleted_at.is_(None), Organisation.deleted_at.is_(None), lead_visible(user)))
    if filters.tab == "inbox":
        stmt = stmt.where(lead_receivers_condition(user))
    elif filters.tab == "shared":
        stmt = stmt.where(Lead.author_id == user.id)
    if filters.status == "open":
        stmt = stmt.where(Lead.status.in_(OPEN_STATUSES))
    elif filters.status:
        stmt = stmt.where(Lead.status == filters.status)
    if filters.type:
        stmt = stmt.where(Lead.type == filters.type)
    return stmt.order_by(Lead.created_at.desc(), Lead.id.desc())


def with_list_relations(stmt: sa.Select) -> sa.Select:
    """Eager-load what list rows show, so a page costs a fixed number of queries (no N+1).
    The organisation comes from the join :func:`lead_list` makes anyway."""
    return stmt.options(contains_eager(Lead.organisation), joinedload(Lead.author),
                        joinedload(Lead.shared_with_user))


def municipality_names() -> dict[str, str]:
    """CBS code → name; a handful of rows, read once per page."""
    return dict(db.session.execute(sa.select(Municipality.code, Municipality.name)).all())


def get_lead(lead_id: int, user) -> Lead:
    """Load a lead the user may see, or 404 — outside its circle a lead does not exist."""
    lead = db.session.scalar(
        sa.select(Lead).where(Lead.id == lead_id, Lead.deleted_at.is_(None))
        .options(joinedload(Lead.organisation), joinedload(Lead.author),
                 joinedload(Lead.shared_with_user)))
    if lead is None or lead.organisation.deleted_at is not None:
        abort(404)
    if not can_see_lead(user, lead):
        raise hidden(lead)  # answered as a missing id; the refusal is audited
    return lead


def lead_history(lead: Lead) -> list[tuple[LeadEvent, str | None]]:
    """The status changes, oldest first, with the name of who made each."""
    return db.session.execute(
        sa.select(LeadEvent, User.name).outerjoin(User, LeadEvent.user_id == User.id)
        .where(LeadEvent.lead_id == lead.id).order_by(LeadEvent.at, LeadEvent.id)
    ).all()


def lead_comments(lead: Lead, limit: int = 200) -> list[tuple[LeadComment, str]]:
    return db.session.execute(
        sa.select(LeadComment, User.name).join(User, LeadComment.author_id == User.id)
        .where(LeadComment.lead_id == lead.id, LeadComment.deleted_at.is_(None))
        .order_by(LeadComment.created_at, LeadComment.id).limit(limit)
    ).all()


def colleagues(user) -> list[User]:
    """Who a lead can be shared with by name: active users who work with leads, not oneself."""
    return db.session.scalars(
        sa.select(User).where(User.active.is_(True), User.role != Role.VIEWER, User.id != user.id)
        .order_by(User.name)
    ).all()
