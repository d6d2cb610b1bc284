"""Two-factor authentication as an administrator meets it in Chromium (issue 11 point 5): an
admin without it is sent to set it up and can reach nothing else; the set-up page shows the QR
code and the key in text; the first code switches it on and shows the recovery codes once; the
next sign-in asks for a code after the password. Every page of the journey is axe-clean."""

from __future__ import annotations

import re

import pyotp
from browser_support import PASSWORD, axe_violations, screenshot, sign_in
from playwright.sync_api import expect


def _new_admin(live_server) -> str:
    from sdd_crm.auth.services import create_user
    from sdd_crm.extensions import db

    with live_server.app.app_context():
        create_user(email="nieuwe.beheerder@example.nl", name="Nina Nieuw", role="admin",
                    password=PASSWORD)
        db.session.commit()
        db.session.remove()
    return "nieuwe.beheerder@example.nl"


def _clean(page, name: str) -> None:
    page.wait_for_load_state("load")
    screenshot(page, name)
    assert axe_violations(page) == [], name


def test_an_admin_sets_up_two_factor_and_then_signs_in_with_a_code(page, live_server):
    email = _new_admin(live_server)
    sign_in(page, email)
    # Required for the role: the set-up page, and nothing else until it is done.
    expect(page.get_by_role("heading", level=1)).to_have_text("Tweestapsverificatie instellen")
    expect(page.get_by_text("Voor uw rol is tweestapsverificatie verplicht")).to_be_visible()
    page.goto("/organisations/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tweestapsverificatie instellen")
    _clean(page, "two-factor-required")

    page.get_by_role("button", name="Tweestapsverificatie instellen").click()
    expect(page.get_by_role("img", name=re.compile("QR-code"))).to_be_visible()
    _clean(page, "two-factor-setup")
    # Someone who cannot scan types the key in: read it from the page as they would.
    secret = page.locator("code.app-token").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)

    page.get_by_label("Code uit de app").fill("000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="Bevestigen en aanzetten").click()
    expect(page.get_by_text("Deze code is onjuist of al gebruikt.").first).to_be_visible()
    _clean(page, "two-factor-wrong-code")

    page.get_by_label("Code uit de app").fill(totp.now())
    page.get_by_role("button", name="Bevestigen en aanzetten").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw herstelcodes")
    codes = page.locator("ol.app-recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10
    _clean(page, "two-factor-recovery-codes")

    page.get_by_role("button", name="Uitloggen").click()
    expect(page).to_have_url(re.compile(r"/login"))

    # The next sign-in: password, then the code step; a recovery code works once.
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.locator("main").get_by_role("button").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Code invoeren")
    _clean(page, "two-factor-code-step")
    page.get_by_label("Code", exact=True).fill(codes[0])
    page.locator("main").get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welkom, Nina Nieuw")
