"""Access-log masking: no secret and no searched personal data in a log line.

The access logs of Werkzeug's development server (logger ``werkzeug``) and of gunicorn
(``gunicorn.access``) write each request line. Two kinds of URL would put what must not be kept
there: the personal calendar feed, whose secret is the key in the path
(``/tasks/calendar/<secret>.ics``), and searches and filters whose values are names or e-mail
addresses (``/contacts/?q=Jansen``). :class:`AccessLogMask` rewrites every message of those
loggers (and of the application's own) before any handler sees it: the feed secret and the
values of the parameters in :data:`MASKED_PARAMETERS` become ``***``, also when they sit
URL-encoded inside another parameter (``/login?next=%2Fcontacts%2F%3Fq%3DJansen``) or in the
referrer that gunicorn's format may add.

Gunicorn: the filter is installed when the application is created, in the worker (or in the
master with ``--preload``); any access-log format is masked, the default one (with referrer)
included, e.g. ``gunicorn --access-logfile - --access-logformat
'%(h)s %(t)s "%(r)s" %(s)s %(b)s %(L)s' wsgi:app``. The mask recognises a parameter by its
``name=`` (after ``?``, ``&``, a space or a quote, or at the start of a bare query string) and
the feed secret by its ``/calendar/….ics`` path.

Every line our own handlers write (:mod:`sdd_crm.logs`: the JSON or text formatter on the root
logger, and on gunicorn's handlers) is masked further by :func:`mask_line`: e-mail addresses
(also URL-encoded), phone numbers and API tokens are replaced wherever they appear, in the
message, the extra fields and a traceback alike. That mask sits in the handlers' formatters,
not on loggers, so it covers every logger whose records reach them, child loggers such as
``sdd_crm.jobs.schedule`` included (a filter on a logger does not see its children's records),
and it does not change the record that other handlers (pytest's ``caplog``) receive.
"""

from __future__ import annotations

import logging
import re

MASK = "***"

# Query parameters whose values are secrets or may name a person.
MASKED_PARAMETERS = ("q", "query", "search", "zoek", "email", "e-mail", "mail", "name",
                     "first_name", "last_name", "phone", "token", "secret", "password",
                     "access_token", "api_key", "code")

# A separator before a parameter name: ?, & or ; as typed, or percent-encoded once or more
# (%3F, %253F, %26 ...) when the URL sits inside another parameter; or the start of a bare
# query string (gunicorn's %(q)s atom), after a space or a quote.
_SEP = r"(?:[?&;\s\"]|^|%(?:25)*3[fF]|%(?:25)*26)"
_EQ = r"(?:=|%(?:25)*3[dD])"
_END = r"(?=[&#\s\"]|%(?:25)*26|$)"
_PARAMETER = re.compile(
    rf"({_SEP}(?:{'|'.join(re.escape(p) for p in MASKED_PARAMETERS)}){_EQ})"
    rf"(?:(?!%(?:25)*26)[^&#\s\"])*?{_END}",
    re.IGNORECASE)
# The calendar feed's secret is the last path segment: /tasks/calendar/<secret>.ics
_FEED = re.compile(r"(/calendar/)[^/?#\s\"]+?(\.ics)", re.IGNORECASE)

LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error", "sdd_crm", "sdd_crm.security",
           "sdd_crm.transaction")


# Contact details and secrets in any line. An e-mail address, also with its @ percent-encoded
# (``piet%40example.nl`` in a logged URL).
_EMAIL = re.compile(
    r"[A-Za-z0-9._%+-]+(?:@|%(?:25)*40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A phone number: international (+31 6 12345678, 0031-78-1234567, +44 20 7946 0958) or Dutch
# national (078-1234567, 06 12345678, 0612345678: 0 and nine more digits). Not a decimal
# (0.123456789), nor digits inside a word, an id or a date.
_PHONE = re.compile(
    r"(?<![\w+.%/-])(?:(?:\+|00)[1-9]\d{0,2}[\s-]?(?:\(0\)[\s-]?)?(?:\d[\s-]?){6,11}\d"
    r"|0(?:[\s-]?\d){9})(?![\w-])")
# Our API tokens (``sdd_`` + 43 characters of ``secrets.token_urlsafe(32)``, sdd_crm/auth).
_TOKEN = re.compile(r"\bsdd_[A-Za-z0-9_-]{16,}")


def mask_line(text: str) -> str:
    """:func:`mask`, and every e-mail address, phone number and API token replaced."""
    text = mask(text)
    text = _EMAIL.sub(MASK, text)
    text = _TOKEN.sub(MASK, text)
    return _PHONE.sub(MASK, text)


def mask(text: str) -> str:
    """``text`` with the calendar-feed secret and the masked parameters' values replaced."""
    text = _FEED.sub(rf"\g<1>{MASK}\g<2>", text)
    return _PARAMETER.sub(rf"\g<1>{MASK}", text)


class AccessLogMask(logging.Filter):
    """Masks a record's message (see :func:`mask`); never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record: logging reports it itself
            return True
        masked = mask(message)
        if masked != message:
            if isinstance(record.args, dict) and "{x-request-id}o" in record.args:
                # gunicorn's atoms go with the args: keep the request id (sdd_crm/logs.py).
                record.request_id = str(record.args["{x-request-id}o"])
            record.msg, record.args = masked, ()
        return True


def install(extra_loggers: tuple[str, ...] = ()) -> None:
    """Put one :class:`AccessLogMask` on each access logger (idempotent)."""
    for name in LOGGERS + tuple(extra_loggers):
        logger = logging.getLogger(name)
        if not any(isinstance(f, AccessLogMask) for f in logger.filters):
            logger.addFilter(AccessLogMask())
