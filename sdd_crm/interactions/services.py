"""Business rules for contact moments (interactions) and follow-up tasks (DESIGN 2, 4.4)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..i18n import local_today
from .. import validation as v
from ..auth.models import Role, User
from ..contacts.models import Contact
from ..contacts.queries import is_restricted, may_see_restricted
from ..db import utcnow
from ..extensions import db
from ..organisations.models import Organisation
from ..exceptions import PermissionDenied, check_version
from ..exceptions import ValidationError
from ..leads.models import Lead
from ..leads.visibility import can_see_lead
from .visibility import can_see_interaction, can_see_interactions
from .models import Interaction, InteractionTopic, InteractionType, Task, TaskStatus, Topic

INTERACTION_FIELDS = ("organisation_id", "type", "date", "subject", "notes", "confidential",
                      "topics", "contact_ids", "user_ids", "follow_ups")
TASK_FIELDS = ("title", "description", "due_date", "assignee_id", "organisation_id",
               "interaction_id", "lead_id", "status")
NOTES_LIMIT = 20_000
EARLIEST = dt.date(1990, 1, 1)


def _unknown(data, allowed, errors):
    for key in sorted(set(data) - set(allowed) - {"version"}):
        errors[key] = _("Onbekend veld.")


def _live_organisation(org_id, errors, key="organisation_id") -> Organisation | None:
    org = db.session.get(Organisation, v.integer(org_id) or 0)
    if org is None or org.deleted_at is not None:
        errors[key] = _("Kies een bestaande organisatie.")
        return None
    if org.merged_into_id is not None:
        errors[key] = _("Deze organisatie is samengevoegd met een andere; kies die.")
        return None
    return org


def _active_workers(ids: list[int], errors, key) -> list[User]:
    if not ids:
        return []
    users = db.session.scalars(sa.select(User).where(User.id.in_(ids))).all()
    if len(users) != len(ids) or any(not u.active or u.role == Role.VIEWER for u in users):
        errors[key] = _("Kies actieve collega's.")
        return []
    return sorted(users, key=lambda u: ids.index(u.id))


def clean_interaction_data(data: Mapping[str, Any], *, interaction: Interaction | None = None,
                           partial: bool = False) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    _unknown(data, INTERACTION_FIELDS, errors)

    def present(key):
        return (key in data) if partial else True

    org = interaction.organisation if interaction is not None else None
    if present("organisation_id"):
        org = _live_organisation(data.get("organisation_id"), errors)
        if org is not None:
            out["organisation_id"] = org.id
    if present("type"):
        out["type"] = v.choice(data, "type", errors, {t.value for t in InteractionType},
                               message=_("Kies het soort contact."))
    if present("date"):
        day = v.date(data, "date", errors, required=True, message=_("Vul de datum in."))
        if day is not None:
            today = local_today()
            if day > today + dt.timedelta(days=1):
                errors["date"] = _("Een contactmoment ligt niet in de toekomst; plan een taak.")
            elif day < EARLIEST:
                errors["date"] = _("Vul een datum na 1990 in.")
            else:
                out["date"] = day
    if present("subject"):
        out["subject"] = v.text(data, "subject", errors, limit=200, required=True,
                                message=_("Vul het onderwerp in."))
    if present("notes"):
        out["notes"] = v.text(data, "notes", errors, limit=NOTES_LIMIT)
    if present("confidential"):
        out["confidential"] = v.boolean(data, "confidential", errors)
    if present("topics"):
        topics = data.get("topics") or []
        if isinstance(topics, str):
            topics = [t.strip() for t in topics.split(",") if t.strip()]
        if not isinstance(topics, (list, tuple)) or any(t not in {x.value for x in Topic} for t in topics):
            errors["topics"] = _("Kies onderwerpen uit de lijst.")
        else:
            out["topics"] = sorted(set(topics))
    if present("contact_ids"):
        ids = v.id_list(data, "contact_ids", errors)
        contacts = db.session.scalars(sa.select(Contact).where(Contact.id.in_(ids))).all() if ids else []
        linked = {c.id for c in interaction.contacts} if interaction is not None else set()
        if len(contacts) != len(ids) or any(
                c.deleted_at is not None or (org is not None and c.organisation_id != org.id)
                for c in contacts):
            errors["contact_ids"] = _("Kies contactpersonen van deze organisatie.")
        elif any(is_restricted(c) and c.id not in linked for c in contacts):
            # GDPR art. 21 / 17: an objecting or erased person is not linked to anything new.
            errors["contact_ids"] = _("Een persoon die bezwaar heeft gemaakt of is "
                                      "geanonimiseerd, koppelt u niet aan een contactmoment.")
        else:
            out["contacts"] = contacts
    if present("user_ids"):
        out["users"] = _active_workers(v.id_list(data, "user_ids", errors), errors, "user_ids")
    follow_ups = data.get("follow_ups") if present("follow_ups") else None
    if follow_ups:
        if not isinstance(follow_ups, list) or not all(isinstance(f, Mapping) for f in follow_ups):
            errors["follow_ups"] = _("Geef een lijst van vervolgacties.")
        else:
            cleaned = []
            for f in follow_ups:
                if v.blank(f.get("title")):
                    continue
                try:
                    cleaned.append(clean_task_data(
                        {k: f.get(k) for k in ("title", "due_date", "assignee_id", "description")
                         if k in f}, partial=True, require_title=True))
                except ValidationError as e:
                    errors["follow_ups"] = "; ".join(e.errors.values())
                    break
            out["follow_ups"] = cleaned
    if errors:
        raise ValidationError(errors)
    return out


def _apply_interaction(interaction: Interaction, clean: dict[str, Any]) -> None:
    extra = {}
    with db.session.no_autoflush:
        for key in ("organisation_id", "type", "date", "subject", "notes", "confidential"):
            if key in clean:
                setattr(interaction, key, clean[key])
        if "topics" in clean:
            current = {t.topic: t for t in interaction.topics}
            before = sorted(current)
            interaction.topics = [current.get(t) or InteractionTopic(topic=t) for t in clean["topics"]]
            if before != sorted(clean["topics"]):
                extra["topics"] = [before, sorted(clean["topics"])]
        for key, ids_key in (("contacts", "contact_ids"), ("users", "user_ids")):
            if key in clean:
                before = sorted(r.id for r in getattr(interaction, key))
                setattr(interaction, key, clean[key])
                after = sorted(r.id for r in clean[key])
                if before != after:
                    extra[ids_key] = [before, after]
    if extra and interaction.id is not None:
        # Collections are not columns: touch the row so its version rises (a stale edit of
        # only the topics or people is still caught) and hand the audit log what changed.
        interaction.updated_at = utcnow()
        interaction._audit_extra = extra


LAST_CONTACT_CHUNK = 500


def last_contact_updates(organisation_ids) -> list[sa.Update]:
    """The statements that set Organisation.last_contact_on of these organisations to their
    latest live interaction's date (None without one), a chunk of ids each.

    Plain table UPDATEs: they neither bump the organisation's version (no false edit conflicts)
    nor fill the audit log with derived values."""
    table = Organisation.__table__
    latest = (sa.select(sa.func.max(Interaction.date))
              .where(Interaction.organisation_id == table.c.id, Interaction.deleted_at.is_(None))
              .scalar_subquery())
    ids = sorted({i for i in organisation_ids if i})
    return [sa.update(table).where(table.c.id.in_(ids[start:start + LAST_CONTACT_CHUNK]))
            .values(last_contact_on=latest) for start in range(0, len(ids), LAST_CONTACT_CHUNK)]


def refresh_last_contact(*organisation_ids: int) -> None:
    """Keep Organisation.last_contact_on equal to its latest live interaction's date, for rows
    written past the ORM. Every change through the ORM (the services, a merge, the bin) keeps it
    by itself: :mod:`.receivers` refreshes it in the flush that writes the interaction."""
    db.session.flush()
    for statement in last_contact_updates(organisation_ids):
        db.session.execute(statement)


def create_interaction(data: Mapping[str, Any], *, actor) -> Interaction:
    """Log a contact moment (with its follow-up tasks); every user but viewers may."""
    if not can_see_interactions(actor):
        raise PermissionDenied()
    clean = clean_interaction_data(data)
    interaction = Interaction(author_id=actor.id)
    _apply_interaction(interaction, clean)
    db.session.add(interaction)
    db.session.flush()
    for f in clean.get("follow_ups", []):
        _create_task_from_clean({**f, "organisation_id": interaction.organisation_id,
                                 "interaction_id": interaction.id}, actor=actor)
    return interaction


def can_edit_interaction(user, interaction: Interaction) -> bool:
    return user.role == Role.ADMIN or interaction.author_id == user.id


def update_interaction(interaction: Interaction, data: Mapping[str, Any], *, actor,
                       expected_version=None, partial: bool = False) -> Interaction:
    """Only its author (or an admin) edits a contact moment: it is their account of it."""
    if not can_see_interaction(actor, interaction) or not can_edit_interaction(actor, interaction):
        raise PermissionDenied()
    check_version(interaction, expected_version)
    clean = clean_interaction_data(data, interaction=interaction, partial=partial)
    if "contacts" in clean and not may_see_restricted(actor):
        # Objecting and erased people are hidden from everyone but admins: an edit by someone
        # who could not see them keeps them linked (they are not removed behind their back).
        hidden = [c for c in interaction.contacts
                  if is_restricted(c) and c not in clean["contacts"]]
        clean["contacts"] = [*clean["contacts"], *hidden]
    follow_ups = clean.pop("follow_ups", [])
    _apply_interaction(interaction, clean)
    db.session.flush()
    for f in follow_ups:
        _create_task_from_clean({**f, "organisation_id": interaction.organisation_id,
                                 "interaction_id": interaction.id}, actor=actor)
    return interaction


def delete_interaction(interaction: Interaction, *, actor, expected_version=None) -> None:
    if not can_see_interaction(actor, interaction) or not can_edit_interaction(actor, interaction):
        raise PermissionDenied()
    check_version(interaction, expected_version)
    interaction.deleted_at = utcnow()
    interaction.deleted_by_id = actor.id
    db.session.flush()  # and with it the organisation's last contact (receivers)


def _deleted_organisation(record) -> Organisation | None:
    """The record's organisation when that is in the bin itself (restore it first), else None."""
    org = record.organisation
    return org if org is not None and org.deleted_at is not None else None


def restore_interaction(interaction: Interaction, *, actor) -> None:
    """An admin takes a contact moment out of the bin (and the last contact date follows)."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied()
    if (org := _deleted_organisation(interaction)) is not None:
        raise ValidationError(_("Herstel eerst de organisatie %(name)s; dit contactmoment hoort "
                                "daarbij.", name=org.name))
    interaction.deleted_at = None
    interaction.deleted_by_id = None
    db.session.flush()  # and with it the organisation's last contact (receivers)


# --- Tasks -------------------------------------------------------------------------------

def clean_task_data(data: Mapping[str, Any], *, partial: bool = False,
                    require_title: bool = True) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    _unknown(data, TASK_FIELDS, errors)

    def present(key):
        return (key in data) if partial else True

    if present("title") or (require_title and not partial):
        out["title"] = v.text(data, "title", errors, limit=200, required=require_title,
                              message=_("Vul in wat er moet gebeuren."))
    if present("description"):
        out["description"] = v.text(data, "description", errors, limit=2000)
    if present("due_date"):
        out["due_date"] = v.date(data, "due_date", errors)
    if present("assignee_id"):
        if v.blank(data.get("assignee_id")):
            out["assignee_id"] = None
        else:
            users = _active_workers([v.integer(data.get("assignee_id")) or 0], errors, "assignee_id")
            if users:
                out["assignee_id"] = users[0].id
            else:
                errors["assignee_id"] = _("Kies een actieve collega.")
    if present("organisation_id"):
        if v.blank(data.get("organisation_id")):
            out["organisation_id"] = None
        else:
            org = _live_organisation(data.get("organisation_id"), errors)
            if org is not None:
                out["organisation_id"] = org.id
    for key, model in (("interaction_id", Interaction), ("lead_id", Lead)):
        if present(key):
            if v.blank(data.get(key)):
                out[key] = None
                continue
            record = db.session.get(model, v.integer(data.get(key)) or 0)
            if record is None or record.deleted_at is not None:
                errors[key] = _("Kies een bestaand record.")
            else:
                out[key] = record.id
    if present("status") and "status" in data:
        out["status"] = v.choice(data, "status", errors, {s.value for s in TaskStatus},
                                 default=TaskStatus.OPEN)
    if errors:
        raise ValidationError(errors)
    return out


def _create_task_from_clean(clean: dict[str, Any], *, actor) -> Task:
    task = Task(created_by_id=actor.id, status=TaskStatus.OPEN)
    for key, value in clean.items():
        setattr(task, key, value)
    if task.assignee_id is None:
        task.assignee_id = actor.id
    if task.status == TaskStatus.DONE:
        task.completed_at = utcnow()
    db.session.add(task)
    db.session.flush()
    if task.assignee_id != actor.id:
        _notify_assignee(task, actor)
    return task


def _notify_assignee(task: Task, actor) -> None:
    from ..notifications.services import notify

    # Lazy: each receiver reads the notification in their own language.
    notify([task.assignee_id], "task_assigned",
           _l("%(name)s gaf u een taak: %(title)s", name=actor.name, title=task.title),
           link=f"/tasks/{task.id}", task_id=task.id)


def create_task(data: Mapping[str, Any], *, actor) -> Task:
    if not can_see_interactions(actor):
        raise PermissionDenied()
    clean = clean_task_data(data)
    _check_task_links(clean, actor)
    return _create_task_from_clean(clean, actor=actor)


def _check_task_links(clean: dict[str, Any], actor) -> None:
    """A task may only point at an interaction or lead its creator may see (DESIGN 4.4):
    otherwise its ``interaction_id``/``lead_id`` would confirm that a hidden record exists."""
    if clean.get("interaction_id"):
        interaction = db.session.get(Interaction, clean["interaction_id"])
        if not can_see_interaction(actor, interaction):
            raise ValidationError({"interaction_id": _("Kies een bestaand record.")})
    if clean.get("lead_id"):
        if not can_see_lead(actor, db.session.get(Lead, clean["lead_id"])):
            raise ValidationError({"lead_id": _("Kies een bestaand record.")})


def can_edit_task(user, task: Task) -> bool:
    return user.role == Role.ADMIN or user.id in (task.assignee_id, task.created_by_id)


def update_task(task: Task, data: Mapping[str, Any], *, actor, expected_version=None,
                partial: bool = False) -> Task:
    if not can_edit_task(actor, task):
        raise PermissionDenied()
    check_version(task, expected_version)
    clean = clean_task_data(data, partial=partial, require_title=not partial or "title" in data)
    _check_task_links({k: clean.get(k) for k in ("interaction_id", "lead_id")
                       if clean.get(k) and clean[k] != getattr(task, k)}, actor)
    previous_assignee = task.assignee_id
    for key, value in clean.items():
        setattr(task, key, value)
    if "status" in clean:
        task.completed_at = utcnow() if task.status == TaskStatus.DONE else None
    db.session.flush()
    if task.assignee_id and task.assignee_id not in (previous_assignee, actor.id):
        _notify_assignee(task, actor)
    return task


def complete_task(task: Task, *, actor, done: bool = True) -> Task:
    return update_task(task, {"status": TaskStatus.DONE if done else TaskStatus.OPEN},
                       actor=actor, partial=True)


def delete_task(task: Task, *, actor, expected_version=None) -> None:
    if not can_edit_task(actor, task):
        raise PermissionDenied()
    check_version(task, expected_version)
    task.deleted_at = utcnow()
    task.deleted_by_id = actor.id
    db.session.flush()


def restore_task(task: Task, *, actor) -> None:
    """An admin takes a task out of the bin; a task of a deleted organisation waits for it."""
    if actor.role != Role.ADMIN:
        raise PermissionDenied()
    if (org := _deleted_organisation(task)) is not None:
        raise ValidationError(_("Herstel eerst de organisatie %(name)s; deze taak hoort daarbij.",
                                name=org.name))
    task.deleted_at = None
    task.deleted_by_id = None
    db.session.flush()
