"""Reading uploaded files (CSV/XLSX, encodings, delimiters, nasty files) and recognising their
columns (issue 6 point 1)."""

from __future__ import annotations

import pytest

from import_support import csv_bytes, sample, with_cached_formula, xlsx_bytes
from sdd_crm.extensions import db
from sdd_crm.imports.mapping import (
    FIELDS, auto_map, mapping_for, save_mapping, signature, validate_mapping)
from sdd_crm.imports.reading import ImportFileError, read_table
from sdd_crm.imports.rules import parse_number
from sdd_crm.exceptions import ValidationError


def test_the_dutch_kvk_sample_is_windows_1252_semicolon_with_spreadsheet_row_numbers():
    table = read_table(sample("kvk_export_nl.csv"), "kvk_export_nl.csv")
    assert (table.format, table.delimiter, table.encoding) == ("csv", ";", "utf-8")  # pure ASCII
    assert table.headers[:3] == ["Naam", "KVK nummer", "Vestigingsnr"]
    assert (table.row_count, table.first_data_row, table.decimal_comma) == (33, 2, True)
    assert table.rows[30][:2] == ["", "12345678"]  # the row without a name is spreadsheet row 32
    assert table.row_number(30) == 32


def test_the_english_sample_is_utf8_with_bom_and_commas():
    table = read_table(sample("organisations_en.csv"), "organisations_en.csv")
    assert (table.delimiter, table.encoding, table.decimal_comma) == (",", "utf-8-sig", False)
    assert table.headers[0] == "Company name"  # no BOM left in the first header
    assert table.row_count == 20


@pytest.mark.parametrize("encoding,bom,expected", [
    ("utf-8", False, "utf-8"), ("utf-8", True, "utf-8-sig"), ("cp1252", False, "cp1252"),
    ("utf-16", False, "utf-16"),  # Python writes the BOM: Excel's "Unicode text"
])
def test_accented_names_survive_every_encoding(encoding, bom, expected):
    data = csv_bytes(["Naam", "Plaats"], [["Café De Drie Ëiken €", "Dordrecht"]],
                     encoding=encoding, bom=bom)
    table = read_table(data, "x.csv")
    assert table.encoding == expected
    assert table.rows[0][0] == "Café De Drie Ëiken €"


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_delimiters_are_detected_from_the_header(delimiter):
    data = csv_bytes(["Naam", "KvK-nummer", "Omzet"], [["Werf, Zn.", "12345678", "1.250,00"]],
                     delimiter=delimiter)
    table = read_table(data, "x.csv")
    assert table.delimiter == delimiter
    assert table.rows[0] == ["Werf, Zn.", "12345678", "1.250,00"]


def test_excel_sep_line_blank_lines_and_multiline_cells_keep_spreadsheet_row_numbers():
    data = ("sep=,\r\nNaam,Omschrijving\r\nEen,\"regel 1\r\nregel 2\"\r\n\r\nDrie,x\r\n\r\n"
            ).encode()
    table = read_table(data, "x.csv")
    # row 1 is the sep= line, the header row 2; "Een" row 3 (two lines), the blank row 4
    assert (table.delimiter, table.headers, table.first_data_row) == (",", ["Naam", "Omschrijving"], 3)
    assert [table.row_number(i) for i, r in enumerate(table.rows) if any(r)] == [3, 5]
    assert table.rows[0][1] == "regel 1\r\nregel 2" and table.row_count == 2


def test_empty_and_repeated_headers_get_names():
    table = read_table(b"Naam;;Naam;Omzet\nA;b;c;1\n", "x.csv")
    assert table.headers == ["Naam", "Kolom 2", "Naam (2)", "Omzet"]


@pytest.mark.parametrize("data,message", [
    (b"", "Het bestand is leeg."),
    (b"\r\n \r\n", "Het bestand is leeg."),
    (b"Naam;KvK-nummer\r\n", "Het bestand bevat alleen een kopregel en geen gegevens."),
    (b"Naam;KvK-nummer\r\n;\r\n;\r\n", "Het bestand bevat alleen een kopregel en geen gegevens."),
    ("Naam;Plaats\r\nA;B\r\n".encode("utf-16-le"),  # UTF-16 without its BOM
     "Dit is geen CSV- of Excel-bestand (.xlsx), of de tekenset is niet te herkennen. Sla het op "
     "als CSV UTF-8 of als .xlsx."),
    (b"Naam;Plaats\r\nWerf\x81;Dordrecht\r\n",  # 0x81 is in neither UTF-8 nor Windows-1252
     "De tekenset van het bestand is niet te herkennen. Sla het op als CSV UTF-8 of als "
     "Excel-werkmap (.xlsx)."),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
     "Oude Excel-bestanden (.xls) worden niet ondersteund. Sla het bestand op als Excel-werkmap "
     "(.xlsx) of als CSV."),
    (b"PK\x03\x04 not really a zip", "Het Excel-bestand is beschadigd of geen .xlsx-bestand."),
])
def test_unreadable_files_give_a_dutch_message(data, message):
    with pytest.raises(ImportFileError) as exc:
        read_table(data, "bestand.csv")
    assert exc.value.message == message


def test_a_file_over_the_limit_is_refused_before_reading(app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 1024 * 1024)
    data = csv_bytes(["Naam"], [["x" * 1000]] * 1100)
    with pytest.raises(ImportFileError) as exc:
        read_table(data, "groot.csv")
    assert exc.value.message == "Het bestand is te groot (hoogstens 1 MB)."


def test_a_one_megabyte_cell_is_read_not_crashed_on():
    table = read_table(csv_bytes(["Naam", "Notitie"], [["A", "x" * 1_100_000]]), "x.csv")
    assert len(table.rows[0][1]) == 1_100_000  # the rules refuse it for its row


def test_xlsx_values_numbers_dates_and_formulas():
    import datetime as dt

    data = xlsx_bytes(["Naam", "KvK-nummer", "Omzet", "Datum", "Werkzame personen"], [
        ["Werf", 12345678, 1250000.5, dt.datetime(2025, 3, 1), 12],
        ["Kade", "01234567", 1.125, None, 0],  # E3: replaced by a formula below
        [None, None, None, None, None],
        ["Dok", 23456789, 10, None, None],
    ], formulas={"E5": "=E2*2"})
    data = with_cached_formula(data, "E3", "=E2+1", "13")
    table = read_table(data, "lijst.xlsx")
    assert (table.format, table.delimiter, table.encoding, table.decimal_comma) == (
        "xlsx", None, None, True)
    assert table.rows[0] == ["Werf", "12345678", "1250000,5", "2025-03-01", "12"]
    assert table.rows[1] == ["Kade", "01234567", "1,125", None, "13"]  # the calculated value
    assert table.rows[2] == [None] * 5 and table.row_number(3) == 5
    assert table.rows[3][4] is None  # a formula Excel never calculated has no value
    assert parse_number(table.rows[1][2], decimal_comma=table.decimal_comma) == parse_number("1,125")


def test_a_formula_in_a_csv_cell_is_text():
    table = read_table(b"Naam;Omzet\r\n=HYPERLINK(\"x\");=SUM(A1:A3)\r\n", "x.csv")
    assert table.rows[0] == ['=HYPERLINK("x")', "=SUM(A1:A3)"]


@pytest.mark.parametrize("text,comma,expected", [
    ("1.250.000,00", True, "1250000.00"), ("1,250,000.00", True, "1250000.00"),
    ("1.250.000,00", False, "1250000.00"), ("1.250.000", False, "1250000"),
    ("1.250", True, "1250"), ("1.250", False, "1.250"), ("1,250", True, "1.250"),
    ("1,250", False, "1250"), ("12,5", False, "12.5"), ("12.5", True, "12.5"),
    ("€ 69.196.000,00", True, "69196000.00"), ("EUR 1 250 000", True, "1250000"),
    ("-3", True, "-3"),
])
def test_numbers_dutch_and_english(text, comma, expected):
    import decimal

    assert parse_number(text, decimal_comma=comma) == decimal.Decimal(expected)


@pytest.mark.parametrize("text", ["n.v.t.", "=SUM(A1:A3)", "1e6", "1.25.000", "12,5,0",
                                  "1.250,000.5", ",5", "5,", "²", "0x10", ""])
def test_what_is_not_a_number(text):
    with pytest.raises(ValueError):
        parse_number(text)


# --- mapping ---------------------------------------------------------------------------------

def test_the_samples_are_mapped_automatically():
    nl = read_table(sample("kvk_export_nl.csv"), "a.csv").headers
    assert auto_map(nl, "organisations") == {
        "Naam": "name", "KVK nummer": "kvk_number", "Vestigingsnr": "establishment_number",
        "Adres": "street", "Postcode": "postcode", "Woonplaats": "city", "Hoofd-SBI": "sbi_main",
        "Aantal werkzame personen": "employees", "Omzet": "annual_turnover_eur"}
    en = read_table(sample("organisations_en.csv"), "b.csv").headers
    assert auto_map(en, "organisations") == {
        "Company name": "name", "Chamber of Commerce number": "kvk_number", "Street": "street",
        "Postal code": "postcode", "City": "city", "Employees": "employees",
        "Website": "website", "Phone": "phone"}
    outlook = read_table(sample("contacts_outlook.csv"), "c.csv").headers
    assert auto_map(outlook, "contacts") == {
        "First Name": "first_name", "Middle Name": "middle_name", "Last Name": "last_name",
        "Company": "organisation_name", "Job Title": "function", "E-mail Address": "email",
        "Business Phone": "phone", "Mobile Phone": "mobile", "Business City": ""}


def test_kvk_extract_headers_case_accents_typos_and_best_synonym_first():
    headers = ["Statutaire naam", "HANDELSNAAM", "KvK-nummer", "Vestigingsnummer",
               "Rechtsvorm", "Straat", "Huisnummer", "Huisnummertoevoeging", "Postcode",
               "Vestigingsplaats", "Gemeente", "SBI-code hoofdactiviteit", "Nevenactiviteiten",
               "Werkzame personen (totaal)", "Omzet", "Balanstotaal", "Internetadres",
               "Telefoonnummer", "E-mailadres", "Type", "KvK-nummer moederbedrijf",
               "Hoofdvestiging", "Werkzame persoenen", "Opmerkingen intern"]
    mapping = auto_map(headers, "organisations")
    assert mapping["HANDELSNAAM"] == "name" and mapping["Statutaire naam"] == ""
    assert [mapping[h] for h in headers[2:21]] == [
        "kvk_number", "establishment_number", "legal_form", "street", "house_number",
        "house_number_addition", "postcode", "city", "municipality", "sbi_main", "sbi_other",
        "employees", "annual_turnover_eur", "balance_sheet_total_eur", "website", "phone",
        "email", "org_type", "parent_kvk"]
    assert mapping["Hoofdvestiging"] == "main_establishment"
    assert mapping["Werkzame persoenen"] == ""  # the field went to the exact header
    assert auto_map(["Werkzame persoenen"], "organisations") == {"Werkzame persoenen": "employees"}
    assert mapping["Opmerkingen intern"] == ""


def test_google_contacts_layout():
    headers = ["Name", "Given Name", "Additional Name", "Family Name", "Organization 1 - Name",
               "Organization 1 - Title", "E-mail 1 - Type", "E-mail 1 - Value",
               "Phone 1 - Type", "Phone 1 - Value", "Phone 2 - Type", "Phone 2 - Value"]
    mapping = auto_map(headers, "contacts")
    assert {h: f for h, f in mapping.items() if f} == {
        "Name": "full_name", "Given Name": "first_name", "Additional Name": "middle_name",
        "Family Name": "last_name", "Organization 1 - Name": "organisation_name",
        "Organization 1 - Title": "function", "E-mail 1 - Value": "email",
        "Phone 1 - Value": "phone", "Phone 2 - Value": "mobile"}


def test_signature_ignores_case_and_punctuation_but_not_order():
    assert signature(["KvK-nummer", "Naam"]) == signature(["kvk nummer", "NAAM"])
    assert signature(["KvK-nummer", "Naam"]) != signature(["Naam", "KvK-nummer"])
    assert len(signature(["a"])) == 64


def test_a_corrected_mapping_is_saved_and_used_for_the_next_file(make_user):
    admin = make_user("admin")
    headers = ["Firma X", "Nummer KvK", "Medewerkers"]
    auto, saved = mapping_for(headers, "organisations")
    assert saved is False and auto["Firma X"] == "" and auto["Medewerkers"] == "employees"
    save_mapping(headers, "organisations", {"Firma X": "name", "Nummer KvK": "kvk_number",
                                            "Medewerkers": ""}, actor=admin)
    db.session.commit()
    mapping, saved = mapping_for(["firma x", "Nummer-KvK", "MEDEWERKERS"], "organisations")
    assert saved is True
    assert mapping == {"firma x": "name", "Nummer-KvK": "kvk_number", "MEDEWERKERS": ""}
    assert mapping_for(headers, "contacts")[1] is False  # saved per kind
    save_mapping(headers, "organisations", {"Firma X": "name", "Nummer KvK": "kvk_number",
                                            "Medewerkers": "employees"}, actor=admin)
    assert mapping_for(headers, "organisations")[0]["Medewerkers"] == "employees"  # replaced


def test_mapping_validation_in_dutch():
    headers = ["A", "B", "C"]
    with pytest.raises(ValidationError) as exc:
        validate_mapping(headers, "organisations", {"A": "kvk_number", "B": "kvk_number",
                                                    "C": "gebakken_lucht", "D": "name"})
    assert exc.value.errors == {
        "B": "KvK-nummer is al gekoppeld aan de kolom A.", "C": "Onbekend veld.",
        "D": "Deze kolom staat niet in het bestand.", "_": "Koppel een kolom aan: Naam."}
    with pytest.raises(ValidationError) as exc:
        validate_mapping(headers, "contacts", {"A": "first_name"})
    assert exc.value.errors == {"_": "Koppel een kolom aan: Achternaam of Volledige naam, "
                                     "Organisatie of KvK-nummer organisatie."}
    assert validate_mapping(headers, "organisations", {"A": "name"}) == {"A": "name", "B": "", "C": ""}


def test_every_field_has_a_dutch_label():
    assert [f for f, _label in FIELDS["organisations"]][:3] == ["name", "kvk_number",
                                                                 "establishment_number"]
    assert dict(FIELDS["contacts"])["email"] == "E-mailadres"


def test_an_unclosed_quote_refuses_the_file_and_names_the_line():
    """Without this, csv swallows every row after the stray quote into one cell, silently."""
    from sdd_crm.imports.reading import ImportFileError, read_table

    data = ('Naam;KvK-nummer;Plaats\r\n'
            'Werf Eén;11112222;Dordrecht\r\n'
            '"Bakkerij ""5"" BV;22223333;Dordrecht\r\n'
            'Smederij;33334444;Sliedrecht\r\n').encode("utf-8")
    with pytest.raises(ImportFileError) as refused:
        read_table(data, "lijst.csv")
    assert "bij regel 3 staat een aanhalingsteken" in refused.value.message


def test_a_quoted_cell_over_two_lines_is_one_row():
    from sdd_crm.imports.reading import read_table

    data = 'Naam;Omschrijving\r\nWerf;"Bouwt schepen;\r\nen jachten"\r\nSmid;Smeedt\r\n'.encode()
    table = read_table(data, "lijst.csv")
    assert list(table.rows) == [["Werf", "Bouwt schepen;\r\nen jachten"], ["Smid", "Smeedt"]]


def test_a_file_mixing_utf8_and_windows_1252_is_refused():
    from sdd_crm.imports.reading import ImportFileError, read_table

    data = ("Naam;Plaats\r\n".encode() + "Café UTF;Dordrecht\r\n".encode("utf-8")
            + "Café Win;Dordrecht\r\n".encode("cp1252"))
    with pytest.raises(ImportFileError) as refused:
        read_table(data, "gemengd.csv")
    assert "regel 2 is UTF-8, regel 3 niet" in refused.value.message
    # Pure Windows-1252 is still read as such.
    table = read_table("Naam\r\nCafé Win\r\n".encode("cp1252"), "win.csv")
    assert list(table.rows) == [["Café Win"]]
