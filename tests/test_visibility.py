"""DESIGN 4.4 as a matrix: the SQL conditions and the Python checks must agree for every user."""

import datetime as dt

import pytest
import sqlalchemy as sa

from sdd_crm.extensions import db
from sdd_crm.interactions.models import Interaction, Task
from sdd_crm.interactions.services import create_interaction, create_task
from sdd_crm.leads.models import Lead
from sdd_crm.leads.services import share_lead
from sdd_crm.organisations.services import set_account_team_member
from sdd_crm.visibility import (
    can_see_interaction,
    can_see_lead,
    interaction_visible,
    is_receiver,
    lead_receivers_condition,
    lead_visible,
    task_visible,
)


@pytest.fixture
def world(make_user, make_org):
    u = {
        "admin": make_user("admin"),
        "regional": make_user("regional_account_manager"),
        "local_dordrecht": make_user("local_account_manager", municipality="GM0505"),
        "local_sliedrecht": make_user("local_account_manager", municipality="GM0610"),
        "bizdev": make_user("business_developer"),
        "viewer": make_user("viewer"),
        "author": make_user("local_account_manager", municipality="GM0642"),
        "team": make_user("local_account_manager", municipality="GM0590"),
    }
    org = make_org(actor=u["admin"], name="Werf Sliedrecht", city="Sliedrecht")
    set_account_team_member(org, u["team"], "local", actor=u["admin"])
    today = dt.date.today()
    secret = create_interaction({"organisation_id": org.id, "type": "visit", "date": today,
                                 "subject": "Overname in voorbereiding", "confidential": True,
                                 "follow_ups": [{"title": "Overname bespreken",
                                                 "assignee_id": u["author"].id}]},
                                actor=u["author"])
    public = create_interaction({"organisation_id": org.id, "type": "call", "date": today,
                                 "subject": "Vacatures"}, actor=u["author"])
    open_task = create_task({"title": "Terugbellen", "organisation_id": org.id}, actor=u["author"])
    to_sliedrecht = share_lead({"organisation_id": org.id, "type": "expansion", "title": "Uitbreiding",
                                "shared_with_municipality": "GM0610"}, actor=u["author"])
    to_region = share_lead({"organisation_id": org.id, "type": "risk", "title": "Sluiting dreigt",
                            "shared_with": "regional_team"}, actor=u["author"])
    to_bizdev = share_lead({"organisation_id": org.id, "type": "subsidy", "title": "SCALE?",
                            "shared_with_user_id": u["bizdev"].id}, actor=u["author"])
    db.session.commit()
    return {"users": u, "org": org, "secret": secret, "public": public, "task": open_task,
            "leads": {"sliedrecht": to_sliedrecht, "region": to_region, "bizdev": to_bizdev}}


def _visible_ids(model, condition):
    return set(db.session.scalars(sa.select(model.id).where(condition)))


SEES_CONFIDENTIAL = {"admin", "author", "team"}


@pytest.mark.parametrize("who", ["admin", "regional", "local_dordrecht", "local_sliedrecht",
                                 "bizdev", "viewer", "author", "team"])
def test_interactions(world, who):
    user = world["users"][who]
    secret, public = world["secret"], world["public"]
    visible = _visible_ids(Interaction, interaction_visible(user))
    expected = set()
    if who != "viewer":
        expected.add(public.id)
    if who in SEES_CONFIDENTIAL:
        expected.add(secret.id)
    assert visible == expected
    assert can_see_interaction(user, secret) == (secret.id in expected)
    assert can_see_interaction(user, public) == (public.id in expected)


@pytest.mark.parametrize("who", ["admin", "regional", "local_sliedrecht", "bizdev", "viewer",
                                 "author", "team"])
def test_tasks_following_a_confidential_interaction_stay_hidden(world, who):
    user = world["users"][who]
    follow_up = db.session.scalar(sa.select(Task).where(Task.interaction_id == world["secret"].id))
    visible = _visible_ids(Task, task_visible(user))
    assert (follow_up.id in visible) == (who in SEES_CONFIDENTIAL)
    assert (world["task"].id in visible) == (who != "viewer")


LEAD_SEERS = {
    "sliedrecht": {"admin", "regional", "author", "local_sliedrecht"},
    "region": {"admin", "regional", "author"},
    "bizdev": {"admin", "regional", "author", "bizdev"},
}
LEAD_RECEIVERS = {"sliedrecht": {"local_sliedrecht"}, "region": {"regional"}, "bizdev": {"bizdev"}}


@pytest.mark.parametrize("who", ["admin", "regional", "local_dordrecht", "local_sliedrecht",
                                 "bizdev", "viewer", "author", "team"])
def test_leads(world, who):
    user = world["users"][who]
    visible = _visible_ids(Lead, lead_visible(user))
    inbox = _visible_ids(Lead, lead_receivers_condition(user))
    for key, lead in world["leads"].items():
        assert (lead.id in visible) == (who in LEAD_SEERS[key]), key
        assert can_see_lead(user, lead) == (who in LEAD_SEERS[key]), key
        assert is_receiver(user, lead) == (who in LEAD_RECEIVERS[key]), key
        assert (lead.id in inbox) == (who in LEAD_RECEIVERS[key]), key


def test_tasks_following_a_lead_are_seen_only_by_those_who_see_the_lead(world):
    from sdd_crm.interactions.services import create_task

    u = world["users"]
    lead = world["leads"]["region"]
    task = create_task({"title": "Bel over de sluiting", "lead_id": lead.id,
                        "organisation_id": world["org"].id}, actor=u["author"])
    db.session.commit()
    for who in ("admin", "regional", "local_dordrecht", "local_sliedrecht", "bizdev", "author", "team"):
        visible = _visible_ids(Task, task_visible(u[who]))
        assert (task.id in visible) == (who in LEAD_SEERS["region"]), who
