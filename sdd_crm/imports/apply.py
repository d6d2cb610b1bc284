"""Applying an import plan with bulk statements, and auditing it (issue 6 points 3 and 10).

100,000 rows in well under a minute means no ORM object per row and no flush per row: rows go
in with executemany (inserts with RETURNING for the new ids) in the caller's transaction.
The audit flush hook does not see Core statements, so the import writes its own audit events,
in bulk and in the same transaction (no change without its audit, no audit without its change):

* one ``create`` event per created organisation and establishment, with every stored value
  (``[null, value]``), and one ``update`` event per updated one, with ``[before, after]`` per
  changed field (SBI codes as ``sbi_codes``) — the same shape the flush hook writes;
* one ``import`` event on the job (``entity_type`` "job") with the summary counts;
* all with ``source`` "import", the user who started the import, the client address of the
  request that started it (``origin``; None from the CLI) and, for records, ``record_version``:
  the row's version after the change (1 when created; the version the update wrote).

Updates check the version they read (``WHERE version = …``), as every edit does: if someone
changed an organisation between planning and writing, the import stops and rolls back
(:class:`ImportConflict`) rather than overwrite it silently; running it again re-plans.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import decimal
import functools
import itertools
import json
import operator
import re

import sqlalchemy as sa
from flask_babel import gettext as _

from ..audit.models import AuditEvent
from ..db import utcnow
from ..extensions import db
from ..imports.models import ImportChange, ImportKind, ImportReview, ReviewStatus
from ..organisations.models import Establishment, Organisation, OrganisationSbi
from ..signals import organisation_changed, organisations_written
from .planning import UPDATE_COLUMNS, sbi_label
from .upsert import ADDRESS, EST_FIELDS, ORG_FIELDS, Plan, Progress, new_size_class

BATCH = 5000
AUDIT_SOURCE = "import"


class ImportConflict(Exception):
    """Stored data changed while the import ran; the import rolls back and can run again."""

    def __init__(self):
        super().__init__(_("Organisaties zijn tijdens de import door iemand anders gewijzigd; "
                           "er is niets opgeslagen. Start de import opnieuw."))


def jsonable(value):
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _batches(rows, size=BATCH):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def allocate_ids(table, n: int) -> list[int]:
    """``n`` new primary keys for ``table``. PostgreSQL: from its sequence (safe alongside other
    writers). SQLite: after the highest id — SQLite lets one transaction write at a time, and a
    writer that committed since we read fails our insert (SQLITE_BUSY_SNAPSHOT) rather than
    clash. (INSERT … RETURNING in parameter order runs row by row on SQLite: 10× slower.)"""
    if n == 0:
        return []
    if db.session.get_bind().dialect.name == "postgresql":
        sequence = db.session.scalar(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"),
                                     {"t": table.name})
        return list(db.session.scalars(sa.text("SELECT nextval(:s) FROM generate_series(1, :n)"),
                                       {"s": sequence, "n": n}))
    start = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0)))
    return list(range(start + 1, start + n + 1))


def _insert_returning(table, rows) -> list[int]:
    """Insert ``rows`` (dicts) with ids of their own; the ids, in order."""
    ids = allocate_ids(table, len(rows))
    for row, new_id in zip(rows, ids):
        row["id"] = new_id
    bulk_insert(table, rows)
    return ids


_JSON = json.JSONEncoder(default=str)


def _converter(column, dialect: str):
    """What the DBAPI needs for this column's Python values, bypassing SQLAlchemy's per-value
    processing (a third of the import's time): JSON as text; on SQLite also dates and times
    as SQLAlchemy stores them, and decimals as floats (as SQLAlchemy's Numeric does there)."""
    kind = column.type
    if isinstance(kind, sa.JSON):
        return _JSON.encode  # json.dumps(v, default=str), without a new encoder per value
    if dialect != "sqlite":
        return None
    if isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, sa.DateTime):  # one "now" for the whole import: format it once
        return functools.lru_cache(maxsize=64)(
            lambda v: v.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f"))
    if isinstance(kind, sa.Date):
        return lambda v: v.isoformat()
    if isinstance(kind, sa.Numeric) and not isinstance(kind, (sa.Integer, sa.Float)):
        return float
    return None


def _row_tuples(table, columns, dialect: str):
    """A function turning dicts with (at least) ``columns`` into DBAPI tuples."""
    convert = [(i, fn) for i, c in enumerate(columns) if (fn := _converter(table.c[c], dialect))]
    pick = operator.itemgetter(*columns) if len(columns) > 1 else (lambda row: (row[columns[0]],))

    def tuples(rows):
        if not convert:
            yield from map(pick, rows)
            return
        for row in rows:
            values = list(pick(row))
            for i, fn in convert:
                if values[i] is not None:
                    values[i] = fn(values[i])
            yield tuple(values)
    return tuples


def _has_row_triggers(table, event: str) -> bool:
    """SQLite: whether ``table`` has a trigger on ``event`` (INSERT, UPDATE), such as the one
    keeping the organisation name search (FTS5) current."""
    pattern = re.compile(rf"\b{event}\b(\s+OF\b[^;]*?)?\s+ON\b", re.IGNORECASE)
    return any(pattern.search(sql or "") for sql in db.session.connection().exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
        (table.name,)).scalars())


def _stage(table, columns, tuples) -> str:
    """Rows into a temporary table of the same column types, for one set-based statement:
    PostgreSQL by COPY, SQLite by executemany (then a trigger on the real table, such as the
    search index's, runs inside one statement instead of one per row: 5× cheaper there)."""
    connection = db.session.connection()
    stage = f"import_stage_{table.name}"
    names = ", ".join(f'"{c}"' for c in columns)
    if connection.dialect.name == "postgresql":
        with connection.connection.dbapi_connection.cursor() as cursor:
            cursor.execute(f'DROP TABLE IF EXISTS pg_temp."{stage}"')
            cursor.execute(f'CREATE TEMPORARY TABLE "{stage}" ON COMMIT DROP AS '
                           f'SELECT {names} FROM "{table.name}" WITH NO DATA')
            with cursor.copy(f'COPY "{stage}" ({names}) FROM STDIN') as copy:
                for values in tuples:
                    copy.write_row(values)
        return stage
    connection.exec_driver_sql(f'DROP TABLE IF EXISTS temp."{stage}"')
    connection.exec_driver_sql(f'CREATE TEMPORARY TABLE "{stage}" AS '
                               f'SELECT {names} FROM main."{table.name}" WHERE 0')
    marks = ", ".join("?" for _c in columns)
    tuples = iter(tuples)
    while batch := list(itertools.islice(tuples, BATCH)):
        connection.exec_driver_sql(f'INSERT INTO temp."{stage}" ({names}) VALUES ({marks})', batch)
    return stage


def _drop_stage(stage: str) -> None:
    connection = db.session.connection()
    schema = "pg_temp" if connection.dialect.name == "postgresql" else "temp"
    connection.exec_driver_sql(f'DROP TABLE {schema}."{stage}"')


STAGE_ABOVE = 200  # rows: fewer go by plain executemany


def bulk_insert(table, rows: list[dict]) -> None:
    """INSERT many rows fast, in the session's transaction: PostgreSQL COPY; SQLite
    executemany, or for a table with an insert trigger executemany into a temporary table and
    one INSERT … SELECT from it (see :func:`_stage`)."""
    if not rows:
        return
    columns = list(rows[0])
    tuples = _row_tuples(table, columns, db.session.connection().dialect.name)
    insert_tuples(table, columns, list(tuples(rows)))


def insert_tuples(table, columns, rows: list[tuple]) -> None:
    """:func:`bulk_insert` for rows already in the DBAPI's terms (see :func:`_row_tuples`)."""
    if not rows:
        return
    connection = db.session.connection()
    names = ", ".join(f'"{c}"' for c in columns)
    if connection.dialect.name == "postgresql":
        with connection.connection.dbapi_connection.cursor() as cursor:
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for values in rows:
                    copy.write_row(values)
        return
    if len(rows) > STAGE_ABOVE and _has_row_triggers(table, "INSERT"):
        stage = _stage(table, columns, rows)
        connection.exec_driver_sql(f'INSERT INTO main."{table.name}" ({names}) '
                                   f'SELECT {names} FROM temp."{stage}"')
        _drop_stage(stage)
        return
    marks = ", ".join("?" for _c in columns)
    for batch in _batches(rows):
        connection.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
                                   batch)


def update_versioned(table, updates: list[dict], columns, now, *, order=None) -> None:
    """Write ``updates`` ({id, version, values, changes}), each checked against the version it
    read (``WHERE id = … AND version = …``), or fail with :class:`ImportConflict`. Each row
    gets ``version + 1`` and ``updated_at = now``, and only the columns (of ``columns``) that
    its ``changes`` name: setting the others to what they hold would cost an index update
    per indexed column on SQLite, and fire the search index's trigger. Rows that change the
    same columns go together: a few by executemany, more through a temporary table and one
    ``UPDATE … FROM`` it (PostgreSQL: one round trip instead of one per row; SQLite: the
    triggers run within one statement). ``order``: a sort key for the order in which the rows
    are written (see the organisations' insert in :func:`apply_plan`)."""
    groups: dict[tuple, list[dict]] = {}
    for update in sorted(updates, key=order) if order else updates:
        changed = tuple(c for c in columns if c in update["changes"])
        groups.setdefault(changed, []).append(update)
    for changed, group in groups.items():
        _update_group(table, changed, group, now)


def _update_group(table, changed: tuple, updates: list[dict], now) -> None:
    connection = db.session.connection()
    dialect = connection.dialect.name
    now_value = _converter(table.c.updated_at, dialect)
    now_value = now_value(now) if now_value else now
    mark = "?" if dialect == "sqlite" else "%s"
    if len(updates) > STAGE_ABOVE:
        columns = ("id", "version", *changed)
        tuples = _row_tuples(table, columns, dialect)
        stage = _stage(table, columns, tuples(
            {**u["values"], "id": u["id"], "version": u["version"]} for u in updates))
        sets = "".join(f'"{c}" = u."{c}", ' for c in changed)
        result = connection.exec_driver_sql(
            f'UPDATE "{table.name}" AS t SET {sets}"version" = t."version" + 1, '
            f'"updated_at" = {mark} FROM {"pg_temp" if dialect == "postgresql" else "temp"}.'
            f'"{stage}" AS u WHERE t."id" = u."id" AND t."version" = u."version"',
            (now_value,))
        written = result.rowcount
        _drop_stage(stage)
        if written != len(updates):
            raise ImportConflict()
        return
    tuples = _row_tuples(table, changed, dialect) if changed else None
    sets = "".join(f'"{c}" = {mark}, ' for c in changed)
    sql = (f'UPDATE "{table.name}" SET {sets}"version" = "version" + 1, "updated_at" = {mark} '
           f'WHERE "id" = {mark} AND "version" = {mark}')
    for batch in _batches(updates):
        values = tuples(u["values"] for u in batch) if tuples else itertools.repeat(())
        params = [(*new, now_value, update["id"], update["version"])
                  for new, update in zip(values, batch)]
        result = connection.exec_driver_sql(sql, params)
        if result.rowcount != len(batch):
            raise ImportConflict()


def apply_plan(plan: Plan, *, actor_id: int | None, source: str, filename: str,
               job_id: str | None, progress: Progress, origin: str | None = None) -> None:
    """Write what ``plan`` says, in the current transaction (the caller commits).

    The ids come first; then, while the database takes the organisations (seconds at 100,000:
    their many indexes), a second thread turns the plan into the rows of the other tables and
    the audit trail (pure Python: it touches neither the session nor the database; both
    SQLite and the PostgreSQL driver release the interpreter while the database works)."""
    now = utcnow()
    org_t, est_t = Organisation.__table__, Establishment.__table__
    dialect = db.session.connection().dialect.name
    label = _("Opslaan")
    progress(60, label)

    # 1. New organisations and establishments get their ids; everything refers to them.
    created_rows = []
    fields = ORG_FIELDS + ADDRESS
    for group in plan.created:
        values = {k: group.org.get(k) for k in fields}
        values.update(kvk_number=group.kvk, org_type=group.org.get("org_type") or "company",
                      status="active", is_critical=False, size_class=new_size_class(values),
                      source=source[:200], version=1, created_at=now, updated_at=now,
                      parent_id=group.parent_ref if isinstance(group.parent_ref, int) else None)
        created_rows.append(values)
    new_ids = allocate_ids(org_t, len(created_rows))
    ids = {group.key: new_id for group, new_id in zip(plan.created, new_ids)}
    for row, new_id in zip(created_rows, new_ids):
        row["id"] = new_id
    # A parent created by this file is set once all are in (it may come later in the insert).
    later_parents = [{"k_id": ids[g.key], "v_parent": ids[g.parent_ref]}
                     for g in plan.created if isinstance(g.parent_ref, str)]
    for update in plan.updates:
        if "parent_id" in update["changes"]:
            update["changes"]["parent_id"][1] = _ref(ids, update["changes"]["parent_id"][1])
            update["values"]["parent_id"] = _ref(ids, update["values"]["parent_id"])
    est_ids = allocate_ids(est_t, len(plan.est_inserts))
    org_columns = list(created_rows[0]) if created_rows else []
    # In name order: most of the organisation's indexes lead with the name or a column of a
    # few values and then the name, so each gets its new entries in a few places rather than
    # all over (PostgreSQL with 100,000 new rows: 10 s instead of 34 in the server).
    org_tuples = list(_row_tuples(org_t, org_columns, dialect)(
        sorted(created_rows, key=operator.itemgetter("name")))) if created_rows else []

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="import") as pool:
        rest = pool.submit(_other_rows, plan, ids=ids, est_ids=est_ids, created_rows=created_rows,
                           later_parents=later_parents, now=now, dialect=dialect,
                           actor_id=actor_id, origin=origin, job_id=job_id, filename=filename)
        insert_tuples(org_t, org_columns, org_tuples)
        if later_parents:
            db.session.execute(sa.update(org_t).where(org_t.c.id == sa.bindparam("k_id"))
                               .values(parent_id=sa.bindparam("v_parent")), later_parents)
        progress(70, label)

        # 2. Updated organisations (version-checked).
        update_versioned(org_t, plan.updates, UPDATE_COLUMNS + ("deleted_at",), now,
                         order=lambda u: (u["values"]["name"], u["id"]))
        if plan.revive:  # organisations an import undo deleted, back with this import
            revived = [u["id"] for u in plan.updates if "deleted_at" in u["changes"]]
            for chunk in _batches(revived):
                db.session.execute(sa.update(org_t).where(org_t.c.id.in_(chunk))
                                   .values(deleted_by_id=None))
        organisations_written.send(None, ids=[u["id"] for u in plan.updates])
        progress(78, label)
        rows = rest.result()

    # 3. SBI codes and establishments.
    sbi_t = OrganisationSbi.__table__
    insert_tuples(sbi_t, *rows["sbi"])
    if plan.sbi_main:
        db.session.execute(
            sa.update(sbi_t).where(sbi_t.c.organisation_id == sa.bindparam("k_org"),
                                   sbi_t.c.code == sa.bindparam("k_code"),
                                   sbi_t.c.version == sa.bindparam("k_version"))
            .values(is_main=sa.bindparam("v_main")),
            [{"k_org": s["organisation_id"], "k_code": s["code"], "k_version": s["version"],
              "v_main": s["is_main"]} for s in plan.sbi_main])
    insert_tuples(est_t, *rows["establishments"])
    update_versioned(est_t, plan.est_updates, EST_FIELDS + ("is_main", "deleted_at"), now)
    progress(86, label)

    # 4. Rows held for review.
    if plan.reviews:
        bulk_insert(ImportReview.__table__, [
            {"job_id": job_id, "kind": ImportKind.ORGANISATIONS.value, "source": filename[:255],
             "row_number": r["row_number"], "row_hash": r["row_hash"], "data": r["data"],
             "candidate_id": _ref(ids, r["candidate"]), "status": ReviewStatus.PENDING.value,
             "created_at": now} for r in plan.reviews])

    # 5. The audit trail.
    insert_tuples(AuditEvent.__table__, *rows["events"])
    insert_tuples(ImportChange.__table__, *rows["changes"])
    progress(95, label)

    if plan.criticality_changed:
        organisation_changed.send(None, reason="import")
    db.session.expire_all()  # ORM objects loaded earlier must see the new rows


def _ref(ids: dict, value):
    """An organisation id, or the id of the group (a key) created by this import."""
    return ids[value] if isinstance(value, str) else value


def _other_rows(plan: Plan, *, ids, est_ids, created_rows, later_parents, now, dialect,
                actor_id, origin, job_id, filename) -> dict:
    """The SBI codes, establishments and audit events to insert, each as (columns, tuples).
    Pure Python (it runs beside the organisations' insert): no session, no database."""
    est_t, sbi_t = Establishment.__table__, OrganisationSbi.__table__
    if later_parents:  # the audit shows the parent the row ends up with
        for group, row in zip(plan.created, created_rows):
            if isinstance(group.parent_ref, str):
                row["parent_id"] = ids[group.parent_ref]

    def table_rows(table, rows):
        if not rows:
            return [], []
        columns = list(rows[0])
        return columns, list(_row_tuples(table, columns, dialect)(rows))

    sbi_rows = [{"organisation_id": _ref(ids, s["org"]), "code": s["code"],
                 "version": s["version"], "is_main": s["is_main"]} for s in plan.sbi_inserts]
    est_rows = [{"organisation_id": _ref(ids, e["org"]),
                 "establishment_number": e["establishment_number"], "is_main": e["is_main"],
                 **{k: e.get(k) for k in EST_FIELDS}, "version": 1, "created_at": now,
                 "updated_at": now, "id": est_id}
                for e, est_id in zip(plan.est_inserts, est_ids)]

    sbi_by_org: dict = {}
    for s in plan.sbi_inserts:
        if isinstance(s["org"], str):
            sbi_by_org.setdefault(ids[s["org"]], []).append(sbi_label((s["code"], s["version"])))
    events = []

    def event(action, entity_type, entity_id, changes, version=None):
        events.append({"at": now, "user_id": actor_id, "action": action,
                       "entity_type": entity_type, "entity_id": str(entity_id),
                       "changes": changes, "source": AUDIT_SOURCE, "origin": origin,
                       "record_version": version})

    skip = {"created_at", "updated_at", "version", "id"}
    money = ("annual_turnover_eur", "balance_sheet_total_eur")  # the only non-JSON values here
    for row in created_rows:
        changes = {k: [None, v] for k, v in row.items() if v is not None and k not in skip}
        for k in money:
            if k in changes:
                changes[k][1] = str(changes[k][1])
        if row["id"] in sbi_by_org:
            changes["sbi_codes"] = [[], sbi_by_org[row["id"]]]
        event("create", "organisation", row["id"], changes, row["version"])
    for update in plan.updates:  # update_versioned wrote version + 1
        changes = {k: [jsonable(a), jsonable(b)] for k, (a, b) in update["changes"].items()}
        event("update", "organisation", update["id"], changes, update["version"] + 1)
    for row in est_rows:
        event("create", "establishment", row["id"],
              {k: [None, v] for k, v in row.items() if v is not None and k not in skip},
              row["version"])
    for update in plan.est_updates:
        event("update", "establishment", update["id"],
              {k: [jsonable(a), jsonable(b)] for k, (a, b) in update["changes"].items()},
              update["version"] + 1)
    changes_rows = []  # what the import did, for its undo (ImportChange)
    if job_id:
        def change(entity_type, entity_id, action, changes, version, extra=None):
            changes_rows.append({"job_id": job_id, "entity_type": entity_type,
                                 "entity_id": entity_id, "action": action, "changes": changes,
                                 "extra": extra, "record_version": version})

        for row in created_rows:
            change("organisation", row["id"], "create", {}, row["version"])
        for update in plan.updates:
            change("organisation", update["id"], "update",
                   {k: [jsonable(a), jsonable(b)] for k, (a, b) in update["changes"].items()},
                   update["version"] + 1,
                   {"sbi": plan.sbi_before[update["id"]]} if update["id"] in plan.sbi_before
                   else None)
        new_orgs = {row["id"] for row in created_rows}
        for row in est_rows:  # an establishment of a new organisation goes (and comes) with it
            if row["organisation_id"] not in new_orgs:
                change("establishment", row["id"], "create", {}, row["version"])
        for update in plan.est_updates:
            change("establishment", update["id"], "update",
                   {k: [jsonable(a), jsonable(b)] for k, (a, b) in update["changes"].items()},
                   update["version"] + 1)
        summary = plan.summary(dry_run=False)
        event("import", "job", job_id,
              {k: summary[k] for k in ("created", "updated", "unchanged", "held_for_review",
                                       "rejected", "establishments")} | {"file": filename[:255]})
    return {"sbi": table_rows(sbi_t, sbi_rows), "establishments": table_rows(est_t, est_rows),
            "events": table_rows(AuditEvent.__table__, events),
            "changes": table_rows(ImportChange.__table__, changes_rows)}
