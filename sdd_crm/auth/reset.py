""""Forgot password": a single-use, short-lived link by e-mail (ASVS 2.5).

* Asking (:func:`request_reset`) gives the same answer whether or not the address has an account
  — the view says "if there is an account, we sent a link" in every case — and is throttled per
  address and per client (``PASSWORD_RESET_LIMIT``). For an active user it only queues a
  ``password_reset_email`` job (a system job of the one lifecycle, :mod:`sdd_crm.jobs`).
* The job makes the token (:func:`issue_token`): 256 random bits, of which only the SHA-256 is
  stored (:class:`~sdd_crm.auth.models.PasswordResetToken`). The token never sits in the
  database, a job's parameters or the outbox; it exists only in the e-mail. The link is built on
  ``BASE_URL``, never on the request's Host header (a client chooses that one).
* A token works for ``PASSWORD_RESET_MINUTES`` (60), once. It is spent when used, when a newer
  link is asked for, and whenever the password changes (:func:`spend_tokens`, called by
  ``services._set_password``).
* Using it (:func:`reset_password`) sets a new password under the same policy as everywhere
  (:mod:`sdd_crm.auth.passwords`) and ends every session of the user; the user then signs in as
  always — with the second factor when they have one.

Only available when mail is configured with links (:func:`sdd_crm.mail.links_configured`).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app, has_request_context
from flask_babel import force_locale
from flask_babel import gettext as _

from .. import mail
from ..audit.events import record
from ..db import utcnow
from ..exceptions import ValidationError
from ..extensions import db, rq
from ..jobs import lifecycle
from ..jobs.models import Job
from ..security_log import email_digest, event
from . import login_delay
from .models import PasswordResetToken, User
from .passwords import password_problem, user_inputs_for

JOB_KIND = "password_reset_email"
TIMEOUT = 120
RESET_PATH = "/password/reset"
# Spent and expired tokens are kept a day (for an investigation), then deleted.
KEEP = dt.timedelta(days=1)


def now() -> dt.datetime:
    """The module's clock (tests monkeypatch it to travel in time)."""
    return utcnow()


def available() -> bool:
    """Mail with links is configured: the login page offers "forgot password"."""
    return mail.links_configured()


def lifetime() -> dt.timedelta:
    return dt.timedelta(minutes=int(current_app.config["PASSWORD_RESET_MINUTES"]))


# --- asking for a link -------------------------------------------------------------------------

def request_reset(email: str) -> Job | None:
    """Queue the reset e-mail for the active user with ``email``; None (and nothing queued) for
    an unknown or inactive address. The caller answers the same either way."""
    from .services import get_user_by_email

    user = get_user_by_email(email or "")
    if user is None or not user.active or not available():
        _log(logging.INFO, "password_reset_requested", account=email_digest(email))
        return None
    _log(logging.INFO, "password_reset_requested", user_id=user.id)
    job = lifecycle.new_job(JOB_KIND, params={"user_id": user.id})
    lifecycle.enqueue(send_password_reset, job.id, timeout=TIMEOUT)
    return job


def issue_token(user: User) -> str:
    """A new token for ``user`` (its hash stored, flushed); earlier unused ones are spent."""
    at = now()
    spend_tokens(user, at=at)
    db.session.execute(sa.delete(PasswordResetToken).where(
        PasswordResetToken.user_id == user.id, PasswordResetToken.created_at < at - KEEP))
    token = secrets.token_urlsafe(32)
    db.session.add(PasswordResetToken(user_id=user.id, token_hash=PasswordResetToken.hash(token),
                                      created_at=at, expires_at=at + lifetime()))
    db.session.flush()
    return token


def spend_tokens(user: User, *, at: dt.datetime | None = None) -> int:
    """Make every unused reset link of ``user`` useless (a password change, a newer link)."""
    return db.session.execute(
        sa.update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=at or now())
        .execution_options(synchronize_session=False)).rowcount


@rq.job
def send_password_reset(job_id: str) -> dict | None:
    """The RQ job: make a token for the job's user and e-mail the link; ``{"sent": 0 or 1}``.
    One unit of work: when the e-mail is refused the token is rolled back with it."""

    def body(job, progress):
        user = db.session.get(User, (job.params or {}).get("user_id"))
        if user is None or not user.active or not available():
            return lifecycle.Finished({"sent": 0}, _("Geen e-mail verstuurd."))
        token = issue_token(user)
        with mail.smtp() as server:
            server.send_message(reset_message(user, token))
        return lifecycle.Finished({"sent": 1}, _("E-mail om het wachtwoord te herstellen "
                                                 "verstuurd."))

    return lifecycle.run(job_id, body, kinds=JOB_KIND, running=_("E-mail versturen"),
                         failure=lambda exc: _("Het versturen van de e-mail is mislukt "
                                               "(%(error)s).", error=type(exc).__name__))


def reset_message(user: User, token: str) -> EmailMessage:
    """The e-mail with the link, in the user's language."""
    minutes = int(current_app.config["PASSWORD_RESET_MINUTES"])
    with force_locale(user.locale or "nl"):
        msg = EmailMessage()
        msg["Subject"] = "SDD CRM: " + _("uw wachtwoord opnieuw instellen")
        msg["From"] = mail.sender()
        msg["To"] = user.email
        msg.set_content("\n\n".join((
            _("Beste %(name)s,", name=user.name),
            _("Iemand (hopelijk u) heeft gevraagd om een nieuw wachtwoord voor SDD CRM. Met deze "
              "link stelt u een nieuw wachtwoord in. De link werkt één keer en %(minutes)s "
              "minuten lang:", minutes=minutes),
            mail.link(RESET_PATH) + "?token=" + token,
            _("Heeft u dit niet gevraagd? Dan kunt u deze e-mail negeren: uw wachtwoord blijft "
              "zoals het is."),
        )))
    return msg


# --- using a link ------------------------------------------------------------------------------

def user_for_token(token: str | None) -> User | None:
    """The active user whose unused, unexpired token this is; else None."""
    found = _live_token(token)
    return found[1] if found is not None else None


def _live_token(token: str | None) -> tuple[PasswordResetToken, User] | None:
    if not token or not isinstance(token, str) or len(token) > 100:
        return None
    row = db.session.scalar(sa.select(PasswordResetToken).where(
        PasswordResetToken.token_hash == PasswordResetToken.hash(token)))
    if row is None or row.used_at is not None or row.expires_at <= now():
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return row, user


def reset_password(token: str | None, *, new_password: str, new_password_again: str) -> User:
    """Set a new password with a live token, which is spent; every session of the user ends.
    Raises ``ValidationError`` (``_`` for a dead link, the password fields for the policy)."""
    from .services import _set_password

    found = _live_token(token)
    if found is None:
        raise ValidationError({"_": invalid_link_message()})
    row, user = found
    problem = password_problem(new_password, user_inputs=user_inputs_for(user.name, user.email))
    if problem:
        raise ValidationError({"new_password": problem})
    if new_password != new_password_again:
        raise ValidationError({"new_password_again":
                               _("De twee nieuwe wachtwoorden zijn niet gelijk.")})
    # Claim the token: of two requests with the same link only one gets here.
    claimed = db.session.execute(
        sa.update(PasswordResetToken)
        .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now())
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise ValidationError({"_": invalid_link_message()})
    _set_password(user, new_password, via="reset")  # also spends any other link
    login_delay.reset(user)  # the e-mail proved who it is: no wait left from guesses
    db.session.flush()
    return user


def invalid_link_message() -> str:
    return _("Deze link werkt niet (meer): hij is al gebruikt, verlopen of vervangen door een "
             "nieuwere. Vraag een nieuwe aan met \"Wachtwoord vergeten?\" op de inlogpagina.")


def _log(level: int, name: str, **fields) -> None:
    """The security log (and audit trail); on the command line only the audit trail."""
    if has_request_context():
        event(level, name, **fields)
    else:
        record(name, "user", fields.get("user_id", ""),
               detail={k: v for k, v in fields.items() if k != "user_id" and v is not None})
