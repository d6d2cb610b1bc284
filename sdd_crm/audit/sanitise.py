"""What an audit event may hold: never a secret, and client text only on one line."""

from __future__ import annotations

import re

HIDDEN = "***"
# Keys whose values are never written: passwords, tokens, secrets, one-time codes, hashes of them.
SECRET_KEY = re.compile(r"password|passwd|passphrase|token|secret|totp|(^|_)otp(_|$)|"
                        r"recovery_code|api_?key|_hash$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
MAX_TEXT = 500


def one_line(value, limit: int = MAX_TEXT) -> str:
    """``value`` as text on one line: CR, LF and other control characters escaped (``\\n``)."""
    text = "" if value is None else str(value)
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)[:limit]


def is_secret(key) -> bool:
    key = str(key)
    return bool(SECRET_KEY.search(key)) and not key.endswith("_at")


def scrub(values: dict | None) -> dict:
    """A copy of ``values`` with the values of secret-looking keys replaced by ``***``."""
    out = {}
    for key, value in (values or {}).items():
        if is_secret(key) and value not in (None, "", [None, None]):
            value = [HIDDEN, HIDDEN] if isinstance(value, (list, tuple)) and len(value) == 2 \
                else HIDDEN
        out[str(key)[:100]] = value
    return out


def detail_value(value):
    """A value of an event's detail, as JSON with client text on one line."""
    if isinstance(value, str):
        return one_line(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [detail_value(v) for v in value][:100]
    if isinstance(value, dict):
        return {one_line(k, 100): detail_value(v) for k, v in list(value.items())[:100]}
    return one_line(value)
