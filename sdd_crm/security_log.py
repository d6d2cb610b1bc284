"""The security log ("sdd_crm.security"): logins, throttling and refused API tokens.

Never a password or a token; an e-mail address only as a short keyed hash; anything the client
supplied has CR/LF and other control characters escaped so that it cannot forge log lines.
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


def event(level: int, name: str, **fields) -> None:
    parts = " ".join(f"{key}={clean(value)}" for key, value in fields.items() if value is not None)
    logger.log(level, "%s address=%s %s", name, client_address(), parts)
