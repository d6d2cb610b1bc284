"""What identifies a contact person in stored text, and how to take it out.

Two kinds of marks:

* **strong** — the full name (``Anna de Vries``, ``de Vries, Anna``), the e-mail address and
  the phone numbers in every usual form (``+31612345678``, ``06-12345678``, ``0031 6 1234 5678``):
  they point at this person wherever they appear, so the erasure removes them from every text
  and JSON column of the database and from every kept file;
* **weak** — the first name or the surname alone: they point at this person only in records
  about them (their organisation's contact moments, tasks and leads, the rows of a file that
  hold their e-mail address, the jobs whose parameters or files hold them), and only there are
  they removed: elsewhere a "Jan" is someone else.
  The organisation's own name is kept (``Zwartkruis Installatie B.V.`` stays when
  Mr Zwartkruis is erased).

The organisation's own e-mail address and phone number are company data, not the person's:
they are not marks even when the contact row repeats them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import phonenumbers

REMOVED = "[verwijderd]"
_SEP = r"[\s\-./()]*"


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"\s+", (text or "").strip()) if w]


def _name_pattern(*parts: str) -> str:
    """``parts`` in order, any white space between their words, whole words only."""
    words = [re.escape(w) for p in parts for w in _words(p)]
    return r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)"


def _phone_pattern(e164: str) -> str | None:
    """Every usual way to write ``e164``: with +CC, 00CC or (for the Netherlands) a trunk 0,
    separators anywhere, ``+31 (0)6 …``."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    national = str(number.national_number)
    if len(national) < 6:
        return None
    cc = str(number.country_code)
    prefix = (rf"(?:(?:\+|00){_SEP}{_SEP.join(cc)}{_SEP}(?:\(0\){_SEP})?|0{_SEP})")
    return r"(?<![\d+])" + prefix + _SEP.join(national) + r"(?!\d)"


def _phone_like_tokens(e164: str) -> list[str]:
    """Plain substrings that a stored form of the number holds (for a SQL pre-filter)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return [e164]
    national = str(number.national_number)
    return [e164, "0" + national, national[-4:]]


@dataclass
class Person:
    """The marks of one contact person, compiled once per erasure or access request."""

    first_name: str | None
    last_name: str | None
    email: str | None
    phones: list[str] = field(default_factory=list)  # E.164
    protected: list[str] = field(default_factory=list)  # the organisation's name

    def __post_init__(self) -> None:
        first = (self.first_name or "").strip()
        last = (self.last_name or "").strip()
        strong, weak, like = [], [], []
        if first and last:
            strong += [_name_pattern(first, last), _name_pattern(last) + r",\s*" + _name_pattern(first)]
            like += [f"{first} {last}", f"{last}, {first}"]
        for part in (first, last):
            if len(part) >= 2:
                weak.append(_name_pattern(part))
        if self.email:
            strong.append(r"(?<![\w.+-])" + re.escape(self.email) + r"(?![\w-])")
            like.append(self.email)
        for e164 in dict.fromkeys(self.phones):
            pattern = _phone_pattern(e164)
            if pattern:
                strong.append(pattern)
                like += _phone_like_tokens(e164)
        flags = re.IGNORECASE | re.UNICODE
        self._strong = re.compile("|".join(f"(?:{p})" for p in strong), flags) if strong else None
        self._weak = re.compile("|".join(f"(?:{p})" for p in weak), flags) if weak else None
        names = [n for n in self.protected if n and n.strip()]
        self._protect = re.compile("|".join(_name_pattern(n) for n in names), flags) \
            if names else None
        self.like_tokens = sorted({t.lower() for t in like if t and len(t) >= 4})
        self._literals: dict[str, str] = {}
        self._literal = None
        self.first_lower, self.last_lower = first.lower(), last.lower()

    @classmethod
    def of(cls, contact) -> Person:
        org = contact.organisation
        company_phone = getattr(org, "phone", None)
        company_email = (getattr(org, "email", None) or "").lower()
        phones = [p for p in (contact.phone, contact.mobile) if p and p != company_phone]
        email = contact.email if contact.email and contact.email.lower() != company_email else None
        return cls(contact.first_name, contact.last_name, email, phones,
                   protected=[org.name] if org is not None else [])

    @property
    def empty(self) -> bool:
        return self._strong is None and self._weak is None

    def add_literal(self, text: str, replacement: str) -> None:
        """From now on, ``text`` (say a file name that holds the surname) is replaced by
        ``replacement`` wherever it appears, like a strong mark."""
        if not text or text == replacement:
            return
        self._literals[text.lower()] = replacement
        self._literal = re.compile("|".join(re.escape(t) for t in sorted(
            self._literals, key=len, reverse=True)), re.IGNORECASE)
        self.like_tokens = sorted({*self.like_tokens, text.lower()})

    # --- text -----------------------------------------------------------------------------

    def mentions(self, text, *, weak: bool = False) -> bool:
        if not isinstance(text, str) or not text:
            return False
        if self._strong is not None and self._strong.search(text):
            return True
        if self._literal is not None and self._literal.search(text):
            return True
        return weak and self._weak is not None and self._weak_matches(text)

    def _weak_matches(self, text: str) -> bool:
        return any(True for _ in self._unprotected(text))

    def _unprotected(self, text: str):
        spans = [m.span() for m in self._protect.finditer(text)] if self._protect else []
        for m in self._weak.finditer(text):
            start, end = m.span()
            if not any(s < end and start < e for s, e in spans):
                yield m

    def scrub(self, text, *, weak: bool = False):
        """``text`` with this person's marks replaced by ``[verwijderd]`` (non-text: as is)."""
        if not isinstance(text, str) or not text:
            return text
        if self._literal is not None:
            text = self._literal.sub(lambda m: self._literals[m.group().lower()], text)
        if self._strong is not None:
            text = self._strong.sub(REMOVED, text)
        if weak and self._weak is not None:
            spans = [m.span() for m in self._unprotected(text)]
            for start, end in reversed(spans):
                text = text[:start] + REMOVED + text[end:]
        return text

    def scrub_json(self, value, *, weak: bool = False):
        """A copy of a JSON value with every string scrubbed (keys are field names: kept)."""
        if isinstance(value, str):
            return self.scrub(value, weak=weak)
        if isinstance(value, list):
            return [self.scrub_json(v, weak=weak) for v in value]
        if isinstance(value, dict):
            return {k: self.scrub_json(v, weak=weak) for k, v in value.items()}
        return value

    def json_mentions(self, value, *, weak: bool = False) -> bool:
        if isinstance(value, str):
            return self.mentions(value, weak=weak)
        if isinstance(value, list):
            return any(self.json_mentions(v, weak=weak) for v in value)
        if isinstance(value, dict):
            return any(self.json_mentions(v, weak=weak) for v in value.values())
        return False

    # --- rows of a table (a spreadsheet, a CSV file) -----------------------------------------

    def row_is_about(self, cells: Iterable) -> bool:
        """Whether a row of a file is this person's: a strong mark in a cell, or their first
        and last name as two cells."""
        values = [c.strip().lower() for c in cells if isinstance(c, str) and c.strip()]
        if any(self.mentions(v) for v in values):
            return True
        return bool(self.first_lower and self.last_lower and self.first_lower in values
                    and self.last_lower in values)

    def like_patterns(self) -> list[str]:
        """Lower-case substrings for a SQL ``LIKE`` pre-filter, also as JSON escapes them."""
        out = set()
        for token in self.like_tokens:
            out.add(token)
            escaped = json.dumps(token)[1:-1]
            out.add(escaped)
        return sorted(out)


class People:
    """Several people erased at once (the retention list, the bin's purge): one pass over the
    files and the database for all of them. Same interface as :class:`Person`."""

    def __init__(self, people: list[Person]):
        self.people = [p for p in people if not p.empty]

    @property
    def empty(self) -> bool:
        return not self.people

    def add_literal(self, text: str, replacement: str) -> None:
        for p in self.people:
            p.add_literal(text, replacement)

    def mentions(self, text, *, weak: bool = False) -> bool:
        return any(p.mentions(text, weak=weak) for p in self.people)

    def scrub(self, text, *, weak: bool = False):
        for p in self.people:
            text = p.scrub(text, weak=weak)
        return text

    def scrub_json(self, value, *, weak: bool = False):
        for p in self.people:
            value = p.scrub_json(value, weak=weak)
        return value

    def json_mentions(self, value, *, weak: bool = False) -> bool:
        return any(p.json_mentions(value, weak=weak) for p in self.people)

    def row_is_about(self, cells) -> bool:
        cells = list(cells)
        return any(p.row_is_about(cells) for p in self.people)

    def like_patterns(self) -> list[str]:
        return sorted({t for p in self.people for t in p.like_patterns()})
