"""Queries of the admin screens; each returns a ``Select`` to paginate, or loads-or-404."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from ..auth.models import ApiToken, User
from ..extensions import db


def user_list(q: str | None = None, role: str | None = None) -> sa.Select:
    stmt = sa.select(User).order_by(User.name, User.id)
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(sa.or_(sa.func.lower(User.name).like(like), User.email.like(like)))
    if role:
        stmt = stmt.where(User.role == role)
    return stmt


def get_user(user_id: int) -> User:
    """The user or 404 (the admin blueprint has already checked the admin role)."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def active_token_counts(user_ids: list[int]) -> dict[int, int]:
    """Unrevoked API tokens per user, for one page of users in one query."""
    if not user_ids:
        return {}
    rows = db.session.execute(
        sa.select(ApiToken.user_id, sa.func.count())
        .where(ApiToken.user_id.in_(user_ids), ApiToken.revoked_at.is_(None))
        .group_by(ApiToken.user_id))
    return dict(rows.all())


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())))


def users_by_id(ids) -> dict[int, User]:
    """The users behind a page of ``deleted_by_id`` / ``user_id`` values, in one query."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}


def get_deleted(model, record_id: int):
    """A soft-deleted record of any kind in the bin, or 404 (a live record is not in the bin)."""
    record = db.session.get(model, record_id)
    if record is None or record.deleted_at is None:
        abort(404)
    return record
