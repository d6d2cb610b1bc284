"""In-app notifications: the list, marking read, opening one, and the unread badge in the header."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from html_helpers import assert_good_markup, switch_user, text
from leads_support import build_world, notifications_of
from sdd_crm.extensions import db
from sdd_crm.notifications.models import Notification
from sdd_crm.notifications.services import notify, unread_count
from sdd_crm.notifications.views import safe_local_link


@pytest.fixture
def world(make_user, make_org):
    return build_world(make_user, make_org)


def _badge(page: str) -> str | None:
    """The badge's visible number and its spoken text, or None without a badge."""
    m = re.search(r'<span class="utrecht-badge-counter" aria-hidden="true">([^<]*)</span>'
                  r'<span class="visually-hidden">\(([^)]*)\)</span>', page)
    return f"{m.group(1)}|{m.group(2)}" if m else None


def _add(user, n, **kw):
    """``n`` more notifications for ``user`` (notify sends one per user per call)."""
    rows = [row for _ in range(n) for row in notify([user.id], "lead_shared", "x", **kw)]
    db.session.commit()
    return rows


def test_sharing_notifies_the_receiving_side_in_their_own_language(world, make_user, make_org):
    from sdd_crm.leads.services import share_lead

    english = make_user("regional_account_manager", locale="en", name="Eve English")
    lead = share_lead({"organisation_id": world.org.id, "type": "risk", "title": "Sluiting",
                       "shared_with": "regional_team"}, actor=world.users["author"])
    db.session.commit()
    assert notifications_of(english)[-1].title == "New lead from Zoë Zwijndrecht: Sluiting"
    assert notifications_of(world.users["regional"])[-1].title == \
        "Nieuw signaal van Zoë Zwijndrecht: Sluiting"
    assert notifications_of(english)[-1].link == f"/leads/{lead.id}"
    assert world.users["author"].id not in [n.user_id for n in
                                            db.session.scalars(sa.select(Notification).where(
                                                Notification.lead_id == lead.id))]


def test_the_list_is_newest_first_with_the_unread_ones_marked(client, login, world):
    user = world.users["named"]
    old = notifications_of(user)[0]
    old.read_at = dt.datetime.now(dt.timezone.utc)
    notify([user.id], "lead_comment", "Nieuwste melding", link="/leads/1")
    db.session.commit()
    login(user)
    resp = client.get("/notifications/")
    assert resp.status_code == 200
    assert_good_markup(resp)
    page = text(resp)
    assert page.index("Nieuwste melding") < page.index(old.title)
    items = re.findall(r'<li class="utrecht-unordered-list__item app-notification([^"]*)"', page)
    assert items == [" app-notification--unread", ""]
    assert page.count("Ongelezen</span>") == 1


def test_the_header_shows_the_unread_count_on_every_page(client, login, world):
    user = world.users["local_receiving"]
    _add(user, 2)
    login(user)
    for url in ("/", "/organisations/", "/leads/", f"/leads/{world.leads['municipality'].id}"):
        assert _badge(text(client.get(url))) == "3|3 ongelezen meldingen", url
    notify([user.id], "x", "y")
    db.session.commit()
    # One of each kind: the spoken text is singular for one.
    switch_user(client, login, world.users["named"])
    assert _badge(text(client.get("/"))) == "1|1 ongelezen melding"
    switch_user(client, login, world.users["bizdev"])
    assert _badge(text(client.get("/"))) is None
    assert "Meldingen</a>" in text(client.get("/"))


def test_above_99_the_badge_says_99_plus_and_counting_stops_at_100(client, login, world):
    user = world.users["bizdev"]
    db.session.add_all(Notification(user_id=user.id, kind="x", title=f"m{n}") for n in range(130))
    db.session.commit()
    assert unread_count(user) == 100
    login(user)
    assert _badge(text(client.get("/"))) == "99+|meer dan 99 ongelezen meldingen"


def test_the_badge_costs_one_query_per_page(client, login, world, count_queries):
    login(world.users["regional"])
    client.get("/")
    with count_queries() as q:
        client.get("/")
    assert sum("notification" in s.lower() for s in q.statements) == 1
    client.post("/logout")
    with count_queries() as q:
        client.get("/login")
    assert not any("notification" in s.lower() for s in q.statements)


def test_mark_one_read_and_mark_all_read(client, login, world):
    user = world.users["local_receiving"]
    extra = _add(user, 2)
    login(user)
    resp = client.post(f"/notifications/{extra[0].id}/read")
    assert resp.status_code == 302
    assert "De melding is als gelezen gemarkeerd." in text(client.get(resp.headers["Location"]))
    assert unread_count(user) == 2
    assert _badge(text(client.get("/"))) == "2|2 ongelezen meldingen"
    resp = client.post("/notifications/read-all")
    assert resp.status_code == 302
    assert "Alle meldingen zijn als gelezen gemarkeerd." in text(client.get("/notifications/"))
    assert unread_count(user) == 0
    assert _badge(text(client.get("/"))) is None
    assert "Ongelezen</span>" not in text(client.get("/notifications/"))


def test_opening_a_notification_marks_it_read_and_follows_its_link(client, login, world):
    user = world.users["local_receiving"]
    note = notifications_of(user)[0]
    login(user)
    page = text(client.get("/notifications/"))
    # A plain link (issue 14 point 10): it opens in a new tab too, and marks it read.
    assert f'href="/notifications/{note.id}/open"' in page
    resp = client.get(f"/notifications/{note.id}/open")
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"/leads/{world.leads['municipality'].id}"
    db.session.refresh(note)
    assert note.read_at is not None
    assert client.get(resp.headers["Location"]).status_code == 200


@pytest.mark.parametrize("link", ["https://evil.example/x", "//evil.example/x", "/\\evil.example",
                                  "javascript:alert(1)", "evil.example", "", None,
                                  "/\t/evil.example"])
def test_opening_never_redirects_off_site(client, login, world, link):
    user = world.users["bizdev"]
    [note] = notify([user.id], "x", "Verdacht", link=link)
    db.session.commit()
    login(user)
    resp = client.post(f"/notifications/{note.id}/open")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/notifications/"
    db.session.refresh(note)
    assert note.read_at is not None


def test_local_links_are_kept():
    assert safe_local_link("/leads/5") == "/leads/5"
    assert safe_local_link("/leads/5?tab=inbox#reacties") == "/leads/5?tab=inbox#reacties"


def test_another_users_notification_is_not_found(client, login, world):
    note = notifications_of(world.users["local_receiving"])[0]
    login(world.users["named"])
    assert client.post(f"/notifications/{note.id}/open").status_code == 404
    assert client.get(f"/notifications/{note.id}/open").status_code == 404
    assert client.post(f"/notifications/{note.id}/read").status_code == 404
    assert client.post("/notifications/987654/read").status_code == 404
    db.session.refresh(note)
    assert note.read_at is None
    client.post("/notifications/read-all")
    db.session.refresh(note)
    assert note.read_at is None  # "all" means all of mine


def test_marking_read_needs_a_post(client, login, world):
    note = notifications_of(world.users["named"])[0]
    login(world.users["named"])
    # Opening one is a link (GET, issue 14 point 10); marking without opening needs a POST.
    assert client.get(f"/notifications/{note.id}/read").status_code == 405
    assert client.get("/notifications/read-all").status_code == 405


def test_the_badge_speaks_english_to_an_english_user(client, login, make_user):
    user = make_user("local_account_manager", locale="en")
    notify([user.id], "x", "a")
    notify([user.id], "x", "b")
    db.session.commit()
    login(user)
    page = text(client.get("/"))
    assert _badge(page) == "2|2 unread notifications"
    assert ">Leads</a>" in page
