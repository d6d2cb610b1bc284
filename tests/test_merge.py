"""Merging duplicate organisations: everything moves, nothing is lost or doubled (issue 6).

``build_world`` gives a merged-to-be organisation with one of everything attached, and a
survivor that already has some of the same (so every unique clash is exercised).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from sdd_crm.audit.models import AuditEvent
from sdd_crm.contacts.models import Contact
from sdd_crm.contacts.services import delete_contact
from sdd_crm.extensions import db
from sdd_crm.organisations.dismissals import dismiss_pair
from sdd_crm.organisations.merge import HANDLED_REFERENCES, history_ids, merge_organisations
from sdd_crm.imports.models import ImportReview
from sdd_crm.organisations.models import DuplicateDismissal
from sdd_crm.interactions.models import Interaction, Task
from sdd_crm.interactions.services import create_interaction, create_task
from sdd_crm.leads.models import Lead
from sdd_crm.leads.services import share_lead
from sdd_crm.organisations.models import (
    AccountTeamMember, Establishment, Organisation, OrganisationSbi, organisation_tag)
from sdd_crm.organisations.services import (
    delete_organisation,
    set_account_team_member,
    update_organisation,
)
from sdd_crm.exceptions import PermissionDenied
from sdd_crm.programmes.counting import count_programme
from sdd_crm.programmes.models import Participation, ParticipationEvent, Programme
from sdd_crm.programmes.services import add_participation, change_participation_status, link_interaction
from sdd_crm.exceptions import ConflictError, ValidationError
from sdd_crm.valuechains.models import (
    ChainRole, CriticalityAssessment, OrganisationCluster, SupplyLink)
from sdd_crm.valuechains.network_services import (
    add_chain_role, add_organisation_to_cluster, create_supply_link)
from sdd_crm.valuechains.services import create_cluster, create_value_chain


@dataclass
class World:
    admin: object
    ram: object
    survivor: Organisation
    merged: Organisation
    other: Organisation  # a third company both trade with
    earlier: Organisation  # merged into ``merged`` before: the chain A → B → C
    child: Organisation  # a subsidiary of ``merged``
    chain: object
    ids: dict  # what was attached to ``merged``, by kind


def _programme(code):
    return db.session.scalar(sa.select(Programme).where(Programme.code == code))


def build_world(make_user, make_org, make_contact) -> World:
    admin = make_user("admin")
    ram, ram2 = make_user("regional_account_manager"), make_user("regional_account_manager")
    local = make_user("local_account_manager")
    survivor = make_org(actor=admin, name="Scheepswerf De Vries", city="Dordrecht",
                        postcode="3311AB", employees=40, sbi_codes="3011", tags="scale")
    merged = make_org(actor=admin, name="Scheepswerf de Vries B.V.", city="Dordrecht",
                      kvk_number="12345678", postcode="3311 AB", street="Wantij 1",
                      website="https://devries.nl", phone="078-1234567", legal_form="B.V.",
                      sbi_codes="3011, 3315", tags="scale, maritiem", establishment_number="000012345678")
    other = make_org(actor=admin, name="Staalhandel Merwede B.V.", city="Sliedrecht")
    earlier = make_org(actor=admin, name="De Vries Scheepsbouw", city="Dordrecht")
    child = make_org(actor=admin, name="De Vries Service B.V.", city="Dordrecht",
                     parent_id=merged.id)
    merge_organisations(merged, earlier, actor=admin)
    ids = {}
    # Contacts (a deleted one too), an interaction with a contact present, a task, a lead.
    contact = make_contact(merged, actor=admin)
    gone = make_contact(merged, actor=admin)
    delete_contact(gone, actor=admin)
    interaction = create_interaction({
        "organisation_id": merged.id, "type": "visit", "date": dt.date(2026, 3, 2),
        "subject": "Kennismaking", "contact_ids": [contact.id], "user_ids": [ram.id],
        "topics": ["energy"], "confidential": True}, actor=ram)
    task = create_task({"title": "Offerte nabellen", "organisation_id": merged.id,
                        "interaction_id": interaction.id}, actor=ram)
    lead = share_lead({"organisation_id": merged.id, "type": "expansion", "title": "Nieuwe hal",
                       "shared_with": "regional_team"}, actor=local)
    ids.update(contacts={contact.id, gone.id}, interactions={interaction.id}, tasks={task.id},
               leads={lead.id})
    # Participations: SCALE on both (the merged one is further along), a second programme only
    # on the merged record, and a contact moment linked to the merged record's SCALE one.
    bd = make_user("business_developer")
    scale, deal = _programme("scale"), _programme("regio-deal")
    kept = add_participation(scale, survivor.id, actor=bd, status="approached")
    theirs = add_participation(scale, merged.id, actor=bd)
    change_participation_status(theirs, "participating", actor=bd)
    link_interaction(theirs, interaction.id, actor=admin)
    only = add_participation(deal, merged.id, actor=bd, status="interested")
    ids.update(scale_kept=kept.id, scale_theirs=theirs.id, deal=only.id)
    # Account teams: the same local manager on both; each has its own strategic manager.
    set_account_team_member(survivor, ram2, "strategic", actor=admin)
    set_account_team_member(survivor, local, "local", actor=admin)
    set_account_team_member(merged, ram, "strategic", actor=admin)
    set_account_team_member(merged, local, "local", actor=admin)
    # Clusters, roles and supply links, with a duplicate of each on the survivor.
    c1 = create_cluster({"name": "Maritiem (merge)"}, actor=admin)
    c2 = create_cluster({"name": "Energie (merge)"}, actor=admin)
    chain = create_value_chain({"name": "Scheepsbouw (merge)", "cluster_id": c1.id,
                                "stages": ["Ontwerp", "Casco"]}, actor=admin)
    add_organisation_to_cluster(survivor, c2.id, actor=admin)
    add_organisation_to_cluster(merged, c1.id, actor=admin)
    add_organisation_to_cluster(merged, c2.id, actor=admin)
    casco, ontwerp = chain.stages[1], chain.stages[0]
    for org in (survivor, merged):
        add_chain_role({"organisation_id": org.id, "value_chain_id": chain.id,
                        "stage_id": casco.id, "role": "tier1"}, actor=admin)
    oem = add_chain_role({"organisation_id": merged.id, "value_chain_id": chain.id,
                          "stage_id": ontwerp.id, "role": "oem"}, actor=admin)

    def link(s, c, **kw):
        return create_supply_link({"supplier_id": s.id, "customer_id": c.id,
                                   "value_chain_id": chain.id, **kw}, actor=admin)

    link(survivor, other, supplied=None)
    dup = link(merged, other, supplied="casco's", sole_source=True)
    self_link = link(merged, survivor, supplied="ontwerp")
    incoming = link(other, merged, supplied="staal")
    ids.update(oem=oem.id, dup_link=dup.id, self_link=self_link.id, incoming=incoming.id)
    # A held import row, an assessment of its own, a manual flag.
    review = ImportReview(kind="organisations", row_hash="r1", data={"name": "De Vries"},
                          candidate_id=merged.id, source="lijst.csv", row_number=2)
    db.session.add(review)
    db.session.add(CriticalityAssessment(organisation_id=merged.id, score=0.4, threshold=0.5,
                                         critical=False, factors=[]))
    merged.manual_critical, merged.manual_critical_reason = True, "Enige dokbouwer"
    # "Geen dubbel" marks: one only the merged record has, one both have.
    to_child = dismiss_pair(merged.id, child.id, actor=admin, note="Dochter, geen dubbel")
    dismiss_pair(merged.id, other.id, actor=admin)
    kept_mark = dismiss_pair(survivor.id, other.id, actor=admin)
    db.session.flush()
    ids.update(review=review.id, to_child=to_child.id, kept_mark=kept_mark.id)
    db.session.commit()
    return World(admin, ram, survivor, merged, other, earlier, child, chain, ids)


@pytest.fixture
def world(make_user, make_org, make_contact, monkeypatch):
    from sdd_crm.valuechains import recompute

    calls = []
    monkeypatch.setattr(recompute, "schedule_recompute", lambda *, reason="": calls.append(reason))
    w = build_world(make_user, make_org, make_contact)
    w.ids["recomputes"] = calls
    return w


def _merge(w, **kw):
    result = merge_organisations(w.survivor, w.merged, actor=w.ram, **kw)
    db.session.commit()
    return result


def _ids(model, column, value):
    return set(db.session.scalars(sa.select(model.id).where(column == value)))


def test_every_reference_to_an_organisation_is_handled():
    refs = {(fk.parent.table.name, fk.parent.name) for table in db.metadata.tables.values()
            for fk in table.foreign_keys if fk.column.table.name == "organisation"}
    assert refs == HANDLED_REFERENCES


def test_records_move_to_the_survivor(world):
    w, s, m = world, world.survivor, world.merged
    result = _merge(w)
    assert _ids(Contact, Contact.organisation_id, s.id) == w.ids["contacts"]
    assert _ids(Interaction, Interaction.organisation_id, s.id) == w.ids["interactions"]
    assert _ids(Task, Task.organisation_id, s.id) == w.ids["tasks"]
    assert _ids(Lead, Lead.organisation_id, s.id) == w.ids["leads"]
    for model in (Contact, Interaction, Task, Lead):
        assert _ids(model, model.organisation_id, m.id) == set()
    assert result.moved["contacts"] == 2 and result.moved["interactions"] == 1
    # The contact moment keeps who was there; the survivor's last contact date follows it.
    interaction = db.session.get(Interaction, next(iter(w.ids["interactions"])))
    assert [c.organisation_id for c in interaction.contacts] == [s.id]
    assert s.last_contact_on == dt.date(2026, 3, 2) and m.last_contact_on is None
    # Each moved record's own history shows the move.
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "lead", AuditEvent.action == "update"))
    assert event.changes["organisation_id"] == [m.id, s.id]


def test_merged_record_points_to_the_survivor_and_chains_resolve(world):
    w, s, m = world, world.survivor, world.merged
    w.ids["recomputes"].clear()
    _merge(w)
    assert m.merged_into_id == s.id
    # The record merged into ``merged`` earlier now points straight at the survivor.
    assert db.session.get(Organisation, w.earlier.id).merged_into_id == s.id
    assert db.session.get(Organisation, w.child.id).parent_id == s.id
    assert history_ids(s.id) == sorted([s.id, m.id, w.earlier.id])
    assert w.ids["recomputes"] == ["merge"]  # the criticality is recomputed after the commit


def test_fields_fill_the_survivors_gaps_and_keep_what_it_has(world):
    w, s, m = world, world.survivor, world.merged
    result = _merge(w)
    assert s.name == "Scheepswerf De Vries" and s.employees == 40  # kept
    assert (s.kvk_number, m.kvk_number) == ("12345678", None)  # the number moved
    assert (s.street, s.website, s.phone, s.legal_form) == (
        "Wantij 1", "https://devries.nl", "+31781234567", "B.V.")
    assert (s.manual_critical, s.manual_critical_reason) == (True, "Enige dokbouwer")
    assert {"kvk_number", "address", "website", "phone", "legal_form"} <= set(result.filled)
    # The old number is in the audit trail of the merged record.
    merge_event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "organisation", AuditEvent.entity_id == str(m.id),
        AuditEvent.action == "merge").order_by(AuditEvent.id.desc()).limit(1))
    assert merge_event.changes["kvk_number"] == ["12345678", None]
    assert merge_event.user_id == w.ram.id
    survivor_event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.entity_id == str(s.id), AuditEvent.action == "merge"))
    assert survivor_event.changes["merged_from"][1] == f"#{m.id} Scheepswerf de Vries B.V."


def test_user_choices_per_field(world):
    w, s = world, world.survivor
    _merge(w, choices={"name": "merged", "employees": "merged", "website": "survivor"})
    assert s.name == "Scheepswerf de Vries B.V."
    assert s.employees is None and s.size_class == "unknown"
    assert s.website is None  # the user kept the survivor's (empty) value


def test_participations_keep_the_furthest_and_count_once(world):
    w, s, m = world, world.survivor, world.merged
    scale = _programme("scale")
    _merge(w)
    live = db.session.scalars(sa.select(Participation).where(
        Participation.organisation_id == s.id, Participation.deleted_at.is_(None))).all()
    assert sorted((p.programme.code, p.status) for p in live) == [
        ("regio-deal", "interested"), ("scale", "participating")]
    kept = db.session.get(Participation, w.ids["scale_kept"])
    dropped = db.session.get(Participation, w.ids["scale_theirs"])
    # The survivor's row carries the further state and the events that led to it...
    assert kept.organisation_id == s.id and kept.status == "participating"
    events = db.session.scalars(sa.select(ParticipationEvent.to_status).where(
        ParticipationEvent.participation_id == kept.id).order_by(ParticipationEvent.id)).all()
    assert events == ["identified", "participating"]
    assert [i.id for i in kept.interactions] == sorted(w.ids["interactions"])
    # ...the other is deleted on the merged record, with its own events and the reason.
    assert dropped.organisation_id == m.id and dropped.deleted_at is not None
    assert dropped.status == "approached"
    assert "Vervallen bij het samenvoegen" in dropped.notes
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ParticipationEvent).where(
        ParticipationEvent.participation_id == dropped.id)) == 1
    count = count_programme(scale)
    assert count.counted == 1  # before the merge the survivor did not count; now it does, once
    assert [v.organisation_id for v in count.verdicts if v.counts] == [s.id]


def test_both_counting_before_the_merge_count_once_after(make_user, make_org):
    admin, bd = make_user("admin"), make_user("business_developer")
    scale = _programme("scale")
    a = make_org(actor=admin, name="Bouw A", city="Dordrecht", employees=10)
    b = make_org(actor=admin, name="Bouw A B.V.", city="Dordrecht", employees=10)
    for org in (a, b):
        add_participation(scale, org.id, actor=bd, status="participating")
    db.session.commit()
    assert count_programme(scale).counted == 2
    merge_organisations(a, b, actor=admin)
    db.session.commit()
    count = count_programme(scale)
    assert (count.counted, count.excluded) == (1, {})  # the other is deleted, out of the count


def test_network_without_doubles_or_self_links(world):
    w, s, m = world, world.survivor, world.merged
    result = _merge(w)
    clusters = db.session.execute(sa.select(OrganisationCluster.cluster_id, OrganisationCluster.is_primary)
                                  .where(OrganisationCluster.organisation_id == s.id)).all()
    assert sorted(c.cluster.name for c in db.session.scalars(sa.select(OrganisationCluster).where(
        OrganisationCluster.organisation_id == s.id))) == ["Energie (merge)", "Maritiem (merge)"]
    assert sum(1 for _c, primary in clusters if primary) == 1
    assert _ids(ChainRole, ChainRole.organisation_id, m.id) != set()  # the duplicate stays there
    live_roles = db.session.execute(sa.select(ChainRole.organisation_id, ChainRole.role).where(
        ChainRole.deleted_at.is_(None), ChainRole.organisation_id.in_([s.id, m.id]))).all()
    assert sorted(r for _o, r in live_roles) == ["oem", "tier1"]
    assert {o for o, _r in live_roles} == {s.id}
    links = db.session.execute(sa.select(SupplyLink.supplier_id, SupplyLink.customer_id,
                                         SupplyLink.sole_source, SupplyLink.supplied)
                               .where(SupplyLink.deleted_at.is_(None))).all()
    assert sorted(links) == sorted([(s.id, w.other.id, True, "casco's"),
                                    (w.other.id, s.id, False, "staal")])
    self_link = db.session.get(SupplyLink, w.ids["self_link"])
    assert (self_link.supplier_id, self_link.deleted_at is not None) == (m.id, True)
    assert result.moved["self_links"] == 1 and result.moved["duplicate_links"] == 1
    assert result.moved["duplicate_roles"] == 1


def test_team_sbi_tags_establishments_reviews(world):
    w, s, m = world, world.survivor, world.merged
    result = _merge(w)
    team = sorted((t.user.name, t.team_role) for t in db.session.scalars(
        sa.select(AccountTeamMember).where(AccountTeamMember.organisation_id == s.id)))
    assert [r for _n, r in team].count("strategic") == 1
    assert len(team) == 3  # two strategic managers (one now local) and the shared local one
    assert (w.ram.name, "local") in team
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AccountTeamMember).where(
        AccountTeamMember.organisation_id == m.id)) == 0
    assert any("stond in beide accountteams" in n for n in result.notes)
    sbi = db.session.execute(sa.select(OrganisationSbi.code, OrganisationSbi.is_main).where(
        OrganisationSbi.organisation_id == s.id).order_by(OrganisationSbi.code)).all()
    assert sbi == [("3011", True), ("3315", False)]
    tags = db.session.scalars(sa.select(organisation_tag.c.tag_id).where(
        organisation_tag.c.organisation_id == s.id)).all()
    assert len(tags) == 2 and [t.name for t in s.tags] == ["maritiem", "scale"]
    est = db.session.scalars(sa.select(Establishment).where(Establishment.organisation_id == s.id)).all()
    assert [e.establishment_number for e in est] == ["000012345678"]
    assert db.session.get(ImportReview, w.ids["review"]).candidate_id == s.id
    # The merged record's assessment is its own history and stays.
    assert db.session.scalar(sa.select(CriticalityAssessment.organisation_id)) == m.id


def test_nothing_live_points_at_the_merged_record_but_its_own_history(world):
    w, m = world, world.merged
    _merge(w)
    left = set()
    for table, column in HANDLED_REFERENCES:
        t = db.metadata.tables[table]
        where = [t.c[column] == m.id]
        if "deleted_at" in t.c:
            where.append(t.c.deleted_at.is_(None))
        if db.session.scalar(sa.select(sa.func.count()).select_from(t).where(*where)):
            left.add((table, column))
    assert left == {("criticality_assessment", "organisation_id")}


def _pairs():
    D = DuplicateDismissal
    return {(a, b) for a, b in db.session.execute(
        sa.select(D.organisation_a_id, D.organisation_b_id))}


def test_geen_dubbel_marks_follow_the_survivor_once(world):
    w, s = world, world.survivor
    result = _merge(w)
    child, other = w.child.id, w.other.id
    assert _pairs() == {(min(s.id, child), max(s.id, child)), (min(s.id, other), max(s.id, other))}
    moved = db.session.get(DuplicateDismissal, w.ids["to_child"])
    assert moved.note == "Dochter, geen dubbel"  # the same mark, now naming the survivor
    assert db.session.get(DuplicateDismissal, w.ids["kept_mark"]) is not None
    assert (result.moved["dismissals"], result.moved["dropped_dismissals"]) == (1, 1)
    events = db.session.execute(sa.select(AuditEvent.action, AuditEvent.user_id).where(
        AuditEvent.entity_type == "duplicate_dismissal", AuditEvent.action != "create")).all()
    assert sorted(events) == [("delete", w.ram.id), ("update", w.ram.id)]


def test_a_mark_between_the_two_merged_records_goes(make_user, make_org):
    admin = make_user("admin")
    s, m = make_org(actor=admin, name="Kok"), make_org(actor=admin, name="Kok B.V.")
    third = make_org(actor=admin, name="Kok Service")
    dismiss_pair(s.id, m.id, actor=admin)
    dismiss_pair(third.id, m.id, actor=admin)
    db.session.commit()
    result = merge_organisations(s, m, actor=admin)
    db.session.commit()
    assert _pairs() == {(s.id, third.id)}  # re-ordered: the survivor's id is the smaller
    assert result.notes == ["Kok B.V. en Kok waren gemarkeerd als geen dubbel; die markering "
                            "is vervallen."]


@pytest.mark.parametrize("role", ["local_account_manager", "business_developer", "viewer"])
def test_only_admins_and_regional_managers_merge(world, make_user, role):
    with pytest.raises(PermissionDenied):
        merge_organisations(world.survivor, world.merged, actor=make_user(role))


def test_refusals(world, make_org):
    w, s, m = world, world.survivor, world.merged
    with pytest.raises(ValidationError, match="met zichzelf"):
        merge_organisations(s, s, actor=w.admin)
    with pytest.raises(ValidationError, match="al samengevoegd"):
        merge_organisations(s, w.earlier, actor=w.admin)
    with pytest.raises(ValidationError, match="al samengevoegd"):
        merge_organisations(w.earlier, s, actor=w.admin)
    gone = make_org(actor=w.admin, name="Weg B.V.")
    delete_organisation(gone, actor=w.admin)
    db.session.commit()
    with pytest.raises(ValidationError, match="verwijderd"):
        merge_organisations(s, gone, actor=w.admin)
    with pytest.raises(ValidationError):
        merge_organisations(s, m, actor=w.admin, choices={"kvk_number": "merged"})


def test_stale_versions_are_refused_and_nothing_changes(world):
    w, s, m = world, world.survivor, world.merged
    seen = (s.version, m.version)
    update_organisation(m, {"employees": 12}, actor=w.admin, partial=True)
    db.session.commit()
    with pytest.raises(ConflictError):
        merge_organisations(s, m, actor=w.ram, expected_versions=seen)
    db.session.rollback()
    assert m.merged_into_id is None
    merge_organisations(s, m, actor=w.ram, expected_versions=(s.version, m.version))
    db.session.commit()
    assert m.merged_into_id == s.id


@pytest.mark.parametrize("mine, theirs, kept_status, dropped_status", [
    ("completed", "participating", "completed", "participating"),  # the survivor's is further
    ("interested", "interested", "interested", "interested"),  # a tie: the survivor's
    ("declined", "identified", "identified", "declined"),  # declined is behind every live one
    ("deleted", "approached", "approached", "identified"),  # a live one beats a deleted one
])
def test_participation_clashes(make_user, make_org, mine, theirs, kept_status, dropped_status):
    admin, bd = make_user("admin"), make_user("business_developer")
    scale = _programme("scale")
    s, m = make_org(actor=admin, name="Kok"), make_org(actor=admin, name="Kok B.V.")
    a = add_participation(scale, s.id, actor=bd,
                          status="identified" if mine in ("deleted", "declined") else mine)
    if mine == "declined":
        change_participation_status(a, "declined", actor=bd)
    if mine == "deleted":
        a.deleted_at = a.updated_at
    b = add_participation(scale, m.id, actor=bd, status=theirs)
    db.session.commit()
    merge_organisations(s, m, actor=admin)
    db.session.commit()
    assert (a.organisation_id, a.status, a.deleted_at is None) == (s.id, kept_status, True)
    assert (b.organisation_id, b.status, b.deleted_at is not None) == (m.id, dropped_status, True)
    last = db.session.scalar(sa.select(ParticipationEvent.to_status).where(
        ParticipationEvent.participation_id == a.id).order_by(ParticipationEvent.id.desc()).limit(1))
    assert last == kept_status  # the events follow the state they led to


def test_two_deleted_participations_stay_where_they_are(make_user, make_org):
    admin, bd = make_user("admin"), make_user("business_developer")
    scale = _programme("scale")
    s, m = make_org(actor=admin, name="Kok"), make_org(actor=admin, name="Kok B.V.")
    a, b = (add_participation(scale, o.id, actor=bd) for o in (s, m))
    for p in (a, b):
        p.deleted_at = p.updated_at
    db.session.commit()
    merge_organisations(s, m, actor=admin)
    assert (a.organisation_id, b.organisation_id) == (s.id, m.id)


def test_groups_stay_groups_without_loops(make_user, make_org):
    admin = make_user("admin")
    group = make_org(actor=admin, name="Holding")
    merged = make_org(actor=admin, name="Kok B.V.", parent_id=group.id)
    middle = make_org(actor=admin, name="Kok Beheer", parent_id=merged.id)
    survivor = make_org(actor=admin, name="Kok", parent_id=middle.id)
    sibling = make_org(actor=admin, name="Kok Service", parent_id=merged.id)
    result = merge_organisations(survivor, merged, actor=admin)
    db.session.commit()
    # The sibling moves under the survivor; "middle" stood above it, so it is cut loose.
    assert sibling.parent_id == survivor.id
    assert middle.parent_id is None
    assert survivor.parent_id == middle.id
    assert result.notes == ["Kok Beheer is niet als dochter van Kok gekoppeld: zij staat er al boven."]
    # A survivor under the merged record takes the merged record's own group.
    other = make_org(actor=admin, name="Vos", parent_id=group.id)
    child = make_org(actor=admin, name="Vos Service", parent_id=other.id)
    merge_organisations(child, other, actor=admin)
    assert child.parent_id == group.id


def test_a_strategic_manager_in_both_teams_stays_strategic(make_user, make_org):
    admin, ram = make_user("admin"), make_user("regional_account_manager")
    s, m = make_org(actor=admin, name="Kok"), make_org(actor=admin, name="Kok B.V.")
    set_account_team_member(s, ram, "local", actor=admin)
    set_account_team_member(m, ram, "strategic", actor=admin)
    db.session.commit()
    merge_organisations(s, m, actor=admin)
    db.session.commit()
    assert [(t.user_id, t.team_role) for t in s.team] == [(ram.id, "strategic")]


def test_every_team_change_of_a_merge_is_audited_with_the_organisations(make_user, make_org):
    """Issue 11: every addition, removal and role change of an account team is audited on the
    organisation, a merge included; a membership held twice is deleted with its values."""
    admin = make_user("admin")
    ram, other, lam = (make_user("regional_account_manager"), make_user("regional_account_manager"),
                       make_user("local_account_manager", municipality="GM0505"))
    s, m = make_org(actor=admin, name="Kok"), make_org(actor=admin, name="Kok B.V.")
    set_account_team_member(s, ram, "local", actor=admin)
    set_account_team_member(m, ram, "strategic", actor=admin)
    set_account_team_member(m, lam, "local", actor=admin)
    db.session.commit()
    twice = next(t for t in m.team if t.user_id == ram.id).id
    first = db.session.scalar(sa.select(sa.func.max(AuditEvent.id)))
    merge_organisations(s, m, actor=admin)
    db.session.commit()

    def team_events(org):
        return [(e.action, e.user_id, e.changes) for e in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.id > first, AuditEvent.entity_type == "organisation",
                                        AuditEvent.entity_id == str(org.id),
                                        AuditEvent.action.like("team_%")).order_by(AuditEvent.id))]

    def label(user):
        return f"{user.name} (#{user.id})"

    assert sorted(team_events(m), key=str) == sorted([
        ("team_remove", admin.id, {"member": [label(ram), None], "team_role": ["strategic", None]}),
        ("team_remove", admin.id, {"member": [label(lam), None], "team_role": ["local", None]}),
    ], key=str)
    assert sorted(team_events(s), key=str) == sorted([
        ("team_role", admin.id, {"member": [label(ram), label(ram)],
                                 "team_role": ["local", "strategic"]}),
        ("team_add", admin.id, {"member": [None, label(lam)], "team_role": [None, "local"]}),
    ], key=str)
    (deleted,) = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "account_team_member", AuditEvent.entity_id == str(twice),
        AuditEvent.action == "delete")).all()
    assert deleted.changes == {"organisation_id": [m.id, None], "user_id": [ram.id, None],
                               "team_role": ["strategic", None]}
    # A strategic manager of the merged record meets the survivor's: they become local.
    third = make_org(actor=admin, name="Kok Holding")
    set_account_team_member(third, other, "strategic", actor=admin)
    db.session.commit()
    first = db.session.scalar(sa.select(sa.func.max(AuditEvent.id)))
    merge_organisations(s, third, actor=admin)
    db.session.commit()
    assert team_events(third) == [("team_remove", admin.id, {
        "member": [label(other), None], "team_role": ["strategic", None]})]
    assert team_events(s) == [("team_add", admin.id, {
        "member": [None, label(other)], "team_role": [None, "local"]})]


def test_an_address_is_taken_whole_or_completed_never_mixed(make_user, make_org):
    admin = make_user("admin")
    s = make_org(actor=admin, name="Kok", city="Dordrecht")
    m = make_org(actor=admin, name="Kok B.V.", street="Kerkstraat 2", postcode="3331 AA",
                 city="Zwijndrecht")
    merge_organisations(s, m, actor=admin)
    assert (s.street, s.postcode, s.city, s.municipality_code) == (
        "Kerkstraat 2", "3331 AA", "Zwijndrecht", "GM0642")
    other = make_org(actor=admin, name="Vos", street="Markt 1", postcode="3311 AB", city="Dordrecht")
    twin = make_org(actor=admin, name="Vos B.V.", street="Kerkstraat 2", postcode="3331 AA",
                    city="Zwijndrecht")
    merge_organisations(other, twin, actor=admin)
    assert (other.street, other.postcode, other.city) == ("Markt 1", "3311 AB", "Dordrecht")


def test_the_api_shows_where_a_merged_record_went(client, make_org, make_user, api_headers):
    admin = make_user("admin")
    survivor = make_org(name="Werf Zuid", actor=admin)
    merged = make_org(name="Werf Zuid B.V.", actor=admin)
    merge_organisations(survivor, merged, actor=admin)
    db.session.flush()
    headers = api_headers(make_user("regional_account_manager"))
    body = client.get(f"/api/v1/organisations/{merged.id}", headers=headers).get_json()
    assert body["merged_into_id"] == survivor.id
    assert client.get(f"/api/v1/organisations/{survivor.id}", headers=headers).get_json()[
        "merged_into_id"] is None


def test_a_participation_left_on_a_merged_record_cannot_be_restored(make_org, make_user):
    from sdd_crm.programmes.models import Participation, Programme
    from sdd_crm.programmes.services import add_participation, delete_participation, restore_participation
    from sdd_crm.exceptions import ValidationError

    admin = make_user("admin")
    scale = db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))
    survivor = make_org(name="Werf West", actor=admin)
    merged = make_org(name="Werf West B.V.", actor=admin)
    add_participation(scale, survivor.id, actor=admin, status="participating")
    gone = add_participation(scale, merged.id, actor=admin, status="completed")
    delete_participation(gone, actor=admin)
    merge_organisations(survivor, merged, actor=admin)
    db.session.flush()
    leftover = db.session.scalars(sa.select(Participation).where(
        Participation.organisation_id == merged.id)).all()
    assert leftover  # the survivor's participation stays; the merged one's is kept as history
    for p in leftover:
        with pytest.raises(ValidationError):
            restore_participation(p, actor=admin)
    live = db.session.scalars(sa.select(Participation).where(
        Participation.programme_id == scale.id, Participation.deleted_at.is_(None),
        Participation.organisation_id.in_([survivor.id, merged.id]))).all()
    assert [p.organisation_id for p in live] == [survivor.id]


def test_final_survivors_walks_many_chains_at_once_by_the_one_rule(make_org, count_queries):
    from sdd_crm.organisations.queries import final_survivor, final_survivors

    orgs = [make_org(name=f"Keten {n}") for n in range(8)]
    a, b, c, d, e, f, g, h = orgs
    # a → b → c (a chain), d → c, e never merged; f ↔ g a loop a merge never makes.
    for merged, survivor in ((a, b), (b, c), (d, c), (f, g), (g, f)):
        merged.merged_into_id = survivor.id
    db.session.commit()
    wanted = [a.id, d.id, e.id, f.id, 999_999]
    with count_queries() as q:
        survivors = final_survivors(wanted)
    assert q.count == 2  # one query per hop of the longest chain, not one per record
    assert survivors == {a.id: c.id, d.id: c.id, e.id: e.id, f.id: f.id}  # unknown: left out
    survivors = final_survivors(o.id for o in orgs)
    assert survivors == {a.id: c.id, b.id: c.id, c.id: c.id, d.id: c.id, e.id: e.id,
                         f.id: f.id, g.id: g.id, h.id: h.id}
    # The same rule as final_survivor, record by record.
    for org in orgs:
        assert survivors[org.id] == final_survivor(org).id
