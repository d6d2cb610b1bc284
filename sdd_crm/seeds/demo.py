"""``flask seed demo``: a deterministic, realistic fictional region.

Drawn from ``random.Random(2024)``: the same names, KvK numbers and relations on every run.
Records are inserted directly rather than one by one through the services, which is many
times faster; they are still audited by the session listener, sizes come from the service's
``size_class``, and a test checks the drawn data against ``clean_organisation_data``.
Running it twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import decimal

import sqlalchemy as sa

from ..auth.models import User
from ..auth.services import get_user_by_email, hash_password, validate_user_fields
from ..contacts.models import Contact
from ..extensions import db
from ..organisations.models import (
    AccountTeamMember,
    Establishment,
    Organisation,
    OrganisationSbi,
    Tag,
)
from ..organisations.size import SME_MAX_EMPLOYEES, size_class
from ..valuechains.models import Cluster, OrganisationCluster
from .demo_data import DEMO_PASSWORD, DEMO_SOURCE, DEMO_USERS, FIRST_NAMES, FUNCTIONS, SURNAMES
from .demo_region import build_organisations, mobile, new_rng

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "demo_organisation_count", "seed_demo"]

PREFIXES = {"van", "de", "der", "den", "het", "ten", "ter", "in", "'t"}


def demo_organisation_count() -> int:
    """How many demo organisations exist (0: the demo region has not been loaded)."""
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Organisation).where(Organisation.source == DEMO_SOURCE)
    ) or 0


def seed_demo(n_organisations: int = 320) -> dict[str, int]:
    """Load the demo region; with a demo already present, do nothing and say so (``skipped``)."""
    existing = demo_organisation_count()
    if existing:
        return {"skipped": 1, "organisations": existing}
    from .demo_activity import seed_activity
    from .demo_network import seed_network

    rng = new_rng()
    specs = build_organisations(rng, n_organisations)
    users = create_demo_users()
    orgs = create_organisations(specs)
    counts = {"users": len(users), "organisations": len(orgs)}
    counts["establishments"] = len(orgs) + add_establishments(specs, orgs)
    counts["cluster_memberships"] = add_clusters(specs, orgs)
    teams = add_account_teams(rng, specs, orgs, users)
    counts["account_team_members"] = sum(len(t) for t in teams.values())
    contacts = add_contacts(rng, specs, orgs)
    counts["contacts"] = sum(len(c) for c in contacts.values())
    counts.update(seed_network(rng, specs, orgs))
    counts.update(seed_activity(rng, specs, orgs, users, teams, contacts))
    db.session.flush()
    return counts


def create_demo_users() -> dict[str, User]:
    """One demo user per role (and a local account manager per Drechtsteden municipality)."""
    users = {}
    password_hash = None
    for key, email, name, role, municipality in DEMO_USERS:
        user = get_user_by_email(email)
        if user is None:
            fields = validate_user_fields(email=email, name=name, role=role,
                                          municipality_code=municipality, password=DEMO_PASSWORD)
            # One (deliberately slow) argon2 hash serves every demo user: same documented password.
            password_hash = password_hash or hash_password(DEMO_PASSWORD)
            user = User(**fields, password_hash=password_hash, locale="nl", active=True)
            db.session.add(user)
        users[key] = user
    db.session.flush()
    return users


def create_organisations(specs: list[dict]) -> list[Organisation]:
    """Insert the organisations with their main establishment, SBI codes and tags.

    Direct inserts (create_organisation's per-record checks made this the slowest step);
    the data are drawn already normalised, and a test runs them through
    ``clean_organisation_data`` so they stay what the service would accept.
    """
    numbers = [s["data"]["kvk_number"] for s in specs]
    taken_kvk = set(db.session.scalars(
        sa.select(Organisation.kvk_number).where(Organisation.kvk_number.in_(numbers))))
    est_numbers = [s["data"]["establishment_number"] for s in specs]
    taken_est = set(db.session.scalars(sa.select(Establishment.establishment_number).where(
        Establishment.establishment_number.in_(est_numbers))))
    tags = _tags({t for s in specs for t in s["data"]["tags"]})
    orgs = []
    for spec in specs:
        d = spec["data"]
        turnover, balance = _eur(d["annual_turnover_eur"]), _eur(d["balance_sheet_total_eur"])
        address = {k: d[k] for k in ("street", "postcode", "city")}
        org = Organisation(
            name=d["name"], org_type=d["org_type"], legal_form=d["legal_form"],
            # A real organisation may already hold a drawn number: the demo one goes without.
            kvk_number=None if d["kvk_number"] in taken_kvk else d["kvk_number"],
            employees=d["employees"], annual_turnover_eur=turnover, balance_sheet_total_eur=balance,
            size_class=size_class(d["employees"], turnover, balance), **address,
            municipality_code=d["municipality"], website=d["website"], phone=d["phone"],
            email=d["email"], description=d["description"], status=d["status"], source=d["source"],
            sbi_codes=[OrganisationSbi(code=c, version="2008", is_main=n == 0)
                       for n, c in enumerate(d["sbi_codes"])],
            tags=[tags[t] for t in d["tags"]],
            establishments=[Establishment(
                is_main=True, municipality_code=d["municipality"], employees=d["employees"],
                establishment_number=None if d["establishment_number"] in taken_est
                else d["establishment_number"], **address)],
        )
        orgs.append(org)
    db.session.add_all(orgs)
    db.session.flush()
    for spec, org in zip(specs, orgs, strict=True):
        if spec["parent"] is not None:
            org.parent_id = orgs[spec["parent"]].id
    # Two organisations the regional team flagged by hand (DESIGN 4.3: manual flag with reason).
    flagged = [o for o in orgs if o.org_type == "company" and (o.employees or 0) >= SME_MAX_EMPLOYEES][:2]
    for org in flagged:
        org.manual_critical = True
        org.is_critical = True
        org.manual_critical_reason = (
            "Grootste werkgever in de keten; veel toeleveranciers in de regio zijn van dit "
            "bedrijf afhankelijk.")
    db.session.flush()
    return orgs


def _eur(value) -> decimal.Decimal | None:
    return None if value is None else decimal.Decimal(value).quantize(decimal.Decimal("0.01"))


def _tags(names: set[str]) -> dict[str, Tag]:
    existing = {t.name: t for t in db.session.scalars(sa.select(Tag).where(Tag.name.in_(names)))}
    for name in sorted(names - set(existing)):
        existing[name] = Tag(name=name)
        db.session.add(existing[name])
    return existing


def add_establishments(specs, orgs) -> int:
    """Second establishments of larger companies, elsewhere in the region."""
    numbers = [e["establishment_number"] for s in specs for e in s["establishments"]]
    taken = set(db.session.scalars(sa.select(Establishment.establishment_number).where(
        Establishment.establishment_number.in_(numbers))))
    rows = [
        Establishment(
            organisation_id=org.id, name=f"{org.name} — vestiging {est['city']}",
            establishment_number=None if est["establishment_number"] in taken
            else est["establishment_number"],
            street=est["street"], postcode=est["postcode"], city=est["city"],
            municipality_code=est["municipality"], is_main=False, employees=est["employees"])
        for spec, org in zip(specs, orgs, strict=True) for est in spec["establishments"]
    ]
    db.session.add_all(rows)
    return len(rows)


def add_clusters(specs, orgs) -> int:
    clusters = {c.name: c.id for c in db.session.scalars(sa.select(Cluster))}
    rows = []
    for spec, org in zip(specs, orgs, strict=True):
        for i, name in enumerate(spec["clusters"]):
            rows.append(OrganisationCluster(organisation_id=org.id, cluster_id=clusters[name],
                                            is_primary=i == 0))
    db.session.add_all(rows)
    return len(rows)


def add_account_teams(rng, specs, orgs, users) -> dict[int, list[User]]:
    """Strategic managers for the larger companies, local managers for many in their town.

    Returns organisation index → team members (strategic first).
    """
    local_by_code = {u.municipality_code: u for u in users.values()
                     if u.role == "local_account_manager"}
    energy_clusters = {"Energietransitie", "Bouw & installatie"}
    teams: dict[int, list[User]] = {}
    for i, (spec, org) in enumerate(zip(specs, orgs, strict=True)):
        if org.org_type not in ("company", "knowledge_institution") or org.status == "dissolved":
            continue
        team = []
        if (org.employees or 0) >= 50 or org.manual_critical or rng.random() < 0.08:
            energy = spec["clusters"] and spec["clusters"][0] in energy_clusters
            team.append((users["regionaal.energie"] if energy else users["regionaal"], "strategic"))
        local = local_by_code.get(org.municipality_code)
        if local is not None and (team or rng.random() < 0.5):
            team.append((local, "local"))
        if team:
            db.session.add_all(AccountTeamMember(organisation_id=org.id, user_id=u.id, team_role=r)
                               for u, r in team)
            teams[i] = [u for u, _ in team]
    return teams


def person_surname(surname: str) -> str:
    """'Van der Linden' in a company name, 'Jan van der Linden' as a person (Dutch usage)."""
    words = surname.split()
    i = 0
    while i < len(words) - 1 and words[i].lower() in PREFIXES:
        words[i] = words[i].lower()
        i += 1
    return " ".join(words)


def add_contacts(rng, specs, orgs) -> dict[int, list[Contact]]:
    """Two or three contacts per company (one or two elsewhere), with their GDPR fields."""
    from .demo_region import slug

    today = dt.date.today()
    out: dict[int, list[Contact]] = {}
    for i, (spec, org) in enumerate(zip(specs, orgs, strict=True)):
        if org.org_type == "company":
            n = 1 if org.status == "dissolved" else rng.randint(2, 3)
        else:
            n = rng.randint(1, 2)
        domain = spec["data"]["email"].split("@", 1)[1]
        people = []
        for k in range(n):
            first = rng.choice(FIRST_NAMES)
            last = person_surname(rng.choice(SURNAMES))
            if k == 0:
                function = "Eigenaar" if (org.employees or 0) < 10 and org.org_type == "company" \
                    else "Directeur"
            else:
                function = rng.choice(FUNCTIONS)
            consent = rng.random() < 0.12
            contact = Contact(
                organisation_id=org.id, first_name=first, last_name=last, function=function,
                email=f"{slug(first)}.{slug(last)}@{domain}",
                phone=org.phone if k == 0 else None,
                mobile=mobile(rng) if rng.random() < 0.7 else None,
                preferred_language="en" if rng.random() < 0.04 else "nl",
                lawful_basis="consent" if consent else "public_task",
                consent_date=today - dt.timedelta(days=rng.randint(30, 700)) if consent else None,
                source=DEMO_SOURCE, source_kind="system",
                objection=rng.random() < 0.02,
                # Some reviews are overdue, so the GDPR review list has something to show.
                review_due=today + dt.timedelta(days=rng.randint(-60, 700)),
            )
            people.append(contact)
        db.session.add_all(people)
        out[i] = people
    db.session.flush()
    return out
