"""Two-factor authentication (issue 11 point 5): TOTP enrolment with recovery codes, the code
step of the login (each code once, throttled), required for admins, the admin's reset, audited."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pyotp
import pytest
import sqlalchemy as sa

from sdd_crm.audit.models import AuditEvent
from sdd_crm.auth import twofactor
from sdd_crm.auth.models import RecoveryCode, User
from sdd_crm.extensions import db, limiter

PASSWORD = "correct horse battery staple"
CODE_PATTERN = re.compile(r"\b[0-9a-z]{5}-[0-9a-z]{5}\b")


class Clock:
    def __init__(self):
        self.at = dt.datetime(2026, 12, 7, 9, 0, 5, tzinfo=dt.timezone.utc)

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    """The clock of the two-factor module: codes are made for it, pending markers age by it."""
    c = Clock()
    monkeypatch.setattr(twofactor, "now", lambda: c.at)
    return c


@pytest.fixture
def required(app, monkeypatch):
    monkeypatch.setitem(app.config, "TWO_FACTOR_REQUIRED_ROLES", ("admin",))


def _code(user, clock) -> str:
    return pyotp.TOTP(user.totp_secret).at(clock.at)


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def _password(client, user, password=PASSWORD, **kw):
    return client.post("/login", data={"email": user.email, "password": password}, **kw)


def _enrol(client, user, clock) -> list[str]:
    """Through the screens, as a user would: start, scan (the secret), confirm with a code."""
    assert client.post("/account/two-factor/start").status_code == 302
    resp = client.post("/account/two-factor", data={"code": _code(user, clock)})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    codes = CODE_PATTERN.findall(resp.get_data(as_text=True))
    assert len(codes) == 10
    clock.advance(30)  # the next login needs the next code
    return codes


@pytest.fixture
def enrolled(client, login, make_user, clock):
    """A signed-out user with two-factor authentication on, and their recovery codes."""
    user = make_user()
    login(user)
    codes = _enrol(client, user, clock)
    client.post("/logout")
    return user, codes


def _audit(user, action):
    return db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "user", AuditEvent.entity_id == str(user.id),
        AuditEvent.action == action)).all()


# --- enrolment ------------------------------------------------------------------------------

def test_enrolment_shows_a_qr_code_and_the_secret_and_needs_a_real_code(client, login, make_user,
                                                                         clock):
    user = make_user()
    login(user)
    page = client.get("/account").get_data(as_text=True)
    assert "Tweestapsverificatie" in page and "/account/two-factor" in page

    assert client.post("/account/two-factor/start").status_code == 302
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code, allowed by the CSP (img-src data:)
    secret = user.totp_secret
    assert secret and " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)) in page
    assert user.totp_enabled_at is None  # not on before a code proves the app has the secret

    wrong = "000000" if _code(user, clock) != "000000" else "111111"
    resp = client.post("/account/two-factor", data={"code": wrong})
    assert resp.status_code == 422
    assert "Deze code is onjuist" in resp.get_data(as_text=True)
    assert user.totp_enabled_at is None

    resp = client.post("/account/two-factor", data={"code": _code(user, clock)})
    assert resp.status_code == 200
    codes = CODE_PATTERN.findall(resp.get_data(as_text=True))
    assert len(set(codes)) == 10
    assert user.totp_enabled_at is not None
    # Stored hashed: no recovery code readable from the database.
    stored = db.session.scalars(sa.select(RecoveryCode.code_hash)
                                .where(RecoveryCode.user_id == user.id)).all()
    assert len(stored) == 10
    assert not {c.replace("-", "") for c in codes} & set(stored)
    assert not any(c.replace("-", "") in h or c in h for c in codes for h in stored)
    # Shown once: the account page only counts them.
    page = client.get("/account").get_data(as_text=True)
    assert not CODE_PATTERN.search(page)
    assert "nog 10 ongebruikte herstelcodes" in page
    # Audited without the secret.
    events = _audit(user, "two_factor_enabled")
    assert len(events) == 1 and events[0].user_id == user.id and events[0].result == "success"
    everything = " ".join(str(e.changes) for e in db.session.scalars(sa.select(AuditEvent)))
    assert secret not in everything


# --- the login ------------------------------------------------------------------------------

def test_login_asks_for_the_code_after_the_password(client, enrolled, clock):
    user, _codes = enrolled
    resp = _password(client, user, query_string={"next": "/account"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login/code")
    # The right password alone signs nobody in.
    assert not _signed_in(client)
    assert client.get("/login/code").status_code == 200
    resp = client.post("/login/code", data={"code": _code(user, clock)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account")
    assert _signed_in(client)


def test_a_wrong_code_is_refused(client, enrolled, clock):
    user, _codes = enrolled
    _password(client, user)
    right = _code(user, clock)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    resp = client.post("/login/code", data={"code": wrong})
    assert resp.status_code == 200
    assert "Deze code is onjuist of al gebruikt." in resp.get_data(as_text=True)
    assert not _signed_in(client)
    # A code from long ago is no good either.
    old = pyotp.TOTP(user.totp_secret).at(clock.at - dt.timedelta(minutes=5))
    if old != right:
        client.post("/login/code", data={"code": old})
        assert not _signed_in(client)


def test_a_code_works_only_once(client, enrolled, clock):
    user, _codes = enrolled
    code = _code(user, clock)
    _password(client, user)
    assert client.post("/login/code", data={"code": code}).status_code == 302
    client.post("/logout")
    _password(client, user)
    resp = client.post("/login/code", data={"code": code})  # the same 30 seconds, the same code
    assert resp.status_code == 200 and not _signed_in(client)
    # Nor the code of the step before (still inside the window of one step either side).
    clock.advance(30)
    client.post("/login/code", data={"code": code})
    assert not _signed_in(client)
    # The next step's code works.
    assert client.post("/login/code", data={"code": _code(user, clock)}).status_code == 302
    assert _signed_in(client)


def test_a_recovery_code_works_once(client, enrolled, clock):
    user, codes = enrolled
    _password(client, user)
    resp = client.post("/login/code", data={"code": codes[3].upper()})
    assert resp.status_code == 302
    assert _signed_in(client)
    assert "nog 9" in client.get("/account").get_data(as_text=True)
    client.post("/logout")
    _password(client, user)
    resp = client.post("/login/code", data={"code": codes[3]})
    assert resp.status_code == 200 and not _signed_in(client)
    events = _audit(user, "recovery_code_used")
    assert len(events) == 1 and events[0].changes.get("left") in (9, "9")


def test_the_code_step_expires(client, enrolled, clock):
    user, _codes = enrolled
    _password(client, user)
    clock.advance(301)
    resp = client.post("/login/code", data={"code": _code(user, clock)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    assert not _signed_in(client)


def test_without_the_password_step_there_is_no_code_step(client, enrolled, clock):
    user, _codes = enrolled
    resp = client.post("/login/code", data={"code": _code(user, clock)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    assert not _signed_in(client)


def test_the_code_step_is_throttled(client, enrolled, clock, caplog):
    caplog.set_level(logging.INFO, logger="sdd_crm.security")
    user, _codes = enrolled
    _password(client, user)
    right = _code(user, clock)
    wrong = f"{(int(right) + 7) % 1_000_000:06d}"
    for _ in range(10):
        assert client.post("/login/code", data={"code": wrong}).status_code == 200
    resp = client.post("/login/code", data={"code": right})
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) > 0
    assert "Te veel pogingen" in resp.get_data(as_text=True)
    assert not _signed_in(client)
    messages = [r.getMessage() for r in caplog.records if r.name == "sdd_crm.security"]
    assert sum("two_factor_failed" in m for m in messages) == 10
    assert any("two_factor_throttled" in m for m in messages)
    limiter.reset()


# --- switching off --------------------------------------------------------------------------

def test_switching_off_needs_the_password_and_a_code(client, enrolled, login, clock):
    user, codes = enrolled
    _password(client, user)
    client.post("/login/code", data={"code": _code(user, clock)})
    clock.advance(30)
    resp = client.post("/account/two-factor/disable",
                       data={"password": "not the password", "code": _code(user, clock)})
    assert resp.status_code == 422 and twofactor.is_enabled(user)
    resp = client.post("/account/two-factor/disable", data={"password": PASSWORD, "code": "123"})
    assert resp.status_code == 422 and twofactor.is_enabled(user)
    resp = client.post("/account/two-factor/disable", data={"password": PASSWORD, "code": codes[0]})
    assert resp.status_code == 302
    assert not twofactor.is_enabled(user) and user.totp_secret is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)
                             .where(RecoveryCode.user_id == user.id)) == 0
    assert len(_audit(user, "two_factor_disabled")) == 1
    # From now on the password is enough again.
    client.post("/logout")
    login(user)
    assert _signed_in(client)


def test_new_recovery_codes_replace_the_old(client, enrolled, clock):
    user, codes = enrolled
    _password(client, user)
    client.post("/login/code", data={"code": _code(user, clock)})
    clock.advance(30)
    resp = client.post("/account/two-factor/recovery-codes", data={"code": _code(user, clock)})
    assert resp.status_code == 200
    new = CODE_PATTERN.findall(resp.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(codes)
    client.post("/logout")
    _password(client, user)
    assert client.post("/login/code", data={"code": codes[0]}).status_code == 200
    assert client.post("/login/code", data={"code": new[0]}).status_code == 302


# --- required for admins ------------------------------------------------------------------------

def test_an_admin_without_a_second_factor_must_enrol_first(client, login, make_user, clock,
                                                           required, api_headers):
    admin = make_user("admin")
    login(admin)
    for path in ("/", "/organisations/", "/admin/users"):
        resp = client.get(path)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/account/two-factor")
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "verplicht" in page
    # The API authenticates with tokens and is not the browser session: unaffected.
    assert client.get("/api/v1/organisations", headers=api_headers(admin)).status_code == 200

    _enrol(client, admin, clock)
    assert client.get("/admin/users").status_code == 200
    # While required, switching off is refused.
    resp = client.post("/account/two-factor/disable",
                       data={"password": PASSWORD, "code": _code(admin, clock)})
    assert resp.status_code in (200, 422) and twofactor.is_enabled(admin)
    # And from now on the admin's login asks for the code.
    client.post("/logout")
    resp = _password(client, admin)
    assert resp.headers["Location"].endswith("/login/code")


def test_other_roles_may_go_without(client, login, make_user, required):
    login(make_user("regional_account_manager"))
    assert _signed_in(client)


# --- the admin's reset ------------------------------------------------------------------------

def test_an_admin_resets_a_users_second_factor(client, enrolled, login, make_user, app, clock):
    user, _codes = enrolled
    admin = make_user("admin")
    login(admin)
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Tweestapsverificatie terugzetten" in page
    resp = client.post(f"/admin/users/{user.id}/two-factor/reset")
    assert resp.status_code == 302
    assert not twofactor.is_enabled(user) and user.totp_secret is None
    events = _audit(user, "two_factor_reset")
    assert len(events) == 1 and events[0].user_id == admin.id and events[0].result == "success"
    # The user signs in with the password alone again; the old recovery codes are gone.
    client.post("/logout")
    assert _password(client, user).headers["Location"].endswith("/")
    assert _signed_in(client)


def test_only_admins_reset(client, enrolled, login, make_user):
    user, _codes = enrolled
    login(make_user("regional_account_manager"))
    assert client.post(f"/admin/users/{user.id}/two-factor/reset").status_code == 403
    assert twofactor.is_enabled(user)
    assert not _audit(user, "two_factor_reset")


def test_two_factor_changes_reach_the_security_log(client, login, make_user, clock, caplog):
    caplog.set_level(logging.INFO, logger="sdd_crm.security")
    user = make_user()
    login(user)
    _enrol(client, user, clock)
    messages = [r.getMessage() for r in caplog.records if r.name == "sdd_crm.security"]
    assert any("two_factor_enabled" in m and f"user_id={user.id}" in m for m in messages)
    assert not any(user.totp_secret in m for m in messages)


def test_the_operator_resets_two_factor_from_the_command_line(runner, client, enrolled):
    """The way back in when the last admin lost phone and recovery codes: `flask users
    reset-2fa EMAIL` switches it off (audited, from the command line); the password alone then
    signs in, and a second reset says there is nothing to reset."""
    user, _codes = enrolled
    result = runner.invoke(args=["users", "reset-2fa", user.email])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert not twofactor.is_enabled(db.session.get(User, user.id))
    assert not db.session.scalars(sa.select(RecoveryCode).where(
        RecoveryCode.user_id == user.id)).all()
    (event,) = _audit(user, "two_factor_reset")
    assert event.source == "cli"
    assert _password(client, user).status_code == 302 and _signed_in(client)

    again = runner.invoke(args=["users", "reset-2fa", user.email])
    assert again.exit_code != 0 and "geen tweestapsverificatie" in again.output
    unknown = runner.invoke(args=["users", "reset-2fa", "niemand@example.nl"])
    assert unknown.exit_code == 2
