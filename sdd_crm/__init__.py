"""SDD CRM: stakeholder CRM and strategic account management for Smart Delta Drechtsteden."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from . import logs
from .transaction import TransactionalFlask

__all__ = ["create_app"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Application factory (``flask --app wsgi``)."""
    app = TransactionalFlask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    if config and config.get("TESTING"):
        app.testing = True
    from .config import load_config

    load_config(app, config)
    logs.init_app(app)  # JSON lines and a request id: before anything logs (sdd_crm/logs.py)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config["PROXY_FIX_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_FIX_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    register_extensions(app)
    register_security(app)  # before the blueprints: it installs the bounded <int:> converter
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_template_helpers(app)
    return app


def register_extensions(app: Flask) -> None:
    from . import models  # noqa: F401  (every model on the metadata, for Alembic)
    from .audit.listeners import register_audit_listeners
    from .auth.sessions import load_user
    from .db import register_sqlite_pragmas
    from .extensions import babel, csrf, db, limiter, login_manager, migrate, rq
    from .i18n import select_locale, select_timezone

    db.init_app(app)
    register_sqlite_pragmas()
    from .organisations.search import include_name

    # include_name: autogenerate leaves the search index (made in SQL by its migration) alone.
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True,
                     include_name=include_name)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    login_manager.user_loader(load_user)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone,
                   default_translation_directories=str(Path(__file__).parent / "translations"))
    limiter.init_app(app)
    rq.init_app(app)
    from .jobs.worker import init_app as init_embedded_worker

    init_embedded_worker(app)  # JOBS = "thread": the worker and its schedule start with a request
    register_audit_listeners()
    from .transaction import register_transaction_hooks

    register_transaction_hooks()


def register_blueprints(app: Flask) -> None:
    from .accounts import bp as accounts_bp
    from .admin import bp as admin_bp
    from .api import init_app as init_api
    from .auth import bp as auth_bp
    from .contacts import bp as contacts_bp
    from .interactions import bp as interactions_bp
    from .leads import bp as leads_bp
    from .main import bp as main_bp
    from .notifications import bp as notifications_bp
    from .organisations import bp as organisations_bp
    from .organisations import duplicates_bp
    from .tasks import bp as tasks_bp
    from .valuechains import bp as valuechains_bp
    from .programmes import bp as programmes_bp
    from .exports import bp as exports_bp
    from .imports import bp as imports_bp
    from .jobs import bp as jobs_bp
    from .privacy import bp as privacy_bp
    from .search import bp as search_bp

    for bp in (main_bp, auth_bp, organisations_bp, contacts_bp, interactions_bp, tasks_bp,
               leads_bp, notifications_bp, accounts_bp, valuechains_bp, programmes_bp,
               imports_bp, duplicates_bp, exports_bp, jobs_bp, admin_bp, privacy_bp, search_bp):
        app.register_blueprint(bp)
    init_api(app)  # the API blueprint, through flask-smorest (it documents the routes)


def register_errorhandlers(app: Flask) -> None:
    from .conflicts import register as register_conflicts
    from .errors import register

    register(app)
    register_conflicts(app)  # the 409 edit page's field-by-field choices


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from . import forms, labels
    from .i18n import register_filters
    from .organisations import permissions as organisation_permissions
    from .permissions import register_template_globals

    register_filters(app)
    labels.register(app)
    forms.register(app)
    register_template_globals(app)
    organisation_permissions.register_template_globals(app)


def register_security(app: Flask) -> None:
    from .security import register

    register(app)
