"""How long does a criticality recompute take at 100,000 organisations? (`make bench-criticality`)

Builds 100,000 organisations, 40 value chains, 300,000 supply links (suppliers drawn with a
strong preference for a few large ones, 90 % within the supplier's own chain, 5 % sole
source) and a role for a third of the organisations, by bulk insert into a scratch SQLite
database (and PostgreSQL too when TEST_DATABASE_URL is set: a database
``sdd_crm_bench_criticality`` on that server, dropped afterwards). Then it times a full
recompute through the job (``run_job``, as ``flask criticality recompute`` runs it) and prints
the seconds per phase, and a second recompute of the unchanged network (nothing new stored).
It prints figures; it asserts nothing. It must stay within 60 seconds (issue 4).

    python -m benchmarks.criticality [--organisations 100000] [--links 300000] [--sqlite-only]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_NAME = "sdd_crm_bench_criticality"
CHAINS = 40


def _config(url: str) -> dict:
    return {"TESTING": True, "SECRET_KEY": "benchmark", "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_STORAGE_URI": "memory://", "CRITICALITY_AUTO_RECOMPUTE": False}


def build(app, n: int, m: int) -> None:
    """Schema by the migrations, reference data, and the network, by bulk insert."""
    from flask_migrate import upgrade

    from sdd_crm.extensions import db
    from sdd_crm.organisations.models import Organisation
    from sdd_crm.reference.models import Municipality
    from sdd_crm.reference.services import seed_reference
    from sdd_crm.valuechains.models import ChainRole, Cluster, SupplyLink, ValueChain

    rs = np.random.default_rng(20261128)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    with app.app_context():
        upgrade()
        seed_reference()
        codes = list(db.session.scalars(sa.select(Municipality.code).order_by(Municipality.code)))
        cluster = db.session.scalar(sa.select(Cluster.id).order_by(Cluster.id).limit(1))
        db.session.execute(sa.insert(ValueChain.__table__), [
            {"id": c + 1, "cluster_id": cluster, "name": f"Keten {c + 1}", "version": 1,
             "created_at": now, "updated_at": now} for c in range(CHAINS)])
        employees = np.maximum(1, rs.lognormal(2.3, 1.2, n)).astype(int)
        municipality = rs.integers(0, len(codes), n)
        org_type = np.where(rs.random(n) < 0.9, "company", "knowledge_institution")
        chunk = 20_000
        table = Organisation.__table__
        for start in range(0, n, chunk):
            db.session.execute(sa.insert(table), [
                {"id": i + 1, "name": f"Bedrijf {i + 1} B.V.", "org_type": str(org_type[i]),
                 "employees": int(employees[i]), "size_class": "small", "status": "active",
                 "municipality_code": codes[municipality[i]], "is_critical": False,
                 "version": 1, "created_at": now, "updated_at": now}
                for i in range(start, min(n, start + chunk))])
        home = rs.integers(0, CHAINS, n)
        supplier = (n * rs.random(m) ** 2.5).astype(np.int64)
        customer = rs.integers(0, n, m)
        same = rs.random(m) < 0.9
        members = [np.flatnonzero(home == c) for c in range(CHAINS)]
        for c in range(CHAINS):
            rows = np.flatnonzero(same & (home[supplier] == c))
            customer[rows] = members[c][rs.integers(0, members[c].size, rows.size)]
        chain = np.where(same, home[supplier], rs.integers(0, CHAINS, m))
        sole = rs.random(m) < 0.05
        keep = supplier != customer
        links = list(zip(supplier[keep].tolist(), customer[keep].tolist(), chain[keep].tolist(),
                         sole[keep].tolist(), strict=True))
        table = SupplyLink.__table__
        for start in range(0, len(links), chunk):
            db.session.execute(sa.insert(table), [
                {"supplier_id": s + 1, "customer_id": c + 1, "value_chain_id": ch + 1,
                 "sole_source": so, "version": 1, "created_at": now, "updated_at": now}
                for s, c, ch, so in links[start:start + chunk]])
        with_role = np.flatnonzero(rs.random(n) < 0.33)
        db.session.execute(sa.insert(ChainRole.__table__), [
            {"organisation_id": int(i) + 1, "value_chain_id": int(home[i]) + 1, "role": "tier2",
             "created_at": now, "updated_at": now} for i in with_role])
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        db.session.remove()


def recompute(app) -> tuple[float, dict]:
    from sdd_crm.extensions import db
    from sdd_crm.valuechains.jobs import create_job, run_job

    with app.app_context():
        job = create_job(trigger="benchmark")
        db.session.commit()
        t0 = time.perf_counter()
        summary = run_job(job.id)
        seconds = time.perf_counter() - t0
        db.session.remove()
    return seconds, summary


def run(url: str, title: str, n: int, m: int) -> None:
    import logging

    from sdd_crm import create_app
    from sdd_crm.extensions import db

    app = create_app(_config(url))
    logging.getLogger("alembic").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    build(app, n, m)
    print(f"\n{title}: built {n:,} organisations and {m:,} links in {time.perf_counter() - t0:.1f} s")
    try:
        for label in ("first recompute", "unchanged network"):
            total, summary = recompute(app)
            phases = "  ".join(f"{k} {v:5.2f}" for k, v in summary["seconds"].items())
            stats = summary["stats"]
            print(f"  {label:<18} {total:6.2f} s   [{phases}]")
            print(f"  {'':<18} critical {summary['critical']:,}, new assessments "
                  f"{summary['new_assessments']:,}, organisations updated "
                  f"{summary['updated_organisations']:,}; largest component "
                  f"{stats['largest_component']:,} ({'sampled' if stats['sampled'] else 'exact'}), "
                  f"chain separators {stats['chain_separators']:,}")
    finally:
        with app.app_context():
            db.engine.dispose()


def _admin_engine(test_url: str):
    from sdd_crm.config import _normalise_db_url

    url = sa.engine.make_url(_normalise_db_url(test_url))
    return url, sa.create_engine(url, isolation_level="AUTOCOMMIT")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organisations", type=int, default=100_000)
    parser.add_argument("--links", type=int, default=300_000)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args(argv)
    from sdd_crm.valuechains import criticality as engine

    print(f"Criticality recompute benchmark: {args.organisations:,} organisations, {args.links:,} "
          f"supply links, {CHAINS} chains; betweenness exact up to {engine.EXACT_MAX_NODES:,} "
          f"nodes per component, else {engine.PIVOTS} pivots. Seconds per phase; 2 cores.")
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite:///" + str(Path(tmp) / "bench.sqlite3"), "SQLite", args.organisations, args.links)

    test_url = os.environ.get("TEST_DATABASE_URL")
    if test_url and not args.sqlite_only:
        url, admin = _admin_engine(test_url)
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {DB_NAME}")
            conn.exec_driver_sql(f"CREATE DATABASE {DB_NAME}")
        try:
            run(url.set(database=DB_NAME).render_as_string(hide_password=False), "PostgreSQL",
                args.organisations, args.links)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            admin.dispose()
    elif not args.sqlite_only:
        print("\n(PostgreSQL skipped: set TEST_DATABASE_URL to measure it too.)")


if __name__ == "__main__":
    main()
