"""``flask seed demo``: a deterministic, realistic fictional region, loaded once."""

from __future__ import annotations

import csv
import datetime as dt
import re
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from sdd_crm.auth.models import User
from sdd_crm.contacts.models import Contact
from sdd_crm.extensions import db
from sdd_crm.interactions.models import Interaction, Task
from sdd_crm.leads.models import Lead, LeadEvent
from sdd_crm.organisations.models import AccountTeamMember, Establishment, Organisation
from sdd_crm.organisations.services import clean_organisation_data, municipality_for_place
from sdd_crm.programmes.models import Participation, ParticipationEvent, Programme
from sdd_crm.reference.services import CLUSTERS
from sdd_crm.seeds.demo_data import DEMO_PASSWORD, DEMO_USERS, MUNICIPALITIES
from sdd_crm.seeds.demo_region import build_organisations, new_rng
from sdd_crm.valuechains.models import ChainRole, OrganisationCluster, SupplyLink, ValueChain

PLACES_CSV = Path(__file__).parent.parent / "sdd_crm" / "reference" / "data" / "places.csv"
PARTICIPATION_STATUSES = {"identified", "approached", "interested", "participating", "completed",
                          "declined"}


def count(stmt) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))


def demo_orgs():
    return sa.select(Organisation).where(Organisation.source == "demo")


def totals() -> dict:
    return {m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
            for m in (Organisation, Contact, User, Interaction, Lead, Participation, SupplyLink,
                      ChainRole, ValueChain, AccountTeamMember, Establishment)}


# --- the region as plain data: determinism without seeding twice -----------------------------

def test_the_region_is_drawn_deterministically():
    first, second = build_organisations(new_rng()), build_organisations(new_rng())
    assert first == second
    # Fixed facts of random.Random(2024): a change here changes every demo and screenshot.
    assert first[0]["data"]["name"] == "Van Noort Scheepsreparatie B.V."
    assert first[0]["data"]["kvk_number"] == "72885463"
    assert first[1]["data"]["name"] == "Bouwbedrijf De Graaf B.V."


def test_the_region_has_unique_well_formed_numbers():
    specs = build_organisations(new_rng())
    kvk = [s["data"]["kvk_number"] for s in specs]
    est = [s["data"]["establishment_number"] for s in specs] + [
        e["establishment_number"] for s in specs for e in s["establishments"]]
    assert len(set(kvk)) == len(kvk) and all(re.fullmatch(r"\d{8}", k) for k in kvk)
    assert len(set(est)) == len(est) and all(re.fullmatch(r"\d{12}", e) for e in est)
    assert len({s["data"]["name"] for s in specs}) == len(specs)


def test_every_place_and_postcode_range_belongs_to_its_municipality():
    with PLACES_CSV.open(encoding="utf-8") as fh:
        places = {row["place"]: row["cbs_code"] for row in csv.DictReader(fh)}
    for code, spec in MUNICIPALITIES.items():
        for place, _lo, _hi in spec["places"]:
            assert places.get(place) == code, place
    ranges = {"GM0505": (3311, 3319), "GM0642": (3330, 3335), "GM0590": (3350, 3359),
              "GM0610": (3360, 3369), "GM0482": (2951, 2954), "GM0531": (3341, 3344),
              "GM0523": (3370, 3379), "GM0512": (4201, 4207)}
    for s in build_organisations(new_rng()):
        d = s["data"]
        number = int(d["postcode"][:4])
        if d["municipality"] in ranges:
            lo, hi = ranges[d["municipality"]]
            assert lo <= number <= hi, (d["name"], d["postcode"], d["city"])


def test_the_drawn_data_pass_the_organisation_service(app):
    """The seed inserts directly for speed; its data must be what the service would accept."""
    for spec in build_organisations(new_rng()):
        data = {k: v for k, v in spec["data"].items() if k != "source"}
        clean = clean_organisation_data(data)
        for key in ("kvk_number", "establishment_number", "postcode", "phone", "email", "website"):
            assert clean[key] == data[key], (key, data[key])
        assert clean["municipality_code"] == data["municipality"]
        assert municipality_for_place(data["city"]) == data["municipality"], data["city"]


# --- the seeded database -----------------------------------------------------------------------

def _assert_kept_figures(output: str) -> None:
    """Issue 14: the seed keeps what the app keeps — each organisation's last contact is its
    latest contact moment's date, and criticality is computed from the seeded network."""
    from sdd_crm.interactions.models import Interaction

    latest = dict(db.session.execute(
        sa.select(Interaction.organisation_id, sa.func.max(Interaction.date))
        .where(Interaction.deleted_at.is_(None)).group_by(Interaction.organisation_id)).all())
    kept = dict(db.session.execute(sa.select(Organisation.id, Organisation.last_contact_on)
                                   .where(Organisation.source == "demo")).all())
    assert latest and all(kept[org_id] == day for org_id, day in latest.items())
    assert all(day is None for org_id, day in kept.items() if org_id not in latest)
    critical = db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)
                                 .where(Organisation.is_critical.is_(True)))
    assert critical > 2 and f"critical: {critical}" in output
    from sdd_crm.valuechains.recompute import figures_state

    assert figures_state().current  # the pages say the seeded figures are current


def test_seed_demo_loads_a_complete_region_once(app, runner, client):
    started = time.monotonic()
    result = runner.invoke(args=["seed", "demo"])
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    if db.engine.dialect.name == "sqlite":
        assert elapsed < 20, f"seed demo took {elapsed:.1f} s"
    for _key, email, *_ in DEMO_USERS:
        assert email in result.output
    assert DEMO_PASSWORD in result.output

    _assert_organisations()
    _assert_kept_figures(result.output)
    _assert_people()
    _assert_chains()
    _assert_activity()
    _assert_programmes()

    # Every role can sign in with the documented password.
    users = {u.role: u for u in db.session.scalars(
        sa.select(User).where(User.email.like("%@demo.sdd-crm.nl")))}
    assert set(users) == {"admin", "regional_account_manager", "local_account_manager",
                          "business_developer", "viewer"}
    resp = client.post("/login", data={"email": "regionaal@demo.sdd-crm.nl", "password": DEMO_PASSWORD})
    assert resp.status_code == 302

    # A second run detects the demo and adds nothing.
    before = totals()
    again = runner.invoke(args=["seed", "demo"])
    assert again.exit_code == 0
    assert "al geladen" in again.output
    assert totals() == before


def _assert_organisations():
    orgs = db.session.scalars(demo_orgs()).all()
    assert len(orgs) >= 300
    assert {o.municipality_code for o in orgs} == {
        "GM0482", "GM0505", "GM0523", "GM0531", "GM0590", "GM0610", "GM0642", "GM0512", "GM1978"}
    per_town = Counter(o.municipality_code for o in orgs)
    assert per_town["GM0505"] == max(per_town.values())  # Dordrecht is the largest
    assert 1 <= per_town["GM0512"] <= 20 and 1 <= per_town["GM1978"] <= 20  # a few neighbours
    types = Counter(o.org_type for o in orgs)
    assert types["company"] > 0.8 * len(orgs)
    assert all(types[t] >= 3 for t in ("knowledge_institution", "education", "government"))
    companies = [o for o in orgs if o.org_type == "company"]
    employees = [o.employees for o in companies if o.employees is not None]
    small = sum(1 for e in employees if e < 50)
    assert small > 0.6 * len(employees)
    assert any(250 <= e for e in employees) and max(employees) <= 2500
    assert sum(1 for o in companies if o.annual_turnover_eur is not None) > 50
    assert {o.size_class for o in companies} >= {"micro", "small", "medium", "large"}
    assert sum(1 for o in orgs if o.status == "dissolved") >= 2
    assert sum(1 for o in orgs if o.parent_id is not None) >= 3
    assert any(o.manual_critical and o.manual_critical_reason for o in orgs)
    kvk = [o.kvk_number for o in orgs]
    assert len(set(kvk)) == len(kvk) and all(re.fullmatch(r"\d{8}", k) for k in kvk)
    assert all(re.fullmatch(r"\d{4} [A-Z]{2}", o.postcode) for o in orgs)
    assert all(o.phone.startswith("+31") for o in orgs)
    mains = db.session.scalars(sa.select(Establishment).where(Establishment.is_main)).all()
    assert len(mains) >= len(orgs) and all(re.fullmatch(r"\d{12}", e.establishment_number) for e in mains)
    memberships = db.session.scalars(sa.select(OrganisationCluster)).all()
    used = {m.cluster.name for m in memberships}
    assert used == {name for name, _ in CLUSTERS}


def _assert_people():
    per_org = Counter(db.session.scalars(
        sa.select(Contact.organisation_id).join(Organisation, Organisation.id == Contact.organisation_id)
        .where(Organisation.org_type == "company", Organisation.status == "active")))
    assert per_org and all(2 <= n <= 3 for n in per_org.values())
    contacts = db.session.scalars(sa.select(Contact)).all()
    assert all(c.lawful_basis in ("public_task", "consent") and c.review_due for c in contacts)
    consent = [c for c in contacts if c.lawful_basis == "consent"]
    assert consent and all(c.consent_date for c in consent)
    team = db.session.scalars(sa.select(AccountTeamMember)).all()
    assert {m.team_role for m in team} == {"strategic", "local"}


def _assert_chains():
    chains = {c.name: c for c in db.session.scalars(sa.select(ValueChain))}
    assert {"Scheepsbouw", "Refit & onderhoud", "Emissieloos varen", "Warmtenetten"} <= set(chains)
    assert [s.name for s in chains["Scheepsbouw"].stages] == [
        "Ontwerp & engineering", "Casco", "Systemen", "Afbouw", "Onderhoud"]
    assert {c.cluster.name for c in chains.values()} == {name for name, _ in CLUSTERS}
    roles = db.session.scalars(sa.select(ChainRole)).all()
    assert {r.role for r in roles} == {"oem", "tier1", "tier2", "service_provider",
                                      "knowledge_partner", "customer"}
    assert all(r.stage.value_chain_id == r.value_chain_id for r in roles)
    links = db.session.scalars(sa.select(SupplyLink)).all()
    assert len(links) > 100 and any(link.sole_source for link in links)
    sole = Counter(link.supplier_id for link in links if link.sole_source)
    assert max(sole.values()) >= 4  # someone many partners cannot do without


def _assert_activity():
    today = dt.date.today()
    interactions = db.session.scalars(sa.select(Interaction)).all()
    assert len(interactions) > 300
    assert all(today - dt.timedelta(days=550) <= i.date <= today for i in interactions)
    assert {i.type for i in interactions} == {"visit", "call", "meeting", "email", "event"}
    assert 0 < sum(i.confidential for i in interactions) < 0.1 * len(interactions)
    assert count(sa.select(Task)) > 10
    leads = db.session.scalars(sa.select(Lead)).all()
    assert {lead.status for lead in leads} == {"new", "accepted", "in_progress", "won", "lost", "declined"}
    assert {lead.shared_with for lead in leads} >= {"municipality", "regional_team"}
    events = db.session.scalars(sa.select(LeadEvent).order_by(LeadEvent.id)).all()
    by_lead: dict[int, list] = {}
    for e in events:
        by_lead.setdefault(e.lead_id, []).append(e)
    for lead in leads:
        path = [e.to_status for e in by_lead[lead.id]]
        assert path[0] == "new" and path[-1] == lead.status
    assert all(lead.decline_reason for lead in leads if lead.status == "declined")


def _assert_programmes():
    scale = db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))
    rows = db.session.scalars(sa.select(Participation).where(Participation.programme_id == scale.id)).all()
    assert {p.status for p in rows} == PARTICIPATION_STATUSES
    assert len(rows) >= 100
    assert count(sa.select(ParticipationEvent)) >= len(rows)
    outside = {m.code for m in scale.municipalities}
    assert any(p.organisation.municipality_code not in outside for p in rows)  # an excluded case


@pytest.mark.parametrize("n", [40])
def test_a_small_region_still_covers_every_municipality_and_cluster(n):
    specs = build_organisations(new_rng(), n)
    assert len(specs) == n
    assert {s["data"]["municipality"] for s in specs} == set(MUNICIPALITIES)
    assert {c for s in specs for c in s["clusters"]} >= {name for name, _ in CLUSTERS}
