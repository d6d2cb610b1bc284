"""Real Chromium (Debian's /usr/bin/chromium) driving the app served on a loopback port.

Skipped unless ``SDD_CRM_BROWSER_TESTS=1`` or /usr/bin/chromium exists; with
``SDD_CRM_BROWSER_TESTS=1`` and no Chromium every browser test fails loudly. The server has its
own app and SQLite database with CSRF on (a real browser posts real forms), so the autouse
``_db`` fixture of tests/conftest.py leaves these tests alone (it looks for ``live_server``).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from browser_support import CHROMIUM, CHROMIUM_ARGS, PASSWORD, sign_in

REQUIRED = os.environ.get("SDD_CRM_BROWSER_TESTS") == "1"
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE not in Path(str(item.path)).resolve().parents:
            continue
        item.add_marker(pytest.mark.browser)
        if not REQUIRED and not os.path.exists(CHROMIUM):
            item.add_marker(pytest.mark.skip(
                reason=f"no {CHROMIUM}; set SDD_CRM_BROWSER_TESTS=1 to require the browser tests"))


@dataclass
class LiveServer:
    url: str
    app: object
    users: dict = field(default_factory=dict)
    orgs: dict = field(default_factory=dict)


def _seed(app) -> tuple[dict, dict]:
    from flask_migrate import upgrade

    from sdd_crm.auth.services import create_user
    from sdd_crm.extensions import db
    from sdd_crm.organisations.services import create_organisation
    from sdd_crm.reference.services import seed_reference

    with app.app_context():
        upgrade()
        seed_reference()
        users = {
            "admin": create_user(email="beheer@example.nl", name="Bea Beheer", role="admin",
                                 password=PASSWORD),
            "regional": create_user(email="regio@example.nl", name="Rik Regio",
                                    role="regional_account_manager", password=PASSWORD),
            "english": create_user(email="english@example.nl", name="Emma English",
                                   role="regional_account_manager", password=PASSWORD,
                                   locale="en"),
            # One user of every other role (issue 14: the reflow crawl signs in as each role).
            "local": create_user(email="lokaal@example.nl", name="Lotte Lokaal",
                                 role="local_account_manager", municipality_code="GM0505",
                                 password=PASSWORD),
            "bd": create_user(email="bizdev@example.nl", name="Bram Bizdev",
                              role="business_developer", password=PASSWORD),
            "viewer": create_user(email="kijker@example.nl", name="Kim Kijker", role="viewer",
                                  password=PASSWORD),
        }
        db.session.flush()
        # Two-factor authentication is required for admins: the seeded admin has it, and signs
        # in with its recovery codes (each works once; a TOTP code only once per 30 seconds).
        import pyotp

        from browser_support import ADMIN_RECOVERY_CODES

        from sdd_crm.auth import twofactor

        twofactor.start_enrolment(users["admin"])
        ADMIN_RECOVERY_CODES[:] = twofactor.confirm_enrolment(
            users["admin"], pyotp.TOTP(users["admin"].totp_secret).now())
        cities = ["Dordrecht", "Zwijndrecht", "Papendrecht", "Sliedrecht", "Alblasserdam",
                  "Hendrik-Ido-Ambacht", "Hardinxveld-Giessendam"]
        orgs = {}
        for i in range(60):
            org = create_organisation({
                "name": f"{['Scheepswerf', 'Installatietechniek', 'Baggerbedrijf', 'Hogeschool'][i % 4]} "
                        f"Drechtsteden {i + 1:02d} B.V.",
                "org_type": "education" if i % 4 == 3 else "company",
                "kvk_number": f"{70000000 + i:08d}",
                "city": cities[i % len(cities)],
                "street": f"Noordendijk {i + 10}",
                "postcode": "3311 AB",
                "employees": 5 + i * 7,
                "website": f"https://www.voorbeeld{i}.nl",
            }, actor=users["admin"])
            orgs.setdefault("first", org)
        db.session.commit()
        ids_users = {k: (u.id, u.email) for k, u in users.items()}
        ids_orgs = {k: o.id for k, o in orgs.items()}
        db.session.remove()
    return ids_users, ids_orgs


def _quiet_handler():
    from werkzeug.serving import WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):  # one line per request drowns the test output
            pass

    return Quiet


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The application on http://127.0.0.1:<free port>, in a thread, for the whole session."""
    from werkzeug.serving import make_server

    from sdd_crm import create_app

    tmp = tmp_path_factory.mktemp("live")
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "live-server-secret",
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp / "live.sqlite3"),
        "WTF_CSRF_ENABLED": True,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "RATELIMIT_STORAGE_URI": "memory://",
    })
    users, orgs = _seed(app)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_quiet_handler())
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app, users=users, orgs=orgs)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            from sdd_crm.extensions import db

            db.engine.dispose()


@pytest.fixture(scope="session")
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"SDD_CRM_BROWSER_TESTS=1 but {CHROMIUM} is missing: "
                    "apt-get install -y chromium", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium, live_server):
    """A fresh, signed-out browser tab (desktop size) on the live server."""
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900},
                                   locale="nl-NL")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture(scope="session")
def signed_in_state(chromium, live_server):
    """Cookies of a regional account manager signed in through the real form (CSRF and all)."""
    context = chromium.new_context(base_url=live_server.url)
    tab = context.new_page()
    sign_in(tab, live_server.users["regional"][1])
    assert tab.url.rstrip("/") == live_server.url, tab.url
    state = context.storage_state()
    context.close()
    return state


@pytest.fixture
def user_page(chromium, live_server, signed_in_state):
    """A tab already signed in as the regional account manager."""
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900},
                                   storage_state=signed_in_state)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def phone_page(chromium, live_server, signed_in_state):
    """A signed-in tab the size of a phone (375 × 812)."""
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 375, "height": 812},
                                   device_scale_factor=2, is_mobile=True, has_touch=True,
                                   storage_state=signed_in_state)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture(scope="session")
def role_state(chromium, live_server):
    """``role_state(role)``: the storage state (cookies) of the seeded user of ``role`` — one of
    "admin", "regional", "local" (Dordrecht, GM0505), "bd", "viewer", "english" — signed in
    through the real form once per session (the admin with one of its recovery codes)."""
    states: dict[str, dict] = {}

    def state(role: str) -> dict:
        if role not in states:
            context = chromium.new_context(base_url=live_server.url)
            try:
                tab = context.new_page()
                sign_in(tab, live_server.users[role][1])
                assert "/login" not in tab.url, (role, tab.url)
                states[role] = context.storage_state()
            finally:
                context.close()
        return states[role]

    return state


@pytest.fixture
def role_context(chromium, live_server, role_state):
    """``role_context(role, width=1280, height=900, **context_options)``: a new browser context
    signed in as the seeded user of ``role`` (see ``role_state``); closed after the test."""
    contexts = []

    def make(role: str, width: int = 1280, height: int = 900, **options):
        options.setdefault("locale", "nl-NL")
        context = chromium.new_context(base_url=live_server.url,
                                       viewport={"width": width, "height": height},
                                       storage_state=role_state(role), **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def role_page(role_context):
    """``role_page(role, width=1280, height=900, **context_options)``: a tab signed in as the
    seeded user of ``role``."""
    return lambda role, *args, **kwargs: role_context(role, *args, **kwargs).new_page()
