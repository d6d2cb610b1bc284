"""Nobody widens their own access (DESIGN 4.4, issue 11 point 4): account-team membership —
which opens an organisation's confidential notes — is changed only by admins and the
organisation's current strategic account manager, in the HTML views and the API alike; every
addition, removal, role change and hand-over of the strategic role is audited on the
organisation and readable in its history.

The organisation lies in Sliedrecht (GM0610); its confidential visit is written by a local
account manager of Zwijndrecht (GM0642).
"""

from __future__ import annotations

import datetime as dt
import html

import pytest
import sqlalchemy as sa

from sdd_crm.audit.models import AuditEvent
from sdd_crm.exceptions import PermissionDenied
from sdd_crm.extensions import db
from sdd_crm.interactions.services import create_interaction
from sdd_crm.organisations.models import AccountTeamMember
from sdd_crm.organisations.services import (
    remove_account_team_member,
    set_account_team_member,
)
from sdd_crm.timeline.queries import organisation_timeline

SECRET_SUBJECT = "Vertrouwelijk: overname in voorbereiding"
TEAM_ACTIONS = ("team_add", "team_remove", "team_role", "team_handover")
OUTSIDERS = ("local_other", "local_same", "bizdev", "regional")


@pytest.fixture
def w(client, make_user, make_org, api_headers):
    users = {
        "admin": make_user("admin", name="Anna Admin"),
        "strategic": make_user("regional_account_manager", name="Sven Strategisch"),
        "regional": make_user("regional_account_manager", name="Rob Regio"),
        "successor": make_user("regional_account_manager", name="Otto Opvolger"),
        "bizdev": make_user("business_developer", name="Bas Bizdev"),
        "local_other": make_user("local_account_manager", municipality="GM0505",
                                 name="Lotte Dordrecht"),
        "local_same": make_user("local_account_manager", municipality="GM0610",
                                name="Lars Sliedrecht"),
        "author": make_user("local_account_manager", municipality="GM0642", name="Ank Auteur"),
        "member": make_user("local_account_manager", municipality="GM0590", name="Mo Lid"),
    }
    org = make_org(actor=users["admin"], name="Werf Sliedrecht B.V.", city="Sliedrecht")
    set_account_team_member(org, users["strategic"], "strategic", actor=users["admin"])
    set_account_team_member(org, users["member"], "local", actor=users["admin"])
    secret = create_interaction({
        "organisation_id": org.id, "type": "visit", "date": dt.date.today(),
        "subject": SECRET_SUBJECT, "confidential": True}, actor=users["author"])
    db.session.commit()
    return {"users": users, "org": org, "secret": secret,
            "headers": {k: api_headers(u) for k, u in users.items()}}


def team(org_id) -> set[tuple[int, str]]:
    db.session.expire_all()
    return {tuple(row) for row in db.session.execute(
        sa.select(AccountTeamMember.user_id, AccountTeamMember.team_role)
        .where(AccountTeamMember.organisation_id == org_id)).all()}


def team_events(org_id) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "organisation",
                                    AuditEvent.entity_id == str(org_id),
                                    AuditEvent.action.in_(TEAM_ACTIONS))
        .order_by(AuditEvent.id)))


def member_id(org_id, user_id) -> int:
    return db.session.scalar(sa.select(AccountTeamMember.id).where(
        AccountTeamMember.organisation_id == org_id, AccountTeamMember.user_id == user_id))


def sees_secret(client, w, who) -> bool:
    resp = client.get(f"/api/v1/interactions/{w['secret'].id}", headers=w["headers"][who])
    assert resp.status_code in (200, 404)
    return resp.status_code == 200


def page(client, org_id) -> str:
    return html.unescape(client.get(f"/organisations/{org_id}").get_data(as_text=True))


def label(user) -> str:
    return f"{user.name} (#{user.id})"


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_cannot_add_themselves_or_change_the_team(client, login, w, who):
    org, me = w["org"], w["users"][who]
    before, events_before = team(org.id), len(team_events(org.id))
    assert not sees_secret(client, w, who)
    login(me)
    body = page(client, org.id)
    assert "Teamlid toevoegen" not in body and f"/organisations/{org.id}/team" not in body
    for role in ("local", "strategic"):
        resp = client.post(f"/organisations/{org.id}/team",
                           data={"user_id": str(me.id), "team_role": role})
        assert resp.status_code == 403, (role, resp.status_code)
    resp = client.post(
        f"/organisations/{org.id}/team/{member_id(org.id, w['users']['member'].id)}/remove")
    assert resp.status_code == 403
    # The API has no account-team endpoint, and an organisation PATCH cannot carry the team.
    url = f"/api/v1/organisations/{org.id}"
    version = client.get(url, headers=w["headers"][who]).get_json()["version"]
    for key in ("team", "account_team"):
        resp = client.patch(url, headers=w["headers"][who], json={
            "version": version, key: [{"user_id": me.id, "team_role": "local"}]})
        assert resp.status_code >= 400, (key, resp.status_code)
    assert client.post(f"{url}/team", headers=w["headers"][who],
                       json={"user_id": me.id, "team_role": "local"}).status_code in (404, 405)
    # Nothing changed: still outside, the confidential visit still hidden, nothing audited.
    assert team(org.id) == before
    assert len(team_events(org.id)) == events_before
    assert not sees_secret(client, w, who)
    assert SECRET_SUBJECT not in page(client, org.id)


@pytest.mark.parametrize("who", OUTSIDERS + ("member",))
def test_the_service_refuses_everyone_but_admins_and_the_strategic_manager(w, who):
    org, me = w["org"], w["users"][who]
    with pytest.raises(PermissionDenied):
        set_account_team_member(org, me, "local", actor=me)
    with pytest.raises(PermissionDenied):
        remove_account_team_member(org, member_id(org.id, w["users"]["member"].id), actor=me)
    db.session.rollback()
    assert (me.id, "local") not in team(org.id) or who == "member"


@pytest.mark.parametrize("manager", ("admin", "strategic"))
def test_admin_and_strategic_manager_add_and_remove_audited(client, login, w, manager):
    org, u = w["org"], w["users"]
    newcomer = u["local_other"]
    login(u[manager])
    assert "Teamlid toevoegen" in page(client, org.id)
    resp = client.post(f"/organisations/{org.id}/team",
                       data={"user_id": str(newcomer.id), "team_role": "local"})
    assert resp.status_code == 302
    assert (newcomer.id, "local") in team(org.id)
    assert sees_secret(client, w, "local_other")
    added = team_events(org.id)[-1]
    assert (added.action, added.user_id) == ("team_add", u[manager].id)
    assert added.changes == {"member": [None, label(newcomer)], "team_role": [None, "local"]}
    assert (added.origin, added.source) == ("127.0.0.1", "web")  # from where, like every event

    resp = client.post(f"/organisations/{org.id}/team/{member_id(org.id, newcomer.id)}/remove")
    assert resp.status_code == 302
    assert newcomer.id not in {uid for uid, _ in team(org.id)}
    assert not sees_secret(client, w, "local_other")
    removed = team_events(org.id)[-1]
    assert (removed.action, removed.user_id) == ("team_remove", u[manager].id)
    assert removed.changes == {"member": [label(newcomer), None], "team_role": ["local", None]}
    # Readable in the organisation's history ("Recente wijzigingen").
    history = page(client, org.id).split('id="wijzigingen"', 1)[1]
    assert f"teamlid toegevoegd: {label(newcomer)} als Lokaal accountmanager" in history
    assert f"teamlid verwijderd: {label(newcomer)} (was Lokaal accountmanager)" in history


@pytest.mark.parametrize("by", ("admin", "strategic"))
def test_hand_over_keeps_the_previous_manager_as_local_member(client, login, w, by):
    org, u = w["org"], w["users"]
    previous, successor = u["strategic"], u["successor"]
    login(u[by])
    resp = client.post(f"/organisations/{org.id}/team",
                       data={"user_id": str(successor.id), "team_role": "strategic"})
    assert resp.status_code == 302
    members = team(org.id)
    assert (successor.id, "strategic") in members and (previous.id, "local") in members
    assert [role for _, role in members].count("strategic") == 1
    handover = team_events(org.id)[-1]
    assert (handover.action, handover.user_id) == ("team_handover", u[by].id)
    assert handover.changes == {
        "strategic_manager": [label(previous), label(successor)],
        "previous_manager_role": ["strategic", "local"],
        "new_manager_role": [None, "strategic"]}
    history = page(client, org.id).split('id="wijzigingen"', 1)[1]
    handed_over = (f"strategisch accountmanager overgedragen van {label(previous)} aan "
                   f"{label(successor)}")
    assert handed_over in history
    timeline = organisation_timeline(org.id, u["admin"], kinds=["change"])
    assert timeline[0].title.startswith(handed_over)
    # The previous manager keeps the team's notes but no longer manages the team; the new one does.
    assert sees_secret(client, w, "strategic")
    with pytest.raises(PermissionDenied):
        set_account_team_member(org, u["bizdev"], "local", actor=previous)
    db.session.rollback()
    remove_account_team_member(org, member_id(org.id, previous.id), actor=successor)
    db.session.commit()
    assert previous.id not in {uid for uid, _ in team(org.id)}
    assert team_events(org.id)[-1].action == "team_remove"


def test_a_role_change_is_audited_before_and_after(w):
    org, u = w["org"], w["users"]
    set_account_team_member(org, u["regional"], "local", actor=u["strategic"])
    remove_account_team_member(org, member_id(org.id, u["strategic"].id), actor=u["admin"])
    set_account_team_member(org, u["regional"], "strategic", actor=u["admin"])
    db.session.commit()
    event = team_events(org.id)[-1]
    assert event.action == "team_role"
    assert event.changes == {"member": [label(u["regional"]), label(u["regional"])],
                             "team_role": ["local", "strategic"]}
    # Setting the role a member already has changes and audits nothing.
    count = len(team_events(org.id))
    set_account_team_member(org, u["regional"], "strategic", actor=u["admin"])
    db.session.commit()
    assert len(team_events(org.id)) == count
