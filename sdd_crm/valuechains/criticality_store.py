"""Running a criticality recompute: load the network, run the engine, store the result.

Loading: a few bulk SELECTs of plain tuples (no ORM objects per row).

Storing (DESIGN 4.3, "history kept")
    A recompute writes a new ``CriticalityAssessment`` for an organisation when its result
    differs from its latest stored one: another flag or threshold, another weight, another
    count (sole-source customers, chains, the chains it alone connects), a factor level that
    moved by 0.01 or more (levels compared to two decimals), an employment share that moved
    by 0.1 percentage point or a betweenness that moved by 10 % (so the figures the screens
    quote stay true); or, for an organisation without any assessment yet, when its score
    reaches ``FIRST_SCORE`` (0.01, against a threshold of 0.8: below it nothing plays that is
    worth explaining, such as a firm with a few employees among the region's jobs and no
    links; it keeps no score, and the screens say no factor plays). Otherwise the latest
    assessment still holds and nothing is written. So the history is a complete record of
    every change (each row says what held from its ``computed_at`` on), it does not grow by
    100,000 rows per recompute, and running the same recompute twice gives the same end
    state. An organisation whose score drops (even to zero) gets a new row, so its latest
    assessment is always true.

    ``Organisation.criticality_score`` and ``is_critical`` follow the latest assessment
    (``is_critical`` is the manual flag when one is set); they are written with bulk UPDATEs on
    the table, only where they change, so the organisation's ``version`` (and ``updated_at``)
    stay as they were: a recompute never causes an edit conflict. Dead organisations (deleted,
    merged, dissolved) are outside the network: their score is cleared and their flag is the
    manual one or none.

Two recomputes at once (two workers): storing takes a transaction-scoped advisory lock on
PostgreSQL, and a recompute that finds another one stored results after it started reading
reads and computes again (at most twice), so the later data wins and no row is written twice.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping

import numpy as np
import sqlalchemy as sa

from ..db import utcnow
from ..extensions import db
from ..organisations.models import Organisation, OrgStatus, OrgType
from ..reference.models import Municipality
from . import criticality as engine
from .criticality_services import _finite, get_settings
from .models import ChainRole, CriticalityAssessment, SupplyLink, ValueChain
from .recompute import read_network_version, record_computation

COUNT_FACTORS = ("sole_source", "breadth")
AMOUNT_FACTORS = ("employment", "bridging")
FIRST_SCORE = 0.01

Progress = Callable[[str, int], None]


# --- a recompute ------------------------------------------------------------------------------

class _Phases:
    """Reports progress as a percentage over the phases loading, graph, factors, storing."""

    SPANS = {"loading": (0, 20), "graph": (20, 30), "factors": (30, 80), "storing": (80, 100)}

    def __init__(self, progress: Progress | None):
        self.progress = progress
        self.seconds: dict[str, float] = {}
        self._phase, self._started = None, time.perf_counter()

    def __call__(self, phase: str, fraction: float) -> None:
        if phase != self._phase:
            now = time.perf_counter()
            if self._phase is not None:
                self.seconds[self._phase] = self.seconds.get(self._phase, 0.0) + now - self._started
            self._phase, self._started = phase, now
        lo, hi = self.SPANS[phase]
        if self.progress:
            self.progress(phase, int(lo + (hi - lo) * max(0.0, min(1.0, fraction))))

    def done(self) -> dict[str, float]:
        self("storing", 1.0)
        self.seconds["storing"] = self.seconds.get("storing", 0.0) + time.perf_counter() - self._started
        self._phase = None
        return {k: round(v, 3) for k, v in self.seconds.items()}


def load_network() -> tuple[engine.Network, list[tuple]]:
    """A few bulk SELECTs of plain tuples (no ORM objects per row).

    Returns the engine's network and, per organisation, (id, live, manual_critical,
    is_critical, criticality_score) for storing.
    """
    O = Organisation
    regional_codes = set(db.session.scalars(
        sa.select(Municipality.code).where(Municipality.drechtsteden_member.is_(True))))
    rows = db.session.execute(sa.select(
        O.id, O.employees, O.org_type, O.municipality_code, O.status, O.deleted_at.is_(None),
        O.merged_into_id, O.manual_critical, O.is_critical, O.criticality_score)).all()
    organisations, state = [], []
    for oid, employees, org_type, municipality, status, not_deleted, merged, manual, flag, score in rows:
        live = bool(not_deleted) and merged is None and status != OrgStatus.DISSOLVED
        if live:
            regional = org_type == OrgType.COMPANY and municipality in regional_codes
            organisations.append((oid, employees, regional))
        state.append((oid, live, manual, bool(flag), score))
    chains = set(db.session.scalars(sa.select(ValueChain.id).where(ValueChain.deleted_at.is_(None))))
    links = [(s, c, chain if chain in chains else None, bool(sole)) for s, c, chain, sole in
             db.session.execute(sa.select(SupplyLink.supplier_id, SupplyLink.customer_id,
                                          SupplyLink.value_chain_id, SupplyLink.sole_source)
                                .where(SupplyLink.deleted_at.is_(None))).all()]
    roles = [(o, chain) for o, chain in db.session.execute(
        sa.select(ChainRole.organisation_id, ChainRole.value_chain_id)
        .where(ChainRole.deleted_at.is_(None))).all() if chain in chains]
    return engine.Network(organisations, links, roles), state


def latest_assessments() -> dict[int, tuple[float, bool, float, list]]:
    """organisation id → (score, critical, threshold, factors) of its latest assessment."""
    A = CriticalityAssessment
    rank = sa.func.row_number().over(partition_by=A.organisation_id,
                                     order_by=(A.computed_at.desc(), A.id.desc())).label("rank")
    ranked = sa.select(A.organisation_id, A.score, A.critical, A.threshold, A.factors, rank).subquery()
    rows = db.session.execute(sa.select(ranked.c.organisation_id, ranked.c.score, ranked.c.critical,
                                        ranked.c.threshold, ranked.c.factors)
                              .where(ranked.c.rank == 1)).all()
    return {oid: (score, bool(critical), threshold, factors)
            for oid, score, critical, threshold, factors in rows}


def _stored_key(critical, threshold, factors):
    """(critical, threshold, weights, levels, counts, separated chains) of a stored assessment,
    or None when it is not in the engine's current shape (then a new one is always written)."""
    by_name = {f.get("name"): f for f in factors or [] if isinstance(f, Mapping)}
    if any(name not in by_name for name in engine.FACTORS):
        return None
    weights = [by_name[name].get("weight") for name in engine.FACTORS]
    levels = [by_name[name].get("level") for name in engine.FACTORS]
    counts = [by_name[name].get("value") for name in COUNT_FACTORS]
    amounts = [by_name[name].get("value") for name in AMOUNT_FACTORS]
    if not all(_finite(x) for x in (*weights, *levels, *amounts, threshold)) or \
            not all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
        return None
    separated = by_name["bridging"].get("separates_chains")
    return (bool(critical), float(threshold), weights, levels, counts, amounts,
            tuple(separated) if separated else ())


def _changed(result: engine.Assessment, latest: Mapping[int, tuple], index: Mapping[int, int]):
    """Per organisation index: has a latest assessment, that assessment no longer holds, and
    its score and flag (see the module docstring). Vectorised: 100,000 rows in well under a
    second."""
    n = len(index)
    weights = np.array([float(result.settings.weights.get(name, 0.0)) for name in engine.FACTORS])
    levels = np.round(np.stack([np.round(result.levels[name], 4) for name in engine.FACTORS], axis=1), 2) \
        if n else np.zeros((0, len(engine.FACTORS)))
    counts = np.stack([np.asarray(result.values[name]) for name in COUNT_FACTORS], axis=1) \
        if n else np.zeros((0, len(COUNT_FACTORS)))
    share = result.values["employment"]
    between = result.values["bridging"]
    threshold = round(float(result.settings.threshold), 4)
    has_old, changed = np.zeros(n, bool), np.zeros(n, bool)
    old_score, old_critical = np.full(n, np.nan), np.zeros(n, bool)
    at, keys = [], []
    for oid, (score, critical, stored_threshold, factors) in latest.items():
        i = index.get(oid)
        if i is None:
            continue
        has_old[i], old_score[i], old_critical[i] = True, score, critical
        key = _stored_key(critical, stored_threshold, factors)
        if key is None:
            changed[i] = True
        else:
            at.append(i)
            keys.append(key)
    if at:
        idx = np.array(at)
        differs = ((np.array([k[0] for k in keys]) != result.critical[idx])
                   | (np.round(np.array([k[1] for k in keys]), 4) != threshold)
                   | (np.array([k[2] for k in keys]) != weights).any(axis=1)
                   | (np.round(np.array([k[3] for k in keys]), 2) != levels[idx]).any(axis=1)
                   | (np.array([k[4] for k in keys]) != counts[idx]).any(axis=1))
        amounts = np.array([k[5] for k in keys], dtype=float)
        # The figures the screens quote: the employment share to 0.1 percentage point, the
        # pairs an organisation lies between to 10 %.
        differs |= np.round(amounts[:, 0], 3) != np.round(share[idx], 3)
        differs |= np.abs(amounts[:, 1] - between[idx]) > 0.1 * np.maximum(amounts[:, 1], 1.0)
        for j, i in enumerate(at):
            if keys[j][6] != tuple(result.separates.get(i, ())):
                differs[j] = True
        changed[idx] |= differs
    return has_old, changed, old_score, old_critical


def run_assessment(*, job_id: str | None = None, progress: Progress | None = None,
                   settings: engine.Settings | None = None) -> dict:
    """Load, compute and store one recompute (flushes; the caller commits). Returns a summary.

    Recomputes take turns: the store's lock is taken before anything is read (an advisory
    transaction lock on PostgreSQL; on SQLite the job holds the database's write lock from its
    first statement), so what this one reads already includes what an earlier one stored, and
    nothing needs reading again."""
    phases = _Phases(progress)
    _lock_storing()
    phases("loading", 0.0)
    started_at = utcnow()
    version = read_network_version()  # before the network: what follows is at least as new
    current = settings or get_settings()
    network, state = load_network()
    latest = latest_assessments()
    phases("loading", 1.0)
    result = engine.assess(network, current, progress=phases)
    phases("storing", 0.0)
    summary = store(result, state, latest, job_id=job_id)
    record_computation(version, started_at, job_id)  # the pages' "berekend op" (issue 14)
    summary["seconds"] = phases.done()
    summary["stats"] = result.stats
    return summary


LOCK_KEY = 4_302_001  # pg_advisory_xact_lock key of the criticality store


def _lock_storing() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def store(result: engine.Assessment, state: list[tuple], latest: Mapping[int, tuple], *,
          job_id: str | None = None, computed_at: dt.datetime | None = None) -> dict:
    """Write new assessments and the organisations' score and flag (see the module docstring)."""
    computed_at = computed_at or utcnow()
    threshold = float(result.settings.threshold)
    index = {oid: i for i, oid in enumerate(result.ids.tolist())}
    has_old, changed, old_score, old_critical = _changed(result, latest, index)
    write = changed | (~has_old & (result.scores >= FIRST_SCORE))
    final_score = np.where(write, result.scores, old_score).tolist()
    final_critical = np.where(write, result.critical, old_critical).tolist()
    critical_now = result.critical.tolist()
    inserts = [{"organisation_id": int(result.ids[i]), "computed_at": computed_at,
                "score": final_score[i], "threshold": threshold, "critical": critical_now[i],
                "factors": result.factors(i), "job_id": job_id}
               for i in np.flatnonzero(write).tolist()]
    updates = []
    became, ceased, critical_count = 0, 0, 0
    for oid, live, manual, was_critical, stored_score in state:
        i = index.get(oid) if live else None
        if i is None:
            new_score, computed = None, False
        else:
            new_score, computed = final_score[i], final_critical[i]
            if new_score != new_score:  # NaN: no assessment, nothing to explain
                new_score = None
        effective = manual if manual is not None else computed
        critical_count += bool(effective)
        if effective != was_critical or new_score != stored_score:
            updates.append({"b_id": oid, "b_critical": bool(effective), "b_score": new_score})
            became += bool(effective) and not was_critical
            ceased += was_critical and not effective
    if inserts:
        db.session.execute(sa.insert(CriticalityAssessment.__table__), inserts)
    if updates:
        table = Organisation.__table__
        db.session.execute(
            sa.update(table).where(table.c.id == sa.bindparam("b_id"))
            .values(is_critical=sa.bindparam("b_critical"), criticality_score=sa.bindparam("b_score"),
                    updated_at=table.c.updated_at),
            updates)
    return {"organisations": len(result.ids), "critical": critical_count,
            "computed_critical": int(result.critical.sum()), "new_assessments": len(inserts),
            "updated_organisations": len(updates), "became_critical": became,
            "no_longer_critical": ceased, "threshold": threshold,
            "weights": dict(result.settings.weights)}
