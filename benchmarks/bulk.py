"""Timing the bulk work against an already built database, for the main benchmark
(``benchmarks/run.py``): the organisations import and the export of the whole organisation list.

* :func:`time_import` writes a KvK-style CSV of ``rows`` new organisations
  (:func:`benchmarks.bench_import.make_csv`) and runs ``flask import organisations FILE --json``
  through Flask's CLI runner: reading the file, finding the column mapping, storing the Job,
  then the import job itself (check, plan, write, audit, one transaction). It adds rows to the
  database: run it last, or on a copy.
* :func:`time_export` runs the export job of the organisation list (no filters) as the user
  with ``user_email``, as a worker runs it after ``/imports/export/organisations.<fmt>``: the
  list's query with that user's visibility, the file, its audit entry. The file is stored with
  the job and, unless ``keep_file``, deleted again afterwards (the Job row and the audit entry
  stay) so repeated runs do not grow the database by megabytes each.

Both return plain dicts of numbers; they print nothing and assert nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
import time

import sqlalchemy as sa


def time_import(app, rows: int) -> dict:
    """``rows`` new organisations imported as ``flask import organisations`` does.

    Returns ``seconds`` (the whole command), ``job_seconds`` (the job alone, as the progress
    bar sees it), ``rows``, ``rows_per_second`` (on ``seconds``) and the command's JSON
    ``summary`` (created, updated, unchanged, held_for_review, rejected, errors, …)."""
    from benchmarks.bench_import import make_csv

    data = make_csv(rows)
    marks: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"kvk-{rows}.csv")
        with open(path, "wb") as fh:
            fh.write(data)
        runner = app.test_cli_runner()
        from sdd_crm.imports import jobs

        run_import_job = jobs.run_import_job

        def timed(job_id, **kwargs):  # the job's own share of the command
            marks.append(time.perf_counter())
            try:
                return run_import_job(job_id, **kwargs)
            finally:
                marks.append(time.perf_counter())

        jobs.run_import_job = timed
        try:
            t0 = time.perf_counter()
            result = runner.invoke(args=["import", "organisations", path, "--json"])
            seconds = time.perf_counter() - t0
        finally:
            jobs.run_import_job = run_import_job
    if result.exit_code != 0:
        raise RuntimeError(f"flask import organisations failed ({result.exit_code}): "
                           f"{result.output[-2000:]}")
    summary = json.loads(result.output.strip().splitlines()[-1])
    return {"seconds": seconds, "job_seconds": marks[1] - marks[0] if len(marks) == 2 else None,
            "rows": rows, "rows_per_second": rows / seconds if seconds else None,
            "summary": summary}


def time_export(app, user_email: str, fmt: str, *, keep_file: bool = False) -> dict:
    """The export job of the whole organisation list (``fmt`` "csv" or "xlsx") as the user with
    ``user_email``. Returns ``seconds`` (the job: query, file, audit, commit), ``rows``,
    ``bytes`` (the file's size), ``rows_per_second`` and the ``job_id``."""
    from sdd_crm.auth.models import User
    from sdd_crm.exports import jobs as export_jobs
    from sdd_crm.extensions import db
    from sdd_crm.jobs import lifecycle
    from sdd_crm.jobs.files import delete_files
    from sdd_crm.transaction import unit_of_work

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == user_email))
        if user is None:
            raise LookupError(f"no user {user_email}")
        with unit_of_work():  # what create_job writes, without putting it on a queue
            job_id = lifecycle.new_job(export_jobs.JOB_KIND, actor=user, params={
                "export": "organisations", "format": fmt, "args": {}, "programme": None}).id
        t0 = time.perf_counter()
        result = export_jobs.run_job(job_id)
        seconds = time.perf_counter() - t0
        if not result or "rows" not in result:
            raise RuntimeError(f"export job {job_id} did not finish: {result!r}")
        if not keep_file:
            with unit_of_work():
                delete_files(job_id, "output")
        db.session.remove()
    return {"seconds": seconds, "rows": result["rows"], "bytes": result["size"],
            "rows_per_second": result["rows"] / seconds if seconds else None, "job_id": job_id}
