"""How fast is an organisations import of 100,000 rows? (`make bench-import`; issue 6: < 60 s,
issue 12: ≥ 5,000 rows a second on SQLite and PostgreSQL)

Writes a KvK-style CSV (Windows-1252, ``;``, Dutch headers and number format, 100,000 rows of
distinct KvK numbers with an establishment each, addresses, SBI codes, employees, turnover,
phone numbers and websites) and imports it into a scratch database through the job, exactly
as ``flask import organisations FILE`` runs it: read, check, plan, write, audit, in one
transaction. Then it imports the same file again (0 created, 0 updated), then a version with
a changed legal form in every row (every organisation updated) and, as the yardstick,
inserts the same rows (already parsed) with one raw DBAPI ``executemany`` into a bare copy of
the organisation table. It prints seconds, rows per second and this process's CPU seconds for
each (on a shared machine the CPU time is the steadier figure; PostgreSQL's own work is not in
it); it asserts nothing. ``benchmarks/bulk.py`` times the same import for ``make bench``.

SQLite always; PostgreSQL too when DATABASE_URL or TEST_DATABASE_URL is set (a database
``sdd_crm_bench_import`` on that server, dropped afterwards).

    python -m benchmarks.bench_import [--rows 100000] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "sdd_crm_bench_import"
PLACES = ["Dordrecht", "Zwijndrecht", "Heerjansdam", "Papendrecht", "Sliedrecht", "Alblasserdam",
          "Hendrik-Ido-Ambacht", "Hardinxveld-Giessendam", "Gorinchem", "Breda", "Rotterdam"]
WORDS = ["Scheepsbouw", "Jachtservice", "Staalconstructies", "Elektro", "Warmtetechniek",
         "Baggermaterieel", "Ingenieursbureau", "Lasbedrijf", "Installatietechniek", "Logistiek"]
SBI = ["3315", "3011", "4291", "4322", "7112", "2511", "6201", "4941"]
HEADERS = ["Handelsnaam", "KvK-nummer", "Vestigingsnummer", "Rechtsvorm", "Straat", "Huisnummer",
           "Postcode", "Plaats", "SBI-code", "Werkzame personen", "Omzet", "Telefoon", "Website"]


def make_csv(n: int, seed: int = 20261128) -> bytes:
    rs = random.Random(seed)
    kvks = rs.sample(range(10_000_000, 99_999_999), n)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    for i, kvk in enumerate(kvks):
        turnover = rs.randrange(50_000, 90_000_000)
        writer.writerow([
            f"{rs.choice(WORDS)} {rs.choice(PLACES)} {i} B.V.", f"{kvk:08d}", f"{kvk:08d}0001",
            "Besloten Vennootschap", f"Havenweg", str(rs.randrange(1, 400)),
            f"{rs.randrange(1000, 9999)} {rs.choice('ABCDEFGHJKLMNPRTVWXZ')}{rs.choice('ABCDEFGHJKLMNPRSTVWXZ')}",
            rs.choice(PLACES), rs.choice(SBI), str(rs.randrange(1, 900)),
            f"{turnover:,}".replace(",", ".") + ",00", f"078-{rs.randrange(1000000, 9999999)}",
            f"www.bedrijf{i}.nl"])
    return out.getvalue().encode("cp1252")


def _config(url: str) -> dict:
    return {"TESTING": True, "SECRET_KEY": "benchmark", "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_STORAGE_URI": "memory://", "CRITICALITY_AUTO_RECOMPUTE": False}


def run(url: str, label: str, data: bytes, n: int) -> None:
    from flask_migrate import upgrade

    from sdd_crm import create_app
    from sdd_crm.extensions import db
    from sdd_crm.imports.jobs import create_import_job, run_import_job
    from sdd_crm.imports.mapping import auto_map
    from sdd_crm.imports.reading import read_table
    from sdd_crm.organisations.models import Organisation
    from sdd_crm.reference.services import seed_reference

    app = create_app(_config(url))
    with app.app_context():
        upgrade()
        seed_reference()
        db.session.commit()
        t0 = time.perf_counter()
        table = read_table(data, "kvk_100k.csv")
        t_read = time.perf_counter() - t0
        mapping = auto_map(table.headers, "organisations")
        times = []
        changed = data.replace(b";Besloten Vennootschap;", b";B.V.;")  # every row: one update
        for attempt, content in (("eerste import", data), ("zelfde bestand opnieuw", data),
                                 ("elke rij gewijzigd", changed)):
            job = create_import_job(content, "kvk_100k.csv", "organisations", mapping,
                                    dry_run=False, actor=None)
            db.session.commit()
            t0, cpu = time.perf_counter(), time.process_time()
            summary = run_import_job(job.id)
            seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu
            times.append(seconds)
            print(f"  {label} {attempt:24s} {seconds:6.2f} s  {n / seconds:9,.0f} rijen/s  "
                  f"(cpu {cpu:5.1f} s)   "
                  f"created {summary['created']}, updated {summary['updated']}, "
                  f"unchanged {summary['unchanged']}, rejected {summary['rejected']}")
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Organisation))
        events = db.session.scalar(sa.text("SELECT count(*) FROM audit_event"))
        print(f"  {label} organisaties {count}, audit events {events}, "
              f"lezen van het bestand {t_read:.2f} s")

        # The yardstick: the same rows, parsed, in one raw DBAPI executemany.
        rows = [(r[0], r[1].replace(" ", ""), r[3], f"{r[4]} {r[5]}", r[6], r[7], int(r[9]),
                 r[10].replace(".", "").replace(",", "."), "company", "active", "small", False, 1)
                for r in table.rows]
        db.session.execute(sa.text("CREATE TABLE bench_raw AS SELECT * FROM organisation WHERE 1 = 0"))
        db.session.commit()
        columns = ("name, kvk_number, legal_form, street, postcode, city, employees, "
                   "annual_turnover_eur, org_type, status, size_class, is_critical, version")
        raw = db.engine.raw_connection()
        try:
            mark = "?" if db.engine.dialect.name == "sqlite" else "%s"
            cur = raw.cursor()
            t0 = time.perf_counter()
            if db.engine.dialect.name == "sqlite":
                cur.execute("BEGIN")  # the app's SQLite connections leave BEGIN to the caller
            cur.executemany(f"INSERT INTO bench_raw ({columns}) VALUES "
                            f"({', '.join([mark] * 13)})", rows)
            raw.commit()
            seconds = time.perf_counter() - t0
        finally:
            raw.close()
        print(f"  {label} {'raw executemany':24s} {seconds:6.2f} s  {n / seconds:9,.0f} rijen/s"
              f"   (import is {times[0] / seconds:.0f}× zo lang)")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    t0 = time.perf_counter()
    data = make_csv(args.rows)
    print(f"{args.rows:,} rijen, {len(data) / 1e6:.1f} MB CSV, gemaakt in "
          f"{time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite:///" + os.path.join(tmp, "bench.sqlite3"), "SQLite    ", data, args.rows)
    server = os.environ.get("DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if server and not args.sqlite_only:
        from sdd_crm.config import _normalise_db_url

        base = sa.engine.make_url(_normalise_db_url(server))
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{DB_NAME}"')
        try:
            run(base.set(database=DB_NAME).render_as_string(hide_password=False), "PostgreSQL",
                data, args.rows)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
