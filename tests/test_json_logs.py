"""Logs as JSON lines with a request id (issue 13, point 4): what an operator's log collector gets.

The lines are written by the application's own handler configuration (:func:`sdd_crm.logs.
make_handler`, the one :func:`sdd_crm.logs.init_app` puts on the root logger); one test runs an
app in a process of its own and reads its real standard error.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from flask import Flask

from sdd_crm import logs

TESTS = Path(__file__).resolve().parent
PASSWORD = "correct horse battery staple"  # tests/conftest.py's
HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_log():
    """The JSON lines every logger writes during the test, parsed (each must be valid JSON)."""
    buffer = io.StringIO()
    handler = logs.make_handler("json", stream=buffer)
    root = logging.getLogger()
    root.addHandler(handler)

    def lines() -> list[dict]:
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    lines.text = buffer.getvalue  # the raw output, to search for what must not be there
    try:
        yield lines
    finally:
        root.removeHandler(handler)


def _login(client, email, password, request_id=None):
    headers = {"X-Request-ID": request_id} if request_id else {}
    return client.post("/login", data={"email": email, "password": password}, headers=headers)


def test_a_requests_lines_are_json_with_the_request_id_of_its_response(client, make_user,
                                                                      json_log):
    user = make_user()
    resp = _login(client, user.email, PASSWORD)
    assert resp.status_code == 302
    request_id = resp.headers["X-Request-ID"]
    assert HEX_ID.fullmatch(request_id)  # none was sent: a new one
    mine = [line for line in json_log() if line["request_id"] == request_id]
    [event] = [line for line in mine if line.get("event") == "login_succeeded"]
    # The security event is written at INFO, with its fields as JSON fields.
    assert event["level"] == "INFO" and event["logger"] == "sdd_crm.security"
    assert event["user_id"] == user.id and "login_succeeded" in event["message"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["time"])  # ISO, UTC
    for line in json_log():
        assert {"time", "level", "logger", "message", "request_id"} <= set(line)
    # Another request, another id; the lines of the first keep theirs.
    other = client.get("/healthz")
    assert other.headers["X-Request-ID"] not in (request_id, None)


@pytest.mark.parametrize("sent, kept", [
    ("nginx-7f3c2a9e0b4d_1", True),
    ("a" * 64, True),
    ("a" * 65, False),
    ("x;FAKE=login_succeeded", False),
    ("<script>", False),
    ("two words", False),
])
def test_an_incoming_request_id_is_kept_when_safe_else_replaced(client, make_user, json_log,
                                                                sent, kept):
    user = make_user()
    resp = _login(client, user.email, "not the password at all", request_id=sent)
    answered = resp.headers["X-Request-ID"]
    if kept:
        assert answered == sent
    else:
        assert HEX_ID.fullmatch(answered)
    [failed] = [line for line in json_log() if line.get("event") == "login_failed"]
    assert failed["request_id"] == answered
    assert "FAKE" not in json_log.text() and "<script>" not in json_log.text()


def test_a_failed_login_is_logged_without_the_password_or_the_email(client, make_user, json_log):
    user = make_user(email="p.de.vries@example.nl")
    _login(client, user.email, "Niet-het-juiste-1")
    _login(client, "onbekend.adres@example.nl", PASSWORD)
    failed = [line for line in json_log() if line.get("event") == "login_failed"]
    assert [line["level"] for line in failed] == ["WARNING", "WARNING"]
    assert failed[0]["user_id"] == user.id and "user_id" not in failed[1]
    assert failed[0]["account"] and failed[0]["account"] != failed[1]["account"]  # keyed hashes
    text = json_log.text()
    for secret in ("Niet-het-juiste-1", PASSWORD, "p.de.vries", "onbekend.adres", "example.nl"):
        assert secret not in text


def test_a_refused_access_is_logged_with_who_what_and_why_but_no_record_data(
        client, login, make_user, make_org, make_contact, api_headers, json_log):
    from sdd_crm.extensions import db
    from sdd_crm.jobs.lifecycle import new_job

    user = make_user("regional_account_manager")
    login(user)
    assert client.get("/admin/").status_code == 403
    # Someone else's job: answered as a missing one (404), logged as a refusal.
    job = new_job("export", actor=make_user("regional_account_manager"))
    db.session.commit()
    assert client.get(f"/jobs/{job.id}").status_code == 404
    # The API: a viewer may not read a contact person.
    contact = make_contact(make_org(name="Vertrouwelijk Metaal B.V."), first_name="Henriëtte",
                           last_name="Zwanenburg", email="h.zwanenburg@example.nl",
                           phone="078-1234567")
    viewer = make_user("viewer")
    assert client.get(f"/api/v1/contacts/{contact.id}",
                      headers=api_headers(viewer)).status_code == 403

    refused = [line for line in json_log() if line.get("event") == "access_refused"]
    assert [(r["status"], r["reason"], r["method"]) for r in refused] == [
        (403, "forbidden", "GET"), (404, "hidden_record", "GET"), (403, "forbidden", "GET")]
    assert [r["user_id"] for r in refused] == [user.id, user.id, viewer.id]
    assert refused[0]["endpoint"].startswith("admin.") and refused[1]["endpoint"] == "jobs.detail"
    assert refused[2]["endpoint"].startswith("api.")
    assert all(r["level"] == "WARNING" and r["logger"] == "sdd_crm.security" for r in refused)
    text = json_log.text()
    for record_data in (job.id, "Zwanenburg", "Henri", "Vertrouwelijk", "1234567", "example.nl"):
        assert record_data not in text


def test_a_service_refusal_is_logged_as_permission_denied(client, login, make_user, make_org,
                                                          make_contact, monkeypatch, json_log):
    import sdd_crm.contacts.views as contact_views
    from sdd_crm.exceptions import PermissionDenied

    contact = make_contact(make_org())
    login(make_user("business_developer"))

    def refuse(contact_id, **kwargs):
        raise PermissionDenied()

    monkeypatch.setattr(contact_views, "get_contact", refuse)
    assert client.get(f"/contacts/{contact.id}").status_code == 403
    [refused] = [line for line in json_log() if line.get("event") == "access_refused"]
    assert refused["reason"] == "permission_denied"


def test_every_logger_is_masked_and_secret_fields_are_hidden(json_log):
    """A child logger (not one of logmask's access loggers) and extra fields named like secrets."""
    log = logging.getLogger("sdd_crm.jobs.schedule")
    token = "sdd_" + "Ab1" * 15
    log.warning("Mail to piet.jansen@example.nl (06-12345678) failed with %s on /contacts/?q=Jansen",
                token, extra={"password": "hunter2hunter2", "session_id": "abc", "rows": 3,
                              "to": ["a.b@example.nl"]})
    [line] = [line for line in json_log() if line["logger"] == "sdd_crm.jobs.schedule"]
    assert line["request_id"] is None
    assert line["password"] == line["session_id"] == "***" and line["rows"] == 3
    for secret in ("piet.jansen", "12345678", token, "Jansen", "hunter2", "a.b@"):
        assert secret not in json_log.text()


def test_a_job_logs_with_the_request_id_that_started_it(json_log):
    log = logging.getLogger("sdd_crm.jobs.lifecycle")
    with logs.request_id_bound("0a1b2c3d"):
        assert logs.current_request_id() == "0a1b2c3d"
        log.info("Job started")
    with logs.request_id_bound("not safe\n"):
        log.info("Job with a bad id")
    log.info("After the job")
    assert [line["request_id"] for line in json_log()
            if line["logger"] == "sdd_crm.jobs.lifecycle"] == ["0a1b2c3d", None, None]


def test_the_format_and_level_come_from_the_settings():
    app = Flask(__name__)
    assert logs.configured_format(app) == "json" and logs.configured_level(app) == logging.INFO
    app.testing = True
    assert logs.configured_format(app) == "text"  # a person reads test output
    app.config.update(LOG_FORMAT="JSON", LOG_LEVEL="debug")
    assert logs.configured_format(app) == "json" and logs.configured_level(app) == logging.DEBUG
    with pytest.raises(ValueError):
        logs.make_formatter("xml")
    app.config["LOG_LEVEL"] = "LOUD"
    with pytest.raises(ValueError):
        logs.configured_level(app)


def test_the_text_format_names_the_request_and_is_masked_too():
    buffer = io.StringIO()
    handler = logs.make_handler("text", stream=buffer)
    record = logging.makeLogRecord({"name": "sdd_crm.x", "levelname": "INFO", "levelno": 20,
                                    "msg": "call %s", "args": ("+31 6 12345678",)})
    with logs.request_id_bound("r-1"):
        handler.handle(record)
    assert re.fullmatch(r"\S+Z INFO sdd_crm\.x \[r-1\] call \*\*\*\n", buffer.getvalue())


def test_a_real_process_writes_json_lines_to_standard_error(tmp_path):
    """No handler of the test's own: the app's configuration, in a process of its own."""
    script = textwrap.dedent("""
        import logging, sys
        from sdd_crm import create_app

        app = create_app({"TESTING": True, "SECRET_KEY": "x", "LOG_FORMAT": "json",
                          "RATELIMIT_STORAGE_URI": "memory://",
                          "SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[1]})

        @app.get("/probe")
        def probe():
            logging.getLogger("sdd_crm.jobs.schedule").info("probe for %s", "piet@example.nl")
            app.logger.info("app logger line")
            return "ok"

        print(app.test_client().get("/probe", headers={"X-Request-ID": "probe-42"})
              .headers["X-Request-ID"])
    """)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "p.sqlite3")],
                          check=False, capture_output=True, text=True, timeout=120,
                          cwd=TESTS.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "probe-42"
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    probe = [line for line in lines if line["message"].startswith("probe for")]
    app_line = [line for line in lines if line["message"] == "app logger line"]
    assert len(probe) == len(app_line) == 1  # once: Flask's own handler does not repeat it
    assert probe[0] == {**probe[0], "logger": "sdd_crm.jobs.schedule", "level": "INFO",
                        "request_id": "probe-42", "message": "probe for ***"}
    assert app_line[0]["logger"] == "sdd_crm" and app_line[0]["request_id"] == "probe-42"


# --- the log scan of a whole test run (tests/log_scan_plugin.py) --------------------------------

def test_the_scan_finds_passwords_secrets_and_contact_details():
    import secrets

    from log_scan_plugin import fixture_passwords, scan

    assert PASSWORD in fixture_passwords()
    lines = [
        '{"message": "Job 3f2a9c1e-0123-4567-89ab-0123456789ab took 0.123456789 s"}',
        '{"message": "Export of 12345678 rows", "time": "2026-12-07T10:41:26.123Z"}',
        f'{{"message": "signed in with {PASSWORD}"}}',
        f'{{"message": "token sdd_{secrets.token_urlsafe(32)}"}}',
        f'{{"message": "session {secrets.token_urlsafe(32)}"}}',
        '{"message": "cookie .eJwlzj0OwzAIQOG7MOdgYxssX6YyP0SZmqnqnZdL3Q7Q.ZzYx1w.abcdefghijklmnopqrstuvwxyz0"}',
        '{"message": "to piet%40example.nl and jan@example.nl"}',
        '{"message": "call 078-1234567 or +31 6 12345678"}',
    ]
    findings = scan(lines, fixture_passwords())
    assert {(f.line_number, f.kind) for f in findings} == {
        (3, "password"), (4, "API token"), (5, "random secret"), (6, "session cookie"),
        (7, "e-mail address"), (8, "phone number")}
    shown = "\n".join(f.masked_line for f in findings)
    assert PASSWORD not in shown and "example.nl" not in shown and "1234567" not in shown


@pytest.mark.parametrize("leak, fails", [(False, False), (True, True)])
def test_the_scan_fails_a_test_run_whose_log_holds_a_secret(tmp_path, leak, fails):
    """A small pytest run with the plugin: its exit status says whether the log was clean."""
    (tmp_path / "test_probe.py").write_text(textwrap.dedent(f"""
        import logging

        def test_configures_logging_as_alembic_does():
            root = logging.getLogger()  # logging.config.fileConfig: root's handlers go
            for handler in root.handlers[:]:
                root.removeHandler(handler)
            root.setLevel(logging.WARNING)

        def test_logs():
            log = logging.getLogger("sdd_crm.probe")
            log.debug("an ordinary line about job 42")
            log.info("mail for piet@example.nl")  # masked by the formatter: not a find
            if {leak!r}:
                log.debug("signed in with %s", {PASSWORD!r})
    """))
    # Wired in as tests/conftest.py does it.
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["log_scan_plugin"]\n')
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--basetemp", str(tmp_path / "inner"), "test_probe.py"],
        check=False, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    output = done.stdout + done.stderr
    assert "2 passed" in output, output
    assert PASSWORD not in output  # the report shows where, not what
    if fails:
        assert done.returncode == 1, output
        assert "log scan FAILED: 1 find(s)" in output and "«password»" in output
    else:
        assert done.returncode == 0, output
        assert "log scan: no secret or contact detail" in output
    assert (tmp_path / "inner" / "log-scan.jsonl").exists()


def test_the_servers_access_lines_carry_the_request_id(app, json_log):
    """Written after the request has ended: Werkzeug's development server (a real one here), and
    gunicorn's access logger (as gunicorn calls it, with the response headers among its atoms)."""
    import threading
    import urllib.request

    from werkzeug.serving import make_server

    werkzeug_logger = logging.getLogger("werkzeug")
    old_level = werkzeug_logger.level
    werkzeug_logger.setLevel(logging.INFO)
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{server.server_port}/healthz",
                                         headers={"X-Request-ID": "from-nginx-1"})
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.headers["X-Request-ID"] == "from-nginx-1"
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
        werkzeug_logger.setLevel(old_level)
    access = [line for line in json_log()
              if line["logger"] == "werkzeug" and "GET /healthz" in line["message"]]
    assert [line["request_id"] for line in access] == ["from-nginx-1"]

    gunicorn_access = logging.getLogger("gunicorn.access")
    old_level = gunicorn_access.level
    gunicorn_access.setLevel(logging.INFO)  # as gunicorn sets it
    try:
        gunicorn_access.info('%(h)s "%(r)s" %(s)s', {
            "h": "10.0.0.1", "r": "GET /contacts/?q=Jansen HTTP/1.1", "s": "200",
            "{x-request-id}o": "gunicorn-7"})
    finally:
        gunicorn_access.setLevel(old_level)
    [line] = [line for line in json_log() if line["logger"] == "gunicorn.access"]
    assert line["request_id"] == "gunicorn-7" and line["message"] == '10.0.0.1 "GET /contacts/?q=*** HTTP/1.1" 200'
