"""No N+1 (issue 12 point 4): the SQL statements of every list and detail page — HTML and
API — are counted on a small region (k = 3) and on one three times as large (3k = 9): more
organisations, contact moments (each with more contacts and colleagues present), tasks, leads,
team members, SBI codes, labels, clusters, chain roles, participations, programmes, users,
jobs …, so that a lazy load per row — or per row of a row — would show (the region:
tests/statement_support.py). For each entry of :data:`PINS`:

1. the answer is a success and shows more rows at 3k than at k (``rows``: a pattern counted in
   the answer; None for a page of fixed size), so the data really grew on that page;
2. the statement count does not grow with the rows: ``count(3k) <= count(k)``; the failure
   lists the statements whose number grew, with the likely lazy load in them. (Fewer is
   allowed: a search reads a second group of matches only while the first leaves its page
   short — ``interactions.queries.organisation_matches`` — so it costs one less at 3k.)
3. the count is at most the pinned ceiling — the count measured when it was pinned.
   **Raise a ceiling only with a reason** (say it in the commit); lower it when a page gets
   cheaper. Re-pinning: run with ``STATEMENT_COUNTS_DUMP=/tmp/sqlite.json`` (and once on
   PostgreSQL), then ``cd tests && ../.venv/bin/python test_statement_counts.py
   /tmp/sqlite.json /tmp/pg.json`` prints the measured counts next to the pins.

A known N+1 stays visible as ``xfail`` (strict, and only for the growth: any other failure of
that route still fails; once fixed the pin fails until its ``xfail`` is taken away).

Signed in as who sees the most: an admin, or for the pages with personal content (dashboard,
Mijn accounts, tasks, leads, notifications, jobs, own account) the regional account manager in
every account team; "[bizdev]" entries as a business developer outside the account teams (the
confidential contact moments filtered out), "[viewer]" as a viewer. The API with a bearer token
of the same user. Each request starts with an empty session, after one warm-up request.

Every GET route of ``app.url_map`` is in :data:`PINS` (a list or a detail) or in :data:`SKIP`
(forms, downloads, redirects, static files, with the reason):
:func:`test_every_get_route_is_pinned_or_skipped` fails for a new page until it has a pin.

Both regions are built once per run, by the first test of this file that needs them, each in a
savepoint that is rolled back afterwards.
"""

from __future__ import annotations

import collections
import json
import os
import re
from dataclasses import dataclass

import pytest
from flask import url_for
from statement_support import build_region

from sdd_crm.extensions import db, limiter

K = 3  # rows (and rows per row) in the small region; the large one has 3k
SIZES = (K, 3 * K)
ADMIN, REGIONAL, BIZDEV, VIEWER = "admin", "regional", "bizdev", "viewer"


@dataclass(frozen=True)
class Pin:
    # The statement count measured when pinned (raise only with a reason); a pair where the
    # databases differ: (SQLite, PostgreSQL).
    ceiling: int | tuple[int, int]
    rows: str | None  # regex counted in the answer (more matches at 3k); None: fixed content
    who: str = ADMIN
    query: str = ""  # query string added to the address
    xfail: str | None = None  # a known N+1, with where it comes from


def _p(ceiling, rows=None, who=ADMIN, query="", xfail=None) -> Pin:
    return Pin(ceiling, rows, who, query, xfail)


# Patterns for ``rows``: the organisations (name), contact persons, contact moments, tasks,
# leads of the region (see statement_support.WORDS and the titles it gives).
ORG = r"Telrij \w+"
CONTACT = r"Telpersoon"
MOMENT = r"Telgesprek \w+"
TASK = r"Tel(?:taak|vervolg) \w+"
LEAD = r"Telsignaal \w+"
JSON_ITEM = r'"id":'
ANY = r"\bTel\w*"  # anything of the region: a detail page with many sections

# "GET rule" (or "GET rule [variant]") → the pin. Raise a ceiling only with a reason.
PINS: dict[str, Pin] = {
    # Dashboard, own things.
    # Each block of the dashboard shows at most ten (more at 3k all the same).
    "GET /": _p(7, r"Tel(?:signaal|gesprek) \w+", REGIONAL),
    # Counts per municipality; +1 (issue 14 point 1): whether those criticality figures are
    # stale or missing (valuechains/_figures_notice.html reads the one criticality_state row).
    "GET / [viewer]": _p(5, None, VIEWER),
    "GET /accounts/": _p(7, ORG, REGIONAL),  # +1: the list total (issue 14)
    "GET /notifications/": _p(3, r"Telmelding \w+", REGIONAL),
    "GET /jobs/": _p(3, r"Lijst exporteren", REGIONAL),
    "GET /jobs/schedule": _p(5, None),
    "GET /jobs/<job_id>": _p(4, None, REGIONAL),
    "GET /jobs/<job_id>/status": _p(3, None, REGIONAL),
    "GET /account": _p(3, r"Werkzeug/", REGIONAL),
    "GET /privacy": _p(2, None),
    "GET /api/v1/jobs/<string(maxlength=36):job_id>": _p(2, None, REGIONAL),

    # Organisations.
    "GET /organisations/": _p(6, ORG),  # +1 on each list: its total, counted up to 10,000
    "GET /organisations/ [filtered, sorted]": _p(
        (11, 10), ORG, query="municipality=GM0505&status=active&sort=-employees"),
    "GET /organisations/ [search]": _p(10, ORG, query="q=Telrij"),
    # +1 (issue 14 point 4): the summary header says when the criticality figures are stale
    # or missing (valuechains/_figures_notice.html reads the one criticality_state row).
    "GET /organisations/<int:org_id>": _p(26, ANY),
    "GET /organisations/<int:org_id> [bizdev]": _p(25, ANY, BIZDEV),
    "GET /organisations/<int:org_id> [moments]": _p(23, MOMENT, query="kind=interaction"),
    "GET /organisations/<int:org_id> [tasks]": _p(23, TASK, query="kind=task"),
    "GET /organisations/<int:org_id> [leads]": _p(23, LEAD, query="kind=lead"),
    "GET /api/v1/organisations": _p(5, ORG),
    "GET /api/v1/organisations [search]": _p(6, ORG, query="q=Telrij"),
    "GET /api/v1/organisations/<int:org_id>": _p(7, r"teltag-\w+"),

    # The global search (issue 14 point 2): per kind the first rows with their capped count
    # in one statement, plus what each kind's search rule reads to choose its plan.
    "GET /search": _p((11, 10), ANY, query="q=Tel"),
    "GET /search [viewer]": _p(5, None, VIEWER, query="q=Telrij"),  # five per group
    "GET /search [kind]": _p((6, 5), MOMENT, query="q=Telgesprek&kind=interactions"),

    # Contacts.
    "GET /contacts/": _p(4, CONTACT),
    "GET /contacts/<int:contact_id>": _p(5, None),
    "GET /api/v1/contacts": _p(3, CONTACT),
    "GET /api/v1/contacts [organisation]": _p(3, CONTACT, query="organisation_id={org_id}"),
    "GET /api/v1/contacts/<int:contact_id>": _p(3, None),

    # Contact moments.
    "GET /interactions/": _p(5, MOMENT),
    "GET /interactions/ [bizdev]": _p(5, MOMENT, BIZDEV),
    "GET /interactions/ [organisation]": _p(10, MOMENT, query="organisation_id={org_id}"),
    "GET /interactions/<int:interaction_id>": _p(8, CONTACT),
    "GET /interactions/organisations.json": _p(4, ORG, query="q=Telrij"),
    "GET /api/v1/interactions": _p(5, MOMENT),
    "GET /api/v1/interactions [bizdev]": _p(5, MOMENT, BIZDEV),
    "GET /api/v1/interactions/<int:interaction_id>": _p(5, None),

    # Tasks.
    "GET /tasks/": _p(4, TASK, REGIONAL),
    "GET /tasks/ [created]": _p(4, TASK, REGIONAL, query="scope=created"),
    "GET /tasks/<int:task_id>": _p(5, None, REGIONAL),
    "GET /tasks/calendar/<secret>.ics": _p(3, TASK, REGIONAL),
    "GET /api/v1/tasks": _p(2, TASK, REGIONAL),
    "GET /api/v1/tasks [organisation]": _p(2, TASK, query="organisation_id={org_id}"),
    "GET /api/v1/tasks/<int:task_id>": _p(2, None, REGIONAL),

    # Leads.
    "GET /leads/": _p(5, LEAD, REGIONAL),
    "GET /leads/ [all]": _p(5, LEAD, REGIONAL, query="tab=all"),
    "GET /leads/<int:lead_id>": _p(6, r"Telreactie \w+", REGIONAL),
    "GET /leads/response-times": _p(5, None, REGIONAL),  # a row per kind of receiving side
    "GET /api/v1/leads": _p(2, LEAD, REGIONAL),
    "GET /api/v1/leads [inbox]": _p(2, LEAD, REGIONAL, query="box=inbox"),
    "GET /api/v1/leads/<int:lead_id>": _p(4, r"Telreactie \w+", REGIONAL),

    # Clusters, value chains, supply links, criticality.
    "GET /chains/": _p(8, r"Telketen \w+"),
    # +1 on the pages that show criticality (issue 14 point 1): the figures' notice.
    "GET /chains/<int:chain_id>": _p(7, ORG),
    "GET /chains/<int:chain_id>/roles": _p(5, ORG),
    # Gaps: +1 for the codes of the municipalities outside the region, read first so the
    # organisations there are found through the municipality index (issue 12, value chains).
    "GET /chains/<int:chain_id>/gaps": _p(9, r"Telfase \w+"),
    # +1 (issue 14 point 9): the clusters of the filter above the picture.
    "GET /chains/<int:chain_id>/network": _p(9, ORG),
    "GET /chains/clusters/<int:cluster_id>": _p(8, ORG),
    "GET /chains/critical": _p(10, ORG),
    "GET /chains/gaps": _p(6, r"Telfase \w+"),
    "GET /chains/criticality/<int:org_id>": _p(10, None),
    # +4 (issue 14 point 9): the affected part drawn in one of its chains (its stages, roles,
    # links and the organisations on them).
    "GET /chains/what-if/<int:org_id>": _p(16, r"Telketen \w+"),
    "GET /chains/links/": _p(3, r"telgoed \w+"),
    "GET /api/v1/clusters": _p(2, r"Telcluster \w+"),
    "GET /api/v1/clusters/<int:cluster_id>": _p(3, r"Telketen \w+"),
    "GET /api/v1/value-chains": _p(3, r"Telketen \w+"),
    "GET /api/v1/value-chains/<int:chain_id>": _p(3, r"Telfase \w+"),
    "GET /api/v1/value-chains/<int:chain_id>/roles": _p(4, JSON_ITEM),
    "GET /api/v1/supply-links": _p(2, r"telgoed \w+"),
    "GET /api/v1/supply-links/<int:link_id>": _p(2, None),

    # Programmes.
    "GET /programmes/": _p(6, r"Telprogramma \w+"),
    "GET /programmes/<code>": _p(12, ORG),
    "GET /programmes/<code> [filtered]": _p(14, ORG, query="municipality=GM0505&q=Telrij"),
    "GET /programmes/<code>/progress": _p(10, ORG),
    "GET /programmes/<code>/progress/unapproached": _p(6, ORG),
    "GET /programmes/<code>/deleted": _p(6, ORG),
    "GET /programmes/<code>/participations/<int:participation_id>": _p(12, MOMENT),
    "GET /api/v1/programmes": _p(4, r"Telprogramma \w+"),
    "GET /api/v1/programmes/<string(maxlength=40):code>": _p(4, None),
    "GET /api/v1/programmes/<string(maxlength=40):code>/progress": _p(5, None),
    "GET /api/v1/programmes/<string(maxlength=40):code>/participations": _p(9, JSON_ITEM),
    "GET /api/v1/programmes/<string(maxlength=40):code>/participations/<int:participation_id>":
        _p(10, None),

    # Imports, held rows, duplicates.
    "GET /imports/": _p(3, r"tellijst\d"),
    "GET /imports/review": _p(3, ORG),
    "GET /imports/review/<int:review_id>": _p(6, None),
    "GET /imports/duplicates": _p(7, ORG),
    "GET /imports/duplicates/<int:a_id>/<int:b_id>": _p(22, None),
    "GET /imports/duplicates/dismissed": _p(5, r"Telnotitie \d"),

    # Administration.
    "GET /admin/users": _p(5, r"Tel (?:Collega|Aanvrager) \w+"),  # +1: the total (issue 14)
    "GET /admin/users/<int:user_id>": _p(5, r"teltoken \w+"),
    # One statement per kind of record on the page (their labels): filtered to one kind, so
    # that both regions show the same kinds.
    "GET /admin/audit": _p(7, MOMENT, query="entity_type=interaction"),
    "GET /api/v1/audit": _p(2, JSON_ITEM, query="record_type=interaction"),
    "GET /admin/deleted": _p(4, r"Telweg \w+"),
    "GET /admin/deleted [interactions]": _p(4, r"Telweg gesprek \d", query="kind=interactions"),
    "GET /admin/programmes": _p(6, r"Telprogramma \w+"),
    "GET /admin/retention": _p(3, r"Telslaper"),
}

# GET routes that are neither a list nor a detail, with the reason.
FORM = "a form (its choices are bounded lists of reference data)"
SKIP: dict[str, str] = {
    "GET /login": "sign-in form",
    "GET /login/code": "sign-in form",
    "GET /password/forgot": "\"forgot password\" form (signed out)",
    "GET /password/reset": "a new-password form (signed out, one token looked up)",
    "GET /account/two-factor": "two-factor set-up form",
    "GET /account/two-factor/disable": "two-factor form",
    "GET /account/two-factor/recovery-codes": "two-factor form",
    "GET /static/<path:filename>": "static file",
    "GET /healthz": "health check",
    "GET /api/v1/openapi.json": "the API description (static)",
    "GET /admin/": "a redirect to /admin/users",
    "GET /notifications/<int:notification_id>/open":
        "a redirect to what the notification is about (and marks it read)",
    "GET /programmes/participations/<int:participation_id>":
        "a redirect to the participation under its programme",
    "GET /tasks/calendar": "the feed's address and a form",
    "GET /jobs/<job_id>/files/<role>": "a download (a stored file)",
    "GET /api/v1/jobs/<string(maxlength=36):job_id>/files/<string(maxlength=16):role>":
        "a download (a stored file)",
    "GET /imports/export/<kind>.<fmt>": "a download (starts an export job)",
    "GET /imports/export/participations/<code>.<fmt>": "a download (starts an export job)",
    "GET /contacts/<int:contact_id>/export.json": "a download (GDPR export of one person)",
    "GET /api/v1/contacts/<int:contact_id>/export": "a download (GDPR export of one person)",
    "GET /imports/<job_id>/mapping": "a form (columns of an uploaded file)",
    "GET /imports/<job_id>/undo": "a confirmation form, then one import's undo result (a fixed "
                                  "number of statements: tests/test_import_trust.py)",
    "GET /organisations/new": FORM,
    "GET /organisations/<int:org_id>/edit": FORM,
    "GET /organisations/<int:org_id>/delete": "a confirmation form",
    "GET /contacts/new": FORM,
    "GET /contacts/<int:contact_id>/edit": FORM,
    "GET /contacts/<int:contact_id>/delete": "a confirmation form",
    "GET /contacts/<int:contact_id>/erase": "a confirmation form",
    "GET /interactions/new": FORM,
    "GET /interactions/visit": FORM,
    "GET /interactions/<int:interaction_id>/edit": FORM,
    "GET /interactions/<int:interaction_id>/delete": "a confirmation form",
    "GET /tasks/new": FORM,
    "GET /tasks/<int:task_id>/edit": FORM,
    "GET /tasks/<int:task_id>/delete": "a confirmation form",
    "GET /leads/new": FORM,
    "GET /leads/<int:lead_id>/edit": FORM,
    "GET /chains/new": FORM,
    "GET /chains/<int:chain_id>/edit": FORM,
    "GET /chains/<int:chain_id>/delete": "a confirmation form",
    "GET /chains/<int:chain_id>/stages/<int:stage_id>/edit": FORM,
    "GET /chains/clusters/new": FORM,
    "GET /chains/clusters/<int:cluster_id>/edit": FORM,
    "GET /chains/clusters/<int:cluster_id>/delete": "a confirmation form",
    "GET /chains/criticality/settings": FORM,
    "GET /chains/links/new": FORM,
    "GET /chains/links/<int:link_id>/edit": FORM,
    "GET /chains/roles/new": FORM,
    "GET /chains/organisations/<int:org_id>/clusters": FORM,
    "GET /programmes/bulk-add": FORM,
    "GET /programmes/participations/new": FORM,
    "GET /programmes/<code>/participations/<int:participation_id>/delete": "a confirmation form",
    "GET /admin/programmes/new": FORM,
    "GET /admin/programmes/<code>/edit": FORM,
    "GET /admin/users/new": FORM,
    "GET /admin/users/<int:user_id>/edit": FORM,
}


def get_rules(app) -> dict[str, object]:
    """"GET rule" → the rule, for every GET route of the URL map."""
    return {f"GET {rule.rule}": rule for rule in app.url_map.iter_rules()
            if "GET" in rule.methods}


def rule_of(key: str) -> str:
    return re.sub(r" \[[^]]+\]$", "", key)


def test_every_get_route_is_pinned_or_skipped(app):
    rules = get_rules(app)
    pinned = {rule_of(k) for k in PINS}
    missing = sorted(k for k in rules if k not in pinned and k not in SKIP)
    stale = sorted((pinned | set(SKIP)) - set(rules))
    both = sorted(pinned & set(SKIP))
    assert not missing and not stale and not both, (
        "Every GET route is pinned (tests/test_statement_counts.py PINS) or skipped with a "
        "reason (SKIP):\n"
        + "".join(f"  no pin: {k!r}\n" for k in missing)
        + "".join(f"  no longer a route: {k!r}\n" for k in stale)
        + "".join(f"  pinned and skipped: {k!r}\n" for k in both))


# --- measuring -----------------------------------------------------------------------------------

@dataclass
class Measured:
    status: int
    count: int
    rows: int
    statements: list[str]
    url: str
    body: str = ""


_MEASURED: dict[int, dict[str, Measured]] = {}
_FAILED: list[BaseException] = []


def _address(app, key: str, pin: Pin, ids: dict) -> str:
    rule = get_rules(app)[rule_of(key)]
    with app.test_request_context():
        url = url_for(rule.endpoint, **{a: ids[a] for a in rule.arguments})
    if pin.query:
        url += "?" + pin.query.format(**ids)
    return url


def _measure_region(app, size, make_user, login, api_headers, count_queries) -> dict:
    region = build_region(size, make_user)
    clients, headers = {}, {}
    for who in (ADMIN, REGIONAL, BIZDEV, VIEWER):
        user = region.users[who]
        limiter.reset()
        clients[who] = login(user, c=app.test_client())
        headers[who] = api_headers(user)
    for _ in range(size - 1):  # the regional account manager's other sessions (own account)
        login(region.users[REGIONAL], c=app.test_client())
    limiter.reset()
    out = {}
    for key, pin in PINS.items():
        url = _address(app, key, pin, region.ids)
        kwargs = {"headers": headers[pin.who]} if url.startswith("/api/") else {}
        client = clients[pin.who]
        db.session.remove()
        client.get(url, **kwargs)  # warm-up: what is read once per process is read now
        limiter.reset()
        # Each request starts with an empty session, as a real one does (the test's session
        # outlives a request: its identity map would spare the lazy loads of the warm-up).
        db.session.remove()
        with count_queries() as q:
            resp = client.get(url, **kwargs)
        body = resp.get_data(as_text=True)
        out[key] = Measured(resp.status_code, q.count,
                            len(re.findall(pin.rows, body)) if pin.rows else 0,
                            list(q.statements), url,
                            body if os.environ.get("STATEMENT_COUNTS_DUMP") else "")
    return out


def measured(app, make_user, login, api_headers, count_queries) -> dict[int, dict[str, Measured]]:
    """Every pinned route measured on both regions (built on first use, then kept)."""
    if _FAILED:
        raise _FAILED[0]
    if _MEASURED:
        return _MEASURED
    connection = db.session.get_bind()
    try:
        for size in SIZES:
            savepoint = connection.begin_nested()
            try:
                _MEASURED[size] = _measure_region(app, size, make_user, login, api_headers,
                                                  count_queries)
            finally:
                db.session.rollback()
                db.session.remove()
                if savepoint.is_active:
                    savepoint.rollback()
    except BaseException as e:
        _MEASURED.clear()
        _FAILED.append(e)
        raise
    if os.environ.get("STATEMENT_COUNTS_DUMP"):
        with open(os.environ["STATEMENT_COUNTS_DUMP"], "w") as fh:
            json.dump({str(size): {k: {"status": m.status, "count": m.count, "rows": m.rows,
                                       "url": m.url, "statements": m.statements,
                                       "body": m.body}
                                   for k, m in by_key.items()}
                       for size, by_key in _MEASURED.items()}, fh, indent=1)
    return _MEASURED


def _shape(statement: str) -> str:
    """A statement without its literal values, to compare what repeats."""
    return re.sub(r"\s+", " ", re.sub(r"\b\d+\b|'[^']*'", "?", statement)).strip()[:300]


def _grown(few: Measured, many: Measured) -> str:
    a = collections.Counter(_shape(s) for s in few.statements)
    b = collections.Counter(_shape(s) for s in many.statements)
    return "\n".join(f"  {a[s]} → {b[s]}×  {s}" for s in sorted(b) if b[s] != a[s])


class GrowsWithRows(AssertionError):
    """The statement count grows with the rows: what a pin's ``xfail`` expects (any other
    failure of that route still fails)."""


def _param(key: str):
    pin = PINS[key]
    marks = [pytest.mark.xfail(strict=True, raises=GrowsWithRows, reason=pin.xfail)] \
        if pin.xfail else []
    return pytest.param(key, marks=marks, id=key)


@pytest.mark.parametrize("key", [_param(k) for k in PINS])
def test_statement_count_does_not_grow_and_is_pinned(key, app, make_user, login, api_headers,
                                                     count_queries):
    pin = PINS[key]
    by_size = measured(app, make_user, login, api_headers, count_queries)
    few, many = by_size[SIZES[0]][key], by_size[SIZES[1]][key]
    assert few.status == many.status == 200, (few.url, few.status, many.url, many.status)
    if pin.rows:
        assert many.rows > few.rows, (
            f"{many.url}: the larger region must show more rows ({pin.rows!r}: "
            f"{few.rows} at k, {many.rows} at 3k)")
    if many.count > few.count:
        raise GrowsWithRows(
            f"{many.url}: {few.count} statements at k, {many.count} at 3k — a query per row?\n"
            + _grown(few, many))
    ceiling = pin.ceiling if isinstance(pin.ceiling, int) else \
        pin.ceiling[db.engine.dialect.name == "postgresql"]
    assert few.count <= ceiling, (
        f"{few.url}: {few.count} statements, pinned at {ceiling} (raise only with a reason)")


if __name__ == "__main__":  # pragma: no cover - a helper for re-pinning
    # cd tests && ../.venv/bin/python test_statement_counts.py SQLITE.json [POSTGRESQL.json]:
    # the counts measured at k per route (a pair where the databases differ), to re-pin from.
    import sys

    dumps = []
    for path in sys.argv[1:3]:
        with open(path) as fh:
            dumps.append(json.load(fh))
    for key, pin in PINS.items():
        counts = [d[str(K)][key]["count"] for d in dumps if key in d.get(str(K), {})]
        grown = [d[str(3 * K)][key]["count"] for d in dumps if key in d.get(str(3 * K), {})]
        now = counts[0] if len(set(counts)) == 1 else tuple(counts)
        note = "" if now == pin.ceiling else f"   (pinned {pin.ceiling})"
        note += f"   GROWS to {grown}" if any(g > c for c, g in zip(counts, grown)) else ""
        print(f"{key!r}: {now}{note}")
