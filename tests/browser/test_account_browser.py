"""Account self-service in Chromium (issue 14 point 8): the account page opened from the user's
name in the header; a password change (the wrong old password first, then the right one), signing
out and in with the new one; the language on the account page and the one chosen on the login
page; the notification preferences; "forgot password" from the login page to the e-mail (caught
by a real SMTP server in the test) to the new password and back in. Every page is axe-clean.

Own users (…@g.example.nl): the seeded users' passwords stay as other tests expect them.
"""

from __future__ import annotations

import email
import re
import socket
import time
from email import policy

import pytest
from browser_support import PASSWORD, axe_violations, screenshot, sign_in
from playwright.sync_api import expect

NEW_PASSWORD = "paarse olifant danst langzaam"
RESET_PASSWORD = "zeven groene kikkers zingen zacht"
USERS = {
    "password": ("greta.wachtwoord@g.example.nl", "Greta Wachtwoord"),
    "language": ("gerrit.taal@g.example.nl", "Gerrit Taal"),
    "login_language": ("gina.inlogtaal@g.example.nl", "Gina Inlogtaal"),
    "preferences": ("guus.meldingen@g.example.nl", "Guus Meldingen"),
    "forgot": ("gonny.vergeten@g.example.nl", "Gonny Vergeten"),
}


@pytest.fixture(scope="module")
def g_users(live_server):
    from sdd_crm.auth.services import create_user
    from sdd_crm.extensions import db

    with live_server.app.app_context():
        for address, name in USERS.values():
            create_user(email=address, name=name, role="regional_account_manager",
                        password=PASSWORD)
        db.session.commit()
        db.session.remove()
    return {key: address for key, (address, _name) in USERS.items()}


def _user(live_server, address: str):
    from sdd_crm.auth.services import get_user_by_email
    from sdd_crm.extensions import db

    with live_server.app.app_context():
        user = get_user_by_email(address)
        values = (user.locale, user.notify_in_app, user.notify_email, user.notify_digest)
        db.session.remove()
    return values


class Inbox:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def wait_for(self, address: str, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.messages if m["To"] == address]
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no e-mail to {address}")


@pytest.fixture
def mail(live_server):
    """The live server with mail configured (its own address as BASE_URL, so the link in the
    e-mail opens in this browser) and an SMTP server that keeps what it gets."""
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    config = live_server.app.config
    saved = {k: config.get(k) for k in ("MAIL_SERVER", "MAIL_PORT", "BASE_URL", "MAIL_FROM")}
    config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, BASE_URL=live_server.url,
                  MAIL_FROM="crm@g.example.nl")
    try:
        yield inbox
    finally:
        config.update(saved)
        controller.stop()


def _clean(page, name: str) -> None:
    page.wait_for_load_state("load")
    screenshot(page, name)
    assert axe_violations(page) == [], name


def _open_account(page) -> None:
    page.locator("header").get_by_role("link", name=re.compile("mijn account|my account")).click()
    expect(page).to_have_url(re.compile(r"/account$"))


def test_change_the_password_from_the_account_page(page, live_server, g_users):
    address = g_users["password"]
    sign_in(page, address)
    link = page.locator("header").get_by_role("link", name=re.compile("Greta Wachtwoord"))
    expect(link).to_be_visible()
    _open_account(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Mijn account")
    expect(link).to_have_attribute("aria-current", "page")
    # The two-factor settings are reached from here.
    expect(page.get_by_role("link", name="Tweestapsverificatie instellen")).to_be_visible()
    _clean(page, "account-page")

    form = page.locator("form", has=page.get_by_label("Huidig wachtwoord"))
    form.get_by_label("Huidig wachtwoord").fill("dit is het niet")
    form.get_by_label("Nieuw wachtwoord", exact=True).fill(NEW_PASSWORD)
    form.get_by_label("Nieuw wachtwoord (nogmaals)").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Wachtwoord wijzigen").click()
    expect(page.locator("#current_password-error")).to_have_text(
        "Het huidige wachtwoord klopt niet.")
    expect(page.get_by_text("Het formulier is niet opgeslagen.")).to_be_visible()
    _clean(page, "account-wrong-password")

    form = page.locator("form", has=page.get_by_label("Huidig wachtwoord"))
    form.get_by_label("Huidig wachtwoord").fill(PASSWORD)
    form.get_by_label("Nieuw wachtwoord", exact=True).fill(NEW_PASSWORD)
    form.get_by_label("Nieuw wachtwoord (nogmaals)").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Wachtwoord wijzigen").click()
    expect(page.get_by_text("Uw wachtwoord is gewijzigd.")).to_be_visible()

    page.locator("header").get_by_role("button", name="Uitloggen").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    sign_in(page, address, PASSWORD)  # the old one no longer works
    expect(page.get_by_text("Onbekend e-mailadres of onjuist wachtwoord.")).to_be_visible()
    sign_in(page, address, NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("header a.app-user")).to_contain_text("Greta Wachtwoord")


def test_the_language_on_the_account_page_and_from_the_login_page(page, live_server, g_users):
    sign_in(page, g_users["language"])
    _open_account(page)
    page.get_by_label("Taal van de schermen en e-mails").select_option("en")
    page.get_by_role("button", name="Taal opslaan").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("header").get_by_role("button", name="Sign out")).to_be_visible()
    assert _user(live_server, g_users["language"])[0] == "en"
    _clean(page, "account-english")

    # Chosen on the login page, before signing in: kept into the account.
    page.locator("header").get_by_role("button", name="Sign out").click()
    page.context.clear_cookies()
    page.goto("/login")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    page.locator("header").get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator("#email").fill(g_users["login_language"])
    page.locator("#password").fill(PASSWORD)
    page.locator("main").get_by_role("button").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    _open_account(page)
    expect(page.locator("#language-locale")).to_have_value("en")
    assert _user(live_server, g_users["login_language"])[0] == "en"


def test_set_the_notification_preferences(page, live_server, g_users):
    sign_in(page, g_users["preferences"])
    _open_account(page)
    in_app = page.get_by_label(re.compile("^In de app"))
    digest = page.get_by_label(re.compile("^Eén e-mail per dag"))
    expect(in_app).to_be_checked()
    expect(digest).not_to_be_checked()
    page.get_by_label("Per e-mail, bij elke melding").uncheck()
    digest.check()
    page.get_by_role("button", name="Voorkeuren opslaan").click()
    expect(page.get_by_text("Uw voorkeuren voor meldingen zijn opgeslagen.")).to_be_visible()
    expect(page.get_by_label(re.compile("^Eén e-mail per dag"))).to_be_checked()
    expect(page.get_by_label("Per e-mail, bij elke melding")).not_to_be_checked()
    assert _user(live_server, g_users["preferences"])[1:] == (True, False, True)
    _clean(page, "account-preferences")


def test_forgot_password_by_email_end_to_end(page, live_server, g_users, mail):
    address = g_users["forgot"]
    page.goto("/login")
    page.get_by_role("link", name="Wachtwoord vergeten?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Wachtwoord vergeten")
    _clean(page, "forgot-password")
    page.get_by_label("E-mailadres").fill(address)
    page.get_by_role("button", name="Stuur mij een link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Controleer uw e-mail")
    _clean(page, "forgot-password-sent")

    body = mail.wait_for(address).get_content()
    link = re.search(r"(http://127\.0\.0\.1:\d+/password/reset\?token=[\w-]+)", body).group(1)
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/password/reset$"))  # the token left the address bar
    expect(page.get_by_role("heading", level=1)).to_have_text("Nieuw wachtwoord instellen")
    _clean(page, "reset-password")
    page.get_by_label("Nieuw wachtwoord", exact=True).fill("Welkom2026!!")
    page.get_by_label("Nieuw wachtwoord (nogmaals)").fill("Welkom2026!!")
    page.get_by_role("button", name="Wachtwoord instellen").click()
    expect(page.locator("#new_password-error")).to_contain_text("veelgebruikt woord")
    _clean(page, "reset-password-weak")
    page.get_by_label("Nieuw wachtwoord", exact=True).fill(RESET_PASSWORD)
    page.get_by_label("Nieuw wachtwoord (nogmaals)").fill(RESET_PASSWORD)
    page.get_by_role("button", name="Wachtwoord instellen").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("Log in met uw nieuwe wachtwoord.")).to_be_visible()

    # The link works once.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Deze link werkt niet")
    _clean(page, "reset-link-used")

    sign_in(page, address, RESET_PASSWORD)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("header a.app-user")).to_contain_text("Gonny Vergeten")


def test_no_forgot_password_link_without_mail(page, live_server):
    page.goto("/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen")
    expect(page.get_by_role("link", name="Wachtwoord vergeten?")).to_have_count(0)


def test_the_account_page_on_a_phone(role_page):
    """At 320 CSS px the account page reflows, and the name in the folded menu still leads there."""
    page = role_page("regional", width=320, height=800)
    page.goto("/")
    menu = page.locator("header").get_by_role("button", name=re.compile("^Menu"))
    if menu.count() and menu.is_visible():
        menu.click()
    _open_account(page)
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    _clean(page, "account-phone")
