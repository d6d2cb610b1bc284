"""Value-chain insight pages in real Chromium: the critical list, a chain's network picture and
the what-if page have no WCAG 2.1 A/AA violations (axe-core), and the picture works.

The live server's own seed has no value chains: ``chain_world`` adds one small chain (stages,
roles, links with sole sources, two critical companies) to its database, using the seeded
organisations so other browser tests see the same organisation list.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from browser_support import axe_violations, screenshot
from playwright.sync_api import expect


@pytest.fixture(scope="module")
def chain_world(live_server):
    import sqlalchemy as sa

    from sdd_crm.auth.models import User
    from sdd_crm.extensions import db
    from sdd_crm.organisations.models import Organisation
    from sdd_crm.organisations.services import set_account_team_member
    from sdd_crm.valuechains.models import (
        ChainRole, Cluster, CriticalityAssessment, SupplyLink, ValueChain, ValueChainStage)

    with live_server.app.app_context():
        name = "Scheepsbouw (browsertest)"
        chain = db.session.scalar(sa.select(ValueChain).where(ValueChain.name == name))
        if chain is None:
            cluster = Cluster(name="Maritiem (browsertest)")
            db.session.add(cluster)
            db.session.flush()
            chain = ValueChain(name=name, cluster_id=cluster.id)
            chain.stages = [ValueChainStage(position=i + 1, name=n)
                            for i, n in enumerate(["Ontwerp", "Casco", "Systemen", "Afbouw"])]
            db.session.add(chain)
            db.session.flush()
            orgs = db.session.scalars(sa.select(Organisation).order_by(Organisation.id)
                                      .offset(10).limit(12)).all()
            plan = [(0, "Ontwerp", "knowledge_partner"), (1, "Ontwerp", "tier2"),
                    (2, "Casco", "tier2"), (3, "Casco", "tier1"), (4, "Casco", "service_provider"),
                    (5, "Systemen", "tier1"), (6, "Systemen", "tier2"), (7, "Systemen", "tier1"),
                    (8, "Afbouw", "oem"), (9, "Afbouw", "oem"), (10, "Afbouw", "customer"),
                    (11, "Casco", "tier2")]
            stages = {s.name: s.id for s in chain.stages}
            for i, stage, role in plan:
                db.session.add(ChainRole(organisation_id=orgs[i].id, value_chain_id=chain.id,
                                         stage_id=stages[stage], role=role))
            links = [(1, 3, False), (2, 3, True), (2, 5, True), (2, 7, True), (3, 8, False),
                     (5, 8, False), (7, 9, False), (6, 9, True), (4, 8, False), (9, 10, False),
                     (8, 10, False), (11, 3, False), (0, 5, False)]
            for s, c, sole in links:
                db.session.add(SupplyLink(supplier_id=orgs[s].id, customer_id=orgs[c].id,
                                          value_chain_id=chain.id, sole_source=sole,
                                          supplied="staal" if sole else "onderdelen"))
            hub, big = orgs[2], orgs[8]
            for org, score, factors in [
                (hub, 1.2, [{"name": "sole_source", "value": 3, "level": 1.0, "weight": 1.0,
                             "contribution": 1.0},
                            {"name": "bridging", "value": 20.0, "level": 0.2, "weight": 1.0,
                             "contribution": 0.2, "separates_chains": None}]),
                (big, 0.7, [{"name": "employment", "value": 0.08, "level": 0.7, "weight": 1.0,
                             "contribution": 0.7}]),
            ]:
                org.is_critical, org.criticality_score = True, score
                db.session.add(CriticalityAssessment(organisation_id=org.id, score=score, threshold=0.8,
                                                     critical=score >= 0.8, factors=factors))
            big.manual_critical, big.manual_critical_reason = True, "Grootste werf in de keten"
            big.last_contact_on = dt.date.today() - dt.timedelta(days=20)
            regional = db.session.scalar(sa.select(User).where(User.email == "regio@example.nl"))
            admin = db.session.scalar(sa.select(User).where(User.email == "beheer@example.nl"))
            set_account_team_member(big, regional, "strategic", actor=admin)
            db.session.commit()
        hub_id = db.session.scalar(
            sa.select(SupplyLink.supplier_id).where(SupplyLink.value_chain_id == chain.id,
                                                     SupplyLink.sole_source.is_(True))
            .group_by(SupplyLink.supplier_id).order_by(sa.func.count().desc()).limit(1))
        ids = {"chain": chain.id, "hub": hub_id}
        db.session.remove()
    return ids


def _check(page, name: str) -> None:
    page.wait_for_load_state("load")
    screenshot(page, name)
    violations = axe_violations(page)
    assert violations == [], f"{name}: {violations}"


def test_critical_list(user_page, chain_world):
    # Narrowed to this test's own chain: the live database is shared with the other browser
    # tests, whose network changes recompute criticality for every organisation (issue 14).
    resp = user_page.goto(f"/chains/critical?chain={chain_world['chain']}")
    assert resp.status == 200
    expect(user_page.get_by_role("heading", level=1)).to_have_text("Kritische bedrijven")
    expect(user_page.get_by_role("navigation", name="Hoofdmenu")
           .get_by_role("link", name="Kritische bedrijven")).to_have_attribute("aria-current", "page")
    rows = user_page.locator("table.vc-critical tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Enige leverancier voor 3 afnemers")
    expect(rows.first).to_contain_text("Geen contact in 6 maanden")
    expect(rows.nth(1)).to_contain_text("Handmatig als kritisch aangemerkt: Grootste werf in de keten")
    expect(rows.nth(1)).to_contain_text("Berekend: niet kritisch (score 0,7, drempel 0,8)")
    expect(rows.nth(1)).to_contain_text("Rik Regio")
    _check(user_page, "valuechains-critical")


def test_critical_list_filtered(user_page, chain_world):
    user_page.goto("/chains/critical")
    user_page.get_by_label("Waardeketen").select_option(label="Scheepsbouw (browsertest)")
    user_page.get_by_label("Alleen zonder contact in 6 maanden").check()
    user_page.get_by_role("button", name="Filteren").click()
    expect(user_page.locator("table.vc-critical tbody tr")).to_have_count(1)
    _check(user_page, "valuechains-critical-filtered")


def test_chain_network(user_page, chain_world):
    resp = user_page.goto(f"/chains/{chain_world['chain']}/network")
    assert resp.status == 200
    # A group (its nodes are links, issue 14), named by its <title>.
    picture = user_page.get_by_role("group", name="Netwerk van de waardeketen Scheepsbouw (browsertest)")
    expect(picture).to_be_visible()
    expect(user_page.locator("svg.vc-network g.vc-node")).to_have_count(12)
    expect(user_page.locator("table.vc-network-table tbody tr")).to_have_count(12)
    expect(user_page.locator("svg.vc-network path.vc-link--sole")).to_have_count(4)
    expect(user_page.locator("svg.vc-network .vc-node__ring")).to_have_count(2)
    _check(user_page, "valuechains-network")
    # The picture scrolls by keyboard, and a click on a node opens the organisation.
    region = user_page.get_by_role("region", name="Netwerkafbeelding, schuifbaar")
    region.focus()
    expect(region).to_be_focused()
    hub = user_page.locator(f"svg.vc-network g.vc-node[data-org-id='{chain_world['hub']}']")
    hub.locator("circle.vc-node__dot").click()
    expect(user_page).to_have_url(re.compile(rf"/organisations/{chain_world['hub']}$"))
    expect(user_page.get_by_role("link", name="Wat als deze organisatie wegvalt?")).to_be_visible()


def test_what_if(user_page, chain_world):
    resp = user_page.goto(f"/chains/what-if/{chain_world['hub']}")
    assert resp.status == 200
    expect(user_page.get_by_role("heading", level=1)).to_contain_text("wegvalt?")
    expect(user_page.locator("[data-section='lose-only'] li")).to_have_count(3)
    _check(user_page, "valuechains-what-if")


def test_gap_pages(user_page, chain_world):
    user_page.goto("/chains/gaps")
    _check(user_page, "valuechains-gaps")
    user_page.goto(f"/chains/{chain_world['chain']}/gaps")
    _check(user_page, "valuechains-chain-gaps")


def test_network_on_a_phone(phone_page, chain_world):
    phone_page.goto(f"/chains/{chain_world['chain']}/network")
    expect(phone_page.locator("svg.vc-network")).to_be_visible()
    # The page itself does not scroll sideways; the picture scrolls inside its frame.
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375 + 1, width
    screenshot(phone_page, "valuechains-network-phone")
