"""The organisation page that fits (issue 14 point 4), in real Chromium at 1280 × 900 with CSRF
on: the summary header and its quick actions in the first screen, every section one click away,
a contact moment logged through the one form lands on the timeline with the success message in
view, the organisation suggestions are chosen with the mouse and the keyboard, and axe-core
finds no WCAG 2.1 A/AA violation.

``kade`` adds two organisations of its own (KvK 74xxxxxx) with an account team, a contact and
thirty contact moments with long notes — enough that the old page put its timeline and the
success message thousands of pixels down.
"""

from __future__ import annotations

import re

import pytest
from browser_support import axe_violations, screenshot
from playwright.sync_api import expect

NAME = "Kadewerf Paginatest B.V."
TWIN = "Kadewerf Paginatest Zuid B.V."


@pytest.fixture(scope="module")
def kade(live_server):
    import datetime as dt

    import sqlalchemy as sa

    from sdd_crm.auth.models import User
    from sdd_crm.contacts.services import create_contact
    from sdd_crm.extensions import db
    from sdd_crm.interactions.services import create_interaction
    from sdd_crm.organisations.models import Organisation
    from sdd_crm.organisations.services import (
        create_organisation,
        set_account_team_member,
    )

    with live_server.app.app_context():
        org_id = db.session.scalar(sa.select(Organisation.id).where(Organisation.name == NAME))
        if org_id is None:
            admin = db.session.scalar(sa.select(User).where(User.email == "beheer@example.nl"))
            regional = db.session.scalar(sa.select(User).where(User.email == "regio@example.nl"))
            org = create_organisation({"name": NAME, "org_type": "company", "city": "Dordrecht",
                                       "kvk_number": "74000101", "street": "Kade 1",
                                       "postcode": "3311 AA", "phone": "078-7400101",
                                       "email": "info@kadewerf.example"}, actor=admin)
            create_organisation({"name": TWIN, "org_type": "company", "city": "Zwijndrecht",
                                 "kvk_number": "74000102"}, actor=admin)
            set_account_team_member(org, regional, "strategic", actor=admin)
            org.manual_critical, org.is_critical = True, True
            org.manual_critical_reason = "Enige kadebouwer met een eigen dok"
            create_contact({"organisation_id": org.id, "first_name": "Karel",
                            "last_name": "Kade", "function": "Directeur"}, actor=admin)
            today = dt.date.today()
            for i in range(30):
                create_interaction({
                    "organisation_id": org.id, "type": ("visit", "call", "email")[i % 3],
                    "subject": f"Paginatest gesprek {i:02d}",
                    "notes": "Uitgebreid verslag over de kade en het dok. " * 12,
                    "date": today - dt.timedelta(days=3 + i * 5)}, actor=admin)
            db.session.commit()
            org_id = org.id
        db.session.remove()
    return org_id


def _no_violations(page, name: str) -> None:
    page.wait_for_load_state("load")
    screenshot(page, name)
    assert axe_violations(page) == [], name


def test_summary_header_and_sections_in_the_first_screen(user_page, kade):
    page = user_page
    page.goto(f"/organisations/{kade}")
    page.screenshot(path=str(screenshot(page, "organisation-page-full").with_name(
        "organisation-page-first-screen.png")))  # what the first screen shows
    header = page.locator(".app-org-summary")
    expect(header.get_by_role("heading", level=1, name=NAME)).to_be_in_viewport()
    expect(header.get_by_text("Enige kadebouwer met een eigen dok")).to_be_in_viewport()
    expect(header.get_by_text("Rik Regio")).to_be_in_viewport()
    expect(header.get_by_text("Laatste contact")).to_be_in_viewport()
    for action in ("Contactmoment vastleggen", "Taak toevoegen", "Signaal delen"):
        expect(header.get_by_role("link", name=action)).to_be_in_viewport()
    # The timeline starts in the first screen; its entries show the start of their notes.
    expect(page.get_by_role("heading", level=2, name="Tijdlijn")).to_be_in_viewport()
    expect(page.locator(".app-timeline__item").first).to_be_in_viewport()
    expect(page.locator(".app-timeline__preview").first).to_contain_text(
        "Uitgebreid verslag over de kade")
    _no_violations(page, "organisation-page")
    # Every section is one click away, from anywhere on the page (the menu stays in view).
    menu = page.get_by_role("navigation", name="Onderdelen van deze pagina")
    menu.get_by_role("link", name="Gegevens").click()
    expect(page.get_by_role("heading", level=2, name="Gegevens")).to_be_in_viewport()
    expect(menu).to_be_in_viewport()
    menu.get_by_role("link", name="Accountteam").click()
    expect(page.get_by_role("heading", level=2, name="Accountteam")).to_be_in_viewport()
    menu.get_by_role("link", name="Tijdlijn").click()
    expect(page.get_by_role("heading", level=2, name="Tijdlijn")).to_be_in_viewport()


def test_timeline_filter_without_javascript_round_trip(user_page, kade):
    page = user_page
    page.goto(f"/organisations/{kade}")
    page.get_by_text("Filteren op soort contact en periode").click()
    page.get_by_label("Soort contact").select_option("call")
    page.get_by_role("button", name="Filteren").click()
    page.wait_for_load_state()
    assert "type=call" in page.url and page.url.endswith("#tijdlijn")
    timeline = page.locator(".app-timeline")
    expect(timeline.get_by_text("Telefoongesprek").first).to_be_visible()
    expect(timeline.get_by_text("Bedrijfsbezoek")).to_have_count(0)


def test_logging_a_contact_moment_lands_on_the_timeline_with_the_message_in_view(user_page, kade):
    page = user_page
    page.goto(f"/organisations/{kade}")
    page.locator(".app-org-summary").get_by_role("link", name="Contactmoment vastleggen").click()
    page.wait_for_load_state()
    assert "/interactions/new" in page.url
    expect(page.locator("#organisation")).to_have_value(f"{NAME} (KvK 74000101)")
    _no_violations(page, "contact-moment-form")
    page.get_by_label("Soort contact").select_option("call")
    page.get_by_label("Onderwerp").fill("Browsertest: kade verlengen")
    page.get_by_label("Verslag").fill("Zij willen de kade met tachtig meter verlengen.")
    page.get_by_label("Karel Kade, Directeur").check()
    page.get_by_label("Wat moet er gebeuren?").fill("Vergunning nagaan")
    page.get_by_role("button", name="Opslaan", exact=True).last.click()
    page.wait_for_load_state()
    assert re.search(rf"/organisations/{kade}#tijdlijn$", page.url), page.url
    message = page.get_by_role("status").filter(
        has_text=f"Het contactmoment met {NAME} is vastgelegd.")
    expect(message).to_be_in_viewport()
    expect(page.get_by_role("link", name="Browsertest: kade verlengen")).to_be_in_viewport()
    expect(page.get_by_text("Zij willen de kade met tachtig meter verlengen.")).to_be_visible()
    _no_violations(page, "organisation-page-after-logging")


def test_old_visit_address_opens_the_one_form_with_visit_preset(user_page, kade):
    page = user_page
    page.goto(f"/interactions/visit?organisation_id={kade}")
    assert "/interactions/new" in page.url
    expect(page.get_by_label("Soort contact")).to_have_value("visit")
    expect(page.get_by_label("Karel Kade, Directeur")).to_be_visible()
    expect(page.get_by_label("Wat moet er gebeuren?")).to_be_visible()


def test_organisation_suggestions_are_chosen_by_mouse_and_keyboard(user_page, kade):
    page = user_page
    page.goto("/interactions/new")
    box = page.locator("#organisation")
    box.click()
    box.press_sequentially("Kadewerf Pagina", delay=20)
    listbox = page.get_by_role("listbox")
    option = listbox.get_by_role("option", name=re.compile(re.escape(TWIN)))
    expect(option).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    _no_violations(page, "organisation-suggestions")
    option.click()
    expect(box).to_have_value(f"{TWIN} (KvK 74000102)")
    expect(listbox).to_be_hidden()
    # The keyboard: arrow down to the first suggestion, Enter takes it (and does not submit).
    box.fill("")
    box.press_sequentially("Kadewerf Paginatest B", delay=20)
    expect(listbox.get_by_role("option").first).to_be_visible()
    box.press("ArrowDown")
    expect(listbox.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(box).to_have_value(f"{NAME} (KvK 74000101)")
    assert "/interactions/new" in page.url
    expect(page.locator(".utrecht-alert--error")).to_have_count(0)


def test_the_page_and_the_form_reflow_at_320_px(phone_page, kade):
    page = phone_page
    page.set_viewport_size({"width": 320, "height": 800})
    for address in (f"/organisations/{kade}", f"/interactions/new?organisation_id={kade}"):
        page.goto(address)
        page.wait_for_load_state("load")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, (address, width)
    # On a phone the summary header still starts the page and the section menu is not sticky
    # (it would take a third of the screen).
    page.goto(f"/organisations/{kade}")
    page.screenshot(path=str(screenshot(page, "organisation-page-320-full").with_name(
        "organisation-page-320-first-screen.png")))
    expect(page.locator(".app-org-summary").get_by_role("heading", level=1)).to_be_in_viewport()
    expect(page.get_by_role("link", name="Contactmoment vastleggen").first).to_be_in_viewport()
    assert page.locator(".app-section-nav").evaluate("e => getComputedStyle(e).position") != "sticky"
