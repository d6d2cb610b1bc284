"""The purge (issue 11 point 2): what has been in the bin longer than BIN_RETENTION_DAYS is removed
for good, with what belongs to it and without breaking a foreign key; one ``purge`` audit event
per record; what is younger, and everything live, stays; a dry run changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from bin_support import KINDS, VISIT, Maker, age

from sdd_crm.admin import purge
from sdd_crm.admin.recycle_bin import KINDS as BIN_KINDS
from sdd_crm.audit.models import AuditEvent
from sdd_crm.contacts.services import create_contact
from sdd_crm.extensions import db
from sdd_crm.interactions.services import create_interaction, create_task
from sdd_crm.jobs.models import Job
from sdd_crm.leads.models import LeadEvent
from sdd_crm.leads.services import add_comment, change_status, share_lead
from sdd_crm.organisations.dismissals import dismiss_pair
from sdd_crm.organisations.models import (
    AccountTeamMember,
    DuplicateDismissal,
    Establishment,
    Organisation,
)
from sdd_crm.organisations.services import set_account_team_member, update_organisation
from sdd_crm.programmes.models import ParticipationEvent, Programme
from sdd_crm.programmes.services import add_participation, link_interaction
from sdd_crm.valuechains.models import CriticalityAssessment, SupplyLink
from sdd_crm.valuechains.network_services import (
    add_chain_role,
    add_organisation_to_cluster,
    create_supply_link,
)


@pytest.fixture
def admin(make_user):
    return make_user("admin", name="Beheerder Bea")


@pytest.fixture
def maker(admin, make_org):
    return Maker(admin, make_org)


def _gone(record) -> bool:
    (record_id,) = sa.inspect(record).identity  # (not record.id: its row may be gone)
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(type(record)).where(
        type(record).id == record_id)) == 0


def _events(record, action: str) -> list[AuditEvent]:
    (record_id,) = sa.inspect(record).identity
    return list(db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == type(record).__tablename__,
        AuditEvent.entity_id == str(record_id), AuditEvent.action == action)
        .order_by(AuditEvent.id)))


def _counts() -> dict[str, int]:
    """Rows per table, the whole database."""
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
            for t in db.metadata.sorted_tables}


def test_every_foreign_key_to_a_purged_row_is_handled_by_name():
    """A new table pointing at an organisation (or anything else the purge removes) must say
    what becomes of its rows: add it to CASCADE, DELETE or NULL in sdd_crm/admin/purge.py."""
    assert purge.unnamed_references() == []
    assert {k.entity_type for k in BIN_KINDS.values()} <= purge.purged_tables()


@pytest.mark.parametrize("kind", KINDS)
def test_only_what_was_deleted_longer_ago_than_the_period_goes(maker, kind):
    old = maker.deleted(kind, tag="Oud")
    young = maker.deleted(kind, tag="Jong")
    live, _parent = maker.live(kind, "Levend")
    age(old.record, 61)
    age(young.record, 59)
    db.session.commit()
    deletes_before = len(_events(old.record, "delete"))

    summary = purge.purge_bin()
    db.session.commit()

    assert summary.purged == {kind: 1} and summary.total == 1
    assert _gone(old.record)
    assert not _gone(young.record) and not _gone(live)
    (event,) = _events(old.record, "purge")
    # A purged person is anonymised first (GDPR art. 17): their purge event names nobody.
    expected = "Geanonimiseerd" if kind == "contacts" else old.label
    assert event.changes["label"] == [expected, None]
    assert event.changes["deleted_at"][1] is None
    if kind == "contacts":
        from sdd_crm.audit.models import AuditEvent

        payloads = " ".join(str(e.changes) for e in db.session.scalars(sa.select(AuditEvent)))
        assert old.label not in payloads
    assert len(_events(old.record, "delete")) == deletes_before  # no second, listener's event
    assert not _events(young.record, "purge")


def test_the_period_is_configurable(app, maker, monkeypatch):
    ns = maker.deleted("tasks")
    age(ns.record, 11)
    db.session.commit()
    assert purge.purge_bin().total == 0
    monkeypatch.setitem(app.config, "BIN_RETENTION_DAYS", 10)
    assert purge.purge_bin().purged == {"tasks": 1}
    assert _gone(ns.record)


@pytest.fixture
def full_org(maker, admin, make_user, make_org):
    """An organisation with everything that can hang from one, deleted 70 days ago."""
    a = admin
    org = maker.org("Alles Eraan B.V.", kvk_number="87654321", establishment_number="000099998888")
    other = maker.org("Buurman B.V.")
    sub = maker.org("Dochter B.V.")
    update_organisation(sub, {"parent_id": org.id}, actor=a, partial=True)
    contact = create_contact({"organisation_id": org.id, "first_name": "Piet",
                              "last_name": "Purge", "email": "piet@example.nl"}, actor=a)
    interaction = create_interaction(
        {"organisation_id": org.id, "type": "visit", "date": VISIT, "subject": "Bezoek Alles",
         "topics": ["risk"], "confidential": False, "contact_ids": [contact.id],
         "user_ids": [a.id]}, actor=a)
    manager = make_user("regional_account_manager", name="Rita Regio")
    task = create_task({"title": "Nabellen Alles", "organisation_id": org.id,
                        "interaction_id": interaction.id, "assignee_id": manager.id}, actor=a)
    # A task elsewhere that follows up this organisation's contact moment: it stays, unlinked.
    other_task = create_task({"title": "Elders", "organisation_id": other.id,
                              "interaction_id": interaction.id}, actor=a)
    lead = share_lead({"organisation_id": org.id, "type": "expansion", "title": "Lead Alles",
                       "shared_with": "regional_team"}, actor=a)
    change_status(lead, "accepted", actor=manager)
    comment = add_comment(lead, "Reactie Alles", actor=a)
    set_account_team_member(org, manager, "strategic", actor=a)
    cluster = maker.cluster("Cluster Alles")
    add_organisation_to_cluster(org, cluster.id, actor=a)
    chain = maker.chain("Keten Alles", cluster)
    role = add_chain_role({"organisation_id": org.id, "value_chain_id": chain.id,
                           "stage_id": chain.stages[0].id, "role": "oem"}, actor=a)
    link = create_supply_link({"supplier_id": org.id, "customer_id": other.id,
                               "value_chain_id": chain.id, "sole_source": True}, actor=a)
    scale = db.session.scalar(sa.select(Programme).where(Programme.code == "scale"))
    participation = add_participation(scale, org.id, actor=a)
    link_interaction(participation, interaction.id, actor=a)
    db.session.add(CriticalityAssessment(organisation_id=org.id, score=0.5, threshold=0.4,
                                         critical=True, factors=[]))
    dismiss_pair(org.id, other.id, actor=a, note="verschillend")
    db.session.flush()
    maker.delete("organisations", org)
    db.session.commit()
    age(org, 70)
    db.session.commit()
    return {"org": org, "other": other, "sub": sub, "contact": contact,
            "interaction": interaction, "task": task, "other_task": other_task, "lead": lead,
            "comment": comment, "role": role, "link": link, "participation": participation,
            "cluster": cluster, "chain": chain, "establishment": org.establishments[0]}


def test_an_organisation_goes_with_everything_that_hangs_from_it(full_org):
    w = full_org
    org_id = w["org"].id
    summary = purge.purge_bin()
    db.session.commit()

    assert summary.purged == {"organisations": 1, "contacts": 1, "interactions": 1, "tasks": 1,
                              "leads": 1, "lead-comments": 1, "establishments": 1,
                              "chain-roles": 1, "supply-links": 1, "participations": 1}
    for key in ("org", "contact", "interaction", "task", "lead", "comment", "role", "link",
                "participation", "establishment"):
        assert _gone(w[key]), key
    for model, column in ((AccountTeamMember, AccountTeamMember.organisation_id),
                          (CriticalityAssessment, CriticalityAssessment.organisation_id),
                          (DuplicateDismissal, DuplicateDismissal.organisation_a_id),
                          (Establishment, Establishment.organisation_id)):
        assert not db.session.scalar(sa.select(sa.func.count()).select_from(model)
                                     .where(column == org_id)), model
    assert not db.session.scalars(sa.select(LeadEvent).where(LeadEvent.lead_id == w["lead"].id)).all()
    assert not db.session.scalars(sa.select(ParticipationEvent).where(
        ParticipationEvent.participation_id == w["participation"].id)).all()
    # What stays loses only its link to what went, and says so in its own history.
    sub = db.session.get(Organisation, w["sub"].id)
    assert sub.parent_id is None and sub.deleted_at is None
    (cut,) = _events(sub, "update")[-1:]
    assert cut.changes == {"parent_id": [org_id, None]}
    other_task = db.session.get(type(w["other_task"]), w["other_task"].id)
    assert other_task.interaction_id is None and other_task.deleted_at is None
    for key in ("other", "cluster", "chain"):
        assert not _gone(w[key])
    # One purge event each; the ones that went with the organisation say so.
    (contact_event,) = _events(w["contact"], "purge")
    assert contact_event.changes["label"] == ["Geanonimiseerd", None]  # anonymised first
    assert contact_event.changes["purged_with"] == [None, f"organisation/{org_id}"]
    assert "deleted_at" not in contact_event.changes  # it was live, hidden with its organisation
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "purge")) == summary.total


def test_a_dry_run_counts_and_changes_nothing(full_org, maker):
    young = maker.deleted("clusters")
    db.session.commit()
    before = _counts()
    summary = purge.purge_bin(dry_run=True)
    db.session.flush()
    assert summary.dry_run and summary.total == 10 and summary.purged["organisations"] == 1
    assert _counts() == before
    assert not _gone(full_org["org"]) and not _gone(young.record)


def test_purged_records_are_no_longer_in_the_bin_or_restorable(client, login, admin,
                                                               api_headers, maker):
    ns = maker.deleted("contacts")
    age(ns.record, 61)
    db.session.commit()
    purge.purge_bin()
    db.session.commit()
    login(admin)
    from html_helpers import text

    assert ns.label not in text(client.get("/admin/deleted?kind=contacts"))
    assert client.post(f"/api/v1/contacts/{ns.record.id}/restore",
                       headers=api_headers(admin)).status_code == 404


def test_the_purge_runs_as_a_job_on_the_one_lifecycle(maker, admin):
    ns = maker.deleted("leads")
    age(ns.record, 61)
    job = purge.create_job(actor=admin)
    purge.enqueue_job(job)  # JOBS = "inline" in tests: it runs right after the commit
    job_id = job.id
    db.session.commit()
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    assert job.kind == "bin_purge" and job.status == "finished" and job.progress == 100
    assert job.result["purged"] == {"leads": 1} and job.result["total"] == 1
    assert "1 records definitief verwijderd" in job.message
    assert _gone(ns.record)
    (event,) = _events(ns.record, "purge")
    assert event.user_id == admin.id


def test_a_failing_purge_leaves_everything_and_says_so(maker, monkeypatch):
    ns = maker.deleted("tasks")
    age(ns.record, 61)
    job = purge.create_job()
    db.session.commit()

    def broken(*_a, **_k):
        raise RuntimeError("kapot")

    monkeypatch.setattr(purge, "_delete", broken)
    with pytest.raises(RuntimeError):
        purge.run_job(job.id)
    db.session.expire_all()
    assert db.session.get(Job, job.id).status == "failed"
    assert "niets verwijderd" in db.session.get(Job, job.id).message
    assert not _gone(ns.record) and not _events(ns.record, "purge")


def test_the_cli_purges_and_dry_runs(runner, maker):
    old = maker.deleted("supply-links")
    age(old.record, 61)
    young = maker.deleted("supply-links")
    db.session.commit()
    before = _counts()

    dry = runner.invoke(args=["bin", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Proefdraaien: 1 record(s)" in dry.output and "Leveringsrelaties: 1" in dry.output
    assert _counts() == before

    real = runner.invoke(args=["bin", "purge"])
    assert real.exit_code == 0, real.output
    assert "1 record(s) definitief verwijderd" in real.output
    assert _gone(old.record) and not _gone(young.record)
    assert db.session.scalar(sa.select(Job.status).where(Job.kind == "bin_purge")) == "finished"


def test_a_purge_with_nothing_due_changes_nothing(maker):
    maker.deleted("programmes")
    db.session.commit()
    before = _counts()
    assert purge.purge_bin().total == 0
    db.session.flush()
    assert _counts() == before


def test_the_schedule_holds_the_purge():
    from sdd_crm.jobs import schedule

    entry = schedule.get("bin_purge")
    assert entry is not None and entry.start_function() is purge.start_scheduled_purge
    start = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    assert entry.next_due(start) == dt.datetime(2026, 3, 2, 2, 30, tzinfo=dt.UTC)


def test_a_supply_link_outlives_a_purged_chain(maker, admin):
    """A deleted chain with a deleted link in it: the link stays in the bin, without its chain."""
    supplier, customer = maker.org("Lev B.V."), maker.org("Afn B.V.")
    chain = maker.chain("Keten Weg")
    link = create_supply_link({"supplier_id": supplier.id, "customer_id": customer.id,
                               "value_chain_id": chain.id}, actor=admin)
    maker.delete("supply-links", link)
    maker.delete("value-chains", chain)
    db.session.commit()
    age(chain, 61)
    db.session.commit()
    assert purge.purge_bin().purged == {"value-chains": 1}
    link = db.session.get(SupplyLink, link.id)
    assert link is not None and link.value_chain_id is None and link.deleted_at is not None
