"""axe-core finds no WCAG 2.1 A/AA violations; the NL Design System styles really load.

Every page checked here is also saved as a screenshot in test-artifacts/.
"""

from __future__ import annotations

import pytest
from browser_support import axe_violations, screenshot
from playwright.sync_api import expect


def _check(page, name: str) -> None:
    page.wait_for_load_state("load")
    screenshot(page, name)
    violations = axe_violations(page)
    assert violations == [], f"{name}: {violations}"


def test_login_page(page):
    page.goto("/login")
    _check(page, "login")


def test_login_page_with_errors(page):
    page.goto("/login")
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_text("Dit veld is vereist.").first).to_be_visible()
    expect(page.get_by_label("E-mailadres")).to_have_attribute("aria-invalid", "true")
    _check(page, "login-errors")


def test_dashboard(user_page):
    user_page.goto("/")
    _check(user_page, "dashboard-a11y")


def test_not_found_page(user_page):
    user_page.goto("/organisations/999999")
    expect(user_page.get_by_role("heading", level=1)).to_contain_text("404")
    _check(user_page, "not-found")


def test_organisation_list(user_page):
    resp = user_page.goto("/organisations/")
    assert resp.status == 200
    expect(user_page.get_by_role("link", name="Scheepswerf Drechtsteden 01 B.V.")).to_be_visible()
    _check(user_page, "organisations")


def test_organisation_list_search_and_filter(user_page):
    resp = user_page.goto("/organisations/?q=scheeps&municipality=GM0505")
    assert resp.status == 200
    _check(user_page, "organisations-filtered")


def test_organisation_detail(user_page, live_server):
    resp = user_page.goto(f"/organisations/{live_server.orgs['first']}")
    assert resp.status == 200
    expect(user_page.get_by_role("heading", level=1)).to_contain_text("Scheepswerf Drechtsteden 01")
    _check(user_page, "organisation-detail")


def test_new_organisation_form(user_page):
    resp = user_page.goto("/organisations/new")
    assert resp.status == 200
    _check(user_page, "organisation-new")


def test_new_organisation_form_with_errors(user_page):
    user_page.goto("/organisations/new")
    user_page.get_by_label("KvK-nummer").fill("123")
    user_page.get_by_label("Postcode").fill("99999")
    user_page.locator("main form.utrecht-form button[type=submit]").last.click()
    expect(user_page.get_by_role("alert").first).to_be_visible()
    # The form is kept: what was typed is still there.
    expect(user_page.get_by_label("KvK-nummer")).to_have_value("123")
    _check(user_page, "organisation-new-errors")


def test_contact_list(user_page):
    resp = user_page.goto("/contacts/")
    assert resp.status == 200
    _check(user_page, "contacts")


@pytest.mark.parametrize("tab,path", [("page", "/login"), ("user_page", "/")])
def test_the_nl_design_system_styles_load(request, tab, path):
    """The Utrecht CSS and the voorbeeld theme (copied from npm by `make assets`) are applied."""
    page = request.getfixturevalue(tab)
    page.goto(path)
    sheets = page.evaluate("""() => [...document.styleSheets].map(s => {
        let rules = 0; try { rules = s.cssRules.length } catch (e) { rules = -1 }
        return {href: s.href, rules};
    })""")
    loaded = {s["href"].rsplit("/", 1)[-1]: s["rules"] for s in sheets if s["href"]}
    assert loaded.get("utrecht.css", 0) > 100, loaded
    assert loaded.get("voorbeeld-theme.css", 0) > 0, loaded
    # The theme's tokens reach the page, and the shipped Noto Sans is the font in use.
    token = page.evaluate("getComputedStyle(document.documentElement)"
                          ".getPropertyValue('--basis-text-font-family-default')")
    assert "Noto Sans" in token, token
    assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith('"Noto Sans"')
    assert page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily").startswith('"Noto Sans"')
    assert page.evaluate("""document.fonts.ready.then(fonts => [...fonts].some(
        f => f.family.replace(/"/g, '') === 'Noto Sans' && f.status === 'loaded'))""")
    # Utrecht's button styles apply: the primary button is themed, not the browser's grey.
    button = page.locator("main button[type=submit], .app-header button").first
    bg = button.evaluate("b => getComputedStyle(b).backgroundColor")
    assert bg != "rgb(239, 239, 239)", bg
    assert button.evaluate("b => getComputedStyle(b).minHeight") not in ("auto", "0px")
