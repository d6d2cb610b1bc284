"""Schemathesis against the generated OpenAPI document (issue 10): no request the document allows
is refused (positive_data_acceptance: 2xx, 401, 403, 404 or 409 only), no server error, only
documented status codes, answers that fit their schemas, and a 405 for an undocumented method
always carries ``Allow``.

In-process over WSGI, as an admin with a bearer token, on a database of its own seeded with the
demo region (requests commit for real there). Few examples per operation: the whole file runs in
well under two minutes.
"""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from db_support import throwaway_database
from sdd_crm.extensions import db

CHECKS = [not_a_server_error, positive_data_acceptance, status_code_conformance, unsupported_method,
          response_schema_conformance]


def _seeded_app():
    """The app on a database of its own, seeded with the demo region and an admin's token.

    Built when the module is collected (schemathesis parametrizes from the loaded document);
    the database is removed at the end of the session."""
    from flask_migrate import upgrade

    from sdd_crm import create_app
    from sdd_crm.auth.models import Role, User
    from sdd_crm.auth.services import create_token
    from sdd_crm.reference.services import seed_reference
    from sdd_crm.seeds.demo import seed_demo

    folder = Path(tempfile.mkdtemp(prefix="schemathesis-"))
    _CLEANUP.callback(shutil.rmtree, folder, ignore_errors=True)
    url = _CLEANUP.enter_context(throwaway_database(folder, "schemathesis"))
    app = create_app({"TESTING": True, "SECRET_KEY": "schemathesis", "SQLALCHEMY_DATABASE_URI": url,
                      "WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": False,
                      "REMEMBER_COOKIE_SECURE": False,
                      "RATELIMIT_STORAGE_URI": "memory://", "SERVER_NAME": None})
    session = db._make_scoped_session({})
    original, db.session = db.session, session
    try:
        with app.app_context():
            upgrade()
            seed_reference()
            seed_demo(40)
            admin = User(email="schemathesis@example.nl", name="Schemathesis", role=Role.ADMIN,
                         active=True)
            db.session.add(admin)
            db.session.flush()
            token = create_token(admin, "schemathesis")
            db.session.commit()
            db.session.remove()

            def dispose():
                with app.app_context():
                    db.engine.dispose()

            _CLEANUP.callback(dispose)
    finally:
        db.session = original
    return app, session, {"Authorization": f"Bearer {token}"}


_CLEANUP = contextlib.ExitStack()
atexit.register(_CLEANUP.close)
APP, SESSION, AUTH = _seeded_app()
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", APP)


@pytest.fixture(autouse=True)
def _db(monkeypatch):
    """This module's requests commit for real, in the database of its own (see ``_seeded_app``)."""
    monkeypatch.setattr(db, "session", SESSION)
    with APP.app_context():
        yield
        SESSION.remove()


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_document(case):
    case.call_and_validate(headers=AUTH, checks=CHECKS)
