"""Usable on a phone (no sideways page scroll) and with the keyboard alone."""

from __future__ import annotations

import pytest
from browser_support import screenshot
from playwright.sync_api import expect

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.mark.parametrize("path,name", [("/", "phone-dashboard"), ("/organisations/", "phone-organisations"),
                                       ("/organisations/new", "phone-organisation-new"),
                                       ("/contacts/", "phone-contacts")])
def test_no_horizontal_page_scroll_on_a_phone(phone_page, live_server, path, name):
    resp = phone_page.goto(path)
    assert resp.status == 200
    phone_page.wait_for_load_state("load")
    screenshot(phone_page, name)
    widths = phone_page.evaluate(
        "({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert phone_page.evaluate(NO_SIDEWAYS_SCROLL), f"{path}: page is {widths['scroll']}px wide " \
                                                    f"on a {widths['inner']}px screen"


def test_phone_organisation_detail(phone_page, live_server):
    phone_page.goto(f"/organisations/{live_server.orgs['first']}")
    screenshot(phone_page, "phone-organisation-detail")
    assert phone_page.evaluate(NO_SIDEWAYS_SCROLL)


def test_the_login_page_fits_a_phone(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 375, "height": 812})
    try:
        tab = context.new_page()
        tab.goto("/login")
        screenshot(tab, "phone-login")
        assert tab.evaluate(NO_SIDEWAYS_SCROLL)
    finally:
        context.close()


def test_tab_reaches_the_skip_link_first_and_it_moves_focus_to_main(user_page):
    user_page.goto("/organisations/")
    user_page.keyboard.press("Tab")
    focused = user_page.evaluate(
        "({text: document.activeElement.textContent.trim(), href: document.activeElement.getAttribute('href')})")
    assert focused == {"text": "Naar de inhoud", "href": "#main"}
    skip = user_page.get_by_role("link", name="Naar de inhoud")
    # Hidden until focused, then visible on screen.
    box = skip.bounding_box()
    assert box and box["width"] > 1 and box["height"] > 1
    expect(skip).to_be_in_viewport()
    screenshot(user_page, "skip-link-focused")

    user_page.keyboard.press("Enter")
    assert user_page.evaluate("document.activeElement.id") == "main"
    # The next Tab continues inside the content, not back in the header.
    user_page.keyboard.press("Tab")
    assert user_page.evaluate("document.querySelector('main').contains(document.activeElement)")


def test_the_login_form_works_with_the_keyboard_alone(page, live_server):
    page.goto("/login")
    page.keyboard.press("Tab")  # skip link
    page.keyboard.press("Enter")  # to main
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "email"
    page.keyboard.type(live_server.users["regional"][1])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type("correct horse battery staple")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welkom, Rik Regio")


def test_focus_is_visible_on_links_and_buttons(user_page):
    user_page.goto("/")
    user_page.keyboard.press("Tab")
    user_page.keyboard.press("Tab")  # past the skip link: the logo link in the header
    outline = user_page.evaluate("""() => {
        const s = getComputedStyle(document.activeElement);
        return {style: s.outlineStyle, width: parseFloat(s.outlineWidth), shadow: s.boxShadow};
    }""")
    assert (outline["style"] != "none" and outline["width"] >= 2) or outline["shadow"] != "none", outline
