"""Importing organisations: check the rows, plan what would change, then apply the plan
(issue 6 points 2–4; DESIGN 4.5).

The plan is computed from the file and the database without writing anything; a dry run stops
there, the real run hands the same plan to :mod:`.apply`. So the preview's summary is, by
construction, exactly what the run reports (on the same data).

Upsert rules:

* organisations are matched by KvK number: new → created; stored with other values → updated;
  the same values → unchanged. An empty cell never erases a stored value;
* rows with the same KvK number are one organisation, counted once. Its fields come from its
  rows in file order, the main establishment's row first; the first non-empty cell wins. Each
  distinct establishment number becomes an establishment (vestiging) with its own address; the
  main one is the row marked *hoofdvestiging*, else the one already stored as main, else the
  first in the file, and the organisation's address is the main establishment's;
* a row without a KvK number whose name (ignoring case, punctuation and legal-form words) and
  postcode match an organisation — stored, or created by this file — is held for review when
  it would change something, unchanged when it would not, and otherwise created (rows with the
  same name and postcode are one organisation);
* the municipality comes from the municipality column, else from the place (rules.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _

from ..extensions import db
from ..imports.models import ImportKind, ImportReview
from ..organisations.models import Establishment, Organisation, OrganisationSbi
from ..organisations.queries import final_survivors
from ..organisations.size import size_class
from .reading import Table, is_empty
from .rules import Places, RowCells, clean_organisation_row, clear_caches, normalise_name

ORG_FIELDS = ("name", "org_type", "legal_form", "employees", "annual_turnover_eur",
              "balance_sheet_total_eur", "website", "phone", "email", "description")
ADDRESS = ("street", "postcode", "city", "municipality_code")
EST_FIELDS = ("name", "street", "postcode", "city", "municipality_code", "employees")
ORG_COLUMNS = ("id", "version", "kvk_number", "deleted_at", "merged_into_id", "source",
               "size_class", "parent_id",
               *ORG_FIELDS, *ADDRESS)
EST_COLUMNS = ("id", "version", "organisation_id", "establishment_number", "is_main",
               "deleted_at", *EST_FIELDS)
CHUNK = 500  # ids per IN (...) list: well below SQLite's and PostgreSQL's parameter limits
SCAN_ABOVE = 5000  # more values than this: read the table once instead of IN lists

Progress = Callable[[int, str], None]


@dataclass
class Group:
    """One organisation of the file: its rows, merged."""

    key: str
    kvk: str | None
    rows: list[tuple[int, dict]] = field(default_factory=list)
    org: dict = field(default_factory=dict)
    sbi: list[tuple[str, str]] = field(default_factory=list)
    sbi_main_given: bool = False
    ests: dict[str, dict] = field(default_factory=dict)
    main_in_file: str | None = None
    parent_kvk: str | None = None
    parent_ref: int | str | None = None  # an organisation id, or the key of a group created here

    @property
    def first_row(self) -> int:
        return self.rows[0][0]


@dataclass
class Plan:
    rows: int = 0
    rejected: int = 0
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)  # repaired cells (rules.py), per row
    duplicates_in_file: int = 0
    created: list[Group] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)  # {id, version, values, changes}
    unchanged: int = 0
    held: int = 0
    reviews: list[dict] = field(default_factory=list)  # new ImportReview rows (candidate ref)
    sbi_inserts: list[dict] = field(default_factory=list)  # {org (ref), code, version, is_main}
    sbi_main: list[dict] = field(default_factory=list)  # {organisation_id, code, version, is_main}
    est_inserts: list[dict] = field(default_factory=list)  # {org (ref), values...}
    est_updates: list[dict] = field(default_factory=list)  # {id, version, values, changes, org}
    est_update_by_id: dict = field(default_factory=dict)  # id → its entry in est_updates
    updated_ids: set = field(default_factory=set)
    review_status: dict = field(default_factory=dict)  # (candidate id, row hash) → status
    parents_not_found: int = 0
    criticality_changed: bool = False
    sbi_before: dict = field(default_factory=dict)  # org id → [[code, version, is_main]] (undo)
    revive: set = field(default_factory=set)  # ids of organisations an import undo deleted

    def summary(self, *, dry_run: bool) -> dict:
        return {
            "created": len(self.created), "updated": len(self.updated_ids),
            "unchanged": self.unchanged, "held_for_review": self.held,
            "rejected": self.rejected, "errors": sorted(self.errors, key=lambda e: e["row"]),
            "warnings": self.warnings[:1000], "warnings_total": len(self.warnings),
            "dry_run": dry_run,
            "rows": self.rows, "row_numbers": "spreadsheet",
            "duplicates_in_file": self.duplicates_in_file,
            "establishments": len(self.est_inserts),
            "establishments_updated": len({u["id"] for u in self.est_updates}),
            "parents_not_found": self.parents_not_found,
        }


def _chunks(items, size=CHUNK):
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _reject(plan: Plan, row: int, problems: list[tuple[str, str]]) -> None:
    plan.rejected += 1
    for column, message in problems:
        plan.errors.append({"row": row, "column": column, "message": message})


# --- step 1: rows → groups ---------------------------------------------------------------------

def check_rows(table: Table, mapping: dict[str, str], plan: Plan, progress: Progress):
    """Validate every row; the valid ones as (row number, record)."""
    clear_caches()
    cells = RowCells(table.headers, mapping)
    column = lambda f: cells.column.get(f, "")  # noqa: E731
    places = Places()
    valid = []
    total = max(1, len(table.rows))
    label = _("Rijen controleren")
    for i, row in enumerate(table.rows):
        if i % 5000 == 0:
            progress(5 + 30 * i // total, label)
        if is_empty(row):
            continue
        plan.rows += 1
        values, problems = cells.cells(row)
        warnings: list[tuple[str, str]] = []
        if not problems:  # a shifted or oversized row: its cells mean nothing
            record, problems = clean_organisation_row(values, column, places, warnings=warnings,
                                                      decimal_comma=table.decimal_comma)
        if problems:
            _reject(plan, table.row_number(i), problems)
        else:
            valid.append((table.row_number(i), record))
            plan.warnings.extend({"row": table.row_number(i), "column": c, "message": m}
                                 for c, m in warnings)
    return valid, column


def group_rows(valid: list[tuple[int, dict]]) -> dict[str, Group]:
    groups: dict[str, Group] = {}
    for number, record in valid:
        kvk = record.get("kvk_number")
        key = kvk or "~" + json.dumps([normalise_name(record["name"]), record.get("postcode")])
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(key=key, kvk=kvk)
        group.rows.append((number, record))
    return groups


def merge_group(group: Group, stored_main: str | None) -> None:
    """Fold the group's rows into one organisation (see the module docstring)."""
    if len(group.rows) == 1:
        _merge_one(group, stored_main)
        return
    flagged = next((r["establishment_number"] for _n, r in group.rows
                    if r.get("main_establishment") and r.get("establishment_number")), None)
    numbers = [r["establishment_number"] for _n, r in group.rows if r.get("establishment_number")]
    main = flagged or (stored_main if stored_main in numbers else None) \
        or (numbers[0] if numbers and stored_main is None else None)
    group.main_in_file = main
    ordered = sorted(group.rows, key=lambda nr: nr[1].get("establishment_number") != main)
    for _number, record in ordered:
        for key in ORG_FIELDS:
            if key in record and key not in group.org:
                group.org[key] = record[key]
        if record.get("parent_kvk") and not group.parent_kvk:
            group.parent_kvk = record["parent_kvk"]
        for code in record.get("sbi_codes", ()):
            if code not in group.sbi:
                group.sbi.append(code)
        if record.get("sbi_main_given") and not group.sbi_main_given:
            group.sbi_main_given = True
            first = record["sbi_codes"][0]
            group.sbi.remove(first)
            group.sbi.insert(0, first)
        number = record.get("establishment_number")
        if number:
            est = group.ests.setdefault(number, {})
            for key in EST_FIELDS:
                if key in record and key not in est:
                    est[key] = record[key]
    # The address: the main establishment's row, else a row without an establishment number
    # (a side establishment's address is not the organisation's).
    for _number, record in ordered:
        number = record.get("establishment_number")
        if (number is None or number == main) and any(k in record for k in ADDRESS):
            group.org.update({k: record[k] for k in ADDRESS if k in record})
            break


def _merge_one(group: Group, stored_main: str | None) -> None:
    """:func:`merge_group` for a group of one row (nearly every group of a KvK file): the same
    result without the loops that merge several rows."""
    record = group.rows[0][1]
    number = record.get("establishment_number")
    main = (number if record.get("main_establishment") else None) or \
        (stored_main if stored_main == number and number else None) or \
        (number if stored_main is None else None) if number else None
    group.main_in_file = main
    group.org = {key: record[key] for key in ORG_FIELDS if key in record}
    if record.get("parent_kvk"):
        group.parent_kvk = record["parent_kvk"]
    codes = record.get("sbi_codes")
    if codes:
        group.sbi = list(dict.fromkeys(codes))
        if record.get("sbi_main_given"):
            group.sbi_main_given = True
    if number:
        group.ests[number] = {key: record[key] for key in EST_FIELDS if key in record}
    if number is None or number == main:
        address = {key: record[key] for key in ADDRESS if key in record}
        if address:
            group.org.update(address)


# --- step 2: what is stored --------------------------------------------------------------------

def _load(table, columns, where_col, values) -> list[dict]:
    """Rows whose ``where_col`` is one of ``values``: by IN lists for a few, by one scan of the
    table for many. (Hundreds of IN lists over a table just bulk-loaded, whose statistics are
    not updated yet, made PostgreSQL scan it for each: 50 s instead of 1 for 20,000 rows.)
    The scan reads only ``where_col`` and the id first; when few rows match (a file of new
    organisations), only those are then read whole."""
    cols = [table.c[c] for c in columns]
    values = set(values)
    if len(values) > SCAN_ABOVE:
        if "id" in table.c:
            found = {row_id for row_id, value in db.session.execute(
                sa.select(table.c.id, where_col).where(where_col.is_not(None))).all()
                if value in values}
            if len(found) <= SCAN_ABOVE:
                return _load(table, columns, table.c.id, found)
        at = columns.index(where_col.key)
        return [dict(zip(columns, r)) for r in db.session.execute(
            sa.select(*cols).where(where_col.is_not(None))).all() if r[at] in values]
    out = []
    for chunk in _chunks(sorted(values)):
        out.extend(dict(zip(columns, r)) for r in db.session.execute(
            sa.select(*cols).where(where_col.in_(chunk))).all())
    return out


def follow_merges(org_t, columns, by_kvk: dict[str, dict]) -> None:
    """A KvK number of a record merged into another (the survivor kept its own number) stands
    for the survivor: the import updates the survivor, never the merged record. ``by_kvk``
    holds rows with ``columns`` (``id`` and ``merged_into_id`` among them); a merged row is
    replaced by its final survivor's (:func:`~sdd_crm.organisations.queries.final_survivors`)."""
    merged = {k: o["id"] for k, o in by_kvk.items() if o["merged_into_id"]}
    if not merged:
        return
    survivors = final_survivors(merged.values())
    rows = {o["id"]: o for o in _load(org_t, columns, org_t.c.id, set(survivors.values()))}
    for kvk, org_id in merged.items():
        row = rows.get(survivors.get(org_id))
        if row is not None:
            by_kvk[kvk] = row


def load_stored(groups: dict[str, Group]) -> dict:
    org_t, est_t, sbi_t = (Organisation.__table__, Establishment.__table__,
                           OrganisationSbi.__table__)
    kvks = [g.kvk for g in groups.values() if g.kvk]
    # (The groups are not merged yet: merging needs the stored main establishments.)
    parents = {r["parent_kvk"] for g in groups.values() for _n, r in g.rows
               if r.get("parent_kvk")} - set(kvks)
    by_kvk = {o["kvk_number"]: o for o in _load(org_t, ORG_COLUMNS, org_t.c.kvk_number,
                                                 kvks + sorted(parents))}
    follow_merges(org_t, ORG_COLUMNS, by_kvk)
    # Candidates for rows without a KvK number: same postcode (or both without one).
    loose = [json.loads(g.key[1:])[1] for g in groups.values() if not g.kvk]  # their postcodes
    postcodes = sorted(set(loose) - {None})
    candidates = [o for o in _load(org_t, ORG_COLUMNS, org_t.c.postcode, postcodes)
                  if o["deleted_at"] is None and o["merged_into_id"] is None]
    if None in loose:
        candidates += [dict(zip(ORG_COLUMNS, r)) for r in db.session.execute(
            sa.select(*[org_t.c[c] for c in ORG_COLUMNS])
            .where(org_t.c.postcode.is_(None), org_t.c.deleted_at.is_(None),
                   org_t.c.merged_into_id.is_(None)))]
    by_name = {}
    for org in sorted(candidates, key=lambda o: o["id"]):
        by_name.setdefault(json.dumps([normalise_name(org["name"]), org["postcode"]]), org)
    ids = {o["id"] for o in by_kvk.values()} | {o["id"] for o in by_name.values()}
    numbers = {r["establishment_number"] for g in groups.values() for _n, r in g.rows
               if r.get("establishment_number")}
    ests = {e["id"]: e for e in _load(est_t, EST_COLUMNS, est_t.c.organisation_id, ids)}
    ests.update({e["id"]: e for e in _load(est_t, EST_COLUMNS, est_t.c.establishment_number,
                                           numbers)})
    sbi: dict[int, list[dict]] = {}
    for row in _load(sbi_t, ("organisation_id", "code", "version", "is_main"),
                     sbi_t.c.organisation_id, ids):
        sbi.setdefault(row["organisation_id"], []).append(row)
    est_by_org: dict[int, list[dict]] = {}
    for est in ests.values():
        est_by_org.setdefault(est["organisation_id"], []).append(est)
    return {"by_kvk": by_kvk, "by_name": by_name, "sbi": sbi, "ests": ests,
            "est_by_org": est_by_org,
            "est_by_number": {e["establishment_number"]: e for e in ests.values()
                              if e["establishment_number"]}}


# --- step 3: the plan --------------------------------------------------------------------------

def plan_organisations(table: Table, mapping: dict[str, str], *, progress: Progress) -> Plan:
    """Everything the import would do, without writing."""
    plan = Plan()
    valid, column = check_rows(table, mapping, plan, progress)
    progress(36, _("Vergelijken met de gegevens in het CRM"))
    groups = group_rows(valid)
    stored = load_stored(groups)
    _drop_conflicts(groups, stored, plan, column)
    plan.duplicates_in_file = sum(len(g.rows) for g in groups.values()) - len(groups)
    org_ids = {g.key: stored["by_kvk"][g.kvk]["id"] for g in groups.values()
               if g.kvk in stored["by_kvk"]}
    for group in groups.values():
        existing = stored["by_kvk"].get(group.kvk) if group.kvk else None
        own = stored["est_by_org"].get(existing["id"], []) if existing is not None else []
        merge_group(group, next((e["establishment_number"] for e in own
                                 if e["is_main"] and e["deleted_at"] is None), None))
    file_by_name = {}  # only rows without a KvK number look names up
    for group in groups.values() if any(not g.kvk for g in groups.values()) else ():
        if group.kvk:
            name_key = json.dumps([normalise_name(group.org["name"]), group.org.get("postcode")])
            file_by_name.setdefault(name_key, group)
    _resolve_parents(groups, stored, plan, org_ids)
    plan.review_status = existing_reviews([o["id"] for o in stored["by_name"].values()])
    from .planning import plan_group  # planning.py builds on this module's names

    for i, group in enumerate(groups.values()):
        if i % 5000 == 0:
            progress(36 + 22 * i // max(1, len(groups)), _("Vergelijken met de gegevens in het CRM"))
        plan_group(group, stored, plan, file_by_name)
    return plan


def _drop_conflicts(groups: dict[str, Group], stored: dict, plan: Plan, column) -> None:
    """Rows that cannot be applied: a deleted organisation's KvK number, an establishment number
    that belongs to another organisation (stored or earlier in the file)."""
    owner_in_file: dict[str, str] = {}
    deleted = [o["id"] for o in stored["by_kvk"].values() if o["deleted_at"] is not None]
    if deleted:  # deleted by the undo of the import that made them: this import revives them
        from .undo import undone_creations

        for org_id in undone_creations(deleted):
            plan.revive.add(org_id)
    for key in list(groups):
        group = groups[key]
        existing = stored["by_kvk"].get(group.kvk) if group.kvk else None
        if existing is not None and existing["deleted_at"] is not None \
                and existing["id"] not in plan.revive:
            for number, _record in group.rows:
                _reject(plan, number, [(column("kvk_number"), _(
                    "Dit KvK-nummer hoort bij een verwijderde organisatie (%(name)s); een "
                    "beheerder kan die herstellen.", name=existing["name"]))])
            del groups[key]
            continue
        keep = []
        for number, record in group.rows:
            est_number = record.get("establishment_number")
            problem = None
            if est_number:
                stored_est = stored["est_by_number"].get(est_number)
                if stored_est is not None and (existing is None
                                               or stored_est["organisation_id"] != existing["id"]):
                    problem = _("Dit vestigingsnummer hoort bij een andere organisatie.")
                elif owner_in_file.setdefault(est_number, key) != key:
                    problem = _("Dit vestigingsnummer staat in dit bestand al bij een andere "
                                "organisatie.")
            if problem:
                _reject(plan, number, [(column("establishment_number"), problem)])
            else:
                keep.append((number, record))
        if keep:
            group.rows = keep
        else:
            del groups[key]


def _resolve_parents(groups, stored, plan: Plan, org_ids: dict[str, int]) -> None:
    """Each group's parent organisation by KvK number: stored, or created by this file (a
    group key until it has an id); unknown or circular → not set, and counted."""
    file_keys = {g.kvk: g.key for g in groups.values() if g.kvk}
    parent_of: dict = {}  # planned parent links, refs → refs

    def stored_parent(ref):
        if ref in parent_of:
            return parent_of[ref]
        if isinstance(ref, int):
            return db.session.scalar(sa.select(Organisation.parent_id).where(Organisation.id == ref))
        return None

    for group in groups.values():
        if not group.parent_kvk or group.parent_kvk == group.kvk:
            continue
        parent = stored["by_kvk"].get(group.parent_kvk)
        if parent is not None and parent["deleted_at"] is None:
            ref = parent["id"]
        elif group.parent_kvk in file_keys:
            ref = org_ids.get(file_keys[group.parent_kvk], file_keys[group.parent_kvk])
        else:
            plan.parents_not_found += 1
            continue
        own, node, seen = org_ids.get(group.key, group.key), ref, set()
        while node is not None and node != own and node not in seen and len(seen) < 1000:
            seen.add(node)
            node = stored_parent(node)
        if node == own:  # it would end up under itself
            plan.parents_not_found += 1
            continue
        group.parent_ref = ref
        parent_of[own] = ref


def row_hash(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def existing_reviews(candidate_ids: list[int]) -> dict[tuple[int, str], str]:
    """Status of the stored reviews of these candidates, by (candidate id, row hash)."""
    out = {}
    for chunk in _chunks(sorted(set(candidate_ids))):
        for cid, h, status in db.session.execute(
                sa.select(ImportReview.candidate_id, ImportReview.row_hash, ImportReview.status)
                .where(ImportReview.candidate_id.in_(chunk),
                       ImportReview.kind == ImportKind.ORGANISATIONS)):
            out[(cid, h)] = status
    return out


def new_size_class(values: dict) -> str:
    return size_class(values.get("employees"), values.get("annual_turnover_eur"),
                      values.get("balance_sheet_total_eur"))
