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
    # Secrets and login bookkeeping stay out of the audit log; enabling, disabling and resetting
    # two-factor authentication are written as their own events (sdd_crm/auth/twofactor.py).
    __audit_exclude__ = {"password_hash", "last_login_at", "calendar_token_hash", "totp_secret",
                         "totp_enabled_at", "totp_last_step", "failed_login_count",
                         "last_failed_login_at", "digest_sent_on"}

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
    # Two-factor authentication (TOTP, sdd_crm/auth/twofactor.py): the base32 secret is set when
    # enrolment starts and in use from totp_enabled_at; the last time step accepted, so that a
    # code works only once.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[dt.datetime | None]
    totp_last_step: Mapped[int | None]
    # Failed logins in a row (within an hour) and the last one: the growing wait before the next
    # attempt (sdd_crm/auth/login_delay.py). Kept here so every web process sees them.
    failed_login_count: Mapped[int] = mapped_column(default=0, server_default="0")
    last_failed_login_at: Mapped[dt.datetime | None]
    # Notification preferences (the account page; sdd_crm/notifications/preferences.py): in the
    # app, an e-mail per notification, one e-mail a day listing the day's notifications. The
    # last day a digest covered: the digest job claims a day once (sdd_crm/notifications/digest.py).
    notify_in_app: Mapped[bool] = mapped_column(default=True, server_default="1")
    notify_email: Mapped[bool] = mapped_column(default=True, server_default="1")
    notify_digest: Mapped[bool] = mapped_column(default=False, server_default="0")
    digest_sent_on: Mapped[dt.date | None]

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


class UserSession(db.Model):
    """A signed-in browser session, kept server-side (sdd_crm/auth/sessions.py).

    The browser's (signed) cookie carries a random session id; only its SHA-256 is stored, so a
    database leak reveals no usable session. A session ends when it is revoked (logout, a
    password change, deactivation, "sign out everywhere"), idle too long or too old.
    """

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]
    # logout, password_changed, deactivated, signed_out_everywhere, ended_by_user
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(32))
    origin: Mapped[str | None] = mapped_column(sa.String(64))  # client address at sign-in
    user_agent: Mapped[str | None] = mapped_column(sa.String(200))

    user = relationship("User")

    @staticmethod
    def hash(session_id: str) -> str:
        return hashlib.sha256(session_id.encode()).hexdigest()


class RecoveryCode(db.Model):
    """A one-time code that stands in for the authenticator app (sdd_crm/auth/twofactor.py).

    Only a salted SHA-256 is stored (the code is random, 50 bits: no need for a slow hash); a
    code is spent when used.
    """

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    used_at: Mapped[dt.datetime | None]


class PasswordResetToken(db.Model):
    """A "forgot password" link (sdd_crm/auth/reset.py): single use, short-lived.

    Only the SHA-256 of the token is stored (it is random, 256 bits: no need for a slow hash);
    the token itself exists only in the e-mail. Spent when used, when a newer link is asked for
    and when the password changes in any way.
    """

    __tablename__ = "password_reset_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
