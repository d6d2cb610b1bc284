"""The global search (issue 14 point 2): one box in every page's header, results grouped by kind
with counts, and each kind shown only to who may see it (DESIGN 4.4) — and the list pages'
totals, counted up to a cap."""

from __future__ import annotations

import re

import interaction_helpers
import leads_support
import pytest
import sqlalchemy as sa
from html_helpers import text

from sdd_crm.extensions import db


def _group_count(page: str, label: str) -> str | None:
    """The count in a group's heading ("Organisaties (12)"), or None without that group."""
    match = re.search(r'id="groep-\w+"[^>]*>' + re.escape(label)
                      + r'\s*<span class="app-search-group__count">\(([^)]*)\)', page)
    return match.group(1) if match else None


# --- the header and the page ----------------------------------------------------------------

def test_header_has_the_search_box_when_signed_in(client, login, make_user):
    page = text(client.get("/login"))
    assert 'id="global-search-q"' not in page
    login(make_user("viewer"))
    page = text(client.get("/"))
    assert re.search(r'<label class="visually-hidden" for="global-search-q">Zoeken in het CRM'
                     r'</label>', page)
    assert 'action="/search"' in page and 'js/global-search.js' in page


def test_search_needs_sign_in(client):
    assert client.get("/search?q=x").status_code in (302, 401)


def test_empty_and_odd_texts_are_answered(client, login, make_user):
    login(make_user("regional_account_manager"))
    assert "Typ een zoekterm" in text(client.get("/search"))
    assert "Typ een zoekterm" in text(client.get("/search?q=+++"))
    for odd in ("%", "_", "a" * 5000, "'\"<>", "日本語", "ab"):
        resp = client.get("/search", query_string={"q": odd})
        assert resp.status_code == 200, odd
    # A NUL is refused by the app's rule for hostile input, as on every page (never a 500).
    assert client.get("/search", query_string={"q": "\x00abc"}).status_code == 400
    assert client.get("/search?q=abc&kind=nonsense").status_code == 200


def test_organisations_by_name_kvk_and_place_grouped_with_counts(client, login, make_user,
                                                                  make_org):
    user = make_user("regional_account_manager")
    for n in range(7):
        make_org(name=f"Zoekwerf {n} B.V.", city="Papendrecht", kvk_number=f"7210000{n}")
    make_org(name="Ander Bedrijf B.V.", city="Zoekhaven", kvk_number="72200000")
    login(user)

    page = text(client.get("/search?q=zoekwerf"))
    assert _group_count(page, "Organisaties") == "7"
    assert page.count('class="utrecht-unordered-list__item app-search-result"') == 5
    # The full list: the organisation list, filtered by the same text.
    assert 'href="/organisations/?q=zoekwerf"' in page
    assert "Contactmomenten" not in re.sub(r"<nav.*?</nav>", "", page, flags=re.DOTALL)

    by_kvk = text(client.get("/search?q=7210 0003"))
    assert _group_count(by_kvk, "Organisaties") == "1" and "Zoekwerf 3 B.V." in by_kvk
    by_place = text(client.get("/search?q=zoekhaven"))
    assert "Ander Bedrijf B.V." in by_place
    nothing = text(client.get("/search?q=qqqxxyy"))
    assert "Niets gevonden voor ‘qqqxxyy’" in nothing


def test_a_big_group_is_counted_up_to_its_cap(client, login, make_user, make_org, monkeypatch):
    from sdd_crm.search import queries

    monkeypatch.setattr(queries, "COUNT_CAP", 6)
    user = make_user("regional_account_manager")
    for n in range(9):
        make_org(name=f"Kapwerf {n} B.V.")
    login(user)
    page = text(client.get("/search?q=kapwerf"))
    assert _group_count(page, "Organisaties") == "meer dan 6"

    everything = text(client.get("/search?q=kapwerf&kind=organisations"))
    assert everything.count("app-search-result\"") == 9
    assert "9 organisaties" in everything


# --- who sees what (DESIGN 4.4) ---------------------------------------------------------------

@pytest.fixture
def moments(make_user, make_org):
    return interaction_helpers.build_world(make_user, make_org)


@pytest.mark.parametrize("who", list(interaction_helpers.EXPECTED_VISIBLE))
def test_contact_moments_found_only_by_who_may_see_them(client, login, moments, who):
    login(moments.users[who])
    for key, subject in interaction_helpers.SUBJECTS.items():
        word = subject.split()[-1]  # "besproken", "investeerder", "gebruik", "dreigt"
        page = text(client.get("/search", query_string={"q": word}))
        listed = f'href="/interactions/{moments.interactions[key].id}"' in page
        assert listed == (key in interaction_helpers.EXPECTED_VISIBLE[who]), (who, key)
        if not listed:
            assert subject not in page
    everything = client.get("/search?q=dreigt&kind=interactions")
    assert everything.status_code == (403 if who == "viewer" else 200)
    if who == "viewer":
        assert _group_count(text(client.get("/search?q=dordtse")), "Contactmomenten") is None


@pytest.fixture
def leads(make_user, make_org):
    return leads_support.build_world(make_user, make_org)


@pytest.mark.parametrize("who", leads_support.WHO)
def test_leads_found_only_by_who_may_see_them(client, login, leads, who):
    login(leads.users[who])
    by_org = text(client.get("/search?q=baggerwerf"))
    seen = {key for key in leads.leads if who in leads_support.SEES[key]}
    for key, lead in leads.leads.items():
        assert (f'href="/leads/{lead.id}"' in by_org) == (key in seen), (who, key)
    expected = str(len(seen)) if seen and who != "viewer" else None
    assert _group_count(by_org, "Signalen") == expected
    # The organisation itself is there for everyone, viewers too.
    assert _group_count(by_org, "Organisaties") == "1"
    by_title = text(client.get("/search?q=hectare"))
    lead = leads.leads["municipality"]
    assert (f'href="/leads/{lead.id}"' in by_title) == ("municipality" in seen)
    assert client.get("/search?q=baggerwerf&kind=leads").status_code == (
        403 if who == "viewer" else 200)


@pytest.mark.parametrize("role,sees", [("viewer", False), ("business_developer", True),
                                       ("local_account_manager", True), ("admin", True)])
def test_contacts_only_for_who_may_see_personal_data(client, login, make_user, make_org,
                                                     make_contact, role, sees):
    org = make_org(name="Persoonwerf B.V.")
    contact = make_contact(org, first_name="Zwaantje", last_name="Zoekmans")
    objecting = make_contact(org, first_name="Bert", last_name="Zoekmans-Bezwaar")
    objecting.objection = True
    db.session.commit()
    user = make_user(role)
    login(user)
    page = text(client.get("/search?q=zoekmans"))
    assert (f'href="/contacts/{contact.id}"' in page) == sees
    # An objecting person: admins only (GDPR art. 21).
    assert (f'href="/contacts/{objecting.id}"' in page) == (role == "admin")
    assert client.get("/search?q=zoekmans&kind=contacts").status_code == (200 if sees else 403)


def test_value_chains_are_found(client, login, make_user):
    from sdd_crm.valuechains.models import Cluster, ValueChain

    cluster = Cluster(name="Zoekcluster")
    db.session.add(cluster)
    db.session.flush()
    chain = ValueChain(name="Zoekketen waterstof", cluster_id=cluster.id)
    db.session.add(chain)
    db.session.commit()
    login(make_user("viewer"))
    page = text(client.get("/search?q=waterstof"))
    assert _group_count(page, "Waardeketens") == "1"
    assert f'href="/chains/{chain.id}"' in page


# --- list totals (issue 14 point 2) ------------------------------------------------------------

def test_count_up_to_counts_exactly_then_stops_at_its_cap(app, make_org, count_queries):
    from sdd_crm.organisations.queries import OrganisationFilters, organisation_list
    from sdd_crm.pagination import Total, count_up_to

    for n in range(4):
        make_org(name=f"Telwerf {n} B.V.")
    stmt = organisation_list(OrganisationFilters(q="telwerf"))
    with count_queries() as counted:
        assert count_up_to(stmt, cap=10) == Total(4)
    assert counted.count == 1
    assert "limit" in counted.statements[0].lower()
    total = count_up_to(stmt, cap=3)
    assert total.capped and total.count == 3
    if db.engine.dialect.name == "postgresql":
        assert total.estimate is None or total.estimate > 3


def test_list_pages_show_their_total(client, login, make_user, make_org, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    for n in range(5):
        make_org(name=f"Totaalwerf {n} B.V.")
    login(make_user("regional_account_manager"))
    page = text(client.get("/organisations/?q=totaalwerf"))
    assert 'data-list-total="5">5 organisaties</p>' in page
    # Page 2 says the same total (and the capped one says "meer dan").
    assert "5 organisaties" in text(client.get("/organisations/?q=totaalwerf&page=2"))
    monkeypatch.setattr("sdd_crm.pagination.TOTAL_CAP", 3)
    capped = text(client.get("/organisations/?q=totaalwerf"))
    assert "meer dan 3 organisaties" in capped or "ongeveer" in capped
    # One of a kind, and nothing at all.
    assert "1 organisatie<" in text(client.get("/organisations/?q=totaalwerf 3"))
    assert "data-list-total" not in text(client.get("/organisations/?q=qqqxxyyzz"))


# --- notifications open as links, the Signalen badge (issue 14 point 10) ------------------------

def _leads_badge(page: str) -> str | None:
    match = re.search(r'href="/leads/">[^<]*<span class="utrecht-badge-counter app-nav__badge" '
                      r'aria-hidden="true">([^<]*)</span><span class="visually-hidden">\(([^)]*)\)',
                      page)
    return f"{match.group(1)}|{match.group(2)}" if match else None


def test_a_notification_without_a_link_opens_its_lead(client, login, leads):
    from sdd_crm.notifications.services import notify

    user = leads.users["local_receiving"]
    lead = leads.leads["municipality"]
    [note] = notify([user.id], "lead_status", "Zonder link", lead_id=lead.id)
    db.session.commit()
    login(user)
    assert f'href="/notifications/{note.id}/open"' in text(client.get("/notifications/"))
    resp = client.get(f"/notifications/{note.id}/open")
    assert resp.headers["Location"] == f"/leads/{lead.id}"
    db.session.refresh(note)
    assert note.read_at is not None


def test_the_signalen_badge_counts_the_new_leads_waiting_for_me(client, login, leads,
                                                                  count_queries):
    from sdd_crm.leads.services import change_status

    receiving = leads.users["local_receiving"]
    login(receiving)
    assert _leads_badge(text(client.get("/"))) == "1|1 signaal wacht op u"
    # The header's two counts (notifications, leads) cost one statement together.
    with count_queries() as header:
        client.get("/privacy")
    assert sum("notification" in s and "lead" in s for s in header.statements) == 1
    change_status(leads.leads["municipality"], "accepted", actor=receiving)
    db.session.commit()
    assert _leads_badge(text(client.get("/"))) is None

    # The author waits for nobody; a named receiver and the regional team do.
    client.post("/logout")
    login(leads.users["author"])
    assert _leads_badge(text(client.get("/"))) is None
    client.post("/logout")
    login(leads.users["named"])
    assert _leads_badge(text(client.get("/"))) == "1|1 signaal wacht op u"
    client.post("/logout")
    login(leads.users["regional"])
    assert _leads_badge(text(client.get("/"))) == "1|1 signaal wacht op u"
    # Viewers have no Signalen item at all.
    client.post("/logout")
    login(leads.users["viewer"])
    page = text(client.get("/"))
    assert 'href="/leads/"' not in page and _leads_badge(page) is None


def test_a_count_out_of_time_says_more_than_what_is_known(app):
    """SQLite keeps no statistics: a count whose rows are spread thinly over a big table is cut
    off by its time budget, and the screen says "meer dan" what it knows."""
    from sdd_crm.pagination import Total, count_up_to

    if db.engine.dialect.name != "sqlite":
        pytest.skip("the time budget is SQLite's (PostgreSQL plans by its statistics)")
    numbers = sa.select(sa.literal(1).label("n")).cte("numbers", recursive=True)
    numbers = numbers.union_all(sa.select(numbers.c.n + 1).where(numbers.c.n < 200_000))
    stmt = sa.select(numbers.c.n)
    assert count_up_to(stmt, cap=150_000, budget_ms=0, at_least=7) == Total(7, capped=True)
    # Without a budget it counts (the first step, then the cap).
    assert count_up_to(stmt, cap=150_000) == Total(150_000, capped=True)
    # The transaction is still usable after an interrupted count.
    assert db.session.scalar(sa.select(sa.literal(5))) == 5
