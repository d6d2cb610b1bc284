"""Likely duplicate organisations: candidate pairs with a score and a Dutch explanation.

Never compares everything with everything (100,000 organisations would be 5·10⁹ pairs).
Organisations are grouped into blocks and only compared within a block:

(a) the same postcode (the organisation's own address), names alike;
(b) the postcode of another organisation's establishment (vestiging), names alike — a
    vestiging entered as an organisation of its own;
(c) the same normalised name in the same place, at least one of the two without a KvK number.

Names are normalised (case, accents, punctuation, legal-form words such as B.V. and V.O.F.
removed) and scored with rapidfuzz (``cpdist``/``cdist``, in C): the better of
``token_sort_ratio`` (typos, word order) and 0.9 × ``token_set_ratio`` (one name is the other
plus words: "De Vries" and "De Vries Dordrecht" score 90). Not WRatio: it gives any two names of
unequal length that share one word ("… Zuid") 86. "Holding" is kept: a holding and its
operating company share address and name but are two legal entities (parent and subsidiary).
Names whose numbers differ ("Autobedrijf 2000"/"3000") are not alike. Two organisations that
both have a KvK number are never a pair: the number is unique per company (DESIGN 2).

The score of a pair is the name similarity (0–100); ties are ordered by the number of shared
details (street, phone, website, e-mail). Live (not deleted, not merged) organisations only.
Pairs people marked as "geen dubbel" (dismissals.py) are never listed.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from rapidfuzz import fuzz, process

from ..db import utcnow
from ..extensions import db, rq
from ..jobs import lifecycle
from ..jobs.files import load_file, store_file
from ..jobs.models import Job, JobStatus
from ..jobs.queue import enqueue_after_commit
from ..organisations.models import Establishment, Organisation
from .dismissals import dismissed_pairs

DEFAULT_THRESHOLD = 85  # name similarity (0–100) from which same-address names are alike
SUBSET_WEIGHT = 0.9  # a name that is the other plus words is alike, but less than an equal one
MAX_BLOCK = 2000  # a postcode shared by more organisations is a placeholder, not an address
SMALL_BLOCK = 40  # up to this many entries the pairs are listed and scored all at once

# Legal-form words (after dots are dropped: "B.V." → "bv"). Not "holding": see the docstring.
LEGAL_FORMS = frozenset({
    "bv", "nv", "vof", "cv", "io", "bvio", "ua", "wa", "ba", "stichting", "vereniging",
    "cooperatie", "eenmanszaak", "maatschap", "ltd", "gmbh", "bvba", "sa",
})
_DROP = re.compile(r"['’`.]")
_NON_WORD = re.compile(r"[^0-9a-z]+")
_DIGITS = re.compile(r"\d+")


def normalise_name(name: str | None) -> str:
    """``"Jansen & Zn. B.V."`` → ``"jansen zn"``: lower case, no accents, no punctuation,
    no legal-form words. Runs of single letters are joined first, so ``"B. V."`` is ``bv``."""
    if not name:
        return ""
    text = name.lower()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    text = _NON_WORD.sub(" ", _DROP.sub("", text.replace("&", " ")))
    tokens: list[str] = []
    letters: list[str] = []
    for token in text.split():
        if len(token) == 1 and token.isalpha():
            letters.append(token)
            continue
        if letters:
            tokens.append("".join(letters))
            letters = []
        tokens.append(token)
    if letters:
        tokens.append("".join(letters))
    return " ".join(t for t in tokens if t not in LEGAL_FORMS)


def name_key(normalised: str) -> str:
    """The block key of a normalised name: its words sorted (word order does not matter)."""
    return " ".join(sorted(normalised.split()))


def _fold(text: str | None) -> str:
    return " ".join((text or "").lower().split())


def _domain(website: str | None) -> str:
    host = re.sub(r"^https?://", "", (website or "").lower()).split("/")[0]
    return host[4:] if host.startswith("www.") else host


@dataclass(frozen=True)
class OrgRow:
    """What the finder reads of an organisation (one plain tuple per row, no ORM objects)."""

    id: int
    name: str
    kvk_number: str | None = None
    postcode: str | None = None
    city: str | None = None
    street: str | None = None
    phone: str | None = None
    website: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class EstablishmentRow:
    organisation_id: int
    postcode: str
    name: str | None = None


@dataclass
class Pair:
    """Two organisations that look like one; ``a_id < b_id``."""

    a_id: int
    b_id: int
    score: int
    reasons: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def shared(self) -> int:
        return sum(1 for code, _args in self.reasons if code in SHARED_DETAILS)

    def sort_key(self):
        return (-self.score, -self.shared, self.a_id, self.b_id)

    def as_dict(self) -> dict:
        return {"a": self.a_id, "b": self.b_id, "score": self.score,
                "reasons": [[code, args] for code, args in self.reasons]}

    @classmethod
    def from_dict(cls, data: dict) -> Pair:
        return cls(data["a"], data["b"], data["score"],
                   [(code, args) for code, args in data["reasons"]])


SHARED_DETAILS = ("street", "phone", "website", "email")


def explain(pair: Pair) -> str:
    """The Dutch explanation of a pair, e.g. "zelfde postcode 3311 AB, naam 94% gelijk"."""
    texts = {
        "postcode": lambda a: _("zelfde postcode %(postcode)s", **a),
        "establishment": lambda a: _("postcode %(postcode)s van een vestiging van %(name)s", **a),
        "same_name": lambda a: _("zelfde naam in %(city)s", **a),
        "name": lambda a: _("naam %(score)s%% gelijk", **a),
        "street": lambda a: _("zelfde straat en huisnummer"),
        "phone": lambda a: _("zelfde telefoonnummer"),
        "website": lambda a: _("zelfde website"),
        "email": lambda a: _("zelfde e-mailadres"),
        "kvk_missing": lambda a: _("KvK-nummer ontbreekt bij %(name)s", **a),
    }
    return ", ".join(texts[code](args) for code, args in pair.reasons if code in texts)


def _blocks(rows: Sequence[OrgRow], establishments: Iterable[EstablishmentRow]):
    """Postcode blocks: entries (org id, normalised name, establishment-of org id or None)."""
    names = {r.id: normalise_name(r.name) for r in rows}
    by_postcode: dict[str, dict[int, tuple[int, str, int | None]]] = defaultdict(dict)
    for r in rows:
        if r.postcode and names[r.id]:
            by_postcode[r.postcode][r.id] = (r.id, names[r.id], None)
    for e in establishments:
        if e.organisation_id not in names or not names[e.organisation_id]:
            continue
        block = by_postcode[e.postcode]
        if e.organisation_id not in block:  # its own address wins
            est_name = normalise_name(e.name) or names[e.organisation_id]
            block[e.organisation_id] = (e.organisation_id, est_name, e.organisation_id)
    return names, by_postcode


def numbers_clash(x: str, y: str) -> bool:
    """"Autobedrijf 2000" and "Autobedrijf 3000" are two firms however alike the rest is."""
    if not (_DIGITS.search(x) and _DIGITS.search(y)):
        return False
    return set(_DIGITS.findall(x)) != set(_DIGITS.findall(y))


def similarity(x: str, y: str) -> int:
    """Name similarity 0–100 of two normalised names (0 when their numbers differ)."""
    if numbers_clash(x, y):
        return 0
    return round(max(fuzz.token_sort_ratio(x, y), SUBSET_WEIGHT * fuzz.token_set_ratio(x, y)))


def _scores(xs: list[str], ys: list[str]) -> np.ndarray:
    """``similarity`` of xs[i] and ys[i] for every i in two C calls (numbers not checked)."""
    if not xs:
        return np.zeros(0)
    return np.maximum(process.cpdist(xs, ys, scorer=fuzz.token_sort_ratio),
                      SUBSET_WEIGHT * process.cpdist(xs, ys, scorer=fuzz.token_set_ratio))


def _block_pairs(by_postcode, by_id, exclude, threshold: int):
    """Every (postcode, entry, entry) within a postcode block worth scoring: not two
    establishments of others, not two registered companies, not excluded. Big blocks are
    scored as one matrix first (cdist) instead of listing n² pairs in Python."""
    for postcode, block in by_postcode.items():
        if len(block) < 2 or len(block) > MAX_BLOCK:
            continue
        entries = sorted(block.values())
        if len(entries) > SMALL_BLOCK:
            names = [e[1] for e in entries]
            scores = np.maximum(
                process.cdist(names, names, scorer=fuzz.token_sort_ratio),
                SUBSET_WEIGHT * process.cdist(names, names, scorer=fuzz.token_set_ratio))
            pairs = zip(*np.nonzero(np.triu(scores >= threshold - 0.5, k=1)))
        else:
            pairs = ((i, j) for i in range(len(entries)) for j in range(i + 1, len(entries)))
        registered = [bool(by_id[e[0]].kvk_number) for e in entries]
        for i, j in pairs:
            if registered[i] and registered[j]:
                continue  # two registered companies (KvK numbers are unique)
            ea, eb = entries[i], entries[j]
            if ea[2] is not None and eb[2] is not None:
                continue  # two establishments of others sharing a postcode say nothing
            if exclude and (min(ea[0], eb[0]), max(ea[0], eb[0])) in exclude:
                continue
            yield postcode, ea, eb


def find_pairs(rows: Sequence[OrgRow], establishments: Iterable[EstablishmentRow] = (), *,
               threshold: int = DEFAULT_THRESHOLD, exclude: set[tuple[int, int]] | None = None
               ) -> list[Pair]:
    """Every candidate pair, best first (pure: no database). ``exclude``: (a, b) pairs with
    a < b that people marked as not duplicates."""
    by_id = {r.id: r for r in rows}
    names, by_postcode = _blocks(rows, establishments)
    exclude = exclude or set()
    found: dict[tuple[int, int], Pair] = {}

    def allowed(a_id: int, b_id: int) -> bool:
        if by_id[a_id].kvk_number and by_id[b_id].kvk_number:
            return False  # two registered companies (KvK numbers are unique)
        return (min(a_id, b_id), max(a_id, b_id)) not in exclude

    candidates = list(_block_pairs(by_postcode, by_id, exclude, threshold))
    scores = _scores([ea[1] for _p, ea, _eb in candidates], [eb[1] for _p, _ea, eb in candidates])
    for k in np.flatnonzero(scores >= threshold - 0.5).tolist():
        postcode, (ia, na, via_a), (ib, nb, via_b) = candidates[k]
        score = round(float(scores[k]))
        if score < threshold or numbers_clash(na, nb):
            continue
        if via_a is None and via_b is None:
            first = ("postcode", {"postcode": postcode})
        else:
            owner = by_id[via_a if via_a is not None else via_b]
            first = ("establishment", {"postcode": postcode, "name": owner.name})
        _keep(found, by_id[ia], by_id[ib], score, first)

    by_name: dict[tuple[str, str], list[int]] = defaultdict(list)
    for r in rows:
        if names[r.id] and r.city:
            by_name[(name_key(names[r.id]), _fold(r.city))].append(r.id)
    for ids in by_name.values():
        if len(ids) < 2 or len(ids) > MAX_BLOCK:
            continue
        for x in range(len(ids)):
            for y in range(x + 1, len(ids)):
                a, b = by_id[ids[x]], by_id[ids[y]]
                if not allowed(a.id, b.id) or (min(a.id, b.id), max(a.id, b.id)) in found:
                    continue
                score = similarity(names[a.id], names[b.id])
                if score:
                    _keep(found, a, b, score, ("same_name", {"city": a.city}))

    pairs = list(found.values())
    pairs.sort(key=Pair.sort_key)
    return pairs


def _keep(found: dict, a: OrgRow, b: OrgRow, score: int, first: tuple[str, dict]) -> None:
    if a.id > b.id:
        a, b = b, a
    key = (a.id, b.id)
    if key in found and found[key].score >= score:
        return
    reasons = [first, ("name", {"score": score})]
    if a.street and a.postcode and _fold(a.street) == _fold(b.street) and a.postcode == b.postcode:
        reasons.append(("street", {}))
    if a.phone and a.phone == b.phone:
        reasons.append(("phone", {}))
    if a.website and _domain(a.website) == _domain(b.website):
        reasons.append(("website", {}))
    if a.email and a.email.lower() == (b.email or "").lower():
        reasons.append(("email", {}))
    if bool(a.kvk_number) != bool(b.kvk_number):
        reasons.append(("kvk_missing", {"name": b.name if a.kvk_number else a.name}))
    found[key] = Pair(a.id, b.id, score, reasons)


# --- Reading the database --------------------------------------------------------------------

def _live():
    return sa.and_(Organisation.deleted_at.is_(None), Organisation.merged_into_id.is_(None))


def load_rows() -> tuple[list[OrgRow], list[EstablishmentRow]]:
    """Two bulk SELECTs of plain tuples: live organisations and their live establishments."""
    O = Organisation
    rows = [OrgRow(*r) for r in db.session.execute(
        sa.select(O.id, O.name, O.kvk_number, O.postcode, O.city, O.street, O.phone, O.website,
                  O.email).where(_live()))]
    E = Establishment
    ests = [EstablishmentRow(*r) for r in db.session.execute(
        sa.select(E.organisation_id, E.postcode, E.name)
        .join(O, O.id == E.organisation_id)
        .where(E.deleted_at.is_(None), E.postcode.is_not(None), _live(),
               sa.or_(O.postcode.is_(None), E.postcode != O.postcode)))]
    return rows, ests


def find_duplicates(*, threshold: int = DEFAULT_THRESHOLD) -> list[Pair]:
    """Candidate pairs among the live organisations in the database, best first, without the
    pairs marked as not duplicates."""
    rows, ests = load_rows()
    return find_pairs(rows, ests, threshold=threshold, exclude=dismissed_pairs())


# --- The search as a background job ------------------------------------------------------------
# At 100,000 organisations a search takes seconds (benchmarks/bench_duplicates.py), too long
# for a page: it runs as a job and the list pages through its stored result.

JOB_KIND = "duplicates_find"
PAIRS_ROLE = "pairs"
MAX_STORED = 10_000  # the best pairs kept; nobody works through more before searching again
STALE_AFTER = dt.timedelta(hours=1)  # a queued or running search older than this is lost
SEARCH_TIMEOUT = 1800  # seconds


def current_search() -> Job | None:
    """A search that is queued or running (and not lost), if any."""
    return db.session.scalar(
        sa.select(Job).where(Job.kind == JOB_KIND,
                             Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
                             Job.created_at > utcnow() - STALE_AFTER)
        .order_by(Job.created_at.desc()).limit(1))


def latest_search() -> Job | None:
    return db.session.scalar(
        sa.select(Job).where(Job.kind == JOB_KIND, Job.status == JobStatus.FINISHED)
        .order_by(Job.finished_at.desc()).limit(1))


def start_search(*, actor) -> Job:
    """Queue a search (flushes; enqueued once the caller commits), or the one already waiting."""
    job = current_search()
    if job is not None:
        return job
    job = lifecycle.new_job(JOB_KIND, actor=actor, params={
        "threshold": int(current_app.config.get("DUPLICATE_NAME_THRESHOLD", DEFAULT_THRESHOLD))})
    enqueue_after_commit(find_duplicates_job, job.id, job_id=job.id, job_timeout=SEARCH_TIMEOUT)
    return job


@rq.job
def find_duplicates_job(job_id: str) -> dict | None:
    return run_search(job_id)


def run_search(job_id: str) -> dict | None:
    """Run search ``job_id``: the pairs go to a JSON JobFile, the summary to ``Job.result``."""
    return lifecycle.run(
        job_id, _search, kinds=JOB_KIND, running=_("Bezig met zoeken"),
        failure=lambda exc: _("Het zoeken naar dubbelen is mislukt (%(error)s). Probeer het later "
                              "opnieuw.", error=type(exc).__name__))


def _search(job: Job, progress) -> lifecycle.Finished:
    started = time.perf_counter()
    rows, ests = load_rows()
    pairs = find_pairs(rows, ests, threshold=int((job.params or {}).get("threshold")
                                                 or DEFAULT_THRESHOLD))
    stored, dismissed = _to_store(pairs, dismissed_pairs())
    pairs = [p for p in pairs if (p.a_id, p.b_id) not in dismissed]
    data = json.dumps([p.as_dict() for p in stored]).encode()
    store_file(job.id, PAIRS_ROLE, "dubbelen.json", "application/json", data)
    result = {"pairs": len(pairs), "stored": min(len(pairs), MAX_STORED),
              "dismissed": len(stored) - min(len(pairs), MAX_STORED),
              "organisations": len(rows), "seconds": round(time.perf_counter() - started, 2)}
    return lifecycle.Finished(result, ngettext(
        "Klaar: %(num)d mogelijk dubbel paar gevonden.",
        "Klaar: %(num)d mogelijk dubbele paren gevonden.", len(pairs)))


def _to_store(pairs: list[Pair], dismissed: set[tuple[int, int]]):
    """The best ``MAX_STORED`` pairs that are not marked "geen dubbel", and in their places the
    marked ones: never listed while marked, back in the list at once when a mark is undone.
    Returns (pairs to store, the marked pairs found)."""
    stored, found, listed = [], set(), 0
    for p in pairs:
        if (p.a_id, p.b_id) in dismissed:
            stored.append(p)
            found.add((p.a_id, p.b_id))
        elif listed < MAX_STORED:
            stored.append(p)
            listed += 1
    return stored, found


def stored_pairs(job: Job) -> list[dict]:
    """The pairs of a finished search (as stored: ``Pair.as_dict``) whose two records are both
    still live and that nobody has marked "geen dubbel" since; the caller turns the page it
    shows into ``Pair`` objects."""
    gone = set(db.session.scalars(sa.select(Organisation.id).where(
        sa.or_(Organisation.deleted_at.is_not(None), Organisation.merged_into_id.is_not(None)))))
    dismissed = dismissed_pairs()
    return [p for p in _parsed(job.id) if p["a"] not in gone and p["b"] not in gone
            and (p["a"], p["b"]) not in dismissed]


@functools.lru_cache(maxsize=4)
def _parsed(job_id: str) -> tuple:
    """A finished search's stored pairs never change: parse them once per process (10,000
    pairs are about 2 MB of JSON)."""
    stored = load_file(job_id, PAIRS_ROLE)
    return tuple(json.loads(stored.data)) if stored is not None else ()
