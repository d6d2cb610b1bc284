"""Imports of issue 6 in real Chromium, against a server whose jobs run on a real RQ worker.

The shared live server runs jobs in-process (or enqueues them on REDIS_URL with no worker), so
this module starts its own: ``job_server`` is the application on a loopback port with its own
database (a private PostgreSQL database when TEST_DATABASE_URL is set, else SQLite) and RQ on a
private queue — on REDIS_URL's Redis when it is set, else on a fakeredis server — worked by an
``rq.SimpleWorker`` in a thread of this process. The test decides when the worker runs
(``run_jobs``), so each job page is first seen waiting in the queue and then changes by itself.

A business developer uploads the shared KvK sample, maps its columns, sees the preview (31 new,
2 rejected), imports it and downloads the report of rejected rows; every step passes axe-core
(WCAG 2.1 A/AA). Then an import of 30,000 generated rows shows its progress bar moving live and
the page reloads itself to the finished summary.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from dataclasses import dataclass

import pytest
from browser_support import PASSWORD, axe_violations, screenshot, sign_in
from playwright.sync_api import expect

from db_support import throwaway_database
from import_support import many_rows_csv, sample

BD_EMAIL = "bd.import@example.nl"
MANY = 30_000
JOB_URL = re.compile(r"/jobs/[0-9a-f-]{36}$")


def _rq_config(queue_name: str) -> dict:
    """RQ on REDIS_URL when set, else on one fakeredis server shared by web and worker."""
    redis_url = os.environ.get("REDIS_URL")
    if redis_url:
        connection = {"RQ_CONNECTION_CLASS": "redis.Redis", "RQ_CONNECTION": redis_url}
    else:
        import fakeredis

        connection = {"RQ_CONNECTION_CLASS": "fakeredis.FakeRedis",
                      "RQ_CONNECTION": {"server": fakeredis.FakeServer()}}
    # "default" stays configured: the job pages read RQ's meta over its connection.
    return {**connection, "RQ_ASYNC": True, "RQ_QUEUES": [queue_name, "default"]}


def _worker_class(app):
    from rq.timeouts import TimerDeathPenalty
    from rq.worker import SimpleWorker

    class ThreadWorker(SimpleWorker):
        """Runs jobs in this thread, each in a fresh application context (as Flask-RQ's
        work horse does); signals and SIGALRM timeouts only work in the main thread."""

        death_penalty_class = TimerDeathPenalty

        def _install_signal_handlers(self):
            pass

        def execute_job(self, job, queue):
            with app.app_context():
                super().execute_job(job, queue)

    return ThreadWorker


def _quiet_handler():
    from werkzeug.serving import WSGIRequestHandler

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):  # the page polls every second
            pass

    return Quiet


@dataclass
class JobServer:
    url: str
    app: object
    queue_name: str
    worker_class: type

    def run_jobs(self) -> threading.Thread:
        """Work the queue until it is empty, in a thread (like a worker that was busy)."""
        from sdd_crm.extensions import rq

        with self.app.app_context():
            queue = rq.get_queue(self.queue_name)
        worker = self.worker_class([queue], connection=queue.connection,
                                   job_class=queue.job_class, name=f"browser-{uuid.uuid4().hex}")
        thread = threading.Thread(target=worker.work, kwargs={"burst": True},
                                  name="rq-browser-worker", daemon=True)
        thread.start()
        return thread


def _forget_queue(queue) -> None:
    from rq.job import Job as RqJob

    registries = [getattr(queue, f"{name}_job_registry") for name in (
        "canceled", "deferred", "failed", "finished", "scheduled", "started")]
    for job_id in {j for r in registries for j in r.get_job_ids()}:
        RqJob(job_id, connection=queue.connection).delete(remove_from_queue=False)
    queue.connection.delete(*[r.key for r in registries])
    queue.delete(delete_jobs=True)


@pytest.fixture(scope="module")
def job_server(tmp_path_factory, live_server):
    """Our own server and worker (``live_server`` only tells tests/conftest.py's per-test
    transaction fixture to leave these tests alone)."""
    from flask_migrate import upgrade
    from werkzeug.serving import make_server

    from sdd_crm import create_app
    from sdd_crm.auth.services import create_user
    from sdd_crm.extensions import db, rq
    from sdd_crm.imports.jobs import import_task
    from sdd_crm.reference.services import seed_reference

    tmp = tmp_path_factory.mktemp("jobs-live")
    queue_name = f"browser-imports-{uuid.uuid4().hex[:12]}"
    with throwaway_database(tmp, "browser_jobs") as database, pytest.MonkeyPatch.context() as mp:
        app = create_app({
            "TESTING": True, "SECRET_KEY": "jobs-live-secret", "SQLALCHEMY_DATABASE_URI": database,
            "WTF_CSRF_ENABLED": True, "SESSION_COOKIE_SECURE": False,
            "REMEMBER_COOKIE_SECURE": False, "RATELIMIT_STORAGE_URI": "memory://",
            **_rq_config(queue_name)})
        mp.setattr(import_task, "queue", queue_name)  # import jobs go to our private queue
        with app.app_context():
            upgrade()
            seed_reference()
            create_user(email=BD_EMAIL, name="Bo Import", role="business_developer",
                        password=PASSWORD)
            db.session.commit()
            queue = rq.get_queue(queue_name)
            assert queue.is_async
            db.session.remove()
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_quiet_handler())
        thread = threading.Thread(target=server.serve_forever, name="jobs-live-server",
                                  daemon=True)
        thread.start()
        try:
            yield JobServer(url=f"http://127.0.0.1:{server.server_port}", app=app,
                            queue_name=queue_name, worker_class=_worker_class(app))
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
            with app.app_context():
                if os.environ.get("REDIS_URL"):  # a fakeredis server just goes away
                    _forget_queue(queue)
                db.engine.dispose()


@pytest.fixture
def bd_page(chromium, job_server):
    """A business developer signed in on our server, with everything the page says recorded."""
    context = chromium.new_context(base_url=job_server.url, viewport={"width": 1280, "height": 900},
                                   locale="nl-NL", accept_downloads=True)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.problems = []
    # Chromium asks every new host for /favicon.ico, which this app does not have.
    tab.on("console", lambda m: tab.problems.append(f"console {m.type}: {m.text} {m.location}")
           if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
           else None)
    tab.on("pageerror", lambda e: tab.problems.append(f"page error: {e}"))
    tab.on("response", lambda r: tab.problems.append(f"HTTP {r.status}: {r.url}")
           if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    sign_in(tab, BD_EMAIL)
    assert tab.url.rstrip("/") == job_server.url, tab.url
    yield tab
    context.close()


def _check(page, name: str) -> None:
    page.wait_for_load_state("load")
    screenshot(page, name)
    violations = axe_violations(page)
    assert violations == [], f"{name}: {violations}"


def _summary(page) -> dict[str, str]:
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
        "dd[data-summary]")].map(dd => [dd.dataset.summary, dd.textContent.trim()]))""")


def _upload(page, tmp_path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    page.goto("/imports/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Importeren")
    page.get_by_label("Organisaties (bijvoorbeeld een KvK-export of een lijst uit Excel)").check()
    page.get_by_label("Bestand", exact=True).set_input_files(str(path))
    page.get_by_role("button", name="Uploaden en kolommen koppelen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kolommen koppelen")


def _wait_for_worker(thread: threading.Thread) -> None:
    thread.join(timeout=60)
    assert not thread.is_alive(), "the worker did not finish its jobs within 60 s"


def test_import_flow_as_a_business_developer(bd_page, job_server, tmp_path):
    page = bd_page
    page.goto("/imports/")
    _check(page, "imports-upload")

    _upload(page, tmp_path, "kvk_export_nl.csv", sample("kvk_export_nl.csv"))
    expect(page.locator("dl.app-dl")).to_contain_text("Gegevensrijen33")
    expect(page.get_by_label("Veld voor kolom ‘KVK nummer’")).to_have_value("kvk_number")
    _check(page, "imports-mapping")

    page.get_by_role("button", name="Voorbeeld bekijken").click()
    expect(page).to_have_url(JOB_URL)
    preview_url = page.url
    expect(page.locator("[data-job-field=status]")).to_have_text("In de wachtrij")
    _check(page, "imports-preview-queued")

    _wait_for_worker(job_server.run_jobs())
    # jobs.js notices the finished job and reloads the page: the summary appears by itself.
    heading = page.get_by_role("heading", name="Resultaat van het voorbeeld")
    expect(heading).to_be_visible(timeout=30_000)
    assert page.url == preview_url
    assert _summary(page) == {"created": "31", "updated": "0", "unchanged": "0",
                              "held_for_review": "0", "rejected": "2", "errors": "2"}
    expect(page.get_by_text("Dit is een voorbeeld (proefrun).")).to_be_visible()
    expect(page.locator("#job-progress")).to_have_attribute("value", "100")
    _check(page, "imports-preview-finished")

    page.get_by_role("button", name="Nu importeren").click()
    expect(page).to_have_url(JOB_URL)
    run_url = page.url
    assert run_url != preview_url
    expect(page.locator("[data-job-field=status]")).to_have_text("In de wachtrij")

    _wait_for_worker(job_server.run_jobs())
    expect(page.get_by_role("heading", name="Resultaat van de import")).to_be_visible(
        timeout=30_000)
    assert page.url == run_url
    assert _summary(page) == {"created": "31", "updated": "0", "unchanged": "0",
                              "held_for_review": "0", "rejected": "2", "errors": "2"}
    expect(page.locator("[data-job-field=status]")).to_have_text("Klaar")
    expect(page.get_by_role("button", name="Nu importeren")).to_have_count(0)
    rows = page.locator("section[aria-labelledby=import-summary] table:not([data-summary]) tbody tr")
    expect(rows).to_have_count(2)
    # Issue 14: the rows outside the region are imported with a warning each, never silently.
    warnings = page.locator("table[data-summary=warnings] tbody tr")
    expect(warnings.filter(has_text="Breda ligt buiten de regio Drechtsteden")).to_have_count(3)
    expect(rows.first).to_contain_text("De naam ontbreekt.")
    expect(rows.nth(1)).to_contain_text("Een KvK-nummer bestaat uit 8 cijfers.")
    _check(page, "imports-run-finished")

    link = page.get_by_role("link", name="Rapport van de afgewezen rijen downloaden (CSV)")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "kvk_export_nl-afgewezen-rijen.csv"
    with open(download.value.path(), "rb") as fh:
        report = fh.read().decode("utf-8")
    assert report.startswith(
        "\ufeffRij (spreadsheet);Kolom;Melding\r\n32;Naam;De naam ontbreekt.\r\n"
        "33;KVK nummer;Een KvK-nummer bestaat uit 8 cijfers.\r\n")
    assert report.count("Waarschuwing (de rij is wel geïmporteerd): Breda ligt buiten") == 3

    # The imported organisations are there for everyone to find.
    page.goto("/organisations/?q=Scheepsbouw+Dordrecht+0")
    expect(page.get_by_role("link", name="Scheepsbouw Dordrecht 0")).to_be_visible()
    assert page.problems == []


# Runs in every page of the tab, before the page's own scripts: reports the progress bar's
# value (and the status and message beside it) when a job page loads and every time jobs.js
# changes it, to Python, which outlives the page's own reload.
RECORD_PROGRESS = """
document.addEventListener("DOMContentLoaded", () => {
  const bar = document.querySelector("progress#job-progress");
  if (!bar) { return; }
  const text = name => document.querySelector(`[data-job-field=${name}]`).textContent.trim();
  const record = how => window.recordProgress(
      location.pathname, how, bar.getAttribute("value"), text("status"), text("message"));
  record("load");
  new MutationObserver(() => record("poll"))
    .observe(bar, {attributes: true, attributeFilter: ["value"]});
});
"""


def test_live_progress_bar_moves_and_the_page_finishes_by_itself(bd_page, job_server, tmp_path):
    page = bd_page
    seen: list[tuple] = []
    page.expose_function("recordProgress", lambda path, how, value, status, message: seen.append(
        (path, how, int(value), status, message)))
    page.add_init_script(RECORD_PROGRESS)

    _upload(page, tmp_path, "kvk-veel-rijen.csv", many_rows_csv(MANY, seed=11))
    expect(page.locator("dl.app-dl")).to_contain_text("Gegevensrijen30.000")
    page.get_by_role("button", name="Voorbeeld bekijken").click()
    expect(page).to_have_url(JOB_URL)
    _wait_for_worker(job_server.run_jobs())
    expect(page.get_by_role("heading", name="Resultaat van het voorbeeld")).to_be_visible(
        timeout=30_000)
    assert _summary(page)["created"] == "30.000"

    page.get_by_role("button", name="Nu importeren").click()
    expect(page).to_have_url(JOB_URL)
    run_path = page.url.removeprefix(job_server.url)
    expect(page.locator("[data-job-field=status]")).to_have_text("In de wachtrij")

    worker = job_server.run_jobs()  # from now on the test only watches
    expect(page.get_by_role("heading", name="Resultaat van de import")).to_be_visible(
        timeout=60_000)
    _wait_for_worker(worker)
    page.wait_for_load_state("load")
    page.evaluate("1")  # a round trip: every recordProgress call before it has arrived

    run = [(how, value, status, message) for path, how, value, status, message in seen
           if path == run_path]
    polled = [value for how, value, _status, _message in run if how == "poll"]
    assert run[0] == ("load", 0, "In de wachtrij", "In de wachtrij"), run
    # While it ran, the message beside the bar said what the import was doing.
    working = {m for how, value, _s, m in run if how == "poll" and 0 < value < 100}
    assert working and working <= {"Bestand lezen", "Rijen controleren",
                                   "Vergelijken met de gegevens in het CRM", "Opslaan"}, run
    assert any(0 < value < 100 for value in polled), run
    assert polled == sorted(polled), run  # it only ever moves forward
    assert polled[-1] == 100, run
    assert any(how == "poll" and status == "Bezig" for how, _v, status, _m in run), run  # status text too
    # jobs.js reloaded the page once, by itself: the finished page shows 100 % and the summary.
    assert [how for how, *_rest in run].count("load") == 2, run
    assert run[-1][:3] == ("load", 100, "Klaar"), run
    assert run[-1][3].startswith("Klaar: 30.000 nieuw"), run
    expect(page.locator("#job-progress")).to_have_attribute("value", "100")
    expect(page.locator("[data-job-field=percent]")).to_have_text("100%")
    assert _summary(page) == {"created": "30.000", "updated": "0", "unchanged": "0",
                              "held_for_review": "0", "rejected": "0", "errors": "0"}
    assert page.problems == []
    screenshot(page, "imports-live-progress-finished")
