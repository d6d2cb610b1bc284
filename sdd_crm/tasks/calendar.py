"""The personal calendar feed (ICS) of open follow-ups, for Outlook and other calendars.

The feed URL carries a random secret; only its SHA-256 is stored (User.calendar_token_hash),
so a database leak reveals no feed. Generating a new secret makes the old URL stop working.
The iCalendar text is written by hand to RFC 5545: CRLF line endings, lines folded at 75
octets, TEXT values escaped. Each open task with a due date is one all-day VEVENT (Outlook
ignores VTODOs in subscribed calendars).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

import sqlalchemy as sa
from flask_babel import gettext as _

from ..auth.models import User
from ..extensions import db

SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{32,64}")
PRODID = "-//Smart Delta Drechtsteden//SDD CRM//NL"
UID_DOMAIN = "sdd-crm"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_calendar_secret(user) -> str:
    """Give ``user`` a new feed secret (the old one stops working) and return it, once.

    A plain UPDATE: it neither bumps the user's version (no false edit conflicts for an admin
    editing the account) nor logs the hash."""
    secret = secrets.token_urlsafe(32)
    table = User.__table__
    db.session.execute(sa.update(table).where(table.c.id == user.id)
                       .values(calendar_token_hash=_hash(secret)))
    db.session.expire(user, ["calendar_token_hash"])
    return secret


def user_for_secret(secret: str) -> User | None:
    if not SECRET_PATTERN.fullmatch(secret or ""):
        return None
    user = db.session.scalar(sa.select(User).where(User.calendar_token_hash == _hash(secret)))
    return user if user is not None and user.active else None


# --- RFC 5545 text -------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newlines escaped."""
    value = _CONTROL.sub("", (value or "").replace("\r\n", "\n").replace("\r", "\n"))
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\n", "\\n"))


def fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1), never inside a UTF-8 character."""
    pieces, current, size = [], [], 0
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > 75:
            pieces.append("".join(current))
            current, size = [" "], 1
        current.append(ch)
        size += n
    pieces.append("".join(current))
    return "\r\n".join(pieces)


def _stamp(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def task_summary(task) -> str:
    if task.organisation is not None:
        return f"{task.title} – {task.organisation.name}"
    return task.title


def render_feed(tasks, *, task_url, now: dt.datetime | None = None, name: str = "") -> str:
    """The iCalendar text of ``tasks``; ``task_url(task)`` gives each task's page."""
    now = now or dt.datetime.now(dt.timezone.utc)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH",
             "X-WR-CALNAME:" + escape_text(name or _("SDD CRM: mijn taken")),
             "REFRESH-INTERVAL;VALUE=DURATION:PT1H", "X-PUBLISHED-TTL:PT1H"]
    for task in tasks:
        description = "\n\n".join(p for p in (task.description, task_url(task)) if p)
        lines += [
            "BEGIN:VEVENT",
            f"UID:task-{task.id}@{UID_DOMAIN}",
            f"DTSTAMP:{_stamp(now)}",
            f"LAST-MODIFIED:{_stamp(task.updated_at)}",
            f"SEQUENCE:{max(0, (task.version or 1) - 1)}",
            f"DTSTART;VALUE=DATE:{task.due_date:%Y%m%d}",
            f"DTEND;VALUE=DATE:{task.due_date + dt.timedelta(days=1):%Y%m%d}",
            "SUMMARY:" + escape_text(task_summary(task)),
            "DESCRIPTION:" + escape_text(description),
            "URL:" + task_url(task),
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
