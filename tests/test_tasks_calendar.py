"""The personal calendar feed (ICS): the subscribe page, a secret URL whose hash alone is stored,
regeneration (the old URL stops working), and RFC 5545 output that a real parser reads back."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import icalendar
import pytest
import sqlalchemy as sa

from html_helpers import switch_user, text
from sdd_crm.auth.models import User
from sdd_crm.extensions import db
from sdd_crm.interactions.models import Task
from sdd_crm.interactions.services import create_interaction, create_task, delete_task, update_task
from sdd_crm.organisations.services import set_account_team_member
from sdd_crm.tasks.calendar import escape_text, fold

LONG = ("Offerte voor het warmtenet, de zonnepanelen; en de laadpalen bespreken met de "
        "directie — één keer, twee keer, ‘drie’ keer 🚢")


@pytest.fixture
def s(make_user, make_org):
    me = make_user("local_account_manager", municipality="GM0505", name="Lies Dordrecht")
    author = make_user("regional_account_manager", name="Rik Regio")
    org = make_org(name="Werf, Smit & Zn; Dordrecht", city="Dordrecht")
    other = make_org(name="Sliedrechtse Baggeraars B.V.", city="Sliedrecht")
    due = dt.date(2030, 4, 2)
    tasks = {
        "long": create_task({"title": LONG, "due_date": due, "organisation_id": org.id,
                             "description": "Regel één\nRegel twee, met; tekens\\slash"},
                            actor=me),
        "plain": create_task({"title": "Bellen", "due_date": dt.date(2030, 4, 3)}, actor=me),
        "no_date": create_task({"title": "Zonder datum"}, actor=me),
        "done": create_task({"title": "Al gedaan", "due_date": due}, actor=me),
        "deleted": create_task({"title": "Weggegooid", "due_date": due}, actor=me),
        "someone_else": create_task({"title": "Van Rik", "due_date": due}, actor=author),
    }
    update_task(tasks["done"], {"status": "done"}, actor=me, partial=True)
    delete_task(tasks["deleted"], actor=me)
    # A confidential visit I may not see, whose follow-up is nevertheless assigned to me.
    secret = create_interaction({"organisation_id": other.id, "type": "visit",
                                 "date": dt.date.today(), "subject": "Overname",
                                 "confidential": True,
                                 "follow_ups": [{"title": "Overname voorbereiden",
                                                 "due_date": due, "assignee_id": me.id}]},
                                actor=author)
    db.session.commit()
    return {"me": me, "author": author, "org": org, "other": other, "tasks": tasks,
            "secret": secret}


def _subscribe(client) -> tuple[str, str]:
    resp = client.post("/tasks/calendar")
    assert resp.status_code == 200
    url = re.search(r'id="agenda-adres">([^<]+)<', text(resp)).group(1)
    return url, url.split("/tasks/calendar/", 1)[1][:-len(".ics")]


def test_subscribe_page_shows_the_url_once_and_stores_only_its_hash(client, login, s):
    login(s["me"])
    page = text(client.get("/tasks/calendar"))
    assert "Abonneer in Outlook" in page and "U heeft nog geen agenda-adres." in page
    url, secret = _subscribe(client)
    assert url.startswith("http://localhost/tasks/calendar/") and url.endswith(".ics")
    db.session.expire_all()
    stored = db.session.get(User, s["me"].id).calendar_token_hash
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(db.session.execute(sa.select(User.__table__)).all())
    again = text(client.get("/tasks/calendar"))
    assert secret not in again and "U heeft al een agenda-adres." in again


def test_the_feed_parses_back_with_folding_and_escaping(client, login, s):
    login(s["me"])
    url, secret = _subscribe(client)
    client.post("/logout")  # Outlook has no session: the secret is the key
    resp = client.get(f"/tasks/calendar/{secret}.ics")
    assert resp.status_code == 200
    assert resp.mimetype == "text/calendar"
    raw = resp.get_data()
    # RFC 5545 3.1: CRLF everywhere, no line longer than 75 octets, folds start with a space.
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    lines = raw.split(b"\r\n")[:-1]
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines)  # the long title was folded
    for line in lines:
        line.decode("utf-8")  # never folded inside a multi-byte character

    calendar = icalendar.Calendar.from_ical(raw)
    assert str(calendar["VERSION"]) == "2.0" and "SDD CRM" in str(calendar["PRODID"])
    events = {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {f"{LONG} – Werf, Smit & Zn; Dordrecht", "Bellen"}
    long = events[f"{LONG} – Werf, Smit & Zn; Dordrecht"]
    assert long.decoded("DTSTART") == dt.date(2030, 4, 2)
    assert long.decoded("DTEND") == dt.date(2030, 4, 3)
    assert str(long["UID"]) == f"task-{s['tasks']['long'].id}@sdd-crm"
    assert "DTSTAMP" in long
    assert str(long["DESCRIPTION"]).startswith("Regel één\nRegel twee, met; tekens\\slash\n\n")
    assert str(long["DESCRIPTION"]).endswith(f"/tasks/{s['tasks']['long'].id}")
    assert "Overname" not in raw.decode()  # the confidential visit's follow-up stays out
    # The UID stays the same across fetches, so Outlook updates instead of duplicating.
    update_task(s["tasks"]["plain"], {"title": "Bellen (verzet)"}, actor=s["me"], partial=True)
    db.session.commit()
    later = icalendar.Calendar.from_ical(client.get(f"/tasks/calendar/{secret}.ics").data)
    uids = {str(e["SUMMARY"]): str(e["UID"]) for e in later.walk("VEVENT")}
    assert uids["Bellen (verzet)"] == str(events["Bellen"]["UID"])


def test_the_confidential_follow_up_appears_once_its_visit_becomes_visible(client, login, s,
                                                                          make_user):
    login(s["me"])
    _, secret = _subscribe(client)
    assert "Overname voorbereiden" not in client.get(f"/tasks/calendar/{secret}.ics").get_data(
        as_text=True)
    # Only admins and the strategic manager change the team (DESIGN 4.4).
    set_account_team_member(s["other"], s["me"], "local", actor=make_user("admin"))
    db.session.commit()
    assert "Overname voorbereiden" in client.get(f"/tasks/calendar/{secret}.ics").get_data(
        as_text=True)


def test_regenerating_the_secret_retires_the_old_url(client, login, s):
    login(s["me"])
    _, old = _subscribe(client)
    assert client.get(f"/tasks/calendar/{old}.ics").status_code == 200
    page = text(client.get("/tasks/calendar"))
    assert "Nieuw agenda-adres maken" in page
    _, new = _subscribe(client)
    assert new != old
    assert client.get(f"/tasks/calendar/{old}.ics").status_code == 404
    assert client.get(f"/tasks/calendar/{new}.ics").status_code == 200


@pytest.mark.parametrize("secret", ["onbekend", "x" * 43, "a" * 200, "%00", "..%2F..%2Fetc"])
def test_unknown_or_malformed_secrets_are_404(client, secret):
    assert client.get(f"/tasks/calendar/{secret}.ics").status_code == 404


def test_a_deactivated_users_feed_stops(client, login, s):
    login(s["me"])
    _, secret = _subscribe(client)
    user = db.session.get(User, s["me"].id)
    user.active = False
    db.session.commit()
    assert client.get(f"/tasks/calendar/{secret}.ics").status_code == 404


def test_each_users_feed_holds_only_their_own_tasks(client, login, s):
    login(s["me"])
    _, mine = _subscribe(client)
    switch_user(client, login, s["author"])
    _, his = _subscribe(client)
    feed = client.get(f"/tasks/calendar/{his}.ics").get_data(as_text=True)
    assert "SUMMARY:Van Rik" in feed and "Bellen" not in feed
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Task)) == 7


def test_text_escaping_and_folding_rules():
    assert escape_text("a,b;c\\d\r\ne\nf\x07") == "a\\,b\\;c\\\\d\\ne\\nf"
    folded = fold("SUMMARY:" + "é" * 80)
    parts = folded.split("\r\n")
    assert all(len(p.encode()) <= 75 for p in parts)
    assert all(p.startswith(" ") for p in parts[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == "SUMMARY:" + "é" * 80
    assert fold("kort") == "kort"
