"""Issue 14, points 9 and 10 in real Chromium: the network picture is a way in (Tab to a node shows
its full name, Enter opens the organisation, its what-if link follows), the stage filter narrows
the picture, the what-if view shows the jobs at stake and marks the affected nodes, the admin's
start page lists a failed job and a held import row with links, and an empty list shows its next
step — all without axe violations.

``h_world`` seeds its own small chain (KvK 78xxxxxx, names ending in "(H-browsertest)")::

    Ontwerp:  Lang  (a long name, 40 staff)  --sole-->  Casco: Romp (120)  --sole-->  Afbouw: Werf (900)
                                                         Casco: Plaat (30)  -------->  Afbouw: Werf
                                                                                       Werf --sole--> Reder (60)

Romp leaving: Werf loses its only supplier? No — Werf has Plaat too, but the link is marked sole
in the record, so Werf (900) counts; Lang (40) is cut off from the rest. Jobs at stake: 940.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from browser_support import axe_violations, screenshot
from playwright.sync_api import expect

SUFFIX = "(H-browsertest)"
LONG = f"Ingenieursbureau Lange Naam Voor Scheepsontwerp Dordrecht {SUFFIX}"


@pytest.fixture(scope="module")
def h_world(live_server):
    import sqlalchemy as sa

    from sdd_crm.auth.models import User
    from sdd_crm.extensions import db
    from sdd_crm.imports.models import ImportReview
    from sdd_crm.jobs.models import Job, JobStatus
    from sdd_crm.organisations.models import Organisation
    from sdd_crm.organisations.services import create_organisation
    from sdd_crm.valuechains.models import (
        ChainRole,
        Cluster,
        SupplyLink,
        ValueChain,
        ValueChainStage,
    )

    with live_server.app.app_context():
        chain_name = f"Netwerk {SUFFIX}"
        chain = db.session.scalar(sa.select(ValueChain).where(ValueChain.name == chain_name))
        if chain is None:
            admin = db.session.scalar(sa.select(User).where(User.email == "beheer@example.nl"))
            specs = [("lang", LONG, 40), ("romp", f"Romp {SUFFIX}", 120),
                     ("plaat", f"Plaat {SUFFIX}", 30), ("werf", f"Werf {SUFFIX}", 900),
                     ("reder", f"Reder {SUFFIX}", 60)]
            orgs = {}
            for i, (key, name, staff) in enumerate(specs):
                orgs[key] = create_organisation({
                    "name": name, "org_type": "company", "kvk_number": f"{78000001 + i:08d}",
                    "city": "Dordrecht", "street": f"Wijnstraat {i + 1}", "postcode": "3311 BV",
                    "employees": staff}, actor=admin)
            cluster = Cluster(name=f"Cluster {SUFFIX}")
            empty = Cluster(name=f"Leeg cluster {SUFFIX}")
            db.session.add_all([cluster, empty])
            db.session.flush()
            chain = ValueChain(name=chain_name, cluster_id=cluster.id)
            chain.stages = [ValueChainStage(position=i + 1, name=n)
                            for i, n in enumerate(["Ontwerp", "Casco", "Afbouw"])]
            db.session.add(chain)
            db.session.flush()
            stages = {s.name: s.id for s in chain.stages}
            for key, stage, role in [("lang", "Ontwerp", "tier2"), ("romp", "Casco", "tier1"),
                                     ("plaat", "Casco", "tier2"), ("werf", "Afbouw", "oem"),
                                     ("reder", "Afbouw", "customer")]:
                db.session.add(ChainRole(organisation_id=orgs[key].id, value_chain_id=chain.id,
                                         stage_id=stages[stage], role=role))
            for s, c, sole in [("lang", "romp", True), ("romp", "werf", True), ("plaat", "werf", False),
                               ("werf", "reder", True)]:
                db.session.add(SupplyLink(supplier_id=orgs[s].id, customer_id=orgs[c].id,
                                          value_chain_id=chain.id, sole_source=sole))
            # Admin work: a failed job and an import row held for review.
            db.session.add(Job(id=str(uuid.uuid4()), kind="import", status=JobStatus.FAILED,
                               message=f"Bestand onleesbaar {SUFFIX}", created_by_id=admin.id,
                               created_at=dt.datetime.now(dt.UTC), finished_at=dt.datetime.now(dt.UTC)))
            db.session.add(ImportReview(source=f"leden {SUFFIX}.xlsx", row_number=7,
                                        row_hash=uuid.uuid4().hex, data={"name": f"Romp BV {SUFFIX}"},
                                        candidate_id=orgs["romp"].id))
            db.session.commit()
        ids = {"chain": chain.id,
               "stages": {s.name: s.id for s in chain.stages},
               "empty_cluster": db.session.scalar(sa.select(Cluster.id).where(
                   Cluster.name == f"Leeg cluster {SUFFIX}")),
               "job": db.session.scalar(sa.select(Job.id).where(
                   Job.message == f"Bestand onleesbaar {SUFFIX}"))}
        for key, name in [("lang", LONG), ("romp", f"Romp {SUFFIX}"), ("werf", f"Werf {SUFFIX}"),
                          ("plaat", f"Plaat {SUFFIX}")]:
            ids[key] = db.session.scalar(sa.select(Organisation.id).where(Organisation.name == name))
        db.session.remove()
    return ids


def _check(page, name: str) -> None:
    page.wait_for_load_state("load")
    screenshot(page, name)
    violations = axe_violations(page)
    assert violations == [], f"{name}: {violations}"


def _focused_href(page) -> str | None:
    return page.evaluate("document.activeElement && document.activeElement.getAttribute('href')")


def test_tab_to_a_node_shows_its_full_name_and_enter_opens_it(user_page, h_world):
    page = user_page
    page.goto(f"/chains/{h_world['chain']}/network")
    _check(page, "h-network")
    region = page.get_by_role("region", name="Netwerkafbeelding, schuifbaar")
    region.focus()
    # The first node in reading order is the one in the first stage: the long name.
    page.keyboard.press("Tab")
    assert _focused_href(page) == f"/organisations/{h_world['lang']}"
    node = page.locator(f"svg.vc-network g.vc-node[data-org-id='{h_world['lang']}']")
    full = node.locator(".vc-node__full")
    expect(full).to_be_visible()
    expect(full).to_contain_text("Ingenieursbureau Lange Naam")
    expect(full).to_contain_text("Dordrecht")
    expect(node.locator(".vc-node__label")).to_be_hidden()  # the truncated one gives way
    expect(node.locator(".vc-node__focus")).to_be_visible()  # a focus ring, not colour alone
    screenshot(page, "h-network-node-focused")
    # The next Tab reaches the same node's what-if link, shown with the focus.
    page.keyboard.press("Tab")
    assert _focused_href(page) == f"/chains/what-if/{h_world['lang']}"
    assert page.evaluate("getComputedStyle(document.activeElement).opacity") == "1"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/organisations/{h_world['lang']}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ingenieursbureau Lange Naam")


def test_hover_shows_the_full_name_too(user_page, h_world):
    page = user_page
    page.goto(f"/chains/{h_world['chain']}/network")
    node = page.locator(f"svg.vc-network g.vc-node[data-org-id='{h_world['lang']}']")
    expect(node.locator(".vc-node__full")).to_be_hidden()
    node.locator("circle.vc-node__dot").hover()
    expect(node.locator(".vc-node__full")).to_be_visible()


def test_the_filter_narrows_the_picture(user_page, h_world):
    page = user_page
    page.goto(f"/chains/{h_world['chain']}/network")
    expect(page.locator("svg.vc-network g.vc-node")).to_have_count(5)
    page.get_by_label("Fase").select_option(label="2. Casco")
    page.get_by_role("button", name="Filteren").click()
    expect(page).to_have_url(re.compile(rf"stage={h_world['stages']['Casco']}"))
    nodes = page.locator("svg.vc-network g.vc-node")
    expect(nodes).to_have_count(2)
    expect(page.locator(f"svg.vc-network g.vc-node[data-org-id='{h_world['romp']}']")).to_have_count(1)
    expect(page.locator(f"svg.vc-network g.vc-node[data-org-id='{h_world['plaat']}']")).to_have_count(1)
    expect(page.get_by_role("status").filter(has_text="Gefilterd")).to_contain_text("2 organisaties")
    expect(page.locator("table.vc-network-table tbody tr")).to_have_count(2)
    _check(page, "h-network-filtered")
    page.get_by_role("link", name="Alle filters wissen").click()
    expect(page.locator("svg.vc-network g.vc-node")).to_have_count(5)


def test_what_if_shows_the_jobs_at_stake_and_marks_the_affected(user_page, h_world):
    page = user_page
    page.goto(f"/chains/what-if/{h_world['romp']}")
    at_stake = page.locator("section.vc-at-stake")
    expect(at_stake.get_by_role("heading", name="Banen op het spel")).to_be_visible()
    expect(at_stake.locator(".vc-at-stake__number")).to_have_text("940 werkzame personen")
    rows = page.locator("table.vc-affected-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(f"Werf {SUFFIX}")
    expect(rows.first).to_contain_text("900")
    expect(rows.first).to_contain_text("verliest de enige leverancier")
    expect(rows.nth(1)).to_contain_text("raakt los van de keten")
    svg = page.locator("svg#wat-als-netwerk")
    expect(svg.locator("g.vc-node--leaving")).to_have_count(1)
    expect(svg.locator(f"g.vc-node--leaving[data-org-id='{h_world['romp']}']")).to_have_count(1)
    expect(svg.locator("g.vc-node--affected")).to_have_count(2)
    expect(svg.locator(f"g.vc-node--affected[data-org-id='{h_world['werf']}'] .vc-node__mark")).to_be_visible()
    expect(svg.locator("path.vc-link--cut")).to_have_count(1)
    _check(page, "h-what-if")


def test_admin_start_page_lists_the_work(role_page, h_world):
    page = role_page("admin")
    page.goto("/")
    work = page.locator("section[data-admin-work]")
    expect(work.get_by_role("heading", name="Beheerwerk")).to_be_visible()
    held = work.locator("li[data-block='held-rows']")
    expect(held).to_contain_text("wacht")
    failed = work.locator(f"li[data-job-id='{h_world['job']}']")
    expect(failed).to_contain_text(f"Bestand onleesbaar {SUFFIX}")
    expect(failed.get_by_role("link")).to_have_attribute("href", f"/jobs/{h_world['job']}")
    _check(page, "h-admin-start")
    held.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/imports/review$"))
    expect(page.locator("main")).to_contain_text(f"Romp BV {SUFFIX}")
    page.goto("/")
    page.locator(f"li[data-job-id='{h_world['job']}']").get_by_role("link").click()
    expect(page).to_have_url(re.compile(rf"/jobs/{h_world['job']}$"))


def test_others_see_no_admin_work(user_page, h_world):
    user_page.goto("/")
    expect(user_page.locator("section[data-admin-work]")).to_have_count(0)


def test_an_empty_list_shows_its_next_step(user_page, h_world):
    page = user_page
    page.goto(f"/chains/clusters/{h_world['empty_cluster']}")
    state = page.locator("[data-empty-state]").first
    expect(state).to_contain_text("Nog geen waardeketens in dit cluster.")
    link = state.get_by_role("link", name="Voeg de eerste waardeketen toe")
    expect(link).to_be_visible()
    _check(page, "h-empty-state")
    link.click()
    expect(page).to_have_url(re.compile(rf"/chains/new\?cluster_id={h_world['empty_cluster']}$"))
