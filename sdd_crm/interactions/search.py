"""Contact moments by part of their subject: one rule, served by an index.

The rule (:func:`subject_contains`): the subject contains the text, in any case (``lower()``),
LIKE wildcards in the text being ordinary characters — the condition the list always had. It
stays in every query, so what is found does not change; the index only decides how the rows
are reached.

The indexes (migration b12000000002), kept current by the database itself whatever writes the
row (the ORM, the bulk inserts of ``flask seed synthetic``, a raw SQL statement):

* SQLite: the FTS5 table ``interaction_search`` (``trigram`` tokenizer: case-insensitive
  substrings of three characters or more), an external content table over
  ``interaction.subject`` kept in step by triggers. Its matches are a superset of the rule's
  (it folds case beyond ASCII, where SQLite's ``lower()`` does not), so the rule is checked on
  them as well.
* PostgreSQL: a ``pg_trgm`` GIN index on ``lower(subject)``, which serves the rule's
  ``lower(subject) LIKE '%text%'`` itself; its statistics choose between that index and walking
  the list's date index.

On SQLite (no statistics) one statement counts the index's matches up to ``ID_LIST_LIMIT``: when
there are no more, the list reads just those contact moments and sorts them; when there are
more (a common word), walking the contact moments newest first fills a page sooner, testing
each subject on the way. Texts of one or two characters (no trigram) are always walked: they
match most subjects anyway.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..db import escape_like
from ..extensions import db
from .models import Interaction

SEARCH_TABLE = "interaction_search"
SHORTEST = 3  # a trigram
# Up to this many matches a list reads them and sorts them; beyond, it walks its date index.
ID_LIST_LIMIT = 5000

_fts = sa.table(SEARCH_TABLE, sa.column("rowid", sa.Integer))


def _matches(text: str) -> sa.Select:
    """Ids (rowids) of the contact moments whose subject the FTS5 index finds for ``text``, as
    one phrase (quotes doubled), so every character counts literally."""
    phrase = '"' + text.replace('"', '""') + '"'
    match = sa.literal_column(f"{SEARCH_TABLE}.{SEARCH_TABLE}").op("MATCH")(phrase)
    return sa.select(_fts.c.rowid).where(match)


def subject_contains(text: str):
    """SQL condition: the subject contains ``text`` in any case (see the module docstring)."""
    pattern = f"%{escape_like(text.lower())}%"
    rule = sa.func.lower(Interaction.subject).like(pattern, escape="\\")
    if len(text) < SHORTEST or db.session.get_bind().dialect.name != "sqlite":
        return rule
    found = _matches(text)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(
        found.limit(ID_LIST_LIMIT + 1).subquery()))
    if count > ID_LIST_LIMIT:
        return rule
    return sa.and_(Interaction.id.in_(found), rule)
