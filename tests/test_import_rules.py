"""Row rules: which rows are rejected, reported with spreadsheet row, column and a Dutch
message, and what the accepted values become (issue 6 point 2)."""

from __future__ import annotations

import pytest

from import_support import KVK_HEADERS, count, counts, csv_bytes, kvk_row, org_by_kvk, run_import
from sdd_crm.extensions import db
from sdd_crm.imports.jobs import report_csv
from sdd_crm.imports.rules import normalise_name
from sdd_crm.jobs.files import load_file
from sdd_crm.organisations.models import Organisation


def errors(summary):
    return [(e["row"], e["column"], e["message"]) for e in summary["errors"]]


def test_each_rejected_row_is_reported_with_row_column_and_reason():
    data = csv_bytes(KVK_HEADERS, [
        kvk_row("Goed B.V.", "1234 5678"),                        # row 2: ok (spaces)
        kvk_row("", "23456789"),                                  # 3: no name
        kvk_row("Kort", "1234567"),                               # 4: 7 digits: padded (issue 10)
        kvk_row("Letters", "1234567A"),                           # 5
        kvk_row("Punten", "34.56.78.90"),                         # 6: ok (dots)
        kvk_row("Postcode", "45678901", postcode="1234"),         # 7
        kvk_row("Mensen", "56789012", employees="veel"),          # 8
        kvk_row("Omzet", "67890123", turnover="1,2,3"),           # 9
        kvk_row("Halve mens", "78901234", employees="2,5"),       # 10
        kvk_row("Negatief", "89012345", employees="-4"),          # 11
        kvk_row("Streepjes", "90-12-34-56", postcode="3311ab"),   # 12: ok
        kvk_row("Verbannen", "11223344", postcode="3311 SS"),     # 13: banned letters
    ])
    summary = run_import(data)
    assert errors(summary) == [
        (3, "Handelsnaam", "De naam ontbreekt."),
        (5, "KvK-nummer", "Een KvK-nummer bestaat uit 8 cijfers."),
        (7, "Postcode", "Vul een geldige Nederlandse postcode in, zoals 3311 AB."),
        (8, "Werkzame personen", "Dit is geen getal: veel"),
        (9, "Omzet", "Dit is geen getal: 1,2,3"),
        (10, "Werkzame personen", "Vul een heel getal in, zonder cijfers achter de komma; een "
                                  "punt scheidt duizendtallen, zoals in 1.250."),
        (11, "Werkzame personen", "Vul een getal tussen 0 en 10000000 in."),
        (13, "Postcode", "Vul een geldige Nederlandse postcode in, zoals 3311 AB."),
    ]
    assert counts(summary) == (4, 0, 0, 0, 8) and summary["row_numbers"] == "spreadsheet"
    assert {o.kvk_number for o in db.session.query(Organisation)} == {
        "12345678", "01234567", "34567890", "90123456"}
    assert summary["warnings"] == [{"row": 4, "column": "KvK-nummer", "message": (
        "KvK-nummer 1234567 heeft 7 cijfers; aangevuld tot 01234567 (een spreadsheet laat de "
        "voorloopnul weg).")}]
    assert org_by_kvk("90123456").postcode == "3311 AB"


def test_a_row_with_several_problems_counts_once_and_reports_each():
    summary = run_import(csv_bytes(KVK_HEADERS, [kvk_row("", "12", postcode="x", employees="y")]))
    assert summary["rejected"] == 1
    assert [e["column"] for e in summary["errors"]] == [
        "Handelsnaam", "KvK-nummer", "Postcode", "Werkzame personen"]


def test_too_long_values_are_refused_per_row_on_every_database():
    data = csv_bytes(["Naam", "KvK-nummer", "Rechtsvorm", "Plaats", "Straat"], [
        ["N" * 201, "12345678", "", "", ""],
        ["Ok", "23456789", "R" * 101, "P" * 101, "S" * 201],
        ["Net goed", "34567890", "R" * 100, "P" * 100, "S" * 200],
    ])
    summary = run_import(data)
    assert errors(summary) == [(2, "Naam", "Hoogstens 200 tekens."),
                               (3, "Rechtsvorm", "Hoogstens 100 tekens."),
                               (3, "Plaats", "Hoogstens 100 tekens."),
                               (3, "Straat", "Hoogstens 200 tekens.")]
    assert counts(summary) == (1, 0, 0, 0, 2)
    assert org_by_kvk("34567890").street == "S" * 200


def test_a_one_megabyte_cell_rejects_its_row_not_the_import():
    data = csv_bytes(["Naam", "KvK-nummer", "Notitie"], [
        ["Reus", "12345678", "x" * 1_000_001], ["Dwerg", "23456789", "kort"]])
    summary = run_import(data)
    assert errors(summary) == [(2, "Notitie", "De cel is groter dan 1 MB.")]
    assert counts(summary) == (1, 0, 0, 0, 1)


def test_a_row_with_more_cells_than_headers_is_refused():
    data = b"Naam;KvK-nummer\r\nWerf; Zn.;12345678\r\nKade;23456789;;\r\n"
    summary = run_import(data)
    assert errors(summary) == [(2, "", "Deze rij heeft meer cellen dan de kopregel (2 kolommen); "
                                        "staat er een scheidingsteken in een waarde?")]
    assert counts(summary) == (1, 0, 0, 0, 1)  # trailing empty cells are harmless


def test_thirty_columns_of_which_five_are_known():
    headers = [f"Eigen kolom {i}" for i in range(25)]
    headers[3:3] = ["Bedrijfsnaam", "KvK", "Postcode", "Woonplaats", "Aantal medewerkers"]
    row = [f"waarde {i}" for i in range(25)]
    row[3:3] = ["Dertig B.V.", "12345678", "3311AB", "Dordrecht", "7"]
    summary = run_import(csv_bytes(headers, [row]))
    assert counts(summary) == (1, 0, 0, 0, 0)
    org = org_by_kvk("12345678")
    assert (org.name, org.postcode, org.city, org.employees, org.municipality_code) == (
        "Dertig B.V.", "3311 AB", "Dordrecht", 7, "GM0505")


def test_formulas_are_text_and_never_numbers():
    data = csv_bytes(["Naam", "KvK-nummer", "Werkzame personen"], [
        ["=HYPERLINK(\"http://x\")", "12345678", "5"], ["Som", "23456789", "=SUM(A1:A3)"]])
    summary = run_import(data)
    assert errors(summary) == [(3, "Werkzame personen", "Dit is geen getal: =SUM(A1:A3)")]
    assert org_by_kvk("12345678").name == '=HYPERLINK("http://x")'  # exports neutralise it
    report = report_csv(summary["errors"]).decode("utf-8-sig")
    assert report.splitlines()[1] == "3;Werkzame personen;Dit is geen getal: =SUM(A1:A3)"
    # A column name Excel would run as a formula is neutralised in the report.
    other = run_import(b"Naam;=KvK\r\nWerf;12\r\n")
    assert report_csv(other["errors"]).decode("utf-8-sig").splitlines()[1] == (
        "2;'=KvK;Een KvK-nummer bestaat uit 8 cijfers.")


def test_the_report_is_a_dutch_excel_csv_with_every_error(app):
    summary = run_import(csv_bytes(KVK_HEADERS, [kvk_row("", "1"), kvk_row("=cmd", "2")]))
    stored = load_file(summary["job_id"], "report")
    assert stored.filename == "bestand-afgewezen-rijen.csv"
    assert stored.content_type == "text/csv; charset=utf-8"
    assert stored.data.startswith(b"\xef\xbb\xbf")
    assert stored.data.decode("utf-8-sig").splitlines() == [
        "Rij (spreadsheet);Kolom;Melding",
        "2;Handelsnaam;De naam ontbreekt.",
        "2;KvK-nummer;Een KvK-nummer bestaat uit 8 cijfers.",
        "3;KvK-nummer;Een KvK-nummer bestaat uit 8 cijfers.",
    ]
    clean = run_import(csv_bytes(KVK_HEADERS, [kvk_row("Goed", "12345678")]))
    assert load_file(clean["job_id"], "report") is None  # nothing rejected, no report


def test_values_are_normalised():
    headers = ["Naam", "KvK-nummer", "Straat", "Huisnummer", "Toevoeging", "Postcode", "Plaats",
               "Telefoon", "Website", "E-mail", "Type", "Rechtsvorm", "SBI-code",
               "Nevenactiviteiten", "Omzet", "Balanstotaal", "Werkzame personen"]
    row = ["Werf", "12345678", "Kade", "12", "a", "3311ab", "dordrecht", "078-1234567",
           "www.werf.nl", "Info@Werf.NL", "Kennisinstelling", "B.V.",
           "3315 Reparatie en onderhoud van schepen", "3011; 62.01A", "€ 1.250.000,50",
           "43.000.000", "1.250"]
    summary = run_import(csv_bytes(headers, [row]))
    assert summary["errors"] == []
    org = org_by_kvk("12345678")
    assert (org.street, org.postcode, org.city, org.municipality_code) == (
        "Kade 12a", "3311 AB", "dordrecht", "GM0505")
    assert (org.phone, org.website, org.email, org.org_type, org.legal_form) == (
        "+31781234567", "https://www.werf.nl", "info@werf.nl", "knowledge_institution", "B.V.")
    assert [(s.code, s.version, s.is_main) for s in org.sbi_codes] == [
        ("3315", "2008", True), ("3011", "2008", False), ("62.01A", "2025", False)]
    assert (str(org.annual_turnover_eur), str(org.balance_sheet_total_eur), org.employees) == (
        "1250000.50", "43000000.00", 1250)


def test_invalid_contact_details_reject_the_row_but_unknown_phone_ranges_do_not():
    headers = ["Naam", "KvK-nummer", "Telefoon", "Website", "E-mail", "Type", "SBI-code"]
    summary = run_import(csv_bytes(headers, [
        ["A", "12345678", "12", "", "", "", ""],
        ["B", "23456789", "", "geen website", "", "", ""],
        ["C", "34567890", "", "", "info@", "", ""],
        ["D", "45678901", "", "", "", "vereniging", ""],
        ["E", "56789012", "", "", "", "", "99999999"],
        ["F", "67890123", "06-90628248", "", "", "overheid", ""],  # 069 is not issued (yet)
    ]))
    assert errors(summary) == [
        (2, "Telefoon", "Vul een geldig telefoonnummer in, zoals 078-1234567."),
        (3, "Website", "Vul een geldig webadres in, zoals https://www.voorbeeld.nl."),
        (4, "E-mail", "Vul een geldig e-mailadres in."),
        (5, "Type", "Onbekende soort organisatie; gebruik bedrijf, kennisinstelling, onderwijs, "
                    "overheid of overig."),
        (6, "SBI-code", "Ongeldige SBI-code: 99999999."),
    ]
    assert (org_by_kvk("67890123").phone, org_by_kvk("67890123").org_type) == (
        "+31690628248", "government")


@pytest.mark.parametrize("city,column,expected", [
    ("Heerjansdam", "", "GM0642"), ("HEERJANSDAM", "", "GM0642"), ("Breda", "", None),
    ("Breda", "Zwijndrecht", "GM0642"), ("Dordrecht", "GM0505", "GM0505"),
    ("Dordrecht", "0505", "GM0505"), ("Dordrecht", "Atlantis", "GM0505"),
    ("Hendrik Ido Ambacht", "", "GM0531"), ("", "", None),
])
def test_the_municipality_from_its_column_else_from_the_place(city, column, expected):
    summary = run_import(csv_bytes(["Naam", "KvK-nummer", "Plaats", "Gemeente"],
                                   [["Werf", "12345678", city, column]]))
    assert summary["errors"] == []
    assert org_by_kvk("12345678").municipality_code == expected


def test_empty_rows_are_skipped_and_not_counted():
    data = b"Naam;KvK-nummer\r\n;\r\nWerf;12345678\r\n\r\n;;\r\n"
    summary = run_import(data)
    assert (summary["rows"], counts(summary)) == (1, (1, 0, 0, 0, 0))
    assert count(Organisation) == 1


@pytest.mark.parametrize("name,expected", [
    ("Jansen Techniek B.V.", "jansen techniek"), ("JANSEN-TECHNIEK BV", "jansen techniek"),
    ("jansen techniek", "jansen techniek"), ("Bakker B. V.", "bakker"),
    ("V.O.F. De Smid", "de smid"), ("Stichting Café Ëlan", "cafe elan"),
    ("Schroefas & Zn.", "schroefas zn"), ("Werf N.V. Holding", "werf holding"),
])
def test_names_are_compared_without_case_punctuation_and_legal_forms(name, expected):
    assert normalise_name(name) == expected


def test_placeholders_in_optional_cells_are_empty_not_errors():
    """'-', 'n.v.t.', 'onbekend' in optional text fields mean "nothing here"; the issue's own
    rules (name, KvK, postcode, numbers) keep their checks."""
    from import_support import csv_bytes, run_import

    headers = ["Naam", "KvK-nummer", "Postcode", "Telefoon", "E-mail", "Website", "SBI-code",
               "Werkzame personen"]
    summary = run_import(csv_bytes(headers, [
        ["Werf Eén", "12345678", "3311 AB", "-", "n.v.t.", "geen", "-", "12"],
        ["Werf Twee", "-", "3311 AC", "onbekend", "-", "n.v.t.", "n.v.t.", "3"],
        ["Werf Drie", "22334455", "-", "", "", "", "", "4"],          # postcode rule: rejected
        ["Werf Vier", "33445566", "3311 AD", "", "", "", "", "-"],    # number rule: rejected
        ["-", "44556677", "3311 AE", "", "", "", "", "5"],            # a name of "-" is a name
    ]))
    assert (summary["created"], summary["rejected"]) == (3, 2)
    assert [(e["row"], e["column"]) for e in summary["errors"]] == [
        (4, "Postcode"), (5, "Werkzame personen")]


def test_whole_euros_written_with_a_comma_dash():
    from sdd_crm.imports.rules import parse_number

    assert parse_number("€ 1.250.000,-") == 1250000
    assert parse_number("1.250,--") == 1250
