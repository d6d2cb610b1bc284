"""/accounts/ — "Mijn accounts": my account teams, neglected ones first, critical first within."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from html_helpers import assert_good_markup, text

from sdd_crm.accounts.queries import months_before
from sdd_crm.extensions import db
from sdd_crm.organisations.services import (
    delete_organisation,
    remove_account_team_member,
    set_account_team_member,
)

TODAY = dt.date.today()


def _org_names(resp) -> list[str]:
    """The organisation names in the table, top to bottom."""
    body = resp.get_data(as_text=True)
    return re.findall(r'<a class="utrecht-link" href="/organisations/\d+">([^<]+)</a>', body)


@pytest.fixture
def team(make_user, make_org):
    """A regional account manager in six account teams with different contact histories."""
    admin = make_user("admin")
    ram = make_user("regional_account_manager", name="Rianne Regio")

    def account(name, *, last_contact=None, critical=False, role="strategic"):
        org = make_org(actor=admin, name=name)
        org.last_contact_on = last_contact
        org.is_critical = critical
        set_account_team_member(org, ram, role, actor=admin)
        db.session.commit()
        return org

    orgs = {
        "recent": account("Recent B.V.", last_contact=TODAY - dt.timedelta(days=10)),
        "recent_critical": account("Recent Kritisch B.V.", last_contact=TODAY - dt.timedelta(days=20),
                                   critical=True),
        "old": account("Oud B.V.", last_contact=months_before(TODAY, 7)),
        "never": account("Nooit B.V."),
        "old_critical": account("Oud Kritisch B.V.", last_contact=months_before(TODAY, 12),
                                critical=True, role="local"),
        "older_critical": account("Ouder Kritisch B.V.", last_contact=months_before(TODAY, 30),
                                  critical=True),
    }
    make_org(actor=admin, name="Niet van mij B.V.")  # no account team: never listed
    return {"admin": admin, "ram": ram, "orgs": orgs}


def test_sorted_needing_attention_first_critical_first_then_oldest_contact(client, login, team):
    login(team["ram"])
    resp = client.get("/accounts/")
    assert resp.status_code == 200
    assert _org_names(resp) == [
        "Ouder Kritisch B.V.", "Oud Kritisch B.V.",  # attention, critical, oldest first
        "Nooit B.V.", "Oud B.V.",  # attention, never contacted before long ago
        "Recent Kritisch B.V.", "Recent B.V.",  # fine: critical first
    ]
    page = text(resp)
    assert page.count("Aandacht nodig") == 4
    assert "nog nooit" in page
    assert "Lokaal accountmanager" in page and "Strategisch accountmanager" in page
    assert_good_markup(resp)


def test_the_attention_period_is_configurable(client, login, team, app, monkeypatch):
    monkeypatch.setitem(app.config, "ATTENTION_MONTHS", 24)
    login(team["ram"])
    page = text(client.get("/accounts/"))
    # Only the one without contact for 30 months, and the never-contacted one, need attention now.
    assert page.count("Aandacht nodig") == 2
    assert "afgelopen 24 maanden" in page


def test_exactly_the_period_ago_is_still_fine(client, login, make_user, make_org):
    admin, ram = make_user("admin"), make_user("regional_account_manager")
    org = make_org(actor=admin, name="Grens B.V.")
    org.last_contact_on = months_before(TODAY, 6)
    set_account_team_member(org, ram, "strategic", actor=admin)
    db.session.commit()
    login(ram)
    assert "Aandacht nodig" not in text(client.get("/accounts/"))
    org.last_contact_on = months_before(TODAY, 6) - dt.timedelta(days=1)
    db.session.commit()
    assert "Aandacht nodig" in text(client.get("/accounts/"))


def test_deleted_organisations_and_other_peoples_accounts_are_not_listed(client, login, team, make_user):
    other = make_user("regional_account_manager")
    recent = team["orgs"]["recent"]
    set_account_team_member(recent, other, "strategic", actor=team["admin"])  # hand-over
    # The hand-over keeps ram as a local member; taking them off is an explicit removal.
    remove_account_team_member(recent, next(m.id for m in recent.team if m.user_id == team["ram"].id),
                               actor=team["admin"])
    delete_organisation(team["orgs"]["never"], actor=team["admin"])
    db.session.commit()
    login(team["ram"])
    names = _org_names(client.get("/accounts/"))
    assert "Recent B.V." not in names and "Nooit B.V." not in names and len(names) == 4


def test_empty_state(client, login, make_user):
    login(make_user("business_developer"))
    resp = client.get("/accounts/")
    assert resp.status_code == 200
    assert "U zit nog in geen enkel accountteam." in text(resp)


def test_pagination(client, login, team, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 4)
    login(team["ram"])
    first = client.get("/accounts/")
    assert len(_org_names(first)) == 4 and 'rel="next"' in first.get_data(as_text=True)
    second = client.get("/accounts/?page=2")
    assert _org_names(second) == ["Recent Kritisch B.V.", "Recent B.V."]
    assert "Op deze pagina staan geen accounts meer." in text(client.get("/accounts/?page=9"))
    assert client.get("/accounts/?page=abc").status_code == 200


@pytest.mark.parametrize("role, status", [
    ("admin", 200), ("regional_account_manager", 200), ("local_account_manager", 403),
    ("business_developer", 403), ("viewer", 403),
])
def test_a_colleagues_accounts(client, login, team, make_user, role, status):
    login(make_user(role))
    resp = client.get(f"/accounts/?user_id={team['ram'].id}")
    assert resp.status_code == status
    if status == 200:
        page = text(resp)
        assert "Accounts van Rianne Regio" in page
        assert len(_org_names(resp)) == 6
        assert f'<option value="{team["ram"].id}" selected>' in resp.get_data(as_text=True)
        assert_good_markup(resp)


@pytest.mark.parametrize("user_id", ["abc", "0", "-3", "99999999999", "2000000000"])
def test_an_unknown_colleague_is_404(client, login, team, user_id):
    login(team["admin"])
    assert client.get(f"/accounts/?user_id={user_id}").status_code == 404


def test_anonymous_is_sent_to_login(client):
    resp = client.get("/accounts/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_statement_count_does_not_grow_with_accounts(client, login, team, make_org, count_queries):
    login(team["ram"])
    db.session.expire_all()  # as in a real request: nothing cached from the test's setup
    with count_queries() as few:
        client.get("/accounts/")
    for i in range(20):
        org = make_org(actor=team["admin"], name=f"Extra {i} B.V.", city="Sliedrecht")
        set_account_team_member(org, team["ram"], "local", actor=team["admin"])
    db.session.commit()
    db.session.expire_all()
    with count_queries() as many:
        resp = client.get("/accounts/")
    assert len(_org_names(resp)) == 26
    assert many.count == few.count, (few.statements, many.statements)


@pytest.mark.parametrize("day, months, expected", [
    (dt.date(2025, 8, 31), 6, dt.date(2025, 2, 28)),
    (dt.date(2024, 8, 31), 6, dt.date(2024, 2, 29)),
    (dt.date(2025, 3, 15), 6, dt.date(2024, 9, 15)),
    (dt.date(2025, 1, 1), 12, dt.date(2024, 1, 1)),
    (dt.date(2025, 5, 31), 1, dt.date(2025, 4, 30)),
])
def test_months_before(day, months, expected):
    assert months_before(day, months) == expected
