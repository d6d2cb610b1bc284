"""Empty states say what to do next (issue 14, point 10): a list or section without rows says
what it would show and links to the next step this user may take — a viewer gets no "create"
link; a filtered list that finds nothing offers to clear the filters."""

from __future__ import annotations

import re

import pytest
from html_helpers import text
from insight_support import make_chain, make_cluster

from sdd_crm.extensions import db


def _empty_state(html: str) -> str:
    """The first empty state on the page: its sentence and its link, as plain text."""
    m = re.search(r'<div class="app-empty-state" data-empty-state>(.*?)</div>', html, re.DOTALL)
    assert m, "no empty state"
    return m.group(1)


def _link(block: str) -> str | None:
    m = re.search(r'<a class="utrecht-link app-empty-state__link" href="([^"]*)">([^<]*)</a>', block)
    return (m.group(1), m.group(2)) if m else None


def _get(client, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, url
    return text(resp)


@pytest.mark.parametrize("role, link", [
    ("regional_account_manager", ("/organisations/new", "Voeg de eerste organisatie toe")),
    ("viewer", None),
])
def test_organisations_list(client, login, make_user, role, link):
    login(make_user(role))
    block = _empty_state(_get(client, "/organisations/"))
    assert "Nog geen organisaties." in block
    assert _link(block) == link


def test_a_filtered_list_offers_to_clear_the_filters(client, login, make_user):
    login(make_user("regional_account_manager"))
    block = _empty_state(_get(client, "/organisations/?q=bestaatniet"))
    assert "Geen organisaties gevonden die aan de zoekopdracht en de filters voldoen." in block
    assert _link(block) == ("/organisations/", "Alle filters wissen")


def test_contact_moments(client, login, make_user):
    login(make_user("local_account_manager"))
    block = _empty_state(_get(client, "/interactions/"))
    assert "Nog geen contactmomenten." in block
    assert _link(block) == ("/interactions/new", "Leg het eerste vast")


def test_tasks_and_notifications(client, login, make_user):
    login(make_user("business_developer"))
    block = _empty_state(_get(client, "/tasks/"))
    assert "Geen taken in deze lijst." in block and _link(block) == ("/tasks/new", "Maak een taak aan")
    block = _empty_state(_get(client, "/notifications/"))
    assert "U heeft geen meldingen." in block and _link(block)[0] == "/leads/"


@pytest.mark.parametrize("role, may_add", [
    ("admin", True),
    ("viewer", False),
    ("local_account_manager", False),  # only admins and regional account managers manage chains
])
def test_a_cluster_without_chains(client, login, make_user, role, may_add):
    cluster = make_cluster("Leeg cluster E")
    db.session.commit()
    login(make_user(role))
    block = _empty_state(_get(client, f"/chains/clusters/{cluster.id}"))
    assert "Nog geen waardeketens in dit cluster." in block
    expected = (f"/chains/new?cluster_id={cluster.id}", "Voeg de eerste waardeketen toe")
    assert _link(block) == (expected if may_add else None)


@pytest.mark.parametrize("role, may_add", [("viewer", False), ("local_account_manager", True)])
def test_a_chain_without_links(client, login, make_user, role, may_add):
    chain = make_chain("Lege keten E", ["Een"])
    db.session.commit()
    login(make_user(role))
    html = _get(client, f"/chains/{chain.id}")
    section = html.split('id="leveringsrelaties"')[1]
    block = _empty_state(section)
    assert "Nog geen leveringsrelaties in deze keten." in block
    assert (_link(block) == (f"/chains/links/new?value_chain_id={chain.id}",
                             "Leg de eerste leveringsrelatie vast")) is may_add
    assert (_link(block) is None) is not may_add


@pytest.mark.parametrize("role, link", [
    ("admin", ("/imports/", "Start een import")),
    ("viewer", ("/organisations/", "Exporteer een lijst vanuit de organisaties")),
])
def test_background_jobs(client, login, make_user, role, link):
    login(make_user(role))
    block = _empty_state(_get(client, "/jobs/"))
    assert "U heeft nog geen achtergrondtaken gestart." in block
    assert _link(block) == link


def test_the_dashboard_blocks(client, login, make_user):
    login(make_user("local_account_manager"))
    html = _get(client, "/")
    assert 'href="/tasks/new">Maak een taak aan</a>' in html
    assert 'href="/interactions/new">Leg het eerste vast</a>' in html


def test_no_bare_empty_sentence_left_on_list_pages(client, login, make_user):
    """The list pages' empty sentences all come through the macro now."""
    login(make_user("admin"))
    for url in ("/organisations/", "/interactions/", "/tasks/", "/leads/", "/notifications/",
                "/chains/", "/jobs/", "/admin/users?q=niemand", "/chains/gaps"):
        html = _get(client, url)
        assert "data-empty-state" in html, url
