"""Forms, words and dates (issue 14 points 5 and 6) in real Chromium.

A failed save puts the focus on the error summary at the top of the form; it lists and links each
field, following a link focuses that field, and the form keeps what was typed. A conditional field
appears, and is marked required, only while its trigger is set. Sharing a lead with a
municipality where nobody receives it is refused plainly. The audit view and the timeline speak in
labels, names and ``6 dec. 2026``-style dates (no ``_id`` and no ISO strings in the page's text).
axe-core finds nothing on any of these pages. Seeded here: KvK 75xxxxxx, names of this test only.
"""

from __future__ import annotations

import re

import pytest
from browser_support import axe_violations, screenshot
from playwright.sync_api import expect

ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})?")
INTERNAL = re.compile(r"\b[a-z]+(?:_[a-z]+)*_(?:id|at|on|code|critical|reason)\b")
DUTCH_DAY = re.compile(r"\b\d{1,2} (?:jan|feb|mrt|apr|jun|jul|aug|sep|okt|nov|dec)\. \d{4}\b|"
                       r"\b\d{1,2} mei \d{4}\b")


@pytest.fixture(scope="module")
def seeded(live_server):
    """An organisation with a manual criticality flag and a task due 6 Dec 2026, and a local
    account manager in Sliedrecht (so that Sliedrecht receives leads; Alblasserdam does not)."""
    from sdd_crm.auth.models import User
    from sdd_crm.auth.services import create_user
    from sdd_crm.extensions import db
    from sdd_crm.interactions.services import create_task
    from sdd_crm.organisations.services import create_organisation
    from sdd_crm.valuechains.criticality_services import set_manual_flag

    with live_server.app.app_context():
        admin = db.session.get(User, live_server.users["admin"][0])
        regional = db.session.get(User, live_server.users["regional"][0])
        if db.session.query(User).filter_by(email="sanne.formulier@example.nl").first() is None:
            create_user(email="sanne.formulier@example.nl", name="Sanne Formulier",
                        role="local_account_manager", municipality_code="GM0610",
                        password="correct horse battery staple")
        org = create_organisation({"name": "Formulierwerf Vijfenzeventig B.V.",
                                   "org_type": "company", "kvk_number": "75000001",
                                   "city": "Dordrecht", "employees": 40}, actor=admin)
        set_manual_flag(org, True, "Enige leverancier van de werf", actor=admin)
        create_task({"title": "Formulierwerf terugbellen", "due_date": "2026-12-06",
                     "assignee_id": regional.id, "organisation_id": org.id}, actor=admin)
        db.session.commit()
        org_id = org.id
        db.session.remove()
    return {"org": org_id}


def _check(page, name: str) -> None:
    page.wait_for_load_state("load")
    screenshot(page, name)
    violations = axe_violations(page)
    assert violations == [], f"{name}: {violations}"


def _active_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def _summary_links(page) -> dict[str, str]:
    links = page.locator("[data-error-summary] a")
    return {links.nth(i).get_attribute("href"): links.nth(i).inner_text()
            for i in range(links.count())}


def test_a_failed_organisation_form_focuses_the_error_summary(role_page, seeded):
    page = role_page("regional")
    page.goto("/organisations/new")
    page.get_by_label(re.compile(r"^KvK-nummer")).fill("7500")
    page.get_by_label(re.compile(r"^Werkzame personen")).fill("veel")
    page.get_by_label(re.compile(r"^Omschrijving")).fill("Blijft staan na het foute opslaan")
    page.locator("main form[method=post]").get_by_role("button", name="Opslaan").click()
    page.wait_for_load_state()
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()
    links = _summary_links(page)
    assert {"#name", "#kvk_number", "#employees"} <= set(links), links
    assert links["#name"].startswith("Naam: ")
    # Each field keeps its own message, tied to it for screen readers.
    for field_id in ("name", "kvk_number", "employees"):
        box = page.locator(f"#{field_id}")
        expect(box).to_have_attribute("aria-invalid", "true")
        assert f"{field_id}-error" in box.get_attribute("aria-describedby")
    # Following a link focuses that field; the form kept the input.
    page.locator("[data-error-summary] a[href='#kvk_number']").click()
    expect(page.locator("#kvk_number")).to_be_focused()
    expect(page.locator("#kvk_number")).to_have_value("7500")
    expect(page.locator("#description")).to_have_value("Blijft staan na het foute opslaan")
    _check(page, "forms-organisation-errors")


def test_the_lead_form_shows_the_receiver_only_when_chosen_and_refuses_nobody(role_page, seeded):
    page = role_page("local")  # Dordrecht
    page.goto(f"/leads/new?organisation_id={seeded['org']}")
    colleague = page.locator("[data-show-when='shared_with']:has(#shared_with_user_id)")
    municipality = page.locator("[data-show-when='shared_with']:has(#shared_with_municipality)")
    # The regional team is chosen: neither the colleague nor the municipality is asked.
    expect(page.locator("#shared_with-0")).to_be_checked()
    expect(colleague).to_be_hidden()
    expect(municipality).to_be_hidden()
    _check(page, "forms-lead-new")

    page.get_by_label("Een collega (kies hieronder)").check()
    expect(colleague).to_be_visible()
    expect(municipality).to_be_hidden()
    expect(page.locator("#shared_with_user_id")).to_have_attribute("aria-required", "true")
    expect(colleague.locator(".app-optional")).to_be_hidden()  # no "(optioneel)" now

    page.get_by_label(re.compile(r"^Een andere gemeente")).check()
    expect(municipality).to_be_visible()
    expect(colleague).to_be_hidden()
    select = page.locator("#shared_with_municipality")
    expect(select).to_have_attribute("aria-required", "true")
    assert select.locator("option", has_text="Dordrecht").count() == 0  # not one's own
    select.select_option(label="Alblasserdam (nog niemand ontvangt hier signalen)")
    page.get_by_label(re.compile(r"^Titel")).fill("Formulierwerf zoekt een hal")
    page.locator("main form[method=post]").get_by_role("button", name="Signaal delen").click()
    page.wait_for_load_state()

    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    links = _summary_links(page)
    assert links["#shared_with_municipality"].startswith(
        "Gemeente: In Alblasserdam werkt nog geen lokaal accountmanager"), links
    page.locator("[data-error-summary] a[href='#shared_with_municipality']").click()
    expect(select).to_be_focused()
    expect(municipality).to_be_visible()  # still the chosen receiver after the reload
    expect(page.locator("#title")).to_have_value("Formulierwerf zoekt een hal")
    _check(page, "forms-lead-refused")

    # A title left out: the summary links it, the field is focused by its link.
    page.locator("#title").fill("")
    select.select_option(label="Sliedrecht")
    page.locator("main form[method=post]").get_by_role("button", name="Signaal delen").click()
    page.wait_for_load_state()
    expect(page.locator("[data-error-summary]")).to_be_focused()
    assert set(_summary_links(page)) == {"#title"}
    page.locator("[data-error-summary] a[href='#title']").click()
    expect(page.locator("#title")).to_be_focused()


def test_the_municipality_of_a_user_is_asked_only_for_a_local_manager(role_page, seeded):
    page = role_page("admin")
    page.goto("/admin/users/new")
    wrap = page.locator("[data-show-when='role']")
    expect(wrap).to_be_hidden()
    page.get_by_label(re.compile(r"^Rol")).select_option("local_account_manager")
    expect(wrap).to_be_visible()
    expect(page.locator("#municipality")).to_have_attribute("aria-required", "true")
    expect(wrap.locator(".app-optional")).to_be_hidden()
    _check(page, "forms-user-local")
    page.get_by_label(re.compile(r"^Rol")).select_option("viewer")
    expect(wrap).to_be_hidden()
    assert page.locator("#municipality").get_attribute("aria-required") is None


def _main_text(page) -> str:
    return page.locator("main").inner_text()


def test_the_audit_view_speaks_in_labels_names_and_dates(role_page, seeded):
    page = role_page("admin")
    page.goto("/admin/audit?entity_type=task")
    table = page.locator("main table").inner_text()
    assert "Formulierwerf terugbellen" in table
    assert "Toegewezen aan" in table and "Rik Regio" in table
    assert "6 dec. 2026" in table
    assert not ISO.search(table), ISO.search(table)
    assert not INTERNAL.search(table), INTERNAL.search(table)
    assert DUTCH_DAY.search(table)
    _check(page, "words-audit-tasks")
    page.goto(f"/admin/audit?entity_type=organisation&entity_id={seeded['org']}")
    text = _main_text(page)
    assert "Handmatig kritisch" in text and "Enige leverancier van de werf" in text
    assert "manual_critical" not in text and not ISO.search(text)


def test_the_timeline_speaks_in_labels_and_dates(role_page, seeded):
    page = role_page("regional")
    page.goto(f"/organisations/{seeded['org']}?kind=change")
    text = _main_text(page)
    assert "Handmatig kritisch" in text
    assert "manual_critical" not in text
    assert not ISO.search(text), ISO.search(text)
    assert not INTERNAL.search(text), INTERNAL.search(text)
    assert DUTCH_DAY.search(text)
    _check(page, "words-timeline")


def test_a_follow_up_asks_when_and_who_only_once_it_is_asked(role_page, seeded):
    page = role_page("regional")
    page.goto(f"/interactions/new?organisation_id={seeded['org']}")
    when = page.locator("[data-show-when='follow_ups-0-title']:has(#follow_ups-0-due_date)")
    expect(when).to_be_hidden()
    page.locator("#follow_ups-0-title").fill("Offerte nasturen")
    expect(when).to_be_visible()
    page.locator("#follow_ups-0-title").fill("")
    expect(when).to_be_hidden()


def test_english_dates_put_the_day_first_too(role_page, seeded):
    page = role_page("english")
    page.goto(f"/organisations/{seeded['org']}?kind=task")
    text = _main_text(page)
    assert re.search(r"\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}\b",
                     text), text[:2000]
    assert not re.search(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b", text)  # never 12/6/26
    assert not ISO.search(text)
