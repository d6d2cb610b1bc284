"""The bin (Prullenbak) for contact moments, tasks and leads: listed, restored, audited, admins only."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from html_helpers import text
from sdd_crm.audit.models import AuditEvent
from sdd_crm.db import utcnow
from sdd_crm.extensions import db
from sdd_crm.interactions.models import Interaction, Task
from sdd_crm.interactions.services import create_interaction, create_task, delete_interaction, delete_task
from sdd_crm.leads.models import Lead
from sdd_crm.leads.services import share_lead
from sdd_crm.organisations.models import Organisation
from sdd_crm.organisations.services import delete_organisation

OTHER_ROLES = ("regional_account_manager", "local_account_manager", "business_developer", "viewer")
VISIT_DATE = dt.date.today() - dt.timedelta(days=5)


def _soft_delete(record, actor):
    record.deleted_at = utcnow()
    record.deleted_by_id = actor.id
    db.session.flush()


@pytest.fixture
def bin_world(make_user, make_org):
    admin = make_user("admin", name="Beheerder Bea")
    author = make_user("local_account_manager", municipality="GM0642", name="Auke Auteur")
    org = make_org(actor=admin, name="Scheepswerf Noord B.V.", city="Dordrecht")
    interaction = create_interaction(
        {"organisation_id": org.id, "type": "visit", "date": VISIT_DATE,
         "subject": "Bezoek over uitbreiding", "notes": "Verslag", "topics": ["risk"],
         "confidential": False}, actor=author)
    task = create_task({"title": "Offerte nabellen", "organisation_id": org.id}, actor=author)
    lead = share_lead({"organisation_id": org.id, "type": "expansion", "title": "Zoekt 2 hectare",
                       "shared_with": "regional_team"}, actor=author)
    delete_interaction(interaction, actor=admin)
    delete_task(task, actor=admin)
    _soft_delete(lead, admin)
    db.session.commit()
    return SimpleNamespace(admin=admin, author=author, org=org, interaction=interaction,
                           task=task, lead=lead)


KINDS = {  # kind → (model, attribute of bin_world, what the row shows, audit entity type)
    "interactions": (Interaction, "interaction", "Bezoek over uitbreiding", "interaction"),
    "tasks": (Task, "task", "Offerte nabellen", "task"),
    "leads": (Lead, "lead", "Zoekt 2 hectare", "lead"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_the_bin_lists_each_kind_with_organisation_who_and_when(client, login, bin_world, kind):
    _model, attr, shown, _entity = KINDS[kind]
    login(bin_world.admin)
    resp = client.get(f"/admin/deleted?kind={kind}")
    assert resp.status_code == 200
    page = text(resp)
    assert shown in page and "Scheepswerf Noord B.V." in page and "Beheerder Bea" in page
    record = getattr(bin_world, attr)
    assert f"/admin/deleted/{kind}/{record.id}/restore" in resp.get_data(as_text=True)
    # The other kinds stay on their own tab.
    for other, (_m, _a, other_shown, _e) in KINDS.items():
        if other != kind:
            assert other_shown not in page


@pytest.mark.parametrize("kind", KINDS)
def test_restoring_each_kind_brings_it_back_and_is_audited(client, login, bin_world, kind):
    model, attr, shown, entity = KINDS[kind]
    record_id = getattr(bin_world, attr).id
    login(bin_world.admin)
    resp = client.post(f"/admin/deleted/{kind}/{record_id}/restore", follow_redirects=True)
    assert f"{shown} is hersteld." in text(resp)
    assert shown not in text(client.get(f"/admin/deleted?kind={kind}"))
    record = db.session.get(model, record_id)
    assert record.deleted_at is None and record.deleted_by_id is None
    event = db.session.scalar(sa.select(AuditEvent).where(
        AuditEvent.entity_type == entity, AuditEvent.entity_id == str(record_id),
        AuditEvent.action == "restore"))
    assert event is not None and event.user_id == bin_world.admin.id


def test_restoring_a_contact_moment_brings_back_the_last_contact_date(client, login, bin_world):
    assert db.session.get(Organisation, bin_world.org.id).last_contact_on is None
    login(bin_world.admin)
    client.post(f"/admin/deleted/interactions/{bin_world.interaction.id}/restore")
    db.session.expire_all()
    assert db.session.get(Organisation, bin_world.org.id).last_contact_on == VISIT_DATE


@pytest.mark.parametrize("kind", KINDS)
def test_a_record_of_a_deleted_organisation_waits_for_its_organisation(client, login, bin_world,
                                                                       kind):
    model, attr, shown, _entity = KINDS[kind]
    record_id = getattr(bin_world, attr).id
    delete_organisation(bin_world.org, actor=bin_world.admin)
    db.session.commit()
    login(bin_world.admin)
    listing = text(client.get(f"/admin/deleted?kind={kind}"))
    assert "ook verwijderd" in listing
    resp = client.post(f"/admin/deleted/{kind}/{record_id}/restore", follow_redirects=True)
    assert f"{shown} is niet hersteld: Herstel eerst de organisatie Scheepswerf Noord B.V." \
        in text(resp)
    assert db.session.get(model, record_id).deleted_at is not None
    assert not db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "restore")).all()


def test_a_live_record_is_not_in_the_bin(client, login, bin_world, make_org):
    org = make_org(name="Levend B.V.")
    live = create_task({"title": "Nog open", "organisation_id": org.id}, actor=bin_world.author)
    db.session.commit()
    login(bin_world.admin)
    assert client.post(f"/admin/deleted/tasks/{live.id}/restore").status_code == 404
    assert client.post("/admin/deleted/leads/999999/restore").status_code == 404
    assert client.post("/admin/deleted/interactions/999999/restore").status_code == 404


@pytest.mark.parametrize("role", OTHER_ROLES)
@pytest.mark.parametrize("kind", KINDS)
def test_only_admins_reach_or_restore(client, login, make_user, bin_world, role, kind):
    model, attr, _shown, _entity = KINDS[kind]
    record_id = getattr(bin_world, attr).id
    login(make_user(role, municipality="GM0610" if role == "local_account_manager" else None))
    assert client.get(f"/admin/deleted?kind={kind}").status_code == 403
    assert client.post(f"/admin/deleted/{kind}/{record_id}/restore").status_code == 403
    assert db.session.get(model, record_id).deleted_at is not None


@pytest.mark.parametrize("kind", KINDS)
def test_the_bin_needs_no_query_per_row(client, login, bin_world, make_org, count_queries, kind):
    login(bin_world.admin)
    client.get(f"/admin/deleted?kind={kind}")  # warm up
    db.session.expire_all()
    with count_queries() as few:
        client.get(f"/admin/deleted?kind={kind}")
    for i in range(3):  # three more rows, each of its own organisation and deleter
        org = make_org(name=f"Extra {i} B.V.")
        record = {"interactions": lambda: create_interaction(
                      {"organisation_id": org.id, "type": "visit", "date": VISIT_DATE,
                       "subject": f"Extra {i}", "topics": ["risk"], "confidential": False},
                      actor=bin_world.author),
                  "tasks": lambda: create_task({"title": f"Extra {i}", "organisation_id": org.id},
                                               actor=bin_world.author),
                  "leads": lambda: share_lead({"organisation_id": org.id, "type": "expansion",
                                               "title": f"Extra {i}",
                                               "shared_with": "regional_team"},
                                              actor=bin_world.author)}[kind]()
        _soft_delete(record, bin_world.admin if i % 2 else bin_world.author)
    db.session.commit()
    db.session.expire_all()
    with count_queries() as many:
        page = text(client.get(f"/admin/deleted?kind={kind}"))
    assert "Extra 2 B.V." in page
    assert many.count == few.count
