"""How long does the duplicate finder take at 100,000 organisations?

Builds 100,000 organisations (90 % with a KvK number, about 8 per postcode) and 20,000
establishments by bulk insert into a scratch SQLite database (and PostgreSQL too when
TEST_DATABASE_URL is set: a database ``sdd_crm_bench_duplicates`` on that server, dropped
afterwards), with planted duplicates of three kinds: a copy without KvK at the same postcode
with a changed name ("B.V." dropped, a typo, words swapped), a vestiging entered as an
organisation of its own, and the same name in the same place without a postcode. Then it times
loading the rows and finding the pairs, prints how many planted pairs were found, runs the
search job (which also stores the pairs) and times the list page reading its result.
It prints figures; it asserts nothing.

    python -m benchmarks.bench_duplicates [--organisations 100000] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "sdd_crm_bench_duplicates"
PASSWORD = "benchmark password 123"
PREFIXES = ["Scheepswerf", "Machinefabriek", "Installatiebedrijf", "Bouwbedrijf", "Ingenieursbureau",
            "Transportbedrijf", "Metaalbewerking", "Elektrotechniek", "Logistiek", "Baggerbedrijf",
            "Technisch Bureau", "Constructiebedrijf", "Jachtbouw", "Offshore Services",
            "Adviesbureau", "Schildersbedrijf", "Loodgieter", "Autobedrijf", "Drukkerij", "Bakkerij"]
SURNAMES = ["De Vries", "Van der Giessen", "Smit", "Bakker", "Visser", "Van Dijk", "Jansen",
            "De Jong", "Mulder", "Van den Berg", "Merwede", "Drechtsteden", "Oude Maas", "Noord",
            "Rivierenland", "Baanhoek", "Kinderdijk", "Wantij", "Dordtse Kil", "Devel", "Hoogendoorn",
            "Verhoef", "Kooiman", "Van Wijk", "Boer", "Post", "Kok", "Schouten", "Vos", "Prins"]
EXTRA = ["", "", "", "Techniek", "Groep", "Service", "Holland", "Zuid", "en Zonen", "Nederland"]
LEGAL = ["B.V.", "B.V.", "B.V.", "N.V.", "V.O.F.", "Holding B.V.", ""]
LETTERS = "ABCDEGHJKLMNPRSTVXZ"


def _config(url: str) -> dict:
    return {"TESTING": True, "SECRET_KEY": "benchmark", "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_STORAGE_URI": "memory://", "CRITICALITY_AUTO_RECOMPUTE": False,
            "WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": False}


def _name(rnd: random.Random) -> str:
    return " ".join(p for p in (rnd.choice(PREFIXES), rnd.choice(SURNAMES), rnd.choice(EXTRA),
                                rnd.choice(LEGAL)) if p)


def _variant(name: str, rnd: random.Random) -> str:
    """How the same company comes back from another spreadsheet."""
    words = [w for w in name.split() if w not in ("B.V.", "N.V.", "V.O.F.")]
    kind = rnd.randrange(3)
    if kind == 0:
        return " ".join(words).upper()
    if kind == 1 and len(words) > 1:
        i = rnd.randrange(len(words[0]))
        words[0] = words[0][:i] + words[0][i + 1:] if len(words[0]) > 4 else words[0]
        return " ".join(words) + " BV"
    return " ".join(words[1:] + words[:1])


def build(app, n: int) -> set[tuple[int, int]]:
    """Schema, reference data and ``n`` organisations; returns the planted pairs (a < b)."""
    from flask_migrate import upgrade

    from sdd_crm.extensions import db
    from sdd_crm.organisations.models import Establishment, Organisation
    from sdd_crm.reference.models import Place
    from sdd_crm.reference.services import seed_reference

    rnd = random.Random(20261128)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    planted: set[tuple[int, int]] = set()
    with app.app_context():
        upgrade()
        seed_reference()
        places = [(p.name, p.municipality_code)
                  for p in db.session.scalars(sa.select(Place).order_by(Place.name))]
        postcodes = [f"{3300 + i // 20} {LETTERS[i % 19]}{LETTERS[(i * 7) % 19]}"
                     for i in range(n // 8)]
        orgs, ests = [], []
        originals = n - n // 20  # 5 % of the rows are planted duplicates
        for i in range(1, originals + 1):
            city, code = places[rnd.randrange(len(places))]
            orgs.append({"id": i, "name": _name(rnd), "org_type": "company",
                         "kvk_number": f"{10_000_000 + i:08d}" if rnd.random() < 0.9 else None,
                         "postcode": rnd.choice(postcodes), "city": city, "municipality_code": code,
                         "street": f"Industrieweg {rnd.randrange(1, 300)}", "status": "active",
                         "size_class": "unknown", "is_critical": False, "version": 1,
                         "created_at": now, "updated_at": now})
        for j in range(originals // 5):  # a fifth of the organisations has a second vestiging
            owner = orgs[rnd.randrange(originals)]
            ests.append({"organisation_id": owner["id"], "establishment_number": f"{j + 1:012d}",
                         "postcode": rnd.choice(postcodes), "city": owner["city"],
                         "is_main": False, "version": 1, "created_at": now, "updated_at": now})
        est_of = {e["organisation_id"]: e for e in ests}
        next_id = originals + 1
        while next_id <= n:
            original = orgs[rnd.randrange(originals)]
            kind = rnd.randrange(10)
            copy = dict(original, id=next_id, kvk_number=None)
            if kind < 7:  # (a) same postcode, the name written differently
                copy["name"] = _variant(original["name"], rnd)
            elif kind < 9:  # (b) a vestiging of the original entered as an organisation
                est = est_of.get(original["id"])
                if est is None:
                    continue
                copy["postcode"] = est["postcode"]
            else:  # (c) same name, same place, no postcode
                copy["postcode"] = None
                original["kvk_number"] = original["kvk_number"] or f"{90_000_000 + next_id:08d}"
            orgs.append(copy)
            planted.add((original["id"], next_id))
            next_id += 1
        table = Organisation.__table__
        for start in range(0, len(orgs), 10_000):
            db.session.execute(sa.insert(table), orgs[start:start + 10_000])
        db.session.execute(sa.insert(Establishment.__table__), ests)
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        db.session.remove()
    return planted


def measure(app, planted: set[tuple[int, int]]) -> None:
    from sdd_crm.auth.services import create_user
    from sdd_crm.extensions import db
    from sdd_crm.organisations.duplicates import find_pairs, load_rows, run_search, start_search

    with app.test_request_context():
        for attempt in range(2):
            t0 = time.perf_counter()
            rows, ests = load_rows()
            t1 = time.perf_counter()
            pairs = find_pairs(rows, ests)
            t2 = time.perf_counter()
            found = {(p.a_id, p.b_id) for p in pairs}
            print(f"  run {attempt + 1}: load {t1 - t0:.2f} s ({len(rows):,} organisations, "
                  f"{len(ests):,} establishments), find {t2 - t1:.2f} s, total {t2 - t0:.2f} s")
        print(f"  pairs found: {len(pairs):,}; planted pairs found: {len(found & planted):,} of "
              f"{len(planted):,}; other pairs: {len(found - planted):,}")
        user = create_user(email="bench@example.nl", name="Bench", role="admin", password=PASSWORD)
        job = start_search(actor=user)
        db.session.info.pop("after_commit_jobs", None)  # run it here, timed, not through RQ
        db.session.commit()
        t0 = time.perf_counter()
        run_search(job.id)
        print(f"  search job (load, find, store {job.result['stored']:,} pairs): "
              f"{time.perf_counter() - t0:.2f} s")
        db.session.remove()
    client = app.test_client()
    client.post("/login", data={"email": "bench@example.nl", "password": PASSWORD})
    for path in ("/imports/duplicates", "/imports/duplicates?page=100"):
        client.get(path)
        times = []
        for _ in range(10):
            t0 = time.perf_counter()
            resp = client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
        print(f"  GET {path}: HTTP {resp.status_code}, median {statistics.median(times):.0f} ms")


def run(url: str, title: str, n: int) -> None:
    import logging

    from sdd_crm import create_app
    from sdd_crm.extensions import db

    app = create_app(_config(url))
    logging.getLogger("alembic").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    planted = build(app, n)
    print(f"\n{title}: built in {time.perf_counter() - t0:.1f} s")
    try:
        measure(app, planted)
    finally:
        with app.app_context():
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organisations", type=int, default=100_000)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.sqlite3", "SQLite", args.organisations)
    test_url = os.environ.get("TEST_DATABASE_URL")
    if test_url and not args.sqlite_only:
        from sdd_crm.config import _normalise_db_url

        base = sa.engine.make_url(_normalise_db_url(test_url))
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{DB_NAME}"')
        try:
            run(base.set(database=DB_NAME).render_as_string(hide_password=False), "PostgreSQL",
                args.organisations)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
