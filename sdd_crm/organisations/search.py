"""Organisation search by part of a name (or place): one rule, served by an index.

The rule (``name_condition``): an organisation is found when its name — or, when asked, its
place — contains the text, in any case; an organisation is also found under the old name of a
record merged into it. LIKE wildcards in the text are ordinary characters.

The indexes, kept current by the database itself whatever writes the row (the ORM, the bulk
inserts of ``flask seed synthetic``, the import, a raw SQL statement):

* SQLite: the FTS5 table ``organisation_search`` with the ``trigram`` tokenizer over
  ``organisation.name`` and ``organisation.city`` (case-insensitive substring search). It is an
  *external content* table: it stores only the index and reads the text from ``organisation``,
  so nothing is stored twice, and the migration fills it with FTS5's ``rebuild``. Triggers on
  ``organisation`` (insert, update of id/name/city, delete) keep it in step.
* PostgreSQL: ``pg_trgm`` GIN indexes on ``lower(name)`` and ``lower(city)``, which serve
  ``lower(name) LIKE '%text%'`` directly.

Texts of one or two characters have no trigram to look up. For them the rule is a *prefix*
search: the name starts with the text, in any case (places aside; so do the old names of
merged records) — read from the btree index on ``name`` as one range per case variant ("de":
``DE``, ``De``, ``dE``, ``de``). A substring of one or two letters matches most of the region
anyway; "starts with" is what a user typing two letters means.

How a search runs. Whether the term is rare or common decides the plan, and the database's
planner cannot see that from an FTS5 table (SQLite) nor tell that the matches of a term
cluster under one letter (PostgreSQL, which then walks the whole name index hoping for an early
page). So one statement asks first: on SQLite the index counts the matches up to
``ID_LIST_LIMIT`` + 1 (and lists the survivors of matching merged records); on PostgreSQL its
planner estimates them from its statistics (``EXPLAIN``: counting there would read every row the
lossy trigram index points at), and only for a common term a second statement lists the
survivors. Few matches: the condition is "id among the index's matches", and the query reads
those rows and sorts them. Many: the condition is tested on each row while the query walks its
own sort index, which a common term fills a page of soon — on SQLite ``id + 0`` among the
matches (no longer the rowid to its planner, so it cannot read all the matches to sort them),
on PostgreSQL the LIKE itself; a prefix walks the name index from the first case variant. Every
match is found either way: the limit only chooses the plan.
"""

from __future__ import annotations

import functools
import itertools
import sys

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..db import escape_like
from ..extensions import db
from ..pagination import estimated_rows
from .models import Organisation

SEARCH_TABLE = "organisation_search"  # SQLite FTS5 table (and its triggers' name prefix)
SHORTEST_SUBSTRING = 3  # a trigram; shorter texts are searched as a prefix
# Up to this many matches, a query reads just those rows and sorts them; beyond it, it walks
# its sort index testing each row (a common term fills a page soon). Measured at 100,000
# organisations (SQLite, one core): reading and sorting 4,500 matches of "werf" takes 9 ms,
# walking the name index to the first page of them 19 ms (they cluster under S); "bouw"
# (16,000 matches) 20 ms against 5 ms.
ID_LIST_LIMIT = 5000
# The same for a prefix: names starting with it lie together on the name index, so a walk in
# name order reaches a page almost at once; reading the matches pays only when there are few.
PREFIX_ID_LIST_LIMIT = 500

_fts = sa.table(SEARCH_TABLE, sa.column("rowid", sa.Integer), sa.column(SEARCH_TABLE))
# The PostgreSQL trigram indexes (expressions on ``lower()``: not declared on the model).
TRIGRAM_INDEXES = ("ix_organisation_name_trgm", "ix_organisation_city_trgm")


# The same kind of index for the subjects of contact moments (migration b12000000002,
# sdd_crm/interactions/search.py) and for contact persons (sdd_crm/contacts/search.py).
OTHER_SEARCH_TABLES = ("interaction_search", "contact_search")
OTHER_TRIGRAM_INDEXES = ("ix_interaction_subject_trgm", "ix_contact_last_name_trgm",
                         "ix_contact_first_name_trgm", "ix_contact_email_trgm")


def include_name(name, type_, parent_names) -> bool:
    """Alembic's ``include_name`` hook: leave the search index out of model/migration
    comparisons. The FTS5 table (and its shadow tables ``organisation_search_data`` …) and the
    trigram indexes are made by the migration in SQL the models cannot describe."""
    if type_ == "table" and name is not None and any(
            name == table or name.startswith(table + "_")
            for table in (SEARCH_TABLE, *OTHER_SEARCH_TABLES)):
        return False
    return not (type_ == "index" and name in TRIGRAM_INDEXES + OTHER_TRIGRAM_INDEXES)


def dialect_name() -> str:
    return db.session.get_bind().dialect.name


_CODE_POINT_COLLATIONS = {"C", "POSIX", "ucs_basic"}
_collation_checked: dict[str, bool] = {}


def _code_point_order(dialect: str) -> bool:
    """Whether the database sorts text by code point, so a range of strings is exactly a
    prefix: SQLite (BINARY) always; PostgreSQL when its collation is C/POSIX (asked once)."""
    if dialect == "sqlite":
        return True
    if dialect != "postgresql":
        return False
    connection = db.session.connection()
    key = connection.engine.url.render_as_string(hide_password=True)
    if key not in _collation_checked:
        collation = connection.exec_driver_sql("SHOW lc_collate").scalar() or ""
        _collation_checked[key] = (collation in _CODE_POINT_COLLATIONS
                                   or collation.upper().startswith("C."))
    return _collation_checked[key]


@functools.cache
def _alias(name: str):
    """A named alias of Organisation, made once (making one proxies every column)."""
    return aliased(Organisation, name=name)


# --- the pieces of the rule, per database ------------------------------------------------------

def fts_ids(query: str, table: str = SEARCH_TABLE) -> sa.Select:
    """Rowids the FTS5 query ``query`` finds in ``table`` (organisation ids by default)."""
    fts = _fts if table == SEARCH_TABLE else sa.table(table, sa.column("rowid", sa.Integer))
    match = sa.literal_column(f"{table}.{table}").op("MATCH")(query)
    return sa.select(fts.c.rowid).where(match)


def fts_phrase(text: str) -> str:
    """``text`` as one FTS5 phrase (quotes doubled), so every character counts literally: with
    the trigram tokenizer, "contains ``text``" in any case."""
    return '"' + text.replace('"', '""') + '"'


def _fts_query(text: str, *, city: bool = False, prefix: bool = False) -> str:
    """An FTS5 query for the substring ``text``: only the name column unless ``city``;
    ``prefix``: at the start of it."""
    phrase = fts_phrase(text)
    if prefix:
        return f"name : ^ {phrase}"
    return phrase if city else f"name : {phrase}"


def like(column, pattern_text: str, *, contains: bool):
    pattern = escape_like(pattern_text.lower()) + "%"
    return sa.func.lower(column).like("%" + pattern if contains else pattern, escape="\\")


def case_variants(text: str) -> list[str]:
    return sorted({"".join(chars) for chars in itertools.product(
        *({c, c.lower(), c.upper()} for c in text))})


def _after_prefix(text: str) -> str | None:
    """The smallest string after every string starting with ``text`` (code point order)."""
    code = ord(text[-1]) + 1
    if 0xD800 <= code <= 0xDFFF:  # surrogates are not text
        code = 0xE000
    return text[:-1] + chr(code) if code <= sys.maxunicode else None


def starts_with(column, text: str, dialect: str, *, indexed: bool = True, bounded: bool = False,
                 exact: bool = True, variants: bool = True):
    """``column`` starts with ``text`` in any case: one index range per case variant ("de":
    ``DE``, ``De``, ``dE``, ``de``).

    ``indexed=False`` (SQLite): only a test on rows found otherwise (``column || ''`` is no
    index column to its planner). ``bounded``: also one range around all variants, so a query
    sorted on ``column`` walks its index from the first variant and stops at a full page.
    ``exact=False``: the ranges alone, even where they may hold more than the prefix (a
    linguistic collation on PostgreSQL); they are exact where text sorts by code point. (With
    an extra exact check PostgreSQL would multiply two shares that are one and the same and
    expect far too few rows.) ``variants=False``: ``text`` as it is, no other case."""
    key = column if indexed or dialect != "sqlite" else column.concat("")
    variants = case_variants(text) if variants else [text]
    ranges = []
    for variant in variants:
        after = _after_prefix(variant)
        ranges.append(key >= variant if after is None else sa.and_(key >= variant, key < after))
    condition = sa.or_(*ranges)
    code_points = _code_point_order(dialect)
    if exact and not code_points:
        # Under a linguistic collation a range may hold more than the prefix: check it exactly.
        condition = sa.and_(condition, like(column, text, contains=False))
    if bounded:
        afters = [a for a in map(_after_prefix, variants) if a is not None]
        if code_points:
            low, high = min(variants), max(afters) if len(afters) == len(variants) else None
        else:  # the database's own collation orders the bounds
            low = sa.func.least(*variants)
            high = sa.func.greatest(*afters) if len(afters) == len(variants) else None
        bound = column >= low if high is None else sa.and_(column >= low, column < high)
        condition = sa.and_(bound, condition)
    return condition


def _found(text: str, *, city: bool, dialect: str, exact: bool = True) -> sa.Select:
    """Ids of the organisations (whatever their state) the rule finds by their own name or
    place, read from the search index (``exact=False``: see :func:`starts_with`)."""
    if len(text) >= SHORTEST_SUBSTRING and dialect == "sqlite":
        return fts_ids(_fts_query(text, city=city))
    found = _alias("found")
    if len(text) < SHORTEST_SUBSTRING:
        return sa.select(found.id).where(starts_with(found.name, text, dialect, exact=exact))
    conditions = [like(found.name, text, contains=True)]
    if city:
        conditions.append(like(found.city, text, contains=True))
    return sa.select(found.id).where(sa.or_(*conditions))


def _survivors(text: str, dialect: str) -> sa.Select:
    """Ids of the records that merged records with a matching (old) name went into. Read
    through the index of merged records (few), each one's name checked (on SQLite by FTS5
    seeking its rowid), so the cost follows the merged records, not the term's matches."""
    merged = _alias("merged")
    if len(text) < SHORTEST_SUBSTRING:
        name_matches = starts_with(merged.name, text, dialect, indexed=False)
    elif dialect == "sqlite":
        name_matches = sa.exists(fts_ids(_fts_query(text)).where(_fts.c.rowid == merged.id))
    else:
        name_matches = like(merged.name, text, contains=True)
    return sa.select(merged.merged_into_id).where(merged.merged_into_id.is_not(None),
                                                  name_matches)


# --- choosing the plan ----------------------------------------------------------------------------

def _sqlite_plan(found: sa.Select, survivors: sa.Select, limit: int) -> tuple[bool, list[int]]:
    """``(few, survivor ids)`` in one statement: whether ``found`` holds at most ``limit`` ids
    (counted through the index up to one more than that)."""
    counted = sa.select(sa.literal(0).label("kind"), sa.func.count().label("value")).select_from(
        found.limit(limit + 1).subquery())
    listed = sa.select(sa.literal(1).label("kind"), survivors.subquery().c[0])
    few, ids = True, []
    for kind, value in db.session.execute(sa.union_all(counted, listed)):
        if kind:
            ids.append(value)
        else:
            few = value <= limit
    return few, sorted(set(ids))


def name_condition(text: str, organisation=Organisation, *, city: bool = False):
    """SQL condition: ``organisation`` (the entity or an alias the query joins) has a name (with
    ``city``: or a place) containing ``text`` in any case, or a record merged into it had such a
    name. A text shorter than three characters: the name starts with it (places aside).

    Runs a statement or two to choose the plan (see the module docstring)."""
    if not text:
        return sa.true()
    if "\x00" in text:  # no index takes it (FTS5 ends its query there; PostgreSQL refuses it)
        return sa.false()
    dialect = dialect_name()
    short = len(text) < SHORTEST_SUBSTRING
    city = city and not short
    found, survivors = _found(text, city=city, dialect=dialect), _survivors(text, dialect)
    limit = PREFIX_ID_LIST_LIMIT if short else ID_LIST_LIMIT
    if dialect == "sqlite":
        few, survivor_ids = _sqlite_plan(found, survivors, limit)
        if few:  # SQLite looks these ids up and sorts them
            condition = organisation.id.in_(found)
            if survivor_ids:
                condition = sa.or_(condition, organisation.id.in_(survivor_ids))
            return condition
        # Many: a test on each row while SQLite walks the sort index (``id + 0`` is no rowid to
        # its planner, so it does not look all the matches up to sort them).
        key = organisation.id + sa.literal_column("0")
        condition = (starts_with(organisation.name, text, dialect, indexed=False, bounded=True)
                     if short else key.in_(found))
        return sa.or_(condition, key.in_(survivor_ids)) if survivor_ids else condition
    if dialect == "postgresql" and estimated_rows(
            _found(text, city=city, dialect=dialect, exact=False)) <= limit:
        # Few: the ids as one array, so PostgreSQL reads just those rows by their key and sorts
        # them (handed the LIKE itself, it may walk the sort index hoping for an early page,
        # which matches clustered under one letter turn into a walk of the whole index).
        return organisation.id == sa.any_(sa.func.array(
            sa.union_all(found, survivors).scalar_subquery()))
    if not short:
        # Many: the LIKE, tested on each row of the walk; the survivors read once, as an array.
        return sa.or_(like(organisation.name, text, contains=True),
                      *([like(organisation.city, text, contains=True)] if city else []),
                      organisation.id == sa.any_(sa.func.array(survivors.scalar_subquery())))
    # A prefix walks a range of the name index, which any OR-ed subquery would keep PostgreSQL
    # from reading as a range: the survivors as a list instead (one statement more).
    condition = starts_with(organisation.name, text, dialect, bounded=True)
    survivor_ids = sorted(set(db.session.scalars(survivors)))
    return sa.or_(condition, organisation.id.in_(survivor_ids)) if survivor_ids else condition


def name_starts_with(text: str, organisation=Organisation):
    """SQL condition: ``organisation``'s name starts with ``text``, in any case (from the index;
    the suggestions list these first)."""
    if "\x00" in text:
        return sa.false()
    dialect = dialect_name()
    if len(text) < SHORTEST_SUBSTRING:
        return starts_with(organisation.name, text, dialect)
    if dialect == "sqlite":
        return organisation.id.in_(fts_ids(_fts_query(text, prefix=True)))
    # The ranges of its first two characters (the name index) and the prefix itself (the
    # trigram index): PostgreSQL reads whichever is narrower, or both. Trigrams alone would not
    # do for a text of punctuation and short words ("b.v.": pg_trgm indexes words).
    return sa.and_(starts_with(organisation.name, text[:2], dialect, exact=False),
                   like(organisation.name, text, contains=False))
