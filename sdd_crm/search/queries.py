"""What the global search finds, per kind, for one user (DESIGN 4.4 on the server).

Each kind is searched by its own list's query and search rule, served by the indexes of the
performance issue (``organisations.search``, ``contacts.search``, ``interactions.search``):

* organisations — ``organisation_list`` with ``q``: KvK number, name (and old names of merged
  records) or place;
* contact persons — ``contact_list`` with ``q``: last name, first name, e-mail or organisation;
  for who may see personal data only (``can_view_contacts``), restricted ones for admins only;
* contact moments — ``interaction_list`` with ``q``: the subject, through ``interaction_visible``
  (confidential ones for author, account team and admins; none for viewers);
* leads — the leads the user may see (``lead_visible``; none for viewers) whose title or
  organisation's name contains the text, or whose organisation has it as KvK number; leads are
  few (a region shares a few hundred a year: 2,500 in the 10× benchmark data), so each lead the
  list reaches is tested;
* value chains — the live chains whose name contains the text (a few dozen rows).

A group shows its first :data:`GROUP_SIZE` results and how many there are, counted up to
:data:`COUNT_CAP` (``pagination.count_up_to``: the database stops there), so a common word over
a million contact moments costs what a rare one does.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import contains_eager

from ..contacts.models import Contact
from ..contacts.queries import contact_list, may_see_restricted
from ..extensions import db
from ..interactions.queries import InteractionFilters, interaction_list
from ..interactions.queries import with_list_relations as with_interaction_relations
from ..interactions.visibility import can_see_interactions
from ..leads.models import Lead
from ..leads.queries import LeadFilters, lead_list, may_use_leads
from ..leads.queries import with_list_relations as with_lead_relations
from ..organisations.models import Organisation
from ..organisations.queries import (
    OrganisationFilters,
    kvk_number_in,
    organisation_list,
)
from ..organisations.search import like
from ..pagination import COUNT_BUDGET_MS, CountTimeout, Total, capped_count, time_box
from ..permissions import can_view_contacts
from ..valuechains.models import ValueChain

GROUP_SIZE = 5  # results shown per kind on the results page
COUNT_CAP = 100  # a group counts up to this many: "meer dan 100" beyond
MAX_LENGTH = 200  # as the list filters: a longer text is cut
SUBJECT_MIN_LENGTH = 3  # interactions.search.SHORTEST: the subject index holds trigrams

KINDS = ("organisations", "contacts", "interactions", "leads", "valuechains")
KIND_LABELS = {
    "organisations": _l("Organisaties"),
    "contacts": _l("Contactpersonen"),
    "interactions": _l("Contactmomenten"),
    "leads": _l("Signalen"),
    "valuechains": _l("Waardeketens"),
}


@dataclass
class Group:
    kind: str
    items: list
    total: Total
    list_url: str  # every result of this kind: its list page filtered, or this search by kind

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self.kind])


def clean_text(text: str | None) -> str:
    """The search text as the lists take it: trimmed, at most :data:`MAX_LENGTH` characters."""
    text = "".join(ch for ch in (text or "") if ch >= " " or ch in "\t\n\r")  # no NUL etc.
    return " ".join(text.split())[:MAX_LENGTH]


def kinds_for(user, text: str | None = None) -> tuple[str, ...]:
    """The kinds ``user`` may search (DESIGN 4.4): viewers read no personal data, no notes and
    no leads. With ``text``: only the kinds an index serves for it — contact moments need three
    characters (a trigram; a shorter subject search would walk every contact moment)."""
    allowed = {"organisations", "valuechains"}
    if can_view_contacts(user):
        allowed.add("contacts")
    if can_see_interactions(user) and (text is None or len(text) >= SUBJECT_MIN_LENGTH):
        allowed.add("interactions")
    if may_use_leads(user):
        allowed.add("leads")
    return tuple(kind for kind in KINDS if kind in allowed)


def organisation_results(text: str) -> sa.Select:
    return organisation_list(OrganisationFilters(q=text))


def contact_results(user, text: str) -> sa.Select:
    return contact_list(text, include_restricted=may_see_restricted(user)).options(
        contains_eager(Contact.organisation))


def interaction_results(user, text: str) -> sa.Select:
    return with_interaction_relations(interaction_list(user, InteractionFilters(q=text)))


def lead_results(user, text: str) -> sa.Select:
    """The leads ``user`` may see whose title or organisation's name contains ``text`` (any
    case), or whose organisation has ``text`` as its KvK number. Tested on each lead the list
    reaches (a few thousand in all): reading the organisation index for a common name first
    (every "Dordrecht …") would cost more than the leads themselves."""
    stmt = lead_list(user, LeadFilters(tab="all"))
    found = [like(Lead.title, text, contains=True), like(Organisation.name, text, contains=True)]
    kvk = kvk_number_in(text)
    if kvk:
        found.append(Organisation.kvk_number == kvk)
    return with_lead_relations(stmt.where(sa.or_(*found)))


def valuechain_results(text: str) -> sa.Select:
    return (sa.select(ValueChain).where(ValueChain.deleted_at.is_(None),
                                        like(ValueChain.name, text, contains=True))
            .order_by(ValueChain.name, ValueChain.id))


def results(user, kind: str, text: str) -> sa.Select:
    """The statement of every result of ``kind`` for ``user`` (who may search it: see
    :func:`kinds_for`), in the order of its list."""
    if kind not in kinds_for(user):
        raise PermissionError(kind)
    if kind == "organisations":
        return organisation_results(text)
    if kind == "contacts":
        return contact_results(user, text)
    if kind == "interactions":
        return interaction_results(user, text)
    if kind == "leads":
        return lead_results(user, text)
    return valuechain_results(text)


def list_url(kind: str, text: str) -> str:
    """Where all results of ``kind`` are: the kind's own list filtered by the same rule, or —
    for a kind whose list has no text filter — this search limited to that kind."""
    if kind == "organisations":
        return url_for("organisations.index", q=text)
    if kind == "contacts":
        return url_for("contacts.index", q=text)
    if kind == "interactions":
        return url_for("interactions.index", q=text)
    return url_for("search.index", q=text, kind=kind)


def search(user, text: str, size: int = GROUP_SIZE) -> list[Group]:
    """The groups of results for ``user``: per kind they may see, the first ``size`` and how
    many there are (up to :data:`COUNT_CAP`). Kinds without a result are left out."""
    groups = []
    for kind in kinds_for(user, text):
        stmt = results(user, kind, text)
        try:
            # The first rows and their number (counted up to the cap) in one statement.
            with time_box(COUNT_BUDGET_MS):
                rows = db.session.execute(
                    stmt.add_columns(capped_count(stmt, COUNT_CAP)).limit(size)).unique().all()
            items, counted = [row[0] for row in rows], (rows[0][1] if rows else 0)
        except CountTimeout:
            # Matches spread thinly over a big table: the rows alone ("meer dan" what is shown).
            items = db.session.scalars(stmt.limit(size + 1)).unique().all()
            counted = len(items) if len(items) <= size else None
        if not items:
            continue
        if counted is None:
            total = Total(size, capped=True)
        else:
            total = Total(COUNT_CAP, capped=True) if counted > COUNT_CAP else Total(counted)
        groups.append(Group(kind, items[:size], total, list_url(kind, text)))
    return groups
