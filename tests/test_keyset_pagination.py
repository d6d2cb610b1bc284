"""Keyset pagination (issue 12): the big lists page by cursor, so any page costs what the first
costs, without skipping or repeating a row — whatever the sort, with ties and NULLs.

Every sort of the organisation list is walked forwards (``next_cursor``), backwards
(``prev_cursor``) and by page number (``?page=N``: ids through the sort's index, then the rows)
and compared with the plain ``LIMIT``/``OFFSET`` pages of the same query. Cursors that were
tampered with, made for another sort or hold values of the wrong type are refused
(:class:`InvalidCursor`): the screens then show the page by number, the API too (a cursor that
is not even made of cursor characters is a 400). The contact moments, contacts, the audit log and
the API lists are walked through their own links. On SQLite, the plan of every sort and filter
is read back: an index range of the live rows, never a sort of the whole table.

Runs on SQLite and, with ``TEST_DATABASE_URL``, on PostgreSQL (NULLs sort the other way there).
"""

from __future__ import annotations

import datetime as dt
import html
import random
import re

import pytest
import sqlalchemy as sa

from sdd_crm.audit.models import AuditEvent
from sdd_crm.extensions import db
from sdd_crm.organisations.models import Organisation
from sdd_crm.organisations.queries import SORTS, OrganisationFilters, organisation_list
from sdd_crm.pagination import InvalidCursor, _serializer, keyset_paginate, paginate

NAMES = ["Bakkerij", "Aannemer", "Zeilmakerij", "Bakkerij", "Metaal"]
CITIES = ["Dordrecht", None, "Alblasserdam", "Dordrecht", "Zwijndrecht", None]
EMPLOYEES = [None, 5, 5, 250, None, 12, 5]
BASE = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
COUNT = 43


@pytest.fixture
def orgs(make_user, make_org):
    """43 live organisations with ties and NULLs in every sort column (names repeat; a third
    have no place, a quarter no employee count; four distinct update times), plus a deleted
    and a merged one that no list shows. Returns the live ids."""
    admin = make_user("admin")
    made = [make_org(actor=admin, name=f"{NAMES[i % 5]} {i % 3}", city=CITIES[i % 6],
                     employees=EMPLOYEES[i % 7],
                     municipality="GM0505" if i % 2 else "GM0590")
            for i in range(COUNT + 2)]
    for i, org in enumerate(made):
        db.session.execute(sa.update(Organisation).where(Organisation.id == org.id)
                           .values(updated_at=BASE + dt.timedelta(hours=i % 4)))
    gone, merged = made[-2:]
    db.session.execute(sa.update(Organisation).where(Organisation.id == gone.id)
                       .values(deleted_at=BASE))
    db.session.execute(sa.update(Organisation).where(Organisation.id == merged.id)
                       .values(merged_into_id=made[0].id))
    db.session.commit()
    db.session.expire_all()
    return [o.id for o in made[:-2]]


def _flat(pages: list[list]) -> list:
    return [row for page in pages for row in page]


def _ids(page) -> list[int]:
    return [row.id for row in page.items]


def _offset_pages(stmt, per_page: int) -> list[list[int]]:
    pages, number = [], 1
    while True:
        page = paginate(stmt, number, per_page)
        pages.append(_ids(page))
        if not page.has_next:
            return pages
        number += 1


def _walk(stmt, per_page: int):
    """Forwards by next_cursor from page 1, then backwards by prev_cursor from the last."""
    forward = [keyset_paginate(stmt, per_page)]
    while forward[-1].has_next:
        assert forward[-1].next_cursor, "a page with a next page has a cursor to it"
        forward.append(keyset_paginate(stmt, per_page, cursor=forward[-1].next_cursor))
    backward = [forward[-1]]
    while backward[-1].has_prev:
        previous = backward[-1]
        if previous.page == 2:  # page 1 is linked by number, without a cursor
            assert previous.prev_cursor is None
            backward.append(keyset_paginate(stmt, per_page, page=1))
        else:
            backward.append(keyset_paginate(stmt, per_page, cursor=previous.prev_cursor))
    return forward, backward[::-1]


@pytest.mark.parametrize("sort", list(SORTS))
def test_every_sort_walks_forwards_backwards_and_by_number_like_offset(orgs, sort):
    stmt = organisation_list(OrganisationFilters(sort=sort))
    everything = [o.id for o in db.session.scalars(stmt)]
    assert sorted(everything) == sorted(orgs)  # the deleted and the merged one are not listed
    for per_page in (1, 4, 7):
        expected = _offset_pages(stmt, per_page)
        assert _flat(expected) == everything
        forward, backward = _walk(stmt, per_page)
        assert [_ids(p) for p in forward] == expected, (sort, per_page)
        assert [_ids(p) for p in backward] == expected, (sort, per_page)
        assert [p.page for p in forward] == [p.page for p in backward] == list(
            range(1, len(expected) + 1))
        for number, ids in enumerate(expected, start=1):  # ?page=N of an old link or bookmark
            direct = keyset_paginate(stmt, per_page, page=number)
            assert _ids(direct) == ids and direct.has_next == (number < len(expected))
        beyond = keyset_paginate(stmt, per_page, page=len(expected) + 3)
        assert beyond.items == [] and not beyond.has_next and beyond.has_prev


@pytest.mark.parametrize("sort", ["city", "employees", "-employees", "updated", "-name"])
def test_filtered_lists_walk_like_offset(orgs, sort):
    """Filters with another sort than the name (SQLite: the planner hints of organisation_list)."""
    for filters in (OrganisationFilters(sort=sort, municipality="GM0505"),
                    OrganisationFilters(sort=sort, municipality="GM0590", org_type="company",
                                        critical=False)):
        stmt = organisation_list(filters)
        expected = _offset_pages(stmt, 3)
        assert len(expected) > 3
        forward, backward = _walk(stmt, 3)
        assert [_ids(p) for p in forward] == [_ids(p) for p in backward] == expected


@pytest.mark.parametrize("few_matches", [1, 10**6])
def test_planner_hints_never_change_the_rows(orgs, monkeypatch, few_matches):
    """SQLite's hints (organisation_list counts each filter up to FEW_MATCHES) choose a plan,
    never the rows: with every filter counted as common (1) or as rare (10**6), the cluster
    read as EXISTS or as IN, each list is the rows the plain conditions select, in sort order."""
    from sdd_crm.organisations import queries
    from sdd_crm.organisations.models import OrganisationCluster
    from sdd_crm.valuechains.models import Cluster

    cluster = Cluster(name="Keyset-cluster")
    db.session.add(cluster)
    db.session.flush()
    db.session.add_all(OrganisationCluster(organisation_id=org_id, cluster_id=cluster.id,
                                           is_primary=False) for org_id in orgs[::3])
    db.session.commit()
    monkeypatch.setattr(queries, "FEW_MATCHES", few_matches)
    live = [Organisation.deleted_at.is_(None), Organisation.merged_into_id.is_(None)]
    member = Organisation.id.in_(sa.select(OrganisationCluster.organisation_id)
                                 .where(OrganisationCluster.cluster_id == cluster.id))
    cases = [(OrganisationFilters(cluster_id=cluster.id), [member]),
             (OrganisationFilters(cluster_id=cluster.id, sort="employees", org_type="company"),
              [member, Organisation.org_type == "company"]),
             (OrganisationFilters(municipality="GM0505", critical=False, sort="updated"),
              [Organisation.municipality_code == "GM0505", Organisation.is_critical.is_(False)]),
             (OrganisationFilters(status="active", size_class="unknown", sort="-name"),
              [Organisation.status == "active", Organisation.size_class == "unknown"])]
    for filters, conditions in cases:
        stmt = organisation_list(filters)
        plain = sa.select(Organisation).where(*live, *conditions).order_by(
            *SORTS[filters.sort])
        expected = [o.id for o in db.session.scalars(plain)]
        assert expected, filters
        assert [o.id for o in db.session.scalars(stmt)] == expected, filters
        forward, backward = _walk(stmt, 2)
        assert _flat([_ids(p) for p in forward]) == _flat([_ids(p) for p in backward]) == expected
        if db.engine.dialect.name == "sqlite":
            sql = str(stmt.compile(db.engine))
            assert ("likelihood(" in sql) and (("0.9)" in sql) == (few_matches == 1)), sql


def test_a_changed_page_number_wins_over_the_cursor(orgs):
    stmt = organisation_list(OrganisationFilters(sort="employees"))
    second = keyset_paginate(stmt, 5, page=2)
    third = keyset_paginate(stmt, 5, cursor=second.next_cursor)
    assert third.page == 3
    assert _ids(keyset_paginate(stmt, 5, page=3, cursor=second.next_cursor)) == _ids(third)
    assert _ids(keyset_paginate(stmt, 5, page=5, cursor=second.next_cursor)) == _ids(
        paginate(stmt, 5, 5))


def test_rows_added_and_removed_meanwhile_are_neither_skipped_nor_repeated(orgs, make_org):
    stmt = organisation_list(OrganisationFilters(sort="name"))
    first = keyset_paginate(stmt, 10)
    shown = set(_ids(first))
    # Someone adds a record that sorts before the cursor and deletes one after it.
    make_org(name="Aaa Nieuw")
    doomed = keyset_paginate(stmt, 10, cursor=first.next_cursor).items[0].id
    db.session.execute(sa.update(Organisation).where(Organisation.id == doomed)
                       .values(deleted_at=BASE))
    db.session.commit()
    page = keyset_paginate(stmt, 10, cursor=first.next_cursor)
    while True:
        assert not shown & set(_ids(page))
        shown |= set(_ids(page))
        if not page.has_next:
            break
        page = keyset_paginate(stmt, 10, cursor=page.next_cursor)
    assert shown == set(orgs) - {doomed}


def _forged(values, *, page=2, backwards=0, fingerprint=None, stmt=None):
    from sdd_crm.pagination import _plan

    fingerprint = fingerprint or _plan(stmt).fingerprint
    return _serializer().dumps({"o": fingerprint, "p": page, "b": backwards, "v": values})


def test_tampered_and_foreign_cursors_are_refused(orgs):
    by_name = organisation_list(OrganisationFilters(sort="name"))
    by_employees = organisation_list(OrganisationFilters(sort="employees"))
    by_update = organisation_list(OrganisationFilters(sort="updated"))
    good = keyset_paginate(by_name, 5).next_cursor
    flipped = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    bad = [flipped, good[:20], "x" * 2000, "", "....", "eyJ9.abc",
           keyset_paginate(by_employees, 5).next_cursor,  # made for another sort
           _forged(["Bakkerij 0"], stmt=by_name),  # too few values
           _forged([5, 1], stmt=by_name),  # a number where the name goes
           _forged(["Bakkerij 0", "1"], stmt=by_name),  # a text where the id goes
           _forged(["Bakkerij 0", True], stmt=by_name),
           _forged([None, 1], stmt=by_name),  # the name is never NULL
           _forged(["Bakkerij 0", 1], page=1, stmt=by_name),
           _forged(["Bakkerij 0", 1], page=10**9, stmt=by_name),
           _forged(["Bakkerij 0", 1], backwards=7, stmt=by_name),
           _forged(["gisteren", 1], stmt=by_update),  # no date
           _forged([{"a": 1}, 1], stmt=by_update)]
    for cursor in bad:
        if not cursor:
            continue
        stmt = by_update if cursor in bad[-2:] else by_name
        with pytest.raises(InvalidCursor):
            keyset_paginate(stmt, 5, cursor=cursor)
    # A well-made cursor of the right types is followed (values the user could have seen).
    ok = keyset_paginate(by_name, 5, cursor=_forged(["Bakkerij 0", 0], stmt=by_name))
    everything = [o.id for o in db.session.scalars(by_name)]
    start = next(i for i, o in enumerate(db.session.scalars(by_name)) if o.name == "Bakkerij 0")
    assert ok.page == 2 and _ids(ok) == everything[start:start + 5]


def test_the_screen_ignores_a_bad_cursor_and_shows_the_page(app, client, login, orgs, make_user,
                                                            monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 5)
    login(make_user("admin"))
    for query in ("cursor=rommel", "cursor=" + "a" * 5000, "cursor=a.b.c", "cursor=%C3%A9!"):
        resp = client.get("/organisations/?" + query)
        assert resp.status_code == 200 and "Pagina 1" in resp.get_data(as_text=True), query
    assert client.get("/organisations/?cursor=%00%ff").status_code == 400  # as any NUL
    third = client.get("/organisations/?cursor=rommel&page=3").get_data(as_text=True)
    assert "Pagina 3" in third


def _links(body: str) -> dict[str, str]:
    return {rel: html.unescape(url) for rel, url in
            re.findall(r'<a [^>]*rel="(next|prev)" href="([^"]+)"', body)}


def _org_rows(body: str) -> list[str]:
    return re.findall(r'href="/organisations/(\d+)"', body)


def test_the_organisation_screen_walks_by_its_links(app, client, login, orgs, make_user,
                                                    monkeypatch, count_queries):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 4)
    login(make_user("admin"))
    for sort in SORTS:
        url = f"/organisations/?sort={sort}&municipality=GM0505"
        pages, counts = [], []
        while url:
            with count_queries() as q:
                body = client.get(url).get_data(as_text=True)
            counts.append(q.count)
            assert f"Pagina {len(pages) + 1}" in body
            pages.append(_org_rows(body))
            links = _links(body)
            if len(pages) > 2:
                assert "cursor=" in links["prev"]
            url = links.get("next")
            if url:
                assert "cursor=" in url and f"page={len(pages) + 1}" in url
        expected = [[str(i) for i in ids] for ids in _offset_pages(
            organisation_list(OrganisationFilters(sort=sort, municipality="GM0505")), 4)]
        assert pages == expected, sort
        # Page 1 and the pages after it cost the same (the first page's statements include the
        # SQLite planner's count of the filter, which is no different on later pages).
        assert max(counts) - min(counts) <= 1, (sort, counts)


def test_the_api_pages_by_cursor_and_by_number(client, orgs, make_user, api_headers):
    headers = api_headers(make_user("admin"))
    for sort in ("name", "employees", "city"):
        by_number, number = [], 1
        while True:
            body = client.get(f"/api/v1/organisations?sort={sort}&per_page=4&page={number}",
                              headers=headers).get_json()
            by_number.append([o["id"] for o in body["items"]])
            if not body["has_next"]:
                break
            number += 1
        by_cursor, url = [], f"/api/v1/organisations?sort={sort}&per_page=4"
        while url:
            body = client.get(url, headers=headers).get_json()
            by_cursor.append([o["id"] for o in body["items"]])
            assert body["page"] == len(by_cursor)
            url = body["next"]
            if url:
                assert f"cursor={body['next_cursor']}" in url and url.endswith(
                    f"page={body['page'] + 1}&per_page=4")
                # The cursor alone (without page) leads to the same page.
                alone = client.get(f"/api/v1/organisations?sort={sort}&per_page=4&cursor="
                                   f"{body['next_cursor']}", headers=headers).get_json()
                assert alone["page"] == body["page"] + 1
            else:
                assert body["next_cursor"] is None
        assert by_cursor == by_number and sorted(_flat(by_cursor)) == sorted(orgs)
        if len(by_number) > 3:
            third = client.get(f"/api/v1/organisations?sort={sort}&per_page=4&page=3",
                               headers=headers).get_json()
            back = client.get(third["prev"], headers=headers).get_json()
            assert [o["id"] for o in back["items"]] == by_number[1] and back["page"] == 2


def test_the_api_refuses_what_is_no_cursor_and_ignores_a_stale_one(client, orgs, make_user,
                                                                    api_headers):
    headers = api_headers(make_user("admin"))
    for bad in ("kapot!", "a%20b", "%C3%A9", "a" * 1001, "%00"):
        resp = client.get(f"/api/v1/organisations?cursor={bad}", headers=headers)
        assert resp.status_code == 400, bad
        if bad != "%00":  # (a NUL is refused in any parameter, before the schema reads it)
            assert "cursor" in resp.get_json()["error"]["fields"], bad
    first = client.get("/api/v1/organisations?per_page=5", headers=headers).get_json()
    for stale in ("abc.def", first["next_cursor"][:-4] + "AAAA"):
        for path in ("organisations", "contacts", "interactions"):
            resp = client.get(f"/api/v1/{path}?per_page=5&cursor={stale}", headers=headers)
            assert resp.status_code == 200 and resp.get_json()["page"] == 1, (path, stale)
    third = client.get("/api/v1/organisations?per_page=5&page=3&cursor=abc.def",
                       headers=headers).get_json()
    assert third["page"] == 3


def test_contacts_and_contact_moments_walk_by_their_links(app, client, login, make_user, make_org,
                                                          make_contact, monkeypatch):
    from sdd_crm.interactions.services import create_interaction

    monkeypatch.setitem(app.config, "PAGE_SIZE", 3)
    admin = make_user("admin")
    org = make_org(actor=admin, name="Walk B.V.")
    for i in range(11):  # ties on the last name, and no first name for some
        make_contact(org, actor=admin, last_name=f"Ploeg {i % 3}",
                     first_name=None if i % 4 == 0 else f"Naam {i % 2}")
        create_interaction({"organisation_id": org.id, "type": "call", "subject": f"Moment {i}",
                            "date": dt.date(2026, 3, 1) + dt.timedelta(days=i % 3)}, actor=admin)
    db.session.commit()
    login(admin)
    for start, row in (("/contacts/?q=ploeg", r'href="/contacts/(\d+)"'),
                       (f"/interactions/?organisation_id={org.id}",
                        r'href="/interactions/(\d+)"')):
        by_number, number = [], 1
        while True:
            body = client.get(f"{start}&page={number}").get_data(as_text=True)
            by_number.append(re.findall(row, body))
            if "next" not in _links(body):
                break
            number += 1
        by_link, url = [], start
        while url:
            body = client.get(url).get_data(as_text=True)
            by_link.append(re.findall(row, body))
            url = _links(body).get("next")
        assert by_link == by_number and len(by_link) == 4, start
        assert len(set(_flat(by_link))) == 11
        # And back from the last page by the "Vorige" links.
        back = [by_link[-1]]
        while "prev" in _links(body):
            body = client.get(_links(body)["prev"]).get_data(as_text=True)
            back.append(re.findall(row, body))
        assert back[::-1] == by_number


def test_the_audit_log_walks_by_its_links(client, login, make_user, orgs, monkeypatch):
    from sdd_crm.admin import audit_views
    from sdd_crm.admin.audit_queries import audit_events

    stmt = audit_events({})
    forward, backward = _walk(stmt, 7)
    assert [_ids(p) for p in forward] == [_ids(p) for p in backward] == _offset_pages(stmt, 7)
    monkeypatch.setattr(audit_views, "PER_PAGE", 7)
    login(make_user("admin"))
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    rows, url, pages = 0, "/admin/audit", 0
    while url:
        body = client.get(url).get_data(as_text=True)
        pages += 1
        assert f"Pagina {pages}" in body
        rows += body.count('<tr class="utrecht-table__row">') - 1  # less the header row
        url = _links(body).get("next")
        assert url is None or "cursor=" in url
    # New events (this walk's own) sort before the cursor: none is shown twice.
    after = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    assert before <= rows <= after and pages >= before // 7


def test_sqlite_reads_every_sort_and_filter_from_an_index(app, orgs):
    """The plan of every sort (and of each filter, by name) is an index range of the live rows,
    without a sort of the table; the deep ``?page=N`` reads ids from the index alone."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the SQLite planner (PostgreSQL chooses by its statistics)")
    statements = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    cases = [OrganisationFilters(sort=s) for s in SORTS] + [
        OrganisationFilters(municipality="GM0505"), OrganisationFilters(org_type="company"),
        OrganisationFilters(size_class="small"), OrganisationFilters(status="active"),
        OrganisationFilters(critical=True), OrganisationFilters(municipality="GM0505", sort="city")]
    conn = db.session.connection()
    for filters in cases:
        stmt = organisation_list(filters)
        sa.event.listen(db.engine, "before_cursor_execute", keep)
        try:
            statements.clear()
            first = keyset_paginate(stmt, 5)
            keyset_paginate(stmt, 5, cursor=first.next_cursor)
            keyset_paginate(stmt, 5, page=4)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", keep)
        assert statements
        for statement, parameters in statements:
            if "FROM organisation" not in statement or "count(" in statement:
                continue
            plan = " | ".join(r[-1] for r in conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters))
            if "organisation.id IN (" in statement:  # the rows of a page read by id
                assert "PRIMARY KEY" in plan or "rowid=?" in plan, plan
                continue
            assert "ix_organisation_live_" in plan, (filters, statement, plan)
            assert "TEMP B-TREE" not in plan, (filters, statement, plan)


def test_a_row_too_long_for_a_cursor_is_linked_by_page_number(app, client, login, make_user,
                                                               make_org, api_headers,
                                                               monkeypatch):
    """Sort values the cursor cannot carry within its limit (a 200-character name and a
    100-character place in a non-Latin script): the links go by page number, and still work."""
    admin = make_user("admin")
    chance = random.Random(12)  # no repeats for the cursor's compression to fold away

    def text(n):
        return "".join(chr(chance.randrange(0x4E00, 0x9FFF)) for _ in range(n))

    for _ in range(3):
        make_org(actor=admin, name=text(200), city=text(100))
    ids = sorted(o.id for o in db.session.scalars(
        organisation_list(OrganisationFilters(sort="city"))))
    headers = api_headers(admin)
    seen, url = [], "/api/v1/organisations?sort=city&per_page=1"
    while url:
        resp = client.get(url, headers=headers)
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        seen += [o["id"] for o in body["items"]]
        assert body["next_cursor"] is None
        url = body["next"]
        assert url is None or "cursor=" not in url
    assert sorted(seen) == ids and len(seen) == 3
    monkeypatch.setitem(app.config, "PAGE_SIZE", 1)
    login(admin)
    pages, url = [], "/organisations/?sort=city"
    while url:
        body = client.get(url).get_data(as_text=True)
        pages += _org_rows(body)
        url = _links(body).get("next")
        assert url is None or "cursor=" not in url
    assert sorted(map(int, pages)) == ids
