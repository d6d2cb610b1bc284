"""A growing wait after failed logins of one account (ASVS 2.2.1): never a lock-out.

The first ``LOGIN_DELAY_FREE_FAILURES`` failures (3) cost nothing; after the n-th failure the
next attempt must wait 2^(n - 3) seconds, at most ``LOGIN_DELAY_MAX_SECONDS`` (60). An attempt
during the wait is refused without looking at the password, and so does not count; once the wait
is over the right password works. Failures older than ``LOGIN_DELAY_WINDOW`` (an hour) no longer
count, and a successful login (every factor) starts again from nothing.

The counter lives on the user row (``failed_login_count``, ``last_failed_login_at``) so that
every web process sees it; it is changed with single UPDATE statements, which neither race with
each other nor bump the user's version (an admin editing the user is not disturbed). A wrong
two-factor code counts as a failed login too.

An e-mail address that belongs to nobody waits in just the same way, or the wait would tell an
attacker which addresses have accounts: its failures are counted in the limiter's storage
(memory, or Redis shared by every process), keyed by a keyed hash of the address.
"""

from __future__ import annotations

import datetime as dt
import math
import time

import sqlalchemy as sa
from flask import current_app

from ..extensions import db, limiter
from ..security_log import email_digest
from .models import User

_UNKNOWN_COUNT = "login-delay-count:"
_UNKNOWN_WAIT = "login-delay-wait:"


def now() -> dt.datetime:
    """The module's clock (tests monkeypatch it)."""
    return dt.datetime.now(dt.timezone.utc)


def delay_after(failures: int) -> int:
    """Seconds the next attempt must wait after ``failures`` failed logins in a row."""
    free = int(current_app.config["LOGIN_DELAY_FREE_FAILURES"])
    cap = int(current_app.config["LOGIN_DELAY_MAX_SECONDS"])
    if failures <= free:
        return 0
    return min(cap, 2 ** min(failures - free, 32))


def _window() -> dt.timedelta:
    window = current_app.config["LOGIN_DELAY_WINDOW"]
    return window if isinstance(window, dt.timedelta) else dt.timedelta(seconds=int(window))


def seconds_to_wait(user: User | None) -> int:
    """Whole seconds before ``user`` may try again (0: go ahead)."""
    if user is None or not user.failed_login_count or user.last_failed_login_at is None:
        return 0
    last = user.last_failed_login_at
    current = now()
    if current - last > _window():
        return 0
    until = last + dt.timedelta(seconds=delay_after(user.failed_login_count))
    return max(0, math.ceil((until - current).total_seconds()))


def record_failure(user: User | None) -> None:
    """Count a failed password or second factor for ``user`` (one atomic UPDATE)."""
    if user is None:
        return
    current = now()
    recent = sa.and_(User.last_failed_login_at.is_not(None),
                     User.last_failed_login_at >= current - _window())
    db.session.execute(
        sa.update(User).where(User.id == user.id).values(
            failed_login_count=sa.case((recent, User.failed_login_count + 1), else_=1),
            last_failed_login_at=current, updated_at=User.updated_at)
        .execution_options(synchronize_session=False))
    db.session.expire(user, ["failed_login_count", "last_failed_login_at"])


def reset(user: User) -> None:
    """A successful login: no wait any more."""
    if not user.failed_login_count and user.last_failed_login_at is None:
        return
    db.session.execute(
        sa.update(User).where(User.id == user.id)
        .values(failed_login_count=0, last_failed_login_at=None, updated_at=User.updated_at)
        .execution_options(synchronize_session=False))
    db.session.expire(user, ["failed_login_count", "last_failed_login_at"])


# --- addresses without an account: the same wait, kept in the limiter's storage -----------------

def seconds_to_wait_unknown(email: str | None) -> int:
    """Whole seconds before this unknown address may be tried again (0: go ahead)."""
    storage = limiter.storage
    key = _UNKNOWN_WAIT + email_digest(email)
    if not storage.get(key):
        return 0
    return max(1, math.ceil(storage.get_expiry(key) - time.time()))


def record_unknown_failure(email: str | None) -> None:
    """Count a failed login for an address that belongs to nobody, and start its wait."""
    storage = limiter.storage
    digest = email_digest(email)
    failures = storage.incr(_UNKNOWN_COUNT + digest, _window().total_seconds())
    wait = delay_after(failures)
    if wait:
        storage.incr(_UNKNOWN_WAIT + digest, wait)
