"""Lists as spreadsheets: the columns of each list and the rows of its own query.

Each kind re-runs the list page's query with the page's own filters, as the user who asked
(so visibility — DESIGN 4.4 — is the page's), and yields plain Python values per row; the
writers at the end turn them into CSV or XLSX with formulas neutralised.

Who may export: the roles that work with the data (``WORKER_ROLES``), and only the lists they
may view. Viewers (board members, analysts) read dashboards and lists on screen but take no
copies: an export is a bulk copy of company and personal data, and the GDPR's data
minimisation (art. 5(1)(c)) and security (art. 32) rules ask us to hand such copies only to
the people whose work needs them.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import decimal
import io
import re
import types
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy.orm import aliased

from .. import labels
from ..auth.models import User
from ..extensions import db
from ..i18n import local_today
from ..jobs.lifecycle import JobFailed
from ..permissions import WORKER_ROLES, can_view_contacts
from ..interactions.visibility import can_see_interactions

KINDS = ("organisations", "contacts", "interactions", "participations")
BATCH = 1000  # rows fetched per round trip (yield_per), and per extra query (SBI codes, topics)
TEXT, INT, NUMBER, DATE = "text", "int", "number", "date"


@dataclass(frozen=True)
class Column:
    header: object  # a lazy Dutch string
    type: str = TEXT
    width: int = 18  # characters, for the XLSX column


@dataclass
class Export:
    """One list to write: its columns, and a query whose rows ``shape`` turns into value tuples.

    ``shape`` gets a batch of result rows and may run one extra query per batch (SBI codes,
    topics), so a list of any size costs a fixed number of statements per thousand rows.
    """

    kind: str
    stem: str  # file name without date and extension
    title: object  # sheet title (lazy string)
    columns: list[Column]
    stmt: sa.Select
    shape: Callable[[Sequence], Iterable[tuple]]
    orm: bool = False  # rows are ORM objects (else plain columns, read without the ORM's cost)

    def _execute(self, stmt):
        return (db.session if self.orm else db.session.connection()).execute(stmt)

    def fetch(self, limit: int) -> list:
        """At most ``limit`` raw rows: the direct path asks for n + 1 to know if n is exceeded."""
        return list(self._execute(self.stmt.limit(limit)).all())

    def rows(self, prefetched: Sequence | None = None) -> Iterator[tuple]:
        """Every row as a tuple of values, streamed ``BATCH`` rows at a time."""
        if prefetched is not None:
            for start in range(0, len(prefetched), BATCH):
                yield from self.shape(prefetched[start:start + BATCH])
            return
        result = self._execute(self.stmt.execution_options(yield_per=BATCH))
        try:
            for part in result.partitions():
                yield from self.shape(part)
        finally:  # also when the writer stops early (see write): PostgreSQL's server cursor
            result.close()

    def count(self) -> int:
        """The number of rows — for a job's progress only; pages and the direct path never count."""
        return db.session.scalar(sa.select(sa.func.count()).select_from(
            self.stmt.order_by(None).subquery())) or 0


def may_export(user, kind: str) -> bool:
    """The same permission as viewing the list, and never for viewers (see the module docstring)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    if kind not in KINDS or user.role not in WORKER_ROLES:
        return False
    if kind == "contacts":
        return can_view_contacts(user)
    if kind == "interactions":
        return can_see_interactions(user)
    return True


def build_export(kind: str, user: User, args, *, programme=None) -> Export:
    """The export of list ``kind`` with the page's filters ``args`` (a mapping of strings)."""
    return BUILDERS[kind](user, args, programme=programme)


def _among(column, ids: list[int]):
    """``column IN ids`` for one batch; on PostgreSQL as ``= ANY(array)``, one parameter instead
    of a thousand (measured: 12 ms against 58 ms per batch of 1,000)."""
    if db.session.connection().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == sa.any_(sa.bindparam(None, ids, type_=ARRAY(sa.Integer)))
    return column.in_(ids)


def _resolved(mapping: dict) -> dict[str, str]:
    """A label map with its lazy strings resolved once (not once per row)."""
    return {key: str(value) for key, value in mapping.items()}


def _yes_no() -> tuple[str, str]:
    return _("ja"), _("nee")


def _local_date(moment: dt.datetime | None) -> dt.date | None:
    """A stored UTC moment as the region's calendar day."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    zone = current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Amsterdam"
    return moment.astimezone(ZoneInfo(zone)).date()


# --- Organisations ------------------------------------------------------------------------

ORGANISATION_COLUMNS = [
    Column(_l("Nummer"), INT, 10), Column(_l("Naam"), width=40), Column(_l("KvK-nummer"), width=12),
    Column(_l("Rechtsvorm"), width=20), Column(_l("Type"), width=16), Column(_l("Status"), width=12),
    Column(_l("Grootteklasse"), width=20), Column(_l("Werkzame personen"), INT, 12),
    Column(_l("Jaaromzet (EUR)"), NUMBER, 16), Column(_l("Balanstotaal (EUR)"), NUMBER, 16),
    Column(_l("SBI-codes"), width=24), Column(_l("Straat en huisnummer"), width=30),
    Column(_l("Postcode"), width=9), Column(_l("Plaats"), width=20), Column(_l("Gemeente"), width=20),
    Column(_l("CBS-code gemeente"), width=10), Column(_l("Website"), width=30),
    Column(_l("Telefoon"), width=16), Column(_l("E-mailadres"), width=30),
    Column(_l("Kritisch"), width=9), Column(_l("Laatste contact"), DATE, 12),
]


def organisations_export(user, args, *, programme=None) -> Export:
    from ..organisations.models import Organisation as O
    from ..organisations.models import OrganisationSbi
    from ..organisations.queries import OrganisationFilters, organisation_list
    from ..reference.models import Municipality as M

    stmt = (organisation_list(OrganisationFilters.from_args(args))
            .with_only_columns(O.id, O.name, O.kvk_number, O.legal_form, O.org_type, O.status,
                               O.size_class, O.employees, O.annual_turnover_eur,
                               O.balance_sheet_total_eur, O.street, O.postcode, O.city, M.name,
                               O.municipality_code, O.website, O.phone, O.email, O.is_critical,
                               O.last_contact_on)
            .outerjoin(M, M.code == O.municipality_code))
    types, statuses = _resolved(labels.ORG_TYPE), _resolved(labels.ORG_STATUS)
    sizes, (yes, no) = _resolved(labels.SIZE_CLASS), _yes_no()

    def shape(batch):
        codes: dict[int, list[str]] = {}
        for org_id, code, version in db.session.connection().execute(
                sa.select(OrganisationSbi.organisation_id, OrganisationSbi.code,
                          OrganisationSbi.version)
                .where(_among(OrganisationSbi.organisation_id, [r[0] for r in batch]))
                .order_by(OrganisationSbi.organisation_id, OrganisationSbi.is_main.desc(),
                          OrganisationSbi.code)).all():
            codes.setdefault(org_id, []).append(f"{code} ({version})")
        for r in batch:
            yield (r[0], r[1], r[2], r[3], types.get(r[4], r[4]), statuses.get(r[5], r[5]),
                   sizes.get(r[6], r[6]), r[7], r[8], r[9], ", ".join(codes.get(r[0], ())),
                   r[10], r[11], r[12], r[13], r[14], r[15], r[16], r[17],
                   yes if r[18] else no, r[19])

    return Export("organisations", "organisaties", _l("Organisaties"), ORGANISATION_COLUMNS,
                  stmt, shape)


# --- Contacts -----------------------------------------------------------------------------

CONTACT_COLUMNS = [
    Column(_l("Nummer"), INT, 10), Column(_l("Voornaam"), width=16),
    Column(_l("Achternaam"), width=24), Column(_l("Functie"), width=24),
    Column(_l("Organisatie"), width=36), Column(_l("KvK-nummer"), width=12),
    Column(_l("E-mailadres"), width=30), Column(_l("Telefoon"), width=16),
    Column(_l("Mobiel"), width=16), Column(_l("Voorkeurstaal"), width=12),
    Column(_l("Grondslag (AVG)"), width=16), Column(_l("Datum van toestemming"), DATE, 12),
    Column(_l("Bron van de gegevens"), width=24), Column(_l("Bezwaar"), width=9),
    Column(_l("Herbeoordelen uiterlijk op"), DATE, 12),
]


def contact_filters(args) -> tuple[str | None, int | None]:
    """The contact list's filters, read as ``contacts.views.index`` reads them."""
    q = (args.get("q") or "").strip()[:200] or None
    raw = str(args.get("organisation_id") or "")
    return q, (int(raw) if raw.isdigit() and len(raw) < 10 else None)


def contacts_export(user, args, *, programme=None) -> Export:
    from ..contacts.models import Contact as C
    from ..contacts.queries import contact_list
    from ..organisations.models import Organisation as O

    # Never objecting or anonymised people, whoever asks (GDPR art. 21: no further processing).
    stmt = contact_list(*contact_filters(args), include_restricted=False).with_only_columns(
        C.id, C.first_name, C.last_name, C.function, O.name, O.kvk_number, C.email, C.phone,
        C.mobile, C.preferred_language, C.lawful_basis, C.consent_date, C.source, C.objection,
        C.review_due)
    languages, bases, (yes, no) = _resolved(labels.LANGUAGE), _resolved(labels.LAWFUL_BASIS), _yes_no()

    def shape(batch):
        for r in batch:
            yield (*r[:9], languages.get(r[9], r[9]), bases.get(r[10], r[10]), r[11], r[12],
                   yes if r[13] else no, r[14])

    return Export("contacts", "contactpersonen", _l("Contactpersonen"), CONTACT_COLUMNS,
                  stmt, shape)


# --- Interactions (contact moments) -------------------------------------------------------

INTERACTION_COLUMNS = [
    Column(_l("Nummer"), INT, 10), Column(_l("Datum"), DATE, 12),
    Column(_l("Soort contact"), width=16), Column(_l("Onderwerp"), width=40),
    Column(_l("Organisatie"), width=36), Column(_l("KvK-nummer"), width=12),
    Column(_l("Vastgelegd door"), width=20), Column(_l("Vertrouwelijk"), width=12),
    Column(_l("Thema's"), width=24), Column(_l("Contactpersonen aanwezig"), width=30),
]
NOTES_COLUMN = Column(_l("Verslag"), width=60)


def interactions_export(user, args, *, programme=None) -> Export:
    """Only the contact moments the user may see (the list's own visibility condition); the
    notes column only for those who may read notes (viewers never do, DESIGN 4.4)."""
    from ..contacts.models import Contact
    from ..contacts.queries import processable
    from ..interactions.models import Interaction as I
    from ..interactions.models import InteractionTopic, interaction_contact
    from ..interactions.queries import InteractionFilters, interaction_list
    from ..organisations.models import Organisation as O

    with_notes = can_see_interactions(user)
    author = aliased(User)
    columns = [I.id, I.date, I.type, I.subject, O.name, O.kvk_number, author.name, I.confidential]
    stmt = (interaction_list(user, InteractionFilters.from_args(args))
            .with_only_columns(*columns, *([I.notes] if with_notes else []))
            .outerjoin(author, author.id == I.author_id))
    types, topics, (yes, no) = _resolved(labels.INTERACTION_TYPE), _resolved(labels.TOPIC), _yes_no()

    def shape(batch):
        ids = [r[0] for r in batch]
        themes: dict[int, list[str]] = {}
        for iid, topic in db.session.connection().execute(
                sa.select(InteractionTopic.interaction_id, InteractionTopic.topic)
                .where(_among(InteractionTopic.interaction_id, ids))
                .order_by(InteractionTopic.interaction_id, InteractionTopic.topic)).all():
            themes.setdefault(iid, []).append(topics.get(topic, topic))
        present: dict[int, list[str]] = {}
        for iid, first, last in db.session.connection().execute(
                sa.select(interaction_contact.c.interaction_id, Contact.first_name, Contact.last_name)
                .join(Contact, Contact.id == interaction_contact.c.contact_id)
                .where(_among(interaction_contact.c.interaction_id, ids), Contact.deleted_at.is_(None),
                       processable())
                .order_by(interaction_contact.c.interaction_id, Contact.last_name, Contact.id)).all():
            present.setdefault(iid, []).append(" ".join(p for p in (first, last) if p))
        for r in batch:
            yield (r[0], r[1], types.get(r[2], r[2]), r[3], r[4], r[5], r[6],
                   yes if r[7] else no, ", ".join(themes.get(r[0], ())),
                   ", ".join(present.get(r[0], ())), *r[8:])

    return Export("interactions", "contactmomenten", _l("Contactmomenten"),
                  INTERACTION_COLUMNS + ([NOTES_COLUMN] if with_notes else []), stmt, shape)


# --- Participations in a programme --------------------------------------------------------

PARTICIPATION_COLUMNS = [
    Column(_l("Programma"), width=12), Column(_l("Organisatie"), width=36),
    Column(_l("KvK-nummer"), width=12), Column(_l("Plaats"), width=20),
    Column(_l("Gemeente"), width=20), Column(_l("Status"), width=16),
    Column(_l("Status sinds"), DATE, 12), Column(_l("Eigenaar"), width=20),
    Column(_l("Notities"), width=50),
]


def participations_export(user, args, *, programme=None) -> Export:
    """The participations of ``programme`` (its pipeline page's query, with its eager loads:
    one statement per batch, organisation, municipality and owner included)."""
    from ..programmes.queries import ParticipationFilters, participation_list

    stmt = participation_list(programme, ParticipationFilters.from_args(args))
    statuses = _resolved(labels.PARTICIPATION_STATUS)

    def shape(batch):
        for (p,) in batch:
            org = p.organisation
            yield (programme.code, org.name, org.kvk_number, org.city,
                   org.municipality.name if org.municipality else None,
                   statuses.get(p.status, p.status), _local_date(p.status_changed_at),
                   p.owner.name if p.owner else None, p.notes)

    return Export("participations", f"deelnames-{programme.code}", _l("Deelnames"),
                  PARTICIPATION_COLUMNS, stmt, shape, orm=True)


BUILDERS = {"organisations": organisations_export, "contacts": contacts_export,
            "interactions": interactions_export, "participations": participations_export}


# --- Writing the file ---------------------------------------------------------------------

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection");
# a tab or carriage return can hide one from a later trim.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TEXT_MAX = 32767  # Excel's limit for one cell
XLSX_MAX_ROWS = 1_048_575  # Excel's rows per sheet, less the header (XlsxWriter drops the rest)


def neutralise(text: str) -> str:
    """Text a spreadsheet would run gets a leading apostrophe; numbers never pass through here."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


def filename(export: Export, fmt: str) -> str:
    return f"{export.stem}-{local_today().isoformat()}.{fmt}"


def write(fmt: str, export: Export, rows: Iterable[tuple], *, progress=None) -> tuple[bytes, int]:
    """The file's bytes and its number of data rows; ``progress(n)`` every ``BATCH`` rows.
    Stopped early, it closes the rows (:meth:`Export.rows`: its cursor) there and then, inside
    the transaction that is about to roll back."""
    try:
        return (write_csv if fmt == "csv" else write_xlsx)(export, rows, progress=progress)
    except BaseException:
        if isinstance(rows, types.GeneratorType):
            with contextlib.suppress(Exception):
                rows.close()
        raise


def _csv_number(value) -> str:
    if value is None:
        return ""
    text = format(value, "f") if isinstance(value, decimal.Decimal) else repr(value)
    return text.replace(".", ",")  # Dutch Excel reads a decimal comma (the file uses ";")


_CSV = {NUMBER: _csv_number, DATE: lambda v: "" if v is None else v.isoformat()}


def write_csv(export: Export, rows: Iterable[tuple], *, progress=None) -> tuple[bytes, int]:
    """UTF-8 with a BOM and ``;`` between fields: what Excel in a Dutch locale opens as is.

    The csv module writes None as an empty field and an int as ``str`` does; only text (a
    leading formula character), numbers (decimal comma) and dates (ISO) need a hand."""
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow([neutralise(str(c.header)) for c in export.columns])
    texts = [i for i, c in enumerate(export.columns) if c.type == TEXT]
    others = [(i, _CSV[c.type]) for i, c in enumerate(export.columns) if c.type in _CSV]
    starts = frozenset(FORMULA_STARTS)
    writerow = writer.writerow
    count = 0
    for count, row in enumerate(rows, 1):
        values = list(row)
        for i in texts:
            value = values[i]
            if value is not None:
                if value.__class__ is not str:
                    value = values[i] = str(value)
                if value[:1] in starts:  # a quick look; neutralise says what then
                    values[i] = neutralise(value)
        for i, cell in others:
            if values[i] is not None:
                values[i] = cell(values[i])
        writerow(values)
        if progress and count % BATCH == 0:
            progress(count)
    return buf.getvalue().encode("utf-8"), count


# What XML 1.0 cannot hold: dropped from text cells.
XLSX_ILLEGAL = ILLEGAL_CHARACTERS_RE
XLSX_CARE = re.compile(f"{XLSX_ILLEGAL.pattern}|\r")  # illegal, or a carriage return


def write_xlsx(export: Export, rows: Iterable[tuple], *, progress=None) -> tuple[bytes, int]:
    """A streamed workbook (XlsxWriter's constant-memory mode: each row goes to a temporary
    file as it is written): bold frozen header, dates as dates, numbers as numbers, text
    always as text (never a formula or a link), a filter over the whole list."""
    import xlsxwriter

    buf = io.BytesIO()
    workbook = xlsxwriter.Workbook(buf, {"constant_memory": True, "remove_timezone": True})
    sheet = workbook.add_worksheet(str(export.title)[:31])
    bold = workbook.add_format({"bold": True})
    # Format 14 shows the reader's own short date (dd-mm-jjjj in Dutch); 4 is #,##0.00.
    date_format, number_format = workbook.add_format({"num_format": 14}), \
        workbook.add_format({"num_format": 4})
    for index, column in enumerate(export.columns):
        sheet.set_column(index, index, column.width)
    sheet.freeze_panes(1, 0)
    write_string, write_number, write_datetime = \
        sheet.write_string, sheet.write_number, sheet.write_datetime

    starts = frozenset(FORMULA_STARTS)

    def text(r, c, value):
        # Typed as a string, never a formula (write_string; neutralise for the reader too).
        # A carriage return becomes the line feed an XML reader makes of it anyway (XlsxWriter
        # would keep it as "_x000D_", which only Excel reads back).
        if value.__class__ is not str:
            value = str(value)
        if value[:1] in starts or len(value) > XLSX_TEXT_MAX or XLSX_CARE.search(value):
            value = neutralise(XLSX_ILLEGAL.sub("", value))[:XLSX_TEXT_MAX]
            value = value.replace("\r\n", "\n").replace("\r", "\n")
        write_string(r, c, value)

    def number(r, c, value):
        write_number(r, c, float(value), number_format)

    def integer(r, c, value):
        if isinstance(value, (int, float, decimal.Decimal)) and not isinstance(value, bool):
            write_number(r, c, value)
        else:
            text(r, c, value)

    def date(r, c, value):
        write_datetime(r, c, value, date_format)

    for index, column in enumerate(export.columns):
        write_string(0, index, neutralise(XLSX_ILLEGAL.sub("", str(column.header))), bold)
    writers = list(enumerate({DATE: date, NUMBER: number, INT: integer}.get(c.type, text)
                             for c in export.columns))
    count = 0
    try:
        for count, row in enumerate(rows, 1):
            if count > XLSX_MAX_ROWS:  # never a file silently missing rows
                raise JobFailed(_("Deze lijst heeft meer dan %(n)s rijen, meer dan een "
                                  "Excel-blad bevat. Kies CSV, of verklein de lijst met een "
                                  "filter.", n=format_decimal(XLSX_MAX_ROWS)))
            for (index, write), value in zip(writers, row):
                if value is not None:
                    write(count, index, value)
            if progress and count % BATCH == 0:
                progress(count)
    except BaseException:
        # The rows so far sit in a temporary file (open, on disk) that only close() removes.
        with contextlib.suppress(Exception):
            workbook.close()
        raise
    sheet.autofilter(0, 0, count, len(export.columns) - 1)
    workbook.close()
    return buf.getvalue(), count


def record_export(user, export: Export, fmt: str, rows: int, args: dict, *, source: str) -> None:
    """Audit that ``user`` exported ``rows`` rows of a list (who took which bulk copy, GDPR)."""
    from urllib.parse import urlencode

    from ..audit.models import AuditEvent

    target = export.kind if export.kind != "participations" else export.stem
    filters = urlencode(sorted(args.items()))[:500]
    db.session.add(AuditEvent(user_id=user.id, action="export", entity_type="export",
                              entity_id=target[:40], source=source,
                              changes={"rows": rows, "format": fmt, "filters": filters}))
    db.session.flush()
    current_app.logger.info("Export: user %s exported %s rows of %s as %s (filters: %s)",
                            user.id, rows, target, fmt, filters or "-")
