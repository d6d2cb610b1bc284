"""Users, roles and API tokens."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import AuditedMixin, TimestampMixin, VersionedMixin, utcnow
from ..extensions import db


class Role(enum.StrEnum):
    ADMIN = "admin"
    REGIONAL_ACCOUNT_MANAGER = "regional_account_manager"
    LOCAL_ACCOUNT_MANAGER = "local_account_manager"
    BUSINESS_DEVELOPER = "business_developer"
    VIEWER = "viewer"


class User(AuditedMixin, VersionedMixin, TimestampMixin, UserMixin, db.Model):
    __audit_exclude__ = {"password_hash", "last_login_at", "calendar_token_hash"}

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(32), index=True)
    municipality_code: Mapped[str | None] = mapped_column(
        sa.ForeignKey("municipality.code"), index=True
    )
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    locale: Mapped[str] = mapped_column(sa.String(5), default="nl")
    last_login_at: Mapped[dt.datetime | None]
    # The personal calendar feed (ICS) URL carries a secret; only its SHA-256 is stored.
    calendar_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    municipality = relationship("Municipality", lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users cannot sign in
        return self.active

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_viewer(self) -> bool:
        return self.role == Role.VIEWER

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class ApiToken(TimestampMixin, db.Model):
    """A bearer token; only its SHA-256 is stored, so a database leak reveals no token."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user = relationship("User", lazy="joined")

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @property
    def is_valid(self) -> bool:
        return self.revoked_at is None and self.user is not None and self.user.active

    def revoke(self) -> None:
        self.revoked_at = utcnow()
