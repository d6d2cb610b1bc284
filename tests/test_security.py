"""Login throttling, CSRF, security headers, cookies, redirects, logout and password storage."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from sdd_crm import create_app
from sdd_crm.extensions import db

PASSWORD = "correct horse battery staple"
WRONG = "not the password at all"


def _fail(client, email, *, environ_base=None):
    return client.post("/login", data={"email": email, "password": WRONG},
                       environ_base=environ_base or {})


def _signed_in(client) -> bool:
    resp = client.get("/")
    return resp.status_code == 200


# --- throttling ----------------------------------------------------------------------------

def test_the_eleventh_failure_for_one_account_within_a_minute_is_refused(client, make_user):
    user = make_user()
    for _ in range(10):
        assert _fail(client, user.email).status_code == 200
    resp = _fail(client, user.email)
    assert resp.status_code == 429
    page = resp.get_data(as_text=True)
    assert "Te veel pogingen" in page
    assert '<html lang="nl"' in page


def test_the_account_limit_holds_across_addresses(client, make_user):
    """Spreading guesses for one account over many addresses does not help an attacker."""
    user = make_user()
    for i in range(10):
        assert _fail(client, user.email, environ_base={"REMOTE_ADDR": f"10.0.0.{i + 1}"}).status_code == 200
    assert _fail(client, user.email, environ_base={"REMOTE_ADDR": "10.0.0.99"}).status_code == 429


def test_the_address_limit_holds_across_accounts(client):
    for i in range(10):
        assert _fail(client, f"guess{i}@example.nl").status_code == 200
    assert _fail(client, "yet-another@example.nl").status_code == 429
    # Another address is not blocked by this one's failures.
    assert _fail(client, "someone@example.nl",
                 environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200


def test_a_correct_password_after_ten_failures_is_still_refused(client, make_user):
    user = make_user()
    for _ in range(10):
        _fail(client, user.email)
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 429
    assert not _signed_in(client)


def test_successful_logins_do_not_count_as_failures(client, make_user):
    user = make_user()
    for _ in range(12):
        resp = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert resp.status_code == 302
        client.post("/logout")


def test_a_few_failures_do_not_block_the_right_password(client, make_user):
    user = make_user()
    for _ in range(9):
        _fail(client, user.email)
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 302
    assert _signed_in(client)


# --- CSRF ----------------------------------------------------------------------------------

@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield app
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token in the form"
    return match.group(1)


def test_a_login_post_without_a_csrf_token_is_refused_in_dutch(csrf_on, client, make_user):
    user = make_user()
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "Het formulier is verlopen of ongeldig" in page
    assert "The CSRF token is missing" not in page
    assert not _signed_in(client)


def test_a_forged_csrf_token_is_refused(csrf_on, client, make_user):
    user = make_user()
    client.get("/login")
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                       "csrf_token": "forged"})
    assert resp.status_code == 400


def test_a_login_post_with_the_form_token_works(csrf_on, client, make_user):
    user = make_user()
    token = _token(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302
    assert _signed_in(client)


@pytest.mark.parametrize("path", ["/language/en", "/logout"])
def test_other_posts_need_the_token_too(csrf_on, client, path):
    assert client.post(path, data={"next": "/login"}).status_code == 400


def test_the_api_is_exempt_from_csrf_but_needs_a_bearer_token(csrf_on, client):
    resp = client.post("/api/v1/organisations", json={"name": "X"})
    assert resp.status_code == 401
    assert resp.is_json


# --- headers and cookies ---------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/login", "/no-such-page"])
def test_pages_carry_security_headers(client, path):
    h = client.get(path).headers
    csp = h["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert h["X-Frame-Options"] == "DENY"
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] in {"same-origin", "strict-origin-when-cross-origin", "no-referrer"}
    assert "no-store" in h["Cache-Control"]


def test_signed_in_pages_carry_security_headers(client, make_user, login):
    login(make_user())
    h = client.get("/").headers
    assert "unsafe-inline" not in h["Content-Security-Policy"]
    assert h["X-Frame-Options"] == "DENY"


def _cookie(headers, name):
    for value in headers.getlist("Set-Cookie"):
        if value.startswith(name + "="):
            return value
    raise AssertionError(f"no {name} cookie set: {headers.getlist('Set-Cookie')}")


def test_the_session_cookie_is_httponly_and_samesite_lax(client, app):
    resp = client.post("/language/en", data={"next": "/login"})
    cookie = _cookie(resp.headers, app.config["SESSION_COOKIE_NAME"])
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_the_default_configuration_sets_a_secure_session_cookie(tmp_path, monkeypatch):
    """Outside tests the session cookie is Secure, HttpOnly and SameSite=Lax, and HSTS is on."""
    for name in ("REDIS_URL", "DATABASE_URL", "SDD_CRM_SESSION_COOKIE_SECURE"):
        monkeypatch.delenv(name, raising=False)
    prod = create_app({
        "SECRET_KEY": "not-a-test-secret",
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "prod.sqlite3"),
        "RATELIMIT_STORAGE_URI": "memory://",
        # No embedded worker thread and schedule: it would share this test's database session.
        "SCHEDULE_ENABLED": False,
    })
    assert not prod.testing
    assert prod.config["WTF_CSRF_ENABLED"] is not False
    resp = prod.test_client().get("/login", base_url="https://localhost")
    assert resp.status_code == 200
    cookie = _cookie(resp.headers, prod.config["SESSION_COOKIE_NAME"])
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "max-age=" in resp.headers["Strict-Transport-Security"]


# --- login, redirects, logout ----------------------------------------------------------------

@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/login",
                                    "/\\evil.example", "\\\\evil.example", "javascript:alert(1)",
                                    "///evil.example"])
def test_login_never_redirects_off_site(client, make_user, target):
    user = make_user()
    resp = client.post("/login", query_string={"next": target},
                       data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    assert location.netloc in ("", "localhost")
    assert location.scheme in ("", "http")
    assert not location.path.startswith("//")
    if target in ("//evil.example", "https://evil.example/login", "///evil.example"):
        assert location.path == "/"  # the dashboard


def test_login_follows_a_local_next(client, make_user):
    user = make_user()
    resp = client.post("/login", query_string={"next": "/account"},
                       data={"email": user.email, "password": PASSWORD})
    assert resp.headers["Location"].endswith("/account")


def test_pages_need_a_login(client):
    resp = client.get("/")
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]


def test_logout_ends_the_session(client, make_user, login):
    login(make_user())
    assert _signed_in(client)
    resp = client.post("/logout")
    assert resp.status_code == 302
    assert not _signed_in(client)
    page = client.get("/login").get_data(as_text=True)
    assert "U bent uitgelogd." in page


def test_passwords_are_stored_as_argon2_hashes(make_user):
    user = make_user()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_an_inactive_user_cannot_log_in(client, make_user):
    user = make_user()
    user.active = False
    db.session.commit()
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 200
    assert "Onbekend e-mailadres of onjuist wachtwoord." in resp.get_data(as_text=True)
    assert not _signed_in(client)


def test_a_deactivated_user_is_signed_out(client, make_user, login):
    user = make_user()
    login(user)
    user.active = False
    db.session.commit()
    assert not _signed_in(client)


def _login_error(resp) -> str:
    page = resp.get_data(as_text=True)
    match = re.search(r'class="utrecht-form-field-error-message"[^>]*>(.*?)</div>', page, re.S)
    assert match, "no error message shown"
    return match.group(1)


def test_unknown_email_and_wrong_password_give_the_same_message(client, make_user):
    user = make_user()
    unknown = client.post("/login", data={"email": "nobody@example.nl", "password": PASSWORD})
    wrong = client.post("/login", data={"email": user.email, "password": WRONG})
    assert unknown.status_code == wrong.status_code == 200
    assert _login_error(unknown) == _login_error(wrong)
    assert "Onbekend e-mailadres of onjuist wachtwoord." in _login_error(wrong)
    # The e-mail typed is kept; the password never comes back.
    assert user.email in wrong.get_data(as_text=True)
    assert WRONG not in wrong.get_data(as_text=True)


def test_huge_ids_and_nul_bytes_are_4xx_not_500(client, login, make_user):
    login(make_user("admin"))
    for url in ("/organisations/99999999999999999999", "/organisations/3000000000",
                "/interactions/99999999999", "/admin/users/99999999999999999999"):
        assert client.get(url).status_code == 404, url
    for url in ("/organisations/?q=%00", "/contacts/?q=a%00b", "/organisations/?cluster=3000000000",
                "/admin/users?page=99999999999999999999999"):
        assert client.get(url).status_code in (200, 400), url
    assert client.get("/organisations/?q=%00").status_code == 400


def test_logout_is_post_only_so_a_link_elsewhere_cannot_sign_anyone_out(client, make_user):
    user = make_user()
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    resp = client.get("/logout")
    assert resp.status_code == 405
    assert set(resp.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}
    assert _signed_in(client)
    client.post("/logout")
    assert not _signed_in(client)
