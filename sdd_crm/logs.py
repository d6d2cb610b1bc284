"""Logs as JSON lines, with a request id (issue 13, point 4).

:func:`init_app` (called by the app factory) puts one handler on the *root* logger, writing to
standard error: every logger's records reach it — the application's own (``sdd_crm`` and its
children: ``sdd_crm.security``, ``sdd_crm.jobs.schedule``, ...), the development server's
access log (``werkzeug``) and RQ's worker log (``rq.worker``; RQ adds no handler of its own when
one is there). Under gunicorn, whose loggers do not propagate, its own handlers
(``gunicorn.error``, ``gunicorn.access``) get the same formatter, so its access lines are JSON too.

Each line is one JSON object::

    {"time": "2026-12-07T10:41:26.123Z", "level": "INFO", "logger": "sdd_crm.security",
     "message": "login_succeeded address=10.0.0.1 user_id=7", "request_id": "4f0c…",
     "event": "login_succeeded", "address": "10.0.0.1", "user_id": 7}

``time`` in UTC, ``request_id`` null outside a request (or a job started by one, see
:func:`request_id_bound`), and the record's extra fields after them (``logger.info("…",
extra={"rows": 3})``); ``exception`` holds a traceback. Every value is masked
(:func:`sdd_crm.logmask.mask_line`): no e-mail address, phone number, API token, calendar-feed
secret or searched name reaches a line, from whichever logger; a field named like a secret
(``password``, ``token``, ...) is written as ``***``.

Settings: ``LOG_FORMAT`` (env ``SDD_CRM_LOG_FORMAT``) ``json`` or ``text``; by default ``json``,
but ``text`` under ``TESTING`` or ``DEBUG`` (a person reads those lines, a collector reads the
production ones). ``LOG_LEVEL`` (``SDD_CRM_LOG_LEVEL``), default ``INFO``: the level of the
``sdd_crm`` loggers, so the security events (logins, refusals) are written; other libraries keep
their own levels (the root's WARNING unless they set one).

The request id: ``X-Request-ID`` from the request when it is a safe token (letters, digits,
``-`` and ``_``, at most 64: a reverse proxy's ``$request_id`` is kept), else a new uuid4 hex.
It is set by the first ``before_request`` hook and cleared when the request ends (a context
variable: a line logged outside a request never carries a stale id), kept in
``flask.g.request_id``, and sent back in the ``X-Request-ID`` response header of every answer,
error pages included. The server's access line, written after the request has ended, gets it
too (gunicorn: from the response header among its atoms; Werkzeug: from the thread that served
it). A job records the id of the request that started it and logs under it with
:func:`request_id_bound`.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
import re
import sys
import uuid
from collections.abc import Iterator

from flask import Flask, g, request
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from .logmask import MASK, mask_line

HEADER = "X-Request-ID"
ENVIRON_KEY = "sdd_crm.request_id"
FORMATS = ("json", "text")
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Extra fields written as "***" whatever their value (a caller's slip must not leak a secret).
SECRET_FIELDS = re.compile(r"pass(word)?|secret|token|session_?id|cookie|authori[sz]ation|api_?key",
                           re.IGNORECASE)

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "sdd_crm_request_id", default=None)
# The id of the last request this thread (context) finished: for the server's access line.
_finished_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "sdd_crm_finished_request_id", default=None)
_TOKEN_KEY = "sdd_crm.request_id_token"


# --- the request id -----------------------------------------------------------------------------

def accepted_request_id(value: str | None) -> str | None:
    """``value`` when it is a safe request id (letters, digits, ``-``, ``_``; 1 to 64 of
    them), else None."""
    if value and _SAFE_ID.fullmatch(value):
        return value
    return None


def current_request_id() -> str | None:
    """The id of the request being served, or of the request that started the running job."""
    return _request_id.get()


@contextlib.contextmanager
def request_id_bound(request_id: str | None) -> Iterator[str | None]:
    """Log under ``request_id`` inside the block (a job run with the id of the request that
    started it: ``with request_id_bound(job.request_id): ...``). An unsafe id is dropped."""
    token = _request_id.set(accepted_request_id(request_id))
    try:
        yield _request_id.get()
    finally:
        _request_id.reset(token)


def _begin_request() -> None:
    """The request's id: the client's (or proxy's) when safe, else a new one; in ``g``, in the
    request's environ (what teardown needs outlives ``g``) and in the context variable."""
    request_id = accepted_request_id(request.headers.get(HEADER)) or uuid.uuid4().hex
    g.request_id = request.environ[ENVIRON_KEY] = request_id
    request.environ[_TOKEN_KEY] = _request_id.set(request_id)


def _answer_with_id(response):
    request_id = request.environ.get(ENVIRON_KEY)
    if request_id:
        response.headers[HEADER] = request_id
    return response


def _end_request(_exc=None) -> None:
    token = request.environ.pop(_TOKEN_KEY, None)
    if token is None:
        return
    _finished_request_id.set(_request_id.get())
    try:
        _request_id.reset(token)
    except ValueError:  # ended in another context than it began: just clear it
        _request_id.set(None)


def _server_record_id(record: logging.LogRecord) -> str | None:
    """The id of a server's access line, written after the request has ended: gunicorn passes
    the response headers among its atoms; Werkzeug's development server writes it in the
    thread that served the request, right after."""
    if record.name == "gunicorn.access" and isinstance(record.args, dict):
        return accepted_request_id(record.args.get("{x-request-id}o"))
    if record.name == "werkzeug":
        return _finished_request_id.get()
    return None


def _record_request_id(record: logging.LogRecord) -> str | None:
    return (accepted_request_id(getattr(record, "request_id", None)) or current_request_id()
            or _server_record_id(record))


# --- formatters -----------------------------------------------------------------------------------

def _masked(key: str, value):
    if isinstance(value, str):
        return MASK if SECRET_FIELDS.search(key) else mask_line(value)
    if isinstance(value, dict):
        return {k: _masked(str(k), v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(key, v) for v in value]
    if value is not None and SECRET_FIELDS.search(key) \
            and not isinstance(value, (bool, int, float)):
        return MASK
    return value


def _utc_time(record: logging.LogRecord) -> str:
    stamp = dt.datetime.fromtimestamp(record.created, dt.UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(_JsonFormatter):
    """One JSON object per record: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``,
    ``request_id``, then the record's extra fields and ``exception``; every value masked."""

    def __init__(self):
        super().__init__(rename_fields={"exc_info": "exception", "stack_info": "stack"})

    def add_fields(self, log_data, record, message_dict):
        log_data["time"] = _utc_time(record)
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.message
        log_data["request_id"] = _record_request_id(record)
        extra: dict = {}
        super().add_fields(extra, record, message_dict)
        for key, value in extra.items():
            log_data.setdefault(key, value)  # an extra field never replaces the five above

    def process_log_record(self, log_data):
        # Masked field by field, before serialising: the mask never breaks the JSON.
        return {key: _masked(key, value) for key, value in log_data.items()}


class TextFormatter(logging.Formatter):
    """``time level logger [request id] message`` for a person to read (tests, ``flask run``);
    the whole line, traceback included, masked."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def formatTime(self, record, datefmt=None):
        return _utc_time(record)

    def formatMessage(self, record):
        request_id = _record_request_id(record) or "-"
        return self._fmt % {**record.__dict__, "request_id": request_id}

    def format(self, record):
        return mask_line(super().format(record))


def make_formatter(kind: str = "json") -> logging.Formatter:
    if kind not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {kind!r}")
    return JsonFormatter() if kind == "json" else TextFormatter()


# --- the handler -----------------------------------------------------------------------------

class StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the record (a test runner swaps it
    per test; a handler holding the first one would write into a closed stream)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def make_handler(kind: str = "json", stream=None) -> logging.Handler:
    """A handler writing masked lines in ``kind`` (``json``/``text``) to ``stream`` (standard
    error by default, looked up at each record)."""
    handler = StderrHandler() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(make_formatter(kind))
    return handler


_HANDLER_NAME = "sdd_crm"


def configured_format(app: Flask) -> str:
    """``LOG_FORMAT``, by default ``json``, or ``text`` under ``TESTING`` or ``DEBUG``."""
    kind = str(app.config.get("LOG_FORMAT") or "").strip().lower()
    return kind or ("text" if app.testing or app.debug else "json")


def configured_level(app: Flask) -> int:
    """``LOG_LEVEL`` (a name such as ``INFO`` or a number), by default INFO."""
    level = app.config.get("LOG_LEVEL") or "INFO"
    if isinstance(level, int):
        return level
    number = logging.getLevelName(str(level).strip().upper())
    if not isinstance(number, int):
        raise ValueError(f"LOG_LEVEL must be a level name such as INFO or DEBUG, not {level!r}")
    return number


def root_handler() -> logging.Handler | None:
    """The handler :func:`init_app` put on the root logger, if any."""
    return next((h for h in logging.getLogger().handlers if h.get_name() == _HANDLER_NAME), None)


def init_app(app: Flask) -> None:
    """Configure the process's logging from ``app``'s settings (idempotent: a second app, as in
    tests, reconfigures the same handler) and give every request an id."""
    from flask.logging import default_handler

    formatter = make_formatter(configured_format(app))
    handler = root_handler()
    if handler is None:
        handler = StderrHandler()
        handler.set_name(_HANDLER_NAME)
        logging.getLogger().addHandler(handler)
    handler.setFormatter(formatter)
    app_logger = logging.getLogger("sdd_crm")
    app_logger.setLevel(configured_level(app))
    app_logger.removeHandler(default_handler)  # Flask's own would print each line twice, as text
    for name in ("gunicorn.error", "gunicorn.access"):
        # Gunicorn's loggers do not propagate: their own handlers write the same format.
        for gunicorn_handler in logging.getLogger(name).handlers:
            gunicorn_handler.setFormatter(formatter)

    # First of the hooks (init_app runs before the other steps of the factory): every line of
    # the request carries its id, the other hooks' lines too.
    app.before_request(_begin_request)
    app.after_request(_answer_with_id)
    app.teardown_request(_end_request)
