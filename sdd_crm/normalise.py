"""Normalisation of Dutch identifiers and contact data, with the well-kept libraries.

Each function returns the normalised value or raises ``ValueError`` with a Dutch message.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.nl import postcode as nl_postcode

_SEPARATORS = re.compile(r"[\s.\-]")


def digits_only(value: str) -> str:
    return _SEPARATORS.sub("", str(value or ""))


def kvk_number(value: str) -> str:
    """KvK numbers: 8 digits, kept as text (they may start with 0), no check digit (FACTS.md)."""
    v = digits_only(value)
    if not re.fullmatch(r"\d{8}", v):
        raise ValueError(_("Een KvK-nummer bestaat uit 8 cijfers."))
    return v


def establishment_number(value: str) -> str:
    v = digits_only(value)
    if not re.fullmatch(r"\d{12}", v):
        raise ValueError(_("Een vestigingsnummer bestaat uit 12 cijfers."))
    return v


def postcode(value: str) -> str:
    """A Dutch postcode as ``1234 AB`` (python-stdnum)."""
    try:
        return nl_postcode.validate(str(value or "").strip())
    except StdnumError:
        raise ValueError(_("Vul een geldige Nederlandse postcode in, zoals 3311 AB.")) from None


def phone(value: str, region: str = "NL") -> str:
    """A phone number in E.164 (``+31781234567``); Dutch numbers may omit the country code."""
    try:
        parsed = phonenumbers.parse(str(value or "").strip(), region)
    except phonenumbers.NumberParseException:
        raise ValueError(_("Vul een geldig telefoonnummer in, zoals 078-1234567.")) from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(_("Vul een geldig telefoonnummer in, zoals 078-1234567."))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def email(value: str) -> str:
    try:
        return validate_email(str(value or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError(_("Vul een geldig e-mailadres in.")) from None


def website(value: str) -> str:
    v = str(value or "").strip()
    if not re.match(r"^https?://", v, re.I):
        v = "https://" + v
    if not re.fullmatch(r"https?://[^\s/$.?#][^\s]*\.[^\s]{2,}", v, re.I):
        raise ValueError(_("Vul een geldig webadres in, zoals https://www.voorbeeld.nl."))
    return v


_SBI = re.compile(r"^\d{2}(?:\.?\d{1,3})?(?:\.?[0-9A-Za-z])?$")


def sbi_code(value: str) -> tuple[str, str]:
    """An SBI code and its version: SBI 2025 codes can carry dots and a trailing letter."""
    v = str(value or "").strip()
    if not _SBI.fullmatch(v) or len(v) > 10:
        raise ValueError(_("Ongeldige SBI-code: %(code)s.", code=v[:20]))
    version = "2025" if ("." in v or re.search(r"[A-Za-z]", v)) else "2008"
    return v.upper(), version
