"""The organisation page's parts above and around its sections (issue 14 point 4): the summary
header, the section menu, and the timeline's filter form.

Everything here reads what the page loads anyway (the organisation with its account team); the
one extra statement — the newest contact moment's date — runs only when the kept
``last_contact_on`` is empty, so that "nooit" is shown only when there truly is no contact.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField

from .. import labels
from ..extensions import db
from ..forms import BaseSubForm, max_length, options
from ..interactions.models import Interaction
from ..interactions.visibility import can_see_interactions
from ..leads.queries import may_use_leads
from ..timeline.queries import KIND_LABELS, TimelineFilter
from ..validation import BAD_DATE, parse_date
from .attention import attention_cutoff


@dataclass(frozen=True)
class Summary:
    """What the summary header shows (the template picks the words)."""

    strategic: object | None  # the strategic account manager's User, if any
    others: list  # the other team members' Users
    last_contact: dt.date | None
    attention: bool  # "Aandacht nodig": no contact in the last ATTENTION_MONTHS months
    may_log: bool  # log a contact moment, add a task
    may_share_lead: bool


def _last_contact(org) -> dt.date | None:
    """The kept date, or — when it is empty — the newest live contact moment's date (a record
    written by a path that did not keep the figure must not make the page say "nooit")."""
    if org.last_contact_on is not None:
        return org.last_contact_on
    return db.session.scalar(
        sa.select(sa.func.max(Interaction.date))
        .where(Interaction.organisation_id == org.id, Interaction.deleted_at.is_(None)))


def summary(org, team, user, *, may_edit: bool) -> Summary:
    """The summary header of ``org`` for ``user``; ``team`` is the sorted account team.
    Quick actions follow the same rules as the forms they open (viewers get none)."""
    strategic = next((m.user for m in team if m.team_role == "strategic"), None)
    last = _last_contact(org)
    live = org.merged_into_id is None and org.deleted_at is None
    return Summary(
        strategic=strategic,
        others=[m.user for m in team if m.team_role != "strategic"],
        last_contact=last,
        attention=last is None or last < attention_cutoff(),
        may_log=live and can_see_interactions(user),
        may_share_lead=live and may_use_leads(user),
    )


# The page's sections, in page order: (anchor, label). The anchors are the sections' heading
# ids, which other pages link to (e.g. "#tijdlijn", "#accountteam").
SECTIONS = (
    ("tijdlijn", _l("Tijdlijn")),
    ("contactpersonen", _l("Contactpersonen")),
    ("accountteam", _l("Accountteam")),
    ("clusters", _l("Waardeketens")),
    ("programmas", _l("Programma's")),
    ("gegevens", _l("Gegevens")),
    ("wijzigingen", _l("Wijzigingen")),
)
# Tasks and leads live on the timeline: their menu items are the timeline filtered to them.
TIMELINE_SECTIONS = (("task", _l("Taken")), ("lead", _l("Signalen")))


def page_sections(org_id: int, user, *, contacts_shown: bool) -> list[tuple[str, str]]:
    """The section menu for ``user`` as (address, label): sections the page does not show
    them are left out. Every item is a real link, so it works without JavaScript."""
    items = []
    for anchor, label in SECTIONS:
        if anchor == "contactpersonen" and not contacts_shown:
            continue
        items.append((f"#{anchor}", label))
        if anchor == "tijdlijn":
            items += [(url_for("organisations.detail", org_id=org_id, kind=kind,
                               _anchor="tijdlijn"), label)
                      for kind, label in TIMELINE_SECTIONS
                      if (can_see_interactions(user) if kind == "task" else may_use_leads(user))]
    return items


class TimelineFilterForm(BaseSubForm):
    """The timeline's GET filter; field names are the query-string keys."""

    kind = SelectField(_l("Wat"), validate_choice=False, choices=options(
        [("", _l("Alles")), *KIND_LABELS.items()]))
    type = SelectField(_l("Soort contact"), validate_choice=False, choices=options(
        [("", _l("Alle soorten")), *labels.choices(labels.INTERACTION_TYPE)]))
    date_from = StringField(_l("Vanaf"), validators=[max_length(40)], render_kw={"type": "date"})
    date_to = StringField(_l("Tot en met"), validators=[max_length(40)],
                          render_kw={"type": "date"})


def _day(form, key):
    raw = (form[key].data or "").strip()
    if not raw:
        return None
    try:
        return parse_date(raw)
    except ValueError:
        form[key].errors = [BAD_DATE]
        return None


def timeline_filter(args) -> tuple[TimelineFilter, TimelineFilterForm]:
    """The filter read from the query string, and its form (with a message on a bad date)."""
    form = TimelineFilterForm(args)
    form.validate()
    for f in form:
        f.errors = list(f.errors)
    types = {value for value, _label in labels.choices(labels.INTERACTION_TYPE)}
    chosen = form.type.data if form.type.data in types else None
    flt = TimelineFilter(interaction_types=(chosen,) if chosen else (),
                         since=_day(form, "date_from"), until=_day(form, "date_to"))
    return flt, form
