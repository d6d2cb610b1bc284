"""Users, passwords (argon2id) and API tokens."""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _

from ..db import utcnow
from ..extensions import db
from ..exceptions import ValidationError
from .models import ApiToken, Role, User

_hasher = PasswordHasher()
# Verifying against a dummy hash keeps the time the same for unknown accounts.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MIN_PASSWORD_LENGTH = 12
TOKEN_USE_RESOLUTION = dt.timedelta(minutes=5)
LOCAL_ROLES_NEED_MUNICIPALITY = {Role.LOCAL_ACCOUNT_MANAGER}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def load_user(user_id: str) -> User | None:
    try:
        return db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None


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
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = _("Het wachtwoord moet minstens %(n)s tekens lang zijn.", n=MIN_PASSWORD_LENGTH)
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


def update_user(user: User, *, name, role, municipality_code, active, locale=None, password=None) -> User:
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
        user.password_hash = hash_password(password)
    if not user.active:
        revoke_tokens(user)
    db.session.flush()
    return user


def create_token(user: User, name: str = "") -> str:
    """Issue a new bearer token; only its hash is stored, so this is the only time it is seen."""
    token = "sdd_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=ApiToken.hash(token), name=name[:100]))
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
    tokens = db.session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for t in tokens:
        t.revoke()
    return len(tokens)
