"""The dashboard: my tasks, my recent contacts, leads waiting for me, my accounts needing
attention — each bounded, each with a Dutch empty state; an overview for viewers instead."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from html_helpers import assert_good_markup, text

from sdd_crm.extensions import db
from sdd_crm.interactions.services import complete_task, create_interaction, create_task
from sdd_crm.leads.services import change_status, share_lead
from sdd_crm.organisations.services import set_account_team_member

TODAY = dt.date.today()
EMPTY_STATES = ("U heeft geen open taken.", "U heeft nog geen contactmomenten vastgelegd.",
                "Er wachten geen nieuwe signalen op u.", "Geen van uw accounts heeft aandacht nodig.")


def _section(resp, heading_id: str) -> str:
    """The text of one dashboard block."""
    body = text(resp)
    m = re.search(rf'<section aria-labelledby="{heading_id}">(.*?)</section>', body, re.DOTALL)
    assert m, heading_id
    return m.group(1)


def _items(section: str) -> list[str]:
    items = re.findall(r'<li class="utrecht-unordered-list__item">(.*?)</li>', section, re.DOTALL)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", i)).strip() for i in items]


@pytest.fixture
def people(make_user, make_org):
    admin = make_user("admin")
    me = make_user("local_account_manager", municipality="GM0610", name="Sanne Sliedrecht")
    other = make_user("local_account_manager", municipality="GM0505", name="Dirk Dordrecht")
    org = make_org(actor=admin, name="Werf Sliedrecht B.V.", city="Sliedrecht")
    return {"admin": admin, "me": me, "other": other, "org": org}


@pytest.mark.parametrize("role", ["admin", "regional_account_manager", "local_account_manager",
                                  "business_developer"])
def test_an_empty_dashboard_says_so_in_dutch(client, login, make_user, role):
    login(make_user(role, name="Nieuwe Collega"))
    resp = client.get("/")
    assert resp.status_code == 200
    page = text(resp)
    assert "Welkom, Nieuwe Collega" in page
    for heading in ("Mijn taken", "Mijn recente contacten", "Signalen voor mij",
                    "Mijn accounts die aandacht nodig hebben"):
        assert heading in page
    for message in EMPTY_STATES:
        assert message in page
    assert 'href="/tasks/"' in page and 'href="/leads/"' in page and 'href="/accounts/"' in page
    assert_good_markup(resp)


def test_my_tasks_open_soonest_first_overdue_marked_at_most_ten(client, login, people):
    me, other = people["me"], people["other"]
    overdue = create_task({"title": "Te laat bellen", "due_date": TODAY - dt.timedelta(days=3),
                           "organisation_id": people["org"].id}, actor=me)
    for i in range(11):
        create_task({"title": f"Later {i:02d}", "due_date": TODAY + dt.timedelta(days=i + 1)}, actor=me)
    create_task({"title": "Zonder datum"}, actor=me)
    done = create_task({"title": "Al gedaan", "due_date": TODAY - dt.timedelta(days=9)}, actor=me)
    complete_task(done, actor=me)
    create_task({"title": "Van een ander", "due_date": TODAY}, actor=other)
    create_task({"title": "Voor mij van een ander", "due_date": TODAY, "assignee_id": me.id}, actor=other)
    db.session.commit()
    login(me)
    items = _items(_section(client.get("/"), "dash-tasks"))
    assert len(items) == 10
    assert items[0].startswith("Te laat bellen Te laat") and "Werf Sliedrecht B.V." in items[0]
    assert items[1].startswith("Voor mij van een ander")
    assert items[2].startswith("Later 00") and "Te laat" not in items[2]
    assert sum("Te laat" in i for i in items) == 1
    joined = " ".join(items)
    assert "Al gedaan" not in joined and "Van een ander" not in joined and "Zonder datum" not in joined
    assert overdue.id  # used


def test_my_recent_contacts_logged_or_attended_latest_ten(client, login, people, make_org):
    me, other, admin = people["me"], people["other"], people["admin"]
    org = people["org"]
    for i in range(12):
        create_interaction({"organisation_id": org.id, "type": "call", "subject": f"Gesprek {i:02d}",
                            "date": TODAY - dt.timedelta(days=20 + i)}, actor=me)
    create_interaction({"organisation_id": org.id, "type": "visit", "subject": "Samen op bezoek",
                        "date": TODAY - dt.timedelta(days=1), "user_ids": [me.id]}, actor=other)
    create_interaction({"organisation_id": org.id, "type": "visit", "subject": "Zonder mij",
                        "date": TODAY}, actor=other)
    # Present at a confidential visit but outside its circle (not author, not in the team).
    secret_org = make_org(actor=admin, name="Geheim B.V.")
    create_interaction({"organisation_id": secret_org.id, "type": "meeting", "confidential": True,
                        "subject": "Geheime overname", "date": TODAY, "user_ids": [me.id]}, actor=other)
    db.session.commit()
    login(me)
    section = _section(client.get("/"), "dash-contacts")
    items = _items(section)
    assert len(items) == 10
    assert items[0].startswith("Samen op bezoek")
    assert items[1].startswith("Gesprek 00") and items[-1].startswith("Gesprek 08")
    assert "Zonder mij" not in section and "Geheime overname" not in section
    # Once in the account team, the confidential visit is part of my contacts.
    set_account_team_member(secret_org, me, "local", actor=admin)
    db.session.commit()
    assert _items(_section(client.get("/"), "dash-contacts"))[0].startswith("Geheime overname")


def test_leads_waiting_for_me_are_new_ones_in_my_inbox(client, login, people, make_user):
    me, other = people["me"], people["other"]
    org_id = people["org"].id
    to_sliedrecht = [share_lead({"organisation_id": org_id, "type": "expansion", "title": f"Signaal {i:02d}",
                                 "shared_with_municipality": "GM0610"}, actor=other) for i in range(12)]
    share_lead({"organisation_id": org_id, "type": "risk", "title": "Naar Dordrecht",
                "shared_with_municipality": "GM0505"}, actor=me)
    share_lead({"organisation_id": org_id, "type": "risk", "title": "Naar de regio",
                "shared_with": "regional_team"}, actor=other)
    change_status(to_sliedrecht[-1], "accepted", actor=me)
    db.session.commit()
    login(me)
    section = _section(client.get("/"), "dash-leads")
    items = _items(section)
    assert len(items) == 10
    assert items[0].startswith("Signaal 10")  # newest first; 11 is accepted already
    assert "van Dirk Dordrecht" in items[0] and "Werf Sliedrecht B.V." in items[0]
    assert "Signaal 11" not in section and "Naar Dordrecht" not in section and "Naar de regio" not in section
    assert f'href="/leads/{to_sliedrecht[10].id}"' in section


def test_accounts_needing_attention_critical_first(client, login, people, make_org):
    me, admin = people["me"], people["admin"]

    def account(name, last_contact, critical=False):
        org = make_org(actor=admin, name=name, city="Sliedrecht")
        org.last_contact_on, org.is_critical = last_contact, critical
        set_account_team_member(org, me, "local", actor=admin)

    account("Stil B.V.", TODAY - dt.timedelta(days=400))
    account("Stil Kritisch B.V.", TODAY - dt.timedelta(days=200), critical=True)
    account("Nooit B.V.", None)
    account("Actief B.V.", TODAY - dt.timedelta(days=5), critical=True)
    for i in range(10):
        account(f"Vergeten {i:02d} B.V.", TODAY - dt.timedelta(days=300 + i))
    db.session.commit()
    login(me)
    items = _items(_section(client.get("/"), "dash-accounts"))
    assert len(items) == 10
    assert items[0].startswith("Stil Kritisch B.V. Kritisch")
    assert items[1].startswith("Nooit B.V.") and "Nog nooit contact gehad" in items[1]
    assert items[2].startswith("Stil B.V.") and "Laatste contact:" in items[2]
    assert not any(i.startswith("Actief") for i in items)


def test_viewers_see_an_overview_not_personal_blocks(client, login, make_user, make_org):
    admin = make_user("admin")
    for city, critical in (("Sliedrecht", True), ("Sliedrecht", True), ("Dordrecht", True),
                           ("Dordrecht", False)):
        org = make_org(actor=admin, city=city)
        org.is_critical = critical
    db.session.commit()
    login(make_user("viewer", name="Bert Bestuurder"))
    resp = client.get("/")
    assert resp.status_code == 200
    page = text(resp)
    assert "Welkom, Bert Bestuurder" in page
    assert "Mijn taken" not in page and "Signalen voor mij" not in page and "Mijn accounts" not in page
    section = _section(resp, "dash-critical")
    rows = dict(re.findall(r'municipality=(GM\d{4})">[^<]+</a></td>\s*<td[^>]*>(?:<a[^>]*>)?(\d+)', section))
    assert rows["GM0610"] == "2" and rows["GM0505"] == "1" and rows["GM0482"] == "0"
    assert "critical=1" in section
    assert_good_markup(resp)


def _fill(people, make_org, n: int) -> None:
    """n tasks, interactions, inbox leads and neglected accounts for ``me``."""
    me, other, admin = people["me"], people["other"], people["admin"]
    for i in range(n):
        org = make_org(actor=admin, name=f"Vulling {n}-{i}", city="Sliedrecht")
        set_account_team_member(org, me, "local", actor=admin)
        create_task({"title": f"Taak {i}", "due_date": TODAY + dt.timedelta(days=i),
                     "organisation_id": org.id}, actor=other if i % 2 else me)
        create_interaction({"organisation_id": org.id, "type": "call", "subject": f"Contact {i}",
                            "date": TODAY - dt.timedelta(days=i), "user_ids": [me.id]},
                           actor=other if i % 2 else me)
        org.last_contact_on = None
        share_lead({"organisation_id": org.id, "type": "risk", "title": f"Signaal {i}",
                    "shared_with_municipality": "GM0610"}, actor=other)
    db.session.commit()


def test_statement_count_is_pinned(client, login, people, make_org, count_queries):
    """The dashboard costs the same few statements with 2 or 25 of everything (no N+1, no COUNT
    over growing tables): the user, one per block, and the header's bounded unread count."""
    login(people["me"])
    counts = {}
    for n in (2, 23):
        _fill(people, make_org, n)
        db.session.expire_all()  # as a real request: nothing cached from the setup
        with count_queries() as q:
            resp = client.get("/")
        assert resp.status_code == 200
        counts[n] = q.count
    assert counts[2] == counts[23] <= 7, counts
    assert len(_items(_section(resp, "dash-tasks"))) == 10


def test_viewer_dashboard_statement_count(client, login, make_user, make_org, count_queries):
    login(make_user("viewer"))
    db.session.expire_all()
    with count_queries() as q:
        client.get("/")
    admin = make_user("admin")
    for i in range(15):
        make_org(actor=admin, city="Zwijndrecht").is_critical = True
    db.session.commit()
    db.session.expire_all()
    with count_queries() as more:
        client.get("/")
    assert q.count == more.count <= 5  # 5: whether the critical figures are current (issue 14)
