"""One organisation's history in one chronological list (issue 3: the timeline).

Interactions, tasks, leads, participations and changes (audit events of the organisation and
its contacts), each kind limited to its latest ``limit`` rows by one query, merged in Python.
Every kind passes its visibility rule (DESIGN 4.4): a confidential contact moment, a task that
follows one, or a lead outside the user's circle never appears. The HTML organisation page and
the API both call :func:`organisation_timeline`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import labels
from ..audit import labels as audit_labels
from ..audit.models import AuditEvent, record_changes
from ..auth.models import User
from ..contacts.models import Contact
from ..contacts.queries import processable
from ..extensions import db
from ..interactions.models import Interaction, Task
from ..interactions.visibility import interaction_visible, task_visible
from ..leads.models import Lead
from ..leads.visibility import lead_visible
from ..permissions import can_view_contacts
from ..programmes.models import Participation, Programme

KINDS = ("interaction", "task", "lead", "participation", "change")
KIND_LABELS = {"interaction": _l("Contactmomenten"), "task": _l("Taken"), "lead": _l("Signalen"),
               "participation": _l("Programma's"), "change": _l("Wijzigingen")}
DEFAULT_LIMIT = 50
PREVIEW_CHARS = 200  # a note's preview on the organisation page (issue 14 point 4)


@dataclass(frozen=True)
class TimelineFilter:
    """The organisation page's timeline filter: kinds of contact moment and a period.

    ``interaction_types`` keeps only contact moments of those types (visit, call, …) and so
    leaves the other kinds out; ``since``/``until`` bound every kind by the day it is listed
    under (an interaction's own date, the others' time of the event)."""

    interaction_types: tuple[str, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # one of KINDS
    id: int  # the record's id (for a change: the audit event's id)
    at: dt.datetime  # when it happened, timezone-aware
    day: dt.date  # the day it is listed under (an interaction's own date)
    title: str
    summary: str = ""
    actor: str | None = None  # author, assignee, owner or the user who made the change
    status: str | None = None  # the code value (task, lead, participation status)
    status_label: str = ""
    confidential: bool = False
    due_date: dt.date | None = None  # tasks
    record_type: str | None = None  # changes: "organisation" or "contact"
    record_id: int | None = None  # changes: the changed record's id
    fields: tuple[str, ...] = field(default=())  # changes: the changed fields' labels
    preview: str = ""  # contact moments, when asked for: the note's first PREVIEW_CHARS


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Amsterdam")


def _day(at: dt.datetime, zone: ZoneInfo) -> dt.date:
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    return at.astimezone(zone).date()


def _between(column, flt, zone, *, is_day=False):
    """SQL conditions bounding ``column`` by the filter's period (days in the local zone)."""
    conditions = []
    if flt is None:
        return conditions
    for day, op in ((flt.since, "ge"), (flt.until, "lt")):
        if day is None:
            continue
        if op == "lt":
            day = day + dt.timedelta(days=1)
        bound = day if is_day else dt.datetime.combine(day, dt.time(), zone).astimezone(
            dt.UTC)
        conditions.append(column >= bound if op == "ge" else column < bound)
    return conditions


def _interactions(org_id, user, limit, zone, flt=None, previews=False):
    columns = [Interaction.id, Interaction.date, Interaction.created_at, Interaction.type,
               Interaction.subject, Interaction.confidential, User.name]
    if previews:
        # One character more than shown, to know whether to add "…"; never the whole note.
        columns.append(sa.func.substr(Interaction.notes, 1, PREVIEW_CHARS + 1).label("preview"))
    stmt = (
        sa.select(*columns)
        .outerjoin(User, User.id == Interaction.author_id)
        .where(Interaction.organisation_id == org_id, Interaction.deleted_at.is_(None),
               interaction_visible(user), *_between(Interaction.date, flt, zone, is_day=True)))
    if flt is not None and flt.interaction_types:
        stmt = stmt.where(Interaction.type.in_(flt.interaction_types))
    rows = db.session.execute(
        stmt.order_by(Interaction.date.desc(), Interaction.created_at.desc(),
                      Interaction.id.desc()).limit(limit))
    return [TimelineEntry(kind="interaction", id=r.id, at=r.created_at, day=r.date,
                          title=r.subject, summary=labels.label(labels.INTERACTION_TYPE, r.type),
                          actor=r.name, confidential=r.confidential,
                          preview=_preview(r.preview) if previews else "") for r in rows]


def _preview(notes: str | None) -> str:
    """The start of a note on one line, cut at a word and marked with "…" when longer."""
    text = " ".join((notes or "").split())
    if len(text) <= PREVIEW_CHARS:
        return text
    cut = text[:PREVIEW_CHARS]
    if " " in cut[PREVIEW_CHARS // 2:]:
        cut = cut[:cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"


def _tasks(org_id, user, limit, zone, flt=None, previews=False):
    rows = db.session.execute(
        sa.select(Task.id, Task.created_at, Task.title, Task.status, Task.due_date, User.name)
        .outerjoin(User, User.id == Task.assignee_id)
        .where(Task.organisation_id == org_id, Task.deleted_at.is_(None), task_visible(user),
               *_between(Task.created_at, flt, zone))
        .order_by(Task.created_at.desc(), Task.id.desc())
        .limit(limit))
    return [TimelineEntry(kind="task", id=r.id, at=r.created_at, day=_day(r.created_at, zone),
                          title=r.title, actor=r.name, status=r.status,
                          status_label=labels.label(labels.TASK_STATUS, r.status),
                          due_date=r.due_date) for r in rows]


def _leads(org_id, user, limit, zone, flt=None, previews=False):
    rows = db.session.execute(
        sa.select(Lead.id, Lead.created_at, Lead.title, Lead.type, Lead.status, Lead.shared_with,
                  User.name)
        .outerjoin(User, User.id == Lead.author_id)
        .where(Lead.organisation_id == org_id, Lead.deleted_at.is_(None), lead_visible(user),
               *_between(Lead.created_at, flt, zone))
        .order_by(Lead.created_at.desc(), Lead.id.desc())
        .limit(limit))
    return [TimelineEntry(
        kind="lead", id=r.id, at=r.created_at, day=_day(r.created_at, zone), title=r.title,
        summary=_lead_summary(r), actor=r.name, status=r.status, status_label=labels.label(labels.LEAD_STATUS, r.status),
    ) for r in rows]


def _lead_summary(row) -> str:
    return _("%(type)s · gedeeld met: %(target)s", type=labels.label(labels.LEAD_TYPE, row.type),
             target=labels.label(labels.SHARED_WITH, row.shared_with))


def _participations(org_id, user, limit, zone, flt=None, previews=False):
    rows = db.session.execute(
        sa.select(Participation.id, Participation.status, Participation.status_changed_at,
                  Programme.name.label("programme"), User.name)
        .join(Programme, Programme.id == Participation.programme_id)
        .outerjoin(User, User.id == Participation.owner_id)
        .where(Participation.organisation_id == org_id, Participation.deleted_at.is_(None),
               Programme.deleted_at.is_(None),
               *_between(Participation.status_changed_at, flt, zone))
        .order_by(Participation.status_changed_at.desc(), Participation.id.desc())
        .limit(limit))
    return [TimelineEntry(
        kind="participation", id=r.id, at=r.status_changed_at,
        day=_day(r.status_changed_at, zone), title=r.programme, actor=r.name, status=r.status,
        status_label=labels.label(labels.PARTICIPATION_STATUS, r.status)) for r in rows]


def _change_title(record_type: str, action: str, contact_name: str, changes=None) -> str:
    if record_type == "organisation":
        team_change = labels.team_change_text(action, changes)
        if team_change:
            return team_change
        return {"create": _("Organisatie aangemaakt"), "delete": _("Organisatie verwijderd"),
                "restore": _("Organisatie hersteld")}.get(action, _("Organisatie gewijzigd"))
    return {"create": _("Contactpersoon %(name)s toegevoegd", name=contact_name),
            "delete": _("Contactpersoon %(name)s verwijderd", name=contact_name),
            "restore": _("Contactpersoon %(name)s hersteld", name=contact_name),
            }.get(action, _("Contactpersoon %(name)s gewijzigd", name=contact_name))


def _changes(org_id, user, limit, zone, flt=None, previews=False):
    """Audit events of the organisation and, for users who may see personal data, its
    contacts. Only which fields changed is listed, never the values (contacts' personal data)."""
    on_org = sa.and_(AuditEvent.entity_type == "organisation",
                     AuditEvent.entity_id == str(org_id))
    condition = on_org
    if can_view_contacts(user):
        # Objecting and anonymised people: admins only (GDPR art. 21, 17).
        mine = sa.select(sa.cast(Contact.id, sa.String)).where(Contact.organisation_id == org_id)
        if not user.is_admin:
            mine = mine.where(processable())
        condition = sa.or_(on_org, sa.and_(
            AuditEvent.entity_type == "contact", AuditEvent.entity_id.in_(mine)))
    rows = db.session.execute(
        sa.select(AuditEvent.id, AuditEvent.at, AuditEvent.action, AuditEvent.entity_type,
                  AuditEvent.entity_id, AuditEvent.changes, User.name,
                  Contact.first_name, Contact.last_name)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .outerjoin(Contact, sa.and_(AuditEvent.entity_type == "contact",
                                    AuditEvent.entity_id == sa.cast(Contact.id, sa.String)))
        .where(condition, record_changes(),  # changes only: not views, refusals, exports
               *_between(AuditEvent.at, flt, zone))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit))
    entries = []
    for r in rows:
        fields = ()
        if r.action == "update":  # the fields' labels, one place for them (audit.labels)
            fields = tuple(audit_labels.field_label(r.entity_type, str(k))
                           for k in (r.changes or {}))
        contact_name = " ".join(p for p in (r.first_name, r.last_name) if p)
        entries.append(TimelineEntry(
            kind="change", id=r.id, at=r.at, day=_day(r.at, zone),
            title=_change_title(r.entity_type, r.action, contact_name, r.changes),
            summary=", ".join(fields), actor=r.name, status=r.action,
            record_type=r.entity_type, record_id=int(r.entity_id) if r.entity_id.isdigit() else None,
            fields=fields))
    return entries


_ENDPOINTS = {"interaction": ("interactions.detail", "interaction_id"),
              "task": ("tasks.detail", "task_id"), "lead": ("leads.detail", "lead_id"),
              "participation": ("programmes.participation_by_id", "participation_id")}


def entry_url(entry: TimelineEntry) -> str | None:
    """The page of an entry's record, for the HTML timeline (None when there is none)."""
    from flask import url_for
    from werkzeug.routing import BuildError

    if entry.kind == "change":
        if entry.record_type != "contact" or not entry.record_id:
            return None
        endpoint, arg, value = "contacts.detail", "contact_id", entry.record_id
    elif entry.kind in _ENDPOINTS:
        (endpoint, arg), value = _ENDPOINTS[entry.kind], entry.id
    else:
        return None
    try:
        return url_for(endpoint, **{arg: value})
    except BuildError:
        return None


_LOADERS = {"interaction": _interactions, "task": _tasks, "lead": _leads,
            "participation": _participations, "change": _changes}


def organisation_timeline(org_id: int, user, *, kinds=None, limit: int = DEFAULT_LIMIT,
                          flt: TimelineFilter | None = None,
                          previews: bool = False) -> list[TimelineEntry]:
    """The newest ``limit`` events of one organisation that ``user`` may see, newest first.

    ``kinds`` (an iterable of KINDS) narrows the list. One statement per kind, whatever the
    number of rows (no N+1). Taking each kind's newest ``limit`` is enough: the merged top
    ``limit`` can hold no older row of any kind. ``flt`` narrows by type of contact moment and
    period; ``previews`` adds the start of each visible contact moment's note (the rows already
    passed :func:`interaction_visible`, so a confidential note only reaches its circle and a
    viewer gets no contact moments at all — DESIGN 4.4).
    """
    wanted = [k for k in KINDS if kinds is None or k in set(kinds)]
    if flt is not None and flt.interaction_types:
        wanted = [k for k in wanted if k == "interaction"]
    zone = _zone()
    entries: list[TimelineEntry] = []
    for kind in wanted:
        entries.extend(_LOADERS[kind](org_id, user, limit, zone, flt, previews))
    entries.sort(key=lambda e: (e.day, e.at, e.id), reverse=True)
    return entries[:limit]
