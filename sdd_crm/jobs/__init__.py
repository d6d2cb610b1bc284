"""Background jobs: one lifecycle for every job kind.

Imports (organisations, contacts), list exports, the programme workbook, the duplicate search,
the criticality recompute and notification e-mail are all the same thing to this package: a **Job row** (``models``)
that goes ``queued → running → finished | failed``, with ``started_at``/``finished_at``,
``progress`` (0–100), a Dutch ``message`` and a JSON ``result``; its files (an upload, an
export, a report) are **JobFiles** in the database (``files``), so web and worker processes on
different machines reach them. A feature keeps only its job's body. This package is the ground
floor: it imports no feature package.

How a job runs
--------------

1. A service creates the row with :func:`lifecycle.new_job` (``queued``, flushed in the
   request's transaction) and calls :func:`lifecycle.enqueue` with its RQ task (a function
   decorated with ``@rq.job`` that takes the Job id, never an ORM object). The task is
   recorded in the same transaction, in the **outbox** (:mod:`outbox`), and handed to RQ only
   after the commit: a worker must find the row, and a rolled-back request enqueues nothing.
   When Redis does not take it then, the row waits and the dispatcher (the embedded worker's
   rounds, ``flask jobs dispatcher``) hands it over once Redis answers: no job is lost. The RQ
   job carries the row's id as its own. A job whose worker dies while running it (its
   heartbeat expires) is put back on the outbox, or failed after three runs (:mod:`reaper`).
2. A worker calls the task, which calls :func:`lifecycle.run` with the body. ``run`` skips a
   job already ``finished`` (a retry or duplicate changes nothing), commits ``running``, then
   runs the body as **one unit of work** (:mod:`sdd_crm.transaction`): the body's data, audit
   events, files and the row's ``finished`` state with result and message commit together, or
   not at all. An import also takes a PostgreSQL advisory lock per job (``exclusive``).
3. On an exception everything rolls back and the row is marked ``failed`` in a short
   transaction of its own: :class:`lifecycle.JobFailed` carries a message for the user (a bad
   file, a right lost; not retried); anything else gets the kind's "mislukt" message, goes to
   the log, and is raised again so that RQ records (and may retry) it.
   **Resumable jobs** (``run(..., resumable=True)``) are for work that cannot be rolled back:
   notification e-mail (a sent message stays sent). Their body gets ``checkpoint()``, which
   commits the work so far and goes on in a new transaction; it claims an item, does it, and
   checkpoints. A failure rolls back only the unfinished item and marks the row ``failed``; a
   rerun (an RQ retry) skips what was stored (a notification's ``emailed_at``) and goes on.
   Every other kind is atomic (the default).
4. Progress: the body reports ``progress(percent, message)`` to the one
   :class:`progress.ProgressReporter`, which writes the RQ job's meta (and on PostgreSQL the
   row, over its own connection): the job's transaction is still open, yet the job page
   (``/jobs/<id>``, polled by ``static/js/jobs.js``) and ``GET /api/v1/jobs/<id>`` show it
   (:func:`progress.live_progress`).

Where a job runs (``JOBS`` / ``SDD_CRM_JOBS``, see ``config.py``)
--------------------------------------------------------------------

* ``redis`` (with ``REDIS_URL``): Redis queues, worked by ``flask rq worker`` processes;
* ``thread`` (the embedded default without Redis, ``make run``): the same queues on an
  in-process fakeredis, worked by RQ's ``SimpleWorker`` in a daemon thread of the web process
  (:mod:`worker`), started on the first enqueue. The request that starts a job answers at once;
  on SQLite (WAL) the pages keep reading while the job writes;
* ``inline`` (tests): RQ runs the job right after the commit, before the request returns.

The same code runs in all three.
"""

from flask import Blueprint

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

from . import views  # noqa: E402,F401
