"""Dutch labels for the participation screens: why a participation does not count (DESIGN 4.2)
and the status names, available to every template."""

from __future__ import annotations

from flask import g, has_request_context
from flask_babel import lazy_gettext as _l

from .. import labels
from ..labels import PARTICIPATION_STATUS
from . import bp
from .counting import Reason

REASON_LABELS = {
    Reason.STATUS: _l("nog niet deelnemend"),
    Reason.DELETED: _l("organisatie verwijderd"),
    Reason.DISSOLVED: _l("organisatie opgeheven"),
    Reason.OUTSIDE_REGION: _l("gemeente buiten de regio van het programma"),
    Reason.NOT_COMPANY: _l("geen bedrijf"),
    Reason.EMPLOYEES_UNKNOWN: _l("aantal werkzame personen onbekend"),
    Reason.NOT_SME: _l("geen mkb (te groot)"),
    Reason.GROUP_NOT_SME: _l("hoort bij een groep die geen mkb is"),
    Reason.DUPLICATE: _l("dubbel (samengevoegd met een organisatie die al telt)"),
}
DECLINED_LABEL = _l("afgehaakt")

# The pipeline in the order the funnel and the filters show it.
STATUS_ORDER = ("identified", "approached", "interested", "participating", "completed",
                "declined")
# Status badges: words carry the meaning, the colour only repeats it (WCAG 1.4.1).
STATUS_BADGE = {"identified": "neutral", "approached": "warning", "interested": "warning",
                "participating": "active", "completed": "success", "declined": "neutral"}


def _per_request(kind: str, key, make) -> str:
    """A label looked up once per request: a pipeline page shows the same few words on every
    row, and each Flask-Babel lookup costs tens of microseconds (the locale is the request's)."""
    if not has_request_context():
        return make()
    cache = g.setdefault("_programme_labels", {})
    found = cache.get((kind, key))
    if found is None:
        found = cache[(kind, key)] = make()
    return found


@bp.app_template_global()
def participation_status_label(status) -> str:
    return _per_request("status", status, lambda: labels.label(PARTICIPATION_STATUS, status))


@bp.app_template_global()
def participation_reason_label(reason, status=None) -> str:
    """Why a participation does not count, in words ("afgehaakt" for a declined one)."""
    if reason is None:
        return ""
    if reason == Reason.STATUS and status == "declined":
        return _per_request("declined", None, lambda: str(DECLINED_LABEL))
    return _per_request("reason", str(reason), lambda: str(REASON_LABELS.get(reason, reason)))


@bp.app_template_global()
def participation_status_badge(status) -> str:
    return STATUS_BADGE.get(str(status), "neutral")
