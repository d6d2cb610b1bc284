"""The critical companies list (issue 4, point 4): filters, attention first, reasons in Dutch.

A page costs a fixed number of queries: the page itself, its account teams, the latest
assessment of each company on it, their value chains, and (when an assessment says a company
is the only link between two chains) those chains' names.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import format_percent, ngettext
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from .. import validation as v
from ..extensions import db
from ..organisations.attention import needs_attention_condition
from ..organisations.models import AccountTeamMember, Organisation
from .models import ChainRole, CriticalityAssessment, OrganisationCluster, ValueChain

# The engine's factor names (criticality.FACTORS) and the DESIGN 4.3 wording, by what they measure.
FACTOR_KINDS = {
    "employment": {"employment", "employment_share"},
    "sole_source": {"sole_source", "sole_source_dependence"},
    "bridging": {"bridging", "betweenness", "bridging_position"},
    "breadth": {"breadth", "chain_breadth"},
}
KIND_OF = {name: kind for kind, names in FACTOR_KINDS.items() for name in names}


@dataclass
class CriticalFilters:
    cluster_id: int | None = None
    chain_id: int | None = None
    municipality: str | None = None
    attention: bool = False

    @classmethod
    def from_args(cls, args) -> CriticalFilters:
        def _id(key):
            number = v.integer(args.get(key))
            return number if number and 0 < number < 2**31 else None

        return cls(
            cluster_id=_id("cluster"),
            chain_id=_id("chain"),
            municipality=(args.get("municipality") or "").strip().upper()[:6] or None,
            attention=args.get("attention") in ("1", "on", "true"),
        )

    def as_args(self) -> dict:
        args = {"cluster": self.cluster_id, "chain": self.chain_id,
                "municipality": self.municipality, "attention": "1" if self.attention else None}
        return {k: val for k, val in args.items() if val}


def critical_list(filters: CriticalFilters, cutoff: dt.date) -> sa.Select:
    """Live critical organisations: those without a recent contact first, then by score."""
    stmt = sa.select(Organisation).where(
        Organisation.is_critical.is_(True), Organisation.deleted_at.is_(None),
        Organisation.merged_into_id.is_(None))
    if filters.cluster_id:
        stmt = stmt.where(sa.exists().where(
            OrganisationCluster.organisation_id == Organisation.id,
            OrganisationCluster.cluster_id == filters.cluster_id))
    if filters.chain_id:
        stmt = stmt.where(sa.exists().where(
            ChainRole.organisation_id == Organisation.id,
            ChainRole.value_chain_id == filters.chain_id, ChainRole.deleted_at.is_(None)))
    if filters.municipality:
        stmt = stmt.where(Organisation.municipality_code == filters.municipality)
    if filters.attention:
        stmt = stmt.where(needs_attention_condition(cutoff))
    attention_first = sa.case((needs_attention_condition(cutoff), 0), else_=1)
    return (
        stmt.options(selectinload(Organisation.team).joinedload(AccountTeamMember.user))
        .order_by(attention_first, Organisation.criticality_score.desc().nulls_last(),
                  Organisation.name, Organisation.id)
    )


def latest_assessments(org_ids: list[int]) -> dict[int, CriticalityAssessment]:
    """The newest assessment of each organisation (history is kept; one query)."""
    if not org_ids:
        return {}
    newest = sa.func.row_number().over(
        partition_by=CriticalityAssessment.organisation_id,
        order_by=(CriticalityAssessment.computed_at.desc(), CriticalityAssessment.id.desc()))
    ranked = (sa.select(CriticalityAssessment.id, newest.label("n"))
              .where(CriticalityAssessment.organisation_id.in_(org_ids)).subquery())
    rows = db.session.scalars(
        sa.select(CriticalityAssessment).join(ranked, ranked.c.id == CriticalityAssessment.id)
        .where(ranked.c.n == 1))
    return {a.organisation_id: a for a in rows}


def chains_of(org_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """The live value chains each organisation has a live role in, by name."""
    if not org_ids:
        return {}
    rows = db.session.execute(
        sa.select(ChainRole.organisation_id, ValueChain.id, ValueChain.name)
        .join(ValueChain, ValueChain.id == ChainRole.value_chain_id)
        .where(ChainRole.organisation_id.in_(org_ids), ChainRole.deleted_at.is_(None),
               ValueChain.deleted_at.is_(None))
        .distinct().order_by(ValueChain.name, ValueChain.id))
    chains: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for org_id, chain_id, name in rows:
        chains[org_id].append((chain_id, name))
    return dict(chains)


def chain_names(chain_ids: set[int]) -> dict[int, str]:
    if not chain_ids:
        return {}
    return dict(db.session.execute(
        sa.select(ValueChain.id, ValueChain.name).where(ValueChain.id.in_(chain_ids))).all())


def separated_chains(factor: dict) -> tuple[int, int] | None:
    """The two chains a bridging factor says this organisation alone connects, if any."""
    pair = factor.get("separates_chains")
    if isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(c, int) for c in pair):
        return pair[0], pair[1]
    return None


def factor_kind(name: str | None) -> str | None:
    return KIND_OF.get((name or "").lower())


def _number(value) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def reasons(factors: list[dict] | None, chains: dict[int, str] | None = None) -> list[str]:
    """Why an assessment flags a company, in plain Dutch: its contributing factors, largest
    contribution first. ``chains``: names of the chains a bridging factor refers to."""
    out: list[str] = []
    ranked = sorted((f for f in factors or [] if isinstance(f, dict)),
                    key=lambda f: -_number(f.get("contribution")))
    for factor in ranked:
        value, contribution = _number(factor.get("value")), _number(factor.get("contribution"))
        if contribution <= 0 or value <= 0:
            continue
        kind = factor_kind(factor.get("name"))
        if kind == "employment":
            share = value if value <= 1 else value / 100  # a fraction, or already a percentage
            out.append(_("%(share)s van de regionale werkgelegenheid in de vastgelegde bedrijven",
                         share=format_percent(share, "#,##0.#%")))
        elif kind == "sole_source":
            n = round(value)
            if n >= 1:
                out.append(ngettext("Enige leverancier voor %(num)d afnemer",
                                    "Enige leverancier voor %(num)d afnemers", n))
        elif kind == "bridging":
            pair = separated_chains(factor)
            if pair and all(c in (chains or {}) for c in pair):
                out.append(_("Enige verbinding tussen %(a)s en %(b)s",
                             a=chains[pair[0]], b=chains[pair[1]]))
            else:
                out.append(_("Brugpositie in het netwerk"))
        elif kind == "breadth":
            n = round(value)
            if n >= 2:
                out.append(ngettext("Actief in %(num)d waardeketen", "Actief in %(num)d waardeketens", n))
        else:
            out.append(f"{factor.get('name')}: {factor.get('value')}")
    return out


@dataclass
class CriticalRow:
    """One line of the list: the organisation and what the page says about it."""

    org: Organisation
    reasons: list[str]
    assessment: CriticalityAssessment | None
    chains: list[tuple[int, str]]
    strategic: list[str]
    local: list[str]
    attention: bool


def build_rows(orgs: list[Organisation], cutoff: dt.date) -> list[CriticalRow]:
    ids = [o.id for o in orgs]
    assessments = latest_assessments(ids)
    chains = chains_of(ids)
    bridged = {c for a in assessments.values() for f in a.factors or [] if isinstance(f, dict)
               for c in separated_chains(f) or ()}
    names = chain_names(bridged)
    rows = []
    for org in orgs:
        assessment = assessments.get(org.id)
        team = sorted(org.team, key=lambda m: m.user.name)
        rows.append(CriticalRow(
            org=org,
            reasons=reasons(assessment.factors if assessment else None, names),
            assessment=assessment,
            chains=chains.get(org.id, []),
            strategic=[m.user.name for m in team if m.team_role == "strategic"],
            local=[m.user.name for m in team if m.team_role != "strategic"],
            attention=org.last_contact_on is None or org.last_contact_on < cutoff,
        ))
    return rows
