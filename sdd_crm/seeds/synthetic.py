"""``flask seed synthetic``: a large, realistic data set made in bulk, for benchmarks.

Every entity kind the application shows, with plausible distributions, drawn from one seeded
``random.Random`` and written in batches of 20,000 rows: SQLAlchemy Core ``INSERT`` statements
(``db.session.execute(sa.insert(table), rows)``), on PostgreSQL ``COPY … FROM STDIN`` through
psycopg 3 (Core's executemany took 190 s for the contact moments there). 100,000 organisations
and 1,000,000 contact moments take minutes, not hours. Primary keys are assigned here (so that rows can point at
each other without reading anything back); on PostgreSQL the id sequences are moved past them
at the end.

Core inserts bypass the ORM, so the audit listeners do not fire: synthetic data carries no
per-row audit history, on purpose. ``Organisation.last_contact_on`` is written with each
organisation as the latest date among the contact moments drawn for it, which is what
:func:`sdd_crm.interactions.services.refresh_last_contact` keeps it at.

The criticality assessments are not drawn: the command runs the real recompute afterwards.
"""

from __future__ import annotations

import datetime as dt
import decimal
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

import sqlalchemy as sa

from ..auth.models import User
from ..auth.passwords import password_problem
from ..auth.services import get_user_by_email, hash_password, validate_user_fields
from ..contacts.models import Contact
from ..exceptions import ConflictError
from ..extensions import db
from ..interactions.models import Interaction, Task
from ..jobs.models import Job
from ..leads.models import Lead, LeadEvent
from ..organisations.models import (
    AccountTeamMember,
    Establishment,
    Organisation,
    OrganisationSbi,
)
from ..organisations.size import SME_MAX_EMPLOYEES, size_class
from ..programmes.models import Participation, ParticipationEvent, Programme
from ..programmes.tally import recount_all
from ..valuechains.models import (
    ChainRole,
    Cluster,
    OrganisationCluster,
    SupplyLink,
    ValueChain,
    ValueChainStage,
)
from .demo_activity import FUNNEL, LEAD_PATHS, SCALE_SECTORS
from .demo_data import (
    COMPANY_PATTERNS,
    FIRST_NAMES,
    FUNCTIONS,
    LEGAL_FORM_BV,
    LEGAL_FORM_BY_TYPE,
    LEGAL_FORMS_SMALL,
    MUNICIPALITIES,
    SURNAMES,
    VALUE_CHAINS,
    WATERS,
)
from .demo_network import _role_for, wire_chain
from .demo_region import company_employees, mobile, phone, postcode, slug
from .demo_texts import (
    CONFIDENTIAL_SUBJECTS,
    DECLINE_REASONS,
    FOLLOW_UPS,
    INTERACTION_SUBJECTS,
    INTERACTION_TYPES,
    LEADS,
)

__all__ = ["SYNTHETIC_PASSWORD", "SYNTHETIC_SOURCE", "SYNTHETIC_USERS", "seed_synthetic"]

SYNTHETIC_SOURCE = "synthetic"
SYNTHETIC_DOMAIN = "synthetisch.sdd-crm.nl"
# Meets the password policy (length, zxcvbn score); one hash serves every synthetic user.
SYNTHETIC_PASSWORD = "Merwede-Brug-Synthetisch-2026"
BATCH = 20_000
HISTORY_DAYS = 3 * 365
REGIONAL_ACCOUNTS = 200  # the regional manager the issue benchmarks as
DRECHTSTEDEN = ["GM0505", "GM0642", "GM0590", "GM0610", "GM0482", "GM0531", "GM0523"]
LOCAL_NAMES = {"GM0505": "dordrecht", "GM0642": "zwijndrecht", "GM0590": "papendrecht",
               "GM0610": "sliedrecht", "GM0482": "alblasserdam", "GM0531": "hendrik-ido-ambacht",
               "GM0523": "hardinxveld-giessendam"}

# (key, role, municipality)
SYNTHETIC_USERS = [
    ("beheer", "admin", None),
    ("regionaal", "regional_account_manager", None),
    ("regionaal.energie", "regional_account_manager", None),
    ("regionaal.maritiem", "regional_account_manager", None),
    *((f"lokaal.{LOCAL_NAMES[c]}", "local_account_manager", c) for c in DRECHTSTEDEN),
    ("bizdev", "business_developer", None),
    ("bizdev.2", "business_developer", None),
    ("viewer", "viewer", None),
]

Echo = Callable[[str, int, float], None]


def synthetic_email(key: str) -> str:
    return f"{key}@{SYNTHETIC_DOMAIN}"


def _batches(rows: Iterable[dict], size: int = BATCH) -> Iterator[list[dict]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _insert(table, rows: Iterable[dict], *, copy: bool = True) -> int:
    """Insert ``rows`` in batches (``copy=False``: always Core, e.g. for JSON columns)."""
    table = getattr(table, "__table__", table)
    n = 0
    for chunk in _batches(rows):
        if copy:
            _bulk(table, chunk)
        else:
            db.session.execute(sa.insert(table), chunk)
        n += len(chunk)
    return n


def _bulk(table: sa.Table, rows: list[dict]) -> None:
    """Insert one batch of rows that all carry the same keys, every column they need given.

    PostgreSQL with psycopg 3: ``COPY … FROM STDIN`` (the contact moments went from 190 s to a
    fraction of that); elsewhere a Core ``INSERT`` executemany."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        columns = list(rows[0])
        names = ", ".join(f'"{c}"' for c in columns)
        with connection.connection.driver_connection.cursor() as cursor, cursor.copy(
                f'COPY "{table.name}" ({names}) FROM STDIN') as copy:  # nosec B608 - model names
            for row in rows:
                copy.write_row([row[c] for c in columns])
        return
    db.session.execute(sa.insert(table), rows)


def _next_id(model) -> int:
    return (db.session.scalar(sa.select(sa.func.max(model.__table__.c.id))) or 0) + 1


class _Phases:
    def __init__(self, echo: Echo | None):
        self.echo = echo or (lambda phase, count, seconds: None)
        self.counts: dict[str, int] = {}
        self.start = time.perf_counter()

    def done(self, phase: str, count: int) -> None:
        now = time.perf_counter()
        if phase != "drawn":
            self.counts[phase] = count
        self.echo(phase, count, now - self.start)
        self.start = now


def seed_synthetic(n_organisations: int, n_interactions: int, *, seed: int = 12,
                   echo: Echo | None = None) -> dict[str, int]:
    """Draw and insert the data set; refuses when any organisation exists already.

    Needs the reference data (municipalities, SBI codes, clusters, programmes) in place.
    ``echo(phase, count, seconds)`` is called after each phase.
    """
    import random

    existing = db.session.scalar(sa.select(sa.func.count()).select_from(Organisation))
    if existing:
        raise ConflictError(
            f"De database bevat al {existing} organisaties; synthetische gegevens worden alleen "
            "in een lege database geladen")
    rng = random.Random(seed)
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    phases = _Phases(echo)
    s = _State(rng, today, now)

    s.users = _users(rng)
    phases.done("users", len(s.users))
    s.draw_organisations(n_organisations)
    s.draw_teams()
    s.draw_interaction_plan(n_interactions)
    phases.done("drawn", n_organisations)
    phases.done("organisations", s.insert_organisations())
    phases.done("establishments", s.insert_establishments())
    phases.done("account_team_members", s.insert_teams())
    phases.done("contacts", s.insert_contacts())
    counts = s.insert_interactions()
    phases.done("interactions", counts["interactions"])
    for k, v in counts.items():
        if k != "interactions":
            phases.counts[k] = v
    phases.done("leads", s.insert_leads())
    chains = s.insert_network()
    phases.done("chain_roles", chains["chain_roles"])
    phases.counts.update(chains)
    phases.done("participations", s.insert_participations())
    recount_all()  # the programme counts (programmes/tally.py): these inserts bypassed the ORM
    phases.done("jobs", s.insert_jobs())
    _fix_sequences()
    return phases.counts


def _users(rng) -> dict[str, int]:
    """The synthetic users by key → id (existing ones are reused)."""
    problem = password_problem(SYNTHETIC_PASSWORD)
    if problem is not None:  # a constant that must meet the policy
        raise RuntimeError(f"SYNTHETIC_PASSWORD no longer meets the password policy: {problem}")
    password_hash = None
    out = {}
    for key, role, municipality in SYNTHETIC_USERS:
        email = synthetic_email(key)
        user = get_user_by_email(email)
        if user is None:
            name = f"{rng.choice(FIRST_NAMES)} {_person(rng.choice(SURNAMES))}"
            fields = validate_user_fields(email=email, name=name, role=role,
                                          municipality_code=municipality)
            password_hash = password_hash or hash_password(SYNTHETIC_PASSWORD)
            user_id = db.session.execute(sa.insert(User.__table__).values(
                **fields, password_hash=password_hash, locale="nl", active=True,
            ).returning(User.__table__.c.id)).scalar_one()
            out[key] = user_id
        else:
            out[key] = user.id
    return out


def _person(surname: str) -> str:
    words = surname.split()
    i = 0
    while i < len(words) - 1 and words[i].lower() in {"van", "de", "der", "den", "het", "ten", "ter"}:
        words[i] = words[i].lower()
        i += 1
    return " ".join(words)


def _fix_sequences() -> None:
    """PostgreSQL: move each id sequence past the ids assigned here."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for model in (User, Organisation, Establishment, AccountTeamMember, Contact, Interaction, Task,
                  Lead, LeadEvent, ValueChain, ValueChainStage, ChainRole, SupplyLink,
                  Participation, ParticipationEvent):
        name = model.__table__.name  # the models' own table names, not input
        db.session.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "  # nosec B608
            f"COALESCE((SELECT MAX(id) FROM \"{name}\"), 0) + 1, false)"))


class _State:
    """What has been drawn so far: organisations are indexed 0..n-1, ids are ``org_id0 + i``."""

    def __init__(self, rng, today, now):
        self.rng, self.today, self.now = rng, today, now
        self.users: dict[str, int] = {}

    # ---- organisations -------------------------------------------------------------------
    def draw_organisations(self, n: int) -> None:
        rng = self.rng
        self.n = n
        self.org_id0 = _next_id(Organisation)
        codes = list(MUNICIPALITIES)
        weights = [MUNICIPALITIES[c]["weight"] for c in codes]
        clusters = list(COMPANY_PATTERNS)
        cluster_weights = [COMPANY_PATTERNS[c][0] for c in clusters]
        kvks = rng.sample(range(10_000_000, 99_999_999), n)
        est_base = rng.randint(10_000_000, 40_000_000)
        self.orgs: list[dict] = []
        self.meta: list[tuple] = []  # (municipality, cluster, org_type, status, employees)
        other_types = list(LEGAL_FORM_BY_TYPE)
        suffixes = ["", "", "", "", "", " Holding", " & Zn.", " Techniek", " Services", " Groep"]
        for i in range(n):
            code = codes[i] if i < len(codes) else rng.choices(codes, weights)[0]
            spec = MUNICIPALITIES[code]
            place, lo, hi = rng.choice(spec["places"])
            cluster = clusters[i % len(clusters)] if i < len(clusters) else \
                rng.choices(clusters, cluster_weights)[0]
            org_type = "company" if rng.random() < 0.97 else rng.choice(other_types)
            pattern, sbi, description = rng.choice(COMPANY_PATTERNS[cluster][1])
            name = pattern.format(s=rng.choice(SURNAMES), p=place, w=rng.choice(WATERS))
            name += rng.choice(suffixes) if not name.endswith("B.V.") else ""
            if org_type != "company":
                name = f"Stichting {rng.choice(WATERS)} {place} {i}" if org_type != "government" \
                    else f"Waterschap {rng.choice(WATERS)} {i}"
            employees = company_employees(rng) if org_type == "company" else rng.randint(20, 900)
            turnover = balance = None
            if employees is not None and org_type == "company" and rng.random() < 0.45:
                turnover = decimal.Decimal(int(round(employees * rng.uniform(90_000, 260_000), -3)))
                balance = decimal.Decimal(int(round(int(turnover) * rng.uniform(0.35, 0.9), -3)))
            r = rng.random()
            status = "dissolved" if r < 0.02 else ("inactive" if r < 0.035 else "active")
            if org_type != "company":
                legal_form = LEGAL_FORM_BY_TYPE[org_type]
            elif name.endswith("B.V.") or (employees or 0) >= 50:
                legal_form = LEGAL_FORM_BV
            else:
                legal_form = rng.choice(LEGAL_FORMS_SMALL)
            site = slug(name) or f"org{i}"
            created = self.now - dt.timedelta(days=rng.randint(HISTORY_DAYS, HISTORY_DAYS + 900))
            self.orgs.append({
                "id": self.org_id0 + i, "name": name[:200], "org_type": org_type,
                "kvk_number": f"{kvks[i]:08d}", "legal_form": legal_form, "employees": employees,
                "annual_turnover_eur": turnover, "balance_sheet_total_eur": balance,
                "size_class": size_class(employees, turnover, balance),
                "street": f"{rng.choice(spec['streets'])} {rng.randint(1, 240)}",
                "postcode": postcode(rng, lo, hi), "city": place, "municipality_code": code,
                "website": f"https://www.{site}.example", "phone": phone(rng, spec["area"]),
                "email": f"info@{site}.example",
                "description": f"{description}, opgericht in {rng.randint(1921, 2023)}.",
                "parent_id": None, "status": status, "is_critical": False,
                "manual_critical": None, "manual_critical_reason": None,
                "source": SYNTHETIC_SOURCE, "last_contact_on": None, "version": 1,
                "created_at": created, "updated_at": created,
                "_sbi": sbi, "_est": f"{est_base + i:012d}",
            })
            self.meta.append((code, cluster, org_type, status, employees))
        # A few groups: a large company holds one to three smaller ones in its cluster.
        large = [i for i, m in enumerate(self.meta)
                 if m[2] == "company" and (m[4] or 0) >= SME_MAX_EMPLOYEES and m[3] == "active"]
        for p in rng.sample(large, min(len(large), max(1, n // 400))):
            for _ in range(rng.randint(1, 3)):
                child = rng.randrange(n)
                if child != p and self.meta[child][2] == "company" and self.orgs[child]["parent_id"] is None \
                        and child > p:
                    self.orgs[child]["parent_id"] = self.org_id0 + p
        for p in rng.sample(large, min(len(large), max(2, n // 5000))):
            self.orgs[p].update(manual_critical=True, is_critical=True, manual_critical_reason=(
                "Grote werkgever in de keten; veel toeleveranciers in de regio zijn van dit "
                "bedrijf afhankelijk."))

    def draw_teams(self) -> None:
        """Account teams: ``regionaal`` holds exactly ``REGIONAL_ACCOUNTS`` strategic accounts."""
        rng, u = self.rng, self.users
        live = [i for i, m in enumerate(self.meta) if m[3] != "dissolved"
                and m[2] in ("company", "knowledge_institution")]
        by_size = sorted(live, key=lambda i: -(self.meta[i][4] or 0))
        top = by_size[:max(REGIONAL_ACCOUNTS * 3, 1)]
        mine = set(rng.sample(top, min(REGIONAL_ACCOUNTS, len(top))))
        self.teams: dict[int, list[tuple[int, str]]] = {i: [(u["regionaal"], "strategic")] for i in mine}
        others = [u["regionaal.energie"], u["regionaal.maritiem"]]
        local_by_code = {c: u[f"lokaal.{LOCAL_NAMES[c]}"] for c in DRECHTSTEDEN}
        for i in live:
            code, _, _, _, employees = self.meta[i]
            team = self.teams.get(i, [])
            if not team and ((employees or 0) >= 100 and rng.random() < 0.5 or rng.random() < 0.02):
                team.append((rng.choice(others), "strategic"))
            local = local_by_code.get(code)
            if local is not None and (team and rng.random() < 0.7 or rng.random() < 0.04):
                team.append((local, "local"))
            if team:
                self.teams[i] = team

    def draw_interaction_plan(self, m: int) -> None:
        """Which organisation each contact moment belongs to, and when: skewed (most few,
        some many, a quarter none), recent dates more likely."""
        rng = self.rng
        weights = []
        for i, meta in enumerate(self.meta):
            if rng.random() < 0.25 and i not in self.teams:
                weights.append(0.0)
                continue
            w = min(rng.paretovariate(1.2), 300.0)
            if i in self.teams:
                w *= 4
            if meta[3] == "dissolved":
                w *= 0.05
            weights.append(w)
        if not any(weights):
            weights = [1.0] * len(weights)
        self.plan_org = rng.choices(range(self.n), weights, k=m) if self.n else []
        self.plan_day = [int(rng.triangular(0, HISTORY_DAYS, 0)) for _ in range(len(self.plan_org))]
        latest: dict[int, int] = {}
        for i, d in zip(self.plan_org, self.plan_day, strict=True):
            if d < latest.get(i, HISTORY_DAYS + 1):
                latest[i] = d
        for i, d in latest.items():
            self.orgs[i]["last_contact_on"] = self.today - dt.timedelta(days=d)

    def insert_organisations(self) -> int:
        rows = ({k: v for k, v in o.items() if not k.startswith("_")} for o in self.orgs)
        n = _insert(Organisation, rows)
        _insert(OrganisationSbi, ({"organisation_id": o["id"], "code": o["_sbi"], "version": "2008",
                                   "is_main": True} for o in self.orgs if o["org_type"] == "company"))
        cluster_ids = {c.name: c.id for c in db.session.scalars(sa.select(Cluster))}
        _insert(OrganisationCluster, ({"organisation_id": self.org_id0 + i,
                                       "cluster_id": cluster_ids[m[1]], "is_primary": True}
                                      for i, m in enumerate(self.meta) if m[1] in cluster_ids))
        return n

    def insert_establishments(self) -> int:
        rng, next_id = self.rng, _next_id(Establishment)
        rows = []
        for o in self.orgs:
            rows.append({"id": next_id, "organisation_id": o["id"], "establishment_number": o["_est"],
                         "name": None, "street": o["street"], "postcode": o["postcode"],
                         "city": o["city"], "municipality_code": o["municipality_code"],
                         "is_main": True, "employees": o["employees"], "version": 1,
                         "created_at": o["created_at"], "updated_at": o["created_at"]})
            next_id += 1
        extra = 0
        for o in self.orgs:
            if o["org_type"] == "company" and (o["employees"] or 0) >= 100 and rng.random() < 0.5:
                code = rng.choice([c for c in DRECHTSTEDEN if c != o["municipality_code"]])
                spec = MUNICIPALITIES[code]
                place, lo, hi = spec["places"][0]
                rows.append({"id": next_id, "organisation_id": o["id"],
                             "establishment_number": f"{int(o['_est']) + 500_000_000:012d}",
                             "name": f"{o['name']} — vestiging {place}",
                             "street": f"{rng.choice(spec['streets'])} {rng.randint(1, 240)}",
                             "postcode": postcode(rng, lo, hi), "city": place,
                             "municipality_code": code, "is_main": False,
                             "employees": max(5, (o["employees"] or 0) // rng.randint(3, 6)),
                             "version": 1, "created_at": o["created_at"],
                             "updated_at": o["created_at"]})
                next_id += 1
                extra += 1
        return _insert(Establishment, rows)

    def insert_teams(self) -> int:
        next_id = _next_id(AccountTeamMember)
        rows = []
        for i, team in self.teams.items():
            for user_id, role in team:
                rows.append({"id": next_id, "organisation_id": self.org_id0 + i, "user_id": user_id,
                             "team_role": role, "created_at": self.now, "updated_at": self.now})
                next_id += 1
        return _insert(AccountTeamMember, rows)

    def insert_contacts(self) -> int:
        rng, today = self.rng, self.today
        next_id = _next_id(Contact)
        self.contacts: list[tuple[int, int]] = []  # per organisation: (first id, count)

        def rows():
            nonlocal next_id
            for i, o in enumerate(self.orgs):
                k = rng.choices((1, 2, 3), (45, 35, 20))[0]
                self.contacts.append((next_id, k))
                domain = o["email"].split("@", 1)[1]
                for j in range(k):
                    first, last = rng.choice(FIRST_NAMES), _person(rng.choice(SURNAMES))
                    consent = rng.random() < 0.12
                    yield {
                        "id": next_id, "organisation_id": o["id"], "first_name": first,
                        "last_name": last,
                        "function": ("Directeur" if j == 0 else rng.choice(FUNCTIONS)),
                        "email": f"{slug(first)}.{slug(last)}@{domain}",
                        "phone": o["phone"] if j == 0 else None,
                        "mobile": mobile(rng) if rng.random() < 0.7 else None,
                        "preferred_language": "en" if rng.random() < 0.04 else "nl",
                        "lawful_basis": "consent" if consent else "public_task",
                        "consent_date": today - dt.timedelta(days=rng.randint(30, 700)) if consent else None,
                        "source": SYNTHETIC_SOURCE, "source_kind": "system",
                        "objection": rng.random() < 0.02,
                        "review_due": today + dt.timedelta(days=rng.randint(-60, 700)),
                        "version": 1, "created_at": o["created_at"], "updated_at": o["created_at"],
                    }
                    next_id += 1

        return _insert(Contact, rows())

    # ---- contact moments -----------------------------------------------------------------
    def insert_interactions(self) -> dict[str, int]:
        rng, today, u = self.rng, self.today, self.users
        m = len(self.plan_org)
        inter_id0, task_id = _next_id(Interaction), _next_id(Task)
        kinds = rng.choices(INTERACTION_TYPES[0], INTERACTION_TYPES[1], k=m)
        fallback = [u["regionaal"], u["regionaal.energie"], u["bizdev"], u["bizdev.2"]]
        local_by_code = {c: u[f"lokaal.{LOCAL_NAMES[c]}"] for c in DRECHTSTEDEN}
        people: list[list[int]] = []
        for i, meta in enumerate(self.meta):
            team = [uid for uid, _ in self.teams.get(i, [])]
            local = local_by_code.get(meta[0])
            people.append(team or ([local] if local else []) + fallback[:2])
        counts = {"interactions": 0, "confidential_interactions": 0, "interaction_topics": 0,
                  "interaction_contacts": 0, "interaction_users": 0, "tasks": 0}
        topics_rows, contact_rows, user_rows, task_rows = [], [], [], []
        table = Interaction.__table__

        def flush_links():
            if topics_rows:
                _bulk(_table("interaction_topic"), topics_rows)
            if contact_rows:
                _bulk(_table("interaction_contact"), contact_rows)
            if user_rows:
                _bulk(_table("interaction_user"), user_rows)
            if task_rows:
                _bulk(Task.__table__, task_rows)
            counts["interaction_topics"] += len(topics_rows)
            counts["interaction_contacts"] += len(contact_rows)
            counts["interaction_users"] += len(user_rows)
            counts["tasks"] += len(task_rows)
            topics_rows.clear(), contact_rows.clear(), user_rows.clear(), task_rows.clear()

        batch = []
        for k in range(m):
            i, days, kind = self.plan_org[k], self.plan_day[k], kinds[k]
            day = today - dt.timedelta(days=days)
            confidential = rng.random() < 0.05
            subject, topics, notes = rng.choice(CONFIDENTIAL_SUBJECTS if confidential
                                                else INTERACTION_SUBJECTS)
            team = people[i]
            author = rng.choice(team)
            at = dt.datetime(day.year, day.month, day.day, rng.randint(7, 15), rng.choice((0, 15, 30, 45)),
                             tzinfo=dt.UTC)
            iid = inter_id0 + k
            batch.append({"id": iid, "type": kind, "date": day, "organisation_id": self.org_id0 + i,
                          "author_id": author, "subject": subject, "notes": notes,
                          "confidential": confidential, "version": 1, "created_at": at,
                          "updated_at": at})
            counts["confidential_interactions"] += confidential
            for t in topics:
                topics_rows.append({"interaction_id": iid, "topic": t})
            user_rows.append({"interaction_id": iid, "user_id": author})
            if len(team) > 1 and rng.random() < 0.25:
                other = rng.choice(team)
                if other != author:
                    user_rows.append({"interaction_id": iid, "user_id": other})
            first, n_contacts = self.contacts[i]
            picks = {rng.randrange(n_contacts)}
            if kind in ("visit", "meeting") and rng.random() < 0.3:
                picks.add(rng.randrange(n_contacts))
            for p in picks:
                contact_rows.append({"interaction_id": iid, "contact_id": first + p})
            if topics and rng.random() < 0.25:
                due = day + dt.timedelta(days=rng.randint(7, 45))
                status = "open"
                if due < today:
                    status = rng.choices(("done", "cancelled", "open"), (70, 10, 20))[0]
                task_rows.append({
                    "id": task_id, "title": FOLLOW_UPS[topics[0]], "description": None,
                    "due_date": due, "status": status, "assignee_id": author,
                    "created_by_id": author, "organisation_id": self.org_id0 + i,
                    "interaction_id": iid, "lead_id": None,
                    "completed_at": at + dt.timedelta(days=rng.randint(1, 40)) if status == "done" else None,
                    "version": 1, "created_at": at, "updated_at": at})
                task_id += 1
            if len(batch) >= BATCH:
                _bulk(table, batch)
                counts["interactions"] += len(batch)
                batch = []
                flush_links()
        if batch:
            _bulk(table, batch)
            counts["interactions"] += len(batch)
        flush_links()
        return counts

    # ---- leads ---------------------------------------------------------------------------
    def insert_leads(self) -> int:
        rng, u, now = self.rng, self.users, self.now
        n_leads = max(40, self.n // 40)
        lead_id, event_id = _next_id(Lead), _next_id(LeadEvent)
        locals_ = {c: u[f"lokaal.{LOCAL_NAMES[c]}"] for c in DRECHTSTEDEN}
        receivers = [u["regionaal"], u["regionaal.energie"], u["bizdev"]]
        by_code: dict[str, list[int]] = {}
        for i, m in enumerate(self.meta):
            if m[2] == "company" and m[3] == "active":
                by_code.setdefault(m[0], []).append(i)
        statuses = ["new", "accepted", "in_progress", "won", "lost", "declined"]
        leads, events = [], []
        for k in range(n_leads):
            home = rng.choice(DRECHTSTEDEN) if k % 8 else None
            author = locals_[home] if home else u["regionaal"]
            pool = by_code.get(home) if home else None
            if not pool:
                pool = [i for c in DRECHTSTEDEN for i in by_code.get(c, [])[:50]] or list(range(self.n))
            i = rng.choice(pool)
            kind, title, description = rng.choice(LEADS)
            r = rng.random()
            if r < 0.45:
                shared, target = "municipality", rng.choice(
                    [c for c in DRECHTSTEDEN if c != (home or self.meta[i][0])])
                receiver = locals_[target]
            elif r < 0.85:
                shared, target, receiver = "regional_team", None, u["regionaal"]
            else:
                shared, target = "user", None
                receiver = rng.choice([x for x in receivers if x != author])
            status = statuses[k] if k < len(statuses) else rng.choices(statuses, (20, 15, 25, 15, 10, 15))[0]
            created = now - dt.timedelta(days=rng.randint(5, 540), hours=rng.randint(0, 8))
            decline = rng.choice(DECLINE_REASONS) if status == "declined" else None
            path = [{"user_id": author, "at": created, "from_status": None, "to_status": "new",
                     "note": None}]
            at, previous = created, "new"
            for step in LEAD_PATHS[status]:
                at = min(now, at + dt.timedelta(days=rng.randint(1, 30)))
                path.append({"user_id": receiver, "at": at, "from_status": previous,
                             "to_status": step, "note": decline if step == "declined" else None})
                previous = step
            leads.append({
                "id": lead_id, "organisation_id": self.org_id0 + i, "type": kind, "title": title,
                "description": description, "author_id": author,
                "from_municipality_code": home or self.meta[i][0], "shared_with": shared,
                "shared_with_user_id": receiver if shared == "user" else None,
                "shared_with_municipality_code": target, "status": status, "decline_reason": decline,
                "responded_at": path[1]["at"] if len(path) > 1 else None, "version": 1,
                "created_at": created, "updated_at": at})
            for e in path:
                events.append({"id": event_id, "lead_id": lead_id, **e})
                event_id += 1
            lead_id += 1
        _insert(Lead, leads)
        _insert(LeadEvent, events)
        return len(leads)

    # ---- value chains --------------------------------------------------------------------
    def insert_network(self) -> dict[str, int]:
        rng = self.rng
        cluster_ids = {c.name: c.id for c in db.session.scalars(sa.select(Cluster))}
        existing = {c.name: c for c in db.session.scalars(sa.select(ValueChain))}
        chain_id, stage_id = _next_id(ValueChain), _next_id(ValueChainStage)
        chains = []  # (id, cluster, [stage ids], supplied)
        chain_rows, stage_rows = [], []
        for name, cluster, stage_names, supplied in VALUE_CHAINS:
            if name in existing or cluster not in cluster_ids:
                chain = existing.get(name)
                if chain is not None:
                    chains.append((chain.id, cluster, [st.id for st in chain.stages] or [None], supplied))
                continue
            chain_rows.append({"id": chain_id, "cluster_id": cluster_ids[cluster], "name": name,
                               "description": f"Waardeketen {name.lower()} in de Drechtsteden.",
                               "version": 1, "created_at": self.now, "updated_at": self.now})
            ids = []
            for pos, stage in enumerate(stage_names, start=1):
                stage_rows.append({"id": stage_id, "value_chain_id": chain_id, "position": pos,
                                   "name": stage})
                ids.append(stage_id)
                stage_id += 1
            chains.append((chain_id, cluster, ids, supplied))
            chain_id += 1
        _insert(ValueChain, chain_rows)
        _insert(ValueChainStage, stage_rows)
        by_cluster: dict[str, list[int]] = {}
        for k, c in enumerate(chains):
            by_cluster.setdefault(c[1], []).append(k)
        members: list[dict[str, list[int]]] = [{} for _ in chains]
        role_id = _next_id(ChainRole)
        role_rows = []
        for i, (_code, cluster, org_type, status, employees) in enumerate(self.meta):
            if status == "dissolved" or org_type != "company" or cluster not in by_cluster \
                    or rng.random() < 0.35:
                continue
            k = rng.choice(by_cluster[cluster])
            role = _role_for(rng, employees)
            stages = chains[k][2]
            pos = {"oem": len(stages) - 2, "tier1": len(stages) // 2, "tier2": 0}.get(
                role, rng.randrange(len(stages)))
            role_rows.append({"id": role_id, "organisation_id": self.org_id0 + i,
                              "value_chain_id": chains[k][0], "stage_id": stages[max(0, pos)],
                              "role": role, "created_at": self.now, "updated_at": self.now})
            role_id += 1
            members[k].setdefault(role, []).append(i)
        link_id = _next_id(SupplyLink)
        links, seen = [], set()

        def link(a, b, k, sole=None):
            if a == b or (a, b, k) in seen:
                return
            nonlocal link_id
            seen.add((a, b, k))
            links.append({"id": link_id, "supplier_id": self.org_id0 + a,
                          "customer_id": self.org_id0 + b, "value_chain_id": chains[k][0],
                          "supplied": rng.choice(chains[k][3]),
                          "sole_source": rng.random() < 0.1 if sole is None else sole,
                          "version": 1, "created_at": self.now, "updated_at": self.now})
            link_id += 1

        for k, mem in enumerate(members):
            wire_chain(rng, mem, lambda a, b, sole=None, k=k: link(a, b, k, sole),
                       hubs=lambda specialists: rng.sample(
                           specialists, min(len(specialists), max(1, len(specialists) // 500))))
        _insert(ChainRole, role_rows)
        _insert(SupplyLink, links)
        return {"value_chains": len(chains), "chain_roles": len(role_rows),
                "supply_links": len(links), "sole_source_links": sum(1 for x in links if x["sole_source"])}

    # ---- programmes ----------------------------------------------------------------------
    def insert_participations(self) -> int:
        rng, now, owner = self.rng, self.now, self.users["bizdev"]
        part_id, event_id = _next_id(Participation), _next_id(ParticipationEvent)
        rows, events = [], []
        statuses = ["identified", "approached", "interested", "participating", "completed", "declined"]
        for programme in db.session.scalars(sa.select(Programme).where(Programme.deleted_at.is_(None))):
            region = {m.code for m in programme.municipalities}
            share = 0.2 if programme.code == "scale" else 0.02
            for i, (code, _cl, org_type, status, employees) in enumerate(self.meta):
                if org_type != "company" or (region and code not in region):
                    continue
                if programme.code == "scale":
                    fits = status == "active" and (employees or 0) < SME_MAX_EMPLOYEES and (
                        self.orgs[i]["_sbi"] in SCALE_SECTORS or rng.random() < 0.5)
                    # A few that the progress count must exclude (large, dissolved).
                    fits = fits or rng.random() < 0.003
                else:
                    fits = status == "active"
                if not fits or rng.random() >= share:
                    continue
                st = rng.choices(statuses, (20, 20, 18, 22, 12, 8))[0]
                path = FUNNEL[:rng.randint(2, 3)] + ["declined"] if st == "declined" \
                    else FUNNEL[:FUNNEL.index(st) + 1]
                at = now - dt.timedelta(days=rng.randint(30, 540))
                created = at
                for n, step in enumerate(path):
                    events.append({"id": event_id, "participation_id": part_id, "user_id": owner,
                                   "at": at, "from_status": path[n - 1] if n else None,
                                   "to_status": step})
                    event_id += 1
                    last = at
                    at = min(now, at + dt.timedelta(days=rng.randint(7, 60)))
                rows.append({"id": part_id, "programme_id": programme.id,
                             "organisation_id": self.org_id0 + i, "status": st,
                             "status_changed_at": last, "owner_id": owner, "notes": None,
                             "version": 1, "created_at": created, "updated_at": last})
                part_id += 1
        _insert(Participation, rows)
        _insert(ParticipationEvent, events)
        return len(rows)

    # ---- jobs history --------------------------------------------------------------------
    def insert_jobs(self) -> int:
        rng, now = self.rng, self.now
        kinds = ["criticality_recompute", "import_organisations", "export_list", "notification_email"]
        creators = [self.users["beheer"], self.users["regionaal"], self.users["bizdev"], None]
        rows = []
        for _ in range(max(20, self.n // 500)):
            created = now - dt.timedelta(days=rng.randint(1, 365), minutes=rng.randint(0, 600))
            failed = rng.random() < 0.1
            rows.append({
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "kind": rng.choice(kinds), "status": "failed" if failed else "finished",
                "progress": 100, "params": {},
                "message": "Mislukt: verbinding verbroken" if failed else "Klaar",
                "result": None if failed else {"rows": rng.randint(1, 5000)},
                "created_by_id": rng.choice(creators), "created_at": created,
                "started_at": created + dt.timedelta(seconds=rng.randint(1, 30)),
                "finished_at": created + dt.timedelta(seconds=rng.randint(31, 900)),
            })
        return _insert(Job, rows, copy=False)


def _table(name: str) -> sa.Table:
    return db.metadata.tables[name]
