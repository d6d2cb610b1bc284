"""Creating, editing and deleting organisations in the browser: normalisation, Dutch messages,
the form kept on error, nothing saved, and two people editing the same record."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from html_helpers import assert_good_markup, build_region, field_error, form_fields, input_value, text
from sdd_crm.audit.models import AuditEvent
from sdd_crm.extensions import db
from sdd_crm.organisations.models import Organisation
from sdd_crm.organisations.services import update_organisation


@pytest.fixture
def region(make_user, make_org):
    return build_region(make_user, make_org)


def shows(resp, field, message) -> bool:
    """The field's error is ``message``; a ``…`` in it stands for any text (wording of a
    message that names another record may vary)."""
    shown = field_error(resp, field)
    if "…" not in message:
        return shown == message
    head, tail = message.split("…", 1)
    return shown.startswith(head) and tail in shown


def org_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Organisation))


def audit_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))


def fresh(org_id) -> Organisation:
    db.session.expire_all()
    return db.session.get(Organisation, org_id)


VALID = {"name": "Nieuwe Werf B.V.", "org_type": "company", "status": "active",
         "city": "Dordrecht"}


def test_create_form_is_labelled_and_empty(client, login, region):
    login(region.users["business_developer"])
    resp = client.get("/organisations/new")
    assert resp.status_code == 200
    page = text(resp)
    assert "Organisatie toevoegen" in page and "— volgt uit de plaats —" in page
    assert 'name="version"' in page
    assert_good_markup(resp)


def test_create_normalises_postcode_phone_and_derives_municipality(client, login, region):
    login(region.users["regional_account_manager"])
    resp = client.post("/organisations/new", data={
        **VALID, "name": "Heerjansdamse Techniek", "street": "Dorpsstraat 1", "postcode": "3312cd",
        "city": "Heerjansdam", "municipality": "", "phone": "078-1234567",
        "kvk_number": "1234.5678", "employees": "1.250", "annual_turnover_eur": "1.250.000,50",
        "sbi_codes": "3011, 28.22", "tags": "scale, haven, scale", "email": "Info@Techniek.NL",
        "establishment_number": "0000 1234 5678"})
    assert resp.status_code == 302
    org = db.session.scalar(sa.select(Organisation).where(Organisation.name == "Heerjansdamse Techniek"))
    assert resp.headers["Location"].endswith(f"/organisations/{org.id}")
    assert org.postcode == "3312 CD"
    assert org.phone == "+31781234567"
    assert org.municipality_code == "GM0642"  # Heerjansdam lies in Zwijndrecht
    assert org.kvk_number == "12345678" and org.employees == 1250
    assert str(org.annual_turnover_eur) == "1250000.50"
    assert [(s.code, s.version, s.is_main) for s in org.sbi_codes] == [
        ("3011", "2008", True), ("28.22", "2025", False)]
    assert [t.name for t in org.tags] == ["haven", "scale"]
    assert org.size_class == "large"
    assert [e.establishment_number for e in org.establishments] == ["000012345678"]
    page = text(client.get(resp.headers["Location"]))
    assert "Organisatie Heerjansdamse Techniek is toegevoegd." in page  # the flash message
    assert "Zwijndrecht" in page


def test_municipality_chosen_wins_over_place(client, login, region):
    login(region.users["admin"])
    client.post("/organisations/new", data={**VALID, "city": "Dordrecht", "municipality": "GM0610"})
    org = db.session.scalar(sa.select(Organisation).where(Organisation.name == VALID["name"]))
    assert org.municipality_code == "GM0610"


BAD_INPUT = [
    ({"name": ""}, "name", "Vul de naam van de organisatie in."),
    ({"name": "x" * 5000}, "name", "Hoogstens 200 tekens."),
    ({"kvk_number": "1234"}, "kvk_number", "Een KvK-nummer bestaat uit 8 cijfers."),
    ({"kvk_number": "3333 4444"}, "kvk_number",
     "Dit KvK-nummer is al geregistreerd …Sliedrechtse Baggeraars B.V."),
    ({"postcode": "12345"}, "postcode", "Vul een geldige Nederlandse postcode in, zoals 3311 AB."),
    ({"phone": "12"}, "phone", "Vul een geldig telefoonnummer in, zoals 078-1234567."),
    ({"email": "geen-adres"}, "email", "Vul een geldig e-mailadres in."),
    ({"establishment_number": "1234"}, "establishment_number",
     "Een vestigingsnummer bestaat uit 12 cijfers."),
    ({"employees": "veel"}, "employees", "Vul een heel getal in."),
    ({"annual_turnover_eur": "heel veel"}, "annual_turnover_eur",
     "Vul een bedrag in euro in, zoals 1250000 of 1.250.000,00."),
    ({"municipality": "GM9999"}, "municipality",
     "Onbekende gemeente; gebruik de CBS-code, zoals GM0505."),
    ({"sbi_codes": "30x11"}, "sbi_codes", "Ongeldige SBI-code: 30x11."),
    ({"parent_id": "999999"}, "parent_id", "Kies een bestaande organisatie."),
    ({"description": "x" * 5001}, "description", "Hoogstens 5000 tekens."),
    ({"org_type": "bank"}, "org_type", "Kies een geldig type organisatie."),
]


@pytest.mark.parametrize("bad, field, message", BAD_INPUT, ids=[b[1] + "-" + b[2][:20] for b in BAD_INPUT])
def test_create_refuses_bad_input(client, login, region, bad, field, message):
    login(region.users["regional_account_manager"])
    before, audits = org_count(), audit_count()
    data = {**VALID, "street": "Kade 7", **bad}
    resp = client.post("/organisations/new", data=data)
    assert resp.status_code == 422
    assert shows(resp, field, message), field_error(resp, field)
    assert "Het formulier is niet opgeslagen." in text(resp)
    assert org_count() == before and audit_count() == audits  # nothing saved
    assert input_value(resp, "street") == "Kade 7"  # the user's input is kept
    if field not in ("description", "municipality", "org_type"):
        assert input_value(resp, field) == bad[field]
    assert_good_markup(resp)


@pytest.mark.parametrize("bad, field, message", BAD_INPUT, ids=[b[1] + "-" + b[2][:20] for b in BAD_INPUT])
def test_edit_refuses_bad_input(client, login, region, bad, field, message):
    org = region.dordrecht
    login(region.users["local_account_manager"])
    form = form_fields(client.get(f"/organisations/{org.id}/edit"), "/edit")
    audits = audit_count()
    resp = client.post(f"/organisations/{org.id}/edit", data={**form, "street": "Kade 7", **bad})
    assert resp.status_code == 422
    assert shows(resp, field, message), field_error(resp, field)
    assert input_value(resp, "street") == "Kade 7"
    after = fresh(org.id)
    assert (after.name, after.street, after.version) == ("Dordtse Scheepswerf B.V.", None, 1)
    assert audit_count() == audits


def test_all_messages_shown_at_once(client, login, region):
    """A too-long name (the form's check) does not hide a bad KvK number (the service's)."""
    login(region.users["admin"])
    resp = client.post("/organisations/new", data={**VALID, "name": "x" * 5000,
                                                   "kvk_number": "1234", "phone": "12"})
    assert resp.status_code == 422
    assert field_error(resp, "name") == "Hoogstens 200 tekens."
    assert field_error(resp, "kvk_number") == "Een KvK-nummer bestaat uit 8 cijfers."
    assert field_error(resp, "phone").startswith("Vul een geldig telefoonnummer in")


def test_local_manager_cannot_create_in_other_municipality(client, login, region):
    login(region.users["local_account_manager"])
    before = org_count()
    resp = client.post("/organisations/new", data={**VALID, "city": "Sliedrecht"})
    assert resp.status_code == 422
    assert field_error(resp, "municipality") == \
        "U kunt alleen organisaties in uw eigen gemeente toevoegen."
    assert org_count() == before
    assert client.post("/organisations/new", data=VALID).status_code == 302  # own municipality


def test_edit_prefills_and_saves(client, login, region, make_org):
    org = make_org(name="Oude Naam B.V.", city="Dordrecht", annual_turnover_eur="1250000.50",
                   sbi_codes="3011, 28.22", tags="haven", employees=12,
                   establishment_number="000012345678")
    version = org.version
    login(region.users["regional_account_manager"])
    resp = client.get(f"/organisations/{org.id}/edit")
    assert resp.status_code == 200
    assert_good_markup(resp)
    form = form_fields(resp, "/edit")
    assert form["annual_turnover_eur"] == "1250000,50" and form["sbi_codes"] == "3011, 28.22"
    assert form["tags"] == "haven" and form["version"] == str(version)
    assert form["municipality"] == "GM0505"
    assert form["establishment_number"] == "000012345678" and form["employees"] == "12"
    # Saving the form unchanged changes nothing.
    assert client.post(f"/organisations/{org.id}/edit", data=form).status_code == 302
    same = fresh(org.id)
    assert same.version == version and str(same.annual_turnover_eur) == "1250000.50"
    resp = client.post(f"/organisations/{org.id}/edit", data={**form, "name": "Nieuwe Naam B.V.",
                                                               "postcode": "3312cd"})
    assert resp.status_code == 302
    saved = fresh(org.id)
    assert (saved.name, saved.postcode, saved.version) == ("Nieuwe Naam B.V.", "3312 CD",
                                                           version + 1)
    assert "De wijzigingen in Nieuwe Naam B.V. zijn opgeslagen." in text(client.get(resp.headers["Location"]))


def test_stale_version_gets_conflict_and_keeps_input(client, login, region):
    org = region.dordrecht
    login(region.users["regional_account_manager"])
    form = form_fields(client.get(f"/organisations/{org.id}/edit"), "/edit")
    # Meanwhile a colleague saves a change.
    update_organisation(fresh(org.id), {"employees": 99}, actor=region.users["admin"],
                        expected_version=1, partial=True)
    db.session.commit()
    resp = client.post(f"/organisations/{org.id}/edit", data={**form, "name": "Mijn Naam B.V."})
    assert resp.status_code == 409
    assert "Iemand anders heeft deze organisatie intussen gewijzigd." in text(resp)
    assert input_value(resp, "name") == "Mijn Naam B.V."  # the user's input is kept
    current = fresh(org.id)
    assert (current.name, current.employees, current.version) == ("Dordtse Scheepswerf B.V.", 99, 2)
    # The re-rendered form carries the current version: saving again overwrites knowingly.
    again = form_fields(resp, "/edit")
    assert again["version"] == "2"
    assert client.post(f"/organisations/{org.id}/edit", data=again).status_code == 302
    assert fresh(org.id).name == "Mijn Naam B.V."


def test_bad_version_is_a_form_level_message(client, login, region):
    login(region.users["admin"])
    form = form_fields(client.get(f"/organisations/{region.dordrecht.id}/edit"), "/edit")
    resp = client.post(f"/organisations/{region.dordrecht.id}/edit", data={**form, "version": "x"})
    assert resp.status_code == 422
    alert = text(resp).split('utrecht-alert--error', 1)[1].split("</div>", 2)[0]
    assert "Ongeldige versie." in alert
    assert fresh(region.dordrecht.id).version == 1


def test_soft_delete_with_confirmation(client, login, region):
    org = region.sliedrecht
    login(region.users["business_developer"])
    confirm = client.get(f"/organisations/{org.id}/delete")
    assert confirm.status_code == 200
    assert "Weet u zeker dat u Sliedrechtse Baggeraars B.V. wilt verwijderen?" in text(confirm)
    assert fresh(org.id).deleted_at is None  # a GET deletes nothing
    resp = client.post(f"/organisations/{org.id}/delete", data=form_fields(confirm, "/delete"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/organisations/")
    listing = text(client.get("/organisations/"))
    assert "Organisatie Sliedrechtse Baggeraars B.V. is verwijderd." in listing
    assert "Sliedrechtse Baggeraars B.V.</a>" not in listing
    gone = fresh(org.id)
    assert gone.deleted_at is not None and gone.deleted_by_id == region.users["business_developer"].id
    assert client.get(f"/organisations/{org.id}").status_code == 404
    # The KvK number stays taken by the deleted record (an admin can restore it).
    resp = client.post("/organisations/new", data={**VALID, "kvk_number": "33334444"})
    assert resp.status_code == 422
    assert "verwijderde organisatie" in field_error(resp, "kvk_number")


def test_delete_with_stale_version_is_refused(client, login, region):
    org = region.dordrecht
    login(region.users["admin"])
    confirm = form_fields(client.get(f"/organisations/{org.id}/delete"), "/delete")
    update_organisation(fresh(org.id), {"employees": 5}, actor=region.users["admin"], partial=True)
    db.session.commit()
    resp = client.post(f"/organisations/{org.id}/delete", data=confirm)
    assert resp.status_code == 409
    assert "Iemand anders heeft deze organisatie intussen gewijzigd." in text(resp)
    assert fresh(org.id).deleted_at is None


def test_every_form_carries_a_csrf_token(app, client, login, region, make_contact, monkeypatch):
    """With CSRF protection on (as in production) every form posts its token; without it, 400."""
    org = region.dordrecht
    contact = make_contact(org)
    login(region.users["admin"])
    client.post(f"/organisations/{org.id}/team", data={
        "user_id": region.users["regional_account_manager"].id, "team_role": "strategic"})
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    pages = {
        "/organisations/new": "/organisations/new",
        f"/organisations/{org.id}/edit": "/edit",
        f"/organisations/{org.id}/delete": "/delete",
        f"/organisations/{org.id}": "/team",
        f"/organisations/{org.id}#remove": "/remove",
        f"/contacts/new?organisation_id={org.id}": "/contacts/new",
        f"/contacts/{contact.id}/edit": "/edit",
        f"/contacts/{contact.id}/delete": "/delete",
    }
    for url, action in pages.items():
        assert form_fields(client.get(url.split("#")[0]), action).get("csrf_token"), url
    form = form_fields(client.get(f"/organisations/{org.id}/edit"), "/edit")
    without = {k: v for k, v in form.items() if k != "csrf_token"}
    resp = client.post(f"/organisations/{org.id}/edit", data={**without, "name": "Zonder Token"})
    assert resp.status_code == 400
    assert fresh(org.id).name == "Dordtse Scheepswerf B.V."
    resp = client.post(f"/organisations/{org.id}/edit", data={**form, "name": "Met Token"})
    assert resp.status_code == 302 and fresh(org.id).name == "Met Token"


def test_an_edit_without_its_version_is_treated_as_a_conflict(client, login, make_user, make_org):
    """A POST that does not say which version it edits cannot be checked for a lost update: the
    form comes back (409) with the stored version filled in, and nothing is saved."""
    admin = make_user("admin")
    org = make_org(name="Werf Versie", employees=10, actor=admin)
    login(admin)
    data = form_fields(client.get(f"/organisations/{org.id}/edit"), "/edit")
    assert data.pop("version") == str(org.version)
    resp = client.post(f"/organisations/{org.id}/edit", data={**data, "employees": "99"})
    assert resp.status_code == 409
    assert "intussen gewijzigd" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(org), org.id).employees == 10
