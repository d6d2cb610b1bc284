"""Insight screens over the value chains (issue 4, points 4–6), readable by every role:

- ``/chains/critical``: the critical companies, why, who looks after them, and who went
  without a contact for too long;
- ``/chains/<id>/network``: one chain's network as an SVG picture with the same data as a table,
  each node a link to its organisation and its what-if view, narrowed by stage or cluster;
- ``/chains/what-if/<org_id>``: what the region loses when an organisation leaves, the jobs at
  stake, and the affected part of its network marked;
- ``/chains/gaps`` and ``/chains/<id>/gaps``: stages held by one organisation, from outside the
  region only, or by nobody.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, render_template, request, url_for
from flask_login import login_required
from sqlalchemy.orm import selectinload

from .. import validation as v
from ..exceptions import NotFound
from ..extensions import db
from ..organisations.queries import get_organisation
from ..pagination import paginate
from ..reference.models import Municipality
from . import bp
from .analysis import load_chain_gaps, load_what_if
from .critical_list import CriticalFilters, build_rows, critical_list
from .models import ChainRoleType, Cluster, ValueChain
from .network import (
    MAX_NODES,
    NetworkFilter,
    load_chain_network,
    load_network,
    role_label,
)
from .svg import legend_swatch, render_network_svg


def get_chain(chain_id: int) -> ValueChain:
    """A live value chain with its stages and cluster, or 404."""
    chain = db.session.scalar(
        sa.select(ValueChain).where(ValueChain.id == chain_id)
        .options(selectinload(ValueChain.stages), selectinload(ValueChain.cluster)))
    if chain is None or chain.deleted_at is not None:
        raise NotFound()
    return chain


def _page_number() -> int:
    return min(max(v.integer(request.args.get("page")) or 1, 1), 100_000)


def _attention_months() -> int:
    return int(current_app.config.get("ATTENTION_MONTHS", 6))


@bp.route("/critical")
@login_required
def critical_companies():
    from ..organisations.attention import attention_cutoff

    filters = CriticalFilters.from_args(request.args)
    cutoff = attention_cutoff()
    page = paginate(critical_list(filters, cutoff), _page_number(), current_app.config["PAGE_SIZE"])
    clusters = db.session.execute(
        sa.select(Cluster.id, Cluster.name).where(Cluster.deleted_at.is_(None))
        .order_by(Cluster.name)).all()
    chains = db.session.execute(
        sa.select(ValueChain.id, ValueChain.name).where(ValueChain.deleted_at.is_(None))
        .order_by(ValueChain.name)).all()
    municipalities = db.session.execute(
        sa.select(Municipality.code, Municipality.name)
        .order_by(Municipality.drechtsteden_member.desc(), Municipality.name)).all()
    kept = filters.as_args()

    def page_url(number: int) -> str:
        return url_for("valuechains.critical_companies", **kept, page=number)

    return render_template(
        "valuechains/insight_critical.html", rows=build_rows(page.items, cutoff), page=page,
        filters=filters, filtered=bool(kept), clusters=clusters, chains=chains,
        municipalities=municipalities, cutoff=cutoff, months=_attention_months(),
        page_url=page_url)


def _org_url(org_id: int) -> str:
    return url_for("organisations.detail", org_id=org_id)


def _what_if_url(org_id: int) -> str:
    return url_for("valuechains.what_if", org_id=org_id)


def _legend_roles(network) -> list:
    legend_roles = [(role, role_label(role)) for role in ChainRoleType]
    if any(node.role is None for node in network.nodes):
        legend_roles.append((None, role_label(None)))
    return legend_roles


def _choice(name: str, allowed: set[int]) -> tuple[int | None, bool]:
    """A filter's id from the query string: (the id or None, whether the value was refused)."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None, False
    value = v.integer(raw)
    if value is None or value not in allowed:
        return None, True
    return value, False


@bp.route("/<int:chain_id>/network")
@login_required
def chain_network(chain_id: int):
    """The picture, narrowed by ``?stage=`` and/or ``?cluster=`` (a plain GET form: no script)."""
    chain = get_chain(chain_id)
    clusters = db.session.execute(
        sa.select(Cluster.id, Cluster.name).where(Cluster.deleted_at.is_(None))
        .order_by(Cluster.name, Cluster.id)).all()
    stage_id, bad_stage = _choice("stage", {s.id for s in chain.stages})
    cluster_id, bad_cluster = _choice("cluster", {c.id for c in clusters})
    narrow = NetworkFilter(stage_id, cluster_id)
    network = load_network(chain, narrow=narrow)
    svg = render_network_svg(network, element_id="keten-netwerk", org_url=_org_url,
                             what_if_url=_what_if_url)
    return render_template(
        "valuechains/insight_network.html", chain=chain, network=network, svg=svg,
        legend_roles=_legend_roles(network), swatch=legend_swatch, role_label=role_label,
        max_nodes=MAX_NODES, clusters=clusters, narrow=narrow,
        bad_stage=bad_stage, bad_cluster=bad_cluster)


@bp.route("/<int:chain_id>/gaps")
@login_required
def chain_gaps(chain_id: int):
    chain = get_chain(chain_id)
    gaps = load_chain_gaps([chain.id])
    return render_template("valuechains/insight_gaps.html", chain=chain, gaps=gaps[0])


@bp.route("/gaps")
@login_required
def gaps_overview():
    return render_template("valuechains/insight_gaps_overview.html", chains=load_chain_gaps())


@bp.route("/what-if/<int:org_id>")
@login_required
def what_if(org_id: int):
    """What the region loses when the organisation leaves: the jobs at stake, and one of its
    chains (``?chain=``, the first by name otherwise) drawn with the affected part marked."""
    org = get_organisation(org_id)
    result = load_what_if(org)
    chains = result.chains()
    chosen, bad_chain = _choice("chain", {c.id for c in chains})
    shown = next((c for c in chains if c.id == chosen), chains[0] if chains else None)
    network = svg = None
    if shown is not None:
        affected = [a for a in result.affected if shown in a.chains]
        marks = {a.org.id: "affected" for a in affected}
        marks[org.id] = "leaving"
        network = load_chain_network(shown, focus=marks)
        svg = render_network_svg(network, element_id="wat-als-netwerk", org_url=_org_url,
                                 what_if_url=_what_if_url, marks=marks, cut_from=org.id)
    return render_template(
        "valuechains/insight_whatif.html", org=org, result=result, chains=chains, shown=shown,
        network=network, svg=svg, bad_chain=bad_chain, swatch=legend_swatch,
        legend_roles=_legend_roles(network) if network else [])
