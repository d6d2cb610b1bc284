"""WSGI entry point: ``flask --app wsgi …`` and ``gunicorn wsgi:app``."""

from sdd_crm import create_app

app = create_app()
