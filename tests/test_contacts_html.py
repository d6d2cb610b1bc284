"""Contact persons in the browser: list, detail with GDPR fields, create from an organisation,
edit with the version, soft delete, bad input, and every role (viewers never see personal data)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from html_helpers import (
    ROLES,
    assert_good_markup,
    build_region,
    field_error,
    form_fields,
    input_value,
    text,
)
from sdd_crm.contacts.models import Contact
from sdd_crm.contacts.services import update_contact
from sdd_crm.extensions import db
from sdd_crm.organisations.services import delete_organisation

EDIT_ALL = {"admin", "regional_account_manager", "business_developer"}


@pytest.fixture
def region(make_user, make_org):
    return build_region(make_user, make_org)


def contact_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Contact))


def fresh(contact_id) -> Contact:
    db.session.expire_all()
    return db.session.get(Contact, contact_id)


def test_list_search_and_pagination(app, client, login, region, make_contact, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    for n in range(3):
        make_contact(region.dordrecht, first_name="Anna", last_name=f"Bakker {n}")
    make_contact(region.sliedrecht, first_name="Kees", last_name="Visser", email="kees@bagger.nl")
    login(region.users["business_developer"])
    resp = client.get("/contacts/")
    assert resp.status_code == 200
    assert_good_markup(resp)
    page = text(resp)
    assert "Anna Bakker 0" in page and "Anna Bakker 1" in page and "Visser" not in page
    assert "Dordtse Scheepswerf B.V." in page
    found = text(client.get("/contacts/?q=bagger"))  # organisation name or e-mail
    assert "Kees Visser" in found and "Anna Bakker" not in found
    first = text(client.get("/contacts/?q=bakker"))
    # The next page is found by a cursor (keyset pagination); ?page=2 alone works as well.
    next_link = re.search(r'rel="next" href="(/contacts/\?q=bakker&cursor=[^"&]+&page=2)"',
                          first).group(1)
    for url in (next_link, "/contacts/?q=bakker&page=2"):
        second = text(client.get(url))
        assert "Anna Bakker 2" in second and "Anna Bakker 0" not in second
        assert 'rel="prev"' in second and "Pagina 2" in second
    by_org = text(client.get(f"/contacts/?organisation_id={region.sliedrecht.id}"))
    assert "Kees Visser" in by_org and "Anna Bakker" not in by_org


def test_detail_shows_gdpr_fields(client, login, region, make_contact):
    # The source is recorded by the system (who entered it); an objecting person is shown to
    # admins only (GDPR art. 21: no further processing).
    c = make_contact(region.dordrecht, actor=region.users["local_account_manager"],
                     first_name="Anna", last_name="de Vries", function="CFO",
                     phone="078-1234567", lawful_basis="consent", consent_date="2025-03-14",
                     objection=True, review_due="2027-03-14", preferred_language="en")
    login(region.users["admin"])
    resp = client.get(f"/contacts/{c.id}")
    assert resp.status_code == 200
    page = text(resp)
    source = f"Ingevoerd door {region.users['local_account_manager'].name}"
    for expected in ("Anna de Vries", "CFO", "+31781234567", "Toestemming", "14 mrt. 2025",
                     source, "Bezwaar tegen verwerking</dt><dd>ja", "14 mrt. 2027",
                     "Engels", "Dordtse Scheepswerf B.V."):
        assert expected in page, expected
    assert_good_markup(resp)
    assert f'href="/contacts/{c.id}/edit"' in page


def test_create_from_organisation_page(client, login, region):
    org = region.dordrecht
    login(region.users["local_account_manager"])
    resp = client.get(f"/contacts/new?organisation_id={org.id}")
    assert resp.status_code == 200
    assert "Dordtse Scheepswerf B.V." in text(resp)
    assert_good_markup(resp)
    form = form_fields(resp, "/contacts/new")
    resp = client.post(f"/contacts/new?organisation_id={org.id}", data={
        **form, "first_name": "Piet", "last_name": "Jansen", "email": "Piet@Werf.NL",
        "phone": "078-1234567", "mobile": "06-12345678"})
    assert resp.status_code == 302
    c = db.session.scalar(sa.select(Contact).where(Contact.last_name == "Jansen"))
    assert resp.headers["Location"].endswith(f"/contacts/{c.id}")
    assert (c.organisation_id, c.phone, c.mobile) == (org.id, "+31781234567", "+31612345678")
    assert c.lawful_basis == "public_task" and c.objection is False
    assert c.source == f"gebruiker:{region.users['local_account_manager'].email}"
    assert c.review_due > dt.date.today() + dt.timedelta(days=700)
    assert "Contactpersoon Piet Jansen is toegevoegd." in text(client.get(resp.headers["Location"]))
    assert "Piet Jansen" in text(client.get(f"/organisations/{org.id}"))


def test_create_needs_an_organisation(client, login, region):
    login(region.users["admin"])
    resp = client.get("/contacts/new")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/organisations/")
    assert client.get("/contacts/new?organisation_id=987654").status_code == 404
    assert client.get("/contacts/new?organisation_id=abc").status_code == 302


BAD_INPUT = [
    ({"last_name": ""}, "last_name", "Vul de achternaam in."),
    ({"last_name": "x" * 5000}, "last_name", "Hoogstens 150 tekens."),
    ({"email": "geen-adres"}, "email", "Vul een geldig e-mailadres in."),
    ({"phone": "12"}, "phone", "Vul een geldig telefoonnummer in, zoals 078-1234567."),
    ({"lawful_basis": "consent", "consent_date": ""}, "consent_date",
     "Bij toestemming hoort de datum waarop die is gegeven."),
    ({"review_due": "morgen"}, "review_due", "Vul een geldige datum in, bijvoorbeeld 6-12-2026."),
    ({"preferred_language": "xx"}, "preferred_language", "Kies een taal."),
    ({"notes": "x" * 2001}, "notes", "Hoogstens 2000 tekens."),
]


@pytest.mark.parametrize("bad, field, message", BAD_INPUT, ids=[b[1] for b in BAD_INPUT])
def test_create_refuses_bad_input(client, login, region, bad, field, message):
    login(region.users["regional_account_manager"])
    before = contact_count()
    url = f"/contacts/new?organisation_id={region.dordrecht.id}"
    resp = client.post(url, data={"first_name": "Els", "last_name": "Smit", **bad})
    assert resp.status_code == 422
    assert field_error(resp, field) == message
    assert input_value(resp, "first_name") == "Els"  # the form is kept
    assert contact_count() == before


@pytest.mark.parametrize("bad, field, message", BAD_INPUT, ids=[b[1] for b in BAD_INPUT])
def test_edit_refuses_bad_input(client, login, region, make_contact, bad, field, message):
    c = make_contact(region.dordrecht, first_name="Els", last_name="Smit")
    login(region.users["regional_account_manager"])
    form = form_fields(client.get(f"/contacts/{c.id}/edit"), "/edit")
    resp = client.post(f"/contacts/{c.id}/edit", data={**form, "function": "Inkoper", **bad})
    assert resp.status_code == 422
    assert field_error(resp, field) == message
    assert input_value(resp, "function") == "Inkoper"
    after = fresh(c.id)
    assert (after.last_name, after.function, after.version) == ("Smit", None, 1)


def test_edit_saves_and_detects_conflicts(client, login, region, make_contact):
    c = make_contact(region.dordrecht, first_name="Els", last_name="Smit")
    login(region.users["business_developer"])
    form = form_fields(client.get(f"/contacts/{c.id}/edit"), "/edit")
    assert form["version"] == "1" and form["last_name"] == "Smit"
    update_contact(fresh(c.id), {"function": "Directeur"}, actor=region.users["admin"],
                   partial=True)
    db.session.commit()
    resp = client.post(f"/contacts/{c.id}/edit", data={**form, "last_name": "Smit-de Wit"})
    assert resp.status_code == 409
    assert "Iemand anders heeft deze contactpersoon intussen gewijzigd." in text(resp)
    assert input_value(resp, "last_name") == "Smit-de Wit"
    assert fresh(c.id).last_name == "Smit"
    again = form_fields(resp, "/edit")
    resp = client.post(f"/contacts/{c.id}/edit", data={
        **again, "lawful_basis": "consent", "consent_date": "2025-01-31", "objection": "y"})
    assert resp.status_code == 302
    saved = fresh(c.id)
    assert (saved.last_name, saved.lawful_basis, saved.consent_date, saved.objection) == (
        "Smit-de Wit", "consent", dt.date(2025, 1, 31), True)


def test_soft_delete_contact(client, login, region, make_contact):
    c = make_contact(region.dordrecht, first_name="Els", last_name="Smit")
    login(region.users["local_account_manager"])
    confirm = client.get(f"/contacts/{c.id}/delete")
    assert confirm.status_code == 200 and "Els Smit" in text(confirm)
    resp = client.post(f"/contacts/{c.id}/delete", data=form_fields(confirm, "/delete"))
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/organisations/{region.dordrecht.id}")
    org_page = text(client.get(resp.headers["Location"]))
    assert "Contactpersoon Els Smit is verwijderd." in org_page  # the flash message
    assert ">Els Smit</a>" not in org_page
    assert fresh(c.id).deleted_at is not None
    assert client.get(f"/contacts/{c.id}").status_code == 404
    assert ">Els Smit</a>" not in text(client.get("/contacts/"))


def may_edit(role, place):
    return role in EDIT_ALL or (role == "local_account_manager" and place == "dordrecht")


@pytest.mark.parametrize("role", ROLES)
def test_contact_routes_per_role(role, client, login, region, make_org, make_contact):
    contacts = {"dordrecht": make_contact(region.dordrecht), "sliedrecht": make_contact(region.sliedrecht)}
    closed = make_org(name="Gesloten B.V.", city="Dordrecht")
    hidden = make_contact(closed)
    delete_organisation(closed, actor=region.users["admin"])  # its contacts go with it
    db.session.commit()
    viewer = role == "viewer"
    rows = {("GET", "/contacts/"): 403 if viewer else 200,
            ("GET", "/contacts/?q=jan&page=2"): 403 if viewer else 200,
            ("GET", "/contacts/987654"): 403 if viewer else 404,
            ("GET", f"/contacts/{hidden.id}"): 403 if viewer else 404,
            ("GET", f"/contacts/{hidden.id}/edit"): 403 if viewer else 404,
            ("GET", f"/contacts/new?organisation_id={closed.id}"): 403 if viewer else 404}
    for place, c in contacts.items():
        org_id = region.dordrecht.id if place == "dordrecht" else region.sliedrecht.id
        edit = 403 if viewer or not may_edit(role, place) else 200
        rows.update({
            ("GET", f"/contacts/{c.id}"): 403 if viewer else 200,
            ("GET", f"/contacts/{c.id}/edit"): edit,
            ("GET", f"/contacts/{c.id}/delete"): edit,
            ("GET", f"/contacts/new?organisation_id={org_id}"): edit,
            ("POST", f"/contacts/new?organisation_id={org_id}"): 302 if edit == 200 else 403,
            ("POST", f"/contacts/{c.id}/edit"): 302 if edit == 200 else 403,
            ("POST", f"/contacts/{c.id}/delete"): 302 if edit == 200 else 403,
        })
    login(region.users[role])
    before = contact_count()
    wrong = []
    versions = {f"/contacts/{c.id}/edit": str(c.version) for c in contacts.values()}
    for (method, url), expected in rows.items():
        data = {"last_name": f"Nieuw {role}", "version": versions.get(url, "")} \
            if method == "POST" else None
        resp = client.open(url, method=method, data=data)
        if resp.status_code != expected:
            wrong.append(f"{method} {url}: {resp.status_code}, expected {expected}")
    assert not wrong, "\n".join(wrong)
    created = sum(1 for (m, u), e in rows.items() if m == "POST" and "/new" in u and e == 302)
    assert contact_count() == before + created
    for place, c in contacts.items():
        expected_deleted = not viewer and may_edit(role, place)
        assert (fresh(c.id).deleted_at is not None) == expected_deleted


def test_viewer_sees_no_contact_link_in_menu(client, login, region):
    login(region.users["viewer"])
    assert 'href="/contacts/"' not in client.get("/organisations/").get_data(as_text=True)


@pytest.mark.parametrize("method, path", [
    ("GET", "/contacts/"), ("GET", "/contacts/{id}"), ("GET", "/contacts/new?organisation_id=1"),
    ("POST", "/contacts/new?organisation_id=1"), ("GET", "/contacts/{id}/edit"),
    ("POST", "/contacts/{id}/edit"), ("GET", "/contacts/{id}/delete"),
    ("POST", "/contacts/{id}/delete"),
])
def test_anonymous_is_sent_to_login(client, region, make_contact, method, path):
    c = make_contact(region.dordrecht)
    resp = client.open(path.format(id=c.id), method=method, data={"last_name": "x"})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert fresh(c.id).deleted_at is None
