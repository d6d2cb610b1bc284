"""Importing contact persons from an Outlook or Google contacts export, or our own layout
(issue 6 point 8).

Each contact is linked to an organisation by KvK number, else by company name (compared like
the held-for-review rule: no case, punctuation or legal-form words); a name that fits no
organisation, or more than one, rejects the row, as does an invalid e-mail address or phone
number. Contacts are matched within their organisation by e-mail address, else by first and
last name: new → created, other values → updated (empty cells never erase), the same →
unchanged; one person twice in a file counts once. A deleted contact is not brought back by
an import (it may have been erased on request, GDPR art. 17): such a row is rejected.

GDPR fields of new contacts: lawful basis *public task*, ``source`` = this import (job id and
file name; ``source_kind`` "import", ``source_job_id``, ``created_by_id`` the user who imported),
review due in two years (contacts.services.REVIEW_AFTER).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _

from ..audit.models import AuditEvent
from ..contacts.models import Contact, LawfulBasis, SourceKind
from ..contacts.services import REVIEW_AFTER
from ..db import utcnow
from ..extensions import db
from ..i18n import local_today
from ..organisations.models import Organisation
from .apply import AUDIT_SOURCE, _insert_returning, bulk_insert, jsonable, update_versioned
from .reading import Table, is_empty
from .rules import RowCells, clean_contact_row, clear_caches, normalise_name
from .upsert import _load, _reject, follow_merges

FIELDS = ("first_name", "last_name", "function", "email", "phone", "mobile",
          "preferred_language", "notes")
COLUMNS = ("id", "version", "organisation_id", "deleted_at", *FIELDS)


@dataclass
class ContactPlan:
    rows: int = 0
    rejected: int = 0
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)  # repaired cells (rules.py), per row
    duplicates_in_file: int = 0
    creates: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    unchanged: int = 0

    def summary(self, *, dry_run: bool) -> dict:
        return {"created": len(self.creates), "updated": len(self.updates),
                "unchanged": self.unchanged, "held_for_review": 0, "rejected": self.rejected,
                "errors": sorted(self.errors, key=lambda e: e["row"]),
                "warnings": self.warnings[:1000], "warnings_total": len(self.warnings),
                "dry_run": dry_run,
                "rows": self.rows, "row_numbers": "spreadsheet", "duplicates_in_file": self.duplicates_in_file}


def _key(org_id: int, values: dict) -> tuple:
    if values.get("email"):
        return org_id, "email", values["email"].lower()
    return org_id, "name", normalise_name(values.get("first_name")), \
        normalise_name(values.get("last_name"))


class _Organisations:
    """Organisation ids by KvK number and by normalised name (live ones only)."""

    _COLUMNS = ("id", "kvk_number", "deleted_at", "merged_into_id")

    def __init__(self, kvks: set[str], want_names: bool):
        org = Organisation.__table__
        live = sa.and_(org.c.deleted_at.is_(None), org.c.merged_into_id.is_(None))
        found = {o["kvk_number"]: o for o in _load(org, self._COLUMNS, org.c.kvk_number, kvks)}
        follow_merges(org, self._COLUMNS, found)  # a merged record's KvK number: its survivor
        self.by_kvk = {kvk: o["id"] for kvk, o in found.items()
                       if o["deleted_at"] is None and o["merged_into_id"] is None}
        self.by_name: dict[str, list[int]] = {}
        if want_names:
            for org_id, name in db.session.execute(sa.select(org.c.id, org.c.name).where(live)):
                self.by_name.setdefault(normalise_name(name), []).append(org_id)

    def find(self, values: dict) -> tuple[int | None, str | None]:
        if values.get("organisation_kvk"):
            org_id = self.by_kvk.get(values["organisation_kvk"])
            return (org_id, None) if org_id else (None, _(
                "Geen organisatie met KvK-nummer %(kvk)s.", kvk=values["organisation_kvk"]))
        ids = self.by_name.get(normalise_name(values["organisation_name"]), [])
        if len(ids) == 1:
            return ids[0], None
        if ids:
            return None, _("Meer dan één organisatie heet zo; vul het KvK-nummer in.")
        return None, _("Geen organisatie gevonden met de naam \"%(name)s\".",
                       name=values["organisation_name"][:100])


def plan_contacts(table: Table, mapping: dict[str, str], *, progress) -> ContactPlan:
    """Everything the contacts import would do, without writing."""
    clear_caches()
    plan = ContactPlan()
    cells = RowCells(table.headers, mapping)
    column = lambda f: cells.column.get(f, "")  # noqa: E731
    valid = []
    label = _("Rijen controleren")
    for i, row in enumerate(table.rows):
        if i % 5000 == 0:
            progress(5 + 30 * i // max(1, len(table.rows)), label)
        if is_empty(row):
            continue
        plan.rows += 1
        values, problems = cells.cells(row)
        warnings: list[tuple[str, str]] = []
        if not problems:  # a shifted or oversized row: its cells mean nothing
            record, problems = clean_contact_row(values, column, warnings=warnings)
        if problems:
            _reject(plan, table.row_number(i), problems)
        else:
            valid.append((table.row_number(i), record))
            plan.warnings.extend({"row": table.row_number(i), "column": c, "message": m}
                                 for c, m in warnings)
    progress(40, _("Vergelijken met de gegevens in het CRM"))
    orgs = _Organisations({r["organisation_kvk"] for _n, r in valid if r.get("organisation_kvk")},
                          any(not r.get("organisation_kvk") for _n, r in valid))
    linked: dict[tuple, dict] = {}
    for number, record in valid:
        org_id, message = orgs.find(record)
        if org_id is None:
            _reject(plan, number, [(column("organisation_kvk") if record.get("organisation_kvk")
                                    else column("organisation_name"), message)])
            continue
        key = _key(org_id, record)
        if key in linked:
            plan.duplicates_in_file += 1
            for k in FIELDS:
                if k in record:
                    linked[key].setdefault(k, record[k])
            continue
        linked[key] = {"organisation_id": org_id, "_row": number,
                       **{k: record[k] for k in FIELDS if k in record}}
    stored: dict[tuple, dict] = {}
    table_c = Contact.__table__
    contacts = _load(table_c, COLUMNS, table_c.c.organisation_id, {k[0] for k in linked})
    for contact in sorted(contacts, key=lambda c: c["id"]):  # the oldest wins a tie
        stored.setdefault(_key(contact["organisation_id"], contact), contact)
        stored.setdefault(_key(contact["organisation_id"], dict(contact, email=None)), contact)
    email_column = column("email") or column("last_name")
    for key, values in linked.items():
        existing = stored.get(key)
        if existing is None and values.get("email"):
            # No one with this address: the same name without an address is the same person.
            other = stored.get(_key(key[0], dict(values, email=None)))
            if other is not None and not other["email"]:
                existing = other
        if existing is None:
            plan.creates.append(values)
        elif existing["deleted_at"] is not None:
            _reject(plan, values["_row"], [(email_column, _(
                "Dit contact is verwijderd; een beheerder kan het herstellen."))])
        else:
            changes = {k: [existing[k], values[k]] for k in FIELDS
                       if k in values and values[k] != existing[k]}
            if "email" in changes and changes["email"][0] and \
                    changes["email"][0].lower() == changes["email"][1].lower():
                del changes["email"]  # JAN@werf.nl is jan@werf.nl
            if changes:
                merged = {k: existing[k] for k in FIELDS} | {k: v[1] for k, v in changes.items()}
                plan.updates.append({"id": existing["id"], "version": existing["version"],
                                     "values": merged, "changes": changes})
            else:
                plan.unchanged += 1
    progress(58, _("Vergelijken met de gegevens in het CRM"))
    return plan


def apply_contacts(plan: ContactPlan, *, actor_id, source: str, filename: str, job_id,
                   progress, origin: str | None = None) -> None:
    """Write the plan in the current transaction, with its audit events (as apply.py does:
    ``origin`` the address that started the import, ``record_version`` the version written)."""
    now, table = utcnow(), Contact.__table__
    progress(60, _("Opslaan"))
    review_due = local_today() + REVIEW_AFTER
    rows = [{"organisation_id": c["organisation_id"], "first_name": c.get("first_name"),
             "last_name": c["last_name"], "function": c.get("function"), "email": c.get("email"),
             "phone": c.get("phone"), "mobile": c.get("mobile"),
             "preferred_language": c.get("preferred_language") or "nl",
             "notes": c.get("notes"), "lawful_basis": LawfulBasis.PUBLIC_TASK.value,
             "source": source[:200], "source_kind": SourceKind.IMPORT.value,
             "source_job_id": job_id or None, "created_by_id": actor_id,
             "objection": False, "review_due": review_due,
             "version": 1, "created_at": now, "updated_at": now} for c in plan.creates]
    ids = _insert_returning(table, rows)
    update_versioned(table, plan.updates, FIELDS, now)
    progress(85, _("Opslaan"))
    skip = {"created_at", "updated_at", "version"}
    events = [{"at": now, "user_id": actor_id, "action": "create", "entity_type": "contact",
               "entity_id": str(new_id), "source": AUDIT_SOURCE, "origin": origin,
               "record_version": row["version"],
               "changes": {k: [None, jsonable(v)] for k, v in row.items()
                           if k not in skip and v is not None}}
              for row, new_id in zip(rows, ids)]
    # update_versioned wrote version + 1.
    events += [{"at": now, "user_id": actor_id, "action": "update", "entity_type": "contact",
                "entity_id": str(u["id"]), "source": AUDIT_SOURCE, "origin": origin,
                "record_version": u["version"] + 1, "changes": u["changes"]}
               for u in plan.updates]
    if job_id:
        events.append({"at": now, "user_id": actor_id, "action": "import", "entity_type": "job",
                       "entity_id": job_id, "source": AUDIT_SOURCE, "origin": origin,
                       "record_version": None,
                       "changes": {"created": len(rows), "updated": len(plan.updates),
                                   "unchanged": plan.unchanged, "rejected": plan.rejected,
                                   "file": filename[:255]}})
    bulk_insert(AuditEvent.__table__, events)
    progress(95, _("Opslaan"))
    db.session.expire_all()
