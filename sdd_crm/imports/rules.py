"""Row rules: turn one spreadsheet row into clean field values, or say why it is rejected
(issue 6 point 2). The same limits as the organisation and contact services (DESIGN 6).

A row is imported whole or not at all: any cell that breaks a rule rejects the row, reported
with its spreadsheet row number, the file's own column name and a Dutch message.

Numbers (employees, turnover, balance-sheet total) are read by :mod:`sdd_crm.numbers`, the
parser of every Dutch number in the application (babel, locale ``nl``, strict), with one
addition for files: a file can come from English software (a ``,``-separated CSV, an export
of an English Excel), and then ``1,250,000.00`` and ``12.5`` are what it means. So
:func:`parse_number` tries the file's own convention first and the other one second, each
strictly:

* a ``;``-separated file (Dutch Excel) or an XLSX: Dutch first — ``1.250`` = 1250, ``1,250`` =
  1.25, ``1.250.000,00``; then English for what Dutch refuses (``1,250,000.00``, ``12.5``);
* a ``,``-separated file: English first — ``1.250`` = 1.25, ``1,250`` = 1250; then Dutch
  (``1.250.000,00``, ``12,5``).

Strict means a separator in the wrong place (``1.25.000``, ``12,5,0``, ``,5``) is refused
rather than guessed. Spaces, non-breaking spaces, ``€``, ``EUR`` and a Dutch ``,-`` are
ignored. Anything else (``n.v.t.``, ``=SUM(A1:A3)``, ``1e6``) is not a number and rejects the
row; so does a fraction of an employee (``2,5``), with the same message as the forms.

Text: a control character (or a lone surrogate) in a cell rejects the row, as a form refuses
it (:func:`sdd_crm.validation.has_control_characters`); tab and line breaks only in the
multi-line fields (description, notes).

Warnings: some cells are repaired rather than refused, and the repair is reported per row and
column in the summary's ``warnings`` (shown with the result, printed by the CLI):

* a KvK number of 7 digits is a number whose leading zero a spreadsheet dropped (it stored the
  number as a number): it is padded to 8 digits;
* a municipality cell naming no known municipality, in a row whose place lies in a known one:
  the place decides (as it does for a row without that column). Without such a place the
  unknown municipality rejects the row, naming the column and the value: it is never silently
  dropped;
* a municipality or place outside the region (issue 14): a Dutch municipality or large place
  that the reference tables do not hold (``data/dutch_municipalities.txt``: Breda, Rotterdam,
  Bolnes in Ridderkerk) is imported with an empty municipality and the warning "Breda ligt
  buiten de regio Drechtsteden" — organisations outside the region belong in the CRM too (a
  supplier in a value chain), but nobody should think their municipality was read. A place
  nobody knows: "Onbekende gemeente/plaats", with an empty municipality as well. A neighbour
  in the reference tables (Gorinchem, Molenlanden: no Drechtsteden member) keeps its code, with
  a warning that it lies outside the seven.
"""

from __future__ import annotations

import decimal
import functools
import pathlib
import re
import unicodedata
from collections.abc import Callable

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import normalise, numbers
from ..contacts.services import LANGUAGES
from ..contacts.services import MAX_LENGTHS as CONTACT_MAX
from ..extensions import db
from ..organisations.models import OrgType
from ..organisations.services import MAX_AMOUNT, MAX_EMPLOYEES
from ..organisations.services import MAX_LENGTHS as ORG_MAX
from ..reference.models import Municipality, Place
from ..validation import has_control_characters
from .mapping import compact

MAX_CELL_CHARS = 1_000_000  # a 1 MB cell is never a CRM value: the row is refused
LEGAL_FORM_WORDS = {
    "bv", "nv", "vof", "cv", "ua", "wa", "ba", "stichting", "vereniging", "cooperatie",
    "eenmanszaak", "maatschap", "ltd", "limited", "llc", "inc", "gmbh", "bvba", "sarl",
}
ORG_TYPES = {
    "company": OrgType.COMPANY, "bedrijf": OrgType.COMPANY, "onderneming": OrgType.COMPANY,
    "business": OrgType.COMPANY,
    "knowledgeinstitution": OrgType.KNOWLEDGE_INSTITUTION,
    "kennisinstelling": OrgType.KNOWLEDGE_INSTITUTION,
    "kennisinstituut": OrgType.KNOWLEDGE_INSTITUTION,
    "education": OrgType.EDUCATION, "onderwijs": OrgType.EDUCATION,
    "onderwijsinstelling": OrgType.EDUCATION,
    "government": OrgType.GOVERNMENT, "overheid": OrgType.GOVERNMENT,
    "other": OrgType.OTHER, "overig": OrgType.OTHER, "overige": OrgType.OTHER,
    "anders": OrgType.OTHER,
}
YES = {"ja", "j", "yes", "y", "true", "waar", "1", "hoofdvestiging", "hoofd", "main",
       "headoffice"}
NO = {"nee", "n", "no", "false", "onwaar", "0", "nevenvestiging", "neven", "branch"}
LANGUAGE_WORDS = {"nederlands": "nl", "dutch": "nl", "engels": "en", "english": "en",
                  "duits": "de", "german": "de", "deutsch": "de", "frans": "fr", "french": "fr"}

_SBI_TOKEN = re.compile(r"\s*(\d{2}(?:[.\d]{0,6})[A-Za-z]?)(?:$|[\s\-–:;,/|])")


# --- numbers ----------------------------------------------------------------------------------

def parse_number(text: str, *, decimal_comma: bool = True) -> decimal.Decimal:
    """A number in the file's notation, else the other one (see the module docstring);
    ValueError (a :class:`sdd_crm.numbers.NumberError`) if it is neither."""
    first, second = ("nl", "en") if decimal_comma else ("en", "nl")
    try:
        return numbers.parse_decimal_text(text, locale=first)
    except numbers.NumberError:
        return numbers.parse_decimal_text(text, locale=second)


# --- normalisers, cached (a file repeats places, postcodes and phone numbers a lot) -------------

def _cached(fn: Callable[[str], object]):
    @functools.lru_cache(maxsize=262_144)
    def run(value: str):
        try:
            return fn(value), None
        except ValueError as exc:
            return None, str(exc)
    return run


def lenient_phone(value: str) -> str:
    """E.164, like normalise.phone, but a number of a plausible length whose range the phone
    library does not know (a new 06-9 block, say) is kept rather than the whole row refused."""
    try:
        return normalise.phone(value)
    except ValueError:
        import phonenumbers

        try:
            parsed = phonenumbers.parse(value, "NL")
        except phonenumbers.NumberParseException:
            raise ValueError(_("Vul een geldig telefoonnummer in, zoals 078-1234567.")) from None
        if not phonenumbers.is_possible_number(parsed):
            raise
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


_FAST_POSTCODE = re.compile(r"([1-9][0-9]{3}) ?([A-Za-z]{2})")
_FAST_PHONE = re.compile(r"(?:0|\+31|0031)([1-9][0-9]{8})")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")


def fast_postcode(value: str) -> str:
    """normalise.postcode, with the everyday forms ("3311 AB", "3311ab") checked directly."""
    match = _FAST_POSTCODE.fullmatch(value)
    if match and match.group(2).upper() not in ("SA", "SD", "SS"):  # stdnum's banned pairs
        return f"{match.group(1)} {match.group(2).upper()}"
    return normalise.postcode(value)


def fast_phone(value: str) -> str:
    """lenient_phone, with a plain Dutch number (0 or +31 and nine digits) formatted directly:
    the phone library gives the same +31… for it, and parsing costs ~0.2 ms a number."""
    match = _FAST_PHONE.fullmatch(_PHONE_SEPARATORS.sub("", value))
    if match:
        return "+31" + match.group(1)
    return lenient_phone(value)


_postcode = _cached(fast_postcode)
_phone = _cached(fast_phone)
_email = _cached(normalise.email)
_website = _cached(normalise.website)
_sbi = _cached(normalise.sbi_code)


def clear_caches() -> None:
    """The cached messages are in the language of the first call; a new import starts afresh."""
    for fn in (_postcode, _phone, _email, _website, _sbi):
        fn.cache_clear()


def normalise_name(name: str | None) -> str:
    """A name for matching: no case, accents, punctuation or legal-form words.

    "Jansen Techniek B.V." → "jansen techniek", as are "JANSEN TECHNIEK BV" and "Jansen-Techniek".
    """
    text = unicodedata.normalize("NFKD", str(name or "")).encode("ascii", "ignore").decode().lower()
    text = text.replace(".", "")  # B.V. → bv, V.O.F. → vof
    text = re.sub(r"[^a-z0-9]+", " ", text)
    text = re.sub(r"\b([a-z]) (?=[a-z]\b)", r"\1", text)  # "b v" (from "B. V.") → "bv"
    return " ".join(w for w in text.split() if w not in LEGAL_FORM_WORDS)


# --- reference data ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def dutch_municipalities() -> dict[str, tuple[str, str]]:
    """The municipalities of the Netherlands, and some other names and large places, outside
    the reference tables: compact name → (the name as written, its municipality)."""
    out = {}
    path = pathlib.Path(__file__).with_name("data") / "dutch_municipalities.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _sep, municipality = (part.strip() for part in line.partition("="))
        out[compact(name)] = (name, municipality or name)
    return out


class Places:
    """Places and municipalities from the reference tables, matched like headers are."""

    def __init__(self):
        self.place = {compact(name): code for name, code in
                      db.session.execute(sa.select(Place.name, Place.municipality_code))}
        self.municipality = {}
        self.names: dict[str, str] = {}  # code → name
        self.neighbours: set[str] = set()  # codes of municipalities outside the Drechtsteden
        for code, name, member in db.session.execute(
                sa.select(Municipality.code, Municipality.name,
                          Municipality.drechtsteden_member)):
            self.municipality[compact(name)] = code
            self.municipality[compact(code)] = code
            self.municipality[compact(code[2:])] = code  # "0505" as well as "GM0505"
            self.names[code] = name
            if not member:
                self.neighbours.add(code)

        self._seen: dict[tuple[bool, str], str | None] = {}  # a file repeats its places

    def for_place(self, city: str | None) -> str | None:
        if not city:
            return None
        key = (True, city)
        if key not in self._seen:
            self._seen[key] = self.place.get(compact(city))
        return self._seen[key]

    def for_municipality(self, value: str | None) -> str | None:
        if not value:
            return None
        key = (False, value)
        if key not in self._seen:
            self._seen[key] = self.municipality.get(compact(value))
        return self._seen[key]

    def outside(self, value: str | None) -> tuple[str, str] | None:
        """(name, municipality) when ``value`` names a Dutch municipality or place that is not
        in the reference tables: outside the region (Breda, Rotterdam, Bolnes)."""
        if not value:
            return None
        return dutch_municipalities().get(compact(value))

    def outside_message(self, value: str, *, kept: str | None = None) -> str:
        """"Breda ligt buiten de regio Drechtsteden; …", for a municipality or a place."""
        name, municipality = self.outside(value) or (value, value)
        if kept:
            tail = _("de gemeente volgt uit de plaats %(place)s.", place=kept)
        else:
            tail = _("de gemeente is leeg gelaten.")
        if compact(name) == compact(municipality):
            return _("%(name)s ligt buiten de regio Drechtsteden; %(tail)s",
                     name=value[:60], tail=tail)
        return _("%(name)s ligt in %(municipality)s, buiten de regio Drechtsteden; %(tail)s",
                 name=value[:60], municipality=municipality, tail=tail)

    def neighbour_message(self, code: str, place: str | None = None) -> str | None:
        """A warning for a municipality of the reference table that is no Drechtsteden member
        (Gorinchem, Molenlanden: neighbours in parts of the programme); None for a member."""
        if code not in self.neighbours:
            return None
        name = self.names.get(code, code)
        if place and compact(place) != compact(name):
            return _("%(place)s ligt in %(name)s, buiten de regio Drechtsteden (buurgemeente); "
                     "de gemeente is ingevuld.", place=place[:60], name=name)
        return _("%(name)s ligt buiten de regio Drechtsteden (buurgemeente); de gemeente is "
                 "ingevuld.", name=name)


# --- rows -------------------------------------------------------------------------------------

# Hand-kept spreadsheets write "-", "n.v.t." or "onbekend" for "nothing here". In the optional
# text fields that is an empty cell, not a bad value (a website "n.v.t." is not https://n.v.t.).
# Not in the name (a name is required) nor in the fields whose rules issue 6 spells out: a
# number column, the postcode and the KvK number keep their own checks (a KvK cell of only
# dashes and dots is empty after removing them, as the rule says).
PLACEHOLDERS = {"-", "--", "---", ".", "?", "nvt", "n.v.t.", "n.v.t", "n.b.", "nb", "n/a", "na",
                "geen", "onbekend", "unknown", "none", "nil", "x"}
PLACEHOLDER_FIELDS = {"legal_form", "phone", "email", "website", "description", "org_type",
                      "establishment_number", "sbi_main", "sbi_other", "main_establishment",
                      "street", "house_number", "house_number_addition", "parent_kvk",
                      "municipality", "city"}


PLACEHOLDER_MAX = max(map(len, PLACEHOLDERS))


def is_placeholder(text: str) -> bool:
    return text.lower() in PLACEHOLDERS


class RowCells:
    """The mapped cells of a table: ``cells(row)`` → {field: stripped non-empty text}."""

    def __init__(self, headers: list[str], mapping: dict[str, str]):
        self.headers = headers
        self.index = {field: i for i, h in enumerate(headers)
                      if (field := mapping.get(h)) and field}
        self.column = {field: headers[i] for field, i in self.index.items()}
        self._fields = [(field, i, field in PLACEHOLDER_FIELDS) for field, i in self.index.items()]

    def cells(self, row: list) -> tuple[dict[str, str], list[tuple[str, str]]]:
        problems: list[tuple[str, str]] = []
        width = len(self.headers)
        if max(map(len, filter(None, row)), default=0) > MAX_CELL_CHARS:
            for i, cell in enumerate(row):
                if cell and len(cell) > MAX_CELL_CHARS:
                    column = self.headers[i] if i < width else ""
                    problems.append((column, _("De cel is groter dan 1 MB.")))
        if len(row) > width and any((c or "").strip() for c in row[width:]):
            problems.append(("", _("Deze rij heeft meer cellen dan de kopregel (%(n)s kolommen); "
                                   "staat er een scheidingsteken in een waarde?", n=width)))
        values = {}
        size = len(row)
        for field, i, placeholders in self._fields:
            if i < size and (cell := row[i]) is not None:
                text = cell.strip()
                if text and not (placeholders and len(text) <= PLACEHOLDER_MAX
                                 and text.lower() in PLACEHOLDERS):
                    values[field] = text
        return values, problems


MULTILINE_FIELDS = {"description", "notes"}  # tab and line breaks are text there only


def _text(values, out, problems, field, limit, column, *, checked=False):
    """``checked``: the caller knows the row holds no control characters at all."""
    value = values.get(field)
    if value is None:
        return
    if not checked and has_control_characters(value, multiline=field in MULTILINE_FIELDS):
        problems.append((column(field), _("De tekst bevat ongeldige tekens.")))
    elif len(value) > limit:
        problems.append((column(field), _("Hoogstens %(n)s tekens.", n=limit)))
    else:
        out[field] = value


def _normalised(values, out, problems, field, fn, column, *, limit=254, checked=False):
    value = values.get(field)
    if value is None:
        return
    if len(value) > limit:
        problems.append((column(field), _("Hoogstens %(n)s tekens.", n=limit)))
        return
    if not checked and has_control_characters(value, multiline=False):
        problems.append((column(field), _("De tekst bevat ongeldige tekens.")))
        return
    result, message = fn(value)
    if message:
        problems.append((column(field), message))
    elif result is not None:
        out[field] = result


def _kvk(value: str) -> tuple[str | None, str | None]:
    if not value.replace(" ", "").replace(".", "").replace("-", ""):
        return None, None  # only separators: nothing is left to check, so no KvK number
    try:
        return normalise.kvk_number(value[:40]), None
    except ValueError as exc:
        return None, str(exc)


_SEVEN_DIGITS = re.compile(r"[0-9]{7}")


_EIGHT_DIGITS = re.compile(r"[0-9]{8}")
_TWELVE_DIGITS = re.compile(r"[0-9]{12}")


def _kvk_cell(values, out, problems, warnings, field, column, *, checked=False) -> None:
    """A KvK number cell. Seven digits: a spreadsheet kept the number as a number and dropped
    its leading zero (KvK numbers are 8 digits, and may start with 0) — padded, with a warning."""
    value = values.get(field)
    if value is not None and _EIGHT_DIGITS.fullmatch(value):
        out[field] = value  # what normalise.kvk_number makes of it, without its detours
        return
    if value is not None and _SEVEN_DIGITS.fullmatch(normalise.digits_only(value[:40])):
        padded = "0" + normalise.digits_only(value)
        out[field] = padded
        warnings.append((column(field), _(
            "KvK-nummer %(value)s heeft 7 cijfers; aangevuld tot %(kvk)s (een spreadsheet laat "
            "de voorloopnul weg).", value=value[:40], kvk=padded)))
        return
    _normalised(values, out, problems, field, _kvk, column, checked=checked)


def clean_organisation_row(values: dict[str, str], column, places: Places, *,
                           decimal_comma: bool, warnings: list | None = None,
                           ) -> tuple[dict, list[tuple[str, str]]]:
    """Field values of one organisation row, normalised, and the problems found; repairs
    (see the module docstring) are added to ``warnings`` as (column, message)."""
    out: dict = {}
    problems: list[tuple[str, str]] = []
    warnings = [] if warnings is None else warnings
    # One look for control characters in the whole row; only a row that has one is checked
    # cell by cell (to name the column, and to allow tabs and line breaks where they may be).
    checked = not has_control_characters("".join(values.values()), multiline=False)
    if "name" not in values:
        problems.append((column("name"), _("De naam ontbreekt.")))
    for field in ("name", "legal_form", "city", "description"):
        _text(values, out, problems, field, ORG_MAX[field], column, checked=checked)
    for field in ("kvk_number", "parent_kvk"):
        _kvk_cell(values, out, problems, warnings, field, column, checked=checked)
    if "establishment_number" in values:
        number = values["establishment_number"]
        if _TWELVE_DIGITS.fullmatch(number):
            out["establishment_number"] = number  # as normalise.establishment_number gives it
        else:
            try:
                out["establishment_number"] = normalise.establishment_number(number[:40])
            except ValueError as exc:
                problems.append((column("establishment_number"), str(exc)))
    _normalised(values, out, problems, "postcode", _postcode, column, limit=20, checked=checked)
    _normalised(values, out, problems, "phone", _phone, column, limit=40, checked=checked)
    _normalised(values, out, problems, "email", _email, column, limit=ORG_MAX["email"],
                checked=checked)
    _normalised(values, out, problems, "website", _website, column,
                limit=ORG_MAX["website"] - 8, checked=checked)

    if "street" in values:
        street = " ".join(p for p in (values["street"], values.get("house_number", "")) if p)
        addition = values.get("house_number_addition", "")
        if addition and "house_number" in values:
            street += addition if len(addition) == 1 and addition.isalpha() else f" {addition}"
        _text({"street": street}, out, problems, "street", ORG_MAX["street"], column,
              checked=checked)

    if "org_type" in values:
        org_type = ORG_TYPES.get(compact(values["org_type"]))
        if org_type is None:
            problems.append((column("org_type"), _(
                "Onbekende soort organisatie; gebruik bedrijf, kennisinstelling, onderwijs, "
                "overheid of overig.")))
        else:
            out["org_type"] = org_type.value
    if "main_establishment" in values:
        word = compact(values["main_establishment"])
        out["main_establishment"] = True if word in YES else False if word in NO else None

    for field in ("employees", "annual_turnover_eur", "balance_sheet_total_eur"):
        if field in values:
            number = _number(values[field], field, decimal_comma, column, problems)
            if number is not None:
                out[field] = number

    codes = []
    for field in ("sbi_main", "sbi_other"):
        for token in _sbi_tokens(values.get(field), first_only=field == "sbi_main"):
            code, message = _sbi(token)
            if message:
                problems.append((column(field), message))
            elif code not in codes:
                codes.append(code)
    if codes:
        out["sbi_codes"] = codes[:20]
        out["sbi_main_given"] = "sbi_main" in values

    # The municipality: the municipality column, else the place (DESIGN 4.5). A place outside
    # the reference table gives none (and then says so: the organisation's municipality is empty).
    # An unknown municipality is never dropped silently (module docstring).
    # A municipality or place outside the region (Breda, Rotterdam) or unknown is imported with
    # an empty municipality and a warning, never silently (issue 14 point 7); a municipality
    # cell that names no municipality at all, and no place that decides, rejects the row.
    cell = values.get("municipality")
    municipality = places.for_municipality(cell)
    from_place = places.for_place(out.get("city"))
    if municipality:
        out["municipality_code"] = municipality
        note = places.neighbour_message(municipality)
        if note:
            warnings.append((column("municipality"), note))
    elif cell is not None:
        if has_control_characters(cell, multiline=False):
            problems.append((column("municipality"), _("De tekst bevat ongeldige tekens.")))
        elif from_place:
            out["municipality_code"] = from_place
            warnings.append((column("municipality"), places.outside_message(
                cell, kept=out["city"]) if places.outside(cell) else _(
                "Onbekende gemeente: %(value)s; de gemeente volgt uit de plaats %(place)s.",
                value=cell[:60], place=out["city"])))
        elif places.outside(cell):
            out["municipality_code"] = None
            warnings.append((column("municipality"), places.outside_message(cell)))
        else:
            problems.append((column("municipality"), _(
                "Onbekende gemeente: %(value)s. Gebruik de naam of de CBS-code van een gemeente "
                "in de regio, zoals Dordrecht of GM0505.", value=cell[:60])))
    elif "city" in out:
        out["municipality_code"] = from_place
        if from_place is None:
            warnings.append((column("city"), places.outside_message(out["city"])
                             if places.outside(out["city"]) else _(
                "Onbekende gemeente/plaats: %(value)s; de gemeente is leeg gelaten.",
                value=out["city"][:60])))
        elif note := places.neighbour_message(from_place, out["city"]):
            warnings.append((column("city"), note))
    return out, problems


def _number(text, field, decimal_comma, column, problems):
    try:
        number = parse_number(text[:60], decimal_comma=decimal_comma)
        if field == "employees":
            return numbers.parse_integer(number, minimum=0, maximum=MAX_EMPLOYEES)
        return numbers.parse_amount(number, maximum=MAX_AMOUNT)
    except numbers.NumberError as exc:
        message = exc.message if exc.kind != "not_a_number" else _(
            "Dit is geen getal: %(value)s", value=text[:40])
        problems.append((column(field), message))
        return None


def _sbi_tokens(text: str | None, *, first_only: bool) -> list[str]:
    """SBI codes in a cell: "3315", "3315 Reparatie van schepen", "3011, 3315" or "62.01A"."""
    if not text:
        return []
    if first_only:
        match = _SBI_TOKEN.match(text)
        return [match.group(1).rstrip(".")] if match else [text[:20]]
    return [t for t in re.split(r"[,;|/\s]+", text) if t][:20]


def clean_contact_row(values: dict[str, str], column, *, warnings: list | None = None,
                      ) -> tuple[dict, list[tuple[str, str]]]:
    """Field values of one contact row (Outlook, Google or our own layout) and its problems;
    repairs are added to ``warnings`` as (column, message)."""
    out: dict = {}
    problems: list[tuple[str, str]] = []
    warnings = [] if warnings is None else warnings
    first, middle = values.get("first_name"), values.get("middle_name")
    last, full = values.get("last_name"), values.get("full_name")
    if not last and full:  # "Jan van der Berg": the first word is the first name
        parts = full.split(maxsplit=1)
        first, last = (first or parts[0], parts[1]) if len(parts) == 2 else (first, parts[0])
    if last and middle and not last.lower().startswith(middle.lower() + " "):
        last = f"{middle} {last}"  # Outlook keeps "van" apart; ours is part of the last name
    if not last:
        problems.append((column("last_name") or column("full_name"), _("De achternaam ontbreekt.")))
    names = {"first_name": first, "last_name": last}
    for field in ("first_name", "last_name"):
        _text(names, out, problems, field, CONTACT_MAX[field],
              lambda f: column(f) or column("full_name"))
    _text(values, out, problems, "function", CONTACT_MAX["function"], column)
    _text(values, out, problems, "notes", CONTACT_MAX["notes"], column)
    _text(values, out, problems, "organisation_name", ORG_MAX["name"], column)
    _kvk_cell(values, out, problems, warnings, "organisation_kvk", column)
    if "email" in values:
        first_address = values["email"].split(":::")[0].strip()  # Google: "a@x.nl ::: b@y.nl"
        _normalised({"email": first_address}, out, problems, "email", _email, column)
    _normalised(values, out, problems, "phone", _phone, column, limit=40)
    _normalised(values, out, problems, "mobile", _phone, column, limit=40)
    if "preferred_language" in values:
        word = values["preferred_language"].strip().lower()
        language = LANGUAGE_WORDS.get(word, word[:2] if len(word) == 2 else None)
        if language in LANGUAGES:
            out["preferred_language"] = language
        else:
            problems.append((column("preferred_language"), _("Kies een taal: nl, en, de of fr.")))
    if "organisation_name" not in values and "organisation_kvk" not in values:
        problems.append((column("organisation_name") or column("organisation_kvk"),
                         _("Vul de organisatie of haar KvK-nummer in.")))
    return out, problems
