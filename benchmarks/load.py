"""Under load (issue 12 point 5): gunicorn, 2 workers, 20 locust users, 60 s.  (`make bench-load`)

Serves the app with gunicorn (sync workers and ``wsgi:app`` as in production, configured by
environment variables) on a free local port against the big benchmark database, waits for
``/healthz``, and runs locust headless with ``benchmarks/locustfile.py``: account managers who
sign in through the login form and then open the dashboard, *Mijn accounts*, the organisation
list, search by part of a name and by KvK number, open organisations, the contact-moment list,
and log contact moments through the full form. It stops gunicorn, prints requests, failures,
requests per second and p50/p95/p99 per request type and in total, and writes them with the
machine's description into ``benchmarks/RESULTS.md`` between ``<!-- load:start -->`` and
``<!-- load:end -->`` (the rest of the file is left as it is). Exits 1 when any request failed.

    .venv/bin/python -m benchmarks.load [--database-url URL] [--users 20] [--seconds 60]

The database defaults to ``sdd_crm_bench`` on TEST_DATABASE_URL's PostgreSQL server, built by
``make bench`` (``flask seed synthetic``: 100,000 organisations, 1,000,000 contact moments).
The run writes a little: one server-side session per simulated user and the contact moments
it logs (subject "Belastingtest …").
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from importlib.metadata import version
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
RESULTS = Path(__file__).with_name("RESULTS.md")
START_MARK, END_MARK = "<!-- load:start -->", "<!-- load:end -->"
BENCH_DATABASE = "sdd_crm_bench"
ROLES = ("regional_account_manager", "local_account_manager")
SYNTHETIC_DOMAIN = "@synthetisch.sdd-crm.nl"

# The mix: (locustfile task, weight, what it does). Weights are relative: an account manager
# mostly looks organisations up and opens them, and logs a contact moment now and then.
MIX = [
    ("dashboard", 10, "the dashboard `/`"),
    ("my_accounts", 6, "*Mijn accounts* `/accounts/`"),
    ("organisation_list", 10,
     "the organisation list, first page (a local manager filtered on the home municipality "
     "4 times in 10)"),
    ("search", 16, "search by part of a name: the start or the middle of a word of a real name"),
    ("search_kvk", 4, "search by a real KvK number"),
    ("organisation_detail", 28,
     "an organisation's page with its timeline: 6 in 10 of the user's own accounts, the rest "
     "in the home municipality or anywhere"),
    ("interaction_list", 8, "the contact-moment list `/interactions/` (3 in 10 `?author=me`)"),
    ("autocomplete", 6,
     "the organisation suggestions of the contact-moment form "
     "(`/interactions/organisations.json?q=…`)"),
    ("log_contact_moment", 6,
     "log a contact moment on an own account (8 in 10) or another: GET the full form, POST it "
     "with its CSRF token, a topic and a contact person (must answer 302), open the "
     "organisation's timeline it lands on"),
]
# The order of the result rows (locust's request names, see the locustfile).
ROW_ORDER = ["login: form", "login: sign in", "dashboard", "Mijn accounts", "organisation list",
             "search by name", "search by KvK", "organisation detail", "contact moments",
             "organisation suggestions", "contact moment form", "log contact moment",
             "timeline after saving"]


def _normalise(url: str) -> str:
    from sdd_crm.config import _normalise_db_url

    return _normalise_db_url(url)


def database_url(given: str | None) -> str:
    """The database to load: the given URL, else ``sdd_crm_bench`` on TEST_DATABASE_URL's server."""
    if given:
        return _normalise(given)
    test_url = os.environ.get("TEST_DATABASE_URL")
    if not test_url:
        sys.exit("bench-load: set TEST_DATABASE_URL (the PostgreSQL server that holds "
                 f"{BENCH_DATABASE}) or pass --database-url")
    url = sa.engine.make_url(_normalise(test_url)).set(database=BENCH_DATABASE)
    return url.render_as_string(hide_password=False)


# --- What the simulated users visit ---------------------------------------------------------------

LEGAL_WORDS = {"holding", "stichting", "vereniging", "coöperatie", "cooperatie", "services",
               "groep", "group"}


def search_term(name: str, rng: random.Random) -> str | None:
    """Part of a real name as people type it: the start of a word, now and then its middle."""
    words = [w for w in re.findall(r"[^\W\d_]{5,}", name) if w.lower() not in LEGAL_WORDS]
    if not words:
        return None
    word = rng.choice(words).lower()
    if rng.random() < 0.3 and len(word) >= 7:
        start = rng.randrange(1, len(word) - 4)
        return word[start:start + rng.randint(4, 5)]
    return word[:rng.randint(4, min(len(word), 7))]


def build_plan(conn: sa.Connection, *, think: float, seed: int) -> dict:
    """Users, organisation ids, search terms and weights for the locustfile, from the data."""
    from sdd_crm.seeds.synthetic import SYNTHETIC_PASSWORD

    rng = random.Random(seed)
    users = conn.execute(sa.text(
        'SELECT id, email, role, municipality_code FROM "user" '
        "WHERE active AND role IN :roles AND totp_enabled_at IS NULL AND email LIKE :domain "
        "ORDER BY id").bindparams(sa.bindparam("roles", expanding=True)),
        {"roles": list(ROLES), "domain": "%" + SYNTHETIC_DOMAIN}).all()
    organisations = conn.execute(sa.text(
        "SELECT id, name, kvk_number, municipality_code FROM organisation "
        "WHERE deleted_at IS NULL AND merged_into_id IS NULL")).all()
    accounts = {u.id: conn.execute(sa.text(
        "SELECT m.organisation_id FROM account_team_member m "
        "JOIN organisation o ON o.id = m.organisation_id "
        "WHERE m.user_id = :user AND o.deleted_at IS NULL AND o.merged_into_id IS NULL "
        "ORDER BY m.organisation_id"), {"user": u.id}).scalars().all() for u in users}
    if not users:
        sys.exit(f"bench-load: no active account managers ({SYNTHETIC_DOMAIN}) without two-factor "
                 "authentication in the database: build it with `make bench`")
    if not organisations:
        sys.exit("bench-load: the database holds no organisations: build it with `make bench`")

    by_municipality: dict[str, list[int]] = {}
    for o in organisations:
        by_municipality.setdefault(o.municipality_code, []).append(o.id)
    sample = rng.sample(organisations, min(len(organisations), 3000))
    terms = [t for t in (search_term(o.name, rng) for o in sample[:600]) if t]
    kvk_numbers = [o.kvk_number for o in sample if o.kvk_number][:300]
    # Regional and local managers in turn, so that any number of simulated users mixes both.
    regional = [u for u in users if u.role == "regional_account_manager"]
    local = [u for u in users if u.role != "regional_account_manager"]
    order = [u for pair in itertools.zip_longest(regional, local) for u in pair if u is not None]

    def nearby(code: str | None) -> list[int]:
        ids = by_municipality.get(code, []) if code else []
        return rng.sample(ids, min(500, len(ids)))

    return {
        "password": SYNTHETIC_PASSWORD,
        "think": [think / 2, think * 1.5] if think > 0 else [0, 0],
        "weights": {name: weight for name, weight, _ in MIX},
        "users": [{
            "email": u.email, "role": u.role, "municipality": u.municipality_code,
            "accounts": accounts[u.id][:500], "nearby": nearby(u.municipality_code),
        } for u in order],
        "organisations": [o.id for o in sample],
        "search_terms": terms,
        "kvk_numbers": kvk_numbers,
    }


# --- The machine and the data ---------------------------------------------------------------------

def describe_machine(engine: sa.Engine) -> list[str]:
    """``make bench``'s machine lines, plus the database server, the tools and the load now."""
    from benchmarks.run import describe_machine as machine_lines

    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            server = conn.execute(sa.text("SHOW server_version")).scalar_one().split()[0]
        server = f"PostgreSQL {server}"
    else:
        server = f"SQLite {sqlite3.sqlite_version}"
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return [*machine_lines(),
            f"- {server}; gunicorn {version('gunicorn')}, locust {version('locust')}; load "
            f"average (1 / 5 / 15 min) before the run: {load} (the machine is shared: figures "
            "are noisy)"]


def database_size(engine: sa.Engine) -> dict:
    with engine.connect() as conn:
        return {table: conn.execute(sa.text(
                    f"SELECT count(*) FROM {table} WHERE deleted_at IS NULL")).scalar_one()
                for table in ("organisation", "interaction")}


# --- gunicorn and locust --------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_environment(url: str) -> dict:
    """Production settings from the environment, on plain http and without Redis.

    No Redis: jobs run in each worker's own thread (the embedded default) and the login
    throttle counts in memory — only failed sign-ins count there, and none are expected. The
    periodic work (purging the bin, ...) stays off so a run changes nothing but what it logs.
    """
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "TEST_DATABASE_URL") and not k.startswith("SDD_CRM_")}
    env.update({
        "DATABASE_URL": url,
        "SDD_CRM_SECRET_KEY": secrets.token_hex(32),
        "SDD_CRM_SESSION_COOKIE_SECURE": "false",
        "SDD_CRM_REMEMBER_COOKIE_SECURE": "false",
        "SDD_CRM_JOBS": "thread",
        "SDD_CRM_SCHEDULE_ENABLED": "false",
        "SDD_CRM_RATELIMIT_STORAGE_URI": "memory://",
    })
    return env


def start_gunicorn(url: str, port: int, workers: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers),
         "--bind", f"127.0.0.1:{port}", "--error-logfile", str(log), "--log-level", "warning",
         "wsgi:app"],
        cwd=ROOT, env=server_environment(url), start_new_session=True)


def wait_until_healthy(base: str, server: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn stopped (exit {server.returncode}):\n{_tail(log)}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f} s:\n{_tail(log)}")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)  # its own session: the arbiter and its workers
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_locust(base: str, plan_path: Path, results_path: Path, *, users: int, rate: float,
               seconds: int) -> int:
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
               "--users", str(users), "--spawn-rate", str(rate), "--run-time", f"{seconds}s",
               "--host", base, "--only-summary", "--stop-timeout", "35"]
    env = {**os.environ, "SDD_CRM_LOAD_PLAN": str(plan_path),
           "SDD_CRM_LOAD_RESULTS": str(results_path)}
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


# --- Results ----------------------------------------------------------------------------------

def read_results(path: Path) -> tuple[list[dict], dict | None, list[str]]:
    """The locustfile's final figures: request types in the order of the mix, total, errors."""
    if not path.exists():
        return [], None, ["locust wrote no results"]
    data = json.loads(path.read_text(encoding="utf-8"))

    def rank(row):
        label = row["name"].split(" /")[0]
        return ROW_ORDER.index(label) if label in ROW_ORDER else len(ROW_ORDER), row["name"]

    return sorted(data["entries"], key=rank), data["total"], data["errors"]


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _request_label(row: dict) -> str:
    """``search by name /organisations/?q=…`` → ``search by name (GET `/organisations/?q=…`)``."""
    name, slash, path = row["name"].partition(" /")
    where = f"{row['method']} `/{path}`" if slash else row["method"]
    return f"{name} ({where})".replace("|", "\\|")


def table(rows: list[dict], total: dict | None) -> list[str]:
    lines = ["| request | requests | failures | req/s | p50 ms | p95 ms | p99 ms |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows + ([total] if total else []):
        label = "**total**" if r is total else _request_label(r)
        lines.append(f"| {label} | {r['requests']:,} | {r['failures']:,} | {r['rps']:.1f} | "
                     f"{_ms(r['p50'])} | {_ms(r['p95'])} | {_ms(r['p99'])} |")
    return lines


def section(*, machine: list[str], size: dict, logged: int, db_name: str,
            args, rows: list[dict], total: dict | None, errors: list[str]) -> str:
    weight_sum = sum(w for _, w, _ in MIX)
    think = (f"a think time of {args.think / 2:g}–{args.think * 1.5:g} s between actions"
             if args.think > 0 else "no think time")
    intro = (
        "Written by `make bench-load` (`benchmarks/load.py`) — never by hand. gunicorn serves "
        f"`wsgi:app` with {args.workers} sync workers on this machine; locust (headless, same "
        f"machine) runs {args.users} users, spawned {args.rate:g} per second, for "
        f"{args.seconds} s, with {think}. Each user signs in through the login form as one of "
        "the synthetic regional and local account managers (taken in turn), then picks an "
        "action by weight. A page counts as a failure unless it answers 200 itself, a saved "
        "contact moment unless it answers 302 to its page (a 422 with a validation message is "
        "a failure).")
    data_line = (
        f"- Database `{db_name}`: {size['organisation']:,} organisations, "
        f"{size['interaction']:,} contact moments ({logged:,} logged by this run).")
    server_line = (
        "- Server settings (environment): `SDD_CRM_JOBS=thread`, rate-limit counters in memory, "
        "no Redis, periodic jobs off, session cookies not `Secure` (plain http).")
    lines = ["## Under load", "", intro, "", *machine, data_line, server_line,
             "- The mix (share of actions):"]
    lines += [f"  - {100 * w / weight_sum:.0f} % {what}" for _, w, what in MIX]
    lines += ["", *table(rows, total), ""]
    if total:
        lines.append(f"In total {total['requests']:,} requests, {total['rps']:.1f} per second, "
                     f"{total['failures']:,} failed (p50 {_ms(total['p50'])} ms, p95 "
                     f"{_ms(total['p95'])} ms, p99 {_ms(total['p99'])} ms; locust keeps "
                     "times to 2 significant digits from 100 ms on).")
        if total["rps"]:
            busy = args.workers / total["rps"] * 1000
            lines.append(f"With every worker busy all the time, {args.workers} workers at "
                         f"{total['rps']:.1f} requests per second spend at most {busy:,.0f} ms on "
                         "a request; the rest of a response time above that is waiting for a "
                         "free worker.")
    if errors:
        lines += ["", "Errors:", ""] + [f"- {e}" for e in errors[:20]]
    else:
        lines.append("No errors.")
    return "\n".join(lines)


def write_section(path: Path, body: str) -> None:
    """Put ``body`` between the load markers of ``path``; everything else stays as it is."""
    block = f"{START_MARK}\n{body.rstrip()}\n{END_MARK}"
    text = path.read_text(encoding="utf-8") if path.exists() else (
        "# Benchmark results\n\nWritten by the scripts in `benchmarks/`, never by hand.\n")
    start, end = text.find(START_MARK), text.find(END_MARK)
    if start != -1 and end > start:
        text = text[:start] + block + text[end + len(END_MARK):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


# --- main -----------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url",
                        help=f"default: {BENCH_DATABASE} on TEST_DATABASE_URL's server")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rate", type=float, default=5, help="users started per second")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean seconds between a user's actions (uniform over ½–1½ times); "
                             "0: none")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="the Markdown file to write the section into")
    args = parser.parse_args(argv)

    url = database_url(args.database_url)
    engine = sa.create_engine(url)
    db_name = sa.engine.make_url(url).database or "?"
    try:
        before = database_size(engine)
    except sa.exc.OperationalError as e:
        sys.exit(f"bench-load: cannot read {db_name} ({e.orig}); build it with `make bench`")
    except sa.exc.ProgrammingError as e:
        sys.exit(f"bench-load: {db_name} has no tables ({e.orig}); build it with `make bench`")
    machine = describe_machine(engine)
    with engine.connect() as conn:
        plan = build_plan(conn, think=args.think, seed=args.seed)
    print(f"bench-load: {db_name}: {before['organisation']:,} organisations, "
          f"{before['interaction']:,} contact moments; {len(plan['users'])} account managers, "
          f"{args.users} users for {args.seconds} s", flush=True)

    with tempfile.TemporaryDirectory(prefix="sdd-bench-load-") as tmp:
        work = Path(tmp)
        plan_path, log, results = work / "plan.json", work / "gunicorn.log", work / "results.json"
        plan_path.write_text(json.dumps(plan), encoding="utf-8")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_gunicorn(url, port, args.workers, log)
        try:
            wait_until_healthy(base, server, log)
            code = run_locust(base, plan_path, results, users=args.users, rate=args.rate,
                              seconds=args.seconds)
        except RuntimeError as e:
            print(f"bench-load: {e}", file=sys.stderr)
            return 1
        finally:
            stop(server)
        server_log = _tail(log)
        rows, total, errors = read_results(results)

    after = database_size(engine)
    engine.dispose()
    text = section(machine=machine, size=before, db_name=db_name, args=args,
                   logged=after["interaction"] - before["interaction"], rows=rows,
                   total=total, errors=errors)
    write_section(args.results, text)
    print("\n" + "\n".join(table(rows, total)))
    print(f"\nwritten to {args.results}")
    failed = not total or total["requests"] == 0 or total["failures"] > 0 or errors or code != 0
    if failed:
        print(f"bench-load: FAILED (locust exit {code}, {len(errors)} kinds of error)",
              file=sys.stderr)
        for e in errors[:20]:
            print("  " + e, file=sys.stderr)
        if server_log:
            print("gunicorn's log (last lines):\n" + server_log, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
