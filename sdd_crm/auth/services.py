"""Users, passwords (argon2id) and API tokens."""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _

from ..audit.events import record
from ..db import utcnow
from ..extensions import db
from ..exceptions import ValidationError
from .models import ApiToken, Role, User
from .passwords import password_problem, user_inputs_for
from .reset import spend_tokens
from .sessions import DEACTIVATED, PASSWORD_CHANGED, revoke_user_sessions

_hasher = PasswordHasher()
# Verifying against a dummy hash keeps the time the same for unknown accounts.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

TOKEN_USE_RESOLUTION = dt.timedelta(minutes=5)
LOCAL_ROLES_NEED_MUNICIPALITY = {Role.LOCAL_ACCOUNT_MANAGER}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None."""
    user = get_user_by_email(email)
    if user is None or not user.password_hash:
        _safe_verify(_DUMMY_HASH, password)
        return None
    if not _safe_verify(user.password_hash, password):
        return None
    if not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def _safe_verify(hash_: str, password: str) -> bool:
    try:
        return _hasher.verify(hash_, password or "")
    except (VerificationError, InvalidHashError):
        return False


def validate_user_fields(*, email, name, role, municipality_code, password=None, user=None) -> dict:
    from ..reference.models import Municipality

    errors: dict[str, str] = {}
    email = normalise_email(email)
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        errors["email"] = _("Vul een geldig e-mailadres in.")
    else:
        other = get_user_by_email(email)
        if other is not None and other is not user:
            errors["email"] = _("Er bestaat al een gebruiker met dit e-mailadres.")
    if not (name or "").strip():
        errors["name"] = _("Vul een naam in.")
    elif len(name) > 200:
        errors["name"] = _("De naam mag hoogstens 200 tekens lang zijn.")
    if role not in {r.value for r in Role}:
        errors["role"] = _("Kies een geldige rol.")
    if municipality_code:
        if db.session.get(Municipality, municipality_code) is None:
            errors["municipality"] = _("Onbekende gemeente.")
    elif role in LOCAL_ROLES_NEED_MUNICIPALITY:
        errors["municipality"] = _("Een lokaal accountmanager hoort bij een gemeente.")
    if password is not None:
        # The policy in one place (auth/passwords.py): length, common lists, zxcvbn.
        problem = password_problem(password, user_inputs=user_inputs_for(name, email))
        if problem:
            errors["password"] = problem
    if errors:
        raise ValidationError(errors)
    return {"email": email, "name": name.strip(), "role": role,
            "municipality_code": municipality_code or None}


def create_user(*, email, name, role, password, municipality_code=None, locale="nl") -> User:
    """Create a user after validating every field; raises ValidationError."""
    data = validate_user_fields(email=email, name=name, role=role,
                                municipality_code=municipality_code, password=password)
    user = User(**data, password_hash=hash_password(password), locale=locale, active=True)
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, *, name, role, municipality_code, active, locale=None, password=None,
                keep_session=None) -> User:
    """Change a user (admin screen); a new password or deactivation ends their sessions
    (``keep_session``: the one an administrator changes their own password from)."""
    data = validate_user_fields(email=user.email, name=name, role=role,
                                municipality_code=municipality_code,
                                password=password or None, user=user)
    user.name = data["name"]
    user.role = data["role"]
    user.municipality_code = data["municipality_code"]
    user.active = bool(active)
    if locale:
        user.locale = locale
    if password:
        _set_password(user, password, keep=keep_session)
    if not user.active:
        revoke_tokens(user)
        revoke_user_sessions(user, reason=DEACTIVATED)
    db.session.flush()
    return user


def _set_password(user: User, password: str, *, keep=None, via: str | None = None) -> None:
    """Store a new password; every session of the user ends (except ``keep``) and every
    "forgot password" link dies. Audited (the hash itself is never in the audit trail);
    ``via``: how, when not by the user or an admin who knew it ("reset": an e-mailed link)."""
    user.password_hash = hash_password(password)
    ended = revoke_user_sessions(user, reason=PASSWORD_CHANGED, keep=keep)
    spend_tokens(user)
    detail = {"sessions_ended": ended}
    if via:
        detail["via"] = via
    record("password_changed", "user", user.id, detail=detail)


def set_password(user: User, password: str) -> User:
    """A new password set by an administrator (CLI): policy checked, every session ended."""
    problem = password_problem(password, user_inputs=user_inputs_for(user.name, user.email))
    if problem:
        raise ValidationError({"password": problem})
    _set_password(user, password)
    db.session.flush()
    return user


def change_own_password(user: User, *, current_password: str, new_password: str,
                        new_password_again: str) -> User:
    """Self-service: the current password proves it is the user; the new one meets the policy.

    Every session of the user ends; the view starts a new one for this browser
    (``sessions.start_session``), so only the browser that changed it stays signed in.
    """
    if not user.password_hash or not _safe_verify(user.password_hash, current_password):
        raise ValidationError({"current_password": _("Het huidige wachtwoord klopt niet.")})
    errors = {}
    problem = password_problem(new_password, user_inputs=user_inputs_for(user.name, user.email))
    if problem:
        errors["new_password"] = problem
    elif new_password != new_password_again:
        errors["new_password_again"] = _("De twee nieuwe wachtwoorden zijn niet gelijk.")
    elif new_password == current_password:
        errors["new_password"] = _("Kies een ander wachtwoord dan het huidige.")
    if errors:
        raise ValidationError(errors)
    _set_password(user, new_password)
    db.session.flush()
    return user


def create_token(user: User, name: str = "") -> str:
    """Issue a new bearer token; only its hash is stored, so this is the only time it is seen."""
    token = "sdd_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=ApiToken.hash(token), name=name[:100]))
    # Audited with the token's name, never the token (keys naming a "token" would be masked).
    record("token_issued", "user", user.id, detail={"label": name[:100]})
    db.session.flush()
    return token


def user_for_token(token: str) -> User | None:
    if not token:
        return None
    record = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(token)))
    if record is None or not record.is_valid:
        return None
    now = utcnow()
    # Record use at most every few minutes: not a database write on every API call.
    if record.last_used_at is None or now - record.last_used_at > TOKEN_USE_RESOLUTION:
        record.last_used_at = now
    return record.user


def revoke_tokens(user: User) -> int:
    """Revoke every live token of ``user`` (admin screen, CLI, deactivation); audited with how
    many and their names when there were any."""
    tokens = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.id)
    ).all()
    for t in tokens:
        t.revoke()
    if tokens:
        record("tokens_revoked", "user", user.id,
               detail={"count": len(tokens), "labels": [t.name for t in tokens]})
    return len(tokens)
