"""Uploads checked by content (issue 11 point 6), in the browser and the CLI alike: an ``.xlsx``
that is not a workbook, a zip bomb (refused from the sizes in its zip directory, before openpyxl
reads a byte), a workbook with a DOCTYPE or external entity (XXE), and a path in the file name.
Each is refused with a clear Dutch message and nothing is stored."""

from __future__ import annotations

import io
import json
import os
import zipfile

import openpyxl
import pytest
import sqlalchemy as sa
from html_helpers import text
from import_support import sample, xlsx_bytes

from sdd_crm.extensions import db
from sdd_crm.imports.reading import (
    ImportFileError,
    check_xlsx,
    read_table,
    safe_filename,
)
from sdd_crm.jobs.models import Job, JobFile

SHEET = "xl/worksheets/sheet1.xml"
NOT_A_WORKBOOK = "Dit bestand is geen Excel-werkmap (.xlsx)."
TOO_BIG_UNPACKED = "Dit Excel-bestand wordt uitgepakt groter dan 200 MB en is daarom niet gelezen."
TOO_PACKED = "Dit Excel-bestand is verdacht sterk ingepakt (een onderdeel wordt bij het uitpakken " \
             "meer dan 100 keer zo groot)"
DOCTYPE = "Het Excel-bestand bevat een DOCTYPE- of ENTITY-declaratie."


# --- files built on the spot ---------------------------------------------------------------------

def _workbook() -> bytes:
    return xlsx_bytes(["Naam", "Plaats"], [["Werf De Schroef", "Dordrecht"]])


def _replace_parts(xlsx: bytes, parts: dict[str, bytes | None], *, extra=None) -> bytes:
    """The workbook with some parts replaced (None: left out); ``extra(zip)`` may add more."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename in parts:
                if parts[info.filename] is not None:
                    target.writestr(info.filename, parts[info.filename])
            elif not (extra and info.filename == SHEET):
                target.writestr(info, source.read(info))
        if extra:
            extra(target)
    return out.getvalue()


def _padded_sheet(megabytes: int):
    """A sheet part that is valid XML: the real sheet with ``megabytes`` of white space before
    its rows, written in 1 MB chunks (nothing of that size is ever held in memory)."""
    original = zipfile.ZipFile(io.BytesIO(_workbook())).read(SHEET)
    head, tail = original.split(b"<sheetData>", 1)

    def write(target: zipfile.ZipFile) -> None:
        with target.open(SHEET, "w", force_zip64=True) as part:
            part.write(head + b"<sheetData>")
            chunk = b" " * (1024 * 1024)
            for _i in range(megabytes):
                part.write(chunk)
            part.write(tail)
    return write


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    """About 300 kB that unpacks to over 300 MB (the test client would spool a body over 500 kB
    to a file; the ratio of deflate is about 1:1000 either way)."""
    data = _replace_parts(_workbook(), {}, extra=_padded_sheet(300))
    assert len(data) < 500_000
    assert sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist()) > 300 * 2**20
    return data


@pytest.fixture(scope="module")
def packed_tight() -> bytes:
    """20 MB in one part of some 20 kB: under the total limit, over the ratio."""
    return _replace_parts(_workbook(), {}, extra=_padded_sheet(20))


def _zip_without_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        target.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        target.writestr("word/document.xml", '<?xml version="1.0"?><document/>')
    return out.getvalue()


XXE_SHEET = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
             b'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
             b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Naam</t></is></c></row>'
             b'<row r="2"><c r="A2" t="inlineStr"><is><t>&xxe;</t></is></c></row>'
             b'</sheetData></worksheet>')
LAUGHS = (b'<?xml version="1.0"?><!-- lol -->\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
          b'<Types>&lol2;</Types>')


def _xxe_files() -> dict[str, bytes]:
    book = _workbook()
    return {
        "sheet": _replace_parts(book, {SHEET: XXE_SHEET}),
        "content-types": _replace_parts(book, {"[Content_Types].xml": LAUGHS}),
        "utf-16": _replace_parts(book, {SHEET: XXE_SHEET.replace(b"UTF-8", b"UTF-16")
                                        .decode().encode("utf-16")}),
        "long-prolog": _replace_parts(book, {SHEET: b'<?xml version="1.0"?>\n<!--'
                                             + b"x" * 10_000 + b"-->" + XXE_SHEET[39:]}),
    }


@pytest.fixture
def no_openpyxl(monkeypatch):
    """Fails the test if openpyxl is asked to open anything."""
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        pytest.fail("openpyxl.load_workbook was called for a file that should be refused first")

    monkeypatch.setattr(openpyxl, "load_workbook", refuse)
    return calls


def _nothing_stored() -> None:
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobFile)) == 0


def _upload(client, data: bytes, filename: str):
    return client.post("/imports/", data={"kind": "organisations",
                                          "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


@pytest.fixture
def admin(client, login, make_user):
    login(make_user("admin"))
    return client


def _web_refuses(client, data: bytes, filename: str, message: str) -> None:
    resp = _upload(client, data, filename)
    assert resp.status_code == 422, resp.status_code
    body = text(resp)
    assert "Het bestand is niet geüpload." in body and message in body, body[:3000]
    _nothing_stored()


def _cli_refuses(runner, tmp_path, data: bytes, filename: str, message: str) -> None:
    path = tmp_path / filename
    path.write_bytes(data)
    result = runner.invoke(args=["import", "organisations", str(path), "--json"])
    assert result.exit_code == 2, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert message in summary["error"], summary
    assert summary["created"] == 0 and summary["errors"][0]["row"] is None
    _nothing_stored()


# --- zip bombs -----------------------------------------------------------------------------------

def test_a_zip_bomb_is_refused_in_the_browser_before_openpyxl_reads_it(admin, zip_bomb,
                                                                       no_openpyxl):
    _web_refuses(admin, zip_bomb, "begroting.xlsx", TOO_BIG_UNPACKED)
    assert no_openpyxl == []


def test_a_zip_bomb_is_refused_by_the_cli_before_openpyxl_reads_it(runner, tmp_path, zip_bomb,
                                                                   no_openpyxl):
    _cli_refuses(runner, tmp_path, zip_bomb, "begroting.xlsx", TOO_BIG_UNPACKED)
    assert no_openpyxl == []


def test_a_zip_bomb_named_csv_is_still_read_as_a_workbook_and_refused(admin, zip_bomb,
                                                                      no_openpyxl):
    _web_refuses(admin, zip_bomb, "lijst.csv", TOO_BIG_UNPACKED)


def test_a_part_packed_far_tighter_than_a_sheet_is_refused(admin, runner, tmp_path, packed_tight,
                                                           no_openpyxl):
    assert sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(packed_tight)).infolist()) \
        < 200 * 2**20
    _web_refuses(admin, packed_tight, "lijst.xlsx", TOO_PACKED)
    _cli_refuses(runner, tmp_path, packed_tight, "lijst.xlsx", TOO_PACKED)


def test_the_limits_are_settings(app, monkeypatch, packed_tight):
    with app.app_context():
        monkeypatch.setitem(app.config, "IMPORT_MAX_ZIP_RATIO", 10_000)
        monkeypatch.setitem(app.config, "IMPORT_MAX_UNZIPPED_BYTES", 10 * 2**20)
        with pytest.raises(ImportFileError) as refused:
            check_xlsx(packed_tight)
        assert "uitgepakt groter dan 10 MB" in refused.value.message
        monkeypatch.setitem(app.config, "IMPORT_MAX_UNZIPPED_BYTES", 200 * 2**20)
        check_xlsx(packed_tight)  # 20 MB at a ratio of 1,000 is now allowed


# --- not a workbook ------------------------------------------------------------------------------

NOT_WORKBOOKS = {
    "random bytes": os.urandom(2048).replace(b"PK", b"pk"),
    "a CSV renamed": sample("kvk_export_nl.csv"),
    "a zip without a workbook": _zip_without_workbook(),
    "a workbook without its workbook part": _replace_parts(_workbook(), {"xl/workbook.xml": None}),
}


@pytest.mark.parametrize("what", NOT_WORKBOOKS)
def test_an_xlsx_that_is_not_a_workbook_is_refused(admin, runner, tmp_path, what, no_openpyxl):
    _web_refuses(admin, NOT_WORKBOOKS[what], "lijst.xlsx", NOT_A_WORKBOOK)
    _cli_refuses(runner, tmp_path, NOT_WORKBOOKS[what], "lijst.xlsx", NOT_A_WORKBOOK)


def test_a_broken_zip_is_refused_as_damaged(admin, no_openpyxl):
    broken = _workbook()[:-200]  # the central directory cut off
    _web_refuses(admin, broken, "lijst.xlsx", "Het Excel-bestand is beschadigd")


# --- DOCTYPE and external entities ---------------------------------------------------------------

@pytest.mark.parametrize("where", ["sheet", "content-types", "utf-16", "long-prolog"])
def test_a_workbook_with_a_doctype_or_entities_is_refused(admin, runner, tmp_path, where,
                                                          no_openpyxl):
    data = _xxe_files()[where]
    _web_refuses(admin, data, "lijst.xlsx", DOCTYPE)
    _cli_refuses(runner, tmp_path, data, "lijst.xlsx", DOCTYPE)


def test_an_ordinary_workbook_still_reaches_openpyxl(admin):
    """The control for the tests above: the checks let a real workbook through."""
    resp = _upload(admin, _workbook(), "lijst.xlsx")
    assert resp.status_code == 302
    table = read_table(_workbook(), "lijst.xlsx")
    assert (table.headers, table.rows) == (["Naam", "Plaats"], [["Werf De Schroef", "Dordrecht"]])


# --- a path in the file name ---------------------------------------------------------------------

@pytest.mark.parametrize("name, kept", [
    ("../../etc/passwd.csv", "passwd.csv"),
    # unescaped in the multipart header, as old browsers sent it; Werkzeug reads "C:xy.csv"
    ("C:\\x\\y.csv", "xy.csv"),
    ("/var/lib/../../root/.ssh/lijst.csv", "lijst.csv"), ("..\\..\\..\\boot.ini.csv", "boot.ini.csv"),
    ("a\tb\x1b\x7f.csv", "ab.csv"),
])
def test_only_the_base_name_of_an_upload_is_kept(admin, name, kept):
    resp = _upload(admin, sample("kvk_export_nl.csv"), name)
    assert resp.status_code == 302, text(resp)[:2000]
    job = db.session.scalars(sa.select(Job)).one()
    stored = db.session.scalars(sa.select(JobFile)).one()
    assert (job.params["filename"], stored.filename) == (kept, kept)


def test_an_escaped_windows_path_in_the_multipart_header_keeps_the_base_name(admin):
    boundary = "grens"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\norganisations\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="C:\\\\x\\\\y.csv"\r\nContent-Type: text/csv\r\n\r\n').encode() \
        + sample("kvk_export_nl.csv") + f"\r\n--{boundary}--\r\n".encode()
    resp = admin.post("/imports/", data=body,
                      content_type=f"multipart/form-data; boundary={boundary}")
    assert resp.status_code == 302, text(resp)[:2000]
    assert db.session.scalars(sa.select(JobFile)).one().filename == "y.csv"


def test_the_cli_keeps_only_the_base_name(runner, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "lijst.csv").write_bytes(sample("kvk_export_nl.csv"))
    path = str(tmp_path / "sub" / ".." / "lijst.csv")
    result = runner.invoke(args=["import", "organisations", path, "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    job = db.session.scalars(sa.select(Job)).one()
    stored = db.session.scalars(sa.select(JobFile).where(JobFile.role == "input")).one()
    assert (job.params["filename"], stored.filename) == ("lijst.csv", "lijst.csv")


def test_safe_filename():
    assert safe_filename("C:\\fakepath\\Lijst 2025.xlsx") == "Lijst 2025.xlsx"
    assert safe_filename("C:\\x\\y.csv") == "y.csv"
    assert safe_filename("C:y.csv") == "y.csv"
    assert safe_filename("../../") == "import.csv"
    assert safe_filename("..") == "import.csv"
    assert safe_filename(None, "bestand.csv") == "bestand.csv"
    assert len(safe_filename("x" * 500 + ".csv")) == 200
