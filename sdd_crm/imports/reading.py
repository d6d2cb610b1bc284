"""Reading an uploaded spreadsheet: CSV (``;``, ``,``, tab) in UTF-8, UTF-8 with BOM, UTF-16 or
Windows-1252, or XLSX (DESIGN 4.5; issue 6 point 1).

The result is a :class:`Table` of cell texts, nothing interpreted yet: the rules (rules.py)
decide what a cell means. Row numbers are **spreadsheet row numbers** (the header is row 1 in an
ordinary file), so ``rows[i]`` is row ``first_data_row + i``; empty rows stay in ``rows`` (as
empty lists) so that this holds, and are skipped by the importers.

Why the csv module and not pandas here: pandas skips blank lines (which shifts every row number
after them) and either fails or silently drops a row with more cells than the header, while an
importer must say *which* row of the user's file is wrong. Reading 100,000 rows this way takes
about 0.2 s, no slower than ``pandas.read_csv``.

XLSX is checked by content before openpyxl sees a byte of it (issue 11 point 6; see
:func:`check_xlsx`): it must be a zip that holds a workbook; the sizes its zip directory promises
must stay under ``IMPORT_MAX_UNZIPPED_BYTES`` in all and under ``IMPORT_MAX_ZIP_RATIO`` times the
packed size for every large part (a "zip bomb" is refused in milliseconds, from the directory
alone: Python's zipfile never gives more bytes than a part's directory entry promises, so the
promise is what counts); and no XML part may carry a ``<!DOCTYPE`` or ``<!ENTITY`` (external
entities, "billion laughs"). defusedxml is not installed, so openpyxl would parse with the
standard library's expat: this check is what keeps such a part out.

XLSX: the first (active) sheet, read-only and values only. A formula cell gives the value Excel
last calculated and saved; a file written by a program that never calculated it has no value
there, and the cell reads as empty. A formula typed into a CSV cell is just text.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import decimal
import io
import re
import zipfile
import zlib
from dataclasses import dataclass

from flask import current_app, has_app_context
from flask_babel import gettext as _

MAX_FILE_BYTES = 50 * 1024 * 1024  # IMPORT_MAX_BYTES in the config overrides it
MAX_ROWS = 1_000_000
# An XLSX's parts, unpacked (IMPORT_MAX_UNZIPPED_BYTES and IMPORT_MAX_ZIP_RATIO override them): a
# workbook of 1,000,000 ordinary rows unpacks to well under 200 MB, and Excel's sheets pack 5 to
# 20 times; a zip bomb promises gigabytes at a ratio of 1,000.
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_ZIP_RATIO = 100
RATIO_FROM_BYTES = 1024 * 1024  # smaller parts (styles, empty sheets) may pack as they like
MAX_ZIP_MEMBERS = 10_000
XML_HEAD_BYTES = 4096  # the XML declaration, comments and a DOCTYPE come before the root element
DELIMITERS = (";", "\t", ",", "|")  # in order of preference on a tie

# A 1 MB cell is refused per row by the rules; the csv module must at least read it.
csv.field_size_limit(max(csv.field_size_limit(), MAX_FILE_BYTES + 1))


class ImportFileError(Exception):
    """The file cannot be read at all; ``message`` is a Dutch sentence for the user."""

    def __init__(self, message: str):
        self.message = str(message)
        super().__init__(self.message)


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str | None]]
    row_count: int  # data rows that are not empty
    encoding: str | None
    delimiter: str | None
    first_data_row: int  # the spreadsheet row number of rows[0]
    format: str  # "csv" | "xlsx"
    # Numbers like "1.250" are ambiguous; in a ;-separated (Dutch Excel) file or an XLSX the
    # comma is the decimal sign and the dot groups thousands. See rules.parse_number.
    decimal_comma: bool = True

    def row_number(self, index: int) -> int:
        return self.first_data_row + index


def max_file_bytes() -> int:
    if has_app_context():
        return int(current_app.config.get("IMPORT_MAX_BYTES", MAX_FILE_BYTES))
    return MAX_FILE_BYTES


def _config_int(key: str, default: int) -> int:
    if has_app_context():
        return int(current_app.config.get(key, default))
    return default


def safe_filename(name: str | None, default: str = "import.csv") -> str:
    """The file's own name, without any client path ("C:\\fakepath\\…", "../../etc/…") or
    control characters: the only part of an uploaded name that is kept."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    # "C:y.csv" too: a browser's unescaped "C:\\x\\y.csv" reaches Flask without the backslashes
    name = re.sub(r"^[A-Za-z]:", "", name)
    name = "".join(c for c in name if c.isprintable()).strip().lstrip(".").strip()
    return name[-200:] or default


def read_table(data: bytes, filename: str) -> Table:
    """Read ``data`` (the uploaded bytes) as a table; raises :class:`ImportFileError`."""
    limit = max_file_bytes()
    if len(data) > limit:
        raise ImportFileError(_("Het bestand is te groot (hoogstens %(mb)s MB).",
                                mb=limit // (1024 * 1024)))
    if not data or not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise ImportFileError(_("Het bestand is leeg."))
    name = (filename or "").lower()
    if data[:4] == b"PK\x03\x04" or name.endswith((".xlsx", ".xlsm")):
        table = _read_xlsx(data)
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or name.endswith(".xls"):
        raise ImportFileError(_("Oude Excel-bestanden (.xls) worden niet ondersteund. Sla het "
                                "bestand op als Excel-werkmap (.xlsx) of als CSV."))
    else:
        table = _read_csv(data)
    if table.row_count == 0:
        raise ImportFileError(_("Het bestand bevat alleen een kopregel en geen gegevens."))
    return table


# --- CSV ---------------------------------------------------------------------------------------

def _mixed_encoding_line(data: bytes) -> tuple[int, int] | None:
    """(a UTF-8 line, a non-UTF-8 line) when a file that is not valid UTF-8 as a whole still has
    lines with non-ASCII text that are (rows pasted together from two sources): decoding it all
    as Windows-1252 would store "CafÃ©" for "Café"."""
    utf8_line = other_line = None
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_line = utf8_line or number
        except UnicodeDecodeError:
            other_line = other_line or number
        if utf8_line and other_line:
            return utf8_line, other_line
    return None


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise ImportFileError(_("De tekens in het bestand zijn niet te lezen.")) from None
    if b"\x00" in data[:65536]:
        raise ImportFileError(_("Dit is geen CSV- of Excel-bestand (.xlsx), of de tekenset is "
                                "niet te herkennen. Sla het op als CSV UTF-8 of als .xlsx."))
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    mixed = _mixed_encoding_line(data)
    if mixed:
        raise ImportFileError(_(
            "Het bestand mengt twee tekensets: regel %(utf8)s is UTF-8, regel %(other)s niet. Zo "
            "zouden namen verminkt worden opgeslagen. Sla het bestand opnieuw op als CSV UTF-8.",
            utf8=mixed[0], other=mixed[1]))
    try:
        # Windows-1252 (Dutch Excel's "CSV (gescheiden door lijstscheidingsteken)").
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        raise ImportFileError(_("De tekenset van het bestand is niet te herkennen. Sla het op als "
                                "CSV UTF-8 of als Excel-werkmap (.xlsx).")) from None


def _count_outside_quotes(line: str, char: str) -> int:
    count, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            count += 1
    return count


def detect_delimiter(header_line: str) -> str:
    """The separator that splits the header line most often (headers rarely hold one)."""
    counts = {d: _count_outside_quotes(header_line, d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))
    return best if counts[best] else ","


def _quote_line(text: str, delimiter: str, line_num: int, records_read: int) -> int:
    """The text line on which the unreadable record starts (the reader's line number is where it
    gave up, which for an unclosed quote is the end of the file)."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=False)
    line = 1
    for i, _record in enumerate(reader):
        if i == records_read:
            return line
        line = reader.line_num + 1
    return line_num


def _read_csv(data: bytes) -> Table:
    text, encoding = _decode(data)
    meaningful = (line.strip() for line in io.StringIO(text))
    first = next((line for line in meaningful if line), None)
    if first is None:
        raise ImportFileError(_("Het bestand is leeg."))
    hinted = first.lower().startswith("sep=") and len(first) == 5  # Excel's "sep=;" line
    if hinted:
        delimiter = first[4]
    else:
        delimiter = detect_delimiter(first)
    # strict: a quote that is never closed would otherwise swallow every row after it into one
    # cell, silently; now the file is refused with the line where the trouble starts.
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    records = []
    try:
        for record in reader:
            records.append(record)
    except csv.Error:
        raise ImportFileError(_(
            "Het bestand is geen leesbare CSV: bij regel %(line)s staat een aanhalingsteken (\") "
            "dat niet goed wordt afgesloten. Herstel die regel of sla het bestand opnieuw op als "
            "CSV.", line=_quote_line(text, delimiter, reader.line_num, len(records)))) from None
    # Records, not text lines: a quoted cell may span lines, and it is one spreadsheet row.
    start = 0
    while start < len(records) and not any(c.strip() for c in records[start]):
        start += 1
    if hinted:
        start += 1
    while start < len(records) and not any(c.strip() for c in records[start]):
        start += 1
    if start == len(records):
        raise ImportFileError(_("Het bestand is leeg."))
    headers = _headers(records[start])
    rows = records[start + 1:]
    _trim(rows)
    if len(rows) > MAX_ROWS:
        raise ImportFileError(_("Het bestand heeft meer dan %(n)s rijen.",
                                n=f"{MAX_ROWS:,}".replace(",", ".")))
    return Table(headers=headers, rows=rows, row_count=_count(rows), encoding=encoding,
                 delimiter=delimiter, first_data_row=start + 2, format="csv",
                 decimal_comma=delimiter != ",")


# --- XLSX --------------------------------------------------------------------------------------

# What may precede an XML part's root element: a BOM, white space, the declaration, processing
# instructions and comments. A "<!" after that is a DOCTYPE (with or without entities).
_XML_PROLOG = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->)*", re.DOTALL)


def _refuse_not_a_workbook():
    raise ImportFileError(_("Dit bestand is geen Excel-werkmap (.xlsx). Sla het in Excel op als "
                            "Excel-werkmap (.xlsx) of als CSV."))


def _refuse_damaged():
    raise ImportFileError(_("Het Excel-bestand is beschadigd of geen .xlsx-bestand."))


def _xml_doctype(head: bytes, complete: bool) -> bool:
    """Whether an XML part's first bytes hold a DOCTYPE or an entity declaration, or a prolog
    too long to tell (``complete``: ``head`` is the whole part). A part that does not start with
    ``<`` is not XML (an image, printer settings) and is left alone."""
    probe = head.replace(b"\x00", b"")  # UTF-16 and UTF-32 text read as ASCII
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        probe = probe.removeprefix(bom)
    if b"<!ENTITY" in probe.upper():
        return True
    if not probe.lstrip().startswith(b"<"):
        return False
    rest = probe[_XML_PROLOG.match(probe).end():]
    if rest.startswith(b"<!"):
        return True
    return not rest and not complete  # the prolog runs on past what was read: refuse


def check_xlsx(data: bytes) -> None:
    """Refuse an XLSX by what its zip directory says, before anything is unpacked or parsed:
    not a zip or without a workbook, a zip bomb, or XML parts with a DOCTYPE (module docstring).
    Raises :class:`ImportFileError`."""
    if not data.startswith(b"PK"):
        _refuse_not_a_workbook()  # random bytes or a CSV renamed to .xlsx
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
            NotImplementedError):
        _refuse_damaged()
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            _refuse_damaged()
        names = [m.filename for m in members]
        if len(set(names)) != len(names):
            _refuse_damaged()  # two parts of one name: which one would be read?
        limit = _config_int("IMPORT_MAX_UNZIPPED_BYTES", MAX_UNZIPPED_BYTES)
        ratio = _config_int("IMPORT_MAX_ZIP_RATIO", MAX_ZIP_RATIO)
        total = 0
        for member in members:
            total += member.file_size
            if total > limit:
                raise ImportFileError(_(
                    "Dit Excel-bestand wordt uitgepakt groter dan %(mb)s MB en is daarom niet "
                    "gelezen. Splits het bestand of sla het op als CSV.",
                    mb=limit // (1024 * 1024)))
            if member.file_size > RATIO_FROM_BYTES \
                    and member.file_size > ratio * max(member.compress_size, 1):
                raise ImportFileError(_(
                    "Dit Excel-bestand is verdacht sterk ingepakt (een onderdeel wordt bij het "
                    "uitpakken meer dan %(ratio)s keer zo groot) en is daarom niet gelezen. Sla "
                    "het opnieuw op in Excel of als CSV.", ratio=ratio))
        lowered = [name.lower() for name in names]
        if "[content_types].xml" not in lowered or not any(
                re.fullmatch(r"(?:.*/)?workbook\w*\.xml", name) for name in lowered):
            _refuse_not_a_workbook()  # a zip, but not of a workbook
        try:
            for member in members:
                if member.is_dir() or not member.file_size:
                    continue
                with archive.open(member) as part:
                    head = part.read(XML_HEAD_BYTES)
                if _xml_doctype(head, complete=member.file_size <= len(head)):
                    raise ImportFileError(_(
                        "Het Excel-bestand bevat een DOCTYPE- of ENTITY-declaratie. Zulke "
                        "bestanden worden om veiligheidsredenen niet gelezen; sla het opnieuw op "
                        "in Excel of als CSV."))
        except ImportFileError:
            raise
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError,
                RuntimeError, zlib.error):  # RuntimeError: an encrypted part
            _refuse_damaged()


def _read_xlsx(data: bytes) -> Table:
    import openpyxl

    check_xlsx(data)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise ImportFileError(_("Het Excel-bestand is beschadigd of geen .xlsx-bestand.")) from None
    except Exception:  # openpyxl raises many kinds on a malformed workbook
        raise ImportFileError(_("Het Excel-bestand is beschadigd of geen .xlsx-bestand.")) from None
    try:
        sheet = workbook.active or workbook.worksheets[0]
        records: list[list[str | None]] = []
        header_at = None
        for values in sheet.iter_rows(values_only=True):
            row = [_cell(v) for v in values]
            if header_at is None:
                if any(c and c.strip() for c in row):
                    header_at = len(records)
                else:
                    records.append([])
                    continue
            records.append(row)
            if len(records) > MAX_ROWS + 1 + header_at:
                raise ImportFileError(_("Het bestand heeft meer dan %(n)s rijen.",
                                        n=f"{MAX_ROWS:,}".replace(",", ".")))
    except ImportFileError:
        raise
    except Exception:
        raise ImportFileError(_("Het Excel-bestand is beschadigd of geen .xlsx-bestand.")) from None
    finally:
        workbook.close()
    if header_at is None:
        raise ImportFileError(_("Het bestand is leeg."))
    header_row = records[header_at]
    while header_row and not (header_row[-1] or "").strip():
        header_row.pop()  # read-only sheets often report more columns than are used
    headers = _headers([c or "" for c in header_row])
    rows = records[header_at + 1:]
    _trim(rows)
    return Table(headers=headers, rows=rows, row_count=_count(rows), encoding=None,
                 delimiter=None, first_data_row=header_at + 2, format="xlsx", decimal_comma=True)


def _cell(value) -> str | None:
    """Cell text as a Dutch user would type it: numbers without grouping, decimal comma."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return format(decimal.Decimal(repr(value)), "f").replace(".", ",")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


# --- shared ------------------------------------------------------------------------------------

def _headers(cells: list[str]) -> list[str]:
    """Header texts, stripped; an empty header gets a name, a repeated one a number."""
    headers: list[str] = []
    seen: dict[str, int] = {}
    for i, cell in enumerate(cells):
        name = " ".join(str(cell or "").split()) or _("Kolom %(n)s", n=i + 1)
        key = name.lower()
        if key in seen:
            seen[key] += 1
            name = f"{name} ({seen[key]})"
        else:
            seen[key] = 1
        headers.append(name)
    return headers


def _trim(rows: list) -> None:
    while rows and not any((c or "").strip() for c in rows[-1]):
        rows.pop()


def _count(rows: list) -> int:
    return sum(1 for r in rows if any((c or "").strip() for c in r))


def is_empty(row) -> bool:
    return not any((c or "").strip() for c in row)
