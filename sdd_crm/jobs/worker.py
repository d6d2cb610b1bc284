"""The embedded worker (``JOBS = "thread"``, the default without Redis): RQ's ``SimpleWorker``
in a daemon thread of the process that enqueues, over the same queues as ``flask rq worker``.

It starts on the first enqueue (once per process, again after a fork), sleeps until an enqueue
wakes it (or ``POLL_SECONDS`` pass), then works the queues empty in burst mode, each job in an
application context of its own (its own database session). The web request that enqueued has
long answered by then. When the process exits, the jobs already queued are finished first, so
a CLI command's follow-up jobs (a recompute after an import) are not lost.

Limits of the embedded mode: one job at a time per process, and with several web processes
(gunicorn -w 4) each runs its own jobs; use Redis and ``flask rq worker`` for more.
"""

from __future__ import annotations

import atexit
import os
import threading

from flask import Flask
from rq.timeouts import TimerDeathPenalty
from rq.worker import SimpleWorker

from ..extensions import rq

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
            try:
                self._burst()
            except Exception:  # keep serving the next jobs; this one's failure is in RQ and the log
                self.app.logger.exception("The embedded job worker failed")
            if self._stopping:
                return

    def _burst(self) -> None:
        with self.app.app_context():
            queues = list(rq.queues.values())
        worker = ThreadWorker(queues, connection=queues[0].connection,
                              job_class=queues[0].job_class, app=self.app)
        with self.app.app_context():
            worker.work(burst=True, logging_level="WARNING")


def wake_worker(app: Flask) -> None:
    """Start this process's embedded worker if it is not running, and wake it. A worker that is
    stopping still finishes what is queued (its last burst works the queues empty)."""
    with _start_lock:
        worker = app.extensions.get(_KEY)
        if worker is None or worker.pid != os.getpid() or not worker.thread.is_alive():
            worker = app.extensions[_KEY] = EmbeddedWorker(app)
            worker.start()
    worker.wake()


def stop_worker(app: Flask, timeout: float | None = None) -> None:
    """Finish the queued jobs and stop the embedded worker of ``app`` (tests; process exit)."""
    with _start_lock:
        worker = app.extensions.get(_KEY)
    if worker is not None:
        worker.stop(timeout)
