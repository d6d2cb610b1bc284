"""Imports a user can trust (issue 14 point 7), in real Chromium as the (two-factor) admin: a row
in Breda is imported with a warning, the preview says what *would* happen, the result links to
the organisations it created and updated, and the import is undone — the new organisations gone,
a field edited in between kept and shown as a conflict. Every page passes axe-core."""

from __future__ import annotations

import re

import pytest
from browser_support import axe_violations, screenshot
from playwright.sync_api import expect

from import_support import csv_bytes

JOB_URL = re.compile(r"/jobs/[0-9a-f-]{36}$")
HEADERS = ["Handelsnaam", "KvK-nummer", "Plaats", "Werkzame personen"]
ROWS = [
    ["Trouwwerf Bestaand B.V.", "76100001", "Dordrecht", "40"],      # updated: 5 → 40
    ["Trouwwerf Nieuw Dordrecht B.V.", "76100002", "Dordrecht", "12"],  # created
    ["Trouwwerf Leverancier Breda B.V.", "76100003", "Breda", "8"],     # created, with a warning
]


@pytest.fixture(scope="module")
def existing(live_server):
    """An organisation the import will update (names and KvK numbers of this test only)."""
    from sdd_crm.auth.models import User
    from sdd_crm.extensions import db
    from sdd_crm.organisations.services import create_organisation

    with live_server.app.app_context():
        admin = db.session.get(User, live_server.users["admin"][0])
        org = create_organisation({"name": "Trouwwerf Bestaand B.V.", "org_type": "company",
                                   "kvk_number": "76100001", "city": "Dordrecht",
                                   "employees": 5}, actor=admin)
        db.session.commit()
        org_id = org.id
        db.session.remove()
    return org_id


def _check(page, name: str) -> None:
    page.wait_for_load_state("load")
    screenshot(page, name)
    violations = axe_violations(page)
    assert violations == [], f"{name}: {violations}"


def _edit_in_between(live_server, org_id: int) -> None:
    """The regional account manager changes the employees after the import (as the edit form
    would, audited in their name)."""
    from flask import g

    from sdd_crm.auth.models import User
    from sdd_crm.extensions import db
    from sdd_crm.organisations.models import Organisation
    from sdd_crm.organisations.services import update_organisation

    with live_server.app.app_context():
        regional = db.session.get(User, live_server.users["regional"][0])
        g.audit_user_id = regional.id
        update_organisation(db.session.get(Organisation, org_id), {"employees": 77},
                            actor=regional, partial=True)
        db.session.commit()
        db.session.remove()


def test_import_warns_previews_links_and_is_undone(role_page, live_server, existing, tmp_path):
    page = role_page("admin")
    path = tmp_path / "trouw-import.csv"
    path.write_bytes(csv_bytes(HEADERS, ROWS))

    page.goto("/imports/")
    page.get_by_label("Organisaties (bijvoorbeeld een KvK-export of een lijst uit Excel)").check()
    page.get_by_label("Bestand", exact=True).set_input_files(str(path))
    page.get_by_role("button", name="Uploaden en kolommen koppelen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kolommen koppelen")
    page.get_by_role("button", name="Voorbeeld bekijken").click()
    expect(page).to_have_url(JOB_URL)

    # The preview: what would happen, and the Breda row's warning.
    expect(page.get_by_role("heading", name="Resultaat van het voorbeeld")).to_be_visible(
        timeout=30_000)
    summary = page.locator("section[aria-labelledby=import-summary] dl")
    expect(summary).to_contain_text("Zou worden aangemaakt2")
    expect(summary).to_contain_text("Zou worden bijgewerkt1")
    expect(summary).not_to_contain_text("Nieuw aangemaakt")
    expect(page.locator("[data-job-field=message]")).to_contain_text("Zou worden aangemaakt: 2")
    warning = page.locator("table[data-summary=warnings] tbody tr")
    expect(warning).to_have_count(1)
    expect(warning).to_contain_text("Breda ligt buiten de regio Drechtsteden; de gemeente is leeg "
                                    "gelaten.")
    expect(warning).to_contain_text("Plaats")
    _check(page, "import-trust-preview")

    page.get_by_role("button", name="Nu importeren").click()
    expect(page.get_by_role("heading", name="Resultaat van de import")).to_be_visible(
        timeout=30_000)
    run_url = page.url
    expect(page.locator("table[data-summary=warnings] tbody tr")).to_contain_text("Breda")
    created = page.locator("[data-import-links=created]")
    expect(created.get_by_role("link")).to_have_count(2)
    expect(created.get_by_role("link", name="Trouwwerf Leverancier Breda B.V.")).to_be_visible()
    updated = page.locator("[data-import-links=updated]")
    expect(updated.get_by_role("link")).to_have_count(1)
    _check(page, "import-trust-result")

    updated.get_by_role("link", name="Trouwwerf Bestaand B.V.").click()
    expect(page).to_have_url(re.compile(rf"/organisations/{existing}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Trouwwerf Bestaand B.V.")

    _edit_in_between(live_server, existing)

    page.goto(run_url)
    page.get_by_role("link", name="Deze import ongedaan maken").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import ongedaan maken")
    expect(page.get_by_text("2 organisaties die deze import aanmaakte worden verwijderd")
           ).to_be_visible()
    _check(page, "import-trust-undo-confirm")
    page.get_by_role("button", name="Import ongedaan maken").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Import ongedaan gemaakt")
    expect(page.get_by_text("De import is ongedaan gemaakt.")).to_be_visible()
    expect(page.locator("[data-undo=deleted]")).to_have_text("2")
    conflict = page.locator("[data-undo-conflicts] tbody tr")
    expect(conflict).to_have_count(1)
    expect(conflict.locator("td")).to_have_text(["Trouwwerf Bestaand B.V.", "Werkzame personen",
                                                 "5", "40", "77", re.compile("^Rik Regio, ")])
    _check(page, "import-trust-undone")

    # The organisations it created are gone; the edited one keeps the value set in between.
    page.goto("/organisations/?q=Trouwwerf")
    listing = page.locator("main")
    expect(listing.get_by_role("link", name="Trouwwerf Bestaand B.V.")).to_be_visible()
    expect(listing.get_by_role("link", name="Trouwwerf Nieuw Dordrecht B.V.")).to_have_count(0)
    expect(listing.get_by_role("link", name="Trouwwerf Leverancier Breda B.V.")).to_have_count(0)

    # Undone once: the job page says so, and offers no second undo.
    page.goto(run_url)
    expect(page.get_by_text(re.compile("Deze import is ongedaan gemaakt op"))).to_be_visible()
    expect(page.get_by_role("link", name="Deze import ongedaan maken")).to_have_count(0)
    created = page.locator("[data-import-links=created]")
    expect(created.get_by_role("link")).to_have_count(0)
    expect(created).to_contain_text("(verwijderd)")
