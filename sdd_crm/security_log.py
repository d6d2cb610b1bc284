"""The security log ("sdd_crm.security"): logins, throttling, refused API tokens and refused
access.

Never a password or a token; an e-mail address only as a short keyed hash; anything the client
supplied has CR/LF and other control characters escaped so that it cannot forge log lines.

Each line's message reads ``<event> address=<client> key=value ...``; the same facts are the
record's extra fields (``event``, ``address``, ``user_id``, ...), so the JSON log
(:mod:`sdd_crm.logs`) can be searched by field. The ``sdd_crm`` loggers log at INFO by default
(``LOG_LEVEL``), so a successful login is written too, not only the failures.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

from flask import current_app, request

logger = logging.getLogger("sdd_crm.security")

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def clean(value) -> str:
    """``value`` on one line: CR, LF and other control characters escaped (``\\r``, ``\\x1b``)."""
    text = "" if value is None else str(value)
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)[:200]


def email_digest(email: str | None) -> str:
    """A short keyed hash of a normalised e-mail: the same account correlates, the address is not shown."""
    key = str(current_app.config.get("SECRET_KEY", "")).encode()
    normalised = (email or "").strip().lower().encode("utf-8", "replace")
    return hmac.new(key, normalised, hashlib.sha256).hexdigest()[:16]


def client_address() -> str:
    return clean(request.remote_addr or "-")


# LogRecord's own attributes: an extra field of that name would make logging raise.
_RECORD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _extra(name: str, fields: dict) -> dict:
    """The event's fields for the JSON log: numbers and flags as they are, text cleaned."""
    extra = {"event": name, "address": client_address()}
    for key, value in fields.items():
        if value is None:
            continue
        key = f"field_{key}" if key in _RECORD_ATTRIBUTES else key
        extra[key] = value if isinstance(value, (bool, int, float)) else clean(value)
    return extra


def refusal(status: int, reason: str) -> None:
    """Log a refused request (403, or the 404 that hides an existing record): who (user id),
    which endpoint and method, and why (``reason``: a short code). No path, no record id, no
    data of the record: the audit trail keeps which record it was (sdd_crm/errors.py)."""
    from .audit.listeners import _actor

    user_id, _source = _actor()
    endpoint = clean(request.endpoint or "-")
    logger.warning("access_refused address=%s user_id=%s method=%s endpoint=%s status=%s "
                   "reason=%s", client_address(), user_id if user_id is not None else "-",
                   clean(request.method), endpoint, status, clean(reason),
                   extra={"event": "access_refused", "address": client_address(),
                          "user_id": user_id, "method": clean(request.method),
                          "endpoint": endpoint, "status": status, "reason": clean(reason)})


# Security events in the audit trail: name → (action, result). Any other name is recorded
# under its own name, "failed"/"refused" when the name says so (labels: sdd_crm/audit/labels.py).
AUDIT_ACTIONS = {
    "login_succeeded": ("login", "success"),
    "login_failed": ("login", "failed"),
    "login_throttled": ("login_throttled", "refused"),
    "api_token_refused": ("token_refused", "refused"),
    "api_token_throttled": ("token_throttled", "refused"),
}


def _audit_result(name: str) -> str:
    if "fail" in name or "invalid" in name:
        return "failed"
    if any(word in name for word in ("refused", "throttled", "denied", "blocked", "locked")):
        return "refused"
    return "success"


def event(level: int, name: str, *, audit: bool = True, **fields) -> None:
    """Log a security event, and write it to the audit trail (kept even when the request's own
    transaction is rolled back). ``user_id`` names the account; never pass a password or token,
    and an e-mail address only as :func:`email_digest`. ``audit=False``: the log line only, for
    a change the service audits itself with the request's own transaction (a new password)."""
    parts = " ".join(f"{key}={clean(value)}" for key, value in fields.items() if value is not None)
    logger.log(level, "%s address=%s %s", name, client_address(), parts,
               extra=_extra(name, fields))
    if not audit:
        return
    from .audit.events import masked_path, record

    action, result = AUDIT_ACTIONS.get(name, (name, _audit_result(name)))
    user_id = fields.get("user_id")
    detail = {key: clean(value) for key, value in fields.items()
              if value is not None and key != "user_id"}
    if request.path and "path" not in detail and result != "success":
        detail["path"] = clean(masked_path())  # as refusals record it: no feed secret
    record(action, "user", user_id if user_id is not None else "", result=result,
           detail=detail, independent=True)
