"""API authentication: bearer tokens only (hashed, revocable), JSON errors, audit source."""

from __future__ import annotations

import sqlalchemy as sa

from sdd_crm.audit.models import AuditEvent
from sdd_crm.auth.models import ApiToken
from sdd_crm.auth.services import revoke_tokens
from sdd_crm.extensions import db

URL = "/api/v1/organisations"


def _assert_401(resp):
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    error = resp.get_json()["error"]
    assert error["status"] == 401 and error["code"] == "unauthorized" and error["message"]


def test_no_token_is_401_json(client):
    resp = client.get(URL)
    _assert_401(resp)
    assert "Authorization: Bearer" in resp.get_json()["error"]["message"]


def test_other_schemes_and_empty_tokens_are_401(client, make_user, api_headers):
    token = api_headers(make_user())["Authorization"].split()[1]
    for header in (f"Basic {token}", "Bearer", "Bearer ", token):
        _assert_401(client.get(URL, headers={"Authorization": header}))


def test_unknown_token_is_invalid_token(client):
    resp = client.get(URL, headers={"Authorization": "Bearer sdd_nietbestaand"})
    _assert_401(resp)
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


def test_valid_token_works_case_insensitive_scheme(client, make_user, api_headers):
    headers = api_headers(make_user())
    assert client.get(URL, headers=headers).status_code == 200
    lower = {"Authorization": headers["Authorization"].replace("Bearer", "bearer")}
    assert client.get(URL, headers=lower).status_code == 200


def test_token_is_stored_hashed_and_use_is_recorded(client, make_user, api_headers):
    user = make_user()
    token = api_headers(user)["Authorization"].split()[1]
    record = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    assert record.token_hash != token and record.token_hash == ApiToken.hash(token)
    assert record.last_used_at is None
    client.get(URL, headers={"Authorization": f"Bearer {token}"})
    db.session.expire_all()
    assert db.session.get(ApiToken, record.id).last_used_at is not None


def test_revoked_token_is_401(client, make_user, api_headers):
    user = make_user()
    headers = api_headers(user)
    assert client.get(URL, headers=headers).status_code == 200
    revoke_tokens(user)
    db.session.commit()
    _assert_401(client.get(URL, headers=headers))


def test_inactive_user_token_is_401(client, make_user, api_headers):
    user = make_user()
    headers = api_headers(user)
    user.active = False
    db.session.commit()
    _assert_401(client.get(URL, headers=headers))


def test_browser_session_does_not_authenticate_the_api(client, make_user, login):
    user = make_user()
    login(user)
    assert client.get("/organisations/").status_code == 200  # signed in for the HTML side
    _assert_401(client.get(URL))
    _assert_401(client.post(URL, json={"name": "Via de sessie B.V."}))


def test_api_sets_no_session_cookie_and_forbids_caching(client, make_user, api_headers):
    resp = client.get(URL, headers=api_headers(make_user()))
    assert resp.status_code == 200
    assert "Set-Cookie" not in resp.headers
    assert resp.headers["Cache-Control"] == "no-store"
    assert client.get(URL).headers["Cache-Control"] == "no-store"  # errors too


def test_api_write_needs_no_csrf_token(app, client, make_user, api_headers):
    headers = api_headers(make_user())
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        resp = client.post(URL, headers=headers, json={"name": "Zonder CSRF B.V."})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert resp.status_code == 201


def test_changes_are_audited_with_api_source_and_user(client, make_user, api_headers):
    user = make_user()
    resp = client.post(URL, headers=api_headers(user), json={"name": "Audit B.V."})
    org_id = resp.get_json()["id"]
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "organisation", AuditEvent.entity_id == str(org_id),
        AuditEvent.action == "create"))
    assert event.source == "api" and event.user_id == user.id
    assert event.changes["name"] == [None, "Audit B.V."]


def test_openapi_needs_no_token(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200 and resp.get_json()["openapi"].startswith("3.1")


def test_unknown_route_and_method_are_json(client, make_user, api_headers):
    headers = api_headers(make_user())
    resp = client.get("/api/v1/nietbestaand", headers=headers)
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"
    resp = client.put(f"{URL}/1", headers=headers, json={})
    assert resp.status_code == 405 and resp.get_json()["error"]["code"] == "method_not_allowed"
