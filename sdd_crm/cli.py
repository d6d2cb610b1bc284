"""Command-line interface (``flask --app wsgi …``), as DESIGN 5 promises other programs.

Each command is one unit of work (:func:`sdd_crm.transaction.unit_of_work`): what it changes
is committed once, after which it reports; a refusal or a failure rolls everything back and
the command exits non-zero with a message (see :func:`command`).
"""

from __future__ import annotations

import functools

import click
import sqlalchemy as sa
from flask import g
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from .exceptions import ConflictError, DomainError, NotFound, PermissionDenied, ValidationError
from .extensions import db
from .transaction import unit_of_work

users_cli = AppGroup("users", help="Gebruikers beheren.")
seed_cli = AppGroup("seed", help="Referentie- en demogegevens laden.")
criticality_cli = AppGroup("criticality", help="Kritieke regionale bedrijven (DESIGN 4.3).")
jobs_cli = AppGroup("jobs", help="Achtergrondtaken.")
bin_cli = AppGroup("bin", help="Prullenbak: verwijderde gegevens.")
programmes_cli = AppGroup("programmes", help="Programma's en hun tellingen (DESIGN 4.2).")


def _as_cli():
    g.audit_source = "cli"


def _fail(message: str, code: int):
    click.echo(message, err=True)
    raise SystemExit(code)


def command(fn):
    """Run a CLI command as the CLI (audit source ``cli``) and turn a refusal into a message
    and a non-zero exit instead of a stack trace. The command's writes sit in a
    :func:`unit_of_work`, which has already rolled them back when the error arrives here."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _as_cli()
        try:
            return fn(*args, **kwargs)
        except ValidationError as e:
            for field, message in e.errors.items():
                click.echo(f"{field}: {message}", err=True)
            _fail("Er is niets opgeslagen.", 2)
        except ConflictError as e:
            _fail(f"Conflict: {e.message or 'het record is intussen gewijzigd'}. "
                  "Er is niets opgeslagen.", 2)
        except PermissionDenied:
            _fail("Geen toestemming. Er is niets opgeslagen.", 2)
        except NotFound:
            _fail("Niet gevonden. Er is niets opgeslagen.", 2)
        except DomainError as e:  # pragma: no cover - the four above are all there are
            _fail(f"{e}. Er is niets opgeslagen.", 2)
        except SQLAlchemyError as e:
            _fail(f"Mislukt: de database weigerde de wijziging ({type(e).__name__}: "
                  f"{getattr(e, 'orig', None) or e}). Er is niets opgeslagen.", 1)

    return wrapper


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", required=True,
              type=click.Choice(["admin", "regional_account_manager", "local_account_manager",
                                 "business_developer", "viewer"]))
@click.option("--municipality", default=None, help="CBS-code, bv. GM0505 (lokaal accountmanager).")
@click.option("--password", required=True)
@command
def users_create(email, name, role, municipality, password):
    """Create a user."""
    from .auth.services import create_user

    with unit_of_work():
        user = create_user(email=email, name=name, role=role, password=password,
                           municipality_code=municipality)
        email, user_id = user.email, user.id
    click.echo(f"Gebruiker {email} aangemaakt (id {user_id}).")


@users_cli.command("token")
@click.argument("email")
@click.option("--name", default="cli", help="Naam van het token.")
@command
def users_token(email, name):
    """Print a new API token for EMAIL."""
    from .auth.services import create_token, get_user_by_email

    with unit_of_work():
        user = get_user_by_email(email)
        if user is None or not user.active:
            _fail(f"Geen actieve gebruiker met e-mailadres {email}.", 2)
        token = create_token(user, name)
    click.echo(token)


@users_cli.command("revoke-tokens")
@click.argument("email")
@command
def users_revoke_tokens(email):
    """Revoke every API token of EMAIL."""
    from .auth.services import get_user_by_email, revoke_tokens

    with unit_of_work():
        user = get_user_by_email(email)
        if user is None:
            _fail(f"Geen gebruiker met e-mailadres {email}.", 2)
        n = revoke_tokens(user)
    click.echo(f"{n} token(s) ingetrokken.")


@users_cli.command("set-password")
@click.argument("email")
@click.option("--password", prompt="Nieuw wachtwoord", hide_input=True, confirmation_prompt=True,
              help="Zonder deze optie wordt erom gevraagd (niet zichtbaar, twee keer).")
@command
def users_set_password(email, password):
    """Give EMAIL a new password (the password policy applies); every session of EMAIL ends."""
    from .auth.services import get_user_by_email, set_password

    with unit_of_work():
        user = get_user_by_email(email)
        if user is None:
            _fail(f"Geen gebruiker met e-mailadres {email}.", 2)
        set_password(user, password)
    click.echo(f"Het wachtwoord van {email} is gewijzigd; alle sessies zijn beëindigd.")


@users_cli.command("reset-2fa")
@click.argument("email")
@command
def users_reset_two_factor(email):
    """Switch off EMAIL's two-factor authentication (a lost phone and lost recovery codes); a
    user whose role requires it sets it up again at the next login. Audited."""
    from .auth.services import get_user_by_email
    from .auth.twofactor import reset_by_operator

    with unit_of_work():
        user = get_user_by_email(email)
        if user is None:
            _fail(f"Geen gebruiker met e-mailadres {email}.", 2)
        reset_by_operator(user)  # a refusal becomes its message (``command``)
    click.echo(f"Tweestapsverificatie van {email} is uitgezet; bij de volgende keer inloggen "
               "stelt de gebruiker haar opnieuw in als de rol dat vraagt.")


@seed_cli.command("reference")
@command
def seed_reference_cmd():
    """Municipalities, places, focus SBI codes, clusters and programmes (idempotent)."""
    from .reference.services import seed_reference

    with unit_of_work():
        counts = seed_reference()
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))


@seed_cli.command("demo")
@click.option("--organisations", "n", default=320, show_default=True)
@command
def seed_demo_cmd(n):
    """A deterministic fictional region for demos and screenshots."""
    from .reference.services import seed_reference
    from .seeds.demo import DEMO_PASSWORD, DEMO_USERS, seed_demo

    with unit_of_work():
        seed_reference()
        counts = seed_demo(n_organisations=n)
    if counts.get("skipped"):
        click.echo(f"De demoregio is al geladen ({counts['organisations']} organisaties); "
                   "er is niets toegevoegd.")
        return
    # Criticality from the seeded network, so "Kritische bedrijven" is right from the start
    # (issue 14: a fresh demo showed only the hand-flagged companies until an admin recomputed).
    from .valuechains.jobs import create_job, run_job

    with unit_of_work():
        job_id = create_job(trigger="seed").id
    counts["critical"] = (run_job(job_id) or {}).get("critical", 0)
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))
    click.echo(f"Demogebruikers (wachtwoord: {DEMO_PASSWORD}):")
    for _key, email, _name, role, municipality in DEMO_USERS:
        click.echo(f"  {email}  {role}" + (f" {municipality}" if municipality else ""))


@seed_cli.command("synthetic")
@click.option("--organisations", "n_organisations", default=100_000, show_default=True,
              type=click.IntRange(1))
@click.option("--interactions", "n_interactions", default=1_000_000, show_default=True,
              type=click.IntRange(0), help="Aantal contactmomenten.")
@click.option("--seed", "seed", default=12, show_default=True, help="Startwaarde van de toevalsgenerator.")
@click.option("--no-criticality", is_flag=True, help="De herberekening van kritieke bedrijven overslaan.")
@command
def seed_synthetic_cmd(n_organisations, n_interactions, seed, no_criticality):
    """A large synthetic data set for benchmarks, inserted in bulk (only into an empty database).

    Synthetic data carries no per-row audit history: the rows are written with bulk inserts
    that bypass the audit log. Loads the reference data first and runs the criticality
    recompute at the end (unless --no-criticality)."""
    import time

    from .reference.services import seed_reference
    from .seeds.synthetic import SYNTHETIC_PASSWORD, SYNTHETIC_USERS, seed_synthetic, synthetic_email

    started = time.perf_counter()

    def echo(phase, count, seconds):
        click.echo(f"  {phase:<24} {count:>10,}  {seconds:7.1f} s")

    with unit_of_work():
        seed_reference()
        counts = seed_synthetic(n_organisations, n_interactions, seed=seed, echo=echo)
    t = time.perf_counter()
    click.echo(f"  {'(vastgelegd)':<24} {'':>10}  {t - started:7.1f} s sinds de start")
    if not no_criticality:
        from .valuechains.jobs import create_job, run_job

        with unit_of_work():
            job_id = create_job(trigger="cli").id
        summary = run_job(job_id)
        click.echo(f"  {'criticality':<24} {(summary or {}).get('critical', 0):>10,}  "
                   f"{time.perf_counter() - t:7.1f} s")
    if db.session.get_bind().dialect.name == "postgresql":
        # Fresh planner statistics and visibility map after a bulk load, as autovacuum would
        # gather them in time: without statistics PostgreSQL plans the lists over a million rows
        # as if the tables were empty; without the visibility map an index-only scan (a chain's
        # roles counted per stage) visits every row and loses to reading the whole table.
        # VACUUM cannot run in a transaction: its own connection, in autocommit, skipping any
        # table another transaction holds a conflicting lock on rather than waiting for it (a
        # caller's transaction still open around this command would otherwise wait forever).
        t = time.perf_counter()
        db.session.commit()
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM (ANALYZE, SKIP_LOCKED)")
        click.echo(f"  {'vacuum analyze':<24} {'':>10}  {time.perf_counter() - t:7.1f} s")
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))
    click.echo(f"Klaar in {time.perf_counter() - started:.1f} s.")
    click.echo(f"Gebruikers (wachtwoord: {SYNTHETIC_PASSWORD}):")
    for key, role, municipality in SYNTHETIC_USERS:
        click.echo(f"  {synthetic_email(key)}  {role}" + (f" {municipality}" if municipality else ""))


@criticality_cli.command("recompute")
@click.option("--async", "run_async", is_flag=True,
              help="In de wachtrij zetten voor een worker (flask rq worker) in plaats van nu uitvoeren.")
@command
def criticality_recompute_cmd(run_async):
    """Recompute every organisation's criticality, printing progress and a summary."""
    from .valuechains.jobs import create_job, enqueue_job, run_job

    with unit_of_work():  # the Job row; enqueued (--async) once it is committed
        job = create_job(trigger="cli")
        if run_async:
            enqueue_job(job)
        job_id = job.id
    if run_async:
        click.echo(f"Herberekening in de wachtrij gezet: job {job_id}.")
        return
    shown = set()

    def echo(phase, percent):
        step = (phase, percent // 10)
        if step not in shown:
            shown.add(step)
            click.echo(f"  {percent:3d}%  {phase}")

    click.echo(f"Herberekening gestart: job {job_id}.")
    try:  # the job is its own unit of work and records its own failure
        summary = run_job(job_id, echo=echo)
    except Exception as exc:  # the Job row says failed; the stack trace is in the log
        click.echo(f"Mislukt: {type(exc).__name__}: {exc}", err=True)
        raise SystemExit(1) from None
    if summary is None:  # refused (JobFailed) or gone: the row holds the reason
        from .jobs.models import Job

        job = db.session.get(Job, job_id)
        click.echo(f"Mislukt: {(job.message if job else None) or 'de job is niet uitgevoerd.'}", err=True)
        raise SystemExit(1)
    seconds = ", ".join(f"{k} {v:.2f} s" for k, v in summary["seconds"].items())
    click.echo(f"Klaar: {summary['organisations']} organisaties, {summary['critical']} kritisch "
               f"({summary['became_critical']} nieuw, {summary['no_longer_critical']} niet meer), "
               f"{summary['new_assessments']} nieuwe beoordelingen.")
    click.echo(f"Tijd per fase: {seconds}.")


@jobs_cli.command("purge")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Bestanden van taken die langer dan zoveel dagen geleden klaar waren "
                   "(standaard JOB_FILE_RETENTION_DAYS, 14).")
@command
def jobs_purge(days):
    """Delete uploaded and exported files of jobs that ended more than DAYS days ago."""
    import datetime as dt

    from flask import current_app

    from .db import utcnow
    from .jobs.files import purge_files

    if days is None:
        days = int(current_app.config.get("JOB_FILE_RETENTION_DAYS", 14))
    with unit_of_work():
        deleted = purge_files(utcnow() - dt.timedelta(days=days))
    click.echo(f"{deleted} bestand(en) verwijderd van taken die meer dan {days} dagen geleden "
               "klaar waren.")


@jobs_cli.command("schedule")
@click.option("--run-due", is_flag=True,
              help="Start nu wat volgens het schema aan de beurt is (bv. vanuit een systeem-cron).")
@command
def jobs_schedule(run_due):
    """List the periodic jobs: last start and when each is next due."""
    from .jobs import schedule

    if run_due:
        started = schedule.run_due()
        click.echo("Gestart: " + (", ".join(started) if started else "niets (niets aan de beurt)."))
    for entry, run, due in schedule.status():
        when = f"cron {entry.cron} (UTC)" if entry.cron else f"elke {entry.interval}"
        last = f"{run.last_run_at:%Y-%m-%d %H:%M} UTC" if run else "nog nooit"
        click.echo(f"{entry.name}: {when}; laatst {last}; volgende {due:%Y-%m-%d %H:%M} UTC"
                   f" — {entry.description}")


@jobs_cli.command("dispatcher")
@click.option("--once", is_flag=True, help="Eén ronde: geef wat klaarstaat door en stop.")
@click.option("--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="Seconden tussen twee rondes.")
@command
def jobs_dispatcher(once, interval):
    """Hand the job outbox to RQ, round after round, until stopped (run one next to the Redis
    workers): jobs recorded while Redis was down go out as soon as it answers again."""
    import time

    from .jobs.dispatcher import run_round

    while True:
        try:
            sent = run_round()
        except Exception as exc:  # the database away for a moment: try again next round
            db.session.rollback()
            click.echo(f"Ronde mislukt ({type(exc).__name__}); opnieuw over {interval:g} s.",
                       err=True)
            sent = 0
        if sent:
            click.echo(f"{sent} taak/taken doorgegeven aan de wachtrij.")
        if once:
            return
        time.sleep(interval)


@bin_cli.command("purge")
@click.option("--dry-run", is_flag=True, help="Alleen tellen wat weg zou gaan; niets verwijderen.")
@command
def bin_purge(dry_run):
    """Remove for good what has been in the bin longer than BIN_RETENTION_DAYS (default 60)."""
    from .admin.purge import create_job, describe_counts, purge_bin, run_job

    if dry_run:
        summary = purge_bin(dry_run=True)
        click.echo(f"Proefdraaien: {summary.total} record(s) zouden definitief verwijderd "
                   f"worden ({describe_counts(summary.purged)}), verwijderd vóór "
                   f"{summary.cutoff:%Y-%m-%d %H:%M} UTC. Er is niets veranderd.")
        return
    with unit_of_work():
        job = create_job(trigger="cli")
        job_id = job.id
    try:  # the job is its own unit of work and records its own failure
        result = run_job(job_id)
    except Exception as exc:  # the Job row says failed; the stack trace is in the log
        click.echo(f"Mislukt: {type(exc).__name__}: {exc}", err=True)
        raise SystemExit(1) from None
    if result is None:
        from .jobs.models import Job

        job = db.session.get(Job, job_id)
        click.echo(f"Mislukt: {(job.message if job else None) or 'de job is niet uitgevoerd.'}",
                   err=True)
        raise SystemExit(1)
    click.echo(f"{result['total']} record(s) definitief verwijderd "
               f"({describe_counts(result['purged'])}), verwijderd vóór {result['cutoff'][:16]} "
               f"UTC (job {job_id}).")


@programmes_cli.command("recount")
@command
def programmes_recount():
    """Count every programme afresh into the kept aggregates (verdicts and tallies).

    The kept counts (``programmes.tally``) follow every change made through the application;
    a write past it — rows inserted with raw SQL or ``COPY``, a database restored table by
    table — leaves them behind, and this rebuilds them in one transaction."""
    import time

    from .programmes.tally import recount_all

    started = time.perf_counter()
    with unit_of_work():
        n = recount_all()
    click.echo(f"{n} programma('s) opnieuw geteld in {time.perf_counter() - started:.1f} s.")


def register(app) -> None:
    from .backup import backup_cli
    from .imports.cli import import_cli

    app.cli.add_command(backup_cli)

    app.cli.add_command(import_cli)
    app.cli.add_command(programmes_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(seed_cli)
    app.cli.add_command(criticality_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(bin_cli)
