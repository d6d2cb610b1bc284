"""Configuration: every setting declared once, read and checked once when the app is created.

Embedded default: SQLite in the instance folder and background jobs on an in-process queue
(fakeredis) worked by a thread of the web process, so one machine and one command serve a small
team. Production sets ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` (Redis with RQ workers).

:class:`Settings` (a marshmallow schema, the library the API already uses for the same job) is
the single list of what the app reads: name, type, default and meaning. The README table is
generated from it (``python -m sdd_crm.config``) and tests/test_config_checks.py keeps the two,
and every ``config[...]`` read in the code, in step with it. Values come, in increasing
priority, from the defaults below, ``instance/config.py``, ``SDD_CRM_<NAME>`` environment
variables (JSON-parsed by Flask, e.g. ``30``, ``true``, ``["admin"]``), ``DATABASE_URL`` /
``REDIS_URL``, and the ``config`` passed to ``create_app()``. A bad value stops the start with
one :class:`ConfigError` naming each bad setting as the operator wrote it. The refusals of
production mode (``SDD_CRM_PRODUCTION=true``) are in :mod:`sdd_crm.production`.

Operator messages are Dutch, as the CLI's are; the README lists them in English.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import json
import logging
import os
import secrets
from pathlib import Path

from marshmallow import Schema, ValidationError, fields

from .config_fields import (
    boolean,
    choice,
    database_url,
    integer,
    mapping,
    names,
    number,
    rate_limits,
    redis_url,
    seconds,
    string,
    time_zone,
)
from .production import refusals

ENV_PREFIX = "SDD_CRM_"
JOB_MODES = ("inline", "thread", "redis")
logger = logging.getLogger(__name__)

# Read by the test suite, CI and the benchmarks straight from the environment, never by the app.
IGNORED_VARIABLES = frozenset({
    "SDD_CRM_REQUIRE_SERVICES", "SDD_CRM_BROWSER_TESTS", "SDD_CRM_CHROMIUM",
    "SDD_CRM_LOAD_PLAN", "SDD_CRM_LOAD_RESULTS"})
# Settings of the extensions that the app leaves at their defaults: they pass through unchecked
# (a Flask setting such as SDD_CRM_SERVER_NAME too, see _unknown_variables).
EXTENSION_PREFIXES = ("SQLALCHEMY_", "RATELIMIT_", "WTF_", "BABEL_", "RQ_", "REMEMBER_COOKIE_",
                      "OPENAPI_", "API_SPEC_", "API_TITLE", "API_VERSION")


class ConfigError(RuntimeError):
    """The configuration is wrong: the app does not start. One line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("De configuratie is onjuist; de app start niet:\n  "
                         + "\n  ".join(problems))


TIMEOUT = "Time limit of the job that %s (seconds); the job fails after it."


class Settings(Schema):
    """Every setting the app reads, in the order of the README table."""

    # Deployment
    PRODUCTION = boolean(False, "Production mode: refuse to start with a missing or weak secret "
                         "key, SQLite on a network file system, cookies not marked Secure, or "
                         "an unknown `SDD_CRM_*` variable (see Production deployment).")
    SECRET_KEY = string(None, "Signs sessions and CSRF tokens; at least 32 random characters. "
                        "Required in production.", secret=True,
                        default_doc="generated once into `instance/secret_key` (not in production)")
    SQLALCHEMY_DATABASE_URI = database_url(
        "SQLAlchemy URL of the database; `postgresql://…` uses psycopg 3.", env="DATABASE_URL",
        default_doc="SQLite in `instance/sdd_crm.sqlite3`")
    REDIS_URL = redis_url("Redis for background jobs (RQ) and the login throttle's counters.",
                          env="REDIS_URL",
                          default_doc="none: jobs run in a thread of the web process")
    JOBS = choice(None, "Where background jobs run (see Architecture).", JOB_MODES,
                  default_doc="`redis` with `REDIS_URL`, else `thread` (`inline` in tests)")
    PROXY_FIX_HOPS = integer(0, "Trusted reverse proxies in front (X-Forwarded-For/-Proto/-Host); "
                             "1 behind the nginx of `deploy/`.")
    BASE_URL = string("", "Public address of the app, for links in e-mails; the \"forgot "
                      "password\" link needs it (and `MAIL_SERVER`).")
    # Sessions and cookies
    SESSION_COOKIE_SECURE = boolean(True, "Send the session cookie over HTTPS only (`make run` "
                                    "sets `false` for plain-HTTP localhost).")
    REMEMBER_COOKIE_SECURE = boolean(True, "The same for the remember-me cookie.")
    SESSION_COOKIE_HTTPONLY = boolean(True, "Keep the session cookie from scripts.")
    REMEMBER_COOKIE_HTTPONLY = boolean(True, "Keep the remember-me cookie from scripts.")
    SESSION_COOKIE_SAMESITE = choice("Lax", "SameSite of the session cookie.", ("Lax", "Strict"))
    REMEMBER_COOKIE_SAMESITE = choice("Lax", "SameSite of the remember-me cookie.",
                                      ("Lax", "Strict"))
    SESSION_COOKIE_NAME = string("sdd_crm_session", "Name of the session cookie.")
    SESSION_IDLE_MINUTES = integer(30, "A session ends after this many minutes without a "
                                   "request.", minimum=1)
    SESSION_ABSOLUTE_HOURS = integer(12, "A session ends this many hours after signing in.",
                                     minimum=1)
    PERMANENT_SESSION_LIFETIME = seconds(
        dt.timedelta(hours=12), "Lifetime of the signed session cookie; never longer than "
        "`SESSION_ABSOLUTE_HOURS`.", default_doc="`43200` (12 hours)")
    WTF_CSRF_TIME_LIMIT = integer(8 * 3600, "How long a form's CSRF token stays valid (seconds).",
                                  minimum=1)
    # Sign-in protection
    LOGIN_FAILURE_LIMIT = rate_limits("10 per minute;100 per hour", "Failed logins allowed per "
                                 "account and per address (`;` separates limits that all apply); "
                                 "then 429 with `Retry-After`, also for the right password.")
    LOGIN_DELAY_FREE_FAILURES = integer(3, "Failed logins of one account before a wait of 2, 4, "
                                        "8 … seconds (never a lock-out).")
    LOGIN_DELAY_MAX_SECONDS = integer(60, "The longest such wait.")
    LOGIN_DELAY_WINDOW = seconds(dt.timedelta(hours=1), "Failures older than this no longer "
                                 "count towards the wait.", default_doc="`3600` (1 hour)")
    TWO_FACTOR_REQUIRED_ROLES = names(("admin",), "Roles that must use two-factor "
                                      "authentication (TOTP); everyone else may.")
    TWO_FACTOR_PENDING_SECONDS = integer(300, "How long the code step may follow an accepted "
                                         "password.", minimum=1)
    PASSWORD_RESET_MINUTES = integer(60, "How long a \"forgot password\" link works (minutes); "
                                     "it works once, and no longer once the password changed.",
                                     minimum=1, maximum=24 * 60)
    PASSWORD_RESET_LIMIT = rate_limits("5 per hour;20 per day", "\"Forgot password\" requests "
                                       "allowed per e-mail address, known or not (per client "
                                       "address `LOGIN_FAILURE_LIMIT` applies); then 429.")
    API_TOKEN_FAILURE_LIMIT = rate_limits("20 per minute;200 per hour", "Invalid API bearer tokens "
                                     "allowed per client address; then 429 for every token from "
                                     "it until the window passes.")
    RATELIMIT_ENABLED = boolean(True, "The login and token throttles (off only for a security "
                                "scan, `scripts/security_sqlmap.py`).")
    RATELIMIT_STORAGE_URI = string("memory://", "Where the throttles count.",
                                   default_doc="`memory://`; `REDIS_URL` when set")
    RATELIMIT_HEADERS_ENABLED = boolean(True, "Send `X-RateLimit-*` and `Retry-After` headers.")
    # Uploads, imports, exports
    MAX_CONTENT_LENGTH = integer(50 * 1024 * 1024, "Largest request body (bytes); nginx's "
                                 "`client_max_body_size` must match.", minimum=1,
                                 default_doc="`52428800` (50 MB)")
    IMPORT_MAX_BYTES = integer(50 * 1024 * 1024, "Largest file an import accepts (bytes).",
                               minimum=1, default_doc="`52428800` (50 MB)")
    IMPORT_MAX_UNZIPPED_BYTES = integer(200 * 1024 * 1024, "An `.xlsx` whose parts unpack to "
                                        "more than this in all is refused (zip bomb).", minimum=1,
                                        default_doc="`209715200` (200 MB)")
    IMPORT_MAX_ZIP_RATIO = integer(100, "…or whose part over 1 MB unpacks to more than this many "
                                   "times its packed size.", minimum=1)
    IMPORT_UNDO_DAYS = integer(30, "How many days after an import an admin may undo it (its new "
                               "organisations deleted, the fields it changed restored).",
                               minimum=0)
    EXPORT_DIRECT_MAX_ROWS = integer(5000, "Larger list exports go through a background job.")
    DUPLICATE_NAME_THRESHOLD = integer(85, "Name similarity (0–100) from which two organisations "
                                       "at one address are likely duplicates.", maximum=100)
    # Lists and language
    PAGE_SIZE = integer(50, "Rows per list page.", minimum=1)
    API_MAX_PAGE_SIZE = integer(200, "Largest `per_page` the API accepts.", minimum=1)
    BABEL_DEFAULT_LOCALE = choice("nl", "Language of the interface when the browser asks for "
                                  "none we have.", ("nl", "en"))
    BABEL_DEFAULT_TIMEZONE = time_zone("Europe/Amsterdam", "Time zone of dates shown and exported.")
    LANGUAGES = names(("nl", "en"), "Languages a user may choose.")
    # Records and retention
    ATTENTION_MONTHS = integer(6, "An account without a contact moment this long needs "
                               "attention.", minimum=1)
    RETENTION_MONTHS = integer(24, "Contacts without any activity this long are listed for an "
                               "admin to confirm their anonymisation (GDPR).", minimum=1)
    BIN_RETENTION_DAYS = integer(60, "Deleted records stay in the bin (Prullenbak) this long, "
                                 "then the nightly purge removes them.", minimum=1)
    JOB_FILE_RETENTION_DAYS = integer(14, "Uploaded and exported job files are purged after this "
                                      "many days.", minimum=1)
    CRITICALITY_AUTO_RECOMPUTE = boolean(True, "Recompute critical companies after a change to "
                                         "the value chains.")
    CRITICALITY_RECOMPUTE_DELAY = number(
        None, "Seconds an automatic recompute after a change in the web or the API waits for "
        "more changes (they are computed together).", default_doc="`15`; `0` when jobs run at once (`inline`)")
    # Background jobs and the schedule
    RQ_QUEUES = names(("default",), "The RQ queues.")
    SCHEDULE_ENABLED = boolean(None, "The periodic work in the embedded worker thread.",
                               default_doc="on, except in tests")
    SCHEDULE_TICK_SECONDS = number(60, "How often the embedded worker looks what is due.")
    JOB_ALIVE_SECONDS = number(30, "A running job whose worker has not said it is alive for this "
                               "many seconds is taken as dead, and retried or failed.", minimum=1)
    IMPORT_JOB_TIMEOUT = integer(3600, TIMEOUT % "imports a file", minimum=1)
    EXPORT_JOB_TIMEOUT = integer(1800, TIMEOUT % "exports a list", minimum=1)
    PROGRAMME_EXPORT_JOB_TIMEOUT = integer(900, TIMEOUT % "exports a programme's workbook",
                                           minimum=1)
    CRITICALITY_JOB_TIMEOUT = integer(1800, TIMEOUT % "recomputes critical companies", minimum=1)
    BIN_PURGE_JOB_TIMEOUT = integer(3600, TIMEOUT % "purges the bin", minimum=1)
    RETENTION_JOB_TIMEOUT = integer(1800, TIMEOUT % "runs the GDPR retention", minimum=1)
    NOTIFICATION_JOB_TIMEOUT = integer(600, TIMEOUT % "sends notification e-mails", minimum=1)
    # Health and logs
    LOG_FORMAT = choice(None, "Log lines as JSON (for a collector) or as text.", ("json", "text"),
                        default_doc="`json`; `text` in tests and debug mode")
    LOG_LEVEL = choice("INFO", "Level of the app's own loggers (security events are INFO).",
                       ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
    HEALTH_WORKER_MAX_AGE = number(480, "`/healthz` reports the workers down when none has sent "
                                   "a heartbeat for this many seconds.", minimum=1)
    HEALTH_SCHEDULER_MAX_AGE = number(120, "…and the scheduler when it has sent none for this "
                                      "many seconds.", minimum=1)
    # E-mail
    MAIL_SERVER = string("", "SMTP server; empty: notifications stay in the app, no daily "
                         "digest, no \"forgot password\".")
    MAIL_PORT = integer(25, "SMTP port.", minimum=1, maximum=65535)
    MAIL_USE_TLS = boolean(False, "STARTTLS.")
    MAIL_USE_SSL = boolean(False, "SMTP over TLS.")
    MAIL_USERNAME = string("", "SMTP login; empty: none.")
    MAIL_PASSWORD = string("", "SMTP password.", secret=True)
    MAIL_FROM = string("sdd-crm@localhost", "Sender address.")
    # Internals
    SQLALCHEMY_ENGINE_OPTIONS = mapping({"pool_pre_ping": True}, "Options of the database "
                                        "engine (e.g. `pool_size`).")
    SQLALCHEMY_RECORD_QUERIES = boolean(False, "Record queries (tests count them).")
    REFERENCE_DIR = string(str(Path(__file__).parent / "reference" / "data"),
                           "The reference CSVs (municipalities, places, SBI codes).",
                           default_doc="`sdd_crm/reference/data`")


SETTINGS = Settings()
DEFAULTS = {name: field.load_default for name, field in SETTINGS.fields.items()}
# The defaults as attributes, for code and tests that read one as ``DefaultConfig.NAME``.
DefaultConfig = type("DefaultConfig", (), copy.deepcopy(DEFAULTS))


def env_name(name: str) -> str:
    """The environment variable that sets ``name``."""
    return SETTINGS.fields[name].metadata.get("env", ENV_PREFIX + name)


def load_config(app, config: dict | None = None) -> None:
    """Fill ``app.config``: defaults < instance/config.py < environment < explicit ``config``,
    then check every declared setting once (:class:`ConfigError` on a bad one)."""
    app.config.update(copy.deepcopy(DEFAULTS))
    before = dict(app.config)
    app.config.from_pyfile("config.py", silent=True)
    from_file = {k for k, v in app.config.items() if k not in before or before[k] is not v}
    app.config.from_prefixed_env(ENV_PREFIX.rstrip("_"))
    env = os.environ
    for name, field in SETTINGS.fields.items():
        # Flask parses SDD_CRM_* as JSON: a password "12345" would become a number. A text
        # setting takes the variable as written.
        if isinstance(field, fields.String) and ENV_PREFIX + name in env:
            app.config[name] = env[ENV_PREFIX + name]
    if env.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = env["DATABASE_URL"]
    if env.get("REDIS_URL"):
        app.config["REDIS_URL"] = env["REDIS_URL"]
    if config:
        app.config.update(config)

    labels = {name: _label(name, from_file, config or {}) for name in SETTINGS.fields}
    _check(app, labels)
    unknown = _unknown_variables(app)
    problems = refusals(app, labels, unknown) if app.config["PRODUCTION"] else []
    if problems:
        raise ConfigError(problems)
    for message in unknown:
        logger.warning("%s", message)

    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            "sqlite:///" + os.path.join(app.instance_path, "sdd_crm.sqlite3"))
    app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(app.config["SQLALCHEMY_DATABASE_URI"])
    redis_url = app.config["REDIS_URL"]
    if redis_url:
        app.config.setdefault("RQ_CONNECTION", redis_url)
        # Login throttling must be shared by every web process: keep its counters in Redis.
        if app.config["RATELIMIT_STORAGE_URI"] == "memory://" and not app.testing:
            app.config["RATELIMIT_STORAGE_URI"] = redis_url
    _configure_jobs(app, redis_url, labels["JOBS"])

    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)
    _cap_cookie_lifetime(app)


def _label(name: str, from_file: set, explicit: dict) -> str:
    """How the operator wrote the setting, for an error message."""
    if name in explicit:
        return name
    for var in (env_name(name), ENV_PREFIX + name):
        if var in os.environ:
            return var
    # Not given at all: name the variable that would set it.
    return f"{name} (instance/config.py)" if name in from_file else env_name(name)


def _check(app, labels: dict) -> None:
    """Type every declared setting in place; all bad ones in one error."""
    data = {name: app.config[name] for name in SETTINGS.fields}
    try:
        app.config.update(SETTINGS.load(data))
    except ValidationError as exc:
        problems = []
        for name, messages in sorted(exc.normalized_messages().items(),
                                     key=lambda item: list(SETTINGS.fields).index(item[0])):
            message = "; ".join(_flatten(messages))
            secret = SETTINGS.fields[name].metadata.get("secret")
            shown = "(verborgen)" if secret else repr(data[name])
            problems.append(f"{labels[name]}: {message}, kreeg {shown}")
        raise ConfigError(problems) from None


def _flatten(messages) -> list[str]:
    """marshmallow's messages (a list, or a dict per list item) as one list."""
    if isinstance(messages, dict):
        messages = list(messages.values())
    if isinstance(messages, list):
        return [m for value in messages for m in _flatten(value)]
    return [str(messages)]


def _unknown_variables(app) -> list[str]:
    """``SDD_CRM_*`` variables that set nothing the app or its extensions know: usually a typo."""
    known = set(SETTINGS.fields) | set(app.default_config)
    unknown = []
    for var in sorted(os.environ):
        if not var.startswith(ENV_PREFIX) or var in IGNORED_VARIABLES:
            continue
        key = var[len(ENV_PREFIX):].split("__")[0]
        if key in known or key.startswith(EXTENSION_PREFIXES):
            continue
        close = difflib.get_close_matches(key, SETTINGS.fields, n=1)
        hint = f" (bedoelt u {ENV_PREFIX}{close[0]}?)" if close else ""
        unknown.append(f"{var}: onbekende instelling{hint}; "
                       "zie de tabel Configuration in README.md")
    return unknown


def _cap_cookie_lifetime(app) -> None:
    """The signed session cookie is accepted at most SESSION_ABSOLUTE_HOURS after it was signed."""
    absolute = dt.timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"])
    app.config["PERMANENT_SESSION_LIFETIME"] = min(app.config["PERMANENT_SESSION_LIFETIME"],
                                                   absolute)


def _configure_jobs(app, redis_url: str | None, label: str) -> None:
    """Where background jobs run (``JOBS``, env ``SDD_CRM_JOBS``); see :mod:`sdd_crm.jobs`.

    * ``redis`` (the default with ``REDIS_URL``): on Redis, run by ``flask rq worker`` processes;
    * ``thread`` (the default without): an in-process queue on fakeredis, worked by a thread of
      the web process (:mod:`sdd_crm.jobs.worker`), so a request answers at once;
    * ``inline`` (the default for tests): RQ runs each job right after the commit that enqueued
      it, before the request returns.
    """
    mode = app.config["JOBS"] or ("redis" if redis_url else "inline" if app.testing else "thread")
    if mode == "redis" and not redis_url:
        raise ConfigError([f"{label}: 'redis' vraagt om REDIS_URL; zet REDIS_URL of kies 'thread'"])
    app.config["JOBS"] = mode
    if mode == "thread":
        app.config.setdefault("RQ_ASYNC", True)
    elif mode == "inline":
        app.config.setdefault("RQ_ASYNC", False)
    if not redis_url:
        # RQ needs a Redis connection even when nothing leaves the process: fakeredis, with a
        # server of this app's own for the thread worker (one per app, shared by its threads).
        import fakeredis

        app.config.setdefault("RQ_CONNECTION_CLASS", "fakeredis.FakeRedis")
        app.config.setdefault("RQ_CONNECTION",
                              {"server": fakeredis.FakeServer()} if mode == "thread" else {})


def _normalise_db_url(url: str) -> str:
    # Heroku-style URLs and plain postgresql:// select psycopg 3, the driver we install.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _instance_secret(instance_path: str) -> str:
    """A secret key kept in the instance folder (created once, never in the repository).

    Only outside production: there every web machine must share one key, given by the operator.
    """
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def markdown_table() -> str:
    """The README's configuration table, generated from :class:`Settings`."""
    rows = ["| variable | type | default | meaning |", "| --- | --- | --- | --- |"]
    for name, field in SETTINGS.fields.items():
        meta = field.metadata
        rows.append(f"| `{env_name(name)}` | {meta['kind']} | "
                    f"{meta.get('default_doc') or _shown(field.load_default)} | {meta['doc']} |")
    return "\n".join(rows)


def _shown(value) -> str:
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, (tuple, dict)):
        return f"`{json.dumps(list(value) if isinstance(value, tuple) else value)}`"
    return f"`{value}`"


if __name__ == "__main__":
    print(markdown_table())
