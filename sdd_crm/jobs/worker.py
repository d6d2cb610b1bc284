"""The embedded worker (``JOBS = "thread"``, the default without Redis): RQ's ``SimpleWorker``
in a daemon thread of the process that enqueues, over the same queues as ``flask rq worker``.

It starts on the first enqueue (once per process, again after a fork), sleeps until an enqueue
wakes it (or ``POLL_SECONDS`` pass), then works the queues empty in burst mode, each job in an
application context of its own (its own database session). The web request that enqueued has
long answered by then. When the process exits, the jobs already queued are finished first, so
a CLI command's follow-up jobs (a recompute after an import) are not lost.

The same thread runs the periodic work (:mod:`sdd_crm.jobs.schedule`): every
``SCHEDULE_TICK_SECONDS`` it starts what is due, which queues jobs that it then works. So that
the schedule runs without anyone starting a job, the worker starts with the process's first
request (:func:`init_app`). The schedule's claims live in the database: several web processes
each ask, one starts each run.

Limits of the embedded mode: one job at a time per process, and with several web processes
(gunicorn -w 4) each runs its own jobs; use Redis and ``flask rq worker`` for more.
"""

from __future__ import annotations

import atexit
import os
import threading
import time

from flask import Flask
from rq.timeouts import TimerDeathPenalty
from rq.worker import SimpleWorker

from ..extensions import rq
from .dispatcher import run_round

POLL_SECONDS = 5.0
_KEY = "sdd_crm_embedded_worker"
_start_lock = threading.Lock()


class ThreadWorker(SimpleWorker):
    """A SimpleWorker that may live in a thread other than the main one."""

    death_penalty_class = TimerDeathPenalty  # the default uses SIGALRM: main thread only

    def __init__(self, *args, app: Flask, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = app

    def _install_signal_handlers(self):
        pass  # only the main thread may install them; the server's own handlers stay

    def subscribe(self):
        pass  # no pub/sub listener thread: RQ's commands are for separate worker processes

    def unsubscribe(self):
        pass

    def execute_job(self, job, queue):
        with self.app.app_context():  # a session of its own, removed when the job is done
            super().execute_job(job, queue)


class EmbeddedWorker:
    def __init__(self, app: Flask):
        self.app, self.pid = app, os.getpid()
        self._wake, self._stopping = threading.Event(), False
        self.thread = threading.Thread(target=self._loop, name="sdd-crm-jobs", daemon=True)
        self._next_tick = 0.0  # time.monotonic() of the next look at the schedule
        self.last_round: float | None = None  # time.time() of the last round (the health check)
        self.last_tick: float | None = None  # time.time() of the last look at the schedule

    def start(self) -> None:
        self.thread.start()
        atexit.register(self.stop)

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float | None = None) -> None:
        """Finish the queued jobs, then end the thread (waits at most ``timeout`` seconds)."""
        self._stopping = True
        self._wake.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout)

    def _loop(self) -> None:
        while True:
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            self.last_round = time.time()
            self.dispatch()
            try:
                self._burst()
            except Exception:  # keep serving the next jobs; this one's failure is in RQ and the log
                self.app.logger.exception("The embedded job worker failed")
            if self._stopping:
                return
            self.tick()

    def dispatch(self) -> int:
        """Hand the outbox's pending jobs to the queue (:mod:`.outbox`): those whose first
        hand-over failed, and after a restart those this process's in-memory queue lost."""
        try:
            with self.app.app_context():
                return run_round()
        except Exception:
            self.app.logger.exception("The job outbox could not be dispatched")
            return 0

    def tick(self, now: float | None = None) -> list[str]:
        """Start the periodic work that is due, at most every ``SCHEDULE_TICK_SECONDS``; the
        jobs it queues wake this worker. Returns the names started."""
        now = time.monotonic() if now is None else now
        if now < self._next_tick or not schedule_enabled(self.app):
            return []
        self._next_tick = now + float(self.app.config.get("SCHEDULE_TICK_SECONDS", 60))
        self.last_tick = time.time()
        from .schedule import run_due

        try:
            with self.app.app_context():
                return run_due()
        except Exception:
            self.app.logger.exception("The schedule could not be checked")
            return []

    def _burst(self) -> None:
        with self.app.app_context():
            queues = list(rq.queues.values())
        worker = ThreadWorker(queues, connection=queues[0].connection,
                              job_class=queues[0].job_class, app=self.app)
        with self.app.app_context():
            worker.work(burst=True, logging_level="WARNING")


def is_running(app: Flask) -> bool:
    """Whether this process's embedded worker thread is alive (the health check)."""
    worker = app.extensions.get(_KEY)
    return bool(worker is not None and worker.pid == os.getpid() and worker.thread.is_alive())


def heartbeats(app: Flask) -> tuple[float | None, float | None]:
    """(worker, schedule): ``time.time()`` of this process's embedded worker's last round and
    last look at the schedule; (None, None) when none runs here (the health check)."""
    if not is_running(app):
        return None, None
    worker = app.extensions[_KEY]
    return worker.last_round, worker.last_tick


def schedule_enabled(app: Flask) -> bool:
    """``SCHEDULE_ENABLED``; unset (None): on, except in tests (``TESTING``)."""
    enabled = app.config.get("SCHEDULE_ENABLED")
    return not app.testing if enabled is None else bool(enabled)


def ensure_worker(app: Flask) -> EmbeddedWorker:
    """This process's embedded worker, started if it is not running (not woken)."""
    with _start_lock:
        worker = app.extensions.get(_KEY)
        if worker is None or worker.pid != os.getpid() or not worker.thread.is_alive():
            worker = app.extensions[_KEY] = EmbeddedWorker(app)
            worker.start()
    return worker


def init_app(app: Flask) -> None:
    """With ``JOBS = "thread"``: start the worker (and so the schedule) with the first request
    of each process, rather than with its first job. Not in CLI commands, which run no
    schedule (a ``flask db upgrade`` must not purge half-way)."""
    if app.config.get("JOBS") != "thread" or not schedule_enabled(app):
        return

    @app.before_request
    def _start_embedded_worker():
        worker = app.extensions.get(_KEY)
        if worker is None or worker.pid != os.getpid():
            ensure_worker(app).wake()


def wake_worker(app: Flask) -> None:
    """Start this process's embedded worker if it is not running, and wake it. A worker that is
    stopping still finishes what is queued (its last burst works the queues empty)."""
    ensure_worker(app).wake()


def stop_worker(app: Flask, timeout: float | None = None) -> None:
    """Finish the queued jobs and stop the embedded worker of ``app`` (tests; process exit)."""
    with _start_lock:
        worker = app.extensions.get(_KEY)
    if worker is not None:
        worker.stop(timeout)
