"""Helpers for the browser tests: signing in, screenshots, axe-core."""

from __future__ import annotations

import os
import re
from pathlib import Path

CHROMIUM = os.environ.get("SDD_CRM_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying to reach outside hosts.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--no-first-run", "--disable-quic",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct horse battery staple"
# The seeded admin's unused recovery codes (filled by conftest's seed; each works once).
ADMIN_RECOVERY_CODES: list[str] = []
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(password)
    page.locator("main").get_by_role("button").click()
    page.wait_for_load_state()
    if "/login/code" in page.url:  # an account with two-factor authentication (the admin)
        second_factor(page)


def second_factor(page, code: str | None = None) -> None:
    """Answer the code step with ``code``, or the seeded admin's next recovery code."""
    page.get_by_label("Code", exact=True).fill(code or ADMIN_RECOVERY_CODES.pop())
    page.locator("main").get_by_role("button", name=re.compile("Inloggen|Sign in")).click()
    page.wait_for_load_state()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page) -> list[dict]:
    """WCAG 2.1 A/AA violations that axe-core finds on the page, in a readable form."""
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page, options=WCAG)
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result.response["violations"]
    ]
