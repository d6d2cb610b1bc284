"""How fast is the organisation list at 100,000 organisations?  (`make bench`)

Builds a database with 100,000 organisations by bulk insert (SQLite in a temporary folder, and
PostgreSQL too when TEST_DATABASE_URL is set: a separate database ``sdd_crm_bench`` on that
server, dropped afterwards), then times requests through the Flask test client, signed in as a
regional account manager: the list page (page 1, page 500, a search, a municipality filter) and
the API list. It prints the median and 95th percentile in milliseconds and the number of SQL
statements per request. It prints figures; it asserts nothing.

    python -m benchmarks.org_list [--rows 100000] [--repeat 30] [--sqlite-only]
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

PASSWORD = "benchmark password 123"
PREFIXES = ["Scheepswerf", "Scheepsbouw", "Machinefabriek", "Installatiebedrijf", "Bouwbedrijf",
            "Aannemersbedrijf", "Ingenieursbureau", "Transportbedrijf", "Metaalbewerking",
            "Elektrotechniek", "Zorggroep", "Logistiek", "Baggerbedrijf", "Technisch Bureau",
            "Constructiebedrijf", "Jachtbouw", "Offshore Services", "Energietechniek",
            "Hogeschool", "Adviesbureau"]
SURNAMES = ["De Vries", "Van der Giessen", "Smit", "Bakker", "Visser", "Van Dijk", "Jansen",
            "De Jong", "Mulder", "Van den Berg", "Merwede", "Drechtsteden", "Oude Maas",
            "Noord", "Rivierenland", "Baanhoek", "Kinderdijk", "Wantij", "Dordtse Kil", "Devel"]
LEGAL = ["B.V.", "B.V.", "B.V.", "N.V.", "V.O.F.", "Holding B.V.", "Stichting"]
SBI = ["3011", "3012", "2511", "2562", "4321", "4322", "4120", "7112", "5229", "8622"]
TYPES = ["company"] * 17 + ["knowledge_institution", "education", "government"]
SIZES = [("micro", 4), ("small", 25), ("medium", 120), ("large", 600)]

CASES = [
    ("list, page 1", "/organisations/"),
    ("list, page 500", "/organisations/?page=500"),
    ("search ?q=scheeps", "/organisations/?q=scheeps"),
    ("municipality filter", "/organisations/?municipality=GM0505"),
    ("filter + search, page 3", "/organisations/?municipality=GM0590&q=bouw&page=3"),
    ("API list", "/api/v1/organisations"),
    ("API list ?q=scheeps", "/api/v1/organisations?q=scheeps"),
]


def _bench_config(url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "benchmark",
        "SQLALCHEMY_DATABASE_URI": url,
        "WTF_CSRF_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "RATELIMIT_STORAGE_URI": "memory://",
    }


def build(app, rows: int) -> tuple[str, str]:
    """Schema by the migrations, reference data, one user with a token, ``rows`` organisations."""
    from flask_migrate import upgrade

    from sdd_crm.auth.services import create_token, create_user
    from sdd_crm.extensions import db
    from sdd_crm.organisations.models import Organisation, OrganisationSbi
    from sdd_crm.reference.models import Place
    from sdd_crm.reference.services import seed_reference

    with app.app_context():
        upgrade()
        seed_reference()
        user = create_user(email="bench@example.nl", name="Bench Regio", password=PASSWORD,
                           role="regional_account_manager")
        token = create_token(user, "bench")
        email = user.email
        places = [(p.name, p.municipality_code)
                  for p in db.session.scalars(sa.select(Place).order_by(Place.name))]
        db.session.commit()

        rnd = random.Random(20261128)
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        org_table, sbi_table = Organisation.__table__, OrganisationSbi.__table__
        chunk = 10_000
        for start in range(0, rows, chunk):
            batch, sbis = [], []
            for i in range(start, min(rows, start + chunk)):
                city, municipality = places[rnd.randrange(len(places))]
                size, employees = SIZES[rnd.randrange(len(SIZES))]
                batch.append({
                    "id": i + 1,
                    "name": f"{rnd.choice(PREFIXES)} {rnd.choice(SURNAMES)} {i + 1} {rnd.choice(LEGAL)}",
                    "org_type": rnd.choice(TYPES),
                    "kvk_number": f"{10_000_000 + i:08d}",
                    "employees": max(1, int(employees * rnd.uniform(0.3, 1.6))),
                    "size_class": size,
                    "street": f"Industrieweg {rnd.randrange(1, 300)}",
                    "postcode": f"33{rnd.randrange(10, 99)} {rnd.choice('ABCDEGHJKLMN')}{rnd.choice('ABCDEGHJKLMN')}",
                    "city": city,
                    "municipality_code": municipality,
                    "status": "active",
                    "is_critical": rnd.random() < 0.03,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                })
                sbis.append({"organisation_id": i + 1, "code": rnd.choice(SBI), "version": "2008",
                             "is_main": True})
            db.session.execute(sa.insert(org_table), batch)
            db.session.execute(sa.insert(sbi_table), sbis)
            db.session.commit()
        db.session.execute(sa.text("ANALYZE"))  # fresh statistics, as a live database has
        db.session.commit()
        db.session.remove()
    return email, token


def measure(app, email: str, token: str, repeat: int) -> list[tuple]:
    from sdd_crm.extensions import db

    client = app.test_client()
    resp = client.post("/login", data={"email": email, "password": PASSWORD})
    if resp.status_code != 302:
        raise SystemExit(f"could not sign in: {resp.status_code}")
    with app.app_context():
        engine = db.engine
    counter = {"n": 0}

    def _count(*_args, **_kwargs):
        counter["n"] += 1

    sa.event.listen(engine, "before_cursor_execute", _count)
    results = []
    try:
        for label, path in CASES:
            headers = {"Authorization": f"Bearer {token}"} if path.startswith("/api/") else {}
            for _ in range(3):  # warm-up: caches, prepared statements, first-request imports
                resp = client.get(path, headers=headers)
            if resp.status_code != 200:
                results.append((label, path, resp.status_code, None, None, None, None))
                continue
            times, statements = [], []
            for _ in range(repeat):
                counter["n"] = 0
                t0 = time.perf_counter()
                resp = client.get(path, headers=headers)
                times.append((time.perf_counter() - t0) * 1000)
                statements.append(counter["n"])
            size = len(resp.get_data())
            results.append((label, path, resp.status_code, statistics.median(times),
                            _p95(times), max(statements), size))
    finally:
        sa.event.remove(engine, "before_cursor_execute", _count)
    return results


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def report(title: str, results: list[tuple], build_seconds: float) -> None:
    print(f"\n{title} (built in {build_seconds:.1f} s)")
    print(f"{'request':<26} {'status':>6} {'median ms':>10} {'p95 ms':>8} {'SQL':>4} {'KB':>6}  path")
    for label, path, status, median, p95, sql, size in results:
        if median is None:
            note = "not built yet (404)" if status == 404 else f"HTTP {status}"
            print(f"{label:<26} {status:>6} {'—':>10} {'—':>8} {'—':>4} {'—':>6}  {path}  [{note}]")
        else:
            print(f"{label:<26} {status:>6} {median:>10.1f} {p95:>8.1f} {sql:>4} {size / 1024:>6.0f}  {path}")


def run(url: str, title: str, rows: int, repeat: int) -> None:
    import logging

    from sdd_crm import create_app
    from sdd_crm.extensions import db

    app = create_app(_bench_config(url))
    logging.getLogger("alembic").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    email, token = build(app, rows)
    build_seconds = time.perf_counter() - t0
    try:
        report(title, measure(app, email, token, repeat), build_seconds)
    finally:
        with app.app_context():
            db.engine.dispose()


def _postgres_bench_url(test_url: str) -> str:
    from sdd_crm.config import _normalise_db_url

    url = sa.engine.make_url(_normalise_db_url(test_url))
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS sdd_crm_bench")
        conn.exec_driver_sql("CREATE DATABASE sdd_crm_bench")
    admin.dispose()
    return url.set(database="sdd_crm_bench").render_as_string(hide_password=False)


def _drop_postgres_bench(test_url: str) -> None:
    from sdd_crm.config import _normalise_db_url

    admin = sa.create_engine(_normalise_db_url(test_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS sdd_crm_bench")
    admin.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args(argv)

    import sdd_crm.auth.services as auth_services
    from argon2 import PasswordHasher

    # One sign-in per run: cheap hashing keeps the set-up short (it is not what we measure).
    auth_services._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

    print(f"Organisation list benchmark: {args.rows:,} organisations, {args.repeat} timed requests "
          f"per row after 3 warm-ups; SQL = statements per request; 2 cores, test client, no network.")
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite:///" + str(Path(tmp) / "bench.sqlite3"), "SQLite", args.rows, args.repeat)

    test_url = os.environ.get("TEST_DATABASE_URL")
    if test_url and not args.sqlite_only:
        url = _postgres_bench_url(test_url)
        try:
            run(url, "PostgreSQL", args.rows, args.repeat)
        finally:
            _drop_postgres_bench(test_url)
    elif not args.sqlite_only:
        print("\n(PostgreSQL skipped: set TEST_DATABASE_URL to measure it too.)")


if __name__ == "__main__":
    main()
