"""WSGI entry point: ``flask --app wsgi …`` and ``gunicorn wsgi:app``."""

import gc

from sdd_crm import create_app

app = create_app()
# What the app made at start-up lives as long as the process: keep it out of the garbage
# collector's generations, so a collection during a request does not walk it (issue 12: p95
# spikes of 300–600 ms on big pages were collections over the whole start-up heap).
gc.freeze()
