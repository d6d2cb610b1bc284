"""Who sees which lead in the browser (DESIGN 4.4): the author, the user or municipality it is
shared with, regional account managers and admins. Viewers get 403 on every lead screen; anyone
else outside a lead's circle gets 404 on its detail, as if it did not exist, and never finds it
in a list."""

from __future__ import annotations

import pytest

from html_helpers import text
from leads_support import RECEIVES, SEES, WHO, build_world

ALL_TAB = {"admin", "regional"}


@pytest.fixture
def world(make_user, make_org):
    return build_world(make_user, make_org)


def _listed(page: str, lead) -> bool:
    return f'href="/leads/{lead.id}"' in page


@pytest.mark.parametrize("who", WHO)
def test_lead_screens_per_person(client, login, world, who):
    user = world.users[who]
    login(user)
    viewer = who == "viewer"

    for key, lead in world.leads.items():
        resp = client.get(f"/leads/{lead.id}")
        expected = 403 if viewer else 200 if who in SEES[key] else 404
        assert resp.status_code == expected, (key, resp.status_code)
        if expected == 404:
            assert lead.title not in text(resp)

    inbox = client.get("/leads/")
    assert inbox.status_code == (403 if viewer else 200)
    shared = client.get("/leads/?tab=shared")
    assert shared.status_code == (403 if viewer else 200)
    everything = client.get("/leads/?tab=all")
    assert everything.status_code == (200 if who in ALL_TAB else 403)
    if not viewer:
        for key, lead in world.leads.items():
            assert _listed(text(inbox), lead) == (who in RECEIVES[key]), ("inbox", key)
            assert _listed(text(shared), lead) == (who == "author"), ("shared", key)
            if who in ALL_TAB:
                assert _listed(text(everything), lead), ("all", key)

    assert client.get("/leads/response-times").status_code == (200 if who in ALL_TAB else 403)
    share = client.get(f"/leads/new?organisation_id={world.org.id}")
    assert share.status_code == (403 if viewer else 200)
    # The header offers the leads to everyone who works with them.
    page = text(client.get("/"))
    assert ('href="/leads/"' in page) == (not viewer)


@pytest.mark.parametrize("who", ["viewer", "local_other", "bizdev"])
def test_posting_to_a_lead_outside_ones_circle_reveals_nothing(client, login, world, who):
    lead = world.leads["municipality"]
    login(world.users[who])
    status = 403 if who == "viewer" else 404
    assert client.post(f"/leads/{lead.id}/comments", data={"body": "Hallo"}).status_code == status
    assert client.post(f"/leads/{lead.id}/status",
                       data={"status": "accepted"}).status_code == status
    assert client.get(f"/leads/{lead.id}/edit").status_code == status
    assert client.post(f"/leads/{lead.id}/edit", data={"title": "x"}).status_code == status
    # A viewer cannot share either.
    resp = client.post(f"/leads/new?organisation_id={world.org.id}", data={
        "type": "risk", "title": "Van buiten", "shared_with": "regional_team"})
    assert resp.status_code == (403 if who == "viewer" else 302)


def test_a_missing_or_deleted_lead_is_not_found(client, login, world):
    from sdd_crm.db import utcnow
    from sdd_crm.extensions import db

    lead = world.leads["region"]
    lead.deleted_at = utcnow()
    db.session.commit()
    login(world.users["admin"])
    assert client.get(f"/leads/{lead.id}").status_code == 404
    assert client.get("/leads/987654").status_code == 404
    assert not _listed(text(client.get("/leads/?tab=all")), lead)


def test_signed_out_users_are_sent_to_the_login(client, world):
    for url in ("/leads/", f"/leads/{world.leads['region'].id}", "/leads/response-times",
                "/notifications/"):
        resp = client.get(url)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
