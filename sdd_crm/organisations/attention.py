"""Which accounts need attention: no contact moment in the last ``ATTENTION_MONTHS`` months.

Used by the account pages, the dashboard and the critical list (``last_contact_on`` is kept by
the interaction services).
"""

from __future__ import annotations

import calendar
import datetime as dt

import sqlalchemy as sa
from flask import current_app

from ..i18n import local_today
from .models import Organisation


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier (31 August − 6 months = 28/29 February)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def attention_cutoff(today: dt.date | None = None) -> dt.date:
    """Accounts whose last contact lies before this date need attention."""
    months = int(current_app.config.get("ATTENTION_MONTHS", 6))
    return months_before(today or local_today(), months)


def needs_attention_condition(cutoff: dt.date):
    return sa.or_(Organisation.last_contact_on.is_(None), Organisation.last_contact_on < cutoff)


def needs_attention(org: Organisation, cutoff: dt.date) -> bool:
    return org.last_contact_on is None or org.last_contact_on < cutoff
