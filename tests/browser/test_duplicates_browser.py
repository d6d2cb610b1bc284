"""'Geen dubbel' in real Chromium, with CSRF on: the list of likely duplicates, the comparison
page and the admins' list of marked pairs have no WCAG 2.1 A/AA violations (axe-core), and a
pair marked from the list is gone at once and back at once when the mark is undone.

``twins`` adds one pair of look-alikes (at a postcode of their own, named to sort after the
seeded organisations) to the live server's database.
"""

from __future__ import annotations

import pytest
from browser_support import axe_violations, screenshot, sign_in
from playwright.sync_api import expect

NAMES = ("Zuiderwerf Browsertest B.V.", "Zuiderwerf Browsertest")


@pytest.fixture(scope="module")
def twins(live_server):
    import sqlalchemy as sa

    from sdd_crm.auth.models import User
    from sdd_crm.extensions import db
    from sdd_crm.organisations.models import Organisation
    from sdd_crm.organisations.services import create_organisation

    with live_server.app.app_context():
        ids = db.session.scalars(sa.select(Organisation.id).where(Organisation.name.in_(NAMES))
                                 .order_by(Organisation.id)).all()
        if not ids:
            admin = db.session.scalar(sa.select(User).where(User.email == "beheer@example.nl"))
            a = create_organisation({"name": NAMES[0], "org_type": "company", "city": "Dordrecht",
                                     "kvk_number": "79999999", "postcode": "3328 ZZ"}, actor=admin)
            b = create_organisation({"name": NAMES[1], "org_type": "company", "city": "Dordrecht",
                                     "postcode": "3328 ZZ"}, actor=admin)
            db.session.commit()
            ids = [a.id, b.id]
        db.session.remove()
    return ids


@pytest.fixture
def admin_page(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900},
                                   locale="nl-NL")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    sign_in(tab, live_server.users["admin"][1])
    yield tab
    context.close()


def _check(page, name: str) -> None:
    page.wait_for_load_state("load")
    screenshot(page, name)
    assert axe_violations(page) == [], name


def test_mark_and_undo_in_the_browser(admin_page, twins):
    page = admin_page
    a_id, b_id = twins
    page.goto("/imports/duplicates")
    page.locator("form[action='/imports/duplicates/search'] button").click()
    compare = page.locator(f"a[href='/imports/duplicates/{a_id}/{b_id}']")
    expect(compare).to_be_visible()
    _check(page, "duplicates-list")

    row_form = page.locator(f"form[action='/imports/duplicates/{a_id}/{b_id}/dismiss']")
    row_form.get_by_label("Notitie").fill("Werf en ontwerpbureau")
    row_form.get_by_role("button", name="Geen dubbel").click()
    expect(page.get_by_text(f"{NAMES[0]} en {NAMES[1]} zijn gemarkeerd als geen dubbel")).to_be_visible()
    expect(compare).to_have_count(0)

    page.get_by_role("link", name="Paren gemarkeerd als geen dubbel").click()
    expect(page.get_by_role("cell", name="Werf en ontwerpbureau")).to_be_visible()
    _check(page, "duplicates-dismissed")

    page.goto(f"/imports/duplicates/{a_id}/{b_id}")
    expect(page.get_by_text("gemarkeerd als geen dubbel.").first).to_be_visible()
    _check(page, "duplicates-compare-dismissed")
    page.locator("main").get_by_role("button", name="Ongedaan maken").click()
    expect(page.get_by_role("heading", name="Geen dubbel?")).to_be_visible()
    _check(page, "duplicates-compare")

    page.goto("/imports/duplicates")
    expect(compare).to_be_visible()
