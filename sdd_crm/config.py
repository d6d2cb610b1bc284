"""Configuration: safe defaults, then the instance folder, then the environment.

Embedded default: SQLite in the instance folder and background jobs on an in-process queue
(fakeredis) worked by a thread of the web process, so one machine and one command serve a small
team. Production sets ``DATABASE_URL`` (PostgreSQL) and ``REDIS_URL`` (Redis with RQ workers).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

ENV_PREFIX = "SDD_CRM_"


class DefaultConfig:
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False
    # Flask's defaults are not production-safe (FACTS.md): harden the session cookie.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "sdd_crm_session"
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Server-side sessions (sdd_crm/auth/sessions.py): signed out after this long without a
    # request, and this long after signing in whatever happens. The signed cookie itself never
    # outlives the absolute limit (PERMANENT_SESSION_LIFETIME is capped to it in load_config).
    SESSION_IDLE_MINUTES = 30
    SESSION_ABSOLUTE_HOURS = 12
    PERMANENT_SESSION_LIFETIME = dt.timedelta(hours=12)
    MAX_CONTENT_LENGTH = 50 * 1024 * 1024
    # An uploaded .xlsx is refused, from its zip directory alone, when its parts unpack to more
    # than this in all, or a part over 1 MB unpacks to more than this many times its packed size
    # (zip bombs; sdd_crm/imports/reading.py).
    IMPORT_MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
    IMPORT_MAX_ZIP_RATIO = 100
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    BABEL_DEFAULT_LOCALE = "nl"
    BABEL_DEFAULT_TIMEZONE = "Europe/Amsterdam"
    LANGUAGES = ("nl", "en")
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Behind a reverse proxy: trust this many X-Forwarded-* hops (client address for throttling).
    PROXY_FIX_HOPS = 0
    # Failed logins per address and per account; ";" separates limits that all apply.
    LOGIN_FAILURE_LIMIT = "10 per minute;100 per hour"
    # A growing wait after failed logins of one account (sdd_crm/auth/login_delay.py): none for
    # the first few, then 2, 4, 8, ... seconds up to the maximum; failures older than the window
    # no longer count, a successful login starts again. Never a lock-out of the right password.
    LOGIN_DELAY_FREE_FAILURES = 3
    LOGIN_DELAY_MAX_SECONDS = 60
    LOGIN_DELAY_WINDOW = dt.timedelta(hours=1)
    # Roles that must use two-factor authentication (TOTP); everyone else may (DESIGN 2).
    TWO_FACTOR_REQUIRED_ROLES = ("admin",)
    # How long the code step may follow an accepted password.
    TWO_FACTOR_PENDING_SECONDS = 300
    # Invalid (or empty) API bearer tokens per client address; then 429, even for a good token.
    API_TOKEN_FAILURE_LIMIT = "20 per minute;200 per hour"
    PAGE_SIZE = 50
    # An account without a contact moment for this many months needs attention (issue 3).
    ATTENTION_MONTHS = 6
    # GDPR storage limitation (art. 5(1)(e)): contacts without any activity for this many months
    # are listed for an admin to confirm their anonymisation (sdd_crm/privacy/retention.py).
    RETENTION_MONTHS = 24
    # The bin (Prullenbak): deleted records are purged for good this many days after their
    # deletion (sdd_crm/admin/purge.py; nightly, see sdd_crm/jobs/schedule.py).
    BIN_RETENTION_DAYS = 60
    # Periodic work (sdd_crm/jobs/schedule.py) in the embedded worker thread: None = on, except
    # in tests; how often it looks what is due.
    SCHEDULE_ENABLED = None
    SCHEDULE_TICK_SECONDS = 60
    API_MAX_PAGE_SIZE = 200
    RQ_QUEUES = ["default"]
    # The reference CSVs (municipalities, places, SBI focus codes) ship with the project.
    REFERENCE_DIR = str(Path(__file__).parent / "reference" / "data")


def load_config(app, config: dict | None = None) -> None:
    """Fill ``app.config``: defaults < instance/config.py < environment < explicit ``config``."""
    app.config.from_object(DefaultConfig)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env(ENV_PREFIX.rstrip("_"))

    env = os.environ
    if env.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(env["DATABASE_URL"])
    if env.get("REDIS_URL"):
        app.config["REDIS_URL"] = env["REDIS_URL"]
    if config:
        app.config.update(config)

    app.config.setdefault(
        "SQLALCHEMY_DATABASE_URI",
        "sqlite:///" + os.path.join(app.instance_path, "sdd_crm.sqlite3"),
    )
    app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(app.config["SQLALCHEMY_DATABASE_URI"])

    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        app.config.setdefault("RQ_CONNECTION", redis_url)
        # Login throttling must be shared by every web process: keep its counters in Redis.
        if app.config["RATELIMIT_STORAGE_URI"] == "memory://" and not app.testing:
            app.config["RATELIMIT_STORAGE_URI"] = redis_url
    _configure_jobs(app, redis_url)

    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)
    _cap_cookie_lifetime(app)


def _cap_cookie_lifetime(app) -> None:
    """The signed session cookie is accepted at most SESSION_ABSOLUTE_HOURS after it was signed."""
    absolute = dt.timedelta(hours=float(app.config["SESSION_ABSOLUTE_HOURS"]))
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    if not isinstance(lifetime, dt.timedelta):
        lifetime = dt.timedelta(seconds=int(lifetime))
    app.config["PERMANENT_SESSION_LIFETIME"] = min(lifetime, absolute)


JOB_MODES = ("inline", "thread", "redis")


def _configure_jobs(app, redis_url: str | None) -> None:
    """Where background jobs run (``JOBS``, env ``SDD_CRM_JOBS``); see :mod:`sdd_crm.jobs`.

    * ``redis`` (the default with ``REDIS_URL``): on Redis, run by ``flask rq worker`` processes;
    * ``thread`` (the default without): an in-process queue on fakeredis, worked by a thread of
      the web process (:mod:`sdd_crm.jobs.worker`), so a request answers at once;
    * ``inline`` (the default for tests): RQ runs each job right after the commit that enqueued
      it, before the request returns.
    """
    mode = str(app.config.get("JOBS") or "").lower() or (
        "redis" if redis_url else "inline" if app.testing else "thread")
    if mode not in JOB_MODES:
        raise RuntimeError(f"JOBS must be one of {', '.join(JOB_MODES)}, not {mode!r}")
    if mode == "redis" and not redis_url:
        raise RuntimeError("JOBS = 'redis' needs REDIS_URL")
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
    """A secret key kept in the instance folder (created once, never in the repository)."""
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
