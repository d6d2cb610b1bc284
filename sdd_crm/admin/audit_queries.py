"""Queries of the audit screen: the filtered events, and for one page at once the names of the
people and records they name (no query per row)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, url_for

from ..audit.models import AuditEvent
from ..auth.models import User
from ..contacts.models import Contact
from ..extensions import db
from ..interactions.models import Interaction, Task
from ..jobs.models import Job
from ..jobs.views import kind_info
from ..leads.models import Lead
from ..organisations.models import Organisation
from ..programmes.models import Participation, Programme
from ..reference.models import Municipality
from ..valuechains.models import Cluster, ValueChain


@dataclass(frozen=True)
class Linked:
    """How a record type is named and linked: its model, the column(s) naming it, and the page
    showing it (endpoint, path parameter, the attribute that fills it)."""

    model: type
    label: tuple
    endpoint: str | None = None
    arg: str | None = None
    key: str = "id"


RECORDS = {
    "user": Linked(User, (User.name,), "admin.user_detail", "user_id"),
    "organisation": Linked(Organisation, (Organisation.name,), "organisations.detail", "org_id"),
    "contact": Linked(Contact, (Contact.first_name, Contact.last_name), "contacts.detail",
                      "contact_id"),
    "interaction": Linked(Interaction, (Interaction.subject,), "interactions.detail",
                          "interaction_id"),
    "task": Linked(Task, (Task.title,), "tasks.detail", "task_id"),
    "lead": Linked(Lead, (Lead.title,), "leads.detail", "lead_id"),
    "participation": Linked(Participation, (), "programmes.participation_by_id",
                            "participation_id"),
    "cluster": Linked(Cluster, (Cluster.name,)),
    "value_chain": Linked(ValueChain, (ValueChain.name,), "valuechains.chain_detail", "chain_id"),
    "job": Linked(Job, (Job.kind,), "jobs.detail", "job_id"),
    "municipality": Linked(Municipality, (Municipality.name,), key="code"),
}


def audit_events(filters: dict) -> sa.Select:
    """Events matching ``filters`` (see ``AuditFilterForm.filters``), newest first."""
    stmt = sa.select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if "entity_type" in filters:
        stmt = stmt.where(AuditEvent.entity_type == filters["entity_type"])
    if "entity_id" in filters:
        stmt = stmt.where(AuditEvent.entity_id == filters["entity_id"])
    if "actor_id" in filters:
        actor = filters["actor_id"]
        stmt = stmt.where(AuditEvent.user_id.is_(None) if actor is None
                          else AuditEvent.user_id == actor)
    if "action" in filters:
        stmt = stmt.where(AuditEvent.action == filters["action"])
    if "result" in filters:
        stmt = stmt.where(AuditEvent.result == filters["result"])
    if "origin" in filters:
        stmt = stmt.where(AuditEvent.origin == filters["origin"])
    if "date_from" in filters:
        stmt = stmt.where(AuditEvent.at >= local_midnight(filters["date_from"]))
    if "date_to" in filters:
        stmt = stmt.where(AuditEvent.at < local_midnight(filters["date_to"] + dt.timedelta(days=1)))
    return stmt


def local_midnight(day: dt.date) -> dt.datetime:
    """The start of ``day`` in the region's time zone, in UTC."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Amsterdam")
    try:
        return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.timezone.utc)
    except OverflowError:
        return dt.datetime.combine(day, dt.time(), dt.timezone.utc)


@dataclass(frozen=True)
class Found:
    name: str
    deleted: bool
    url: str | None


def lookup(wanted: dict[str, set[str]]) -> dict[tuple[str, str], Found]:
    """The records ``wanted`` names (``{"user": {"3"}, …}``, from ``audit.labels.references``),
    one query per record type: their names, whether they are deleted, and their page."""
    found: dict[tuple[str, str], Found] = {}
    for kind, ids in wanted.items():
        if kind == "programme":  # named by id, linked by code
            found |= _programmes(ids)
            continue
        linked = RECORDS.get(kind)
        if linked is None or not ids:
            continue
        key_column = getattr(linked.model, linked.key)
        if linked.key == "id" and kind != "job":
            keys = [int(i) for i in ids if i.isdigit() and len(i) < 10]
        else:
            keys = [i for i in ids if len(i) <= 40]
        if not keys:
            continue
        deleted_column = getattr(linked.model, "deleted_at", None)
        columns = [key_column, *linked.label]
        if deleted_column is not None:
            columns.append(deleted_column.label("deleted_at"))
        for row in db.session.execute(sa.select(*columns).where(key_column.in_(keys))):
            values = tuple(row)
            key = str(values[0])
            name = " ".join(str(v) for v in values[1:1 + len(linked.label)] if v)
            if kind == "job":
                name = str(kind_info(name)["title"])
            deleted = deleted_column is not None and values[-1] is not None
            url = None
            if linked.endpoint and not deleted:
                url = url_for(linked.endpoint, **{linked.arg: values[0]})
            found[(kind, key)] = Found(name=name, deleted=deleted, url=url)
    return found


def _programmes(ids: set[str]) -> dict[tuple[str, str], Found]:
    keys = [int(i) for i in ids if i.isdigit() and len(i) < 10]
    if not keys:
        return {}
    rows = db.session.execute(sa.select(Programme.id, Programme.code, Programme.name,
                                        Programme.deleted_at).where(Programme.id.in_(keys)))
    return {("programme", str(r.id)): Found(
        name=r.name, deleted=r.deleted_at is not None,
        url=None if r.deleted_at is not None else url_for("programmes.pipeline", code=r.code))
        for r in rows}
