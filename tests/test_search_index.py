"""Organisation search by part of a name (issue 12 point 4): the index behind
``organisations.queries.kvk_or_name`` (``organisations/search.py``) — SQLite FTS5 ``trigram``
table kept by triggers, PostgreSQL ``pg_trgm`` GIN indexes — finds exactly what the rule says,
whatever wrote the row, and the queries really read it.

Every search test runs twice: with every match read into a list ("few") and with the database
walking its sort index ("many"), by moving the limit between the two plans; both must give the
same answer.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from sdd_crm.contacts import search as contact_search
from sdd_crm.extensions import db
from sdd_crm.interactions.queries import organisation_matches
from sdd_crm.organisations import search
from sdd_crm.organisations.merge import merge_organisations
from sdd_crm.organisations.models import Organisation
from sdd_crm.organisations.queries import OrganisationFilters, kvk_or_name, organisation_list
from sdd_crm.organisations.services import delete_organisation, update_organisation


@pytest.fixture(params=["few", "many"])
def plan(request, monkeypatch):
    """Run the test with the id-list plan, then with the walk (the limit moved below any test
    data), so the two plans are held to the same answers."""
    limit = 0 if request.param == "many" else 10**9
    for name in ("ID_LIST_LIMIT", "PREFIX_ID_LIST_LIMIT"):
        monkeypatch.setattr(search, name, limit)
    for name in ("CONTACT_ID_LIST_LIMIT", "PREFIX_ID_LIST_LIMIT"):
        monkeypatch.setattr(contact_search, name, limit)
    return request.param


def _listed(text: str) -> list[str]:
    """Names on the organisation list searched for ``text`` (live records, name order)."""
    return [o.name for o in db.session.scalars(organisation_list(OrganisationFilters(q=text)))]


def _found(text: str, *, city: bool = False) -> set[str]:
    """Names of all records (any state) the rule finds for ``text``."""
    return set(db.session.scalars(sa.select(Organisation.name).where(
        kvk_or_name(text, city=city))))


def _bulk_insert(*names: str, city: str = "Dordrecht") -> None:
    """Rows written by SQLAlchemy Core, as ``flask seed synthetic`` and the import write them."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    db.session.execute(sa.insert(Organisation.__table__), [
        {"name": name, "city": city, "org_type": "company", "size_class": "unknown",
         "status": "active", "is_critical": False, "version": 1, "created_at": now,
         "updated_at": now} for name in names])
    db.session.flush()


def _check_fts_integrity() -> None:
    """SQLite: FTS5's own check that the index holds exactly what ``organisation`` holds
    (a trigger that missed a write, or deleted with the wrong values, fails it)."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(sa.text(
            "INSERT INTO organisation_search (organisation_search, rank) "
            "VALUES ('integrity-check', 1)"))


# --- kept current by whatever writes the row ----------------------------------------------------

def test_created_records_are_found_at_once(plan, make_org):
    make_org(name="Scheepswerf De Merwede B.V.", city="Sliedrecht")
    make_org(name="Bakkerij Van Dam", city="Papendrecht")
    assert _listed("werf") == ["Scheepswerf De Merwede B.V."]
    assert _listed("WERF DE") == ["Scheepswerf De Merwede B.V."]  # any case, spaces count
    assert _listed("sliedr") == ["Scheepswerf De Merwede B.V."]  # the list searches places too
    assert _found("sliedr") == set()  # … other searches names only
    assert _listed("werven") == []
    _check_fts_integrity()


def test_bulk_inserted_records_are_found(plan):
    _bulk_insert("Havenbedrijf Zwijndrecht", "Baggerwerken Noord", "Jachtwerf Oost")
    assert _listed("werf") == ["Jachtwerf Oost"]
    assert _listed("bagger") == ["Baggerwerken Noord"]
    assert _listed("zwijn") == ["Havenbedrijf Zwijndrecht"]
    _check_fts_integrity()


def test_a_renamed_record_is_found_under_its_new_name_only(plan, make_org):
    org = make_org(name="Lasbedrijf Oudenaam")
    update_organisation(org, {"name": "Constructiebedrijf Nieuwenaam"}, actor=_admin(),
                        expected_version=org.version, partial=True)
    db.session.commit()
    assert _listed("oudenaam") == []
    assert _listed("nieuwenaam") == ["Constructiebedrijf Nieuwenaam"]
    db.session.execute(sa.update(Organisation).where(Organisation.id == org.id)
                       .values(city="Gorinchem"))  # a raw UPDATE of the place
    assert _listed("gorinch") == ["Constructiebedrijf Nieuwenaam"]
    _check_fts_integrity()


def test_a_deleted_record_leaves_the_list(plan, make_org):
    gone = make_org(name="Verdwenen Werf B.V.")
    make_org(name="Blijvende Werf B.V.")
    delete_organisation(gone, actor=_admin())
    db.session.commit()
    assert _listed("werf") == ["Blijvende Werf B.V."]
    # A row deleted outright (as a purge would) leaves the index too.
    db.session.execute(sa.delete(Organisation).where(Organisation.id == gone.id))
    assert _found("verdwenen") == set()
    _check_fts_integrity()


def test_a_merged_record_is_found_as_the_one_it_went_into(plan, make_org):
    # The survivor has an address of its own, so it keeps its place (see merge.takes_merged).
    survivor = make_org(name="Werf Nieuw B.V.", street="Kade 1", postcode="3311 AA")
    merged = make_org(name="Scheepsbouw Oud B.V.", city="Alblasserdam")
    merge_organisations(survivor, merged, actor=_admin())
    db.session.commit()
    assert survivor.city == "Dordrecht"
    assert _listed("bouw oud") == ["Werf Nieuw B.V."]
    assert _listed("sc") == ["Werf Nieuw B.V."]  # a short text: the old name starts with it
    assert _listed("alblasser") == []  # a merged record's place does not count
    assert {o.id for o in organisation_matches("scheepsbouw")} == {survivor.id}


# --- what a text means -------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("s", ["Scheepswerf Alfa", "scheepvaart beta"]),  # 1 character: starts with it, any case
    ("SC", ["Scheepswerf Alfa", "scheepvaart beta"]),  # 2 characters: likewise
    ("a", ["Alfa Scheepswerf"]),
    ("ee", []),  # … not anywhere in the name
    ("hee", ["Alfa Scheepswerf", "Scheepswerf Alfa", "scheepvaart beta"]),  # 3: anywhere
    ("rf ", ["Scheepswerf Alfa"]),
    ("ALFA", ["Alfa Scheepswerf", "Scheepswerf Alfa"]),
])
def test_short_and_long_texts(plan, text, expected):
    _bulk_insert("Scheepswerf Alfa", "Alfa Scheepswerf", "scheepvaart beta")
    assert _listed(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("0% b", {"100% Bouw"}),  # LIKE's wildcards are ordinary characters
    ("%", {"% Procent"}),
    ("a_b", {"Xa_bY"}),
    ("_b", {"_Begin"}),
    ('"De', {'Bakkerij "De Zon"'}),  # FTS5 quotes in the text are characters too
    ("n\\s", {"Pijn\\steen"}),
    ("énerg", {"Énergie Zuid"}),  # case is ignored beyond ASCII as well
    ("De*", set()),  # no FTS5 operators either
    ("a OR b", set()),
    ("nul\x00byte", set()),  # a NUL ends an FTS5 query: nothing has it, and no error
])
def test_special_characters_are_literal(plan, text, expected):
    _bulk_insert("100% Bouw", "100 Bouw", "% Procent", "Xa_bY", "XaXbY", "_Begin", "XBegin",
                 'Bakkerij "De Zon"', "Bakkerij De Maan", "Pijn\\steen", "Énergie Zuid")
    assert _found(text) == expected


def test_kvk_numbers_are_exact(plan, make_org):
    org = make_org(name="Telbedrijf", kvk_number="12345678")
    make_org(name="Ander Telbedrijf 12345678")
    assert _found("1234 5678") == {org.name}
    assert _found("2345678") == {"Ander Telbedrijf 12345678"}  # 7 digits: a name part


def test_the_suggestions_put_names_starting_with_the_text_first(plan):
    _bulk_insert("Aannemer Werfkade", "Werfstraat Bouw", "Werf Alfa", "Bouwwerf Zuid")
    assert [o.name for o in organisation_matches("werf")] == [
        "Werf Alfa", "Werfstraat Bouw", "Aannemer Werfkade", "Bouwwerf Zuid"]
    assert [o.name for o in organisation_matches("werf", limit=1)] == ["Werf Alfa"]
    assert [o.name for o in organisation_matches("bo")] == ["Bouwwerf Zuid"]


def test_the_pages_and_the_api_search_the_same_way(plan, make_user, login, client, api_headers):
    _bulk_insert("Scheepswerf Gamma", "Bakkerij Delta")
    user = make_user()
    login(user)
    page = client.get("/organisations/?q=werf%20gam").get_data(as_text=True)
    assert "Scheepswerf Gamma" in page and "Bakkerij Delta" not in page
    api = client.get("/api/v1/organisations?q=WERF", headers=api_headers(user)).get_json()
    assert [item["name"] for item in api["items"]] == ["Scheepswerf Gamma"]
    suggestions = client.get("/interactions/organisations.json?q=werf").get_json()
    assert [s["value"].split(" (")[0] for s in suggestions] == ["Scheepswerf Gamma"]


# --- the contact list's search --------------------------------------------------------------------

def _contacts(text: str) -> list[str]:
    from sdd_crm.contacts.queries import contact_list

    return [c.last_name for c in db.session.scalars(contact_list(text))]


def test_the_contact_search_finds_names_mail_and_organisation(plan, make_org, make_contact):
    werf = make_org(name="Scheepswerf Delta")
    bakker = make_org(name="Bakkerij Epsilon")
    make_contact(werf, first_name="Anouk", last_name="van Vliet", email="a.vliet@werf.example")
    make_contact(bakker, first_name="Bram", last_name="Zwart", email="bram@brood.example")
    make_contact(bakker, first_name="Cor", last_name="Vlietstra", email="cor@brood.example")
    assert _contacts("vliet") == ["Vlietstra", "van Vliet"]  # last name, any case, anywhere
    assert _contacts("ANOUK") == ["van Vliet"]  # first name
    assert _contacts("@brood.") == ["Vlietstra", "Zwart"]  # e-mail address
    assert _contacts("pswerf") == ["van Vliet"]  # the organisation's name
    assert _contacts("zw") == ["Zwart"]  # a short text: the last name starts with it
    assert _contacts("va") == ["van Vliet"]
    assert _contacts("br") == []  # … not the first name or e-mail
    assert _contacts("100%") == []


def test_the_contact_search_follows_every_write(plan, make_org, make_contact):
    from sdd_crm.contacts.models import Contact

    org = make_org(name="Werkplaats Zeta")
    contact = make_contact(org, first_name="Dirk", last_name="Oudnaam")
    assert _contacts("oudnaam") == ["Oudnaam"]
    db.session.execute(sa.update(Contact).where(Contact.id == contact.id)
                       .values(last_name="Nieuwnaam"))
    assert _contacts("oudnaam") == [] and _contacts("nieuwnaam") == ["Nieuwnaam"]
    db.session.execute(sa.update(Contact).where(Contact.id == contact.id)
                       .values(deleted_at=dt.datetime(2026, 1, 1)))
    assert _contacts("nieuwnaam") == []
    db.session.execute(sa.delete(Contact).where(Contact.id == contact.id))
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(sa.text("INSERT INTO contact_search (contact_search, rank) "
                                   "VALUES ('integrity-check', 1)"))


# --- the index is used ---------------------------------------------------------------------------

def _plan_lines(stmt) -> list[str]:
    connection = db.session.connection()
    compiled = stmt.compile(dialect=connection.dialect)
    params = tuple(compiled.params[k] for k in compiled.positiontup) if compiled.positional \
        else compiled.params
    prefix = "EXPLAIN QUERY PLAN " if connection.dialect.name == "sqlite" else "EXPLAIN "
    return [str(row[-1]) for row in connection.exec_driver_sql(prefix + str(compiled), params)]


@pytest.mark.parametrize("text", ["werf", "scheeps alfa", "sc"])
def test_sqlite_reads_the_index_not_the_table(app, plan, text):
    if db.session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's plan")
    _bulk_insert("Scheepswerf Alfa", "Bakkerij Beta")
    lines = _plan_lines(organisation_list(OrganisationFilters(q=text)).limit(51))
    # A bare "SCAN organisation" reads every row: what a LIKE '%…%' did before the index.
    assert not [line for line in lines if line.strip() in (
        "SCAN organisation", "SCAN found", "SCAN merged")], lines
    if len(text) >= search.SHORTEST_SUBSTRING:
        assert any("SCAN organisation_search VIRTUAL TABLE" in line for line in lines), lines
    else:
        assert any("USING COVERING INDEX ix_organisation_name" in line
                   or "(name>? AND name<?)" in line for line in lines), lines


@pytest.mark.parametrize("table", ["organisation_search", "contact_search"])
def test_the_sqlite_search_tables_and_their_triggers_exist(app, table):
    if db.session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's index")
    rows = dict(db.session.execute(sa.text(
        "SELECT name, sql FROM sqlite_master WHERE name LIKE :table || '%'"),
        {"table": table}).all())
    assert "tokenize='trigram'" in rows[table]
    assert {f"{table}_insert", f"{table}_update", f"{table}_delete"} <= set(rows)


@pytest.mark.parametrize("text", ["vliet", "zw"])
def test_sqlite_reads_the_contact_index(app, plan, text, make_org, make_contact):
    if db.session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's plan")
    from sdd_crm.contacts.queries import contact_list

    make_contact(make_org(name="Werf Eta"), last_name="van Vliet")
    lines = _plan_lines(contact_list(text).limit(51))
    assert not [line for line in lines if line.strip() in ("SCAN contact", "SCAN contact_found")]
    if len(text) >= search.SHORTEST_SUBSTRING:
        assert any("SCAN contact_search VIRTUAL TABLE" in line for line in lines), lines
    else:
        assert any("(last_name>? AND last_name<?)" in line for line in lines), lines


@pytest.mark.postgres
def test_postgresql_has_trigram_indexes_the_like_uses(app):
    definitions = dict(db.session.execute(sa.text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'organisation'")).all())
    assert "gin (lower((name)::text) gin_trgm_ops)" in definitions["ix_organisation_name_trgm"]
    assert "gin (lower((city)::text) gin_trgm_ops)" in definitions["ix_organisation_city_trgm"]
    contact_indexes = dict(db.session.execute(sa.text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'contact'")).all())
    for column in ("last_name", "first_name", "email"):
        assert f"gin (lower(({column})::text) gin_trgm_ops)" in contact_indexes[
            f"ix_contact_{column}_trgm"]
    _bulk_insert("Scheepswerf Alfa", "Bakkerij Beta")
    # The test table is tiny, so PostgreSQL would rather read it whole: forbid that, and the
    # trigram index must serve the name search.
    db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    lines = _plan_lines(search._found("werf", city=True, dialect="postgresql"))
    assert any("ix_organisation_name_trgm" in line for line in lines), lines
    assert any("ix_organisation_city_trgm" in line for line in lines), lines


def test_the_search_index_stays_out_of_the_model_comparison():
    assert not search.include_name("organisation_search", "table", {})
    assert not search.include_name("organisation_search_data", "table", {})
    assert not search.include_name("ix_organisation_name_trgm", "index", {})
    assert not search.include_name("contact_search_idx", "table", {})
    assert not search.include_name("ix_contact_email_trgm", "index", {})
    assert search.include_name("contact", "table", {})
    assert search.include_name("organisation", "table", {})
    assert search.include_name("organisation_sbi", "table", {})
    assert search.include_name("ix_organisation_name", "index", {})


def test_a_search_costs_the_same_statements_for_one_match_or_many(plan, count_queries):
    _bulk_insert("Werf Een")
    with count_queries() as one:
        _listed("werf")
    _bulk_insert(*(f"Werf {n}" for n in range(30)))
    with count_queries() as many:
        _listed("werf")
    assert many.count == one.count <= 3


def _admin():
    from sdd_crm.auth.models import User
    from sdd_crm.auth.services import create_user

    admin = db.session.scalar(sa.select(User).where(User.role == "admin"))
    if admin is None:
        admin = create_user(email="search-admin@example.nl", name="Zoek Beheerder",
                            role="admin", password="correct horse battery staple")
        db.session.flush()
    return admin
