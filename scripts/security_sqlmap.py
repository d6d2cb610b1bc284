"""sqlmap against the running application (``make security``; issue 11, point 8).

Starts the app (``flask run`` on a free port, a temporary SQLite database, migrated and seeded
with the reference data and a small demo region), signs in through the login form (session
cookie and CSRF token), creates an API token, and runs sqlmap over representative targets: list
pages with filters, search and sort, detail pages, POST forms (sqlmap fetches a fresh CSRF token
from the form page before each request), and the API's list parameters with the bearer token.
Each target is time-boxed. Prints ``injectable parameters: N`` and exits non-zero when N > 0 —
and also when a target could not be tested (no parameter tested, the session lost, sqlmap
failed), so that a run that checked nothing never passes.

    .venv/bin/python scripts/security_sqlmap.py [--level 2] [--risk 1] [--per-target 300]
        [--parallel 3] [--only LABEL] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "Sqlmap-wachtwoord-7Vq!2026"
ADMIN, REGIONAL = "sqlmap-admin@example.nl", "sqlmap-regio@example.nl"
COOKIE = "sdd_crm_session"
# One User-Agent for the browser session and sqlmap: the session is bound to it (Flask-Login's
# strong session protection ends a session that changes its client).
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) sdd-crm-security-check"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
RECOVERY_CODES: list[str] = []  # filled in when two-factor authentication is set up

ENABLE_TOTP = f"""
from wsgi import app
from sdd_crm.extensions import db
from sdd_crm.auth.services import get_user_by_email
with app.app_context():
    try:
        from sdd_crm.auth import twofactor
    except ImportError:
        raise SystemExit(0)
    import pyotp
    user = get_user_by_email({ADMIN!r})
    twofactor.start_enrolment(user)
    user.totp_secret = {TOTP_SECRET!r}
    codes = twofactor.confirm_enrolment(user, pyotp.TOTP({TOTP_SECRET!r}).now())
    db.session.commit()
    print("recovery:", codes[0])
"""


@dataclass
class Target:
    label: str
    url: str  # path, with its query string for GET targets
    data: dict | None = None  # POST form fields (csrf_token is added)
    form_page: str | None = None  # where the form (and its CSRF token) is
    api: bool = False
    params: list[str] = field(default_factory=list)  # -p: only these (default: all but tokens)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flask(env, *args, check=True) -> str:
    proc = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        sys.exit(f"flask {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout.strip()


@contextlib.contextmanager
def running_app(workdir: Path, organisations: int):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SDD_CRM_")}
    env.pop("REDIS_URL", None)
    env.update({
        "DATABASE_URL": "sqlite:///" + str(workdir / "sqlmap.sqlite3"),
        "SDD_CRM_SECRET_KEY": secrets.token_hex(16),
        "SDD_CRM_SESSION_COOKIE_SECURE": "false", "SDD_CRM_REMEMBER_COOKIE_SECURE": "false",
        # sqlmap sends thousands of requests: no throttling of this throw-away instance.
        "SDD_CRM_LOGIN_FAILURE_LIMIT": "100000 per minute",
        "SDD_CRM_API_TOKEN_FAILURE_LIMIT": "100000 per minute",
        "SDD_CRM_RATELIMIT_ENABLED": "false",
        "FLASK_DEBUG": "0",
        # Jobs inline, in the request: no worker thread writing to SQLite next to sqlmap.
        "SDD_CRM_JOBS": "inline",
    })
    print("Preparing a temporary database ...", flush=True)
    flask(env, "db", "upgrade")
    flask(env, "seed", "reference")
    flask(env, "seed", "demo", "--organisations", str(organisations))
    flask(env, "users", "create", "--email", ADMIN, "--name", "Sqlmap Beheer", "--role", "admin",
          "--password", PASSWORD)
    flask(env, "users", "create", "--email", REGIONAL, "--name", "Sqlmap Regio",
          "--role", "regional_account_manager", "--password", PASSWORD)
    token = flask(env, "users", "token", ADMIN, "--name", "sqlmap").splitlines()[-1].strip()
    # The admin signs in as in production: with a second factor (TOTP), set up by the app's own
    # enrolment service with a secret this script knows.
    proc = subprocess.run([sys.executable, "-c", ENABLE_TOTP], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"could not set up two-factor authentication for the admin:\n{proc.stderr}")
    recovery = re.findall(r"^recovery: (\S+)$", proc.stdout, re.MULTILINE)
    RECOVERY_CODES[:] = recovery
    port = free_port()
    log = open(workdir / "server.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", "run", "--host", "127.0.0.1",
                               "--port", str(port), "--no-reload", "--no-debugger", "--with-threads"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            with contextlib.suppress(requests.RequestException):
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            if server.poll() is not None:
                sys.exit(f"the application did not start; see {workdir / 'server.log'}")
            time.sleep(0.2)
        else:
            sys.exit("the application did not answer /healthz")
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(session: requests.Session, url: str) -> str:
    m = CSRF.search(session.get(url, timeout=10).text)
    if not m:
        sys.exit(f"no CSRF token on {url}")
    return m.group(1) or m.group(2)


def sign_in(base: str, email: str) -> requests.Session | None:
    """A browser session through the real login form; None when a second step (two-factor
    authentication) stands between the password and the dashboard."""
    s = requests.Session()
    s.headers["User-Agent"] = USER_AGENT
    token = csrf_token(s, base + "/login")
    resp = s.post(base + "/login", data={"email": email, "password": PASSWORD, "csrf_token": token},
                  allow_redirects=False, timeout=10)
    if resp.status_code != 302:
        sys.exit(f"sign-in as {email} failed: HTTP {resp.status_code}")
    if "/login/code" in resp.headers.get("Location", ""):
        # The TOTP code of this 30-second step was spent on the enrolment (a code counts once):
        # sign in with a recovery code, the second factor's other form.
        if not RECOVERY_CODES:
            return None
        token = csrf_token(s, base + "/login/code")
        resp = s.post(base + "/login/code", data={"code": RECOVERY_CODES.pop(0),
                                                  "csrf_token": token},
                      allow_redirects=False, timeout=10)
    landing = s.get(base + "/", allow_redirects=False, timeout=10)
    return s if landing.status_code == 200 else None


def ids(session: requests.Session, base: str) -> dict[str, str]:
    """Ids of real records, read from the list pages (the first link of each kind)."""
    found = {}
    for key, page, pattern in [
        ("org", "/organisations/", r'href="/organisations/(\d+)"'),
        ("contact", "/contacts/", r'href="/contacts/(\d+)"'),
        ("interaction", "/interactions/", r'href="/interactions/(\d+)"'),
        ("lead", "/leads/", r'href="/leads/(\d+)"'),
        ("task", "/tasks/?scope=all", r'href="/tasks/(\d+)"'),
        ("chain", "/chains/", r'href="/chains/(\d+)"'),
        ("programme", "/programmes/", r'href="/programmes/([A-Za-z0-9_-]+)"'),
    ]:
        m = re.search(pattern, session.get(base + page, timeout=10).text)
        if m:
            found[key] = m.group(1)
    return found


def targets(found: dict) -> list[Target]:
    """The parameters are those the pages' own filter forms and the OpenAPI document name."""
    org, contact = found.get("org", "1"), found.get("contact", "1")
    chain, programme = found.get("chain", "1"), found.get("programme", "scale")
    return [
        # list pages with search, filters and sort (the names their filter forms use)
        Target("organisations list", "/organisations/?" + urlencode(
            {"q": "Dordrecht", "municipality": "GM0505", "cluster": "1", "type": "company",
             "size": "small", "critical": "1", "status": "active", "sort": "name", "page": "1"})),
        Target("contacts list", "/contacts/?" + urlencode({"q": "Jansen", "page": "1"})),
        Target("interactions list", "/interactions/?" + urlencode(
            {"q": "bezoek", "organisation": "Dordrecht", "type": "visit", "topic": "innovation",
             "author": "1", "date_from": "2025-01-01", "date_to": "2026-12-31",
             "confidential": "0"})),
        Target("leads list", "/leads/?" + urlencode({"tab": "inbox", "status": "new",
                                                      "type": "lead"})),
        Target("tasks list", "/tasks/?" + urlencode({"scope": "all", "status": "open",
                                                      "assignee": "1", "due_before": "2027-01-01"})),
        Target("critical companies", "/chains/critical?" + urlencode(
            {"cluster": "1", "chain": chain, "municipality": "GM0505", "attention": "1"})),
        Target("audit (admin)", "/admin/audit?" + urlencode(
            {"entity_type": "organisation", "entity_id": org, "actor": "1", "action": "update",
             "result": "success", "date_from": "2025-01-01", "date_to": "2026-12-31",
             "origin": "127.0.0.1"})),
        Target("users (admin)", "/admin/users?" + urlencode({"q": "sqlmap", "role": "admin"})),
        Target("export with filters", "/imports/export/organisations.csv?" + urlencode(
            {"q": "Dordrecht", "municipality": "GM0505", "sort": "name"})),
        Target("programme pipeline", f"/programmes/{programme}?" + urlencode(
            {"q": "B.V.", "status": "identified", "municipality": "GM0505", "owner_id": "1",
             "cluster": "1", "counted": "1"})),
        # detail pages (the id in the path is bounded by the <int:> converter; tabs are params)
        Target("organisation detail", f"/organisations/{org}?" + urlencode({"tab": "contacts",
                                                                            "page": "1"})),
        Target("organisation search JSON", "/interactions/organisations.json?" + urlencode(
            {"q": "Dord"})),
        # POST forms, with a fresh CSRF token from the form page before each request
        Target("contact create form", f"/contacts/new?organisation_id={org}",
               form_page=f"/contacts/new?organisation_id={org}",
               data={"first_name": "Sqlmap", "last_name": "Proef", "function": "Inkoper",
                     "email": "sqlmap.proef@example.nl", "phone": "0781234567",
                     "preferred_language": "nl"}),
        Target("organisation edit form", f"/organisations/{org}/edit",
               form_page=f"/organisations/{org}/edit",
               data={"name": "Sqlmap Proef B.V.", "org_type": "company", "status": "active",
                     "city": "Dordrecht", "kvk_number": "12345678", "parent_id": "",
                     "sbi_codes": "2811", "tags": "proef", "version": "1"},
               params=["name", "city", "kvk_number", "parent_id", "sbi_codes", "tags"]),
        Target("admin users form", "/admin/users/new", form_page="/admin/users/new",
               data={"email": "nieuw@example.nl", "name": "Nieuwe Gebruiker",
                     "role": "viewer", "municipality": "GM0505", "password": PASSWORD},
               params=["email", "name", "role", "municipality"]),  # a password is only hashed
        # API list parameters with the bearer token (the names in /api/v1/openapi.json)
        Target("API organisations", "/api/v1/organisations?" + urlencode(
            {"q": "Dordrecht", "kvk": "12345678", "municipality": "GM0505", "cluster": "1",
             "type": "company", "size_class": "small", "critical": "true", "status": "active",
             "sort": "name", "page": "1", "per_page": "20"}), api=True),
        Target("API contacts", "/api/v1/contacts?" + urlencode({"q": "Jansen",
                                                                "organisation_id": org}), api=True),
        Target("API interactions", "/api/v1/interactions?" + urlencode(
            {"organisation_id": org, "type": "visit", "date_from": "2025-01-01",
             "date_to": "2026-12-31", "confidential": "false"}), api=True),
        Target("API tasks", "/api/v1/tasks?" + urlencode({"assignee": "1", "status": "open",
                                                          "due_before": "2027-01-01",
                                                          "organisation_id": org}), api=True),
        Target("API participations", f"/api/v1/programmes/{programme}/participations?" + urlencode(
            {"status": "identified", "municipality": "GM0505", "owner_id": "1", "q": "B.V.",
             "cluster_id": "1", "counted": "true"}), api=True),
        Target("API supply links", "/api/v1/supply-links?" + urlencode(
            {"organisation_id": org, "supplier_id": org, "value_chain_id": chain,
             "sole_source": "true"}), api=True),
        Target("API audit", "/api/v1/audit?" + urlencode(
            {"record_type": "contact", "record_id": contact, "action": "update",
             "since": "2025-01-01T00:00:00Z"}), api=True),
    ]


SUMMARY = re.compile(r"sqlmap identified the following injection point\(s\)")
PARAM = re.compile(r"^Parameter: (.+?) \((GET|POST|URI|Cookie|[A-Za-z-]+)\)$", re.MULTILINE)
NOT_INJECTABLE = re.compile(r"(GET|POST|URI|Cookie) parameter '([^']+)' does not seem to be injectable")
TESTING = re.compile(r"testing if (GET|POST|URI|Cookie) parameter '([^']+)' is dynamic")


def run_sqlmap(target: Target, base: str, cookie: str, token: str, args, outdir: Path) -> dict:
    cmd = [str(BIN / "sqlmap"), "-u", base + target.url, "--batch", f"--level={args.level}",
           f"--risk={args.risk}", "--dbms=SQLite" if args.dbms_sqlite else "--smart",
           "--time-sec=2", "--timeout=15", "--retries=1", "--flush-session",
           "--output-dir", str(outdir), "--disable-coloring",
           "--param-exclude=^(csrf_token|sdd_crm_session|session|remember_token)$",
           "--answers=follow=N,redirect=N", f"--user-agent={USER_AGENT}",
           "--skip-waf"]  # its WAF probe would switch to a random User-Agent: session lost
    if target.data is None:
        cmd += ["--threads=2"]  # (sqlmap refuses threads with a CSRF token)
    if target.api:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    else:
        cmd += ["--cookie", f"{COOKIE}={cookie}", "--skip=" + COOKIE]
    if target.data is not None:
        cmd += ["--data", urlencode({**target.data, "csrf_token": "x"}), "--csrf-token=csrf_token",
                "--csrf-url", base + (target.form_page or target.url)]
    if target.params:
        cmd += ["-p", ",".join(target.params)]
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.per_target,
                              check=False, stdin=subprocess.DEVNULL)
        out, timed_out = proc.stdout + proc.stderr, False
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace") if isinstance(e.stdout, bytes) \
            else (e.stdout or "")
        timed_out = True
    tested = {m.group(2) for m in TESTING.finditer(out)} | {m.group(2) for m in NOT_INJECTABLE.finditer(out)}
    injectable = sorted({m.group(1) for m in PARAM.finditer(out)}) if SUMMARY.search(out) else []
    problems = []
    if "unable to connect to the target URL" in out or "connection refused" in out.lower():
        problems.append("could not connect")
    if re.search(r"got a (302|303) redirect to '[^']*/login", out):
        problems.append("redirected to the login page (session lost)")
    if not tested and not timed_out:
        problems.append("no parameter tested")
    return {"label": target.label, "tested": sorted(tested), "injectable": injectable,
            "timed_out": timed_out, "seconds": time.monotonic() - started, "problems": problems,
            "output": out}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--level", type=int, default=2)
    parser.add_argument("--risk", type=int, default=1)
    parser.add_argument("--per-target", type=int, default=300, help="seconds per target at most")
    parser.add_argument("--organisations", type=int, default=40)
    parser.add_argument("--parallel", type=int, default=3, help="sqlmap runs at the same time")
    parser.add_argument("--only", help="run only targets whose label contains this text")
    parser.add_argument("--no-dbms-hint", dest="dbms_sqlite", action="store_false",
                        help="let sqlmap guess the database (slower) instead of --dbms=SQLite")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="sdd-sqlmap-"))
    results = []
    try:
        with running_app(workdir, args.organisations) as (base, token):
            admin = sign_in(base, ADMIN)
            browser = admin or sign_in(base, REGIONAL)
            if browser is None:
                print("error: could not sign in a browser session", file=sys.stderr)
                return 2
            if admin is None:
                print("note: the admin could not sign in (second factor); pages are tested as a "
                      "regional account manager and the admin pages are skipped")
            found = ids(browser, base)
            chosen = [t for t in targets(found)
                      if (admin or "(admin)" not in t.label)
                      and (not args.only or args.only.lower() in t.label.lower())]
            print(f"sqlmap {len(chosen)} targets against {base} (level {args.level}, risk "
                  f"{args.risk}, at most {args.per_target} s each)", flush=True)
            cookie = browser.cookies.get(COOKIE)
            with ThreadPoolExecutor(args.parallel) as pool:
                runs = pool.map(lambda t: run_sqlmap(t, base, cookie, token, args,
                                                     workdir / f"sqlmap-{abs(hash(t.label))}"), chosen)
                for r in runs:
                    results.append(r)
                    _report(r, workdir, len(results))
            still_signed_in = browser.get(base + "/", allow_redirects=False, timeout=10).status_code == 200
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs kept in {workdir}")
    return _summary(results, still_signed_in)


def _report(r: dict, workdir: Path, n: int) -> None:
    state = "TIMED OUT" if r["timed_out"] else "done"
    print(f"  {r['label']:<28} {state:<9} {r['seconds']:5.0f} s  tested: "
          f"{', '.join(r['tested']) or '-'}"
          + (f"  INJECTABLE: {', '.join(r['injectable'])}" if r["injectable"] else "")
          + (f"  PROBLEM: {'; '.join(r['problems'])}" if r["problems"] else ""),
          flush=True)
    (workdir / f"sqlmap-{n:02d}.log").write_text(r["output"])


def _summary(results: list[dict], still_signed_in: bool) -> int:
    tested = sum(len(r["tested"]) for r in results)
    injectable = sum(len(r["injectable"]) for r in results)
    problems = [(r["label"], p) for r in results for p in r["problems"]]
    print(f"targets: {len(results)}, tested parameters: {tested}, timed out: "
          f"{sum(r['timed_out'] for r in results)}")
    print(f"injectable parameters: {injectable}")
    if not still_signed_in:
        problems.append(("session", "the browser session ended during the run"))
    for label, problem in problems:
        print(f"problem: {label}: {problem}", file=sys.stderr)
    if injectable:
        return 1
    return 3 if problems or not tested else 0


if __name__ == "__main__":
    sys.exit(main())
