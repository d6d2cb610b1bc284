"""The growing wait after failed logins of one account (issue 11 point 5): no wait for the first
three failures, then 2, 4, 8, ... seconds up to a minute; during the wait an attempt is refused
without looking at the password; never a lock-out of the right password; reset by a login."""

from __future__ import annotations

import datetime as dt
import re

import pyotp
import pytest

from sdd_crm.auth import login_delay, twofactor
from sdd_crm.extensions import db

PASSWORD = "correct horse battery staple"
WRONG = "not the password at all"


class Clock:
    def __init__(self):
        self.at = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.timezone.utc)

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock(app, monkeypatch):
    """The delay switched on (the test config turns it off) with a clock the test moves."""
    monkeypatch.setitem(app.config, "LOGIN_DELAY_FREE_FAILURES", 3)
    c = Clock()
    monkeypatch.setattr(login_delay, "now", lambda: c.at)
    monkeypatch.setattr(twofactor, "now", lambda: c.at)
    return c


def _try(client, user, password=WRONG):
    return client.post("/login", data={"email": user.email, "password": password})


def _wait(resp) -> int | None:
    """The seconds the page asks to wait ("Wacht nog N seconden ...")."""
    match = re.search(r"Wacht nog (\d+) seconden? voordat u het opnieuw probeert",
                      resp.get_data(as_text=True))
    return int(match.group(1)) if match else None


def _signed_in(client) -> bool:
    return client.get("/").status_code == 200


def test_the_wait_grows_from_the_fourth_failure_to_at_most_a_minute(app, clock):
    waits = [login_delay.delay_after(n) for n in range(12)]
    assert waits == [0, 0, 0, 0, 2, 4, 8, 16, 32, 60, 60, 60]


def test_failures_make_the_next_attempt_wait_longer(client, make_user, clock):
    user = make_user()
    for _ in range(4):  # three free failures, and the fourth is still checked
        assert _try(client, user).status_code == 200
    assert user.failed_login_count == 4  # kept in the database, seen by every web process
    resp = _try(client, user)
    assert resp.status_code == 429
    assert _wait(resp) == 2
    # Retry-After at least the wait (Flask-Limiter may raise it to its own window's end).
    assert int(resp.headers["Retry-After"]) >= 2
    for expected in (4, 8, 16, 32, 60):
        clock.advance(_wait(resp))
        assert _try(client, user).status_code == 200  # checked (and wrong) again
        resp = _try(client, user)
        assert resp.status_code == 429 and _wait(resp) == expected
    clock.advance(59)
    assert _wait(_try(client, user)) == 1  # the wait counts down


def test_during_the_wait_the_password_is_not_checked_and_nothing_counts(client, make_user, clock):
    user = make_user()
    for _ in range(4):
        _try(client, user)
    # Even the right password waits: an attacker learns nothing during the wait ...
    resp = _try(client, user, PASSWORD)
    assert resp.status_code == 429 and not _signed_in(client)
    for _ in range(5):
        assert _try(client, user).status_code == 429
    # ... and the refused attempts neither count as failures nor make the wait longer.
    assert user.failed_login_count == 4
    clock.advance(1)
    assert _wait(_try(client, user)) == 1


def test_after_the_wait_the_right_password_works_and_starts_again(client, make_user, clock):
    user = make_user()
    for _ in range(6):
        clock.advance(60)
        _try(client, user)
    assert _try(client, user, PASSWORD).status_code == 429
    clock.advance(8)
    resp = _try(client, user, PASSWORD)
    assert resp.status_code == 302 and _signed_in(client)  # not a lock-out
    assert user.failed_login_count == 0 and user.last_failed_login_at is None
    client.post("/logout")
    # Starting from nothing: three failures are free again.
    for _ in range(4):
        assert _try(client, user).status_code == 200


def test_failures_older_than_an_hour_no_longer_count(client, make_user, clock):
    user = make_user()
    for _ in range(5):
        clock.advance(60)
        _try(client, user)
    assert _try(client, user).status_code == 429
    clock.advance(3601)
    assert _try(client, user).status_code == 200
    assert user.failed_login_count == 1  # the count started again


def test_the_wait_is_per_account(client, make_user, clock):
    user, other = make_user(), make_user()
    for _ in range(4):
        _try(client, user)
    assert _try(client, user, PASSWORD).status_code == 429
    assert _try(client, other, PASSWORD).status_code == 302


def test_the_wait_does_not_change_the_users_version(client, make_user, clock):
    """An admin editing the user meanwhile gets no edit conflict from someone's failed logins."""
    user = make_user()
    version, updated = user.version, user.updated_at
    for _ in range(3):
        _try(client, user)
    db.session.refresh(user)
    assert user.failed_login_count == 3  # counted, ...
    assert user.version == version and user.updated_at == updated  # ... without touching these


def test_wrong_two_factor_codes_count_too(client, make_user, login, clock):
    user = make_user()
    login(user)
    client.post("/account/two-factor/start")
    code = pyotp.TOTP(user.totp_secret).at(clock.at)
    assert client.post("/account/two-factor", data={"code": code}).status_code == 200
    client.post("/logout")
    clock.advance(30)
    right = pyotp.TOTP(user.totp_secret).at(clock.at)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert _try(client, user, PASSWORD).status_code == 302
    for _ in range(4):
        assert client.post("/login/code", data={"code": wrong}).status_code == 200
    resp = client.post("/login/code", data={"code": right})
    assert resp.status_code == 429 and _wait(resp) == 2
    assert not _signed_in(client)
    clock.advance(2)
    assert client.post("/login/code", data={"code": right}).status_code == 302
    assert _signed_in(client) and user.failed_login_count == 0


def test_an_address_without_an_account_waits_just_the_same(client, app, make_user, monkeypatch):
    """The wait must not tell an attacker which e-mail addresses have an account: failures for
    an unknown address make it wait exactly as an account's failures do (kept in the limiter's
    storage; its clock is frozen here, so no wait runs out while the test runs)."""
    import time as real_time
    import types

    import limits.storage.memory

    frozen = types.SimpleNamespace(time=lambda: 1_800_000_000.0, sleep=real_time.sleep)
    monkeypatch.setattr(limits.storage.memory, "time", frozen)
    monkeypatch.setattr(login_delay, "time", frozen)
    monkeypatch.setitem(app.config, "LOGIN_DELAY_FREE_FAILURES", 1)
    clock = Clock()
    monkeypatch.setattr(login_delay, "now", lambda: clock.at)
    user = make_user()
    seen = {}
    for email in (user.email, "niemand-hier@example.nl"):
        for attempt in range(1, 6):
            resp = client.post("/login", data={"email": email, "password": WRONG})
            if resp.status_code == 429:
                seen[email] = (attempt, _wait(resp))
                break
            assert resp.status_code == 200 and _wait(resp) is None
    # Two failures (one free), then the third attempt waits 2 seconds: for both alike.
    assert seen[user.email] == seen["niemand-hier@example.nl"] == (3, 2)
