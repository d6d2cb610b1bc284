"""Server-side sessions (ASVS 3): a signed-in browser holds a random session id, the database
holds the session (:class:`~sdd_crm.auth.models.UserSession`).

Flask's own session is a signed cookie: on its own, a copy of it would stay valid after logout
or a password change until it expires. Here the cookie only carries the session id, and every
request checks the stored session (:func:`load_user`, Flask-Login's user loader). A session ends

* at logout, a password change, deactivation or an admin's "sign out everywhere" (revoked);
* after ``SESSION_IDLE_MINUTES`` (default 30) without a request;
* ``SESSION_ABSOLUTE_HOURS`` (default 12) after signing in, whatever happens.

Signing in always starts a new session with a new id (:func:`start_session`), so an id planted
before the login is worthless (session fixation). API requests authenticate with a bearer token
and never read the cookie (sdd_crm/api/auth.py). Tests move the clock by monkeypatching
:func:`now`.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

import sqlalchemy as sa
from flask import current_app, flash, g, has_request_context, request, session
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy.orm import joinedload

from ..db import utcnow
from ..extensions import db
from ..security_log import event
from .models import User, UserSession

# The key of the session id in Flask's (signed) session cookie.
SESSION_KEY = "_sid"
# Set when a language was chosen on the login page: signing in then keeps it for the user.
LANGUAGE_CHOSEN = "lang_chosen"
# last_seen_at is written at most this often: not a database write on every request.
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=1)
# Ended sessions are kept this long (the list on /account, investigations), then deleted.
KEEP_ENDED = dt.timedelta(days=30)
USER_AGENT_LENGTH = 200

# Why a session ended (UserSession.revoked_reason).
LOGOUT = "logout"
PASSWORD_CHANGED = "password_changed"
DEACTIVATED = "deactivated"
SIGNED_OUT_EVERYWHERE = "signed_out_everywhere"
ENDED_BY_USER = "ended_by_user"


def now() -> dt.datetime:
    """The clock of this module (tests monkeypatch it to travel in time)."""
    return utcnow()


def idle_timeout() -> dt.timedelta:
    return dt.timedelta(minutes=float(current_app.config["SESSION_IDLE_MINUTES"]))


def absolute_timeout() -> dt.timedelta:
    return dt.timedelta(hours=float(current_app.config["SESSION_ABSOLUTE_HOURS"]))


def is_active(record: UserSession, at: dt.datetime | None = None) -> bool:
    """Not revoked, not idle too long, not too old."""
    at = at or now()
    return (record.revoked_at is None
            and at - record.last_seen_at < idle_timeout()
            and at - record.created_at < absolute_timeout())


# --- Signing in and out --------------------------------------------------------------------

def start_session(user: User) -> UserSession:
    """Sign ``user`` in: the ONE step that does it, once every factor has been accepted.

    Clears whatever the browser's session held (nothing carries over from before the login),
    stores a new session with a new random id, puts that id in the signed cookie and tells
    Flask-Login who is signed in. No remember-me cookie: the session is the only way in.
    """
    # A language chosen on the login page (before signing in) is kept into the account.
    chosen = session.get("lang") if session.get(LANGUAGE_CHOSEN) else None
    session.clear()
    if chosen in current_app.config["LANGUAGES"] and user.locale != chosen:
        user.locale = chosen
    session_id = secrets.token_urlsafe(32)
    at = now()
    record = UserSession(token_hash=UserSession.hash(session_id), user_id=user.id,
                         created_at=at, last_seen_at=at, origin=_origin(), user_agent=_agent())
    db.session.add(record)
    _delete_old(user, at)
    db.session.flush()
    session[SESSION_KEY] = session_id
    login_user(user, remember=False)
    g.user_session = record
    return record


def end_session(reason: str = LOGOUT) -> None:
    """Sign out: the stored session is revoked (a copy of the cookie is dead), the cookie emptied."""
    record = current_session()
    if record is not None and record.revoked_at is None:
        _revoke(record, reason, now())
    # The login page that follows speaks the user's language (not as a choice for whoever signs
    # in next on this browser: that is only what they choose there, LANGUAGE_CHOSEN).
    lang = getattr(current_user, "locale", None) or session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    g.pop("user_session", None)


def current_session() -> UserSession | None:
    """The stored session of this request (None for anonymous and API requests)."""
    record = g.get("user_session")
    if record is not None:
        return record
    session_id = session.get(SESSION_KEY) if has_request_context() else None
    if not session_id:
        return None
    return db.session.scalar(sa.select(UserSession)
                             .where(UserSession.token_hash == UserSession.hash(session_id)))


def load_user(user_id: str) -> User | None:
    """Flask-Login's user loader: the user of the cookie's session if that session is still on.

    One query (the session with its user). A refused cookie is emptied, with a message for the
    login page; Flask-Login then sends the browser there.
    """
    session_id = session.get(SESSION_KEY)
    if not session_id or not isinstance(session_id, str):
        return _refuse(None)  # a cookie from before server-side sessions, or a remember cookie
    record = db.session.scalar(
        sa.select(UserSession).options(joinedload(UserSession.user))
        .where(UserSession.token_hash == UserSession.hash(session_id)))
    if record is None or str(record.user_id) != str(user_id):
        return _refuse("unknown")
    at = now()
    if record.revoked_at is not None:
        return _refuse(record.revoked_reason or "revoked", record.user_id)
    if at - record.created_at >= absolute_timeout():
        return _refuse("absolute_timeout", record.user_id)
    if at - record.last_seen_at >= idle_timeout():
        return _refuse("idle_timeout", record.user_id)
    if not record.user.active:
        return _refuse(DEACTIVATED, record.user_id)
    if at - record.last_seen_at >= LAST_SEEN_RESOLUTION:
        # Saved with the request's own work by the transaction boundary.
        record.last_seen_at = at
    g.user_session = record
    return record.user


EXPIRED_REASONS = {"idle_timeout", "absolute_timeout"}


def _refuse(reason: str | None, user_id: int | None = None) -> None:
    """Empty the refused cookie (keeping the language choice); say why unless it held no
    session. Logged (and audited): an expiry, or a cookie of an ended session used again."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    if reason is None:
        return
    if reason in EXPIRED_REASONS:
        event(logging.INFO, "session_expired", user_id=user_id, reason=reason)
        flash(_("Uw sessie is verlopen. Log opnieuw in."), "info")
    else:
        event(logging.WARNING, "session_refused", user_id=user_id, reason=reason)
        flash(_("Uw sessie is beëindigd. Log opnieuw in."), "info")


# --- Ending sessions -----------------------------------------------------------------------

def revoke_user_sessions(user: User, *, reason: str, keep: UserSession | None = None) -> int:
    """End every open session of ``user`` (except ``keep``); returns how many were ended."""
    records = db.session.scalars(
        sa.select(UserSession).where(UserSession.user_id == user.id,
                                     UserSession.revoked_at.is_(None))).all()
    at = now()
    ended = 0
    for record in records:
        if keep is not None and record.id == keep.id:
            continue
        if is_active(record, at):
            ended += 1
        _revoke(record, reason, at)
    db.session.flush()
    return ended


def active_sessions(user: User) -> list[UserSession]:
    """The user's sessions that are still on, the most recently used first."""
    at = now()
    records = db.session.scalars(
        sa.select(UserSession).where(UserSession.user_id == user.id,
                                     UserSession.revoked_at.is_(None),
                                     UserSession.created_at > at - absolute_timeout())
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())).all()
    return [r for r in records if is_active(r, at)]


def end_own_session(user: User, session_pk: int) -> bool:
    """End one of ``user``'s other sessions (from /account); False if there is no such session."""
    record = db.session.get(UserSession, session_pk)
    current = current_session()
    if (record is None or record.user_id != user.id or record.revoked_at is not None
            or (current is not None and record.id == current.id)):
        return False
    _revoke(record, ENDED_BY_USER, now())
    db.session.flush()
    return True


def _revoke(record: UserSession, reason: str, at: dt.datetime) -> None:
    record.revoked_at = at
    record.revoked_reason = reason[:32]


def _delete_old(user: User, at: dt.datetime) -> None:
    """Forget the user's sessions that ended long ago (the table does not grow forever)."""
    db.session.execute(sa.delete(UserSession).where(
        UserSession.user_id == user.id,
        UserSession.created_at < at - absolute_timeout() - KEEP_ENDED))


def _origin() -> str | None:
    if not has_request_context():
        return None
    return (request.remote_addr or "")[:64] or None


def _agent() -> str | None:
    if not has_request_context():
        return None
    agent = (request.user_agent.string or "").replace("\r", " ").replace("\n", " ")
    return agent[:USER_AGENT_LENGTH] or None
