"""Security headers on every answer (issue 11, point 6) and no secret or searched name in the
access log.

The header walk GETs every GET route of the URL map as an admin, on the demo region, with ids
filled in from the seeded data (pages, JSON, the CSV/XLSX exports, the calendar feed, a job's
file, the API): each answer carries the Content-Security-Policy without inline script and with
``frame-ancestors 'none'``, ``nosniff``, a Referrer-Policy and ``Cache-Control: no-store``; only
the static assets may be cached. HSTS is sent when the request came over HTTPS, and only then.
"""

from __future__ import annotations

import logging
import threading
import urllib.request

import pytest
from security_support import get_urls, seed_world
from werkzeug.serving import make_server

from sdd_crm import create_app
from sdd_crm.extensions import db
from sdd_crm.logmask import AccessLogMask, mask

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _check_headers(resp, url):
    h = resp.headers
    csp = h.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "script-src 'self'" in csp, url
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, url
    assert "frame-ancestors 'none'" in csp, url
    assert h.get("X-Content-Type-Options") == "nosniff", url
    assert h.get("X-Frame-Options") == "DENY", url
    assert h.get("Referrer-Policy") in {"same-origin", "no-referrer",
                                        "strict-origin-when-cross-origin"}, url
    assert "no-store" in h.get("Cache-Control", ""), (url, h.get("Cache-Control"))
    assert "Strict-Transport-Security" not in h, url  # plain HTTP in the test client


def test_every_get_answer_carries_the_security_headers_and_no_store(app, client, login, make_user,
                                                                    api_headers):
    world = seed_world(client, login, make_user)
    bearer = api_headers(world.admin)
    urls = get_urls(app, world)
    # The other download formats and a filtered search, next to the URL map's own addresses.
    urls += [("exports.export_list", "/imports/export/contacts.xlsx"),
             ("exports.export_list", "/imports/export/organisations.csv?q=Dordrecht"),
             ("organisations.index", "/organisations/?q=Dordrecht&sort=name"),
             ("api.list_contacts", "/api/v1/contacts?q=Jansen")]
    assert len(urls) >= 100, len(urls)
    ok_by_blueprint: dict[str, int] = {}
    mimetypes = set()
    problems = []
    for endpoint, url in urls:
        resp = client.get(url, headers=bearer if url.startswith("/api/") else None)
        try:
            assert resp.status_code < 500, "server error"
            _check_headers(resp, url)
        except AssertionError as e:
            problems.append((url, resp.status_code, str(e)))
        if resp.status_code == 200:
            ok_by_blueprint[endpoint.split(".")[0]] = ok_by_blueprint.get(endpoint.split(".")[0], 0) + 1
            mimetypes.add(resp.mimetype)
    assert not problems, problems
    # Every blueprint answered at least one page for real, in every content type that carries data.
    blueprints = {name for name in app.blueprints}
    assert blueprints <= set(ok_by_blueprint), blueprints - set(ok_by_blueprint)
    assert {"text/html", "application/json", "text/csv", XLSX, "text/calendar"} <= mimetypes, mimetypes
    # The address lists the routes it could not fill in: a handful at most.
    assert len(world.skipped) <= 5, world.skipped


def test_anonymous_pages_and_errors_are_not_cached_either(client):
    for url in ("/login", "/no-such-page", "/api/v1/organisations", "/healthz",
                "/tasks/calendar/unknown-secret.ics"):
        resp = client.get(url)
        _check_headers(resp, url)


def test_static_assets_may_be_cached_but_keep_nosniff(client):
    resp = client.get("/static/favicon.svg")
    assert resp.status_code == 200
    assert "no-store" not in resp.headers.get("Cache-Control", "")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_only_over_https_not_from_a_configuration_guess(app, client):
    app.config["SESSION_COOKIE_SECURE"] = True
    try:
        plain = client.get("/login")
        secure = client.get("/login", base_url="https://localhost")
    finally:
        app.config["SESSION_COOKIE_SECURE"] = False
    assert "Strict-Transport-Security" not in plain.headers
    assert "max-age=" in secure.headers["Strict-Transport-Security"]


def test_hsts_behind_a_proxy_follows_x_forwarded_proto(tmp_path):
    proxied = create_app({"TESTING": True, "SECRET_KEY": "x", "PROXY_FIX_HOPS": 1,
                          "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "p.sqlite3"),
                          "RATELIMIT_STORAGE_URI": "memory://", "WTF_CSRF_ENABLED": False})
    c = proxied.test_client()
    behind_https = c.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    behind_http = c.get("/healthz", headers={"X-Forwarded-Proto": "http"})
    assert "max-age=" in behind_https.headers["Strict-Transport-Security"]
    assert "Strict-Transport-Security" not in behind_http.headers
    with proxied.app_context():
        db.engine.dispose()


# --- access-log masking ---------------------------------------------------------------------------

class _Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def werkzeug_log():
    logger = logging.getLogger("werkzeug")
    handler = _Collect()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def test_the_development_servers_access_log_masks_the_feed_secret_and_searched_names(
        app, client, login, make_user, werkzeug_log):
    """A real request through Werkzeug's server: the log line is there, the secrets are not."""
    from sdd_crm.tasks.calendar import new_calendar_secret

    user = make_user("regional_account_manager")
    secret = new_calendar_secret(user)
    db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        for path in (f"/tasks/calendar/{secret}.ics",
                     "/contacts/?q=Vermeulen-Oosterhout&page=1",
                     "/organisations/?email=piet.vermeulen%40example.nl&name=Oosterhout",
                     "/login?next=%2Fcontacts%2F%3Fq%3DVermeulen-Oosterhout"):
            try:
                urllib.request.urlopen(base + path, timeout=10).read()
            except urllib.error.HTTPError:
                pass
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
    log = "\n".join(werkzeug_log)
    # Every request was logged (the anonymous searches also through their redirect to the login
    # page), the feed really served ...
    assert log.count("GET ") >= 4, log
    assert '"GET /tasks/calendar/***.ics HTTP/1.1" 200' in log, log
    assert "/contacts/?q=***" in log and "email=***&name=***" in log, log
    for secret_text in (secret, secret[:12], "Vermeulen", "Oosterhout", "piet.vermeulen"):
        assert secret_text not in log, log  # ... without what must not be kept
    assert "page=1" in log  # other parameters stay readable


def test_the_gunicorn_access_log_is_masked_too():
    """Gunicorn logs its access format with a dict of atoms on ``gunicorn.access``; the request
    line and the referrer are masked there as well."""
    logger = logging.getLogger("gunicorn.access")
    assert any(isinstance(f, AccessLogMask) for f in logger.filters)
    handler = _Collect()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info('%(h)s %(t)s "%(r)s" %(s)s "%(f)s"', {
            "h": "10.0.0.1", "t": "[07/Dec/2026:10:00:00 +0100]", "s": "200",
            "r": "GET /tasks/calendar/Zx9-secret_VALUE.ics HTTP/1.1",
            "f": "https://crm.example.nl/contacts/?q=de%20Wit&status=active"})
    finally:
        logger.removeHandler(handler)
    line = handler.lines[0]
    assert "Zx9-secret_VALUE" not in line and "Wit" not in line
    assert '"GET /tasks/calendar/***.ics HTTP/1.1" 200' in line and "status=active" in line


@pytest.mark.parametrize("raw, expected", [
    ("GET /contacts/?q=Jansen HTTP/1.1", "GET /contacts/?q=*** HTTP/1.1"),
    ("GET /x?sort=name&search=Bakker&page=2 HTTP/1.1", "GET /x?sort=name&search=***&page=2 HTTP/1.1"),
    ("GET /login?next=/contacts/?q%3DBakker%26page%3D2 HTTP/1.1",
     "GET /login?next=/contacts/?q%3D***%26page%3D2 HTTP/1.1"),
    ("GET /api/v1/contacts?EMAIL=a%40b.nl HTTP/1.1", "GET /api/v1/contacts?EMAIL=*** HTTP/1.1"),
    ("GET /tasks/calendar/abc.ics?x=1 HTTP/1.1", "GET /tasks/calendar/***.ics?x=1 HTTP/1.1"),
    ("GET /organisations/12 HTTP/1.1", "GET /organisations/12 HTTP/1.1"),
    ("q=Bakker&page=2", "q=***&page=2"),  # gunicorn's bare query-string atom %(q)s
    ('"GET /x?sort=name HTTP/1.1" "https://crm/contacts/?name=Bakker"',
     '"GET /x?sort=name HTTP/1.1" "https://crm/contacts/?name=***"'),
])
def test_mask(raw, expected):
    assert mask(raw) == expected
