"""Asking to join an account team (DESIGN 4.4, issue 11 point 4): nobody widens their own
access, but an account manager outside the team may ask. The request — a short reason and the
role wanted — is visible to the organisation's strategic manager and admins (on the
organisation page, on *Mijn accounts* and as a notification); they approve (the requester joins
through the audited team service) or decline with an optional reason; the requester sees the
state; one open request per user and organisation; nobody decides their own request.

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
from sdd_crm.notifications.models import Notification
from sdd_crm.organisations import join_requests
from sdd_crm.organisations.models import AccountTeamMember, AccountTeamRequest
from sdd_crm.organisations.services import set_account_team_member

SECRET_SUBJECT = "Vertrouwelijk: sluiting van de werf"
REASON = "Ik begeleid hun uitbreiding naar Dordrecht."


@pytest.fixture
def w(client, make_user, make_org, api_headers):
    users = {
        "admin": make_user("admin", name="Anna Admin"),
        "strategic": make_user("regional_account_manager", name="Sven Strategisch"),
        "regional": make_user("regional_account_manager", name="Rob Regio"),
        "asker": make_user("local_account_manager", municipality="GM0505", name="Lotte Dordrecht"),
        "other_local": make_user("local_account_manager", municipality="GM0590",
                                 name="Piet Papendrecht"),
        "member": make_user("local_account_manager", municipality="GM0610", name="Mo Lid"),
        "bizdev": make_user("business_developer", name="Bas Bizdev"),
        "viewer": make_user("viewer", name="Vera Viewer"),
        "author": make_user("local_account_manager", municipality="GM0642", name="Ank Auteur"),
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


def page(client, url) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    return html.unescape(resp.get_data(as_text=True))


def team(org_id) -> set[tuple[int, str]]:
    db.session.expire_all()
    return {tuple(row) for row in db.session.execute(
        sa.select(AccountTeamMember.user_id, AccountTeamMember.team_role)
        .where(AccountTeamMember.organisation_id == org_id)).all()}


def requests(org_id) -> list[AccountTeamRequest]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AccountTeamRequest).where(
        AccountTeamRequest.organisation_id == org_id).order_by(AccountTeamRequest.id)))


def sees_secret(client, w, who) -> bool:
    resp = client.get(f"/api/v1/interactions/{w['secret'].id}", headers=w["headers"][who])
    assert resp.status_code in (200, 404)
    return resp.status_code == 200


def notifications_of(user) -> list[Notification]:
    return list(db.session.scalars(sa.select(Notification).where(
        Notification.user_id == user.id, Notification.kind == "team_request")))


def ask(client, login, w, who="asker", role="local", reason=REASON):
    login(w["users"][who])
    return client.post(f"/organisations/{w['org'].id}/join-requests",
                       data={"team_role": role, "reason": reason})


def switch(client, login, user):
    client.post("/logout")
    login(user)


def test_ask_see_the_state_and_get_approved_by_the_strategic_manager(client, login, w):
    org, u = w["org"], w["users"]
    login(u["asker"])
    body = page(client, f"/organisations/{org.id}")
    assert "Vragen om toe te treden" in body and "Teamlid toevoegen" not in body
    assert not sees_secret(client, w, "asker")

    resp = ask(client, login, w)
    assert resp.status_code == 302
    [req] = requests(org.id)
    assert (req.user_id, req.team_role, req.reason, req.status) == (
        u["asker"].id, "local", REASON, "open")
    body = page(client, f"/organisations/{org.id}")
    assert "als Lokaal accountmanager: wacht op een besluit" in body
    assert "Vragen om toe te treden" not in body  # no second form while one is open
    assert "wacht op een besluit" in page(client, "/accounts/")
    # Asking opens nothing yet.
    assert team(org.id) == {(u["strategic"].id, "strategic"), (u["member"].id, "local")}
    assert not sees_secret(client, w, "asker")
    # One open request per user and organisation.
    again = ask(client, login, w)
    assert again.status_code == 409
    assert "al een verzoek ingediend" in html.unescape(again.get_data(as_text=True))
    assert len(requests(org.id)) == 1

    # The strategic manager hears of it, and sees it on the organisation and on Mijn accounts.
    [note] = notifications_of(u["strategic"])
    assert "Lotte Dordrecht" in note.title and note.link == f"/organisations/{org.id}#accountteam"
    assert not notifications_of(u["admin"])  # there is a strategic manager to decide
    switch(client, login, u["strategic"])
    body = page(client, f"/organisations/{org.id}")
    assert "Verzoeken om toe te treden" in body and REASON in body
    mine = page(client, "/accounts/")
    assert "Verzoeken om toe te treden" in mine and "Lotte Dordrecht" in mine and REASON in mine
    # A team member who is not the strategic manager sees no request and cannot decide.
    switch(client, login, u["member"])
    assert REASON not in page(client, f"/organisations/{org.id}")
    assert REASON not in page(client, "/accounts/")

    switch(client, login, u["strategic"])
    resp = client.post(f"/organisations/{org.id}/join-requests/{req.id}/approve")
    assert resp.status_code == 302
    assert (u["asker"].id, "local") in team(org.id)
    assert sees_secret(client, w, "asker")
    [req] = requests(org.id)
    assert (req.status, req.decided_by_id) == ("approved", u["strategic"].id)
    # The addition is audited on the organisation like any other, by the one who approved.
    added = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "organisation", AuditEvent.entity_id == str(org.id),
        AuditEvent.action == "team_add").order_by(AuditEvent.id.desc())).first()
    assert added.user_id == u["strategic"].id
    assert added.changes == {"member": [None, f"Lotte Dordrecht (#{u['asker'].id})"],
                             "team_role": [None, "local"]}
    # The request itself is audited: created by the asker, decided by the strategic manager.
    events = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "account_team_request",
        AuditEvent.entity_id == str(req.id)).order_by(AuditEvent.id)).all()
    assert [(e.action, e.user_id) for e in events] == [
        ("create", u["asker"].id), ("update", u["strategic"].id)]
    assert events[1].changes["status"] == ["open", "approved"]
    # The requester is told and sees the state.
    assert any("goedgekeurd" in n.title for n in notifications_of(u["asker"]))
    switch(client, login, u["asker"])
    assert "als Lokaal accountmanager: goedgekeurd" in page(client, f"/organisations/{org.id}")
    # Handled: no longer in the strategic manager's list.
    switch(client, login, u["strategic"])
    assert REASON not in page(client, "/accounts/")


def test_declined_with_a_reason_the_requester_reads_and_may_ask_again(client, login, w):
    org, u = w["org"], w["users"]
    ask(client, login, w)
    [req] = requests(org.id)
    switch(client, login, u["admin"])
    assert REASON in page(client, f"/organisations/{org.id}")
    resp = client.post(f"/organisations/{org.id}/join-requests/{req.id}/decline",
                       data={"decision_reason": "Het team is compleet."})
    assert resp.status_code == 302
    [req] = requests(org.id)
    assert (req.status, req.decided_by_id, req.decision_reason) == (
        "declined", u["admin"].id, "Het team is compleet.")
    assert u["asker"].id not in {uid for uid, _ in team(org.id)}
    # Deciding twice is refused: the request is no longer open.
    resp = client.post(f"/organisations/{org.id}/join-requests/{req.id}/approve",
                       follow_redirects=True)
    assert "al besloten" in html.unescape(resp.get_data(as_text=True))
    assert u["asker"].id not in {uid for uid, _ in team(org.id)}

    switch(client, login, u["asker"])
    body = page(client, f"/organisations/{org.id}")
    assert "afgewezen" in body and "Het team is compleet." in body
    assert "Vragen om toe te treden" in body  # a new request may follow
    assert not sees_secret(client, w, "asker")
    assert ask(client, login, w, reason="Nieuwe uitbreiding.").status_code == 302
    assert [r.status for r in requests(org.id)] == ["declined", "open"]


@pytest.mark.parametrize("who", ("member", "other_local", "regional", "bizdev", "viewer", "asker"))
def test_only_admins_and_the_strategic_manager_decide(client, login, w, who):
    org, u = w["org"], w["users"]
    ask(client, login, w)
    [req] = requests(org.id)
    switch(client, login, u[who])
    before = team(org.id)
    for action, data in (("approve", {}), ("decline", {"decision_reason": "nee"})):
        resp = client.post(f"/organisations/{org.id}/join-requests/{req.id}/{action}", data=data)
        assert resp.status_code in (403, 404), (action, resp.status_code)
    assert team(org.id) == before
    assert requests(org.id)[0].status == "open"
    assert not sees_secret(client, w, "asker")


def test_nobody_approves_their_own_request(client, login, w):
    """A regional account manager asks to become strategic manager; an admin makes them a
    team member meanwhile — their own request stays for someone else to decide."""
    org, u = w["org"], w["users"]
    resp = ask(client, login, w, who="regional", role="strategic")
    assert resp.status_code == 302
    [req] = requests(org.id)
    assert req.team_role == "strategic"
    # Made strategic manager by an admin: now they manage the team, but not their own request.
    set_account_team_member(org, u["regional"], "strategic", actor=u["admin"])
    db.session.commit()
    assert not join_requests.may_decide(u["regional"], req)
    with pytest.raises(PermissionDenied):
        join_requests.approve(req, actor=u["regional"])
    db.session.rollback()
    resp = client.post(f"/organisations/{org.id}/join-requests/{req.id}/approve")
    assert resp.status_code == 403
    assert requests(org.id)[0].status == "open"
    assert "Verzoeken om toe te treden" not in page(client, f"/organisations/{org.id}")


def test_asking_for_the_strategic_role_is_a_hand_over_when_approved(client, login, w):
    org, u = w["org"], w["users"]
    assert ask(client, login, w, who="regional", role="strategic").status_code == 302
    [req] = requests(org.id)
    switch(client, login, u["strategic"])
    assert client.post(f"/organisations/{org.id}/join-requests/{req.id}/approve").status_code == 302
    members = team(org.id)
    assert (u["regional"].id, "strategic") in members and (u["strategic"].id, "local") in members
    handover = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.entity_type == "organisation", AuditEvent.entity_id == str(org.id),
        AuditEvent.action == "team_handover")).one()
    assert handover.user_id == u["strategic"].id


def test_who_may_ask(client, login, w):
    org, u = w["org"], w["users"]
    # Those who can be in no team, or manage it already, cannot ask.
    for who in ("bizdev", "viewer", "admin"):
        resp = ask(client, login, w, who=who)
        assert resp.status_code == 403, (who, resp.status_code)
        client.post("/logout")
    assert requests(org.id) == []
    # A member is in the team already; a local account manager cannot ask for the strategic role.
    resp = ask(client, login, w, who="member")
    assert resp.status_code == 422 and "al in het accountteam" in html.unescape(
        resp.get_data(as_text=True))
    client.post("/logout")
    resp = ask(client, login, w, who="asker", role="strategic")
    assert resp.status_code == 422
    resp = ask(client, login, w, who="asker", reason="   ")
    assert resp.status_code == 422
    assert "Schrijf kort waarom" in html.unescape(resp.get_data(as_text=True))
    resp = ask(client, login, w, who="asker", reason="x" * 1001)
    assert resp.status_code == 422
    assert requests(org.id) == []
    # Without a strategic manager the admins are told.
    db.session.execute(sa.delete(AccountTeamMember).where(
        AccountTeamMember.organisation_id == org.id, AccountTeamMember.team_role == "strategic"))
    db.session.commit()
    assert ask(client, login, w, who="asker").status_code == 302
    assert len(notifications_of(u["admin"])) == 1


def test_withdraw_is_for_the_requester_only(client, login, w):
    org, u = w["org"], w["users"]
    ask(client, login, w)
    [req] = requests(org.id)
    switch(client, login, u["other_local"])
    assert client.post(f"/organisations/{org.id}/join-requests/{req.id}/withdraw").status_code == 403
    assert requests(org.id)[0].status == "open"
    switch(client, login, u["asker"])
    assert client.post(f"/organisations/{org.id}/join-requests/{req.id}/withdraw").status_code == 302
    assert requests(org.id)[0].status == "withdrawn"
    # A request id under another organisation's address finds nothing.
    other = w["org"].id + 1000
    assert client.post(f"/organisations/{other}/join-requests/{req.id}/withdraw").status_code == 404


def test_approving_an_old_request_never_demotes_a_strategic_manager(client, login, w):
    """A regional account manager asked for a local seat; an admin made them strategic manager
    meanwhile. Approving the old request closes it and leaves the strategic role as it is."""
    org, u = w["org"], w["users"]
    assert ask(client, login, w, who="regional", role="local").status_code == 302
    [req] = requests(org.id)
    set_account_team_member(org, u["regional"], "strategic", actor=u["admin"])
    db.session.commit()
    switch(client, login, u["admin"])
    assert client.post(f"/organisations/{org.id}/join-requests/{req.id}/approve").status_code == 302
    assert (u["regional"].id, "strategic") in team(org.id)
    assert requests(org.id)[0].status == "approved"


def test_a_merge_carries_open_requests_to_the_survivor(w, make_org):
    """Requests to join the merged record's team ask for the survivor's; a duplicate open
    request of the same person is withdrawn with the reason, never left pointing at a record
    that is gone."""
    from sdd_crm.organisations.merge import merge_organisations

    u, merged = w["users"], w["org"]
    survivor = make_org(actor=u["admin"], name="Werf Sliedrecht Holding B.V.", city="Sliedrecht")
    moving = join_requests.ask_to_join(merged, {"team_role": "local", "reason": REASON},
                                       actor=u["asker"])
    twice = join_requests.ask_to_join(merged, {"team_role": "local", "reason": REASON},
                                      actor=u["other_local"])
    kept = join_requests.ask_to_join(survivor, {"team_role": "local", "reason": REASON},
                                     actor=u["other_local"])
    db.session.commit()

    merge_organisations(survivor, merged, actor=u["admin"])
    db.session.commit()

    assert moving.organisation_id == survivor.id and moving.status == "open"
    assert join_requests.open_request(u["asker"].id, survivor.id) is moving
    assert twice.organisation_id == survivor.id and twice.status == "withdrawn"
    assert "Samengevoegd" in twice.decision_reason
    assert kept.status == "open"
    assert {r.id for r in join_requests.open_requests_for(survivor.id)} == {moving.id, kept.id}
