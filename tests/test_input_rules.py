"""Input rules that hold on every path (issue 10 points 2 and 6): one Dutch number parser
(forms, services, imports), no control characters in any text input (a form error, 422, the
form kept; a row error in an import), and the bugs found while reading — each on SQLite and
PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import decimal
import importlib
import json
import pkgutil

import pytest
import sqlalchemy as sa

import sdd_crm
from html_helpers import build_region, field_error, form_fields, input_value, text
from import_support import KVK_HEADERS, counts, csv_bytes, kvk_row, org_by_kvk, run_import
from sdd_crm.exceptions import PermissionDenied, ValidationError
from sdd_crm.extensions import db
from sdd_crm.numbers import NumberError, parse_amount, parse_integer
from sdd_crm.organisations.models import Organisation
from sdd_crm.organisations.services import create_organisation, update_organisation
from sdd_crm.validation import control_characters_error, has_control_characters

BAD_TEXT = "De tekst bevat ongeldige tekens."
FRACTION = ("Vul een heel getal in, zonder cijfers achter de komma; een punt scheidt "
            "duizendtallen, zoals in 1.250.")
SELECTS = {"org_type": "company", "status": "active"}


@pytest.fixture
def region(make_user, make_org):
    return build_region(make_user, make_org)


def org_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Organisation))


# --- numbers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("typed,expected", [
    ("12", 12), ("1.250", 1250), ("1.250.000", 1_250_000), (" 1 250 ", 1250), ("12,0", 12),
    (40, 40), (40.0, 40), (decimal.Decimal("7"), 7),
])
def test_whole_numbers_in_dutch(app, typed, expected):
    with app.test_request_context():
        assert parse_integer(typed) == expected


@pytest.mark.parametrize("typed", ["12.5", "12,5", "1.25.000", 1.5, decimal.Decimal("2.5")])
def test_a_fraction_of_a_person_is_refused_with_one_message(app, typed):
    with app.test_request_context(), pytest.raises(NumberError) as exc:
        parse_integer(typed)
    assert (exc.value.kind, str(exc.value)) == ("fraction", FRACTION)


@pytest.mark.parametrize("typed", ["veel", "1e6", ",5", "5,", "٣", "0x10", "", True, None, [1]])
def test_what_is_no_whole_number(app, typed):
    with app.test_request_context(), pytest.raises(NumberError) as exc:
        parse_integer(typed)
    assert str(exc.value) == "Vul een heel getal in."


@pytest.mark.parametrize("typed,expected", [
    ("€ 1.250.000,-", "1250000.00"), ("1.250.000,00", "1250000.00"), ("1250000", "1250000.00"),
    ("1250000,5", "1250000.50"), ("1250000.50", "1250000.50"), ("1.250", "1250.00"),
    ("EUR 1 250 000", "1250000.00"), (2_500_000, "2500000.00"), ("0,-", "0.00"),
])
def test_amounts_in_euros(app, typed, expected):
    with app.test_request_context():
        assert parse_amount(typed) == decimal.Decimal(expected)


@pytest.mark.parametrize("typed", ["heel veel", "1,2,3", "1.250,000.5", "1.2.3", "€", True])
def test_what_is_no_amount(app, typed):
    with app.test_request_context(), pytest.raises(NumberError):
        parse_amount(typed)


def test_the_service_no_longer_reads_12_point_5_as_125(make_user):
    admin = make_user("admin")
    with pytest.raises(ValidationError) as exc:
        create_organisation({"name": "Punt", "employees": "12.5"}, actor=admin)
    assert exc.value.errors == {"employees": FRACTION}
    with pytest.raises(ValidationError) as exc:
        create_organisation({"name": "Komma", "employees": "12,5"}, actor=admin)
    assert exc.value.errors == {"employees": FRACTION}
    org = create_organisation({"name": "Duizend", "employees": "1.250",
                               "annual_turnover_eur": "€ 1.250.000,-",
                               "balance_sheet_total_eur": "1250000.50"}, actor=admin)
    assert (org.employees, org.annual_turnover_eur, org.balance_sheet_total_eur) == (
        1250, decimal.Decimal("1250000.00"), decimal.Decimal("1250000.50"))


def test_the_html_form_refuses_12_point_5_employees_and_keeps_the_form(client, login, region):
    login(region.users["regional_account_manager"])
    before = org_count()
    resp = client.post("/organisations/new", data={"name": "Halve Werf", "city": "Dordrecht",
                                                   "employees": "12.5", **SELECTS})
    assert resp.status_code == 422
    assert field_error(resp, "employees") == FRACTION
    assert input_value(resp, "name") == "Halve Werf" and input_value(resp, "employees") == "12.5"
    assert org_count() == before
    resp = client.post("/organisations/new", data={"name": "Hele Werf", "city": "Dordrecht",
                                                   "employees": "1.250",
                                                   "annual_turnover_eur": "1.250.000,00",
                                                   **SELECTS})
    assert resp.status_code == 302
    org = db.session.scalar(sa.select(Organisation).where(Organisation.name == "Hele Werf"))
    assert (org.employees, org.annual_turnover_eur) == (1250, decimal.Decimal("1250000.00"))


def test_an_import_reads_numbers_with_the_same_parser():
    summary = run_import(csv_bytes(KVK_HEADERS, [
        kvk_row("Punt", "12345678", employees="12.5"),
        kvk_row("Duizend", "23456789", employees="1.250", turnover="€ 1.250.000,-"),
    ]))
    assert [(e["row"], e["column"], e["message"]) for e in summary["errors"]] == [
        (2, "Werkzame personen", FRACTION)]
    org = org_by_kvk("23456789")
    assert (org.employees, org.annual_turnover_eur) == (1250, decimal.Decimal("1250000.00"))


# --- control characters ----------------------------------------------------------------------

def test_the_check_itself(app):
    assert has_control_characters("Werf\x00") and has_control_characters("a\x1bb")
    assert has_control_characters("a\x85b") and has_control_characters("a\ud800b")
    assert not has_control_characters("Regel 1\nRegel 2\ttab\r\n")
    assert has_control_characters("Regel 1\nRegel 2", multiline=False)
    assert not has_control_characters("Café ‘Ëlan’ € – ok") and not has_control_characters(None)
    with app.test_request_context():
        assert control_characters_error("x\x00") == BAD_TEXT
        assert control_characters_error("x") is None


@pytest.mark.parametrize("name", ["Werf\x00B.V.", "Werf\x01", "Werf\nB.V.", "Werf\x7f"])
def test_organisation_form_refuses_control_characters(client, login, region, name):
    login(region.users["regional_account_manager"])
    before = org_count()
    resp = client.post("/organisations/new", data={"name": name, "city": "Dordrecht",
                                                   "description": "Regel 1\r\nRegel 2",
                                                   **SELECTS})
    assert resp.status_code == 422
    assert field_error(resp, "name") == BAD_TEXT
    assert "Regel 1" in text(resp)  # the form is kept
    assert org_count() == before


def test_organisation_edit_refuses_a_nul_and_saves_nothing(client, login, region):
    org = region.dordrecht
    login(region.users["admin"])
    form = form_fields(client.get(f"/organisations/{org.id}/edit"), "/edit")
    resp = client.post(f"/organisations/{org.id}/edit",
                       data={**form, "city": "Dord\x00recht", "description": "a\x00b"})
    assert resp.status_code == 422
    assert field_error(resp, "city") == BAD_TEXT
    assert field_error(resp, "description") == BAD_TEXT
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).city == "Dordrecht"
    resp = client.post(f"/organisations/{org.id}/edit",
                       data={**form, "description": "Regel 1\r\n\tRegel 2"})
    assert resp.status_code == 302


def test_the_organisation_service_refuses_them_too(make_user, make_org):
    admin = make_user("admin")
    org = make_org(actor=admin)
    for data, field in (({"name": "A\x00"}, "name"), ({"website": "https://a\x00.nl"}, "website"),
                        ({"municipality": "GM\x000505"}, "municipality"),
                        ({"tags": ["a\x00"]}, "tags"), ({"description": "a\x0bb"}, "description")):
        with pytest.raises(ValidationError) as exc:
            update_organisation(org, data, actor=admin, partial=True)
        assert field in exc.value.errors, data
        db.session.rollback()


def test_contact_form_refuses_control_characters(client, login, region):
    login(region.users["regional_account_manager"])
    url = f"/contacts/new?organisation_id={region.dordrecht.id}"
    form = form_fields(client.get(url), "/contacts/new")
    resp = client.post(url, data={**form, "first_name": "Els", "last_name": "Smit\x00",
                                  "notes": "Regel 1\nRegel 2"})
    assert resp.status_code == 422
    assert field_error(resp, "last_name") == BAD_TEXT
    assert input_value(resp, "first_name") == "Els"
    resp = client.post(url, data={**form, "first_name": "Els", "last_name": "Smit",
                                  "notes": "Regel\x00"})
    assert resp.status_code == 422 and field_error(resp, "notes") == BAD_TEXT


def test_interaction_form_refuses_control_characters(client, login, region):
    login(region.users["regional_account_manager"])
    resp = client.get(f"/interactions/new?organisation_id={region.dordrecht.id}")
    form = form_fields(resp, "/interactions/new")
    form.update({"type": "meeting", "subject": "Warmte\x00net", "notes": "Regel 1\nRegel 2",
                 "follow_ups-0-title": "Bel\x00len", "action": "save"})
    resp = client.post("/interactions/new", data=form)
    assert resp.status_code == 422
    assert field_error(resp, "subject") == BAD_TEXT
    assert field_error(resp, "follow_ups-0-title") == BAD_TEXT
    assert "Regel 1" in text(resp)


def test_lead_form_refuses_control_characters(client, login, region):
    login(region.users["regional_account_manager"])
    resp = client.post(f"/leads/new?organisation_id={region.dordrecht.id}", data={
        "type": "innovation", "title": "Water\x00stof", "description": "Mijn toelichting",
        "shared_with": "user", "shared_with_user_id": str(region.users["business_developer"].id)})
    assert resp.status_code == 422
    assert field_error(resp, "title") == BAD_TEXT
    assert "Mijn toelichting" in text(resp)


def test_every_form_class_checks_its_text_fields():
    """A guard: a new form must carry the check (ServiceErrorsMixin or CheckedTextMixin)."""
    from wtforms import Form

    from sdd_crm.forms import CheckedTextMixin

    for info in pkgutil.walk_packages(sdd_crm.__path__, "sdd_crm."):
        importlib.import_module(info.name)
    missing, seen, todo = [], set(), list(Form.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("sdd_crm.") and not issubclass(cls, CheckedTextMixin):
            missing.append(f"{cls.__module__}.{cls.__qualname__}")
    assert missing == []


def test_an_import_row_with_a_control_character_is_rejected():
    headers = ["Naam", "KvK-nummer", "Plaats", "Omschrijving"]
    summary = run_import(csv_bytes(headers, [
        ["Werf\x01", "12345678", "Dordrecht", ""],
        ["Kade\nNoord", "23456789", "Dordrecht", ""],
        ["Dok", "34567890", "Dord\x1brecht", ""],
        ["Sluis", "45678901", "Dordrecht", "Regel 1\nRegel 2\tmet tab"],
    ]))
    assert [(e["row"], e["column"], e["message"]) for e in summary["errors"]] == [
        (2, "Naam", BAD_TEXT), (3, "Naam", BAD_TEXT), (4, "Plaats", BAD_TEXT)]
    assert counts(summary) == (1, 0, 0, 0, 3)
    assert org_by_kvk("45678901").description == "Regel 1\nRegel 2\tmet tab"


# --- the bugs of issue 10 point 6 ------------------------------------------------------------

def test_a_local_account_manager_cannot_create_an_organisation_without_municipality(
        client, login, make_user):
    local = make_user("local_account_manager", municipality="GM0505")
    with pytest.raises(ValidationError) as exc:
        create_organisation({"name": "Nergens B.V."}, actor=local)
    assert "eigen gemeente" in exc.value.errors["municipality"]
    with pytest.raises(ValidationError):  # a place outside the reference table: no municipality
        create_organisation({"name": "Breda B.V.", "city": "Breda"}, actor=local)
    login(local)
    resp = client.post("/organisations/new", data={"name": "Nergens B.V.", **SELECTS})
    assert resp.status_code == 422
    assert "eigen gemeente" in field_error(resp, "municipality")
    assert input_value(resp, "name") == "Nergens B.V."
    assert org_count() == 0
    resp = client.post("/organisations/new", data={"name": "Dordts B.V.", "municipality": "GM0505",
                                                   **SELECTS})
    assert resp.status_code == 302  # and they can edit it afterwards
    org = db.session.scalar(sa.select(Organisation))
    assert client.get(f"/organisations/{org.id}/edit").status_code == 200


def test_an_unknown_municipality_cell_is_a_row_error_unless_the_place_decides(
        client, login, make_user):
    admin = make_user("admin")
    summary = run_import(csv_bytes(["Naam", "KvK-nummer", "Plaats", "Gemeente"], [
        ["Werf", "12345678", "Breda", "Atlantis"],        # rejected: named column and value
        ["Kade", "23456789", "Dordrecht", "Atlantis"],    # the place decides, with a warning
        ["Dok", "34567890", "", "Zwijndrecht"],
    ]), actor=admin)
    assert [(e["row"], e["column"], e["message"]) for e in summary["errors"]] == [
        (2, "Gemeente", "Onbekende gemeente: Atlantis. Gebruik de naam of de CBS-code van een "
                        "gemeente in de regio, zoals Dordrecht of GM0505.")]
    assert summary["warnings"] == [{"row": 3, "column": "Gemeente", "message": (
        "Onbekende gemeente: Atlantis; de gemeente volgt uit de plaats Dordrecht.")}]
    assert org_by_kvk("12345678") is None
    assert org_by_kvk("23456789").municipality_code == "GM0505"
    assert org_by_kvk("34567890").municipality_code == "GM0642"
    login(admin)  # the job page shows the warning next to the errors
    page = text(client.get(f"/jobs/{summary['job_id']}"))
    assert "Onbekende gemeente: Atlantis; de gemeente volgt uit de plaats Dordrecht." in page
    assert "Waarschuwingen: aangepaste cellen" in page


def test_a_seven_digit_kvk_number_is_padded_with_a_warning(runner, tmp_path):
    path = tmp_path / "kvk.csv"
    path.write_bytes(csv_bytes(KVK_HEADERS, [kvk_row("Nul", "1234567"),
                                             kvk_row("Acht", "87654321")]))
    result = runner.invoke(args=["import", "organisations", str(path), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["created"] == 2 and summary["errors"] == []
    assert summary["warnings"] == [{"row": 2, "column": "KvK-nummer", "message": (
        "KvK-nummer 1234567 heeft 7 cijfers; aangevuld tot 01234567 (een spreadsheet laat de "
        "voorloopnul weg).")}]
    assert org_by_kvk("01234567").name == "Nul"
    again = runner.invoke(args=["import", "organisations", str(path)])
    assert "  rij 2, kolom KvK-nummer: KvK-nummer 1234567 heeft 7 cijfers" in again.output
    assert "0 nieuw, 0 bijgewerkt, 2 ongewijzigd" in again.output


def test_get_organisation_for_edit_needs_a_user(app, make_user, make_org):
    from sdd_crm.organisations.queries import get_organisation

    org = make_org(city="Sliedrecht")
    with app.test_request_context():
        with pytest.raises(TypeError):
            get_organisation(org.id, for_edit=True)
        with pytest.raises(PermissionDenied):
            get_organisation(org.id, for_edit=True,
                             user=make_user("local_account_manager", municipality="GM0505"))
        assert get_organisation(org.id, for_edit=True, user=make_user("admin")) == org


KEYS = {"created", "updated", "unchanged", "held_for_review", "rejected", "errors"}


@pytest.mark.parametrize("data", [
    b"",                                                  # empty
    b"Naam;KvK\r\n\"Werf;12345678\r\nKade;23456789\r\n",  # an unclosed quote
    "Naam;KvK\r\nCafé;12345678\r\n".encode("utf-8") + "Café;23456789\r\n".encode("cp1252"),
    b"\x00\x01\x02\x03" * 50,                             # no text at all
    b"Plaats;Postcode\r\nDordrecht;3311AB\r\n",           # no name column
    b"Naam;KvK-nummer\r\n",                               # a header only
])
def test_import_json_summary_has_the_documented_keys_when_the_file_is_refused(runner, tmp_path,
                                                                              data):
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    result = runner.invoke(args=["import", "organisations", str(path), "--json"])
    assert result.exit_code == 2
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert KEYS <= set(summary)
    assert [summary[k] for k in sorted(KEYS - {"errors"})] == [0] * 5
    assert len(summary["errors"]) == 1 and summary["errors"][0]["message"] == summary["error"]
    assert org_count() == 0


# --- the same parser for programme targets and criticality weights -----------------------------

@pytest.mark.parametrize("typed, expected", [("1.000", 1000), ("250", 250), (40, 40)])
def test_programme_targets_read_dutch_whole_numbers(app, typed, expected):
    from sdd_crm.programmes.admin_services import _targets

    errors: dict = {}
    with app.test_request_context():
        out = _targets([{"kind": "sme_count", "value": typed}], errors)
    assert errors == {} and out[0]["value"] == expected


@pytest.mark.parametrize("typed", ["12,5", "12.5", "veel"])
def test_programme_target_of_a_fraction_is_refused(app, typed):
    from sdd_crm.programmes.admin_services import _targets

    errors: dict = {}
    with app.test_request_context():
        _targets([{"kind": "sme_count", "value": typed}], errors)
    assert "targets.0.value" in errors


@pytest.mark.parametrize("typed, expected", [("0,5", 0.5), ("0.5", 0.5), ("2", 2.0)])
def test_criticality_weights_read_a_decimal_comma(app, typed, expected):
    from sdd_crm.valuechains.criticality_services import clean_settings

    with app.test_request_context():
        settings = clean_settings({"employment": typed, "sole_source": "1", "bridging": "1",
                                   "breadth": "1", "threshold": "1,5"})
    assert settings["weights"]["employment"] == expected and settings["threshold"] == 1.5


# --- SQLite's single writer: a save behind a long import is refused politely -----------------

def test_a_locked_sqlite_database_is_a_503_with_a_message_not_a_500(app, client, login, region):
    import sqlalchemy.exc

    from sdd_crm.organisations import views

    login(region.users["regional_account_manager"])

    def locked(*args, **kwargs):
        raise sqlalchemy.exc.OperationalError("UPDATE organisation", {}, Exception("database is locked"))

    original = views.create_organisation
    views.create_organisation = locked
    try:
        resp = client.post("/organisations/new", data={
            "name": "Nieuw BV", "org_type": "company", "status": "active", "city": "Dordrecht",
            "version": ""})
    finally:
        views.create_organisation = original
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "10"
    assert "niets opgeslagen" in text(resp)


@pytest.mark.parametrize("typed", ["12,345", "1.250.000,005", decimal.Decimal("12.345")])
def test_an_amount_is_never_rounded_silently(app, typed):
    with app.test_request_context(), pytest.raises(NumberError) as exc:
        parse_amount(typed)
    assert exc.value.kind == "fraction"
    assert str(exc.value) == "Vul een bedrag in met hoogstens twee cijfers achter de komma."


def test_the_api_refuses_an_amount_with_more_than_two_decimals(client, make_user, api_headers):
    headers = api_headers(make_user("regional_account_manager"))
    resp = client.post("/api/v1/organisations", headers=headers, json={
        "name": "Centen B.V.", "org_type": "company", "city": "Dordrecht",
        "annual_turnover_eur": 12.345})
    assert resp.status_code == 422
    assert "annual_turnover_eur" in resp.get_json()["error"]["fields"]
    assert db.session.scalar(sa.select(Organisation).where(Organisation.name == "Centen B.V.")) is None
