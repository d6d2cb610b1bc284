"""Which column of the file holds which field: recognised automatically from Dutch and English
headers (KvK extracts, municipal systems, Outlook and Google contact exports), corrected by a
user on the mapping screen and saved for the next file with the same headers (issue 6 point 1).

Headers are compared without case, accents, spaces and punctuation ("KvK-nummer", "KVK nummer"
and "kvknummer" are one); a near miss (one typo in a long header) still matches.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from rapidfuzz import fuzz

from ..extensions import db
from ..exceptions import ValidationError
from .models import ImportKind, ImportMapping

_KVK = ["kvk", "kvknummer", "kvknr", "kvkno", "kvknumber", "nummerkvk", "kamervankoophandel",
        "kamervankoophandelnummer", "chamberofcommerce", "chamberofcommercenumber", "cocnumber",
        "coc", "kvkregistratienummer", "inschrijvingsnummer"]

# field, Dutch label, synonyms (compact form, best first)
_ORGANISATION = [
    ("name", _l("Naam"), ["handelsnaam", "naam", "bedrijfsnaam", "organisatienaam", "organisatie",
                          "naamorganisatie", "naambedrijf", "statutairenaam", "bedrijf",
                          "companyname", "company", "name", "organisationname",
                          "organizationname", "organisation", "organization", "tradename",
                          "businessname"]),
    ("kvk_number", _l("KvK-nummer"), _KVK),
    ("establishment_number", _l("Vestigingsnummer"), [
        "vestigingsnummer", "vestigingsnr", "vestigingnummer", "nummervestiging",
        "establishmentnumber", "branchnumber", "locationnumber"]),
    ("main_establishment", _l("Hoofdvestiging (ja/nee)"), [
        "hoofdvestiging", "typevestiging", "soortvestiging", "indicatiehoofdvestiging",
        "mainestablishment", "headoffice", "establishmenttype"]),
    ("legal_form", _l("Rechtsvorm"), ["rechtsvorm", "juridischevorm", "rechtsvormomschrijving",
                                      "legalform", "legalentitytype"]),
    ("org_type", _l("Soort organisatie"), ["type", "soortorganisatie", "typeorganisatie",
                                           "organisatietype", "organisationtype",
                                           "organizationtype", "orgtype"]),
    ("street", _l("Straat of adres"), ["straat", "adres", "straatnaam", "straatenhuisnummer",
                                       "vestigingsadres", "bezoekadres", "adresvestiging",
                                       "street", "address", "streetaddress", "businessstreet"]),
    ("house_number", _l("Huisnummer"), ["huisnummer", "huisnr", "nummer", "housenumber",
                                        "streetnumber"]),
    ("house_number_addition", _l("Huisnummertoevoeging"), [
        "huisnummertoevoeging", "toevoeging", "huisnummertoev", "huisletter",
        "housenumberaddition", "addition"]),
    ("postcode", _l("Postcode"), ["postcode", "postcodevestigingsadres", "postcodebezoekadres",
                                  "postalcode", "zip", "zipcode", "postcodezip",
                                  "businesspostalcode"]),
    ("city", _l("Plaats"), ["plaats", "woonplaats", "vestigingsplaats", "plaatsnaam", "stad",
                            "plaatsvestigingsadres", "city", "town", "place", "businesscity"]),
    ("municipality", _l("Gemeente"), ["gemeente", "gemeentenaam", "gemeentecode", "cbscode",
                                      "municipality", "municipalitycode"]),
    ("sbi_main", _l("SBI-code (hoofdactiviteit)"), [
        "sbicode", "sbi", "hoofdsbi", "hoofdsbicode", "sbihoofdactiviteit", "hoofdactiviteit",
        "sbicodehoofdactiviteit", "hoofdactiviteitsbi", "mainsbi", "sbimain", "mainactivity",
        "activitycode", "nacecode", "nace"]),
    ("sbi_other", _l("Overige SBI-codes"), [
        "nevenactiviteiten", "nevenactiviteit", "overigesbi", "overigesbicodes",
        "sbinevenactiviteiten", "nevensbi", "othersbi", "othersbicodes", "secondarysbi"]),
    ("employees", _l("Werkzame personen"), [
        "werkzamepersonen", "werkzamepersonentotaal", "aantalwerkzamepersonen",
        "totaalwerkzamepersonen", "aantalmedewerkers", "medewerkers", "werknemers",
        "aantalwerknemers", "personeel", "employees", "numberofemployees", "staff", "headcount"]),
    ("annual_turnover_eur", _l("Jaaromzet (EUR)"), [
        "omzet", "jaaromzet", "omzeteur", "omzetineuro", "omzetineuros", "turnover",
        "annualturnover", "revenue", "annualrevenue", "turnovereur"]),
    ("balance_sheet_total_eur", _l("Balanstotaal (EUR)"), [
        "balanstotaal", "balanstotaaleur", "balanstotaalineuro", "balancesheettotal",
        "totalassets", "balancesheet"]),
    ("website", _l("Website"), ["website", "internetadres", "webadres", "url", "web", "homepage",
                                "www", "websiteurl"]),
    ("phone", _l("Telefoon"), ["telefoon", "telefoonnummer", "tel", "telnr", "phone",
                               "phonenumber", "telephone", "businessphone"]),
    ("email", _l("E-mailadres"), ["email", "emailadres", "mail", "emailaddress"]),
    ("description", _l("Omschrijving"), ["omschrijving", "beschrijving", "activiteiten",
                                         "activiteitenomschrijving", "omschrijvingactiviteiten",
                                         "description", "activities"]),
    ("parent_kvk", _l("KvK-nummer moederbedrijf"), [
        "moederbedrijfkvk", "kvkmoederbedrijf", "kvknummermoederbedrijf", "moederbedrijf",
        "moedermaatschappijkvk", "kvkmoedermaatschappij", "kvknummermoedermaatschappij",
        "parentkvk", "parentcompanykvk", "parentcocnumber", "parentcompany"]),
]

_CONTACTS = [
    ("first_name", _l("Voornaam"), ["voornaam", "roepnaam", "voornamen", "firstname", "givenname"]),
    ("middle_name", _l("Tussenvoegsel"), ["tussenvoegsel", "tussenvoegsels", "middlename",
                                          "additionalname"]),
    ("last_name", _l("Achternaam"), ["achternaam", "familienaam", "lastname", "familyname",
                                     "surname"]),
    ("full_name", _l("Volledige naam"), ["naam", "volledigenaam", "naamcontactpersoon",
                                         "contactpersoon", "name", "fullname", "displayname"]),
    ("function", _l("Functie"), ["functie", "functietitel", "rol", "jobtitle",
                                 "organizationtitle", "organization1title", "position", "role"]),
    ("organisation_name", _l("Organisatie"), [
        "organisatie", "bedrijf", "bedrijfsnaam", "organisatienaam", "handelsnaam", "werkgever",
        "company", "companyname", "organizationname", "organization1name", "organisation",
        "organization"]),
    ("organisation_kvk", _l("KvK-nummer organisatie"), _KVK),
    ("email", _l("E-mailadres"), ["emailadres", "email", "mail", "emailaddress", "email1value",
                                  "emailadreszakelijk", "zakelijkemail"]),
    ("phone", _l("Telefoon"), ["telefoon", "telefoonnummer", "telefoonwerk", "zakelijketelefoon",
                               "tel", "businessphone", "phone", "phonenumber", "workphone",
                               "phone1value"]),
    ("mobile", _l("Mobiel"), ["mobiel", "mobielnummer", "mobieletelefoon", "mobiel06",
                              "mobilephone", "mobile", "cellphone", "phone2value"]),
    ("preferred_language", _l("Voorkeurstaal"), ["voorkeurstaal", "taal", "language",
                                                 "preferredlanguage"]),
    ("notes", _l("Notities"), ["notities", "opmerkingen", "opmerking", "notes", "note"]),
]

_SPECS = {ImportKind.ORGANISATIONS.value: _ORGANISATION, ImportKind.CONTACTS.value: _CONTACTS}
FIELDS: dict[str, list[tuple[str, object]]] = {
    kind: [(name, label) for name, label, _syn in spec] for kind, spec in _SPECS.items()}
# Without these a row cannot be imported; the mapping screen insists on them.
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    ImportKind.ORGANISATIONS.value: [("name",)],
    ImportKind.CONTACTS.value: [("last_name", "full_name"),
                                ("organisation_name", "organisation_kvk")],
}
FUZZY_THRESHOLD = 92


def compact(header: str) -> str:
    """Lower case, no accents, only letters and digits: "KvK-nummer " → "kvknummer"."""
    text = unicodedata.normalize("NFKD", str(header or "")).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _check_kind(kind: str) -> list:
    if kind not in _SPECS:
        raise ValueError(f"unknown import kind {kind!r}")
    return _SPECS[kind]


def auto_map(headers: list[str], kind: str) -> dict[str, str]:
    """header → field ("" when not recognised); each field goes to its best-matching header."""
    spec = _check_kind(kind)
    candidates = []  # (quality, header index, field)
    for i, header in enumerate(headers):
        key = compact(header)
        if not key:
            continue
        for order, (name, _label, synonyms) in enumerate(spec):
            if key in synonyms:
                candidates.append((0, synonyms.index(key), i, name))
            elif len(key) > 5:
                score = max((fuzz.ratio(key, s) for s in synonyms if len(s) > 5), default=0)
                if score >= FUZZY_THRESHOLD:
                    candidates.append((1, 100 - score, i, name))
    mapping = {h: "" for h in headers}
    used_fields, used_headers = set(), set()
    for _quality, _rank, i, name in sorted(candidates):
        if name in used_fields or i in used_headers:
            continue
        used_fields.add(name)
        used_headers.add(i)
        mapping[headers[i]] = name
    return mapping


def signature(headers: list[str]) -> str:
    """A fingerprint of the headers (compact forms, in order): the same layout, the same key."""
    return hashlib.sha256(json.dumps([compact(h) for h in headers]).encode()).hexdigest()


def mapping_for(headers: list[str], kind: str) -> tuple[dict[str, str], bool]:
    """The saved mapping for files with these headers (True), or the automatic one (False)."""
    _check_kind(kind)
    saved = db.session.scalar(sa.select(ImportMapping).where(
        ImportMapping.kind == kind, ImportMapping.signature == signature(headers)))
    if saved is None or len(saved.headers or []) != len(headers):
        return auto_map(headers, kind), False
    known = {name for name, _label in FIELDS[kind]}
    mapping = {}
    for header, saved_header in zip(headers, saved.headers):
        field = (saved.mapping or {}).get(saved_header, "")
        mapping[header] = field if field in known else ""
    return mapping, True


def validate_mapping(headers: list[str], kind: str, mapping: dict[str, str]) -> dict[str, str]:
    """The mapping, cleaned; raises ValidationError keyed by header (or "_" for what is missing)."""
    _check_kind(kind)
    labels = dict(FIELDS[kind])
    errors: dict[str, str] = {}
    clean: dict[str, str] = {}
    used: dict[str, str] = {}
    for header, field in (mapping or {}).items():
        field = (field or "").strip()
        if header not in headers:
            errors[str(header)[:100]] = _("Deze kolom staat niet in het bestand.")
            continue
        if field and field not in labels:
            errors[header] = _("Onbekend veld.")
            continue
        if field and field in used:
            errors[header] = _("%(field)s is al gekoppeld aan de kolom %(column)s.",
                               field=labels[field], column=used[field])
            continue
        if field:
            used[field] = header
        clean[header] = field
    for header in headers:
        clean.setdefault(header, "")
    missing = [group for group in REQUIRED[kind] if not any(f in used for f in group)]
    if missing:
        names = [_(" of ").join(str(labels[f]) for f in group) for group in missing]
        errors["_"] = _("Koppel een kolom aan: %(fields)s.", fields=", ".join(names))
    if errors:
        raise ValidationError(errors)
    return clean


def save_mapping(headers: list[str], kind: str, mapping: dict[str, str], *, actor,
                 name: str | None = None) -> ImportMapping:
    """Save a corrected mapping for files with these headers; flushes, the caller commits."""
    clean = validate_mapping(headers, kind, mapping)
    sig = signature(headers)
    saved = db.session.scalar(sa.select(ImportMapping).where(
        ImportMapping.kind == kind, ImportMapping.signature == sig))
    if saved is None:
        saved = ImportMapping(kind=kind, signature=sig)
        db.session.add(saved)
    saved.headers = list(headers)
    saved.mapping = clean
    saved.name = (name or "").strip()[:200] or None
    saved.created_by_id = getattr(actor, "id", None)
    db.session.flush()
    return saved
