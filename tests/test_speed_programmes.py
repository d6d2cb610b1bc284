"""Programme pages and API at any size (issue 12): a fixed number of SQL statements, and the
counts read from the kept aggregates (programmes/tally.py), never from every participation.

Each route is measured on a programme with a few participations and on one with many more
(every status, merged records, organisations outside the region, several municipalities): the
statement count must not grow, and stays at most the pinned number (lower it when a page gets
cheaper; raise it only with a reason). The pages that show counts must not read the
participation table except for the rows they list.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from html_helpers import switch_user, text

from sdd_crm.extensions import db
from sdd_crm.programmes.models import Participation, Programme
from sdd_crm.programmes.services import add_participation, delete_participation

STATUSES = ("identified", "approached", "interested", "participating", "completed", "declined")
CITIES = ("Dordrecht", "Zwijndrecht", "Papendrecht", "Gorinchem")

# route → the ceiling of statements. None of them reads the participation table except for a
# page of rows (a statement with LIMIT), except the funnel of a filter the tally does not keep.
PINS = {
    "/programmes/": 6,
    "/programmes/scale": 11,
    "/programmes/scale?status=participating": 11,
    "/programmes/scale?municipality=GM0505": 11,
    "/programmes/scale?counted=1": 11,
    "/programmes/scale?counted=0": 11,
    "/programmes/scale?municipality=GM0505&counted=1": 12,
    "/programmes/scale/progress": 9,
    "/programmes/scale/progress/unapproached": 6,
    "/api/v1/programmes": 4,
    "/api/v1/programmes/scale": 4,
    "/api/v1/programmes/scale/progress": 5,
    "/api/v1/programmes/scale/participations": 8,
    "/api/v1/programmes/scale/participations?counted=true": 8,
    "/api/v1/programmes/scale/participations?status=completed&municipality=GM0505": 8,
}
MAY_SCAN = {"/programmes/scale?municipality=GM0505&counted=1"}
PARTICIPATIONS = re.compile(r"\bparticipation\b")  # (not participation_verdict, _event, …)
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def scans_participations(statement: str) -> bool:
    """It reads participations, and not just a page of them (a count, a GROUP BY, them all)."""
    return bool(PARTICIPATIONS.search(statement)) and not re.search(r"\bLIMIT\b", statement)


def _grow(n: int, actor, make_org):
    """``n`` more participations in SCALE, every status, in and outside the region, one of a
    record merged into another, one deleted."""
    scale = db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))
    made = []
    for i in range(n):
        org = make_org(actor=actor, name=f"Telrij {n} {i} B.V.", city=CITIES[i % len(CITIES)],
                       employees=(5 + i * 37) % 300, annual_turnover_eur=1_000_000 * (i % 3))
        made.append(add_participation(scale, org.id, actor=actor,
                                      status=STATUSES[i % len(STATUSES)]))
    if n > 3:
        made[1].organisation.merged_into_id = made[0].organisation_id
        delete_participation(made[2], actor=actor)
    db.session.commit()
    return scale


def _measure(client, headers, count_queries) -> dict[str, tuple[int, list[str]]]:
    found = {}
    for url in PINS:
        h = headers if url.startswith("/api/") else {}
        assert client.get(url, headers=h).status_code == 200, url  # warm-up
        db.session.rollback()  # a new transaction, as the next request has (nothing is pending)
        with count_queries() as q:
            assert client.get(url, headers=h).status_code == 200, url
        found[url] = (q.count, list(q.statements))
        # Counted by the warm-up (or before): reading the kept figures writes nothing.
        assert not [s for s in q.statements if WRITES.match(s)], (url, q.statements)
    return found


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_programme_routes_do_not_grow_and_read_kept_counts(role, app, client, login, make_user,
                                                          make_org, api_headers,
                                                          count_queries):
    admin = make_user("admin")
    user = admin if role == "admin" else make_user(role)
    login(user)
    headers = api_headers(user)
    _grow(8, admin, make_org)  # every filter finds a row (a Dordrecht SME completed, …)
    few = _measure(client, headers, count_queries)
    _grow(30, admin, make_org)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Participation)) >= 38
    many = _measure(client, headers, count_queries)
    for url, ceiling in PINS.items():
        (n_few, _), (n_many, statements) = few[url], many[url]
        assert n_many == n_few, (url, n_few, n_many, statements)
        assert n_many <= ceiling, (url, n_many, "\n".join(statements))
        if url not in MAY_SCAN:
            assert not [s for s in statements if scans_participations(s)], (url, statements)


def test_the_funnel_and_counts_come_from_the_tally(client, login, make_user, make_org,
                                                   count_queries):
    """The unfiltered pipeline reads one page of participations and no GROUP BY over them."""
    admin = make_user("admin")
    login(admin)
    _grow(12, admin, make_org)
    client.get("/programmes/scale")
    with count_queries() as q:
        body = client.get("/programmes/scale").get_data(as_text=True)
    reads = [s for s in q.statements if re.search(r"\bFROM participation\b", s)]
    assert len(reads) == 1 and "LIMIT" in reads[0], reads  # one page of them
    assert not [s for s in q.statements if scans_participations(s)]
    assert "Alle: 11" in body  # 12 minus the deleted one


def test_the_words_looked_up_once_per_page_follow_each_users_language(client, login, make_user,
                                                                     make_org):
    """The verdict words are looked up once per page, not per row: still in the language of
    whoever asks, not of the first request the process served."""
    admin = make_user("admin")
    _grow(8, admin, make_org)
    pages = {}
    for locale in ("nl", "en", "nl"):
        switch_user(client, login, make_user("viewer", locale=locale))
        pages[locale] = text(client.get("/programmes/scale"))
        participation = db.session.scalar(sa.select(Participation.id).where(
            Participation.status == "identified"))
        pages[locale] += text(client.get(f"/programmes/scale/participations/{participation}"))
    assert "telt niet: nog niet deelnemend" in pages["nl"] and ">ja<" in pages["nl"]
    assert "does not count: not participating yet" in pages["en"] and ">yes<" in pages["en"]
    assert "telt niet" not in pages["en"] and "does not count" not in pages["nl"]
