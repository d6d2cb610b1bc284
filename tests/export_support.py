"""Crafted data for the accountability export tests: a programme whose participations cover
counted SMEs (verified, unverified, with a group), a formula-like name, and every exclusion
reason of DESIGN 4.2, with status moves at known moments."""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
from db_support import throwaway_database

from sdd_crm.db import utcnow
from sdd_crm.extensions import db
from sdd_crm.programmes.export_jobs import export_programme
from sdd_crm.programmes.models import Participation, ParticipationEvent, Programme, ProgrammeTarget
from sdd_crm.reference.models import Municipality

EXPORT_CODE = "verantwoording-test"
UTC = dt.UTC


def sheet_rows(ws) -> list[tuple]:
    return list(ws.iter_rows(values_only=True))


def _participate(programme, org, status, moves=(), owner=None, changed_at=None):
    p = Participation(programme_id=programme.id, organisation_id=org.id, status=status,
                      owner_id=owner.id if owner else None,
                      status_changed_at=changed_at or (moves[-1][1] if moves else utcnow()))
    db.session.add(p)
    db.session.flush()
    previous = None
    for to_status, at in moves:
        db.session.add(ParticipationEvent(participation_id=p.id, from_status=previous,
                                          to_status=to_status, at=at))
        previous = to_status
    db.session.flush()
    return p


def crafted_programme(make_org, make_user, code: str = EXPORT_CODE) -> dict:
    admin = make_user("admin")
    bea = make_user("business_developer", name="Bea Developer", email="bea@sdd.example")
    programme = Programme(code=code, name="Verantwoordingstest", funder="Nationaal Groeifonds",
                          start_date=dt.date(2024, 1, 1))
    programme.municipalities = [db.session.get(Municipality, "GM0505"),
                                db.session.get(Municipality, "GM0590")]
    programme.targets = [ProgrammeTarget(kind="sme_count", value=4)]
    db.session.add(programme)
    db.session.commit()

    def org(**fields):
        return make_org(actor=admin, **fields)

    holding = org(name="Dordt Holding B.V.", kvk_number="76543210", employees=40,
                  annual_turnover_eur=9_000_000)
    concern = org(name="Concern N.V.", kvk_number="11223344", city="Rotterdam", employees=900,
                  annual_turnover_eur=400_000_000)
    orgs = {
        "sme": org(name="Aannemer Dordt B.V.", kvk_number="01234567", employees=12,
                   annual_turnover_eur=2_500_000, balance_sheet_total_eur="1250000.50",
                   parent_id=holding.id),
        "unverified": org(name="Installatiebedrijf Papendrecht", kvk_number="87654321",
                          city="Papendrecht", employees=8),
        "formula": org(name="Formule", employees=5, annual_turnover_eur=100_000),
        "status": org(name="Home Installaties", employees=3),
        "deleted": org(name="Weg B.V.", employees=5),
        "dissolved": org(name="Opgeheven B.V.", employees=5, status="dissolved"),
        "outside": org(name="Gorcumse Bouw B.V.", city="Gorinchem", employees=5),
        "nowhere": org(name="Onbekend Adres B.V.", city="Rotterdam", employees=5),
        "school": org(name="Da Vinci College", org_type="education", employees=400),
        "unknown": org(name="Zonder Personeel B.V."),
        "big": org(name="Groot Bedrijf N.V.", kvk_number="30000002", employees=300),
        "rich": org(name="Rijk Bedrijf B.V.", employees=20, annual_turnover_eur=60_000_000,
                    balance_sheet_total_eur=50_000_000),
        "daughter": org(name="Dochter B.V.", employees=30, parent_id=concern.id),
        "dup": org(name="Aannemer Dordt (dubbel)", kvk_number="01234568", employees=12),
    }
    # Names as an import could bring them; a spreadsheet must not run them.
    orgs["formula"].name = '=HYPERLINK("http://evil.example","klik")'
    orgs["status"].name = "@Home Installaties"
    orgs["deleted"].deleted_at = utcnow()
    orgs["dup"].merged_into_id = orgs["sme"].id

    at = lambda *args: dt.datetime(*args, tzinfo=UTC)  # noqa: E731
    parts = {
        # Entered "participating" at 00:30 Dutch summer time on 1 April: counted on 1 April.
        "sme": _participate(programme, orgs["sme"], "completed", [
            ("identified", at(2026, 3, 1, 9)), ("participating", at(2026, 3, 31, 22, 30)),
            ("completed", at(2026, 5, 1, 9))], owner=bea),
        "unverified": _participate(programme, orgs["unverified"], "participating",
                                   [("participating", at(2026, 2, 10, 10))], owner=bea),
        # No recorded moves (older data): the date of the last status change.
        "formula": _participate(programme, orgs["formula"], "participating",
                                changed_at=at(2026, 5, 20, 8)),
        "status": _participate(programme, orgs["status"], "approached",
                               [("approached", at(2026, 1, 5, 9))], owner=bea),
    }
    for key in ("deleted", "dissolved", "outside", "nowhere", "school", "unknown", "big", "rich",
                "daughter"):
        parts[key] = _participate(programme, orgs[key], "participating",
                                  [("participating", at(2026, 3, 2, 9))], owner=bea)
    parts["duplicate"] = _participate(programme, orgs["dup"], "participating",
                                      [("participating", at(2026, 3, 3, 9))], owner=admin)
    db.session.commit()
    return {"programme": programme, "orgs": orgs, "participations": parts,
            "users": {"admin": admin, "bea": bea}}


@pytest.fixture
def worker_app(tmp_path, monkeypatch):
    from flask_migrate import upgrade

    from sdd_crm import create_app
    from sdd_crm.extensions import rq
    from sdd_crm.reference.services import seed_reference

    root = Path(__file__).resolve().parent.parent
    queue_name = f"export-test-{uuid.uuid4().hex[:12]}"
    redis_url = urlunsplit(urlsplit(os.environ["REDIS_URL"])._replace(path="/13"))
    with throwaway_database(tmp_path, "export_worker") as database:
        for key, value in {
            "FLASK_APP": str(root / "wsgi.py"), "DATABASE_URL": database, "REDIS_URL": redis_url,
            "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
            "SDD_CRM_SECRET_KEY": "worker-test-secret", "SDD_CRM_RQ_QUEUES": json.dumps([queue_name]),
        }.items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(export_programme, "queue", queue_name)
        other = create_app({
            "TESTING": True, "SECRET_KEY": "worker-test-secret", "SQLALCHEMY_DATABASE_URI": database,
            "REDIS_URL": redis_url, "RQ_ASYNC": True, "RQ_QUEUES": [queue_name],
            "RATELIMIT_STORAGE_URI": "memory://", "WTF_CSRF_ENABLED": False,
            "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False})
        monkeypatch.setattr(db, "session", db._make_scoped_session({}))
        with other.app_context():
            upgrade()
            seed_reference()
            db.session.commit()
            queue = rq.get_queue(queue_name)
            assert type(queue.connection).__module__.startswith("redis")  # not fakeredis
            try:
                yield other, queue
            finally:
                _forget_queue(queue)
                db.session.remove()
                db.engine.dispose()


def _forget_queue(queue) -> None:
    """Remove the test's queue, its jobs and its registries from Redis."""
    from rq.job import Job as RqJob

    registries = [getattr(queue, f"{name}_job_registry") for name in (
        "canceled", "deferred", "failed", "finished", "scheduled", "started")]
    for job_id in {j for r in registries for j in r.get_job_ids()}:
        RqJob(job_id, connection=queue.connection).delete(remove_from_queue=False)
    queue.connection.delete(*[r.key for r in registries])
    queue.delete(delete_jobs=True)
