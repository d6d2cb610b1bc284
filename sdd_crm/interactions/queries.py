"""Queries for contact moments. Every path filters through ``visibility`` (DESIGN 4.4)."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased, contains_eager, joinedload, selectinload

from ..auth.models import Role, User
from ..contacts.models import Contact
from ..contacts.queries import processable
from ..exceptions import hidden
from ..extensions import db
from ..i18n import local_today  # noqa: F401  (re-exported for the task and timeline views)
from ..organisations.models import Organisation
from ..organisations.queries import kvk_or_name
from ..organisations.search import name_starts_with
from ..validation import parse_date
from .visibility import can_see_interaction, can_see_interactions, interaction_visible
from .models import Interaction, InteractionTopic, InteractionType, Topic
from .search import subject_contains
from .services import can_edit_interaction


def _int(value) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def _date(value) -> dt.date | None:
    try:
        return parse_date(value) if value else None
    except ValueError:
        return None


@dataclass
class InteractionFilters:
    q: str | None = None  # in the subject
    organisation: str | None = None  # name or KvK number
    organisation_id: int | None = None
    type: str | None = None
    topic: str | None = None
    mine: bool = False  # author = me
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    confidential: bool | None = None

    @classmethod
    def from_args(cls, args) -> InteractionFilters:
        confidential = {"1": True, "0": False}.get(args.get("confidential") or "")
        return cls(
            q=(args.get("q") or "").strip()[:200] or None,
            organisation=(args.get("organisation") or "").strip()[:200] or None,
            organisation_id=_int(args.get("organisation_id")),
            type=args.get("type") if args.get("type") in {t.value for t in InteractionType} else None,
            topic=args.get("topic") if args.get("topic") in {t.value for t in Topic} else None,
            mine=args.get("author") == "me",
            date_from=_date(args.get("date_from")),
            date_to=_date(args.get("date_to")),
            confidential=confidential,
        )


# Up to this many organisations found by the "organisation" filter, SQLite reads their contact
# moments (about ten each) and sorts them; when the text finds more, their contact moments are
# common enough that walking all of them newest first fills a page sooner. PostgreSQL, which
# keeps statistics, is given the ids themselves up to ORGANISATION_ID_LIST_MAX, so it knows how
# many there are and chooses itself (the search's own condition hides that number from it).
ORGANISATION_ID_LIMIT = 500
ORGANISATION_ID_LIST_MAX = 5000


@functools.cache
def _named():
    """An alias of Organisation, made once (making one copies every column)."""
    return aliased(Organisation, name="named")


def _of_organisations_named(text: str):
    """SQL condition: the contact moment is about an organisation with this KvK number or a
    name containing ``text`` (``organisations.queries.kvk_or_name``). One statement reads some
    of their ids first, to choose the plan (see above)."""
    named = _named()
    found = kvk_or_name(text, named)
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    most = ORGANISATION_ID_LIMIT if sqlite else ORGANISATION_ID_LIST_MAX
    ids = db.session.scalars(sa.select(named.id).where(found).limit(most + 1)).all()
    if len(ids) <= most:
        if sqlite:
            return Interaction.organisation_id.in_(ids)
        # One array parameter rather than thousands of them (each parsed and planned).
        return Interaction.organisation_id == sa.any_(
            sa.bindparam("organisation_ids", list(ids), type_=postgresql.ARRAY(sa.Integer)))
    # Correlated, so it is tested on each contact moment along the date index rather than
    # read first (SQLite would otherwise start from every matching organisation).
    return sa.exists().where(named.id == Interaction.organisation_id, found)


def interaction_list(user, filters: InteractionFilters | None = None) -> sa.Select:
    """Live interactions this user may see, newest first, with what list rows show."""
    filters = filters or InteractionFilters()
    stmt = (
        sa.select(Interaction)
        .join(Organisation, Interaction.organisation_id == Organisation.id)
        .where(Interaction.deleted_at.is_(None), Organisation.deleted_at.is_(None),
               interaction_visible(user))
    )
    if filters.q:
        stmt = stmt.where(subject_contains(filters.q))
    if filters.organisation_id:
        stmt = stmt.where(Interaction.organisation_id == filters.organisation_id)
    if filters.organisation:
        stmt = stmt.where(_of_organisations_named(filters.organisation))
    if filters.type:
        stmt = stmt.where(Interaction.type == filters.type)
    if filters.topic:
        stmt = stmt.where(sa.exists().where(InteractionTopic.interaction_id == Interaction.id,
                                            InteractionTopic.topic == filters.topic))
    if filters.mine:
        stmt = stmt.where(Interaction.author_id == user.id)
    if filters.date_from:
        stmt = stmt.where(Interaction.date >= filters.date_from)
    if filters.date_to:
        stmt = stmt.where(Interaction.date <= filters.date_to)
    if filters.confidential is not None:
        # "=" rather than "IS": the equality leads the (confidential, date, id) index.
        stmt = stmt.where(Interaction.confidential == filters.confidential)
    return stmt.order_by(Interaction.date.desc(), Interaction.id.desc())


def with_list_relations(stmt: sa.Select) -> sa.Select:
    """Eager-load what list rows show: a page costs a fixed number of statements (no N+1).
    The organisation comes from the join :func:`interaction_list` makes anyway (a second join
    of it, with its municipality, cost PostgreSQL more to plan than to run)."""
    return stmt.options(contains_eager(Interaction.organisation), joinedload(Interaction.author),
                        selectinload(Interaction.topics))


def get_interaction(interaction_id: int, *, user, for_edit: bool = False) -> Interaction:
    """Load a contact moment or 404. Viewers never read notes (403); a confidential one outside
    the user's circle is a 404, not a 403, so its existence does not leak (DESIGN 4.4)."""
    if not can_see_interactions(user):
        abort(403)
    interaction = db.session.scalar(
        sa.select(Interaction).where(Interaction.id == interaction_id).options(
            joinedload(Interaction.organisation), joinedload(Interaction.author),
            selectinload(Interaction.topics), selectinload(Interaction.contacts),
            selectinload(Interaction.users)))
    if (interaction is None or interaction.deleted_at is not None
            or interaction.organisation.deleted_at is not None):
        abort(404)
    if not can_see_interaction(user, interaction):
        raise hidden(interaction)  # answered as a missing id; the refusal is audited
    if for_edit and not can_edit_interaction(user, interaction):
        abort(403)
    return interaction


# --- Choosing an organisation by typing its name or KvK number (the phone form) -----------

_CHOICE_SUFFIX = re.compile(r"\((?:KvK\s*(\d{8})|nr\.\s*(\d{1,9}))\)\s*$", re.I)


def organisation_choice_label(org: Organisation) -> str:
    """How an organisation appears in the search box; :func:`resolve_organisation` reads it back."""
    suffix = f"KvK {org.kvk_number}" if org.kvk_number else f"nr. {org.id}"
    return f"{org.name} ({suffix})"


def _live_organisations():
    return sa.select(Organisation).where(Organisation.deleted_at.is_(None),
                                         Organisation.merged_into_id.is_(None))


def organisation_matches(text: str, limit: int = 10) -> list[Organisation]:
    """Live organisations whose name contains ``text`` (or whose KvK number it is, following
    merged records: ``organisations.queries.kvk_or_name``), names starting with it first.

    The two groups are read apart, each in name order: one query sorted on "starts with it"
    would sort every match of a common term to show ten."""
    text = (text or "").strip()[:200]
    if not text:
        return []
    found, starts = kvk_or_name(text), name_starts_with(text)
    by_name = (Organisation.name, Organisation.id)
    # ``starts`` first: SQLite reads the rows of the first id list of a WHERE (the smaller one).
    matches = list(db.session.scalars(
        _live_organisations().where(starts, found).order_by(*by_name).limit(limit)))
    if len(matches) < limit:
        matches += db.session.scalars(
            _live_organisations().where(found, sa.not_(starts)).order_by(*by_name)
            .limit(limit - len(matches)))
    return matches


def resolve_organisation(text: str) -> tuple[Organisation | None, list[Organisation]]:
    """Turn what the user typed into one organisation, or ``(None, candidates)``.

    Accepts a value picked from the suggestions ("Naam (KvK 12345678)" / "Naam (nr. 12)"),
    a KvK number, an exact name, or a part of a name that matches exactly one organisation.
    """
    text = (text or "").strip()[:300]
    if not text:
        return None, []
    m = _CHOICE_SUFFIX.search(text)
    if m:
        stmt = _live_organisations()
        stmt = (stmt.where(Organisation.kvk_number == m.group(1)) if m.group(1)
                else stmt.where(Organisation.id == int(m.group(2))))
        found = list(db.session.scalars(stmt.limit(2)))
        if len(found) == 1:
            return found[0], []
        text = text[:m.start()].strip()
    candidates = organisation_matches(text, limit=10)
    exact = [o for o in candidates if o.name.lower() == text.lower()]
    if len(exact) == 1:
        return exact[0], []
    if len(candidates) == 1:
        return candidates[0], []
    return None, candidates


def organisation_contacts(org_id: int | None, *, include_restricted: bool = False) -> list[Contact]:
    """The picker's contacts; objecting and anonymised ones only for admins (GDPR art. 21)."""
    if not org_id:
        return []
    stmt = sa.select(Contact).where(Contact.organisation_id == org_id, Contact.deleted_at.is_(None))
    if not include_restricted:
        stmt = stmt.where(processable())
    return list(db.session.scalars(
        stmt.order_by(Contact.last_name, Contact.first_name, Contact.id).limit(200)))


def colleagues() -> list[User]:
    """Active users who can take part in a contact moment or take a task (not viewers)."""
    return list(db.session.scalars(
        sa.select(User).where(User.active.is_(True), User.role != Role.VIEWER).order_by(User.name)))
