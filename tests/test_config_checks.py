"""The configuration is read and checked once at start (issue 13, points 5 and 6).

An operator who writes a bad value learns at start which setting and what was expected; in
production mode (``SDD_CRM_PRODUCTION=true``) the app refuses a missing or weak secret key,
cookies not marked Secure, SQLite on a network file system and misspelt variables; the test and
benchmark variables never stop it; and every setting the code reads is declared once, with the
same default the code falls back to.
"""

from __future__ import annotations

import ast
import copy
import datetime as dt
import importlib
import logging
import re
import secrets
from pathlib import Path

import pytest
from flask import Flask

from sdd_crm import config as config_module
from sdd_crm import create_app, production
from sdd_crm.config import DEFAULTS, SETTINGS, ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
GOOD_SECRET = secrets.token_hex(32)
TEST_AND_BENCH_VARIABLES = {
    "SDD_CRM_REQUIRE_SERVICES": "1", "SDD_CRM_BROWSER_TESTS": "1",
    "SDD_CRM_CHROMIUM": "/usr/bin/chromium", "SDD_CRM_LOAD_PLAN": "/tmp/plan.json",
    "SDD_CRM_LOAD_RESULTS": "/tmp/results.json"}


@pytest.fixture
def env(monkeypatch):
    """A clean environment (CI sets REDIS_URL and SDD_CRM_* of its own); returns a setter."""
    import os

    for name in list(os.environ):
        if name.startswith("SDD_CRM_") or name in ("DATABASE_URL", "REDIS_URL"):
            monkeypatch.delenv(name)

    def set_(**variables):
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
    return set_


def _load(tmp_path, config=None) -> Flask:
    """A bare Flask app with its own instance folder, configured as create_app() does."""
    app = Flask(__name__, instance_path=str(tmp_path / "instance"), instance_relative_config=True)
    load_config(app, config)
    return app


def _production(tmp_path, **extra) -> dict:
    return {"SDD_CRM_PRODUCTION": "true", "SDD_CRM_SECRET_KEY": GOOD_SECRET,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'crm.sqlite3'}", **extra}


def _refusal(tmp_path) -> str:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path)
    return str(caught.value)


# --- types --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("SDD_CRM_SESSION_IDLE_MINUTES", "abc",
     "SDD_CRM_SESSION_IDLE_MINUTES: verwacht een geheel getal, kreeg 'abc'"),
    ("SDD_CRM_SESSION_IDLE_MINUTES", "1.5",
     "SDD_CRM_SESSION_IDLE_MINUTES: verwacht een geheel getal, kreeg 1.5"),
    ("SDD_CRM_PROXY_FIX_HOPS", "-1", "SDD_CRM_PROXY_FIX_HOPS: moet minstens 0 zijn, kreeg -1"),
    ("SDD_CRM_SESSION_COOKIE_SECURE", "maybe",
     "SDD_CRM_SESSION_COOKIE_SECURE: verwacht true of false, kreeg 'maybe'"),
    ("SDD_CRM_JOBS", "celery", "SDD_CRM_JOBS: verwacht een van: inline, thread, redis"),
    ("SDD_CRM_LOGIN_FAILURE_LIMIT", "lots", "SDD_CRM_LOGIN_FAILURE_LIMIT: verwacht limieten als"),
    ("SDD_CRM_BABEL_DEFAULT_TIMEZONE", "Mars/Olympus",
     "SDD_CRM_BABEL_DEFAULT_TIMEZONE: verwacht een tijdzone"),
    ("SDD_CRM_PERMANENT_SESSION_LIFETIME", "forever",
     "SDD_CRM_PERMANENT_SESSION_LIFETIME: verwacht een aantal seconden"),
    ("SDD_CRM_DUPLICATE_NAME_THRESHOLD", "101",
     "SDD_CRM_DUPLICATE_NAME_THRESHOLD: moet tussen 0 en 100 liggen"),
    ("REDIS_URL", "localhost:6379", "REDIS_URL: verwacht een Redis-URL"),
])
def test_a_bad_value_stops_the_start_naming_the_setting_and_the_type(env, tmp_path, variable,
                                                                      value, expected):
    env(**{variable: value})
    with pytest.raises(ConfigError) as caught:
        create_app()
    assert expected in str(caught.value)


def test_every_bad_value_is_reported_at_once_and_secrets_are_not_echoed(env, tmp_path):
    env(SDD_CRM_PAGE_SIZE="0", SDD_CRM_MAIL_PORT="smtp", DATABASE_URL="not a url :// pw=hunter2")
    message = _refusal(tmp_path)
    assert "DATABASE_URL: verwacht een database-URL" in message
    assert "SDD_CRM_PAGE_SIZE: moet minstens 1 zijn" in message
    assert "SDD_CRM_MAIL_PORT: verwacht een geheel getal" in message
    assert "hunter2" not in message and "(verborgen)" in message


def test_a_bad_value_in_instance_config_py_is_named_with_the_file(env, tmp_path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text("ATTENTION_MONTHS = 'six'\n")
    assert ("ATTENTION_MONTHS (instance/config.py): verwacht een geheel getal, kreeg 'six'"
            in _refusal(tmp_path))


def test_environment_values_take_their_declared_type(env, tmp_path):
    env(SDD_CRM_SESSION_IDLE_MINUTES="45", SDD_CRM_MAIL_PASSWORD="12345",
        SDD_CRM_SECRET_KEY="true", SDD_CRM_MAIL_USE_TLS="yes",
        SDD_CRM_TWO_FACTOR_REQUIRED_ROLES="admin, regional_account_manager",
        SDD_CRM_RQ_QUEUES='["default", "bulk"]', SDD_CRM_LOGIN_DELAY_WINDOW="600",
        SDD_CRM_SQLALCHEMY_ENGINE_OPTIONS__pool_size="7", SDD_CRM_JOBS="Inline",
        SDD_CRM_LOG_LEVEL="debug")
    config = _load(tmp_path).config
    assert config["SESSION_IDLE_MINUTES"] == 45
    # Text settings keep the variable as written (Flask's JSON parsing would make a number).
    assert config["MAIL_PASSWORD"] == "12345" and config["SECRET_KEY"] == "true"
    assert config["MAIL_USE_TLS"] is True
    assert config["TWO_FACTOR_REQUIRED_ROLES"] == ("admin", "regional_account_manager")
    assert config["RQ_QUEUES"] == ("default", "bulk")
    assert config["LOGIN_DELAY_WINDOW"] == dt.timedelta(minutes=10)
    assert config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True, "pool_size": 7}
    assert config["JOBS"] == "inline" and config["LOG_LEVEL"] == "DEBUG"  # any case


def test_an_empty_choice_without_a_default_counts_as_unset(env, tmp_path):
    env(SDD_CRM_JOBS="", SDD_CRM_LOG_FORMAT="")
    config = _load(tmp_path).config
    assert config["JOBS"] == "thread" and config["LOG_FORMAT"] is None


def test_the_defaults_are_typed_and_pass_their_own_checks(env, tmp_path):
    assert SETTINGS.load({}) == DEFAULTS
    assert SETTINGS.load(copy.deepcopy(DEFAULTS)) == DEFAULTS  # each passes its own field
    config = _load(tmp_path).config
    python_types = {"integer": int, "number": (int, float), "boolean": bool,
                    "seconds": dt.timedelta,
                    "list": tuple, "JSON object": dict}
    for name, field in SETTINGS.fields.items():
        kind = field.metadata["kind"]
        if DEFAULTS[name] is not None and kind in python_types:
            assert isinstance(config[name], python_types[kind]), name
            assert not (kind == "integer" and isinstance(config[name], bool)), name
    # Derived at start: the database in the instance folder, jobs in a thread, a stored secret.
    assert config["SQLALCHEMY_DATABASE_URI"].endswith("instance/sdd_crm.sqlite3")
    assert config["JOBS"] == "thread"
    assert config["SECRET_KEY"] == (tmp_path / "instance" / "secret_key").read_text()
    assert config["PERMANENT_SESSION_LIFETIME"] == dt.timedelta(hours=12)


# --- unknown variables --------------------------------------------------------------------------

def test_the_test_and_benchmark_variables_never_stop_or_warn(env, tmp_path, caplog):
    env(**TEST_AND_BENCH_VARIABLES, **_production(tmp_path))
    with caplog.at_level(logging.WARNING, logger="sdd_crm.config"):
        app = _load(tmp_path)
    assert app.config["PRODUCTION"] is True
    assert not caplog.records


def test_an_unknown_variable_is_logged_in_development_with_the_likely_setting(env, tmp_path,
                                                                             caplog):
    env(SDD_CRM_SESION_IDLE_MINUTES="10", SDD_CRM_SERVER_NAME="crm.example.org",
        SDD_CRM_RATELIMIT_STRATEGY="moving-window")
    with caplog.at_level(logging.WARNING, logger="sdd_crm.config"):
        _load(tmp_path)
    messages = [r.getMessage() for r in caplog.records]
    # Flask's own settings and the extensions' pass through; the typo does not.
    assert messages == [("SDD_CRM_SESION_IDLE_MINUTES: onbekende instelling (bedoelt u "
                         "SDD_CRM_SESSION_IDLE_MINUTES?); zie de tabel Configuration in README.md")]


def test_an_unknown_variable_stops_a_production_start(env, tmp_path):
    env(**_production(tmp_path), SDD_CRM_PROXY_FIX_HOP="1")
    message = _refusal(tmp_path)
    assert ("SDD_CRM_PROXY_FIX_HOP: onbekende instelling (bedoelt u SDD_CRM_PROXY_FIX_HOPS?)"
            in message)


# --- production refusals ------------------------------------------------------------------------

def test_a_good_production_configuration_starts(env, tmp_path):
    env(**_production(tmp_path), SDD_CRM_SCHEDULE_ENABLED="false")
    app = create_app()
    assert app.config["PRODUCTION"] is True and app.config["SECRET_KEY"] == GOOD_SECRET
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]


def test_production_refuses_a_missing_secret_key_and_generates_none(env, tmp_path):
    env(**_production(tmp_path))
    env(SDD_CRM_SECRET_KEY="")
    message = _refusal(tmp_path)
    assert "SDD_CRM_SECRET_KEY: ontbreekt" in message
    assert "secrets.token_hex(32)" in message  # how to make one
    assert not (tmp_path / "instance" / "secret_key").exists()


@pytest.mark.parametrize("weak", [
    "replace-with-the-output-of-python-c-import-secrets-print-secrets-token-hex-32",  # the example
    "changeme", "s3cr3t-but-far-too-short"])
def test_production_refuses_a_placeholder_or_short_secret_key(env, tmp_path, weak):
    env(**_production(tmp_path, SDD_CRM_SECRET_KEY=weak))
    assert "SDD_CRM_SECRET_KEY: een voorbeeld- of te korte sleutel" in _refusal(tmp_path)


@pytest.mark.parametrize("name", ["SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"])
def test_production_refuses_cookies_not_marked_secure(env, tmp_path, name):
    env(**_production(tmp_path, **{f"SDD_CRM_{name}": "false"}))
    message = _refusal(tmp_path)
    assert f"SDD_CRM_{name}: moet true zijn in productie" in message
    other = {"SESSION_COOKIE_SECURE": "REMEMBER", "REMEMBER_COOKIE_SECURE": "SESSION"}[name]
    assert f"SDD_CRM_{other}_COOKIE_SECURE" not in message


@pytest.mark.parametrize("fstype", ["nfs4", "cifs", "fuse.sshfs"])
def test_production_refuses_sqlite_on_a_network_file_system(env, tmp_path, monkeypatch, fstype):
    share = tmp_path.resolve() / "my share"
    share.mkdir()
    mounts = tmp_path / "mounts"
    escaped = str(share).replace(" ", "\\040")  # as /proc/mounts writes a space
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\nserver:/export {escaped} {fstype} rw 0 0\n")
    monkeypatch.setattr(production, "MOUNTS", str(mounts))
    env(**_production(tmp_path, DATABASE_URL=f"sqlite:///{share}/db/crm.sqlite3"))
    message = _refusal(tmp_path)
    assert (f"DATABASE_URL: SQLite-bestand {share}/db/crm.sqlite3 staat op een "
            f"netwerkbestandssysteem ({fstype})") in message
    assert "gebruik PostgreSQL" in message
    # The same database on a local disk, and PostgreSQL, start.
    env(DATABASE_URL=f"sqlite:///{tmp_path.resolve()}/crm.sqlite3")
    assert _load(tmp_path).config["PRODUCTION"] is True
    env(DATABASE_URL="postgresql://crm@db.example.org/sdd_crm")
    assert _load(tmp_path).config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_the_file_system_type_comes_from_the_real_mount_table(tmp_path):
    if not Path(production.MOUNTS).exists():
        pytest.skip("no /proc/mounts")
    assert production.filesystem_type(str(tmp_path / "not" / "yet")) is not None


def test_outside_production_nothing_is_refused(env, tmp_path):
    env(SDD_CRM_SESSION_COOKIE_SECURE="false", SDD_CRM_REMEMBER_COOKIE_SECURE="false")
    config = _load(tmp_path).config  # as `make run` and the benchmarks start
    assert config["SESSION_COOKIE_SECURE"] is False and len(config["SECRET_KEY"]) == 64


# --- one declaration ----------------------------------------------------------------------------

# Read by the code, but Flask's own, or set at start from the declared settings.
NOT_SETTINGS = set(Flask.default_config) | {"RQ_ASYNC", "RQ_CONNECTION", "RQ_CONNECTION_CLASS",
                                            "API_TITLE", "API_VERSION", "OPENAPI_VERSION"}
NO_DEFAULT = object()
# Filled in at start when not given, so a fallback at the point of use never applies.
FILLED_AT_START = {"SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "JOBS"}


def _is_config(node) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "config") or (
        isinstance(node, ast.Name) and node.id in ("config", "cfg"))


def _reads(path: Path):
    """(key, default expression or NO_DEFAULT) for each ``config[...]`` / ``config.get(...)``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Subscript) and _is_config(node.value)
                and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
            yield node.slice.value, NO_DEFAULT
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "get"
                    and _is_config(node.func.value))
                   or (isinstance(node.func, ast.Name) and node.func.id == "_config_int"))):
            yield node.args[0].value, node.args[1] if len(node.args) > 1 else NO_DEFAULT


def _value(module, expression):
    try:
        return ast.literal_eval(expression)
    except ValueError:
        if isinstance(expression, ast.Name):
            return getattr(module, expression.id)
        raise


def test_every_setting_the_code_reads_is_declared_with_the_same_default():
    undeclared, differing = [], []
    for path in sorted((ROOT / "sdd_crm").rglob("*.py")):
        if path in (ROOT / "sdd_crm" / "config.py", ROOT / "sdd_crm" / "production.py"):
            continue
        module = None
        for key, default in _reads(path):
            if key in NOT_SETTINGS or not key.isupper():
                continue
            if key not in SETTINGS.fields:
                undeclared.append(f"{path.relative_to(ROOT)}: {key}")
            elif default is not NO_DEFAULT and key not in FILLED_AT_START:
                name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                module = module or importlib.import_module(name.removesuffix(".__init__"))
                if _value(module, default) != DEFAULTS[key]:
                    differing.append(f"{path.relative_to(ROOT)}: {key}")
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for key in re.findall(r"\bconfig\.([A-Z][A-Z0-9_]+)", path.read_text(encoding="utf-8")):
            if key not in SETTINGS.fields and key not in NOT_SETTINGS:
                undeclared.append(f"{path.relative_to(ROOT)}: {key}")
    assert not undeclared, "declare these in sdd_crm/config.py Settings: " + ", ".join(undeclared)
    assert not differing, "a fallback differs from the declared default: " + ", ".join(differing)


def test_the_readme_table_is_the_declared_settings():
    """README "Configuration" holds exactly ``python -m sdd_crm.config``'s table."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    table = config_module.markdown_table()
    assert table in section, ("the README's configuration table is out of date: paste the output "
                              "of `.venv/bin/python -m sdd_crm.config`")
    named = re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.MULTILINE)
    assert sorted(named) == sorted(config_module.env_name(n) for n in SETTINGS.fields)
