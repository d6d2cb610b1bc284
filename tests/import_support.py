"""Helpers for the import tests: the shared sample files, nasty files built on the spot, and a
one-call import through the real job (create the Job with its input file, run it)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import sqlalchemy as sa

from sdd_crm.extensions import db

# The shared samples next to the repository (../shared/samples); a clone elsewhere uses the
# project's own copy in tests/samples.
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
if not SAMPLES.exists():
    SAMPLES = Path(__file__).resolve().parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def csv_bytes(headers, rows, *, delimiter=";", encoding="cp1252", bom=False,
              newline="\r\n") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
    writer.writerow(headers)
    writer.writerows(rows)
    text = out.getvalue()
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(headers, rows, *, formulas: dict | None = None) -> bytes:
    """An XLSX written by openpyxl; ``formulas`` maps "C3" → "=A1*2" (stored without a cached
    value, as any program but Excel writes them)."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    for cell, formula in (formulas or {}).items():
        sheet[cell] = formula
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def with_cached_formula(xlsx: bytes, cell: str, formula: str, value: str) -> bytes:
    """The XLSX with ``cell`` holding ``formula`` *and* its last calculated value, as Excel
    saves it (openpyxl cannot write both)."""
    import re
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                xml = data.decode()
                xml, n = re.subn(rf'<c r="{cell}"[^>]*?(/>|>.*?</c>)',
                                 f'<c r="{cell}"><f>{formula.lstrip("=")}</f><v>{value}</v></c>',
                                 xml, count=1)
                assert n == 1, xml[:500]
                data = xml.encode()
            target.writestr(item, data)
    return out.getvalue()


KVK_HEADERS = ["Handelsnaam", "KvK-nummer", "Vestigingsnummer", "Straat", "Huisnummer",
               "Postcode", "Plaats", "SBI-code", "Werkzame personen", "Omzet"]


def kvk_row(name, kvk, est="", street="Havenweg", number="1", postcode="3311 AB",
            city="Dordrecht", sbi="3315", employees="10", turnover=""):
    return [name, kvk, est, street, number, postcode, city, sbi, employees, turnover]


def run_import(data: bytes, filename: str = "bestand.csv", kind: str = "organisations", *,
               mapping: dict | None = None, dry_run: bool = False, actor=None) -> dict:
    """Import ``data`` as the browser and the CLI do: a Job with the file, then the job run."""
    from sdd_crm.imports.jobs import create_import_job, run_import_job
    from sdd_crm.imports.mapping import mapping_for
    from sdd_crm.imports.reading import read_table

    if mapping is None:
        mapping, _saved = mapping_for(read_table(data, filename).headers, kind)
    job = create_import_job(data, filename, kind, mapping, dry_run=dry_run, actor=actor)
    db.session.commit()
    summary = run_import_job(job.id)
    db.session.expire_all()
    return summary


def counts(summary: dict) -> tuple:
    return (summary["created"], summary["updated"], summary["unchanged"],
            summary["held_for_review"], summary["rejected"])


def org_by_kvk(kvk: str):
    from sdd_crm.organisations.models import Organisation

    return db.session.scalar(sa.select(Organisation).where(Organisation.kvk_number == kvk))


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def many_rows_csv(n: int, *, seed: int = 7) -> bytes:
    """``n`` valid KvK rows, each with its own establishment and SBI code (for speed tests)."""
    import random

    rs = random.Random(seed)
    kvks = rs.sample(range(10_000_000, 99_999_999), n)
    places = ["Dordrecht", "Zwijndrecht", "Heerjansdam", "Papendrecht", "Sliedrecht", "Breda"]
    rows = [[f"Bedrijf {i} B.V.", f"{kvk}", f"{kvk}0001", "Havenweg", str(i % 300 + 1),
             f"{rs.randrange(1000, 9999)} AB", rs.choice(places), rs.choice(["3315", "3011"]),
             str(rs.randrange(1, 500)), f"{rs.randrange(10, 90000)}000,00"]
            for i, kvk in enumerate(kvks)]
    return csv_bytes(KVK_HEADERS, rows)
