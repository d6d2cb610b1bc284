"""The rules of clusters, membership, chains, stages, roles and supply links (the services that
both the browser screens and the API call): Dutch messages, nothing saved on refusal, audit,
versions, and a criticality recompute scheduled after every change to the network."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sdd_crm.audit.models import AuditEvent
from sdd_crm.extensions import db
from sdd_crm.organisations.services import delete_organisation
from sdd_crm.exceptions import ConflictError, ValidationError
from sdd_crm.valuechains import services as vc
from sdd_crm.valuechains import network_services as ns
from sdd_crm.valuechains.models import (
    ChainRole,
    Cluster,
    OrganisationCluster,
    SupplyLink,
    ValueChain,
    ValueChainStage,
)
from valuechains_support import (
    LONG,
    build_net,
    count,
    count_recomputes,
    link_for,
    live_links,
    live_roles,
    role_for,
)


@pytest.fixture
def net(make_user, make_org):
    return build_net(make_user, make_org)


@pytest.fixture
def recomputes(monkeypatch):
    return count_recomputes(monkeypatch)


def refused(fn, *args, **kwargs) -> dict:
    with pytest.raises(ValidationError) as info:
        fn(*args, **kwargs)
    db.session.rollback()
    return info.value.errors


def stage_names(chain) -> list[str]:
    db.session.expire_all()
    stages = db.session.scalars(sa.select(ValueChainStage).where(
        ValueChainStage.value_chain_id == chain.id).order_by(ValueChainStage.position)).all()
    assert [s.position for s in stages] == list(range(1, len(stages) + 1))
    return [s.name for s in stages]


# --- Clusters ----------------------------------------------------------------------------------

def test_cluster_names_are_required_short_and_unique(net):
    admin = net.users["admin"]
    before = count(Cluster)
    assert refused(vc.create_cluster, {"name": ""}, actor=admin) == {
        "name": "Vul de naam van het cluster in."}
    assert refused(vc.create_cluster, {"name": LONG}, actor=admin) == {"name": "Hoogstens 100 tekens."}
    assert refused(vc.create_cluster, {"name": "MARITIEM (TEST)"}, actor=admin) == {
        "name": "Er bestaat al een cluster met deze naam."}
    assert refused(vc.create_cluster, {"name": "Nieuw", "description": LONG}, actor=admin) == {
        "description": "Hoogstens 2000 tekens."}
    assert refused(vc.create_cluster, {"name": "Nieuw", "colour": "rood"}, actor=admin) == {
        "colour": "Onbekend veld."}
    assert count(Cluster) == before


def test_cluster_update_is_versioned_and_audited(net):
    admin = net.users["admin"]
    cluster = net.cluster
    vc.update_cluster(cluster, {"name": "Maritiem & offshore"}, actor=admin,
                      expected_version=1, partial=True)
    db.session.commit()
    assert cluster.version == 2 and cluster.description == "Schepen"
    with pytest.raises(ConflictError):
        vc.update_cluster(cluster, {"name": "Oud"}, actor=admin, expected_version=1, partial=True)
    db.session.rollback()
    event = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "cluster", AuditEvent.entity_id == str(cluster.id),
        AuditEvent.action == "update")).one()
    assert event.changes == {"name": ["Maritiem (test)", "Maritiem & offshore"]}


def test_a_cluster_with_chains_cannot_be_deleted_and_a_deleted_name_stays_taken(net):
    admin = net.users["admin"]
    assert refused(vc.delete_cluster, net.cluster, actor=admin) == {"_": (
        "Dit cluster heeft nog 2 waardeketens; verwijder die eerst of verplaats ze naar een "
        "ander cluster.")}
    empty = vc.create_cluster({"name": "Leeg cluster"}, actor=admin)
    vc.delete_cluster(empty, actor=admin)
    db.session.commit()
    assert empty.deleted_at is not None and empty.deleted_by_id == admin.id
    assert refused(vc.create_cluster, {"name": "leeg cluster"}, actor=admin) == {
        "name": "Deze naam hoort bij een verwijderd cluster; een beheerder kan het herstellen."}
    assert refused(vc.create_value_chain, {"name": "X", "cluster_id": empty.id}, actor=admin) == {
        "cluster_id": "Kies een bestaand cluster."}
    vc.restore_cluster(empty, actor=admin)
    assert empty.deleted_at is None


# --- Membership -------------------------------------------------------------------------------

def primaries(org) -> list[str]:
    db.session.expire_all()
    return [m.cluster.name for m in db.session.scalars(sa.select(OrganisationCluster).where(
        OrganisationCluster.organisation_id == org.id, OrganisationCluster.is_primary))]


def test_the_first_cluster_is_primary_and_set_primary_swaps(net):
    admin, org = net.users["admin"], net.dordrecht
    energy = vc.create_cluster({"name": "Energie (test)"}, actor=admin)
    ns.add_organisation_to_cluster(org, net.cluster.id, actor=admin)
    ns.add_organisation_to_cluster(org, energy.id, actor=admin)
    db.session.commit()
    assert primaries(org) == ["Maritiem (test)"]
    ns.set_primary_cluster(org, energy.id, actor=admin)
    db.session.commit()
    assert primaries(org) == ["Energie (test)"]
    assert refused(ns.add_organisation_to_cluster, org, energy.id, actor=admin) == {
        "cluster_id": "Deze organisatie hoort al bij dit cluster."}
    assert refused(ns.add_organisation_to_cluster, org, 999999, actor=admin) == {
        "cluster_id": "Kies een bestaand cluster."}
    assert refused(ns.set_primary_cluster, net.sliedrecht, energy.id, actor=admin) == {
        "cluster_id": "Deze organisatie hoort niet bij dit cluster."}
    # Removing the primary one hands the role to the remaining cluster.
    ns.remove_organisation_from_cluster(org, energy.id, actor=admin)
    db.session.commit()
    assert primaries(org) == ["Maritiem (test)"]
    assert count(OrganisationCluster, OrganisationCluster.organisation_id == org.id) == 1


def test_adding_as_primary_replaces_the_primary(net):
    admin, org = net.users["admin"], net.sliedrecht
    energy = vc.create_cluster({"name": "Energie (test)"}, actor=admin)
    ns.add_organisation_to_cluster(org, net.cluster.id, actor=admin)
    ns.add_organisation_to_cluster(org, energy.id, actor=admin, primary=True)
    db.session.commit()
    assert primaries(org) == ["Energie (test)"]


# --- Chains and stages ------------------------------------------------------------------------

def test_a_chain_is_created_with_its_stages_in_order(net, recomputes):
    chain = vc.create_value_chain({"name": "Warmtenet", "cluster_id": net.cluster.id,
                                   "stages": "Bron\nTransport\n\nLevering\n"}, actor=net.users["admin"])
    db.session.commit()
    assert stage_names(chain) == ["Bron", "Transport", "Levering"]
    assert recomputes == ["stages"]


@pytest.mark.parametrize("data, errors", [
    ({"name": "", "cluster_id": None}, {"name": "Vul de naam van de waardeketen in.",
                                        "cluster_id": "Kies een bestaand cluster."}),
    ({"name": LONG, "cluster_id": "CLUSTER"}, {"name": "Hoogstens 100 tekens."}),
    ({"name": "scheepsbouw (TEST)", "cluster_id": "CLUSTER"},
     {"name": "Er bestaat al een waardeketen met deze naam."}),
    ({"name": "Nieuw", "cluster_id": "abc"}, {"cluster_id": "Kies een bestaand cluster."}),
    ({"name": "Nieuw", "cluster_id": "CLUSTER", "stages": ["A", "a"]},
     {"stages": "Twee fasen hebben dezelfde naam: a."}),
    ({"name": "Nieuw", "cluster_id": "CLUSTER", "stages": ["A", LONG]},
     {"stages": "Elke fase heeft een naam van hoogstens 100 tekens."}),
    ({"name": "Nieuw", "cluster_id": "CLUSTER", "stages": [str(i) for i in range(31)]},
     {"stages": "Hoogstens 30 fasen."}),
])
def test_bad_chains_are_refused(net, data, errors):
    data = {k: (net.cluster.id if v == "CLUSTER" else v) for k, v in data.items()}
    before = count(ValueChain), count(ValueChainStage)
    assert refused(vc.create_value_chain, data, actor=net.users["admin"]) == errors
    assert (count(ValueChain), count(ValueChainStage)) == before


def test_stages_are_added_moved_renamed_and_deleted_in_order(net, recomputes):
    admin, chain = net.users["admin"], net.chain
    vc.add_stage(chain, "Onderhoud", actor=admin)
    vc.add_stage(chain, "Engineering", actor=admin, position=2)
    db.session.commit()
    assert stage_names(chain) == ["Ontwerp", "Engineering", "Casco", "Afbouw", "Onderhoud"]
    vc.move_stage(net.stage("Onderhoud"), actor=admin, direction="up")
    vc.move_stage(net.stage("Ontwerp"), actor=admin, direction="down")
    db.session.commit()
    assert stage_names(chain) == ["Engineering", "Ontwerp", "Casco", "Onderhoud", "Afbouw"]
    vc.move_stage(net.stage("Afbouw"), actor=admin, position=1)
    vc.rename_stage(net.stage("Casco"), "Casco & romp", actor=admin)
    db.session.commit()
    assert stage_names(chain) == ["Afbouw", "Engineering", "Ontwerp", "Casco & romp", "Onderhoud"]
    vc.delete_stage(net.stage("Engineering"), actor=admin)
    db.session.commit()
    assert stage_names(chain) == ["Afbouw", "Ontwerp", "Casco & romp", "Onderhoud"]
    assert recomputes == ["stage"] * 7
    moves = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "value_chain_stage", AuditEvent.action == "update")).all()
    # The temporary parking place of a moving stage never reaches the audit log.
    assert moves and all(all(v >= 1 for v in e.changes.get("position", [1])) for e in moves)


def test_bad_stage_changes_are_refused_in_dutch(net, recomputes):
    admin, chain = net.users["admin"], net.chain
    assert refused(vc.add_stage, chain, "casco", actor=admin) == {
        "name": "Deze waardeketen heeft al een fase met deze naam."}
    assert refused(vc.add_stage, chain, LONG, actor=admin) == {"name": "Hoogstens 100 tekens."}
    assert refused(vc.add_stage, chain, "  ", actor=admin) == {"name": "Vul de naam van de fase in."}
    assert refused(vc.add_stage, chain, "Nieuw", actor=admin, position=9) == {
        "position": "Kies een positie van 1 tot en met 4."}
    assert refused(vc.move_stage, net.stage("Ontwerp"), actor=admin, direction="up") == {
        "_": "Deze fase staat al helemaal bovenaan."}
    assert refused(vc.move_stage, net.stage("Afbouw"), actor=admin, direction="down") == {
        "_": "Deze fase staat al helemaal onderaan."}
    assert refused(vc.rename_stage, net.stage("Ontwerp"), "Afbouw", actor=admin) == {
        "name": "Deze waardeketen heeft al een fase met deze naam."}
    assert stage_names(chain) == ["Ontwerp", "Casco", "Afbouw"]
    assert recomputes == []


def test_a_stage_in_use_cannot_be_deleted(net):
    admin = net.users["admin"]
    role_for(net, net.dordrecht, stage="Casco")
    role_for(net, net.sliedrecht, stage="Casco", role="tier2")
    assert refused(vc.delete_stage, net.stage("Casco"), actor=admin) == {"_": (
        "Deze fase kan niet worden verwijderd: 2 organisaties hebben hier een rol. Verwijder of "
        "verplaats die rollen eerst.")}
    assert stage_names(net.chain) == ["Ontwerp", "Casco", "Afbouw"]


def test_a_stage_used_only_by_deleted_roles_can_be_deleted(net):
    admin = net.users["admin"]
    role = role_for(net, net.dordrecht, stage="Afbouw")
    ns.delete_chain_role(role, actor=admin)
    gone = role_for(net, net.sliedrecht, stage="Afbouw")
    delete_organisation(net.sliedrecht, actor=admin)
    db.session.commit()
    vc.delete_stage(net.stage("Afbouw"), actor=admin)
    db.session.commit()
    assert stage_names(net.chain) == ["Ontwerp", "Casco"]
    db.session.expire_all()
    assert db.session.get(ChainRole, role.id).stage_id is None
    assert db.session.get(ChainRole, gone.id).stage_id is None


def test_a_chain_in_use_cannot_be_deleted(net):
    admin = net.users["admin"]
    link_for(net, net.sliedrecht, net.dordrecht)
    assert refused(vc.delete_value_chain, net.chain, actor=admin) == {"_": (
        "Deze waardeketen is nog in gebruik (0 rollen, 1 leveringsrelaties). Verwijder die eerst, "
        "of verplaats de leveringsrelaties naar een andere keten.")}
    vc.delete_value_chain(net.other, actor=admin, expected_version=1)
    db.session.commit()
    assert net.other.deleted_at is not None
    assert refused(ns.create_supply_link, {"supplier_id": net.sliedrecht.id,
                                           "customer_id": net.dordrecht.id,
                                           "value_chain_id": net.other.id}, actor=admin) == {
        "value_chain_id": "Kies een bestaande waardeketen, of geen."}


# --- Roles -------------------------------------------------------------------------------------

def role_data(net, **changes):
    data = {"organisation_id": net.dordrecht.id, "value_chain_id": net.chain.id,
            "stage_id": net.stage("Casco").id, "role": "oem"}
    return data | changes


@pytest.mark.parametrize("changes, errors", [
    ({"stage_id": "OTHER"}, {"stage_id": "Kies een fase van deze waardeketen."}),
    ({"stage_id": None}, {"stage_id": "Kies een fase van deze waardeketen."}),
    ({"stage_id": 999999}, {"stage_id": "Kies een fase van deze waardeketen."}),
    ({"role": "ceo"}, {"role": "Kies een geldige rol in de keten."}),
    ({"role": None}, {"role": "Kies een geldige rol in de keten."}),
    ({"organisation_id": 999999}, {"organisation_id": "Kies een bestaande organisatie."}),
    ({"value_chain_id": "x"}, {"value_chain_id": "Kies een bestaande waardeketen."}),
    ({"colour": 1}, {"colour": "Onbekend veld."}),
])
def test_bad_roles_are_refused_and_nothing_is_saved(net, recomputes, changes, errors):
    if changes.get("stage_id") == "OTHER":
        changes["stage_id"] = net.other.stages[0].id
    assert refused(ns.add_chain_role, role_data(net, **changes), actor=net.users["admin"]) == errors
    assert live_roles() == 0 and recomputes == []


def test_a_role_is_not_recorded_twice_but_may_be_again_after_deletion(net, recomputes):
    admin = net.users["admin"]
    role = ns.add_chain_role(role_data(net), actor=admin)
    db.session.commit()
    assert refused(ns.add_chain_role, role_data(net), actor=admin) == {
        "_": "Deze organisatie heeft deze rol al in deze fase van de keten."}
    ns.add_chain_role(role_data(net, role="tier1"), actor=admin)  # another role at the stage: fine
    ns.delete_chain_role(role, actor=admin)
    ns.add_chain_role(role_data(net), actor=admin)
    db.session.commit()
    assert live_roles() == 2 and count(ChainRole) == 3
    assert recomputes == ["chain_role"] * 4


def test_a_chain_without_stages_takes_a_role_without_stage(net):
    admin = net.users["admin"]
    bare = vc.create_value_chain({"name": "Kaal", "cluster_id": net.cluster.id}, actor=admin)
    role = ns.add_chain_role({"organisation_id": net.dordrecht.id, "value_chain_id": bare.id,
                              "stage_id": "", "role": "customer"}, actor=admin)
    assert role.stage_id is None


# --- Supply links -------------------------------------------------------------------------------

def link_data(net, **changes):
    data = {"supplier_id": net.sliedrecht.id, "customer_id": net.dordrecht.id,
            "value_chain_id": net.chain.id, "supplied": "scheepsschroeven", "sole_source": True}
    return data | changes


@pytest.mark.parametrize("changes, errors", [
    ({"customer_id": "SUPPLIER"}, {"customer_id": "Een organisatie kan niet aan zichzelf leveren."}),
    ({"supplier_id": None}, {"supplier_id": "Kies de leverancier: een bestaande organisatie."}),
    ({"customer_id": 999999}, {"customer_id": "Kies de afnemer: een bestaande organisatie."}),
    ({"value_chain_id": 999999}, {"value_chain_id": "Kies een bestaande waardeketen, of geen."}),
    ({"supplied": LONG}, {"supplied": "Hoogstens 500 tekens."}),
    ({"supplied": "a\x00b"}, {"supplied": "De tekst bevat ongeldige tekens."}),
    ({"sole_source": "misschien"}, {"sole_source": "Kies ja of nee."}),
    ({"version": 3, "weight": 2}, {"weight": "Onbekend veld."}),
])
def test_bad_links_are_refused_and_nothing_is_saved(net, recomputes, changes, errors):
    changes = {k: (net.sliedrecht.id if v == "SUPPLIER" else v) for k, v in changes.items()}
    assert refused(ns.create_supply_link, link_data(net, **changes), actor=net.users["admin"]) == errors
    assert count(SupplyLink) == 0 and recomputes == []


def test_no_duplicate_live_link_for_the_same_supplier_customer_and_chain(net):
    admin = net.users["admin"]
    first = ns.create_supply_link(link_data(net), actor=admin)
    db.session.commit()
    message = {"_": "Deze leveringsrelatie bestaat al (zelfde leverancier, afnemer en waardeketen)."}
    assert refused(ns.create_supply_link, link_data(net, supplied="anders"), actor=admin) == message
    # Another chain, no chain at all, or the other direction is another link.
    ns.create_supply_link(link_data(net, value_chain_id=net.other.id), actor=admin)
    no_chain = ns.create_supply_link(link_data(net, value_chain_id=None), actor=admin)
    ns.create_supply_link(link_data(net, supplier_id=net.dordrecht.id,
                                    customer_id=net.sliedrecht.id), actor=admin)
    db.session.commit()
    assert refused(ns.create_supply_link, link_data(net, value_chain_id=""), actor=admin) == message
    assert refused(ns.update_supply_link, no_chain, {"value_chain_id": net.chain.id}, actor=admin,
                   partial=True) == message
    ns.delete_supply_link(first, actor=admin)
    ns.create_supply_link(link_data(net), actor=admin)
    db.session.commit()
    assert live_links() == 4


def test_links_are_versioned_and_a_stale_edit_is_refused(net, recomputes):
    admin = net.users["admin"]
    link = ns.create_supply_link(link_data(net), actor=admin)
    db.session.commit()
    assert link.version == 1
    ns.update_supply_link(link, {"sole_source": False, "supplied": "schroeven"}, actor=admin,
                          expected_version=1, partial=True)
    db.session.commit()
    assert (link.version, link.sole_source, link.supplied) == (2, False, "schroeven")
    with pytest.raises(ConflictError):
        ns.update_supply_link(link, {"sole_source": True}, actor=admin, expected_version=1,
                              partial=True)
    db.session.rollback()
    assert refused(ns.update_supply_link, link, {"supplier_id": net.dordrecht.id}, actor=admin,
                   expected_version=2, partial=True) == {
        "customer_id": "Een organisatie kan niet aan zichzelf leveren."}
    with pytest.raises(ConflictError):
        ns.delete_supply_link(link, actor=admin, expected_version=1)
    db.session.rollback()
    ns.delete_supply_link(link, actor=admin, expected_version=2)
    db.session.commit()
    assert link.deleted_at is not None and link.version == 3
    assert recomputes == ["supply_link"] * 3
    actions = db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.entity_type == "supply_link", AuditEvent.entity_id == str(link.id))
        .order_by(AuditEvent.id)).all()
    assert actions == ["create", "update", "delete"]


def test_links_of_deleted_or_merged_organisations_cannot_be_made(net):
    admin = net.users["admin"]
    delete_organisation(net.sliedrecht2, actor=admin)
    net.sliedrecht.merged_into_id = net.dordrecht.id
    db.session.commit()
    assert refused(ns.create_supply_link, link_data(net, supplier_id=net.sliedrecht2.id),
                   actor=admin) == {"supplier_id": "Kies de leverancier: een bestaande organisatie."}
    assert refused(ns.create_supply_link, link_data(net), actor=admin) == {
        "supplier_id": "Kies de leverancier: een bestaande organisatie."}


def test_every_network_change_schedules_one_recompute_and_clusters_do_not(net, recomputes):
    admin = net.users["admin"]
    vc.create_cluster({"name": "Zonder netwerk"}, actor=admin)
    ns.add_organisation_to_cluster(net.dordrecht, net.cluster.id, actor=admin)
    vc.update_value_chain(net.chain, {"description": "Schepen bouwen"}, actor=admin, partial=True)
    assert recomputes == []
    role = role_for(net, net.dordrecht)
    link = link_for(net, net.sliedrecht, net.dordrecht)
    ns.update_supply_link(link, {"sole_source": True}, actor=admin, partial=True)
    ns.delete_supply_link(link, actor=admin)
    ns.delete_chain_role(role, actor=admin)
    stage = vc.add_stage(net.chain, "Oplevering", actor=admin)
    vc.move_stage(stage, actor=admin, direction="up")
    vc.rename_stage(stage, "Proefvaart", actor=admin)
    vc.delete_stage(stage, actor=admin)
    assert recomputes == ["chain_role", "supply_link", "supply_link", "supply_link", "chain_role",
                          "stage", "stage", "stage", "stage"]
