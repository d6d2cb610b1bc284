"""A person in the files jobs keep (uploaded imports, their reports, built exports).

The files are JobFiles in the database (``sdd_crm.jobs.files``): CSV (any of the encodings an
import accepts) or XLSX workbooks. :func:`rows_about` finds the rows that are the person's (for
the access request); :func:`scrub_file` rewrites a file without the person (for the erasure):
in a row that is theirs, every cell with their name, e-mail address or number; anywhere else,
their full name, e-mail address and numbers. A file that does not mention them is left as it is.
"""

from __future__ import annotations

import csv
import html
import io
import zipfile
from dataclasses import dataclass

from .person import Person

XLSX_MAGIC = b"PK\x03\x04"
# Our own files: exports and kept uploads (checked for zip bombs when they were uploaded).
MAX_MEMBER_BYTES = 200 * 1024 * 1024


@dataclass
class Text:
    text: str
    encoding: str
    bom: bool


def _decode(data: bytes) -> Text | None:
    if b"\x00" in data[:4096]:
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        return Text(data[3:].decode("utf-8", errors="replace"), "utf-8", True)
    try:
        return Text(data.decode("utf-8"), "utf-8", False)
    except UnicodeDecodeError:
        return Text(data.decode("cp1252", errors="replace"), "cp1252", False)


def _xlsx_text(data: bytes) -> str | None:
    """The text of every XML part of a workbook (to see whether it mentions someone at all)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            parts = []
            for info in zf.infolist():
                if info.filename.endswith(".xml") and info.file_size <= MAX_MEMBER_BYTES:
                    parts.append(html.unescape(zf.read(info).decode("utf-8", errors="replace")))
            return "\n".join(parts)
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def _dialect(text: str):
    sample = text[:20000]
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,\t")
    except csv.Error:
        class Semicolon(csv.excel):
            delimiter = ";"
        return Semicolon


def _csv_rows(text: str) -> tuple[list[list[str]], object]:
    dialect = _dialect(text)
    return list(csv.reader(io.StringIO(text, newline=""), dialect)), dialect


def _scrub_cells(person: Person, cells: list, about: bool) -> tuple[list, bool]:
    out, changed = [], False
    for cell in cells:
        new = cell
        if isinstance(cell, str):
            new = person.scrub(cell, weak=about)
        changed |= new != cell
        out.append(new)
    return out, changed


def _workbook(data: bytes):
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(data))


def _mentions_file(person: Person, data: bytes) -> tuple[str, str | Text | None]:
    """("xlsx", text) / ("csv", Text) / ("", None) when the file does not mention the person."""
    if data.startswith(XLSX_MAGIC):
        text = _xlsx_text(data)
        if text and person.mentions(text, weak=True):
            return "xlsx", text
        return "", None
    decoded = _decode(data)
    if decoded is not None and person.mentions(decoded.text, weak=True):
        return "csv", decoded
    return "", None


def rows_about(person: Person, data: bytes) -> list[dict]:
    """The rows of a file that are the person's: ``{"sheet", "row", "values"}``, ``values``
    keyed by the file's header row."""
    kind, content = _mentions_file(person, data)
    found = []
    if kind == "csv":
        rows = _csv_rows(content.text)[0]
        sheets = [("", rows)]
    elif kind == "xlsx":
        try:
            book = _workbook(data)
        except Exception:  # noqa: BLE001 (not a workbook we can read: nothing to show)
            return []
        sheets = [(ws.title, [list(r) for r in ws.iter_rows(values_only=True)])
                  for ws in book.worksheets]
    else:
        return []
    for sheet, rows in sheets:
        header = [str(h) if h is not None else "" for h in (rows[0] if rows else [])]
        for number, row in enumerate(rows[1:], start=2):
            if person.row_is_about(row):
                values = {}
                for i, value in enumerate(row):
                    key = header[i] if i < len(header) and header[i] else f"kolom {i + 1}"
                    values[key] = value if isinstance(value, (str, int, float, bool)) or \
                        value is None else str(value)
                found.append({"sheet": sheet, "row": number, "values": values})
    return found


def holds(person: Person, data: bytes) -> bool | None:
    """Whether a file holds the person: a strong mark (full name, e-mail address, number) or a
    row that is theirs (first and last name as two cells). False when it only shares a first
    name or surname with them (another "Jan"), None when it does not mention them at all."""
    kind, content = _mentions_file(person, data)
    if not kind:
        return None
    return person.mentions(content if kind == "xlsx" else content.text) \
        or bool(rows_about(person, data))


def scrub_file(person: Person, data: bytes, *, weak: Person | None = None) -> bytes | None:
    """The file without the person, or None when it does not mention them (left as it is).
    A first name or surname alone goes only from the rows that are the person's, and from a
    workbook's metadata for ``weak`` (the people the file is about, see :func:`holds`)."""
    kind, content = _mentions_file(person, data)
    if kind == "csv":
        rows, dialect = _csv_rows(content.text)
        changed = False
        out = []
        for row in rows:
            new, row_changed = _scrub_cells(person, row, person.row_is_about(row))
            out.append(new)
            changed |= row_changed
        if not changed:
            # Mentioned outside the cells (it was not a table after all): scrub it as text.
            text = person.scrub(content.text)
            return None if text == content.text else _encode(text, content)
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, delimiter=dialect.delimiter, quotechar=dialect.quotechar or '"',
                            lineterminator="\r\n" if "\r\n" in content.text[:20000] else "\n")
        writer.writerows(out)
        return _encode(buffer.getvalue(), content)
    if kind == "xlsx":
        try:
            book = _workbook(data)
        except Exception:  # noqa: BLE001 (unreadable: drop nothing silently, keep the bytes)
            return None
        changed = False
        for ws in book.worksheets:
            for row in ws.iter_rows():
                values = [c.value for c in row]
                about = person.row_is_about(values)
                for c in row:
                    if isinstance(c.value, str):
                        new, cell_changed = _scrub_cells(person, [c.value], about)
                        if cell_changed:
                            c.value = new[0]
                            changed = True
        props = book.properties
        for attr in ("creator", "lastModifiedBy", "title", "subject", "description", "keywords"):
            value = getattr(props, attr, None)
            if isinstance(value, str) and person.mentions(value, weak=True):
                new = person.scrub(value)
                if weak is not None:
                    new = weak.scrub(new, weak=True)
                if new != value:
                    setattr(props, attr, new)
                    changed = True
        if not changed:
            return None
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()
    return None


def _encode(text: str, content: Text) -> bytes:
    data = text.encode(content.encoding, errors="replace")
    return (b"\xef\xbb\xbf" + data) if content.bom else data
