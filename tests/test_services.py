"""Smoke test of the real Redis: a job goes through Flask-RQ to a burst worker and back."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import current_app, has_app_context

from sdd_crm import create_app
from sdd_crm.extensions import rq

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.redis


@rq.job
def report_app_context(word: str) -> dict:
    """Runs in the worker's subprocess: proves it had the application and its configuration."""
    return {
        "word": word.upper(),
        "app_context": has_app_context(),
        "app": current_app.import_name,
        "redis_url": current_app.config.get("REDIS_URL"),
    }


def _smoke_url(url: str) -> str:
    """The same server, database 15, so the test never touches queues in real use."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/15"))


def test_a_job_runs_in_an_app_context_on_a_real_redis_worker(monkeypatch, tmp_path):
    url = _smoke_url(os.environ["REDIS_URL"])
    # The worker starts `python -m flask rq work-horse …` for each job: it loads the app from
    # FLASK_APP with this environment, and imports this module to find the job function.
    monkeypatch.setenv("REDIS_URL", url)
    monkeypatch.setenv("FLASK_APP", str(ROOT / "wsgi.py"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(Path(__file__).parent), str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("DATABASE_URL", "sqlite:///" + str(tmp_path / "worker.sqlite3"))
    monkeypatch.setenv("SDD_CRM_SECRET_KEY", "worker-test-secret")

    worker_app = create_app({
        "TESTING": True,
        "SECRET_KEY": "worker-test-secret",
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "worker.sqlite3"),
        "REDIS_URL": url,
        "RQ_ASYNC": True,  # a testing app would otherwise run jobs in-process
        "RATELIMIT_STORAGE_URI": "memory://",
    })
    with worker_app.app_context():
        queue = rq.queue
        assert type(queue.connection).__module__.startswith("redis")  # not fakeredis
        assert queue.connection.ping()
        queue.empty()

        job = report_app_context.enqueue("hallo")
        assert job.get_status() == "queued"

        worker = rq.make_worker()
        worker.work(burst=True)

        job.refresh()
        assert job.get_status() == "finished", job.latest_result()
        assert job.return_value() == {
            "word": "HALLO",
            "app_context": True,
            "app": "sdd_crm",
            "redis_url": url,
        }
        queue.connection.delete(*queue.connection.keys("rq:*") or ["rq:none"])
