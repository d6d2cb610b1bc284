"""A real journey over HTTP through the production set-up (issue 13 point 5): gunicorn with
``deploy/gunicorn.conf.py`` and 2 workers, 2 ``flask rq worker`` processes and the dispatcher, on
PostgreSQL and Redis — sign in, import a file and follow its progress, edit the imported
organisation from two sessions at once (the version check lets one through and answers the other
409), export the list as a job and download it. 0 errors: every answer is the one expected, and
the server's log holds no traceback and no 5xx.

Plain http on the loopback: production mode's Secure cookies would not come back over it, so the
app runs with the deployment's files and processes but not with SDD_CRM_PRODUCTION.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from db_support import throwaway_database
from html_helpers import form_fields
from import_support import sample

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"


class _Page:
    """A requests response where tests/html_helpers expects a Flask one."""

    def __init__(self, resp: requests.Response):
        self.resp = resp

    def get_data(self, as_text: bool = False):
        return self.resp.text if as_text else self.resp.content


def _path(location: str) -> str:
    """A redirect's path, whether the Location is absolute or not."""
    return re.sub(r"^https?://[^/]+", "", location)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_url() -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(os.environ["REDIS_URL"])._replace(path="/13"))


def _spawn(args, env, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True, stdout=out,
                                stderr=subprocess.STDOUT)


def _sign_in(base: str, email: str) -> requests.Session:
    session = requests.Session()
    form = form_fields(_Page(session.get(f"{base}/login", timeout=10)))  # the first form
    resp = session.post(f"{base}/login", data={**form, "email": email, "password": PASSWORD},
                        allow_redirects=False, timeout=10)
    assert resp.status_code == 302, resp.text[:1000]
    return session


def _wait_for_job(session: requests.Session, base: str, job_path: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        status = session.get(f"{base}{job_path}/status", timeout=10).json()
        seen.append(status["progress"])
        if status["done"]:
            assert status["status"] == "finished", status
            return status
        time.sleep(0.3)
    pytest.fail(f"job {job_path} did not finish; progress seen {seen[-10:]}")


@pytest.fixture
def stack(tmp_path):
    """(base URL, env, logs): gunicorn (2 workers), 2 RQ workers and the dispatcher."""
    import redis

    redis_url = _redis_url()
    redis.Redis.from_url(redis_url).flushdb()
    with throwaway_database(tmp_path, "journey") as url:
        port = _free_port()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("SDD_CRM_") and k not in ("TEST_DATABASE_URL",)}
        env.update({
            "FLASK_APP": "wsgi", "DATABASE_URL": url, "REDIS_URL": redis_url,
            "SDD_CRM_SECRET_KEY": secrets.token_hex(32), "SDD_CRM_SESSION_COOKIE_SECURE": "false",
            "SDD_CRM_REMEMBER_COOKIE_SECURE": "false", "SDD_CRM_SCHEDULE_ENABLED": "false",
            "SDD_CRM_EXPORT_DIRECT_MAX_ROWS": "5", "SDD_CRM_LOG_FORMAT": "json",
            "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        })
        flask = [sys.executable, "-m", "flask"]
        for args in (["db", "upgrade"], ["seed", "reference"],
                     ["users", "create", "--email", "anna@example.nl", "--name", "Anna",
                      "--role", "regional_account_manager", "--password", PASSWORD],
                     ["users", "create", "--email", "bram@example.nl", "--name", "Bram",
                      "--role", "regional_account_manager", "--password", PASSWORD]):
            done = subprocess.run([*flask, *args], cwd=ROOT, env=env, capture_output=True,
                                  text=True, timeout=300, check=False)
            assert done.returncode == 0, (args, done.stderr[-2000:])
        logs = {name: tmp_path / f"{name}.log" for name in ("web", "worker1", "worker2", "dispatcher")}
        procs = [
            _spawn([sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
                   env, logs["web"]),
            _spawn([*flask, "rq", "worker"], env, logs["worker1"]),
            _spawn([*flask, "rq", "worker"], env, logs["worker2"]),
            _spawn([*flask, "jobs", "dispatcher", "--interval", "0.5"], env, logs["dispatcher"]),
        ]
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                        break
                except requests.RequestException:  # not listening yet, or still starting
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("the stack did not become healthy:\n"
                                + "\n".join(p.read_text()[-1500:] for p in logs.values()))
                time.sleep(0.5)
            yield base, logs
        finally:
            for proc in procs:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            for proc in procs:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)


def test_a_journey_through_two_web_workers_and_two_job_workers(stack):
    base, logs = stack
    health = requests.get(f"{base}/healthz", timeout=10).json()
    assert health["status"] == "ok" and health["jobs"] == "redis"
    anna, bram = _sign_in(base, "anna@example.nl"), _sign_in(base, "bram@example.nl")

    # Import a file and follow its progress.
    fields = form_fields(_Page(anna.get(f"{base}/imports/", timeout=10)), "/imports/")
    fields.pop("file", None)
    upload = anna.post(f"{base}/imports/", files={"file": ("kvk.csv", sample("kvk_export_nl.csv"))},
                       data={**fields, "kind": "organisations"}, allow_redirects=False, timeout=30)
    assert upload.status_code == 302, upload.text[:2000]
    mapping_url = base + _path(upload.headers["Location"])
    mapping = form_fields(_Page(anna.get(mapping_url, timeout=10)), "/mapping")
    preview = anna.post(mapping_url, data=mapping, allow_redirects=False, timeout=30)
    assert preview.status_code == 302, preview.text[:2000]
    preview_path = _path(preview.headers["Location"])
    _wait_for_job(anna, base, preview_path)
    run_form = form_fields(_Page(anna.get(f"{base}{preview_path}", timeout=10)), "/run")
    run = anna.post(f"{base}{preview_path.replace('/jobs/', '/imports/')}/run", data=run_form,
                    allow_redirects=False, timeout=30)
    assert run.status_code == 302, run.text[:2000]
    import_path = _path(run.headers["Location"])
    _wait_for_job(anna, base, import_path)
    listed = anna.get(f"{base}/organisations/", timeout=10)
    org_ids = re.findall(r'href="/organisations/(\d+)"', listed.text)
    assert org_ids, "the imported organisations are not listed"
    org_id = org_ids[0]

    # Both open the edit form (same version); both save: one gets through, the other a 409.
    forms = [form_fields(_Page(s.get(f"{base}/organisations/{org_id}/edit", timeout=10)), "/edit")
             for s in (anna, bram)]
    assert forms[0]["version"] == forms[1]["version"]
    # At the same moment, so the two gunicorn workers (sync: one request each) both take one.
    from concurrent.futures import ThreadPoolExecutor

    def save(session, form, employees):
        return session.post(f"{base}/organisations/{org_id}/edit",
                            data={**form, "employees": employees}, allow_redirects=False,
                            timeout=30)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(save, (anna, bram), forms, ("42", "43")))
    assert sorted(a.status_code for a in answers) == [302, 409], [a.text[:500] for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert "intussen gewijzigd" in refused.text
    kept = "42" if answers[0].status_code == 302 else "43"

    # Export the list as a job (more rows than the direct limit) and download it.
    export = anna.get(f"{base}/imports/export/organisations.csv", allow_redirects=False, timeout=30)
    assert export.status_code == 302, export.text[:1000]
    export_path = _path(export.headers["Location"])
    status = _wait_for_job(anna, base, export_path)
    download = anna.get(f"{base}{status['files']['output']}", timeout=30)
    assert download.status_code == 200 and download.content.count(b"\n") >= len(org_ids)
    assert f";{kept};".encode() in download.content or f",{kept},".encode() in download.content

    # 0 errors anywhere: no traceback, no 5xx in the server's access lines, no failed job.
    for name, log in logs.items():
        content = log.read_text()
        assert "Traceback" not in content, (name, content[-3000:])
        assert not re.search(r'" 5\d\d ', content), (name, content[-3000:])
