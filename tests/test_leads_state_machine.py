"""The lead status flow (DESIGN 2): new → accepted → in progress → won or lost; new → declined
with a reason. Only the receiving side moves a lead (DESIGN 4.4). Through the service and
through the HTML screens: every allowed step, every refused one leaves the lead untouched."""

from __future__ import annotations

import datetime as dt

import pytest

from html_helpers import field_error, switch_user, text
from leads_support import build_world, events, notifications_of, reload
from sdd_crm.extensions import db
from sdd_crm.leads.services import TRANSITIONS, change_status
from sdd_crm.exceptions import PermissionDenied
from sdd_crm.exceptions import ConflictError, ValidationError

# Paths from `new` to each status, taken by the receiving side.
PATHS = {
    "new": [],
    "accepted": ["accepted"],
    "in_progress": ["accepted", "in_progress"],
    "won": ["accepted", "in_progress", "won"],
    "lost": ["accepted", "in_progress", "lost"],
    "declined": ["declined"],
}
ALLOWED = [(frm, to) for frm, tos in TRANSITIONS.items() for to in sorted(tos)]
ALL = ["new", "accepted", "in_progress", "won", "lost", "declined"]
FORBIDDEN = [(frm, to) for frm in ALL for to in ALL if to not in TRANSITIONS[frm]]


@pytest.fixture
def world(make_user, make_org):
    return build_world(make_user, make_org)


def _bring_to(lead, status, actor):
    for step in PATHS[status]:
        change_status(lead, step, actor=actor, reason="Geen ruimte" if step == "declined" else None)
    db.session.commit()


def _snapshot(lead):
    lead = reload(lead)
    return (lead.status, lead.version, lead.responded_at, lead.decline_reason, len(events(lead)))


def test_the_transition_table_is_the_designed_flow():
    assert {k: set(v) for k, v in TRANSITIONS.items()} == {
        "new": {"accepted", "declined"}, "accepted": {"in_progress"},
        "in_progress": {"won", "lost"}, "won": set(), "lost": set(), "declined": set()}


# --- Through the service -----------------------------------------------------------------------

@pytest.mark.parametrize("frm, to", ALLOWED)
def test_every_allowed_transition_is_recorded_with_who_and_when(world, frm, to):
    lead, receiver = world.leads["municipality"], world.users["local_receiving"]
    _bring_to(lead, frm, receiver)
    before = dt.datetime.now(dt.timezone.utc)
    change_status(lead, to, actor=receiver, reason="Geen ruimte" if to == "declined" else None)
    db.session.commit()
    lead = reload(lead)
    assert lead.status == to
    last = events(lead)[-1]
    assert (last.from_status, last.to_status, last.user_id) == (frm, to, receiver.id)
    assert before - dt.timedelta(seconds=5) <= last.at <= dt.datetime.now(dt.timezone.utc)
    assert [e.to_status for e in events(lead)] == ["new", *PATHS[frm], to]
    # The author hears of it, in the author's own language.
    latest = notifications_of(world.users["author"])[-1]
    assert latest.title.startswith("Uw signaal 'Zoekt 2 hectare' is nu: ")


def test_responded_at_is_set_when_leaving_new_and_kept_afterwards(world):
    lead, receiver = world.leads["region"], world.users["regional"]
    assert lead.responded_at is None
    change_status(lead, "accepted", actor=receiver)
    db.session.commit()
    first = reload(lead).responded_at
    assert first is not None
    change_status(lead, "in_progress", actor=receiver)
    change_status(lead, "won", actor=receiver)
    db.session.commit()
    assert reload(lead).responded_at == first


def test_declining_keeps_the_reason(world):
    lead = world.leads["named"]
    change_status(lead, "declined", actor=world.users["named"], reason="  Geen capaciteit  ")
    db.session.commit()
    lead = reload(lead)
    assert (lead.status, lead.decline_reason) == ("declined", "Geen capaciteit")
    assert events(lead)[-1].note == "Geen capaciteit"


@pytest.mark.parametrize("frm, to", FORBIDDEN)
def test_every_other_transition_is_refused_with_a_dutch_message(world, frm, to):
    lead, receiver = world.leads["municipality"], world.users["local_receiving"]
    _bring_to(lead, frm, receiver)
    before = _snapshot(lead)
    with pytest.raises(ValidationError) as refused:
        change_status(lead, to, actor=receiver, reason="Een reden")
    db.session.rollback()
    assert "kan niet naar" in refused.value.errors["status"]
    assert _snapshot(lead) == before


@pytest.mark.parametrize("who", ["author", "admin", "regional", "bizdev", "local_other",
                                 "named", "viewer"])
def test_only_the_receiving_side_moves_a_lead(world, who):
    lead = world.leads["municipality"]
    before = _snapshot(lead)
    with pytest.raises(PermissionDenied):
        change_status(lead, "accepted", actor=world.users[who])
    db.session.rollback()
    assert _snapshot(lead) == before


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_declining_without_a_reason_is_refused(world, reason):
    lead = world.leads["region"]
    before = _snapshot(lead)
    with pytest.raises(ValidationError) as refused:
        change_status(lead, "declined", actor=world.users["regional"], reason=reason)
    db.session.rollback()
    assert refused.value.errors == {"decline_reason": "Geef aan waarom u het signaal afwijst."}
    assert _snapshot(lead) == before


def test_a_stale_version_is_a_conflict(world):
    lead, receiver = world.leads["region"], world.users["regional"]
    seen = lead.version
    change_status(lead, "accepted", actor=receiver, expected_version=seen)
    db.session.commit()
    with pytest.raises(ConflictError):
        change_status(lead, "declined", actor=receiver, reason="x", expected_version=seen)
    db.session.rollback()
    assert reload(lead).status == "accepted"


# --- Through the HTML screens --------------------------------------------------------------------

def _post_step(client, lead, status, reason=None, version=None):
    version = version if version is not None else reload(lead).version
    data = {"status": status, "version": str(version)}
    if reason is not None:
        data["reason"] = reason
    return client.post(f"/leads/{lead.id}/status", data=data)


def test_the_receiving_side_walks_the_whole_flow_in_the_browser(client, login, world):
    lead = world.leads["municipality"]
    login(world.users["local_receiving"])
    page = text(client.get(f"/leads/{lead.id}"))
    assert "Accepteren" in page and "Afwijzen" in page and "Afsluiten: gewonnen" not in page
    for step, label, next_button in (("accepted", "Geaccepteerd", "In behandeling nemen"),
                                     ("in_progress", "In behandeling", "Afsluiten: gewonnen"),
                                     ("won", "Gewonnen", None)):
        resp = _post_step(client, lead, step)
        assert resp.status_code == 302
        page = text(client.get(resp.headers["Location"]))
        assert f"De status van het signaal is nu: {label}." in page
        if next_button:
            assert next_button in page
    assert "er zijn geen volgende stappen" in page
    # The history says who did what, and when.
    history = page.split('id="geschiedenis"', 1)[1].split("</section>", 1)[0]
    assert history.count("Sanne Sliedrecht") == 3 and history.count("Zoë Zwijndrecht") == 1
    assert "Nieuw → Geaccepteerd" in history and "In behandeling → Gewonnen" in history
    assert reload(lead).status == "won"


def test_lost_and_declined_through_the_browser(client, login, world):
    login(world.users["regional"])
    region = world.leads["region"]
    for step in ("accepted", "in_progress", "lost"):
        assert _post_step(client, region, step).status_code == 302
    assert reload(region).status == "lost"
    switch_user(client, login, world.users["named"])
    named = world.leads["named"]
    resp = _post_step(client, named, "declined", reason="Valt buiten ons programma")
    assert resp.status_code == 302
    page = text(client.get(resp.headers["Location"]))
    assert "Reden van afwijzen" in page and "Valt buiten ons programma" in page
    assert reload(named).decline_reason == "Valt buiten ons programma"


@pytest.mark.parametrize("frm, to", [("accepted", "new"), ("declined", "accepted"),
                                     ("won", "lost"), ("new", "won"), ("new", "in_progress"),
                                     ("in_progress", "accepted"), ("new", "bogus")])
def test_forbidden_steps_in_the_browser_change_nothing(client, login, world, frm, to):
    lead, receiver = world.leads["municipality"], world.users["local_receiving"]
    _bring_to(lead, frm, receiver)
    before = _snapshot(lead)
    login(receiver)
    resp = _post_step(client, lead, to, reason="Een reden")
    assert resp.status_code == 422
    page = text(resp)
    assert "De status is niet gewijzigd." in page
    assert ("kan niet naar" in page) or ("Onbekende status." in page)
    assert _snapshot(lead) == before


def test_declining_without_a_reason_in_the_browser(client, login, world):
    lead = world.leads["municipality"]
    login(world.users["local_receiving"])
    before = _snapshot(lead)
    resp = _post_step(client, lead, "declined", reason="")
    assert resp.status_code == 422
    assert field_error(resp, "reason") == "Geef aan waarom u het signaal afwijst."
    assert _snapshot(lead) == before


@pytest.mark.parametrize("who, status", [("author", 403), ("regional", 403), ("admin", 403),
                                         ("local_other", 404), ("bizdev", 404), ("viewer", 403)])
def test_others_cannot_move_a_lead_in_the_browser(client, login, world, who, status):
    lead = world.leads["municipality"]
    before = _snapshot(lead)
    login(world.users[who])
    resp = _post_step(client, lead, "accepted")
    assert resp.status_code == status
    if who in ("author", "regional", "admin"):
        assert "Alleen de ontvangende kant kan de status van dit signaal wijzigen." in text(resp)
        # ... and they are not offered the buttons in the first place.
        page = text(client.get(f"/leads/{lead.id}"))
        assert "Accepteren" not in page and 'name="reason"' not in page
    assert _snapshot(lead) == before


def test_two_receivers_clicking_at_once_get_a_conflict_not_a_double_step(client, login, world,
                                                                          make_user):
    lead = world.leads["municipality"]
    colleague = make_user("local_account_manager", municipality="GM0610")
    seen = lead.version
    change_status(lead, "accepted", actor=colleague)
    db.session.commit()
    login(world.users["local_receiving"])
    resp = _post_step(client, lead, "declined", reason="Te laat", version=seen)
    assert resp.status_code == 409
    assert "Iemand anders heeft dit signaal intussen gewijzigd." in text(resp)
    assert reload(lead).status == "accepted"
