"""The global search, list totals, notifications as links and the Signalen badge (issue 14
points 2 and 10), in real Chromium with CSRF on.

``zoekvogel`` seeds what these tests need (KvK numbers 72xxxxxx, names with "Zoekvogel"): three
organisations in Dordrecht, a contact moment about one of them, and a lead about it shared by
the regional account manager with Dordrecht — so the local account manager of Dordrecht gets a
notification and a lead waiting in the Signalen menu item.
"""

from __future__ import annotations

import re

import pytest
from browser_support import axe_violations, screenshot
from playwright.sync_api import expect

NAMES = ("Zoekvogel Zeilmakerij B.V.", "Zoekvogel Touwslagerij B.V.", "Zoekvogel Blokmakerij B.V.")
SUBJECT = "Zoekvogel overleg over de werf"
LEAD_TITLE = "Zoekvogel zoekt een grotere hal"


@pytest.fixture(scope="module")
def zoekvogel(live_server):
    import datetime as dt

    import sqlalchemy as sa

    from sdd_crm.auth.models import User
    from sdd_crm.extensions import db
    from sdd_crm.interactions.services import create_interaction
    from sdd_crm.leads.models import Lead
    from sdd_crm.leads.services import share_lead
    from sdd_crm.organisations.models import Organisation
    from sdd_crm.organisations.services import create_organisation

    with live_server.app.app_context():
        ids = dict(db.session.execute(sa.select(Organisation.name, Organisation.id)
                                      .where(Organisation.name.in_(NAMES))).all())
        if len(ids) < len(NAMES):
            admin = db.session.scalar(sa.select(User).where(User.email == "beheer@example.nl"))
            regional = db.session.scalar(sa.select(User).where(User.email == "regio@example.nl"))
            for i, name in enumerate(NAMES):
                org = create_organisation({"name": name, "org_type": "company",
                                           "city": "Dordrecht", "kvk_number": f"7200010{i}"},
                                          actor=admin)
                ids[name] = org.id
            create_interaction({"organisation_id": ids[NAMES[0]], "type": "visit",
                                "subject": SUBJECT, "notes": "Verslag",
                                "date": dt.date.today() - dt.timedelta(days=2)}, actor=regional)
            share_lead({"organisation_id": ids[NAMES[0]], "type": "expansion",
                        "title": LEAD_TITLE, "shared_with": "municipality",
                        "shared_with_municipality": "GM0505"}, actor=regional)
            db.session.commit()
        lead_id = db.session.scalar(sa.select(Lead.id).where(Lead.title == LEAD_TITLE))
        db.session.remove()
    return {"orgs": ids, "lead": lead_id}


def _focused_id(tab) -> str:
    return tab.evaluate("document.activeElement && document.activeElement.id")


def test_slash_focuses_the_search_field_but_not_while_typing(user_page, zoekvogel):
    user_page.goto("/organisations/")
    assert _focused_id(user_page) != "global-search-q"
    user_page.keyboard.press("/")
    assert _focused_id(user_page) == "global-search-q"
    # In another field "/" is just a character.
    field = user_page.locator("main").get_by_role("searchbox").or_(
        user_page.locator("main input[name=q]")).first
    field.focus()
    user_page.keyboard.type("a/b")
    assert field.input_value() == "a/b"
    assert _focused_id(user_page) != "global-search-q"


def test_search_groups_results_with_counts_and_is_keyboard_navigable(user_page, zoekvogel):
    user_page.goto("/")
    user_page.keyboard.press("/")
    user_page.keyboard.type("zoekvogel")
    user_page.keyboard.press("Enter")
    user_page.wait_for_url(re.compile(r"/search\?q=zoekvogel"))
    main = user_page.locator("main")
    expect(main.get_by_role("heading", level=2, name="Organisaties (3)")).to_be_visible()
    expect(main.get_by_role("heading", level=2, name="Contactmomenten (1)")).to_be_visible()
    expect(main.get_by_role("heading", level=2, name="Signalen (1)")).to_be_visible()
    expect(main.get_by_role("link", name=SUBJECT)).to_be_visible()
    screenshot(user_page, "search-results")
    assert axe_violations(user_page) == []

    # Keyboard alone: Tab from the top of the content to the first organisation, Enter opens it.
    target = NAMES[2]  # sorted by name: Blokmakerij first
    user_page.locator("main").focus()
    for _ in range(40):
        user_page.keyboard.press("Tab")
        if user_page.evaluate("document.activeElement.textContent.trim()") == target:
            break
    else:
        pytest.fail(f"Tab never reached {target}")
    user_page.keyboard.press("Enter")
    user_page.wait_for_url(re.compile(rf"/organisations/{zoekvogel['orgs'][target]}$"))
    expect(user_page.get_by_role("heading", level=1)).to_contain_text(target)


def test_a_viewer_finds_organisations_but_no_contact_moments_or_leads(role_page, zoekvogel):
    tab = role_page("viewer")
    tab.goto("/search?q=zoekvogel")
    main = tab.locator("main")
    expect(main.get_by_role("heading", level=2, name="Organisaties (3)")).to_be_visible()
    assert main.get_by_role("heading", level=2, name=re.compile("Contactmomenten")).count() == 0
    assert main.get_by_role("heading", level=2, name=re.compile("Signalen")).count() == 0
    body = tab.content()
    assert SUBJECT not in body and LEAD_TITLE not in body
    assert tab.goto("/search?q=zoekvogel&kind=leads").status == 403


def test_list_pages_show_their_total(user_page, live_server, zoekvogel):
    import sqlalchemy as sa

    from sdd_crm.extensions import db
    from sdd_crm.organisations.models import Organisation

    user_page.goto("/organisations/?q=zoekvogel")
    expect(user_page.locator("main .app-list-total")).to_have_text("3 organisaties")
    with live_server.app.app_context():
        live = db.session.scalar(sa.select(sa.func.count()).select_from(Organisation).where(
            Organisation.deleted_at.is_(None), Organisation.merged_into_id.is_(None)))
        db.session.remove()
    user_page.goto("/organisations/")
    total = user_page.locator("main .app-list-total")
    expect(total).to_have_attribute("data-list-total", str(live))
    user_page.goto("/interactions/?q=zoekvogel")
    expect(user_page.locator("main .app-list-total")).to_have_text("1 contactmoment")


def _badge(tab):
    return tab.locator("nav a[href='/leads/'] .app-nav__badge")


def test_a_notification_opens_what_it_is_about(role_page, zoekvogel):
    tab = role_page("local")
    tab.goto("/notifications/")
    link = tab.locator("main").get_by_role("link", name=re.compile(LEAD_TITLE))
    expect(link.first).to_be_visible()
    href = link.first.get_attribute("href")
    assert re.fullmatch(r"/notifications/\d+/open", href)
    link.first.click()
    tab.wait_for_url(re.compile(rf"/leads/{zoekvogel['lead']}$"))
    expect(tab.get_by_role("heading", level=1)).to_contain_text(LEAD_TITLE)
    # Marked read: back on the list it is no longer unread.
    tab.goto("/notifications/")
    item = tab.locator("main li", has=tab.locator(f"a[href='{href}']"))
    expect(item).not_to_contain_text("Ongelezen")


def test_the_signalen_badge_counts_the_leads_waiting_and_drops_when_one_is_moved_on(
        role_page, zoekvogel):
    tab = role_page("local")
    tab.goto("/")
    badge = _badge(tab)
    expect(badge).to_be_visible()
    before = int(badge.inner_text())
    assert before >= 1
    spoken = tab.locator("nav a[href='/leads/'] .visually-hidden").inner_text()
    assert re.search(rf"\b{before} signa(al wacht|len wachten) op u", spoken), spoken
    screenshot(tab, "signalen-badge")

    tab.goto(f"/leads/{zoekvogel['lead']}")
    tab.locator("main").get_by_role("button", name="Accepteren").click()
    tab.wait_for_load_state()
    after = _badge(tab)
    if before == 1:
        expect(after).to_have_count(0)
    else:
        expect(after).to_have_text(str(before - 1))


def test_the_results_page_reads_well_in_axe_when_empty(user_page):
    user_page.goto("/search?q=qqqzzzxx")
    expect(user_page.locator("main")).to_contain_text("Niets gevonden")
    assert axe_violations(user_page) == []
    user_page.goto("/search")
    assert axe_violations(user_page) == []


def test_the_results_page_reflows_at_320_px(role_page, zoekvogel):
    tab = role_page("regional", 320, 800)
    tab.goto("/search?q=zoekvogel")
    expect(tab.locator("main").get_by_role("heading", level=2, name="Organisaties (3)")).to_be_visible()
    screenshot(tab, "search-results-320")
    widths = tab.evaluate("({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert widths["scroll"] <= 320, widths
