"""Two-factor authentication with TOTP (RFC 6238, pyotp) and one-time recovery codes (ASVS 2.7/2.8).

Available to every user, required for the roles in ``TWO_FACTOR_REQUIRED_ROLES`` (admins).

* Enrolment: :func:`start_enrolment` stores a new secret (not yet in use); the user scans the QR
  code (or types the secret) and :func:`confirm_enrolment` switches it on once a code from the app
  is right, and returns ten recovery codes, shown once. Only a salted SHA-256 of each is stored.
* Login: after the password, :func:`verify_second_factor` accepts a TOTP code (the current time
  step, or one either side for a clock that is a little off) or an unused recovery code. A TOTP
  code works once: the last accepted time step is stored and only a later one is accepted; a
  recovery code is spent. Both are claimed with one conditional UPDATE, so two requests racing
  with the same code cannot both succeed.
* Switching off (:func:`disable`) needs the password and a code, and is refused while the role
  requires it; an admin can reset a user's second factor (:func:`reset`, e.g. a lost phone).

Enabling, disabling, resetting, new recovery codes and the use of a recovery code are written to
the security log, and through it to the audit log (entity ``user``). The secret never is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets

import pyotp
import segno
import sqlalchemy as sa
from flask import current_app, has_request_context
from flask_babel import gettext as _

from ..audit.events import record
from ..exceptions import PermissionDenied, ValidationError
from ..extensions import db
from ..security_log import event
from .models import RecoveryCode, User

ISSUER = "SDD CRM"
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_LENGTH = 10
# Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand is not misread.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_CROCKFORD_ALIASES = str.maketrans({"o": "0", "i": "1", "l": "1"})
VALID_WINDOW = 1  # time steps either side of now (30 s each)



def now() -> dt.datetime:
    """The module's clock (tests monkeypatch it)."""
    return dt.datetime.now(dt.timezone.utc)


# --- who needs it ---------------------------------------------------------------------------

def is_enabled(user: User) -> bool:
    return bool(user.totp_enabled_at is not None and user.totp_secret)


def is_required(user: User) -> bool:
    return user.role in tuple(current_app.config.get("TWO_FACTOR_REQUIRED_ROLES") or ())


def must_enrol(user: User) -> bool:
    """A signed-in user whose role requires a second factor and who has none yet."""
    return is_required(user) and not is_enabled(user)


def enrolment_pending(user: User) -> bool:
    return bool(user.totp_secret) and user.totp_enabled_at is None


# --- enrolment ------------------------------------------------------------------------------

def start_enrolment(user: User) -> None:
    """A fresh secret (160 bits), not in use until :func:`confirm_enrolment`."""
    if is_enabled(user):
        raise ValidationError({"_": _("Tweestapsverificatie staat al aan.")})
    user.totp_secret = pyotp.random_base32(32)
    user.totp_last_step = None
    db.session.flush()


def provisioning_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(user: User) -> str:
    """The enrolment QR code as an SVG data URI (CSP allows ``img-src data:``)."""
    return segno.make(provisioning_uri(user), error="m").svg_data_uri(scale=5, border=2)


def grouped_secret(user: User) -> str:
    """The secret in groups of four, for people who type it in rather than scan it."""
    secret = user.totp_secret or ""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Switch two-factor authentication on when ``code`` fits the new secret; returns the
    recovery codes (the only time they are seen). Raises ValidationError on a wrong code."""
    if not enrolment_pending(user):
        raise ValidationError({"_": _("Begin opnieuw met het instellen van tweestapsverificatie.")})
    step = _matching_step(user.totp_secret, code)
    if step is None or not _claim_step(user, step):
        raise ValidationError({"code": _wrong_code()})
    user.totp_enabled_at = now()
    codes = _new_recovery_codes(user)
    _log(logging.INFO, "two_factor_enabled", user_id=user.id)
    return codes


def regenerate_recovery_codes(user: User, code: str) -> list[str]:
    """New recovery codes (the old ones stop working), after a code from the app."""
    if not is_enabled(user):
        raise ValidationError({"_": _("Tweestapsverificatie staat niet aan.")})
    step = _matching_step(user.totp_secret, code)
    if step is None or not _claim_step(user, step):
        raise ValidationError({"code": _wrong_code()})
    codes = _new_recovery_codes(user)
    _log(logging.INFO, "recovery_codes_renewed", user_id=user.id)
    return codes


# --- the second factor at login ---------------------------------------------------------------

def verify_second_factor(user: User, code: str) -> str | None:
    """``"totp"`` or ``"recovery"`` when ``code`` is accepted (and then used up), else None."""
    if not is_enabled(user):
        return None
    normalised = _normalise(code)
    if normalised.isdigit() and len(normalised) == 6:
        step = _matching_step(user.totp_secret, normalised)
        if step is not None and _claim_step(user, step):
            return "totp"
        return None
    if len(normalised) == RECOVERY_CODE_LENGTH and _spend_recovery_code(user, normalised):
        left = recovery_codes_left(user)
        _log(logging.WARNING, "recovery_code_used", user_id=user.id, left=left)
        return "recovery"
    return None


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


# --- switching off --------------------------------------------------------------------------

def disable(user: User, *, password: str, code: str) -> None:
    """The user switches their own second factor off: password and a code (app or recovery)."""
    from .services import _safe_verify

    if not is_enabled(user):
        raise ValidationError({"_": _("Tweestapsverificatie staat niet aan.")})
    if is_required(user):
        raise ValidationError({"_": _("Voor uw rol is tweestapsverificatie verplicht; u kunt "
                                      "haar niet uitzetten.")})
    errors = {}
    if not user.password_hash or not _safe_verify(user.password_hash, password or ""):
        errors["password"] = _("Het wachtwoord is onjuist.")
    # The code is checked (and used up) only with the right password.
    elif verify_second_factor(user, code) is None:
        errors["code"] = _wrong_code()
    if errors:
        raise ValidationError(errors)
    _switch_off(user)
    _log(logging.WARNING, "two_factor_disabled", user_id=user.id)


def reset(user: User, *, actor: User) -> None:
    """An admin takes a user's second factor away (a lost phone); a user whose role requires one
    sets it up again at the next login."""
    if not actor.is_admin:
        raise PermissionDenied()
    if not (is_enabled(user) or enrolment_pending(user)):
        raise ValidationError({"_": _("Deze gebruiker heeft geen tweestapsverificatie.")})
    _switch_off(user)
    _log(logging.WARNING, "two_factor_reset", user_id=user.id, by=actor.id)


def reset_by_operator(user: User) -> None:
    """``flask users reset-2fa``: whoever runs the server takes a user's second factor away — the
    way back in when the last admin lost both phone and recovery codes. Audited."""
    if not (is_enabled(user) or enrolment_pending(user)):
        raise ValidationError({"_": _("Deze gebruiker heeft geen tweestapsverificatie.")})
    _switch_off(user)
    _log(logging.WARNING, "two_factor_reset", user_id=user.id, by="cli")


def _switch_off(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.flush()


# --- internals ------------------------------------------------------------------------------

def _wrong_code() -> str:
    return _("Deze code is onjuist of al gebruikt.")


def _normalise(code: str | None) -> str:
    return "".join((code or "").split()).replace("-", "").lower()[:64]


def _matching_step(secret: str | None, code: str | None) -> int | None:
    """The time step (now or one either side) whose TOTP code is ``code``, or None."""
    code = _normalise(code)
    if not secret or not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now())
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim_step(user: User, step: int) -> bool:
    """Record ``step`` as used unless it (or a later one) already was: one conditional UPDATE."""
    result = db.session.execute(
        sa.update(User)
        .where(User.id == user.id,
               sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step, updated_at=User.updated_at)
        .execution_options(synchronize_session=False))
    db.session.expire(user, ["totp_last_step"])
    return result.rowcount == 1


def _hash_code(user: User, code: str) -> str:
    # Salted with the user: the same code of two users hashes differently.
    return hashlib.sha256(f"sdd-crm-recovery:{user.id}:{code}".encode()).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["".join(secrets.choice(RECOVERY_ALPHABET) for _i in range(RECOVERY_CODE_LENGTH))
             for _n in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash_code(user, c)) for c in codes)
    db.session.flush()
    half = RECOVERY_CODE_LENGTH // 2
    return [f"{c[:half]}-{c[half:]}" for c in codes]


def _spend_recovery_code(user: User, normalised: str) -> bool:
    code = normalised.translate(_CROCKFORD_ALIASES)
    result = db.session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash_code(user, code),
               RecoveryCode.used_at.is_(None))
        .values(used_at=now())
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def _log(level: int, name: str, **fields) -> None:
    """The security log, which also writes the event to the audit log (on the user named by
    ``user_id``, the signed-in user as actor; kept even if the request is rolled back)."""
    if has_request_context():  # the security log names the client address
        event(level, name, **fields)
    else:  # the command line: no address, but the audit trail still records it
        record(name, "user", fields.get("user_id", ""),
               detail={k: v for k, v in fields.items() if k != "user_id" and v is not None})
