"""The value-chain screens: overview, cluster and chain pages, the organisation page's clusters,
roles and supply links (managed from both organisations' pages), stage management, bad input
(Dutch message, form kept, nothing saved) and fixed statement counts."""

from __future__ import annotations

import re

import pytest

from html_helpers import assert_good_markup, field_error, form_fields, input_value, text
from sdd_crm.extensions import db
from sdd_crm.interactions.queries import organisation_choice_label as label
from sdd_crm.valuechains.models import ChainRole, Cluster, OrganisationCluster, SupplyLink, ValueChain, ValueChainStage
from sdd_crm.valuechains.network_services import add_organisation_to_cluster
from valuechains_support import (
    LONG,
    build_net,
    count,
    count_recomputes,
    link_for,
    live_links,
    role_for,
)


@pytest.fixture
def net(make_user, make_org):
    return build_net(make_user, make_org)


@pytest.fixture
def recomputes(monkeypatch):
    return count_recomputes(monkeypatch)


def section(page: str, heading_id: str) -> str:
    """The HTML from a heading with this id up to the next heading of the same or higher level."""
    m = re.search(rf'<h([23])[^>]*id="{heading_id}"', page)
    assert m, heading_id
    rest = page[m.end():]
    end = re.search(rf"<h[2-{m.group(1)}][ >]", rest)
    return rest[:end.start()] if end else rest


@pytest.fixture
def admin(client, login, net):
    login(net.users["admin"])
    return net.users["admin"]


def test_overview_lists_clusters_with_their_chains_and_counts(client, admin, net):
    role_for(net, net.dordrecht)
    role_for(net, net.sliedrecht, role="tier2")
    role_for(net, net.sliedrecht, stage="Ontwerp", role="service_provider")
    link_for(net, net.sliedrecht, net.dordrecht, sole=True)
    resp = client.get("/chains/")
    assert resp.status_code == 200
    assert_good_markup(resp)
    page = text(resp)
    row = re.search(r"Scheepsbouw \(test\)</a></td>(.*?)</tr>", page, re.S).group(1)
    assert re.findall(r">\s*(\d+)\s*<", row) == ["3", "2", "1"]  # stages, organisations, links
    assert "Waterstof (test)" in page and "Maritiem (test)" in page


def test_the_chain_page_shows_stages_in_order_with_roles_and_the_links(client, admin, net):
    role_for(net, net.dordrecht, stage="Afbouw", role="oem")
    role_for(net, net.sliedrecht, stage="Casco", role="tier1")
    link_for(net, net.sliedrecht, net.dordrecht, sole=True, supplied="scheepsschroeven")
    link_for(net, net.sliedrecht2, net.dordrecht, supplied="baggerwerk")
    resp = client.get(f"/chains/{net.chain.id}")
    assert resp.status_code == 200
    assert_good_markup(resp)
    page = text(resp)
    headings = re.findall(r'<h3 class="utrecht-heading-3" id="fase-\d+">(.*?)</h3>', page)
    assert headings == ["1. Ontwerp", "2. Casco", "3. Afbouw"]
    casco = section(page, f"fase-{net.stage('Casco').id}")
    assert "Sliedrechtse Schroeven B.V." in casco and "Tier-1-toeleverancier" in casco
    assert "Dordtse Werf B.V." in section(page, f"fase-{net.stage('Afbouw').id}")
    assert "OEM / systeemintegrator" in page
    assert "Nog geen organisatie met een rol in deze fase." in section(page, f"fase-{net.stage('Ontwerp').id}")
    links = section(page, "leveringsrelaties")
    rows = re.findall(r"<tr class=\"utrecht-table__row\">(.*?)</tr>", links, re.S)[1:]
    assert len(rows) == 2
    sole = next(r for r in rows if "scheepsschroeven" in r)
    assert "ja, geen alternatief" in sole and "ja, geen alternatief" not in next(
        r for r in rows if "baggerwerk" in r)
    assert f'href="/chains/{net.chain.id}/network"' in page  # the picture and the gaps are one click away


def test_the_organisation_page_shows_clusters_roles_and_links_in_both_directions(client, admin, net):
    add_organisation_to_cluster(net.dordrecht, net.cluster.id, actor=admin)
    role_for(net, net.dordrecht, stage="Afbouw", role="oem")
    link_for(net, net.sliedrecht, net.dordrecht, sole=True, supplied="scheepsschroeven")
    link_for(net, net.dordrecht, net.sliedrecht2, supplied="onderhoud", chain=False)
    resp = client.get(f"/organisations/{net.dordrecht.id}")
    assert resp.status_code == 200
    assert_good_markup(resp)
    page = text(resp)
    clusters = section(page, "clusters")
    assert "Maritiem (test)" in clusters and "primair" in clusters
    roles = section(page, "ketenrollen")
    assert "Scheepsbouw (test)" in roles and "Afbouw" in roles and "OEM / systeemintegrator" in roles
    supplies = section(page, "levert-aan")
    buys = section(page, "afnemer-van")
    assert "Baggerbedrijf Sliedrecht B.V." in supplies and "onderhoud" in supplies
    assert "Sliedrechtse Schroeven" not in supplies
    assert "Sliedrechtse Schroeven B.V." in buys and "ja, geen alternatief" in buys
    # The supplier's page shows the same link the other way round.
    other = text(client.get(f"/organisations/{net.sliedrecht.id}"))
    assert "Dordtse Werf B.V." in section(other, "levert-aan")


def test_a_link_is_added_from_the_suppliers_page_and_removed_from_the_customers(client, admin, net, recomputes):
    supplier, customer = net.sliedrecht, net.dordrecht
    page = text(client.get(f"/organisations/{supplier.id}"))
    add = re.search(r'href="(/chains/links/new\?supplier_id=[^"]+)">Afnemer toevoegen', page).group(1)
    form = client.get(add.replace("&amp;", "&"))
    assert form.status_code == 200
    assert_good_markup(form)
    assert input_value(form, "supplier") == label(supplier)
    data = form_fields(form, "/chains/links/new")
    data.update(customer=customer.name, value_chain_id=str(net.chain.id), supplied="schroeven",
                sole_source="y")
    resp = client.post(add.replace("&amp;", "&"), data=data)
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/organisations/{supplier.id}#leveringsrelaties")
    link = db.session.query(SupplyLink).one()
    assert (link.supplier_id, link.customer_id, link.sole_source, link.supplied) == (
        supplier.id, customer.id, True, "schroeven")
    page = text(client.get(f"/organisations/{customer.id}"))
    buys = section(page, "afnemer-van")
    assert "Sliedrechtse Schroeven B.V." in buys
    remove = form_fields(client.get(f"/organisations/{customer.id}"), f"/chains/links/{link.id}/delete")
    assert remove["back"] == str(customer.id) and remove["version"] == "1"
    resp = client.post(f"/chains/links/{link.id}/delete", data=remove)
    assert resp.headers["Location"].endswith(f"/organisations/{customer.id}#leveringsrelaties")
    assert live_links() == 0
    assert "Geen leveranciers vastgelegd." in text(client.get(resp.headers["Location"]))
    assert recomputes == ["supply_link", "supply_link"]


def test_a_link_is_added_from_the_customers_page(client, admin, net):
    url = f"/chains/links/new?customer_id={net.dordrecht.id}&from={net.dordrecht.id}"
    form = client.get(url)
    assert input_value(form, "customer") == label(net.dordrecht) and input_value(form, "supplier") == ""
    data = form_fields(form, "/chains/links/new") | {"supplier": "Schroeven"}  # part of a name
    resp = client.post(url, data=data)
    assert resp.status_code == 302
    assert db.session.query(SupplyLink).one().supplier_id == net.sliedrecht.id


def test_a_link_is_edited(client, admin, net):
    link = link_for(net, net.sliedrecht, net.dordrecht, sole=True)
    url = f"/chains/links/{link.id}/edit?from={net.dordrecht.id}"
    form = client.get(url)
    data = form_fields(form, f"/chains/links/{link.id}/edit")
    assert data["sole_source"] == "y" and data["version"] == "1"
    data.pop("sole_source")
    data["value_chain_id"] = str(net.other.id)
    resp = client.post(url, data=data)
    assert resp.status_code == 302
    db.session.expire_all()
    stored = db.session.get(SupplyLink, link.id)
    assert (stored.sole_source, stored.value_chain_id, stored.version) == (False, net.other.id, 2)
    stale = client.post(url, data=data | {"supplied": "ander"})
    assert stale.status_code == 409
    assert "Iemand anders heeft dit intussen gewijzigd." in text(stale)
    assert input_value(stale, "supplied") == "ander"


LINK_CASES = [
    ("self", {"customer": "SUPPLIER"}, "customer", "Een organisatie kan niet aan zichzelf leveren."),
    ("long", {"supplied": LONG}, "supplied", "Hoogstens 500 tekens."),
    ("unknown", {"customer": "Bestaat Niet B.V."}, "customer",
     "Geen organisatie gevonden met deze naam of dit KvK-nummer."),
    ("empty", {"customer": ""}, "customer", "Kies de afnemer: een bestaande organisatie."),
    ("chain", {"value_chain_id": "999999"}, "value_chain_id", "Kies een bestaande waardeketen, of geen."),
]


@pytest.mark.parametrize("case, changes, field, message", LINK_CASES, ids=[c[0] for c in LINK_CASES])
def test_bad_links_are_refused_with_the_form_kept(client, admin, net, recomputes, case, changes, field, message):
    data = {"supplier": label(net.sliedrecht), "customer": label(net.dordrecht),
            "value_chain_id": str(net.chain.id), "supplied": "staal", "sole_source": "y"}
    data.update({k: (label(net.sliedrecht) if v == "SUPPLIER" else v) for k, v in changes.items()})
    resp = client.post("/chains/links/new", data=data)
    assert resp.status_code == 422
    assert field_error(resp, field) == message
    assert "Het formulier is niet opgeslagen." in text(resp)
    assert input_value(resp, "supplier") == label(net.sliedrecht)
    assert count(SupplyLink) == 0 and recomputes == []


def test_a_duplicate_link_is_refused(client, admin, net):
    link_for(net, net.sliedrecht, net.dordrecht)
    resp = client.post("/chains/links/new", data={
        "supplier": label(net.sliedrecht), "customer": label(net.dordrecht),
        "value_chain_id": str(net.chain.id), "supplied": "nog eens"})
    assert resp.status_code == 422
    assert "Deze leveringsrelatie bestaat al (zelfde leverancier, afnemer en waardeketen)." in text(resp)
    assert count(SupplyLink) == 1


@pytest.mark.parametrize("changes, field, message", [
    ({"stage_id": "OTHER"}, "stage_id", "Kies een fase van deze waardeketen."),
    ({"role": "ceo"}, "role", "Kies een geldige rol in de keten."),
    ({"role": ""}, "role", "Kies een geldige rol in de keten."),
    ({"value_chain_id": "999999"}, "value_chain_id", "Kies een bestaande waardeketen."),
])
def test_bad_roles_are_refused_with_the_form_kept(client, admin, net, recomputes, changes, field, message):
    url = f"/chains/roles/new?organisation_id={net.dordrecht.id}"
    data = {"value_chain_id": str(net.chain.id), "stage_id": str(net.stage("Casco").id), "role": "oem"}
    data.update({k: (str(net.other.stages[0].id) if v == "OTHER" else v) for k, v in changes.items()})
    resp = client.post(url, data=data)
    assert resp.status_code == 422
    assert field_error(resp, field) == message
    assert count(ChainRole) == 0 and recomputes == []


def test_a_role_is_added_from_the_organisation_page(client, admin, net, recomputes):
    page = text(client.get(f"/organisations/{net.dordrecht.id}"))
    assert f'href="/chains/roles/new?organisation_id={net.dordrecht.id}"' in page
    form = client.get(f"/chains/roles/new?organisation_id={net.dordrecht.id}")
    assert_good_markup(form)
    assert "Scheepsbouw (test) › 2. Casco" in text(form)
    resp = client.post(f"/chains/roles/new?organisation_id={net.dordrecht.id}", data={
        "value_chain_id": str(net.chain.id), "stage_id": str(net.stage("Casco").id), "role": "tier1"})
    assert resp.headers["Location"].endswith(f"/organisations/{net.dordrecht.id}#ketenrollen")
    role = db.session.query(ChainRole).one()
    assert (role.organisation_id, role.stage_id, role.role) == (net.dordrecht.id, net.stage("Casco").id, "tier1")
    again = client.post(f"/chains/roles/new?organisation_id={net.dordrecht.id}", data={
        "value_chain_id": str(net.chain.id), "stage_id": str(net.stage("Casco").id), "role": "tier1"})
    assert again.status_code == 422
    assert "Deze organisatie heeft deze rol al in deze fase van de keten." in text(again)
    remove = form_fields(client.get(f"/organisations/{net.dordrecht.id}"), f"/chains/roles/{role.id}/delete")
    assert client.post(f"/chains/roles/{role.id}/delete", data=remove).status_code == 302
    assert "Nog geen rol in een waardeketen vastgelegd." in text(client.get(f"/organisations/{net.dordrecht.id}"))
    assert recomputes == ["chain_role", "chain_role"]


@pytest.mark.parametrize("url, data, field, message", [
    ("/chains/clusters/new", {"name": LONG}, "name", "Hoogstens 100 tekens."),
    ("/chains/clusters/new", {"name": "maritiem (TEST)"}, "name", "Er bestaat al een cluster met deze naam."),
    ("/chains/clusters/new", {"name": ""}, "name", "Vul de naam van het cluster in."),
    ("/chains/new", {"name": LONG, "cluster_id": "CLUSTER"}, "name", "Hoogstens 100 tekens."),
    ("/chains/new", {"name": "Nieuw", "cluster_id": "999999"}, "cluster_id", "Kies een bestaand cluster."),
    ("/chains/new", {"name": "Nieuw", "cluster_id": "CLUSTER", "stages": "A\na"}, "stages",
     "Twee fasen hebben dezelfde naam: a."),
    ("/chains/new", {"name": "Nieuw", "cluster_id": "CLUSTER", "stages": "A\n" + "b" * 101}, "stages",
     "Elke fase heeft een naam van hoogstens 100 tekens."),
    ("/chains/CHAIN/stages", {"name": LONG}, "name", "Hoogstens 100 tekens."),
    ("/chains/CHAIN/stages", {"name": "CASCO"}, "name", "Deze waardeketen heeft al een fase met deze naam."),
    ("/chains/CHAIN/stages/STAGE/edit", {"name": LONG}, "name", "Hoogstens 100 tekens."),
    ("/chains/CHAIN/stages/STAGE/edit", {"name": "afbouw"}, "name",
     "Deze waardeketen heeft al een fase met deze naam."),
    ("/chains/clusters/CLUSTER/edit", {"name": LONG, "version": "1"}, "name", "Hoogstens 100 tekens."),
    ("/chains/CHAIN/edit", {"name": "Waterstof (test)", "cluster_id": "CLUSTER", "version": "1"},
     "name", "Er bestaat al een waardeketen met deze naam."),
])
def test_bad_clusters_chains_and_stages_are_refused(client, admin, net, recomputes, url, data, field, message):
    url = (url.replace("CHAIN", str(net.chain.id)).replace("STAGE", str(net.stage("Casco").id))
           .replace("CLUSTER", str(net.cluster.id)))
    data = {k: (str(net.cluster.id) if v == "CLUSTER" else v) for k, v in data.items()}
    before = count(Cluster), count(ValueChain), count(ValueChainStage)
    resp = client.post(url, data=data)
    assert resp.status_code == 422
    assert field_error(resp, field) == message
    assert (count(Cluster), count(ValueChain), count(ValueChainStage)) == before
    db.session.expire_all()
    assert [s.name for s in db.session.get(ValueChain, net.chain.id).stages] == ["Ontwerp", "Casco", "Afbouw"]
    assert db.session.get(ValueChain, net.chain.id).name == "Scheepsbouw (test)"
    assert db.session.get(Cluster, net.cluster.id).name == "Maritiem (test)"
    assert recomputes == []


def test_a_chain_is_created_with_stages_and_they_are_managed_on_its_page(client, admin, net):
    resp = client.post("/chains/new", data={"name": "Warmtenet", "cluster_id": str(net.cluster.id),
                                            "stages": "Bron\r\nTransport\r\nLevering"})
    chain = db.session.query(ValueChain).filter_by(name="Warmtenet").one()
    assert resp.headers["Location"].endswith(f"/chains/{chain.id}")
    page = client.get(f"/chains/{chain.id}")
    assert_good_markup(page)
    stage = {s.name: s for s in chain.stages}
    assert client.post(f"/chains/{chain.id}/stages", data={"name": "Beheer"}).status_code == 302
    assert client.post(f"/chains/{chain.id}/stages/{stage['Levering'].id}/move",
                       data={"direction": "up"}).status_code == 302
    resp = client.post(f"/chains/{chain.id}/stages/{stage['Bron'].id}/edit", data={"name": "Bronnen"})
    assert resp.status_code == 302
    page = text(client.get(f"/chains/{chain.id}"))
    assert re.findall(r'id="fase-\d+">(.*?)</h3>', page) == [
        "1. Bronnen", "2. Levering", "3. Transport", "4. Beheer"]
    top = client.post(f"/chains/{chain.id}/stages/{stage['Bron'].id}/move", data={"direction": "up"})
    assert top.status_code == 422 and "Deze fase staat al helemaal bovenaan." in text(top)
    role_for(net, net.dordrecht, stage="Transport", chain=chain)
    used = client.post(f"/chains/{chain.id}/stages/{stage['Transport'].id}/delete")
    assert used.status_code == 422
    assert ("Deze fase kan niet worden verwijderd: 1 organisatie heeft hier een rol. Verwijder of "
            "verplaats die rol eerst.") in text(used)
    assert client.post(f"/chains/{chain.id}/stages/{stage['Levering'].id}/delete").status_code == 302
    page = text(client.get(f"/chains/{chain.id}"))
    assert re.findall(r'id="fase-\d+">(.*?)</h3>', page) == ["1. Bronnen", "2. Transport", "3. Beheer"]


def test_edits_with_a_stale_version_are_refused_and_kept(client, admin, net):
    form = form_fields(client.get(f"/chains/{net.chain.id}/edit"), f"/chains/{net.chain.id}/edit")
    assert form["version"] == "1"
    assert client.post(f"/chains/{net.chain.id}/edit", data=form | {"description": "Eerst"}).status_code == 302
    resp = client.post(f"/chains/{net.chain.id}/edit", data=form | {"description": "Later"})
    assert resp.status_code == 409
    assert "Later" in text(resp)
    db.session.expire_all()
    assert db.session.get(ValueChain, net.chain.id).description == "Eerst"
    form = form_fields(client.get(f"/chains/clusters/{net.cluster.id}/edit"), "/edit")
    client.post(f"/chains/clusters/{net.cluster.id}/edit", data=form | {"name": "Maritiem 2"})
    resp = client.post(f"/chains/clusters/{net.cluster.id}/edit", data=form | {"name": "Maritiem 3"})
    assert resp.status_code == 409
    db.session.expire_all()
    assert db.session.get(Cluster, net.cluster.id).name == "Maritiem 2"


def test_deleting_a_cluster_or_chain_in_use_is_refused_with_a_reason(client, admin, net):
    resp = client.post(f"/chains/clusters/{net.cluster.id}/delete", data={"version": "1"})
    assert resp.status_code == 422
    assert "Dit cluster heeft nog 2 waardeketens" in text(resp)
    link_for(net, net.sliedrecht, net.dordrecht)
    resp = client.post(f"/chains/{net.chain.id}/delete", data={"version": "1"})
    assert resp.status_code == 422 and "0 rollen, 1 leveringsrelaties" in text(resp)
    resp = client.post(f"/chains/{net.other.id}/delete", data={"version": "1"})
    assert resp.status_code == 302
    assert client.get(f"/chains/{net.other.id}").status_code == 404
    assert "Waterstof (test)" not in text(client.get("/chains/"))


def test_cluster_membership_is_managed_with_one_primary(client, admin, net):
    energy = Cluster(name="Energie (test)")
    db.session.add(energy)
    db.session.commit()
    url = f"/chains/organisations/{net.dordrecht.id}/clusters"
    page = client.get(url)
    assert_good_markup(page)
    assert client.post(url, data={"cluster_id": str(net.cluster.id)}).status_code == 302
    assert client.post(url, data={"cluster_id": str(energy.id)}).status_code == 302
    again = client.post(url, data={"cluster_id": str(energy.id)})
    assert again.status_code == 422
    assert field_error(again, "cluster_id") == "Deze organisatie hoort al bij dit cluster."

    def primary():
        db.session.expire_all()
        return [m.cluster_id for m in db.session.query(OrganisationCluster).filter_by(
            organisation_id=net.dordrecht.id, is_primary=True)]

    assert primary() == [net.cluster.id]
    swap = form_fields(client.get(url), "/clusters/primary")
    assert swap["cluster_id"] == str(energy.id)
    assert client.post(f"{url}/primary", data=swap).status_code == 302
    assert primary() == [energy.id]
    org_page = text(client.get(f"/organisations/{net.dordrecht.id}"))
    assert re.search(r"Energie \(test\)</a> <span[^>]*>primair", section(org_page, "clusters"))
    assert client.post(f"{url}/remove", data={"cluster_id": str(energy.id)}).status_code == 302
    assert primary() == [net.cluster.id]
    gone = client.post(f"{url}/remove", data={"cluster_id": str(energy.id)})
    assert gone.status_code == 422 and "Deze organisatie hoort niet bij dit cluster." in text(gone)


def _grow(net, make_org, n: int):
    """``n`` more suppliers of Dordtse Werf, each with a role in the chain."""
    admin = net.users["admin"]
    for i in range(n):
        org = make_org(actor=admin, name=f"Toeleverancier {i:02d} B.V.", city="Zwijndrecht")
        role_for(net, org, stage="Ontwerp", role="tier2")
        link_for(net, org, net.dordrecht, sole=i % 2 == 0)
    db.session.expire_all()


@pytest.mark.parametrize("role", ["admin", "local_account_manager"])
def test_statement_counts_do_not_grow_with_the_network(client, login, net, make_org, count_queries, role):
    login(net.users[role])
    urls = [f"/chains/{net.chain.id}", f"/chains/links/?organisation_id={net.dordrecht.id}",
            f"/organisations/{net.dordrecht.id}", "/chains/", f"/chains/clusters/{net.cluster.id}"]
    _grow(net, make_org, 3)
    few = {}
    for url in urls:
        with count_queries() as q:
            assert client.get(url).status_code == 200
        few[url] = q.count
    _grow(net, make_org, 27)
    for url in urls:
        with count_queries() as q:
            assert client.get(url).status_code == 200
        assert q.count == few[url], (url, few[url], q.statements)
    # 30 links: 25 on the chain page's first page of links, the other 5 on its second.
    shown = 0
    for number in (1, 2):
        page = text(client.get(f"/chains/{net.chain.id}?page={number}"))
        shown += len(re.findall(r"Toeleverancier \d\d B\.V\.</a>", section(page, "leveringsrelaties")))
    assert shown == 30
