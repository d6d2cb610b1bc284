"""DESIGN 4.4 in the browser: who sees which contact moment, in the list, on its own page, on
the organisation's timeline and in every filtered search; and who may edit it.

Five roles, a second local account manager in another municipality, the author and an
account-team member, against a confidential and a public contact moment in two municipalities.
A confidential contact moment outside the circle is a 404 (its existence does not leak).
"""

from __future__ import annotations

import pytest

from html_helpers import switch_user, text
from interaction_helpers import EXPECTED_VISIBLE, SUBJECTS, build_world
from sdd_crm.extensions import db
from sdd_crm.interactions.models import Interaction

WHO = tuple(EXPECTED_VISIBLE)
# Searches a user might run; none may surface a contact moment outside their circle.
SEARCHES = ("", "?confidential=1", "?confidential=0", "?topic=risk", "?type=visit",
            "?organisation=Sliedrechtse", "?organisation=11112222", "?q=overname",
            "?q=faillissement", "?date_from=2000-01-01", "?author=me")


@pytest.fixture
def world(make_user, make_org):
    return build_world(make_user, make_org)


def _shown(page: str) -> set[str]:
    return {key for key, subject in SUBJECTS.items() if subject in page}


@pytest.mark.parametrize("who", WHO)
def test_list_detail_timeline_and_search_per_user(who, client, login, world):
    login(world.users[who])
    expected = EXPECTED_VISIBLE[who]
    wrong = []

    resp = client.get("/interactions/")
    if who == "viewer":
        assert resp.status_code == 403
    else:
        assert resp.status_code == 200
        if _shown(text(resp)) != expected:
            wrong.append(f"list: {sorted(_shown(text(resp)))}")
        for query in SEARCHES:
            page = text(client.get("/interactions/" + query))
            leaked = _shown(page) - expected
            if leaked:
                wrong.append(f"search {query!r} leaked {sorted(leaked)}")
        by_org = text(client.get(f"/interactions/?organisation_id={world.sliedrecht.id}"))
        if _shown(by_org) != expected & {"sliedrecht_public", "sliedrecht_secret"}:
            wrong.append(f"list of one organisation: {sorted(_shown(by_org))}")

    for key, interaction in world.interactions.items():
        resp = client.get(f"/interactions/{interaction.id}")
        wanted = 403 if who == "viewer" else (200 if key in expected else 404)
        if resp.status_code != wanted:
            wrong.append(f"detail {key}: {resp.status_code}, expected {wanted}")
        if resp.status_code == 404 and SUBJECTS[key] in text(resp):
            wrong.append(f"the 404 of {key} shows its subject")

    timeline = set()
    for org in (world.dordrecht, world.sliedrecht):
        resp = client.get(f"/organisations/{org.id}")
        assert resp.status_code == 200
        timeline |= _shown(text(resp))
        timeline |= _shown(text(client.get(f"/organisations/{org.id}?kind=interaction")))
    if timeline != expected:
        wrong.append(f"timeline: {sorted(timeline)}")
    assert not wrong, "\n".join(wrong)


def test_every_listed_confidential_interaction_has_a_badge(client, login, world):
    login(world.users["author"])
    page = text(client.get("/interactions/"))
    rows = [r for r in page.split("<tr class=\"utrecht-table__row\">")[1:]]
    for key, subject in SUBJECTS.items():
        row = next(r for r in rows if subject in r)
        assert ("vertrouwelijk" in row) == key.endswith("secret"), key
    detail = text(client.get(f"/interactions/{world.interactions['dordrecht_secret'].id}"))
    assert "app-badge--confidential" in detail
    timeline = text(client.get(f"/organisations/{world.dordrecht.id}?kind=interaction"))
    assert timeline.count("app-badge--confidential") == 1


def test_notes_of_a_confidential_interaction_show_only_inside_the_circle(client, login, world):
    secret = world.interactions["dordrecht_secret"]
    login(world.users["team_member"])
    assert "Verslag dordrecht_secret" in text(client.get(f"/interactions/{secret.id}"))
    switch_user(client, login, world.users["regional_account_manager"])
    resp = client.get(f"/interactions/{secret.id}")
    assert resp.status_code == 404
    assert "Verslag dordrecht_secret" not in text(resp)


@pytest.mark.parametrize("who", WHO)
def test_only_the_author_and_admins_edit_or_delete(who, client, login, world):
    """Edit and delete: the author and admins; others who see it 403; outside the circle 404."""
    login(world.users[who])
    may = who in ("author", "admin")
    wrong = []
    for key in ("dordrecht_public", "dordrecht_secret"):
        interaction = world.interactions[key]
        sees = key in EXPECTED_VISIBLE[who]
        wanted = 200 if may else (403 if sees or who == "viewer" else 404)
        for url in (f"/interactions/{interaction.id}/edit", f"/interactions/{interaction.id}/delete"):
            resp = client.get(url)
            if resp.status_code != wanted:
                wrong.append(f"GET {url} ({key}): {resp.status_code}, expected {wanted}")
        if not may:
            resp = client.post(f"/interactions/{interaction.id}/edit", data={
                "type": "call", "date": interaction.date.isoformat(),
                "organisation": "Dordtse Scheepswerf B.V. (KvK 11112222)",
                "subject": "Gekaapt", "version": "1"})
            if resp.status_code != wanted:
                wrong.append(f"POST edit ({key}): {resp.status_code}")
            resp = client.post(f"/interactions/{interaction.id}/delete", data={"version": "1"})
            if resp.status_code != wanted:
                wrong.append(f"POST delete ({key}): {resp.status_code}")
            db.session.expire_all()
            stored = db.session.get(Interaction, interaction.id)
            if stored.subject != SUBJECTS[key] or stored.deleted_at is not None:
                wrong.append(f"{key} was changed by {who}")
    if may:
        page = text(client.get(f"/interactions/{world.interactions['dordrecht_public'].id}"))
        assert "/edit" in page and "/delete" in page
    assert not wrong, "\n".join(wrong)


def test_the_edit_button_shows_only_to_who_may_edit(client, login, world):
    public = world.interactions["sliedrecht_public"]
    login(world.users["regional_account_manager"])
    page = text(client.get(f"/interactions/{public.id}"))
    assert f"/interactions/{public.id}/edit" not in page
    switch_user(client, login, world.users["author"])
    assert f"/interactions/{public.id}/edit" in text(client.get(f"/interactions/{public.id}"))


def test_anonymous_users_are_sent_to_login(client, world):
    public = world.interactions["dordrecht_public"]
    for url in ("/interactions/", f"/interactions/{public.id}", "/interactions/new",
                "/interactions/visit", f"/interactions/{public.id}/edit",
                "/interactions/organisations.json?q=werf"):
        resp = client.get(url)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login"), url
