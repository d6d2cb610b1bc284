"""Command-line interface (``flask --app wsgi …``), as DESIGN 5 promises other programs."""

from __future__ import annotations

import click
from flask import g
from flask.cli import AppGroup

from .extensions import db
from .exceptions import ValidationError

users_cli = AppGroup("users", help="Gebruikers beheren.")
seed_cli = AppGroup("seed", help="Referentie- en demogegevens laden.")
criticality_cli = AppGroup("criticality", help="Kritieke regionale bedrijven (DESIGN 4.3).")
jobs_cli = AppGroup("jobs", help="Achtergrondtaken.")


def _as_cli():
    g.audit_source = "cli"


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True,
              type=click.Choice(["admin", "regional_account_manager", "local_account_manager",
                                 "business_developer", "viewer"]))
@click.option("--municipality", default=None, help="CBS-code, bv. GM0505 (lokaal accountmanager).")
@click.option("--password", required=True)
def users_create(email, name, role, municipality, password):
    """Create a user."""
    from .auth.services import create_user

    _as_cli()
    try:
        user = create_user(email=email, name=name, role=role, password=password,
                           municipality_code=municipality)
        db.session.commit()
    except ValidationError as e:
        db.session.rollback()
        for field, message in e.errors.items():
            click.echo(f"{field}: {message}", err=True)
        raise SystemExit(2)
    click.echo(f"Gebruiker {user.email} aangemaakt (id {user.id}).")


@users_cli.command("token")
@click.argument("email")
@click.option("--name", default="cli", help="Naam van het token.")
def users_token(email, name):
    """Print a new API token for EMAIL."""
    from .auth.services import create_token, get_user_by_email

    _as_cli()
    user = get_user_by_email(email)
    if user is None or not user.active:
        click.echo(f"Geen actieve gebruiker met e-mailadres {email}.", err=True)
        raise SystemExit(2)
    token = create_token(user, name)
    db.session.commit()
    click.echo(token)


@users_cli.command("revoke-tokens")
@click.argument("email")
def users_revoke_tokens(email):
    """Revoke every API token of EMAIL."""
    from .auth.services import get_user_by_email, revoke_tokens

    _as_cli()
    user = get_user_by_email(email)
    if user is None:
        click.echo(f"Geen gebruiker met e-mailadres {email}.", err=True)
        raise SystemExit(2)
    n = revoke_tokens(user)
    db.session.commit()
    click.echo(f"{n} token(s) ingetrokken.")


@seed_cli.command("reference")
def seed_reference_cmd():
    """Municipalities, places, focus SBI codes, clusters and programmes (idempotent)."""
    from .reference.services import seed_reference

    _as_cli()
    counts = seed_reference()
    db.session.commit()
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))


@seed_cli.command("demo")
@click.option("--organisations", "n", default=320, show_default=True)
def seed_demo_cmd(n):
    """A deterministic fictional region for demos and screenshots."""
    from .reference.services import seed_reference
    from .seeds.demo import DEMO_PASSWORD, DEMO_USERS, seed_demo

    _as_cli()
    seed_reference()
    counts = seed_demo(n_organisations=n)
    db.session.commit()
    if counts.get("skipped"):
        click.echo(f"De demoregio is al geladen ({counts['organisations']} organisaties); "
                   "er is niets toegevoegd.")
        return
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))
    click.echo(f"Demogebruikers (wachtwoord: {DEMO_PASSWORD}):")
    for _key, email, _name, role, municipality in DEMO_USERS:
        click.echo(f"  {email}  {role}" + (f" {municipality}" if municipality else ""))


@criticality_cli.command("recompute")
@click.option("--async", "run_async", is_flag=True,
              help="In de wachtrij zetten voor een worker (flask rq worker) in plaats van nu uitvoeren.")
def criticality_recompute_cmd(run_async):
    """Recompute every organisation's criticality, printing progress and a summary."""
    from .valuechains.jobs import create_job, enqueue_job, run_job

    _as_cli()
    job = create_job(trigger="cli")
    if run_async:
        enqueue_job(job)
        db.session.commit()
        click.echo(f"Herberekening in de wachtrij gezet: job {job.id}.")
        return
    db.session.commit()
    job_id, shown = job.id, set()

    def echo(phase, percent):
        step = (phase, percent // 10)
        if step not in shown:
            shown.add(step)
            click.echo(f"  {percent:3d}%  {phase}")

    click.echo(f"Herberekening gestart: job {job_id}.")
    try:
        summary = run_job(job_id, echo=echo)
    except Exception as exc:  # the Job row says failed; the stack trace is in the log
        click.echo(f"Mislukt: {type(exc).__name__}: {exc}", err=True)
        raise SystemExit(1) from None
    seconds = ", ".join(f"{k} {v:.2f} s" for k, v in summary["seconds"].items())
    click.echo(f"Klaar: {summary['organisations']} organisaties, {summary['critical']} kritisch "
               f"({summary['became_critical']} nieuw, {summary['no_longer_critical']} niet meer), "
               f"{summary['new_assessments']} nieuwe beoordelingen.")
    click.echo(f"Tijd per fase: {seconds}.")


@jobs_cli.command("purge")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Bestanden van taken die langer dan zoveel dagen geleden klaar waren "
                   "(standaard JOB_FILE_RETENTION_DAYS, 14).")
def jobs_purge(days):
    """Delete uploaded and exported files of jobs that ended more than DAYS days ago."""
    import datetime as dt

    from flask import current_app

    from .db import utcnow
    from .jobs.files import purge_files

    _as_cli()
    if days is None:
        days = int(current_app.config.get("JOB_FILE_RETENTION_DAYS", 14))
    deleted = purge_files(utcnow() - dt.timedelta(days=days))
    db.session.commit()
    click.echo(f"{deleted} bestand(en) verwijderd van taken die meer dan {days} dagen geleden "
               "klaar waren.")


def register(app) -> None:
    from .imports.cli import import_cli

    app.cli.add_command(import_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(seed_cli)
    app.cli.add_command(criticality_cli)
    app.cli.add_command(jobs_cli)
