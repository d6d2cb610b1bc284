"""A seeded region and every GET address of the URL map filled in from it, for the header walk
(tests/test_headers_and_logs.py) and the hostile-input battery (tests/test_hostile_input.py)."""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa

from sdd_crm.extensions import db


@dataclass
class World:
    admin: object
    values: dict  # URL argument name -> value
    feed_secret: str
    job_id: str
    skipped: list = field(default_factory=list)


def _first(model, *where, order=None):
    stmt = sa.select(model).where(*where).order_by(order if order is not None else model.id).limit(1)
    return db.session.scalar(stmt)


def seed_world(client, login, make_user, n_organisations: int = 40) -> World:
    """The demo region (small), an admin signed in on ``client``, a finished job with a file, an
    import draft (its mapping form), a notification and a calendar-feed secret."""
    from sdd_crm.contacts.models import Contact
    from sdd_crm.interactions.models import Interaction, Task
    from sdd_crm.jobs.files import store_file
    from sdd_crm.jobs.models import Job
    from sdd_crm.leads.models import Lead
    from sdd_crm.organisations.models import AccountTeamMember, Organisation
    from sdd_crm.programmes.models import Participation, Programme
    from sdd_crm.seeds.demo import seed_demo
    from sdd_crm.tasks.calendar import new_calendar_secret
    from sdd_crm.valuechains.models import (
        ChainRole,
        Cluster,
        SupplyLink,
        ValueChain,
        ValueChainStage,
    )

    seed_demo(n_organisations)
    db.session.commit()
    admin = make_user("admin", name="Beheerder Hostiel")
    # The user whose admin pages (edit, tokens, sign out everywhere) are tried: not the admin
    # who is signed in, who would lock themselves out.
    other_user = make_user("regional_account_manager", name="Gebruiker Hostiel")
    job = Job(id=str(uuid.uuid4()), kind="programme_export", status="finished", progress=100,
              message="Klaar", params={}, created_by_id=admin.id)
    db.session.add(job)
    db.session.flush()
    store_file(job.id, "output", "export.csv", "text/csv", b"naam\nJansen\n")
    feed_secret = new_calendar_secret(admin)
    db.session.commit()
    login(admin)

    # An import draft through the upload form, as a user makes one (its mapping form).
    csv = b"Naam;Plaats;KvK-nummer\nHostiel B.V.;Dordrecht;12345678\n"
    resp = client.post("/imports/", data={"kind": "organisations",
                                          "file": (io.BytesIO(csv), "organisaties.csv")},
                       content_type="multipart/form-data")
    draft_id = None
    if resp.status_code == 302 and "/mapping" in resp.headers.get("Location", ""):
        draft_id = resp.headers["Location"].rstrip("/").split("/")[-2]

    org = _first(Organisation, Organisation.deleted_at.is_(None))
    other = _first(Organisation, Organisation.deleted_at.is_(None), Organisation.id != org.id)
    participation = _first(Participation, Participation.deleted_at.is_(None))
    programme = db.session.get(Programme, participation.programme_id) if participation else \
        _first(Programme)
    stage = _first(ValueChainStage)
    chain_id = stage.value_chain_id if stage else getattr(_first(ValueChain), "id", None)
    member = _first(AccountTeamMember)
    interaction = _first(Interaction, Interaction.deleted_at.is_(None))
    values = {
        "org_id": org.id, "a_id": org.id, "b_id": other.id,
        "contact_id": getattr(_first(Contact, Contact.deleted_at.is_(None)), "id", None),
        "interaction_id": getattr(interaction, "id", None),
        "task_id": getattr(_first(Task, Task.deleted_at.is_(None)), "id", None),
        "lead_id": getattr(_first(Lead, Lead.deleted_at.is_(None)), "id", None),
        "user_id": other_user.id,
        "cluster_id": getattr(_first(Cluster, Cluster.deleted_at.is_(None)), "id", None),
        "chain_id": chain_id,
        "stage_id": getattr(stage, "id", None),
        "role_id": getattr(_first(ChainRole, ChainRole.deleted_at.is_(None)), "id", None),
        "link_id": getattr(_first(SupplyLink, SupplyLink.deleted_at.is_(None)), "id", None),
        "code": getattr(programme, "code", None),
        "participation_id": getattr(participation, "id", None),
        "member_id": getattr(member, "id", None),
        "job_id": draft_id or job.id,
        "secret": feed_secret,
        "lang": "en",
        "kind": "organisations", "fmt": "csv",
    }
    _add_optional(values)
    return World(admin=admin, values=values, feed_secret=feed_secret, job_id=job.id)


def _add_optional(values: dict) -> None:
    """Ids of records other helpers' features add (notifications, reviews, ...) when present."""
    from sdd_crm.imports.models import ImportReview
    from sdd_crm.notifications.models import Notification

    values["notification_id"] = getattr(_first(Notification), "id", None)
    values["review_id"] = getattr(_first(ImportReview), "id", None)


# Arguments whose value depends on the route (a job file's role, an export's kind).
_PER_ENDPOINT = {
    "jobs.download": {"role": "output"},
    "api.get_job_file": {"role": "output"},
}


def get_urls(app, world: World, *, include_api: bool = True) -> list[tuple[str, str]]:
    """(endpoint, URL) for every GET route that can be filled in from ``world``; the rules that
    cannot (an argument with no record) are listed in ``world.skipped``."""
    urls = []
    with app.test_request_context():
        from flask import url_for

        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or rule.endpoint == "static":
                continue
            if not include_api and rule.rule.startswith("/api/"):
                continue
            args = {}
            for name in rule.arguments:
                value = _PER_ENDPOINT.get(rule.endpoint, {}).get(name, world.values.get(name))
                if rule.endpoint in ("jobs.download", "jobs.detail", "jobs.status",
                                     "api.get_job", "api.get_job_file") and name == "job_id":
                    value = world.job_id
                if value is None:
                    break
                args[name] = value
            else:
                urls.append((rule.endpoint, url_for(rule.endpoint, **args)))
                continue
            world.skipped.append(rule.endpoint)
    return urls


# --- snapshots: what changed, row by row ---------------------------------------------------------

# Tables written as a side effect of any request (bookkeeping, never a user's record).
BOOKKEEPING = {"audit_event", "user_session", "job", "job_file", "job_outbox", "notification",
               "security_event", "login_attempt", "alembic_version"}


def snapshot() -> dict[str, dict]:
    """Every table's rows as {primary key: digest}, read through the test's session."""
    db.session.flush()
    result = {}
    for table in db.metadata.sorted_tables:
        if table.name in BOOKKEEPING:
            continue
        pk = list(table.primary_key.columns) or list(table.columns)
        rows = db.session.execute(sa.select(table).order_by(*pk)).all()
        digests = {}
        for row in rows:
            mapping = row._mapping
            key = tuple(mapping[c.name] for c in pk)
            digests[key] = hashlib.sha1(repr(tuple(mapping.values())).encode()).hexdigest()
        result[table.name] = digests
    return result


def changes(before: dict, after: dict) -> dict[str, dict[str, list]]:
    """Per table: the primary keys of rows added, changed and removed."""
    out = {}
    for name in set(before) | set(after):
        b, a = before.get(name, {}), after.get(name, {})
        added = [k for k in a if k not in b]
        removed = [k for k in b if k not in a]
        changed = [k for k in a if k in b and a[k] != b[k]]
        if added or removed or changed:
            out[name] = {"added": added, "removed": removed, "changed": changed}
    return out
