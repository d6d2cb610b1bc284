"""Issue 14, point 1 in real Chromium: signals that are right.

* A changed network shows every user that the *Kritische bedrijven* figures are stale, with a
  recompute waiting (a non-admin: no button); once the dispatcher hands the waiting recompute
  over, the notice is gone and the newly critical company is listed.
* An organisation with contact moments never says "nooit" (never contacted): not on its page,
  not in the account list.

The module seeds its own network (KvK 71xxxxxx, names with "Signaal") in the live server's
database through the services, as the web would write it.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from browser_support import axe_violations, screenshot
from playwright.sync_api import expect

SUPPLIER = "Signaal Toeleverancier 71 B.V."
CONTACTED = "Signaal Contactbedrijf 71 B.V."


@pytest.fixture(scope="module")
def signals_world(live_server):
    import sqlalchemy as sa

    from sdd_crm.auth.models import User
    from sdd_crm.extensions import db
    from sdd_crm.interactions.services import create_interaction
    from sdd_crm.organisations.models import Organisation
    from sdd_crm.organisations.services import (
        create_organisation,
        set_account_team_member,
    )
    from sdd_crm.valuechains.jobs import create_job, run_job
    from sdd_crm.valuechains.models import Cluster, SupplyLink, ValueChain

    app = live_server.app
    with app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.email == "beheer@example.nl"))
        regional = db.session.scalar(sa.select(User).where(User.email == "regio@example.nl"))
        supplier = db.session.scalar(sa.select(Organisation).where(Organisation.name == SUPPLIER))
        if supplier is None:
            cluster = Cluster(name="Signalen (browsertest A)")
            db.session.add(cluster)
            db.session.flush()
            chain = ValueChain(name="Signaalketen (browsertest A)", cluster_id=cluster.id)
            db.session.add(chain)
            db.session.flush()

            def org(name, kvk, employees, city="Dordrecht"):
                return create_organisation({"name": name, "org_type": "company",
                                            "kvk_number": kvk, "city": city,
                                            "employees": employees}, actor=admin)

            supplier = org(SUPPLIER, "71000001", 15)
            for i in range(3):
                customer = org(f"Signaal Afnemer 71-{i + 1} B.V.", f"7100001{i}", 12, "Sliedrecht")
                db.session.add(SupplyLink(supplier_id=supplier.id, customer_id=customer.id,
                                          value_chain_id=chain.id, sole_source=False,
                                          supplied="lasrobots"))
            contacted = org(CONTACTED, "71000020", 25, "Papendrecht")
            set_account_team_member(contacted, regional, "strategic", actor=admin)
            for days, subject in ((40, "Kennismaking"), (9, "Vervolgbezoek")):
                create_interaction({"organisation_id": contacted.id, "type": "visit",
                                    "date": (dt.date.today() - dt.timedelta(days=days)).isoformat(),
                                    "subject": subject}, actor=regional)
            db.session.commit()
        before = _criticality_of_all()
        job_id = create_job(trigger="test").id
        db.session.commit()
        run_job(job_id)  # the figures are current before the test changes the network
        ids = {
            "supplier": supplier.id,
            "contacted": db.session.scalar(sa.select(Organisation.id)
                                           .where(Organisation.name == CONTACTED)),
            "links": list(db.session.scalars(sa.select(SupplyLink.id).where(
                SupplyLink.supplier_id == supplier.id).order_by(SupplyLink.id))),
            "admin": admin.id,
        }
        db.session.remove()
    yield ids
    with app.app_context():
        _put_back(before, ids["links"])


def _criticality_of_all():
    """Every organisation's criticality, and the newest assessment's id: the recomputes here run
    over the whole shared database, and other modules' pages expect the criticality they wrote
    by hand (and no critical company of ours)."""
    import sqlalchemy as sa

    from sdd_crm.extensions import db
    from sdd_crm.organisations.models import Organisation
    from sdd_crm.valuechains.models import CriticalityAssessment

    O = Organisation
    rows = db.session.execute(sa.select(O.id, O.is_critical, O.criticality_score)).all()
    return rows, db.session.scalar(sa.select(sa.func.max(CriticalityAssessment.id))) or 0


def _put_back(before, links) -> None:
    """The criticality as it was before this module, and our network as it was seeded."""
    import sqlalchemy as sa

    from sdd_crm.extensions import db
    from sdd_crm.organisations.models import Organisation
    from sdd_crm.valuechains.models import CriticalityAssessment, SupplyLink

    rows, newest = before
    db.session.execute(sa.update(SupplyLink).where(SupplyLink.id.in_(links))
                       .values(sole_source=False))
    db.session.execute(sa.delete(CriticalityAssessment).where(CriticalityAssessment.id > newest))
    table = Organisation.__table__
    db.session.execute(
        sa.update(table).where(table.c.id == sa.bindparam("b_id"))
        .values(is_critical=sa.bindparam("b_critical"), criticality_score=sa.bindparam("b_score")),
        [{"b_id": oid, "b_critical": critical, "b_score": score} for oid, critical, score in rows])
    db.session.commit()
    db.session.remove()


def _change_the_network(live_server, world) -> None:
    """The supplier becomes its three customers' only supplier, edited as in the web: the
    recompute it asks for waits (an hour here) for more edits to come."""
    from sdd_crm.auth.models import User
    from sdd_crm.extensions import db
    from sdd_crm.valuechains.models import SupplyLink
    from sdd_crm.valuechains.network_services import update_supply_link

    app = live_server.app
    before = app.config.get("CRITICALITY_RECOMPUTE_DELAY")
    app.config["CRITICALITY_RECOMPUTE_DELAY"] = 3600
    try:
        with app.test_request_context():
            admin = db.session.get(User, world["admin"])
            for link_id in world["links"]:
                update_supply_link(db.session.get(SupplyLink, link_id), {"sole_source": True},
                                   actor=admin, partial=True)
            db.session.commit()
            db.session.remove()
    finally:
        app.config["CRITICALITY_RECOMPUTE_DELAY"] = before


def _dispatcher_round_later(live_server) -> int:
    """What ``flask jobs dispatcher`` (or the embedded worker) does once the wait has passed."""
    from sdd_crm.db import utcnow
    from sdd_crm.extensions import db
    from sdd_crm.jobs.outbox import dispatch

    with live_server.app.app_context():
        sent = dispatch(now=utcnow() + dt.timedelta(hours=2))
        db.session.remove()
    return sent


def test_a_changed_network_says_its_figures_are_stale_until_the_recompute_ran(
        live_server, signals_world, role_page):
    page = role_page("local")  # a local account manager: not an admin, no button
    page.goto("/chains/critical")
    expect(page.locator("[data-figures]")).to_have_attribute("data-figures", "current")
    expect(page.locator("main")).not_to_contain_text(SUPPLIER)

    _change_the_network(live_server, signals_world)
    page.goto("/chains/critical")
    notice = page.get_by_role("status").filter(has_text="daarna gewijzigd")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(re.compile(
        r"De kritikaliteit is berekend op .+; de waardeketens zijn daarna gewijzigd\."))
    expect(notice).to_contain_text("Een herberekening staat klaar.")
    expect(notice.get_by_role("button", name="Nu herberekenen")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text(SUPPLIER)  # not yet computed
    assert axe_violations(page) == []
    screenshot(page, "signals-stale-critical-list")
    # The organisation page says it too.
    page.goto(f"/organisations/{signals_world['supplier']}")
    expect(page.locator('[data-figures="stale"]').first).to_contain_text("daarna gewijzigd")

    assert _dispatcher_round_later(live_server) == 1
    page.goto("/chains/critical")
    expect(page.locator('[data-figures="stale"]')).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="daarna gewijzigd")).to_have_count(0)
    row = page.locator("tr", has=page.get_by_role("link", name=SUPPLIER, exact=True))
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Enige leverancier voor 3 afnemers")


def test_an_admin_keeps_the_recompute_button(live_server, signals_world, role_page):
    from sdd_crm.extensions import db
    from sdd_crm.valuechains.recompute import schedule_recompute

    app = live_server.app
    app.config["CRITICALITY_AUTO_RECOMPUTE"] = False  # noted, but nothing asked for: stale
    try:
        with app.app_context():
            schedule_recompute(reason="chain_role")
            db.session.commit()
            db.session.remove()
    finally:
        app.config["CRITICALITY_AUTO_RECOMPUTE"] = True
    page = role_page("admin")
    page.goto("/chains/critical")
    notice = page.get_by_role("status").filter(has_text="daarna gewijzigd")
    expect(notice).to_contain_text("Een beheerder kan de kritikaliteit opnieuw laten berekenen.")
    notice.get_by_role("button", name="Nu herberekenen").click()
    expect(page).to_have_url(re.compile(r"/chains/critical$"))
    expect(page.locator('[data-figures="stale"]')).to_have_count(0)
    expect(page.locator('[data-figures="current"]')).to_be_visible()


def test_an_organisation_with_contact_moments_never_says_never(live_server, signals_world,
                                                              user_page):
    page = user_page  # the regional account manager, in the account team
    page.goto(f"/organisations/{signals_world['contacted']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(CONTACTED)
    main = page.locator("main")
    expect(main).not_to_contain_text(re.compile(r"\bnooit\b|never contacted", re.IGNORECASE))
    expect(main).not_to_contain_text("Aandacht nodig")  # contacted 9 days ago
    page.goto("/accounts")
    row = page.locator("tr", has=page.get_by_role("link", name=CONTACTED))
    expect(row).to_have_count(1)
    expect(row).not_to_contain_text(re.compile(r"nooit", re.IGNORECASE))
