"""Who may manage what on the value-chain screens (DESIGN 4.4, issue 4), for all five roles.

Clusters, chains and stages: admins and regional account managers. Roles and cluster
membership: whoever may edit the organisation. A supply link: whoever may edit either of its two
organisations — so the local account manager of Dordrecht may record that a Sliedrecht firm
supplies a Dordrecht customer, but not a link between two Sliedrecht firms.
"""

from __future__ import annotations

import pytest

from html_helpers import switch_user
from sdd_crm.extensions import db
from sdd_crm.interactions.queries import organisation_choice_label as label
from sdd_crm.organisations.services import set_account_team_member
from sdd_crm.valuechains.models import ChainRole, Cluster, SupplyLink, ValueChain, ValueChainStage
from valuechains_support import (
    EDIT_ALL,
    MANAGERS,
    ROLES,
    build_net,
    count,
    count_recomputes,
    link_for,
    role_for,
)


@pytest.fixture
def net(make_user, make_org):
    return build_net(make_user, make_org)


@pytest.fixture
def recomputes(monkeypatch):
    return count_recomputes(monkeypatch)


def link_form(supplier, customer, chain=None, **extra):
    return {"supplier": label(supplier), "customer": label(customer),
            "value_chain_id": str(chain.id) if chain else "", "supplied": "staal",
            "sole_source": "y", **extra}


def expected(role: str, rule: str) -> bool:
    if role == "viewer":
        return False
    if rule == "manage":
        return role in MANAGERS
    if rule == "dordrecht":  # the local account manager's own municipality
        return True
    return role in EDIT_ALL  # Sliedrecht only


@pytest.mark.parametrize("role", ROLES)
def test_every_role_on_every_action(role, client, login, net):
    login(net.users[role])
    chain = net.chain
    casco = net.stage("Casco")
    for url in ("/chains/", f"/chains/{chain.id}", f"/chains/clusters/{net.cluster.id}",
                f"/chains/links/?organisation_id={net.sliedrecht.id}"):
        assert client.get(url).status_code == 200, url  # everyone reads (viewers too)
    theirs = link_for(net, net.sliedrecht, net.sliedrecht2)
    actions = [
        ("manage", "POST", "/chains/clusters/new", {"name": "Nieuw cluster"},
         lambda: count(Cluster, Cluster.name == "Nieuw cluster")),
        ("manage", "POST", "/chains/new", {"name": "Nieuwe keten", "cluster_id": net.cluster.id},
         lambda: count(ValueChain, ValueChain.name == "Nieuwe keten")),
        ("manage", "POST", f"/chains/{chain.id}/stages", {"name": "Onderhoud"},
         lambda: count(ValueChainStage, ValueChainStage.name == "Onderhoud")),
        ("manage", "POST", f"/chains/{chain.id}/stages/{casco.id}/move", {"direction": "up"},
         lambda: int(casco.position == 1)),
        ("dordrecht", "POST", f"/chains/roles/new?organisation_id={net.dordrecht.id}",
         {"value_chain_id": chain.id, "stage_id": casco.id, "role": "oem"},
         lambda: count(ChainRole, ChainRole.organisation_id == net.dordrecht.id)),
        ("sliedrecht", "POST", f"/chains/roles/new?organisation_id={net.sliedrecht.id}",
         {"value_chain_id": chain.id, "stage_id": casco.id, "role": "tier2"},
         lambda: count(ChainRole, ChainRole.organisation_id == net.sliedrecht.id)),
        ("sliedrecht", "POST", "/chains/roles/new",  # picked in the search box instead
         {"organisation": label(net.sliedrecht2), "value_chain_id": chain.id,
          "stage_id": casco.id, "role": "tier2"},
         lambda: count(ChainRole, ChainRole.organisation_id == net.sliedrecht2.id)),
        ("dordrecht", "POST", "/chains/links/new", link_form(net.sliedrecht, net.dordrecht, chain),
         lambda: count(SupplyLink, SupplyLink.customer_id == net.dordrecht.id)),
        ("sliedrecht", "POST", "/chains/links/new",
         link_form(net.sliedrecht2, net.sliedrecht, chain),
         lambda: count(SupplyLink, SupplyLink.customer_id == net.sliedrecht.id)),
        ("sliedrecht", "POST", f"/chains/links/{theirs.id}/delete", {"version": "1"},
         lambda: count(SupplyLink, SupplyLink.id == theirs.id, SupplyLink.deleted_at.isnot(None))),
        ("sliedrecht", "POST", f"/chains/organisations/{net.sliedrecht.id}/clusters",
         {"cluster_id": net.cluster.id}, lambda: len(_clusters_of(net.sliedrecht))),
        ("dordrecht", "POST", f"/chains/organisations/{net.dordrecht.id}/clusters",
         {"cluster_id": net.cluster.id}, lambda: len(_clusters_of(net.dordrecht))),
    ]
    wrong = []
    for rule, method, url, data, effect in actions:
        allowed = expected(role, rule)
        resp = client.open(url, method=method, data=data)
        db.session.expire_all()
        if (resp.status_code == 302) != allowed or (not allowed and resp.status_code != 403):
            wrong.append(f"{method} {url}: {resp.status_code}, allowed={allowed}")
        if bool(effect()) != allowed:
            wrong.append(f"{method} {url}: saved={bool(effect())}, allowed={allowed}")
    for url in ("/chains/clusters/new", "/chains/new", f"/chains/{chain.id}/edit",
                f"/chains/{chain.id}/delete", f"/chains/clusters/{net.cluster.id}/edit"):
        status = client.get(url).status_code
        if status != (200 if role in MANAGERS else 403):
            wrong.append(f"GET {url}: {status}")
    assert not wrong, "\n".join(wrong)


def _clusters_of(org):
    from sdd_crm.valuechains.models import OrganisationCluster

    return db.session.query(OrganisationCluster).filter_by(organisation_id=org.id).all()


def test_a_local_account_manager_changes_links_that_touch_their_municipality(client, login, net):
    local = net.users["local_account_manager"]
    login(local)
    # Allowed: the customer is in Dordrecht, even though the supplier is not.
    resp = client.post(f"/chains/links/new?customer_id={net.dordrecht.id}&from={net.dordrecht.id}",
                       data=link_form(net.sliedrecht, net.dordrecht, net.chain))
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/organisations/{net.dordrecht.id}#leveringsrelaties")
    link = db.session.query(SupplyLink).filter_by(customer_id=net.dordrecht.id).one()
    # ... and may edit it, but not move it away from Dordrecht altogether.
    resp = client.post(f"/chains/links/{link.id}/edit",
                       data=link_form(net.sliedrecht, net.sliedrecht2, net.chain, version="1"))
    assert resp.status_code == 403
    assert "leverancier of de afnemer mag wijzigen" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(SupplyLink, link.id).customer_id == net.dordrecht.id
    resp = client.post(f"/chains/links/{link.id}/edit",
                       data=link_form(net.sliedrecht, net.dordrecht, None, version="1"))
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(SupplyLink, link.id).value_chain_id is None
    # A link between two Sliedrecht firms is not theirs: no edit page, no delete, no buttons.
    theirs = link_for(net, net.sliedrecht, net.sliedrecht2)
    assert client.get(f"/chains/links/{theirs.id}/edit").status_code == 403
    page = client.get(f"/organisations/{net.sliedrecht.id}").get_data(as_text=True)
    assert f"/chains/links/{link.id}/delete" in page  # the Dordrecht link: theirs to remove
    assert f"/chains/links/{theirs.id}/delete" not in page
    # Joining Baggerbedrijf's account team makes that link theirs as well.
    set_account_team_member(net.sliedrecht2, local, "local", actor=net.users["admin"])
    db.session.commit()
    assert client.get(f"/chains/links/{theirs.id}/edit").status_code == 200
    resp = client.post(f"/chains/links/{theirs.id}/delete",
                       data={"version": "1", "back": str(net.sliedrecht2.id)})
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/organisations/{net.sliedrecht2.id}#leveringsrelaties")


def test_roles_are_removed_only_by_who_may_edit_the_organisation(client, login, net):
    mine = role_for(net, net.dordrecht)
    theirs = role_for(net, net.sliedrecht)
    login(net.users["local_account_manager"])
    assert client.post(f"/chains/roles/{theirs.id}/delete", data={"back": "chain"}).status_code == 403
    resp = client.post(f"/chains/roles/{mine.id}/delete", data={"back": "chain"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/chains/{net.chain.id}#fasen")
    db.session.expire_all()
    assert db.session.get(ChainRole, mine.id).deleted_at is not None
    assert db.session.get(ChainRole, theirs.id).deleted_at is None
    switch_user(client, login, net.users["viewer"])
    page = client.get(f"/chains/{net.chain.id}").get_data(as_text=True)
    assert "Sliedrechtse Schroeven B.V." in page
    assert "/delete" not in page and "Rol toevoegen" not in page and "Fase toevoegen" not in page


@pytest.mark.parametrize("method, path", [
    ("GET", "/chains/"), ("GET", "/chains/{chain}"), ("POST", "/chains/new"),
    ("POST", "/chains/{chain}/stages"), ("POST", "/chains/links/new"), ("GET", "/chains/links/"),
    ("POST", "/chains/roles/new"), ("GET", "/chains/organisations/{org}/clusters"),
])
def test_anonymous_is_sent_to_login(client, net, method, path):
    resp = client.open(path.format(chain=net.chain.id, org=net.dordrecht.id), method=method,
                       data={"name": "x"})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert count(ValueChainStage, ValueChainStage.name == "x") == 0
