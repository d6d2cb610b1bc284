"""Throttling of failed logins (per minute and per hour) and of bad API tokens, and the security log."""

from __future__ import annotations

import logging

import pytest

from sdd_crm.extensions import limiter

PASSWORD = "correct horse battery staple"
WRONG = "not the password at all"
URL = "/api/v1/organisations"


def _fail(client, email, address="127.0.0.1", password=WRONG):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def _login(client, email, address="127.0.0.1"):
    return client.post("/login", data={"email": email, "password": PASSWORD},
                       environ_base={"REMOTE_ADDR": address})


@pytest.fixture
def hourly_cap(app, monkeypatch):
    """A small hourly cap (3) under a generous per-minute limit, as in production's 10/100."""
    monkeypatch.setitem(app.config, "LOGIN_FAILURE_LIMIT", "50 per minute;3 per hour")
    limiter.reset()
    yield
    limiter.reset()


def test_the_default_limits_are_per_minute_and_per_hour(app):
    from sdd_crm.config import DefaultConfig

    assert DefaultConfig.LOGIN_FAILURE_LIMIT == "10 per minute;100 per hour"
    assert DefaultConfig.API_TOKEN_FAILURE_LIMIT == "20 per minute;200 per hour"


def test_ten_failures_in_a_minute_then_429_in_dutch_with_retry_after(client, make_user):
    user = make_user()
    for _ in range(10):
        assert _fail(client, user.email).status_code == 200
    resp = _fail(client, user.email)
    assert resp.status_code == 429
    assert "Te veel pogingen" in resp.get_data(as_text=True)
    assert int(resp.headers["Retry-After"]) > 0


def test_the_hourly_cap_per_account_applies_under_the_minute_limit(client, make_user, hourly_cap):
    user, other = make_user(), make_user()
    for i in range(3):
        assert _fail(client, user.email, f"10.1.0.{i + 1}").status_code == 200
    resp = _fail(client, user.email, "10.1.0.50")
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) > 60  # the hour's window, not the minute's
    assert "Te veel pogingen" in resp.get_data(as_text=True)
    # The right password of that account waits too ...
    assert _login(client, user.email, "10.1.0.51").status_code == 429
    # ... but another account from another address is not locked out.
    assert _login(client, other.email, "10.1.0.60").status_code == 302


def test_the_hourly_cap_per_address_does_not_lock_out_other_addresses(client, make_user, hourly_cap):
    user = make_user()
    for i in range(3):
        assert _fail(client, f"guess{i}@example.nl", "10.2.0.1").status_code == 200
    assert _fail(client, "yet-another@example.nl", "10.2.0.1").status_code == 429
    assert _login(client, user.email, "10.2.0.2").status_code == 302


def _bad(client, address, token="sdd_nietbestaand"):
    return client.get(URL, headers={"Authorization": f"Bearer {token}"},
                      environ_base={"REMOTE_ADDR": address})


def test_bad_tokens_are_throttled_per_address(client, app, make_user, api_headers, monkeypatch):
    monkeypatch.setitem(app.config, "API_TOKEN_FAILURE_LIMIT", "5 per minute;8 per hour")
    good = api_headers(make_user())
    for _ in range(5):
        assert _bad(client, "10.3.0.1").status_code == 401
    resp = _bad(client, "10.3.0.1")
    assert resp.status_code == 429
    error = resp.get_json()["error"]
    assert error["status"] == 429 and error["code"] == "too_many_requests" and error["message"]
    assert 0 < int(resp.headers["Retry-After"]) <= 60
    # A then-correct token from the throttled address waits out the window too.
    resp = client.get(URL, headers=good, environ_base={"REMOTE_ADDR": "10.3.0.1"})
    assert resp.status_code == 429 and resp.headers["Retry-After"]
    # Another address with a valid token is unaffected.
    assert client.get(URL, headers=good, environ_base={"REMOTE_ADDR": "10.3.0.2"}).status_code == 200


def test_malformed_attempts_count_but_no_header_is_a_plain_401(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "API_TOKEN_FAILURE_LIMIT", "3 per minute")
    for header in ("Bearer", "Basic abc", "Bearer "):
        assert client.get(URL, headers={"Authorization": header}).status_code == 401
    assert client.get(URL, headers={"Authorization": "Bearer x"}).status_code == 429
    assert client.get(URL).status_code == 401


def test_the_default_token_limit_is_twenty_a_minute(client, make_user, api_headers):
    good = api_headers(make_user())
    for _ in range(20):
        assert _bad(client, "10.4.0.1").status_code == 401
    assert _bad(client, "10.4.0.1").status_code == 429
    assert client.get(URL, headers=good, environ_base={"REMOTE_ADDR": "10.4.0.2"}).status_code == 200


def test_the_hourly_token_cap(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "API_TOKEN_FAILURE_LIMIT", "50 per minute;4 per hour")
    for _ in range(4):
        assert _bad(client, "10.5.0.1").status_code == 401
    resp = _bad(client, "10.5.0.1")
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) > 60


# --- the security log ------------------------------------------------------------------------

def _security(caplog):
    return [r for r in caplog.records if r.name == "sdd_crm.security"]


def test_logins_are_logged_without_secrets(client, app, make_user, caplog, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FAILURE_LIMIT", "2 per minute")
    caplog.set_level(logging.INFO, logger="sdd_crm.security")
    user = make_user()
    assert _login(client, user.email, "10.6.0.1").status_code == 302
    client.post("/logout")
    # An address (X-Forwarded-For behind a proxy) is client-supplied: no forged log lines.
    forged = "10.6.0.2\r\nFAKE login_succeeded user_id=1"
    _fail(client, user.email, forged)
    _fail(client, "someone.else@example.nl", forged)
    assert _fail(client, "someone.else@example.nl", forged).status_code == 429
    records = _security(caplog)
    messages = [r.getMessage() for r in records]
    text = "\n".join(messages)
    assert any("login_succeeded" in m and f"user_id={user.id}" in m and "10.6.0.1" in m
               for m in messages)
    failed = [r for r in records if "login_failed" in r.getMessage()]
    assert len(failed) == 2 and all(r.levelno == logging.WARNING for r in failed)
    assert f"user_id={user.id}" in failed[0].getMessage()
    assert any("login_throttled" in m for m in messages)
    for m in messages:
        assert "\n" not in m and "\r" not in m
    assert PASSWORD not in text and WRONG not in text
    assert user.email not in text and "someone.else" not in text  # e-mails only hashed
    assert "\\r\\nFAKE" in text  # escaped, on the same line


def test_refused_tokens_are_logged_without_the_token(client, app, caplog, monkeypatch):
    monkeypatch.setitem(app.config, "API_TOKEN_FAILURE_LIMIT", "2 per minute")
    caplog.set_level(logging.INFO, logger="sdd_crm.security")
    secret = "sdd_geheimtokenwaarde"
    for _ in range(3):
        client.get(URL, headers={"Authorization": f"Bearer {secret}"},
                   environ_base={"REMOTE_ADDR": "10.7.0.1"})
    messages = [r.getMessage() for r in _security(caplog)]
    assert sum("api_token_refused" in m for m in messages) == 2
    assert any("api_token_throttled" in m for m in messages)
    assert all("10.7.0.1" in m for m in messages)
    assert not any(secret in m or "\n" in m for m in messages)


def test_forged_addresses_are_neutralised_in_the_log(app):
    from sdd_crm.security_log import clean

    assert clean("1.2.3.4\r\nFAKE entry") == "1.2.3.4\\r\\nFAKE entry"
    assert "\x1b" not in clean("a\x1b[31mb")
