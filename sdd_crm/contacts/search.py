"""Contact search by part of a name, an e-mail address or the organisation's name, served by
an index as the organisation search is (``organisations/search.py``, whose pieces it uses).

The rule (``contact_condition``): the contact's last name, first name or e-mail address, or
its organisation's name, contains the text in any case (LIKE wildcards are ordinary
characters); a text of one or two characters: the last name starts with it — the list is
sorted on the last name, so such a search walks the list's own index.

The indexes, kept current by the database whatever writes the row:

* SQLite: the FTS5 table ``contact_search`` (``trigram``, external content) over
  ``contact.last_name``, ``first_name`` and ``email``, kept by triggers on ``contact``; the
  organisation's name through ``organisation_search``.
* PostgreSQL: ``pg_trgm`` GIN indexes on ``lower()`` of those three columns.

As for organisations, one statement first tells few matches (read them, sort them) from many
(walk the list's sort index, testing each row).
"""

from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..extensions import db
from ..organisations.models import Organisation
from ..organisations.search import (
    PREFIX_ID_LIST_LIMIT,
    SHORTEST_SUBSTRING,
    case_variants,
    dialect_name,
    fts_ids,
    fts_phrase,
    like,
    starts_with,
)
from ..pagination import estimated_rows
from .models import Contact

SEARCH_TABLE = "contact_search"  # SQLite FTS5 table (and its triggers' name prefix)
# (Its PostgreSQL trigram indexes are named in ``organisations.search.OTHER_TRIGRAM_INDEXES``,
# for the migrations' ``include_name``.)
# As organisations.search.ID_LIST_LIMIT, per part (contacts; organisations, whose contacts are
# read by their organisation): lower, as a contact row costs more to read and sort (its
# organisation joined), and a common term's contacts are spread over the list by their
# organisations. At 175,000 contacts (SQLite, a busy 2-core machine) the 6,400 contacts of
# "visser" (4,600 by name, the others through 1,050 organisations) read and sorted took 40 ms,
# walked 10 ms.
CONTACT_ID_LIST_LIMIT = 1000


@functools.cache
def _alias(name: str):
    """A named alias of Contact (``contact_…``) or Organisation, made once."""
    return aliased(Contact if name.startswith("contact") else Organisation, name=name)


def _found(text: str, dialect: str, *, exact: bool = True) -> tuple[sa.Select, sa.Select | None]:
    """``(contacts, organisations)``: ids of the contacts whose own fields match and of the
    organisations whose name does (None for a short text: the last name only). ``exact``: see
    ``organisations.search.starts_with``."""
    if len(text) < SHORTEST_SUBSTRING:
        found = _alias("contact_found")
        # Live contacts only, so the list's partial index (deleted_at IS NULL) serves it; one
        # select per case variant, as SQLite reads OR-ed ranges of a partial index whole.
        return sa.union_all(*(
            sa.select(found.id).where(found.deleted_at.is_(None), starts_with(
                found.last_name, variant, dialect, exact=exact, variants=False))
            for variant in case_variants(text))), None
    if dialect == "sqlite":
        return (fts_ids(fts_phrase(text), SEARCH_TABLE),
                fts_ids("name : " + fts_phrase(text)))
    contact, organisation = _alias("contact_found"), _alias("organisation_found")
    return (sa.select(contact.id).where(sa.or_(*(like(column, text, contains=True) for column in (
                contact.last_name, contact.first_name, contact.email)))),
            sa.select(organisation.id).where(like(organisation.name, text, contains=True)))


def _counts(text: str, limit: int, dialect: str) -> tuple[bool, bool, bool]:
    """``(few, any contact, any organisation)``: whether the text finds at most ``limit``
    contacts and at most ``limit`` organisations, and whether it finds any of each (see
    ``organisations.search``: counted up to one more on SQLite; PostgreSQL's estimate, where
    "any" is always assumed)."""
    contacts, organisations = _found(text, dialect, exact=False)
    if dialect == "postgresql":
        found = contacts if organisations is None else sa.union_all(contacts, organisations)
        return estimated_rows(found) <= limit, True, True
    counts = {kind: 0 for kind in ("contacts", "organisations")}
    selects = [sa.select(sa.literal(kind), sa.func.count()).select_from(
        stmt.limit(limit + 1).subquery())
        for kind, stmt in (("contacts", contacts), ("organisations", organisations))
        if stmt is not None]
    for kind, count in db.session.execute(sa.union_all(*selects)):
        counts[kind] = count
    return (all(n <= limit for n in counts.values()), counts["contacts"] > 0,
            counts["organisations"] > 0)


def contact_condition(text: str):
    """SQL condition on ``Contact`` (joined to its ``Organisation``): the rule above.

    Runs one statement to choose the plan (see the module docstring)."""
    if "\x00" in text:  # no index takes it (FTS5 ends its query there; PostgreSQL refuses it)
        return sa.false()
    dialect = dialect_name()
    short = len(text) < SHORTEST_SUBSTRING
    contacts, organisations = _found(text, dialect)
    few, any_contact, any_organisation = _counts(
        text, PREFIX_ID_LIST_LIMIT if short else CONTACT_ID_LIST_LIMIT, dialect)
    if short:
        if few:
            return Contact.id.in_(contacts)
        return starts_with(Contact.last_name, text, dialect, indexed=False, bounded=True)
    if dialect == "sqlite":
        # Many: ``+ 0`` keeps SQLite from reading every match to sort them; it walks the list's
        # index and tests each row instead. A part that finds nothing is left out, so a walk
        # for a common last name only reads the index (the organisation is on the row).
        zero = sa.literal_column("0")
        contact_id = Contact.id if few else Contact.id + zero
        organisation_id = Contact.organisation_id if few else Contact.organisation_id + zero
        parts = ([contact_id.in_(contacts)] if any_contact else []) + (
            [organisation_id.in_(organisations)] if any_organisation else [])
        return sa.or_(*parts) if parts else sa.false()
    if few:
        # The ids as one array: PostgreSQL reads those rows by their key and sorts them.
        at = _alias("contact_at")
        return Contact.id == sa.any_(sa.func.array(sa.union_all(
            contacts, sa.select(at.id).where(at.organisation_id.in_(organisations)))
            .scalar_subquery()))
    return sa.or_(*(like(column, text, contains=True) for column in (
        Contact.last_name, Contact.first_name, Contact.email, Organisation.name)))
