"""The accountability workbook of a programme's SME count (issue 5): a pure function, data → bytes.

The national growth fund audits SCALE's count from this file, so it explains itself: a first
sheet "Samenvatting" (programme, region, target, count, when and by whom it was made, the counting
rule), then "Meegeteld" (every counted organisation with its size evidence) and "Niet meegeteld"
(every excluded participation with its reason). Choices:

- The workbook is Dutch whatever the user's language, and its wording is fixed here rather than
  taken from the translation catalogue: it is a document of record, and the same data must give
  the same file whoever, or whichever worker, builds it.
- Given the same data (``generated_at`` included) the bytes are identical (fixed zip timestamps and
  document properties), so a checksum identifies the file the fund received.
- Text a spreadsheet could run as a formula (starting with =, +, -, @, tab or CR) gets an
  apostrophe in front (OWASP "CSV injection"); numbers stay numbers and dates real Excel dates.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import math
import zipfile
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from .counting import Reason
from .sme import MAX_BALANCE, MAX_EMPLOYEES, MAX_TURNOVER, SmeStatus

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "dd-mm-yyyy"
DATETIME_FORMAT = "dd-mm-yyyy hh:mm:ss"
BOLD = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")


@dataclass(frozen=True)
class CountedRow:
    """One counted organisation (the surviving record of a merge) and its counting participation."""

    organisation_id: int
    participation_id: int
    name: str
    kvk: str | None
    municipality_code: str | None
    municipality_name: str | None
    employees: int | None
    turnover: decimal.Decimal | None
    balance: decimal.Decimal | None
    sme: str  # SmeStatus.SME or SmeStatus.SME_UNVERIFIED
    parent_name: str | None
    parent_kvk: str | None
    status: str
    counted_on: dt.date | None
    owner: str | None


@dataclass(frozen=True)
class ExcludedRow:
    """One participation that does not count; the organisation is the one the rule judged (for a
    merged record, the record it was merged into), ``registered_on`` the merged record itself."""

    organisation_id: int
    participation_id: int
    name: str
    kvk: str | None
    org_type: str
    municipality_code: str | None
    municipality_name: str | None
    employees: int | None
    turnover: decimal.Decimal | None
    balance: decimal.Decimal | None
    status: str
    reason: str  # a counting.Reason value
    parent_name: str | None = None
    parent_kvk: str | None = None
    registered_on: str | None = None


@dataclass(frozen=True)
class ExportData:
    programme_code: str
    programme_name: str
    funder: str | None
    start_date: dt.date | None
    end_date: dt.date | None
    region: list[tuple[str, str]]  # (CBS code, name), in the order shown
    target: int | None
    generated_at: dt.datetime  # timezone-aware
    generated_by: str
    job_id: str | None
    counted: list[CountedRow]
    excluded: list[ExcludedRow]
    timezone: str = "Europe/Amsterdam"


# --- The document's wording (fixed Dutch; see the module docstring) ---------------------------
TITLE = "Verantwoording mkb-telling"
SHEET_SUMMARY, SHEET_COUNTED, SHEET_EXCLUDED = "Samenvatting", "Meegeteld", "Niet meegeteld"
NOT_RECORDED = "(niet vastgelegd)"
SOURCE = "SDD CRM van Smart Delta Drechtsteden, telling volgens de regel hieronder"
STATUS = {"identified": "Geïdentificeerd", "approached": "Benaderd", "interested": "Geïnteresseerd",
          "participating": "Neemt deel", "completed": "Afgerond", "declined": "Afgehaakt"}
ORG_TYPE = {"company": "Bedrijf", "knowledge_institution": "Kennisinstelling",
            "education": "Onderwijs", "government": "Overheid", "other": "Overig"}
SME_VERDICT = {SmeStatus.SME: "mkb", SmeStatus.SME_UNVERIFIED: "mkb, cijfers niet geverifieerd"}
FORMATS = {"code": "@", "int": "#,##0", "money": "#,##0", "date": DATE_FORMAT, "id": "0"}
COUNTED_COLUMNS = [
    ("Organisatie", "text"), ("KvK-nummer", "code"), ("Gemeente", "text"), ("CBS-code", "code"),
    ("Werkzame personen", "int"), ("Jaaromzet (EUR)", "money"), ("Balanstotaal (EUR)", "money"),
    ("Mkb-oordeel", "text"), ("Moedermaatschappij (groep)", "text"), ("KvK-nummer groep", "code"),
    ("Status deelname", "text"), ("Meegeteld sinds", "date"), ("Eigenaar deelname", "text"),
    ("CRM-id organisatie", "id"), ("CRM-id deelname", "id"),
]
EXCLUDED_COLUMNS = [
    ("Organisatie", "text"), ("KvK-nummer", "code"), ("Gemeente", "text"), ("CBS-code", "code"),
    ("Soort organisatie", "text"), ("Werkzame personen", "int"), ("Jaaromzet (EUR)", "money"),
    ("Balanstotaal (EUR)", "money"), ("Status deelname", "text"), ("Redencode", "code"),
    ("Reden", "text"), ("Toelichting", "text"), ("Geregistreerd op (samengevoegd record)", "text"),
    ("CRM-id organisatie", "id"), ("CRM-id deelname", "id"),
]
# In the order the rule checks them (counting.Reason): a participation shows the first that applies.
REASON_LABEL = {
    "status": "Status telt (nog) niet mee", "deleted": "Organisatie verwijderd",
    "dissolved": "Organisatie opgeheven", "outside_region": "Buiten de regio",
    "not_company": "Geen bedrijf", "employees_unknown": "Werkzame personen onbekend",
    "not_sme": "Geen mkb", "group_not_sme": "Groep is geen mkb",
    "duplicate": "Dubbel (telt al mee)",
}
REASON_TEXT = {
    "status": "De deelname heeft niet de status 'Neemt deel' of 'Afgerond'.",
    "deleted": "De organisatie is verwijderd uit het CRM.",
    "dissolved": "De organisatie is opgeheven.",
    "outside_region": "De gemeente van de organisatie hoort niet bij de regio van het programma, "
                      "of is onbekend.",
    "not_company": "De organisatie is geen bedrijf; de mkb-definitie geldt alleen voor bedrijven.",
    "employees_unknown": "Het aantal werkzame personen is onbekend, dus de mkb-toets kan niet "
                         "worden gedaan.",
    "not_sme": f"{MAX_EMPLOYEES} of meer werkzame personen, of omzet en balanstotaal boven de "
               "grenzen.",
    "group_not_sme": "De organisatie hoort bij een groep waarvan de moedermaatschappij geen mkb "
                     "(of geen bedrijf) is.",
    "duplicate": "Dezelfde organisatie telt al mee via een andere deelname (samengevoegde "
                 "dubbele records tellen één keer).",
}
RULE_SECTIONS = [
    ("Telregel", [
        "Een organisatie telt mee voor het doel van het programma als zij aan alle vier de "
        "voorwaarden voldoet: (a) zij heeft een deelname aan het programma met de status "
        "'Neemt deel' of 'Afgerond'; (b) zij is een mkb-bedrijf volgens de EU-definitie "
        "hieronder, ook als haar financiële cijfers nog niet geverifieerd zijn; (c) haar gemeente "
        "(die van haar hoofdvestiging in de regio) hoort bij de regio van het programma; (d) zij "
        "is niet opgeheven (en niet verwijderd).",
        "Elke organisatie telt één keer: dubbele records die zijn samengevoegd, tellen als één "
        "organisatie. Elke deelname die niet meetelt, staat op het blad 'Niet meegeteld' met de "
        "eerste reden die van toepassing is, in de volgorde van de tabel 'Niet meegeteld per "
        "reden' hieronder.",
    ]),
    ("Mkb-definitie", [
        "Mkb volgens de EU-definitie (Aanbeveling 2003/361/EG van de Europese Commissie): een "
        f"bedrijf met minder dan {MAX_EMPLOYEES} werkzame personen en een jaaromzet van ten hoogste "
        f"EUR {MAX_TURNOVER / 1_000_000:.0f} miljoen of een balanstotaal van ten hoogste EUR "
        f"{MAX_BALANCE / 1_000_000:.0f} miljoen.",
        f"Zijn de werkzame personen bekend en minder dan {MAX_EMPLOYEES}, maar zijn jaaromzet en "
        "balanstotaal "
        "allebei onbekend, dan telt het bedrijf mee als 'mkb, cijfers niet geverifieerd'. Is het "
        "aantal werkzame personen onbekend, dan telt het bedrijf niet mee (gegevens ontbreken). "
        "Een bedrijf dat hoort bij een groep waarvan de moedermaatschappij geen mkb is, is zelf "
        "ook geen mkb.",
        "Waar de definitie niets zegt, is voorzichtig gekozen: is één financieel cijfer bekend en "
        "boven de grens en het andere onbekend, dan is het bedrijf geen mkb; is de "
        "moedermaatschappij geen bedrijf (bijvoorbeeld een overheidsorgaan), dan is de dochter "
        "geen mkb; zijn de cijfers van de moedermaatschappij niet geverifieerd, dan geldt dat ook "
        "voor de dochter.",
    ]),
    ("Reproduceerbaarheid", [
        "De telling is gemaakt uit de gegevens in het CRM op het moment 'Stand per' hierboven. "
        "Dezelfde gegevens geven dezelfde uitkomst. De CRM-id's op de andere bladen verwijzen "
        "naar de records in het CRM; 'Meegeteld sinds' is de datum waarop de deelname (het "
        "laatst) de status 'Neemt deel' of 'Afgerond' kreeg.",
    ]),
]
REASONS_HEADING = "Niet meegeteld per reden"
MUNICIPALITIES_HEADING = "Meegeteld per gemeente"
SHEETS_HEADING = "Bladen in dit bestand"
SHEET_TEXTS = [
    (SHEET_COUNTED, "Eén regel per meegetelde organisatie, met de gegevens waaruit blijkt dat zij "
                    "mkb is (werkzame personen, jaaromzet, balanstotaal, groep) en sinds wanneer "
                    "zij meetelt."),
    (SHEET_EXCLUDED, "Eén regel per deelname die niet meetelt, met de reden en een toelichting."),
]


def _org(name: str | None, kvk: str | None) -> str:
    return f"{name} (KvK {kvk})" if kvk else (name or "")


def explain(row: ExcludedRow) -> str:
    """Why this participation does not count, in a sentence about this organisation."""
    reason = row.reason
    if reason == Reason.STATUS:
        return (f"De deelname heeft de status '{STATUS.get(row.status, row.status)}'; alleen "
                "'Neemt deel' en 'Afgerond' tellen mee.")
    if reason == Reason.OUTSIDE_REGION:
        if not row.municipality_code:
            return "De gemeente van de organisatie is onbekend, dus niet aantoonbaar in de regio."
        return (f"Gemeente {row.municipality_name or row.municipality_code} hoort niet bij de regio "
                "van het programma.")
    if reason == Reason.NOT_COMPANY:
        return (f"De organisatie is geen bedrijf maar '{ORG_TYPE.get(row.org_type, row.org_type)}'"
                "; de mkb-definitie geldt alleen voor bedrijven.")
    if reason == Reason.NOT_SME:
        if row.employees is not None and row.employees >= MAX_EMPLOYEES:
            return (f"{row.employees} werkzame personen; een mkb-bedrijf heeft er minder dan "
                    f"{MAX_EMPLOYEES}.")
        return (f"De jaaromzet is hoger dan EUR {MAX_TURNOVER / 1_000_000:.0f} miljoen en het "
                f"balanstotaal hoger dan EUR {MAX_BALANCE / 1_000_000:.0f} miljoen (of het enige "
                "bekende cijfer ligt boven zijn grens).")
    if reason == Reason.GROUP_NOT_SME and row.parent_name:
        return (f"De organisatie hoort bij de groep van {_org(row.parent_name, row.parent_kvk)}, "
                "die geen mkb (of geen bedrijf) is; dan is de organisatie zelf ook geen mkb.")
    if reason == Reason.DUPLICATE and row.registered_on:
        return (f"De deelname staat op {row.registered_on}, samengevoegd met deze organisatie, die "
                "al meetelt via een andere deelname; elke organisatie telt één keer.")
    return REASON_TEXT.get(reason, reason)


def summarise(data: ExportData) -> dict:
    """The figures of the first sheet, as the Job's result stores them."""
    excluded = {r.value: 0 for r in Reason}
    for row in data.excluded:
        excluded[row.reason] = excluded.get(row.reason, 0) + 1
    return {
        "counted": len(data.counted),
        "unverified": sum(1 for r in data.counted if r.sme == SmeStatus.SME_UNVERIFIED),
        "excluded": {k: v for k, v in excluded.items() if v},
        "excluded_total": len(data.excluded),
        "rows": len(data.counted) + len(data.excluded),
        "target": data.target,
    }


def safe_text(value: str) -> str:
    """Text a spreadsheet shows as text: no formula start, no characters XML cannot hold."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + value if value.startswith(FORMULA_START) else value


def _cell(value):
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def build_workbook(data: ExportData) -> bytes:
    """The workbook as .xlsx bytes."""
    zone = ZoneInfo(data.timezone)
    local = data.generated_at.astimezone(zone).replace(tzinfo=None)
    wb = Workbook()
    _summary_sheet(wb.active, data, local)
    counted = sorted(data.counted, key=lambda r: (r.name.casefold(), r.kvk or "", r.organisation_id))
    _table(wb.create_sheet(SHEET_COUNTED), COUNTED_COLUMNS, [_counted(r) for r in counted])
    order = {r.value: i for i, r in enumerate(Reason)}
    excluded = sorted(data.excluded, key=lambda r: (order.get(r.reason, 99), r.name.casefold(),
                                                    r.participation_id))
    _table(wb.create_sheet(SHEET_EXCLUDED), EXCLUDED_COLUMNS, [_excluded(r) for r in excluded])
    utc = data.generated_at.astimezone(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    props = wb.properties
    props.creator, props.lastModifiedBy = "SDD CRM", None
    props.title = safe_text(f"Verantwoording {data.programme_name}")[:200]
    props.created = props.modified = utc
    return _fixed_zip(wb, local)


def _counted(r: CountedRow) -> list:
    return [r.name, r.kvk, r.municipality_name, r.municipality_code, r.employees, r.turnover,
            r.balance, SME_VERDICT.get(r.sme, r.sme), r.parent_name, r.parent_kvk,
            STATUS.get(r.status, r.status), r.counted_on, r.owner, r.organisation_id,
            r.participation_id]


def _excluded(r: ExcludedRow) -> list:
    return [r.name, r.kvk, r.municipality_name, r.municipality_code,
            ORG_TYPE.get(r.org_type, r.org_type), r.employees, r.turnover, r.balance,
            STATUS.get(r.status, r.status), r.reason, REASON_LABEL.get(r.reason, r.reason),
            explain(r), r.registered_on, r.organisation_id, r.participation_id]


def _table(ws, columns, rows) -> None:
    """A data sheet: bold frozen header, autofilter, typed cells, widths from the content."""
    ws.append([header for header, _kind in columns])
    for cell in ws[1]:
        cell.font = BOLD
        cell.alignment = Alignment(vertical="top")
    for values in rows:
        ws.append([_cell(v) for v in values])
    widths = [len(header) for header, _kind in columns]
    for index, (_header, kind) in enumerate(columns):
        fmt = FORMATS.get(kind)
        for (cell,) in ws.iter_rows(min_row=2, min_col=index + 1, max_col=index + 1):
            if fmt and cell.value is not None:
                cell.number_format = fmt
            widths[index] = max(widths[index], _shown_width(cell.value, kind))
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = min(max(width + 2, 8), 60)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(ws.max_row, 1)}"


def _shown_width(value, kind) -> int:
    if value is None:
        return 0
    if kind == "date":
        return 10
    if kind == "money":
        return len(f"{value:,.0f}")
    return len(str(value))


def _summary_sheet(ws, data: ExportData, local: dt.datetime) -> None:
    figures = summarise(data)
    ws.title = SHEET_SUMMARY
    for letter, width in zip("ABCD", (46, 100, 18, 10)):
        ws.column_dimensions[letter].width = width
    ws.append([TITLE])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([safe_text(data.programme_name)])
    ws["A2"].font = Font(bold=True, size=12)
    ws.append([])
    target, counted = data.target, figures["counted"]
    region = ", ".join(f"{name} ({code})" for code, name in data.region)
    facts = [
        ("Programma", data.programme_name, None),
        ("Programmacode", data.programme_code, None),
        ("Financier", data.funder or NOT_RECORDED, None),
        ("Startdatum", data.start_date or NOT_RECORDED, DATE_FORMAT),
        ("Einddatum", data.end_date or NOT_RECORDED, DATE_FORMAT),
        ("Regio van het programma", region or NOT_RECORDED, None),
        ("Aantal gemeenten in de regio", len(data.region), "0"),
        ("Doel (aantal mkb-bedrijven)", target if target is not None else NOT_RECORDED, "#,##0"),
        ("Meegeteld (unieke organisaties)", counted, "#,##0"),
        ("waarvan mkb met niet-geverifieerde cijfers", figures["unverified"], "#,##0"),
        ("Voortgang ten opzichte van het doel", counted / target if target else NOT_RECORDED,
         "0.0%"),
        ("Niet meegetelde deelnames", figures["excluded_total"], "#,##0"),
        ("Deelnames in totaal", figures["rows"], "#,##0"),
        ("Stand per (Nederlandse tijd)", local.replace(microsecond=0), DATETIME_FORMAT),
        ("Gegenereerd door", data.generated_by, None),
        ("Kenmerk van deze export", data.job_id or NOT_RECORDED, None),
        ("Bron", SOURCE, None),
    ]
    for label, value, fmt in facts:
        ws.append([label, _cell(value)])
        row = ws.max_row
        ws.cell(row, 1).font = BOLD
        ws.cell(row, 2).alignment = Alignment(horizontal="left", wrap_text=True)
        if fmt and not isinstance(value, str):
            ws.cell(row, 2).number_format = fmt
    for heading, paragraphs in RULE_SECTIONS:
        ws.append([])
        ws.append([heading])
        ws.cell(ws.max_row, 1).font = BOLD
        for paragraph in paragraphs:
            _paragraph(ws, paragraph)
    ws.append([])
    _small_table(ws, REASONS_HEADING, ["Reden", "Toelichting", "Code", "Aantal"],
                 [[REASON_LABEL[r.value], REASON_TEXT[r.value], r.value,
                   figures["excluded"].get(r.value, 0)] for r in Reason],
                 ["Totaal niet meegeteld", None, None, figures["excluded_total"]])
    ws.append([])
    per_municipality: dict[str, int] = {}
    for row in data.counted:
        per_municipality[row.municipality_code] = per_municipality.get(row.municipality_code, 0) + 1
    _small_table(ws, MUNICIPALITIES_HEADING, ["Gemeente", "CBS-code", "Meegeteld"],
                 [[name, code, per_municipality.get(code, 0)] for code, name in data.region],
                 ["Totaal meegeteld", None, counted])
    ws.append([])
    ws.append([SHEETS_HEADING])
    ws.cell(ws.max_row, 1).font = BOLD
    for name, text in SHEET_TEXTS:
        _paragraph(ws, text, label=name)


def _paragraph(ws, text: str, label: str | None = None) -> None:
    ws.append([label, safe_text(text)])
    row = ws.max_row
    ws.cell(row, 2).alignment = WRAP
    ws.cell(row, 1).alignment = Alignment(vertical="top")
    # openpyxl cannot measure text and Excel does not fit rows on opening: estimate the height.
    ws.row_dimensions[row].height = 15 * max(1, math.ceil(len(text) / 95))


def _small_table(ws, heading: str, header: list, rows: list[list], total: list) -> None:
    ws.append([heading])
    ws.cell(ws.max_row, 1).font = BOLD
    ws.append(header)
    for cell in ws[ws.max_row]:
        cell.font = BOLD
    for values in [*rows, total]:
        ws.append([_cell(v) for v in values])
        for cell in ws[ws.max_row]:
            cell.alignment = WRAP
    for cell in ws[ws.max_row]:
        cell.font = BOLD


def _fixed_zip(wb: Workbook, stamp: dt.datetime) -> bytes:
    """Save without openpyxl's "modified = now" and with every zip entry stamped ``stamp``."""
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()
    out = io.BytesIO()
    date_time = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute,
                 stamp.second)
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()
