"""Test fixtures: one migrated database per run, one rolled-back transaction per test.

SQLite by default; PostgreSQL when ``TEST_DATABASE_URL`` is set. Tests marked ``postgres`` or
``redis`` are skipped without those servers, unless ``SDD_CRM_REQUIRE_SERVICES=1`` (set by
``.ci/run``), which turns a missing server into a failure.
"""

from __future__ import annotations

import contextlib
import itertools
import os

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask import g

from sdd_crm import create_app
from sdd_crm.extensions import db, limiter

# Every log line of the run is kept and scanned for secrets at the end (issue 13).
pytest_plugins = ["log_scan_plugin"]

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
REDIS_URL = os.environ.get("REDIS_URL")
REQUIRE_SERVICES = os.environ.get("SDD_CRM_REQUIRE_SERVICES") == "1"
PASSWORD = "correct horse battery staple"


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "postgres" in item.keywords and not TEST_DATABASE_URL:
            if REQUIRE_SERVICES:
                raise pytest.UsageError("TEST_DATABASE_URL must be set when SDD_CRM_REQUIRE_SERVICES=1")
            item.add_marker(pytest.mark.skip(reason="needs TEST_DATABASE_URL (PostgreSQL)"))
        if "redis" in item.keywords and not REDIS_URL:
            if REQUIRE_SERVICES:
                raise pytest.UsageError("REDIS_URL must be set when SDD_CRM_REQUIRE_SERVICES=1")
            item.add_marker(pytest.mark.skip(reason="needs REDIS_URL (Redis)"))


def _private_postgres_database(url: str):
    """A fresh database of our own next to TEST_DATABASE_URL's, so parallel runs never collide."""
    base = sa.engine.make_url(url)
    name = f"{base.database}_{os.getpid()}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop():
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def test_config(tmp_path_factory, database_url: str | None = None) -> dict:
    url = database_url or TEST_DATABASE_URL or (
        "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3"))
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SERVER_NAME": None,
        # Existing tests sign admins in with a password only and fail ten logins in a row;
        # tests/test_two_factor.py and tests/test_login_delay.py switch these back on.
        "TWO_FACTOR_REQUIRED_ROLES": (),
        "LOGIN_DELAY_FREE_FAILURES": 1000,
    }


test_config.__test__ = False  # not a test


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The application, with the schema built by the real migrations and reference data loaded."""
    import sdd_crm.auth.services as auth_services
    from flask_migrate import upgrade

    # Cheap hashing in tests; production keeps argon2's defaults.
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    auth_services._hasher = fast
    auth_services._DUMMY_HASH = fast.hash("dummy")

    config = test_config(tmp_path_factory)
    drop_database = None
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgres"):
        from sdd_crm.config import _normalise_db_url

        url = _normalise_db_url(config["SQLALCHEMY_DATABASE_URI"])
        config["SQLALCHEMY_DATABASE_URI"], drop_database = _private_postgres_database(url)
    app = create_app(config)

    @app.teardown_request
    def _fresh_g(_exc):
        # The test's app context is shared by its requests; drop per-request state
        # (Flask-Login's cached user) as a real new request would.
        for key in list(g):
            g.pop(key, None)

    with app.app_context():
        upgrade()
        from sdd_crm.reference.services import seed_reference

        seed_reference()
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()
    if drop_database:
        drop_database()


@pytest.fixture(autouse=True)
def _db(request, app):
    """Each test runs inside a transaction that is rolled back afterwards."""
    if "live_server" in request.fixturenames:
        yield
        return
    ctx = app.app_context()
    ctx.push()
    connection = db.engine.connect()
    transaction = connection.begin()
    original = db.session
    # A plain Session bound to the test's connection: Flask-SQLAlchemy's own Session.get_bind
    # would ignore the bind and reach for the engine (a second connection that really commits).
    from flask_sqlalchemy.session import _app_ctx_id
    from sqlalchemy.orm import scoped_session, sessionmaker

    db.session = scoped_session(
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint"),
        scopefunc=_app_ctx_id)
    limiter.reset()
    try:
        yield
    finally:
        db.session.remove()
        db.session = original
        if transaction.is_active:
            transaction.rollback()
        connection.close()
        ctx.pop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_seq = itertools.count(1)


@pytest.fixture
def make_user():
    """Create a user: ``make_user("local_account_manager", municipality="GM0505")``."""
    from sdd_crm.auth.services import create_user

    def _make(role="regional_account_manager", *, municipality=None, email=None, name=None,
              password=PASSWORD, locale="nl"):
        n = next(_seq)
        if role == "local_account_manager" and municipality is None:
            municipality = "GM0505"
        user = create_user(email=email or f"user{n}@example.nl", name=name or f"Gebruiker {n}",
                           role=role, password=password, municipality_code=municipality,
                           locale=locale)
        db.session.commit()
        return user

    return _make


@pytest.fixture
def make_org():
    """Create an organisation through the service, as a regional account manager would."""
    from sdd_crm.organisations.services import create_organisation

    def _make(actor=None, **fields):
        n = next(_seq)
        data = {"name": f"Organisatie {n} B.V.", "org_type": "company", "city": "Dordrecht"}
        data.update(fields)
        if actor is None:
            from sdd_crm.auth.models import User

            actor = db.session.scalar(sa.select(User).where(User.role == "admin")) or _system_admin()
        org = create_organisation(data, actor=actor)
        db.session.commit()
        return org

    return _make


def _system_admin():
    from sdd_crm.auth.services import create_user

    user = create_user(email="fixture-admin@example.nl", name="Fixture Admin", role="admin",
                       password=PASSWORD)
    db.session.flush()
    return user


@pytest.fixture
def make_contact():
    from sdd_crm.contacts.services import create_contact

    def _make(org, actor=None, **fields):
        n = next(_seq)
        data = {"organisation_id": org.id, "first_name": "Jan", "last_name": f"Jansen {n}",
                "email": f"jan{n}@example.nl"}
        data.update(fields)
        contact = create_contact(data, actor=actor or _system_admin_or_existing())
        db.session.commit()
        return contact

    return _make


def _system_admin_or_existing():
    from sdd_crm.auth.models import User

    return db.session.scalar(sa.select(User).where(User.role == "admin")) or _system_admin()


@pytest.fixture
def login(client):
    """Sign a user in through the real login form: ``login(user)``."""

    def _login(user, password=PASSWORD, c=None):
        c = c or client
        resp = c.post("/login", data={"email": user.email, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return c

    return _login


@pytest.fixture
def api_headers():
    """Bearer-token headers for a user: ``api_headers(user)``."""
    from sdd_crm.auth.services import create_token

    def _headers(user):
        token = create_token(user, "test")
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return _headers


@pytest.fixture
def count_queries(app):
    """Count SQL statements: ``with count_queries() as q: ...; q.count``."""

    @contextlib.contextmanager
    def _count():
        class Counter:
            count = 0
            statements: list[str] = []

        counter = Counter()
        counter.statements = []

        def _before(conn, cursor, statement, parameters, context, executemany):
            if statement.strip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
                return
            counter.count += 1
            counter.statements.append(statement)

        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", _before)
        try:
            yield counter
        finally:
            sa.event.remove(engine, "before_cursor_execute", _before)

    return _count
