"""Server-side sessions (issue 11 point 5, ASVS 3): a copied cookie is dead after logout, a
password change, deactivation or "sign out everywhere"; a new session id at every login; idle
and absolute timeouts; cookie flags; last_seen written at most once a minute.

Time travels by replacing ``sdd_crm.auth.sessions.now`` (the clock the sessions use).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa

from conftest import PASSWORD
from html_helpers import assert_good_markup
from sdd_crm.audit.models import AuditEvent
from sdd_crm.auth import sessions
from sdd_crm.auth.models import UserSession
from sdd_crm.db import utcnow
from sdd_crm.extensions import db

NEW_PASSWORD = "paarse olifant danst langzaam"


@pytest.fixture
def clock(monkeypatch):
    """A settable clock for the session module: ``clock.move(minutes=31)``."""

    class Clock:
        at = utcnow()

        def move(self, **delta):
            self.at += dt.timedelta(**delta)

    c = Clock()
    monkeypatch.setattr(sessions, "now", lambda: c.at)
    return c


def _cookie_name(app) -> str:
    return app.config["SESSION_COOKIE_NAME"]


def _copy_cookie(app, source, target) -> None:
    """What an attacker does with a stolen cookie: put it in another browser."""
    cookie = source.get_cookie(_cookie_name(app))
    assert cookie is not None
    target.set_cookie(_cookie_name(app), cookie.value)


def _signed_in(client) -> bool:
    resp = client.get("/account")
    if resp.status_code == 200:
        return True
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    return False


def _sid(client) -> str | None:
    with client.session_transaction() as s:
        return s.get(sessions.SESSION_KEY)


def _stored(client) -> UserSession:
    return db.session.scalar(sa.select(UserSession).where(
        UserSession.token_hash == hashlib.sha256(_sid(client).encode()).hexdigest()))


@pytest.fixture
def thief(app):
    return app.test_client()


# --- a copied cookie dies -------------------------------------------------------------------

def test_a_copied_cookie_is_dead_after_logout(app, client, thief, make_user, login):
    user = make_user()
    login(user)
    _copy_cookie(app, client, thief)
    assert _signed_in(thief)  # the copy works while the session lasts

    assert client.post("/logout").status_code == 302
    assert not _signed_in(client)
    assert not _signed_in(thief)
    page = thief.get("/login").get_data(as_text=True)
    assert "Uw sessie is beëindigd." in page
    # The logout and the refused copy are in the audit trail.
    events = db.session.execute(sa.select(AuditEvent.action, AuditEvent.result).where(
        AuditEvent.entity_type == "user", AuditEvent.entity_id == str(user.id))).all()
    assert ("logout", "success") in events
    assert ("session_refused", "refused") in events


def test_the_session_id_is_stored_only_as_a_hash(client, make_user, login):
    login(make_user())
    sid = _sid(client)
    assert sid and len(sid) >= 40
    stored = db.session.scalars(sa.select(UserSession.token_hash)).all()
    assert hashlib.sha256(sid.encode()).hexdigest() in stored
    assert sid not in stored


def test_a_copied_cookie_is_dead_after_an_admin_changes_the_password(app, client, thief,
                                                                       make_user, login):
    admin, user = make_user("admin"), make_user("viewer")
    victim = app.test_client()
    login(user, c=victim)
    _copy_cookie(app, victim, thief)
    login(admin)
    resp = client.post(f"/admin/users/{user.id}/edit", data={
        "name": user.name, "role": "viewer", "municipality": "", "active": "y",
        "password": NEW_PASSWORD, "version": str(user.version)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]

    assert not _signed_in(thief)
    assert not _signed_in(victim)
    assert _signed_in(client)  # the admin's own session is not touched
    login(user, password=NEW_PASSWORD, c=victim)
    assert _signed_in(victim)


def test_an_admin_changing_their_own_password_stays_signed_in_there_only(app, client, thief,
                                                                          make_user, login):
    admin = make_user("admin")
    other_browser = app.test_client()
    login(admin, c=other_browser)
    login(admin)
    resp = client.post(f"/admin/users/{admin.id}/edit", data={
        "name": admin.name, "role": "admin", "municipality": "", "active": "y",
        "password": NEW_PASSWORD, "version": str(admin.version)})
    assert resp.status_code == 302
    assert _signed_in(client)
    assert not _signed_in(other_browser)


def test_a_copied_cookie_is_dead_after_deactivation(app, client, thief, make_user, login):
    admin, user = make_user("admin"), make_user()
    victim = app.test_client()
    login(user, c=victim)
    _copy_cookie(app, victim, thief)
    login(admin)
    assert client.post(f"/admin/users/{user.id}/deactivate").status_code == 302

    assert not _signed_in(thief)
    assert not _signed_in(victim)
    revoked = db.session.scalars(sa.select(UserSession).where(UserSession.user_id == user.id)).all()
    assert revoked and all(s.revoked_reason == "deactivated" for s in revoked)
    # Reactivating does not bring the old sessions back.
    user.active = True
    db.session.commit()
    assert not _signed_in(thief)


def test_sign_out_everywhere_ends_every_session_at_once_and_is_audited(app, client, make_user,
                                                                       login):
    admin, user = make_user("admin"), make_user()
    laptop, phone = app.test_client(), app.test_client()
    login(user, c=laptop)
    login(user, c=phone)
    login(admin)
    resp = client.get(f"/admin/users/{user.id}")
    assert_good_markup(resp)
    page = resp.get_data(as_text=True)
    assert "Overal afmelden" in page
    assert "Actieve sessies</dt><dd>2 " in page
    assert f'action="/admin/users/{user.id}/sign-out-everywhere"' in page

    resp = client.post(f"/admin/users/{user.id}/sign-out-everywhere", follow_redirects=True)
    assert resp.status_code == 200
    assert "2 sessie(s) beëindigd" in resp.get_data(as_text=True)
    assert not _signed_in(laptop)
    assert not _signed_in(phone)
    assert _signed_in(client)
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "sign_out_everywhere", AuditEvent.entity_type == "user",
        AuditEvent.entity_id == str(user.id)))
    assert event is not None and event.user_id == admin.id
    assert event.changes.get("sessions_ended") == 2
    # The user can simply sign in again.
    login(user, c=laptop)
    assert _signed_in(laptop)


def test_only_admins_can_sign_others_out(app, client, make_user, login):
    user, other = make_user(), make_user()
    victim = app.test_client()
    login(other, c=victim)
    login(user)
    assert client.post(f"/admin/users/{other.id}/sign-out-everywhere").status_code == 403
    assert _signed_in(victim)


# --- a new session id at every login (session fixation) -------------------------------------

def test_a_session_id_planted_before_login_is_replaced(app, client, make_user, login):
    user = make_user()
    with client.session_transaction() as s:
        s[sessions.SESSION_KEY] = "planted-by-an-attacker"
        s["_user_id"] = str(user.id)
    assert not _signed_in(client)  # a planted id is worth nothing
    attacker = app.test_client()
    _copy_cookie(app, client, attacker)

    login(user)
    sid = _sid(client)
    assert sid and sid != "planted-by-an-attacker"
    assert not _signed_in(attacker)  # the cookie from before the login is still anonymous


def test_every_login_gets_a_new_session_id(client, make_user, login):
    user = make_user()
    login(user)
    first = _sid(client)
    client.post("/logout")
    login(user)
    second = _sid(client)
    assert first and second and first != second
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)
                             .where(UserSession.user_id == user.id)) == 2


# --- timeouts -------------------------------------------------------------------------------

def test_an_idle_session_ends_after_thirty_minutes(app, client, make_user, login, clock):
    login(make_user())
    clock.move(minutes=29)
    assert _signed_in(client)  # activity keeps it alive...
    clock.move(minutes=29)
    assert _signed_in(client)  # ...as long as there is some within every 30 minutes
    clock.move(minutes=31)
    resp = client.get("/account")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Uw sessie is verlopen." in page
    assert not _signed_in(client)


def test_the_idle_timeout_is_configurable(app, client, make_user, login, clock, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 5)
    login(make_user())
    clock.move(minutes=4)
    assert _signed_in(client)
    clock.move(minutes=6)
    assert not _signed_in(client)


def test_a_session_ends_twelve_hours_after_login_however_active(app, client, make_user, login,
                                                               clock):
    login(make_user())
    for _ in range(35):  # 11 h 40 min of steady work
        clock.move(minutes=20)
        assert _signed_in(client)
    clock.move(minutes=20)  # 12 h
    resp = client.get("/account")
    assert resp.status_code == 302
    assert "Uw sessie is verlopen." in client.get("/login").get_data(as_text=True)


def test_the_absolute_timeout_is_configurable(app, client, make_user, login, clock, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_ABSOLUTE_HOURS", 1)
    login(make_user())
    clock.move(minutes=25)
    assert _signed_in(client)
    clock.move(minutes=25)
    assert _signed_in(client)
    clock.move(minutes=11)
    assert not _signed_in(client)


def test_the_signed_cookie_itself_is_not_accepted_beyond_the_absolute_limit(app):
    assert app.permanent_session_lifetime <= dt.timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"])


def test_the_signed_cookie_lifetime_is_capped_whatever_is_configured(tmp_path):
    from sdd_crm import create_app

    other = create_app({"TESTING": True, "SECRET_KEY": "x", "RATELIMIT_STORAGE_URI": "memory://",
                        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "x.sqlite3"),
                        "PERMANENT_SESSION_LIFETIME": 30 * 24 * 3600,
                        "SESSION_ABSOLUTE_HOURS": 8})
    assert other.permanent_session_lifetime == dt.timedelta(hours=8)


def test_last_seen_is_written_at_most_once_a_minute(client, make_user, login, clock,
                                                    count_queries):
    login(make_user())
    record = _stored(client)
    signed_in_at = record.last_seen_at
    assert signed_in_at == clock.at

    clock.move(seconds=59)
    with count_queries() as q:
        assert _signed_in(client)
    assert not [s for s in q.statements if s.lstrip().upper().startswith("UPDATE USER_SESSION")]
    db.session.expire_all()
    assert _stored(client).last_seen_at == signed_in_at

    clock.move(seconds=2)
    with count_queries() as q:
        assert _signed_in(client)
    assert len([s for s in q.statements if s.lstrip().upper().startswith("UPDATE USER_SESSION")]) == 1
    db.session.expire_all()
    assert _stored(client).last_seen_at == clock.at


# --- cookies, remember-me, API ---------------------------------------------------------------

def test_the_login_cookie_is_secure_httponly_samesite_and_ends_with_the_browser(app, client,
                                                                             make_user,
                                                                             monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    user = make_user()
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD},
                       base_url="https://localhost")
    assert resp.status_code == 302
    cookies = resp.headers.getlist("Set-Cookie")
    session_cookie = [c for c in cookies if c.startswith(_cookie_name(app) + "=")]
    assert len(session_cookie) == 1
    flags = [part.strip() for part in session_cookie[0].split(";")]
    assert "Secure" in flags and "HttpOnly" in flags and "SameSite=Lax" in flags
    # No Expires/Max-Age: the browser forgets it when closed; the server ends it anyway.
    assert not any(part.lower().startswith(("expires=", "max-age=")) for part in flags)
    # No remember-me cookie that could outlive the session rules.
    assert not any(c.startswith(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
                   for c in cookies)


def test_a_remember_me_cookie_signs_nobody_in(app, client, make_user):
    from flask_login.utils import encode_cookie

    user = make_user()
    with app.test_request_context():
        value = encode_cookie(str(user.id))
    client.set_cookie(app.config.get("REMEMBER_COOKIE_NAME", "remember_token"), value)
    assert not _signed_in(client)


def test_a_cookie_from_before_server_side_sessions_signs_nobody_in(client, make_user):
    """A signed cookie holding only Flask-Login's user id (no server-side session) is refused."""
    user = make_user()
    with client.session_transaction() as s:
        s["_user_id"] = str(user.id)
        s["_fresh"] = True
    assert not _signed_in(client)


def test_api_tokens_are_unaffected_by_sessions(app, client, make_user, login, api_headers):
    user = make_user()
    headers = api_headers(user)
    login(user)
    client.post("/logout")
    assert client.get("/api/v1/organisations", headers=headers).status_code == 200
    # ...and a browser session does not authenticate the API.
    login(user)
    assert client.get("/api/v1/organisations").status_code == 401
    assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)
                             .where(UserSession.user_id == user.id)) == 2


# --- the user's own sessions on /account ------------------------------------------------------

def test_users_see_their_sessions_and_end_another_one(app, client, make_user, login):
    user = make_user()
    phone = app.test_client()
    login(user, c=phone)
    login(user)
    resp = client.get("/account")
    assert_good_markup(resp)
    page = resp.get_data(as_text=True)
    assert "Waar bent u ingelogd" in page
    assert "Deze sessie" in page
    phone_session = _stored(phone)
    action = f"/account/sessions/{phone_session.id}/end"
    assert f'action="{action}"' in page
    assert f'action="/account/sessions/{_stored(client).id}/end"' not in page

    resp = client.post(action, follow_redirects=True)
    assert "De sessie is beëindigd." in resp.get_data(as_text=True)
    assert not _signed_in(phone)
    assert _signed_in(client)
    assert f'action="{action}"' not in client.get("/account").get_data(as_text=True)


def test_nobody_ends_someone_elses_session(app, client, make_user, login):
    user, other = make_user(), make_user()
    browser = app.test_client()
    login(other, c=browser)
    theirs = _stored(browser)
    login(user)
    resp = client.post(f"/account/sessions/{theirs.id}/end", follow_redirects=True)
    assert "Deze sessie bestaat niet of is al beëindigd." in resp.get_data(as_text=True)
    assert _signed_in(browser)


def test_changing_ones_own_password_signs_out_the_other_browsers_only(app, client, make_user,
                                                                      login):
    user = make_user()
    other = app.test_client()
    login(user, c=other)
    login(user)
    before = _sid(client)
    resp = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD,
        "new_password_again": NEW_PASSWORD}, follow_redirects=True)
    assert resp.status_code == 200
    assert "Uw wachtwoord is gewijzigd." in resp.get_data(as_text=True)
    assert _signed_in(client)
    assert _sid(client) != before  # a fresh session id for this browser too
    assert not _signed_in(other)
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "password_changed", AuditEvent.entity_id == str(user.id)))
    assert event is not None and "hash" not in str(event.changes)
    client.post("/logout")
    login(user, password=NEW_PASSWORD)


def test_the_session_cookie_alone_no_longer_holds_the_user_id_as_proof(client, make_user, login):
    """Flask's signed cookie names the user, but only the stored session makes it count."""
    user = make_user()
    login(user)
    with client.session_transaction() as s:
        assert s["_user_id"] == str(user.id)
    db.session.execute(sa.update(UserSession).values(revoked_at=utcnow()))
    db.session.commit()
    assert not _signed_in(client)
    with client.session_transaction() as s:
        assert "_user_id" not in s  # the refused cookie was emptied

