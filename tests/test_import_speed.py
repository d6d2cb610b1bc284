"""The fast paths of the organisations import (issue 12: 100,000 rows at ≥ 5,000 a second) give
exactly what the slow ones give: the everyday number shapes, the set-based updates through a
temporary table, the staged insert under the search index's trigger, the narrow scan for
stored rows; and the import costs a number of statements that does not grow with its rows."""

from __future__ import annotations

import decimal
import itertools
import random

import pytest
import sqlalchemy as sa

from import_support import KVK_HEADERS, count, counts, csv_bytes, kvk_row, org_by_kvk, run_import
from sdd_crm import numbers
from sdd_crm.audit.models import AuditEvent
from sdd_crm.extensions import db
from sdd_crm.imports import apply, rules, upsert
from sdd_crm.organisations.models import Establishment, Organisation


# --- numbers ------------------------------------------------------------------------------------

def _strict(text: str, locale: str, monkeypatch):
    """What babel's strict parser reads, without the fast path."""
    with monkeypatch.context() as mp:
        mp.setattr(numbers, "_fast_decimal", lambda t, locale: None)
        try:
            value = numbers.parse_decimal_text(text, locale=locale)
        except numbers.NumberError as exc:
            return "error", exc.message
    return "ok", value, str(value)


def _number_shapes():
    rs = random.Random(12)
    shapes = {"0", "00", "007", "-0", "-12", "+12", "1.250", "1,250", "12,5", "12.5", "1.25.000",
              "12,5,0", ",5", "5,", "1.250.000,00", "1,250,000.00", "0.123", "0,123", "1.000,-",
              "€ 1.250.000,-", "EUR 12,50", "1 250 000", "1.2345", "01.250", "-1.250,5",
              "12345678901234567890", "1.234.567.890.123.456.789", "99.999.999.999.999,99"}
    for _ in range(3000):
        shapes.add("".join(rs.choice("0123456789.,-") for _ in range(rs.randrange(1, 9))))
        value = rs.randrange(0, 10 ** rs.randrange(1, 20))
        grouped = f"{value:,}"
        for decimals in ("", "5", "00", "123456"):
            shapes.add(grouped.replace(",", ".") + ("," + decimals if decimals else ""))
            shapes.add(grouped + ("." + decimals if decimals else ""))
            shapes.add(str(value) + ("," + decimals if decimals else ""))
    return sorted(shapes)


def test_the_fast_number_shapes_read_exactly_as_the_strict_parser_reads_them(monkeypatch):
    """sdd_crm.numbers reads the everyday shapes without babel (forms and imports alike)."""
    fast = 0
    for text, locale in itertools.product(_number_shapes(), ("nl", "en")):
        got = numbers._fast_decimal(numbers.clean(text), locale)
        if got is None:
            continue  # not an everyday shape: the strict parser decides, as before
        fast += 1
        assert ("ok", got, str(got)) == _strict(text, locale, monkeypatch), (text, locale)
        assert numbers.parse_decimal_text(text, locale=locale) == got
        assert rules.parse_number(text, decimal_comma=locale == "nl") == got
    assert fast > 5000  # the shapes of a KvK file do take the fast path
    assert numbers._fast_decimal("1.250.000,00", "nl") == decimal.Decimal("1250000.00")
    assert numbers._fast_decimal("1,250", "en") == decimal.Decimal("1250")
    assert numbers._fast_decimal("1.25.000", "nl") is None  # refused by the strict parser
    assert numbers._fast_decimal("0.123", "nl") is None
    assert numbers._fast_decimal("12", "de") is None  # only the two notations it knows


def test_a_row_with_a_control_character_is_still_refused_by_its_column():
    summary = run_import(csv_bytes(KVK_HEADERS, [
        kvk_row("Werf\x07 Alfa", "12345678"), kvk_row("Werf Beta", "23456789", street="Kade\x01"),
        kvk_row("Werf Gamma", "34567890")]))
    assert counts(summary) == (1, 0, 0, 0, 2)
    assert [(e["row"], e["column"], e["message"]) for e in summary["errors"]] == [
        (2, "Handelsnaam", "De tekst bevat ongeldige tekens."),
        (3, "Straat", "De tekst bevat ongeldige tekens.")]


# --- writing: staged inserts and set-based updates ------------------------------------------------

def _rows(n: int, *, employees: int = 10, legal: str = "", start: int = 0) -> list[list[str]]:
    return [kvk_row(f"Werf {i:03d}", f"{50_000_000 + i}", est=f"{50_000_000 + i}0001",
                    employees=str(employees), city="Dordrecht" if i % 2 else "Sliedrecht")
            + [legal] for i in range(start, start + n)]


HEADERS = KVK_HEADERS + ["Rechtsvorm"]


@pytest.mark.parametrize("stage_above", [0, 10_000])
def test_updates_set_only_what_changed_and_check_the_version(monkeypatch, stage_above):
    """Both ways of writing updates (temporary table and one UPDATE … FROM, or executemany):
    only the changed columns, version + 1, an audit event each; groups of different columns."""
    monkeypatch.setattr(apply, "STAGE_ABOVE", stage_above)
    run_import(csv_bytes(HEADERS, _rows(12)))
    rows = _rows(12, legal="B.V.")
    for row in rows[:4]:
        row[8] = "20"  # employees too
    summary = run_import(csv_bytes(HEADERS, rows))
    assert counts(summary) == (0, 12, 0, 0, 0)
    orgs = db.session.scalars(sa.select(Organisation).order_by(Organisation.kvk_number)).all()
    assert [(o.legal_form, o.employees, o.version) for o in orgs] == \
        [("B.V.", 20, 2)] * 4 + [("B.V.", 10, 2)] * 8
    assert all(o.city in ("Dordrecht", "Sliedrecht") for o in orgs)
    updates = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "update", AuditEvent.entity_type == "organisation")).all()
    assert len(updates) == 12 and {e.record_version for e in updates} == {2}
    assert min(sorted(e.changes) for e in updates) == ["employees", "legal_form"]


@pytest.mark.parametrize("stage_above", [0, 10_000])
def test_a_concurrent_edit_stops_the_set_based_update(monkeypatch, stage_above):
    monkeypatch.setattr(apply, "STAGE_ABOVE", stage_above)
    run_import(csv_bytes(HEADERS, _rows(6)))
    target = org_by_kvk("50000003")
    real_apply = apply.apply_plan

    def edit_first(plan, **kwargs):  # someone saves an organisation after planning
        db.session.execute(sa.update(Organisation).where(Organisation.id == target.id)
                           .values(version=Organisation.version + 1))
        return real_apply(plan, **kwargs)

    monkeypatch.setattr(apply, "apply_plan", edit_first)
    with pytest.raises(apply.ImportConflict):
        run_import(csv_bytes(HEADERS, _rows(6, legal="B.V.") + _rows(2, start=100)))
    db.session.rollback()
    db.session.expire_all()
    assert count(Organisation) == 6 and org_by_kvk("50000100") is None
    assert {o.legal_form for o in db.session.scalars(sa.select(Organisation))} == {None}


def test_staged_inserts_keep_the_search_index_whole(monkeypatch):
    """SQLite: organisations go in through a temporary table (one INSERT … SELECT, so the search
    index's trigger runs in one statement); the index holds exactly the rows."""
    monkeypatch.setattr(apply, "STAGE_ABOVE", 0)
    summary = run_import(csv_bytes(HEADERS, _rows(25)))
    assert summary["created"] == 25 and count(Establishment) == 25
    from sdd_crm.organisations.queries import OrganisationFilters, organisation_list

    found = db.session.scalars(organisation_list(OrganisationFilters(q="erf 01"))).all()
    assert sorted(o.name for o in found) == [f"Werf {i:03d}" for i in range(10, 20)]
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(sa.text("INSERT INTO organisation_search (organisation_search, rank) "
                                   "VALUES ('integrity-check', 1)"))
    # Ids in file order, whatever order the rows went in.
    ids = [org_by_kvk(f"{50_000_000 + i}").id for i in range(25)]
    assert ids == sorted(ids)


def test_stored_rows_are_found_through_the_narrow_scan(monkeypatch):
    """More KvK numbers than SCAN_ABOVE: one scan of (id, KvK number) finds the few stored
    ones, which are then read whole; the plan is the same as with IN lists."""
    run_import(csv_bytes(HEADERS, _rows(5)))
    monkeypatch.setattr(upsert, "SCAN_ABOVE", 3)
    rows = _rows(5, employees=11) + _rows(6, start=200)
    summary = run_import(csv_bytes(HEADERS, rows))
    assert counts(summary) == (6, 5, 0, 0, 0)
    assert org_by_kvk("50000004").employees == 11 and count(Organisation) == 11


def test_the_import_costs_statements_independent_of_its_rows(count_queries):
    """No statement per row: 250 new organisations cost what 450 cost (as do their updates;
    both above STAGE_ABOVE, within one IN list of CHUNK)."""
    assert apply.STAGE_ABOVE < 250 and upsert.CHUNK >= 450
    seen = []
    for n, start in ((250, 0), (450, 1000)):
        with count_queries() as new:
            run_import(csv_bytes(HEADERS, _rows(n, start=start)))
        with count_queries() as changed:
            run_import(csv_bytes(HEADERS, _rows(n, start=start, legal="B.V.")))
        seen.append((new.count, changed.count))
    assert seen[0] == seen[1]


def test_the_import_runs_with_the_sqlite_page_cache_and_temporary_tables_in_memory():
    """sdd_crm.db gives every SQLite connection (the import's too) a 64 MB page cache and keeps
    temporary tables (apply.py's staging tables) in memory."""
    if db.session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's page cache")
    run_import(csv_bytes(HEADERS, _rows(3)))
    connection = db.session.connection()
    assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -65536
    assert connection.exec_driver_sql("PRAGMA temp_store").scalar() == 2  # MEMORY


def test_a_failure_while_the_second_thread_builds_rows_saves_nothing(monkeypatch):
    """apply_plan's second thread (SBI codes, establishments, audit rows): its exception reaches
    the job, which rolls back the organisations already written beside it."""
    from sdd_crm.jobs.models import Job

    run_import(csv_bytes(HEADERS, _rows(2)))

    def broken(*_args, **_kwargs):
        raise RuntimeError("kapot")

    monkeypatch.setattr(apply, "_other_rows", broken)
    with pytest.raises(RuntimeError):
        run_import(csv_bytes(HEADERS, _rows(2, legal="B.V.") + _rows(2, start=100)))
    db.session.rollback()
    db.session.expire_all()
    assert count(Organisation) == 2 and org_by_kvk("50000100") is None
    assert {o.legal_form for o in db.session.scalars(sa.select(Organisation))} == {None}
    failed = db.session.scalars(sa.select(Job).where(Job.status == "failed")).all()
    assert len(failed) == 1 and "er is niets opgeslagen" in failed[0].message
