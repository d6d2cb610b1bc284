"""The pages and API calls `make bench` times, each with the raw SQL that fetches the same rows.

A :class:`Case` is one request (a path with ``{placeholders}`` filled from :class:`Ids`), its kind
(which target applies) and the raw SQL yardstick: the statements a hand-written program would run
to fetch the rows the page shows — the page of rows with the columns shown, and for a detail page
the record and each list on it. They take the same named parameters (``:uid`` the signed-in user,
``:org`` …) and run through one plain connection, so "application / raw" is what Flask,
SQLAlchemy's ORM, visibility rules, sessions and the templates add on top.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

# Targets (issue 12): every page and API call p95 ≤ 100 ms; lists, searches, details and API
# reads p95 ≤ 50 ms; application / raw SQL ≤ 3 for lists and details.
PAGE_P95_MS = 100.0
READ_P95_MS = 50.0
RAW_RATIO = 3.0
KINDS = {"page": "pagina", "list": "lijst", "search": "zoeken", "detail": "detail", "api": "API"}


@dataclass(frozen=True)
class Case:
    label: str
    kind: str  # page | list | search | detail | api
    path: str  # with {placeholders} from Ids
    raw: tuple[str, ...] = ()  # statements with :named parameters; may name {placeholders} too
    search: str | None = None  # a name search: the raw SQL is SEARCH[dialect] for this parameter

    def target_ms(self) -> float:
        return PAGE_P95_MS if self.kind == "page" else READ_P95_MS

    def ratio_applies(self) -> bool:
        return self.kind != "page"

    def statements(self, dialect: str) -> tuple[str, ...]:
        """The raw SQL: who is signed in (what every request reads first), then the rows."""
        rows = (SEARCH[dialect].format(term=self.search),) if self.search else self.raw
        signed_in = API_SIGNED_IN if self.path.startswith("/api/") else PAGE_SIGNED_IN
        return (*signed_in, *rows)


@dataclass
class Ids:
    """The records the cases open, chosen per user from the data (see :func:`choose_ids`)."""

    uid: int
    org: int  # an organisation of the user's own with about ten contact moments
    chain: int  # the value chain with the most members
    programme: str
    kvk: str
    common: str  # a part of a name that many organisations share
    rare: str  # a part of a name that few share
    municipality: str
    deep_name: str  # the sort key of row 25,000 of the organisation list (for the deep page)
    deep_id: int
    deep_query: str  # the query string of the deep page as the application links to it
    today: dt.date
    cutoff: dt.date

    def params(self) -> dict:
        return {"uid": self.uid, "org": self.org, "chain": self.chain, "programme": self.programme,
                "kvk": self.kvk, "common": f"%{self.common}%", "rare": f"%{self.rare}%",
                "mun": self.municipality, "dname": self.deep_name, "did": self.deep_id,
                "today": self.today, "cutoff": self.cutoff, "common_term": self.common,
                "rare_term": self.rare}

    def fill(self, path: str) -> str:
        return path.format(org=self.org, chain=self.chain, programme=self.programme,
                           kvk=self.kvk, common=self.common, rare=self.rare,
                           mun=self.municipality, deep=self.deep_query)


# Who is signed in: the session (browser) or the token (API) with its user; a page also shows
# the unread-notifications badge. Every request of a signed-in user reads these first.
PAGE_SIGNED_IN = (
    "SELECT s.id, s.user_id, s.last_seen_at, s.revoked_at, u.* FROM user_session s "
    "JOIN \"user\" u ON u.id = s.user_id WHERE s.token_hash = :session_hash",
    "SELECT n.id FROM notification n WHERE n.user_id = :uid AND n.read_at IS NULL LIMIT 1",
)
API_SIGNED_IN = (
    "SELECT t.id, t.user_id, t.revoked_at, u.* FROM api_token t JOIN \"user\" u "
    "ON u.id = t.user_id WHERE t.token_hash = :token_hash",
)
LIVE_ORG = "o.deleted_at IS NULL AND o.merged_into_id IS NULL"
ORG_COLUMNS = ("o.id, o.name, o.org_type, o.kvk_number, o.city, o.municipality_code, o.employees, "
               "o.size_class, o.is_critical, o.last_contact_on")
ORG_PAGE = f"SELECT {ORG_COLUMNS} FROM organisation o WHERE {LIVE_ORG} "
# The SBI codes shown beside each row of an organisation page.
ORG_SBI = ("SELECT s.organisation_id, s.code FROM organisation_sbi s WHERE s.organisation_id IN "
           "(SELECT o.id FROM organisation o WHERE {live} {where} ORDER BY {order} LIMIT 51)")


def _org_page(where: str = "", order: str = "o.name, o.id") -> tuple[str, str]:
    return (ORG_PAGE + where + f" ORDER BY {order} LIMIT 51",
            ORG_SBI.format(live=LIVE_ORG, where=where, order=order))


VISIBLE_INTERACTION = (
    "(i.confidential = false OR i.author_id = :uid OR EXISTS (SELECT 1 FROM account_team_member t "
    "WHERE t.organisation_id = i.organisation_id AND t.user_id = :uid))")
INTERACTION_PAGE = (
    "SELECT i.id, i.date, i.type, i.subject, i.confidential, o.id, o.name, u.name "
    "FROM interaction i JOIN organisation o ON o.id = i.organisation_id "
    "JOIN \"user\" u ON u.id = i.author_id "
    f"WHERE i.deleted_at IS NULL AND o.deleted_at IS NULL AND {VISIBLE_INTERACTION} {{where}} "
    "ORDER BY i.date DESC, i.id DESC LIMIT {limit}")
OPEN_TASKS = (
    "SELECT k.id, k.title, k.due_date, k.status, o.id, o.name FROM task k "
    "LEFT JOIN organisation o ON o.id = k.organisation_id "
    "WHERE k.assignee_id = :uid AND k.status = 'open' AND k.deleted_at IS NULL "
    "ORDER BY k.due_date IS NULL, k.due_date, k.id LIMIT {limit}")
LEADS_IN = (
    "SELECT l.id, l.title, l.type, l.status, l.created_at, o.id, o.name FROM lead l "
    "JOIN organisation o ON o.id = l.organisation_id "
    "WHERE l.deleted_at IS NULL AND o.deleted_at IS NULL AND {status} AND (l.shared_with_user_id = :uid "
    "OR l.shared_with_municipality_code = (SELECT municipality_code FROM \"user\" WHERE id = :uid) "
    "OR l.shared_with = 'regional_team') "
    "ORDER BY l.created_at DESC, l.id DESC LIMIT {limit}")
MY_ACCOUNTS = (
    f"SELECT {ORG_COLUMNS}, m.team_role FROM account_team_member m "
    f"JOIN organisation o ON o.id = m.organisation_id WHERE m.user_id = :uid AND {LIVE_ORG} {{where}} "
    "ORDER BY CASE WHEN o.last_contact_on IS NULL OR o.last_contact_on < :cutoff THEN 0 ELSE 1 END, "
    "o.is_critical DESC, o.last_contact_on, o.name, o.id LIMIT {limit}")
CONTACT_PAGE = (
    "SELECT c.id, c.first_name, c.last_name, c.function, c.email, o.id, o.name FROM contact c "
    "JOIN organisation o ON o.id = c.organisation_id WHERE c.deleted_at IS NULL AND o.deleted_at IS NULL "
    "ORDER BY c.last_name, c.first_name, c.id LIMIT 51")
ORGANISATION_DETAIL = (
    "SELECT * FROM organisation WHERE id = :org",
    "SELECT code, is_main FROM organisation_sbi WHERE organisation_id = :org",
    "SELECT m.team_role, u.id, u.name FROM account_team_member m JOIN \"user\" u ON u.id = m.user_id "
    "WHERE m.organisation_id = :org",
    "SELECT id, first_name, last_name, function, email, phone FROM contact "
    "WHERE organisation_id = :org AND deleted_at IS NULL ORDER BY last_name, first_name, id",
    INTERACTION_PAGE.format(where="AND i.organisation_id = :org", limit=20),
    "SELECT id, title, due_date, status FROM task WHERE organisation_id = :org AND deleted_at IS NULL "
    "AND status = 'open' ORDER BY due_date",
)
PARTICIPATIONS = (
    "SELECT p.id, p.status, p.updated_at, o.id, o.name, o.municipality_code, o.size_class "
    "FROM participation p JOIN programme g ON g.id = p.programme_id "
    "JOIN organisation o ON o.id = p.organisation_id "
    "WHERE g.code = :programme AND p.deleted_at IS NULL AND o.deleted_at IS NULL "
    "ORDER BY o.name, p.id LIMIT 51")
PROGRAMME_COUNTS = (
    "SELECT g.id, g.code, g.name FROM programme g WHERE g.deleted_at IS NULL ORDER BY g.name",
    "SELECT p.programme_id, count(*) FROM participation p JOIN organisation o "
    "ON o.id = p.organisation_id WHERE p.deleted_at IS NULL AND o.deleted_at IS NULL "
    "GROUP BY p.programme_id",
)
PROGRESS = (
    "SELECT o.municipality_code, count(DISTINCT p.organisation_id) FROM participation p "
    "JOIN programme g ON g.id = p.programme_id JOIN organisation o ON o.id = p.organisation_id "
    "WHERE g.code = :programme AND p.deleted_at IS NULL AND o.deleted_at IS NULL "
    "GROUP BY o.municipality_code",
)
CHAIN_DETAIL = (
    "SELECT * FROM value_chain WHERE id = :chain",
    "SELECT id, name, position FROM value_chain_stage WHERE value_chain_id = :chain ORDER BY position",
    # Roles per stage (the page's "the first 10 of 2,345"), about 50 roles by name (10 for each
    # stage) and a page of 25 links by supplier and customer name.
    "SELECT stage_id, count(*) FROM chain_role WHERE value_chain_id = :chain "
    "AND deleted_at IS NULL GROUP BY stage_id",
    "SELECT r.id, r.role, r.stage_id, o.id, o.name, o.is_critical FROM chain_role r "
    "JOIN organisation o ON o.id = r.organisation_id WHERE r.value_chain_id = :chain "
    "AND r.deleted_at IS NULL AND o.deleted_at IS NULL ORDER BY r.stage_id, r.organisation_name "
    "LIMIT 51",
    "SELECT l.id, l.supplied, l.sole_source, s.id, s.name, c.id, c.name FROM supply_link l "
    "JOIN organisation s ON s.id = l.supplier_id JOIN organisation c ON c.id = l.customer_id "
    "WHERE l.value_chain_id = :chain AND l.deleted_at IS NULL AND s.deleted_at IS NULL "
    "AND c.deleted_at IS NULL ORDER BY l.supplier_name, l.customer_name, l.id LIMIT 26",
)
CHAIN_NETWORK = (
    "SELECT r.organisation_id, r.role, r.stage_id FROM chain_role r "
    "WHERE r.value_chain_id = :chain AND r.deleted_at IS NULL",
    "SELECT l.supplier_id, l.customer_id, l.sole_source FROM supply_link l "
    "WHERE l.value_chain_id = :chain AND l.deleted_at IS NULL",
)
CRITICAL = (ORG_PAGE + "AND o.is_critical = true ORDER BY o.criticality_score DESC, o.name LIMIT 51",)
DASHBOARD = (
    OPEN_TASKS.format(limit=10),
    INTERACTION_PAGE.format(where="AND i.author_id = :uid", limit=10),
    LEADS_IN.format(status="l.status = 'new'", limit=10),
    MY_ACCOUNTS.format(where="AND (o.last_contact_on IS NULL OR o.last_contact_on < :cutoff)",
                       limit=10),
)
# Search: a name containing the term, through each database's own index for parts of words.
SEARCH = {
    "sqlite": ORG_PAGE + "AND lower(o.name) LIKE {term} ORDER BY o.name, o.id LIMIT 51",
    "postgresql": ORG_PAGE + "AND lower(o.name) LIKE {term} ORDER BY o.name, o.id LIMIT 51",
}


CASES: list[Case] = [
    Case("Organisaties, eerste pagina", "list", "/organisations/", _org_page()),
    Case("Organisaties, gefilterd (gemeente, grootte)", "list",
         "/organisations/?municipality={mun}&size=small",
         _org_page("AND o.municipality_code = :mun AND o.size_class = 'small'")),
    Case("Organisaties, diepe pagina (na rij 25.000)", "list", "/organisations/?{deep}",
         _org_page("AND (o.name > :dname OR (o.name = :dname AND o.id > :did))")),
    Case("Organisaties, gesorteerd op plaats", "list", "/organisations/?sort=city",
         _org_page(order="o.city, o.name, o.id")),
    Case("Zoeken op naamdeel (veel treffers)", "search", "/organisations/?q={common}",
         search=":common"),
    Case("Zoeken op naamdeel (weinig treffers)", "search", "/organisations/?q={rare}",
         search=":rare"),
    Case("Zoeken op KvK-nummer", "search", "/organisations/?q={kvk}",
         (ORG_PAGE + "AND o.kvk_number = :kvk LIMIT 51",)),
    Case("Organisatie met tijdlijn", "detail", "/organisations/{org}", ORGANISATION_DETAIL),
    Case("Dashboard", "page", "/", DASHBOARD),
    Case("Mijn accounts", "list", "/accounts/", (MY_ACCOUNTS.format(where="", limit=51),)),
    Case("Leads (inbox)", "list", "/leads/",
         (LEADS_IN.format(status="l.status IN ('new', 'accepted', 'in_progress')", limit=51),)),
    Case("Taken", "list", "/tasks/", (OPEN_TASKS.format(limit=51),)),
    Case("Contactmomenten", "list", "/interactions/", (INTERACTION_PAGE.format(where="", limit=51),)),
    Case("Contactpersonen", "list", "/contacts/", (CONTACT_PAGE,)),
    Case("Kritieke bedrijven", "list", "/chains/critical", CRITICAL),
    Case("Waardeketen", "detail", "/chains/{chain}", CHAIN_DETAIL),
    Case("Waardeketen, netwerkbeeld", "page", "/chains/{chain}/network", CHAIN_NETWORK),
    Case("Programma's", "page", "/programmes/", PROGRAMME_COUNTS),
    Case("Programma-pipeline", "list", "/programmes/{programme}", (PARTICIPATIONS,)),
    Case("SCALE-voortgang", "page", "/programmes/{programme}/progress", PROGRESS),
    Case("API: organisaties", "api", "/api/v1/organisations", _org_page()),
    Case("API: zoeken op naamdeel", "api", "/api/v1/organisations?q={common}",
         search=":common"),
    Case("API: zoeken op KvK-nummer", "api", "/api/v1/organisations?kvk={kvk}",
         (ORG_PAGE + "AND o.kvk_number = :kvk LIMIT 51",)),
    Case("API: organisatie", "api", "/api/v1/organisations/{org}", ORGANISATION_DETAIL[:3]),
    Case("API: contactmomenten", "api", "/api/v1/interactions",
         (INTERACTION_PAGE.format(where="", limit=51),)),
    Case("API: taken", "api", "/api/v1/tasks", (OPEN_TASKS.format(limit=51),)),
    Case("API: leads", "api", "/api/v1/leads",
         (LEADS_IN.format(status="l.status IN ('new', 'accepted', 'in_progress')", limit=51),)),
    Case("API: contactpersonen", "api", "/api/v1/contacts", (CONTACT_PAGE,)),
    Case("API: waardeketens", "api", "/api/v1/value-chains",
         ("SELECT * FROM value_chain WHERE deleted_at IS NULL ORDER BY name",)),
    Case("API: programma-deelnames", "api", "/api/v1/programmes/{programme}/participations",
         (PARTICIPATIONS,)),
    Case("API: SCALE-voortgang", "api", "/api/v1/programmes/{programme}/progress", PROGRESS),
]


def raw_params(statement: str, params: dict) -> dict:
    """The parameters ``statement`` names (SQLAlchemy refuses unused ones in text())."""
    return {k: v for k, v in params.items() if f":{k}" in statement}


def run_raw(conn: sa.Connection, statements: tuple[str, ...], params: dict) -> int:
    """Run the statements, fetch every row; the number of rows fetched."""
    rows = 0
    for statement in statements:
        rows += len(conn.execute(sa.text(statement), raw_params(statement, params)).all())
    return rows
