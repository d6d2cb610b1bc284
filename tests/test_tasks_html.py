"""Tasks in the browser: "Mijn taken" tabs with fixed dates, create with a notification,
edit with the version, complete and reopen, soft delete, bad input, and who may do what."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from html_helpers import assert_good_markup, field_error, form_fields, input_value, switch_user, text
from sdd_crm.extensions import db
from sdd_crm.interactions.models import Task
from sdd_crm.interactions.services import create_interaction, create_task, update_task
from sdd_crm.notifications.models import Notification
from sdd_crm.tasks.queries import TaskFilters, task_list

WEDNESDAY = dt.date(2025, 3, 12)  # its week runs Monday 10 to Sunday 16 March
DUE = {
    "Te laat": dt.date(2025, 3, 10),
    "Vandaag": WEDNESDAY,
    "Zondag": dt.date(2025, 3, 16),
    "Volgende week": dt.date(2025, 3, 17),
    "Ooit": None,
}


@pytest.fixture
def s(make_user, make_org):
    me = make_user("local_account_manager", municipality="GM0505", name="Lies Dordrecht")
    colleague = make_user("regional_account_manager", name="Rik Regio")
    org = make_org(name="Dordtse Scheepswerf B.V.", city="Dordrecht", kvk_number="11112222")
    tasks = {title: create_task({"title": title, "due_date": due, "organisation_id": org.id},
                                actor=me) for title, due in DUE.items()}
    done = create_task({"title": "Al gedaan", "due_date": dt.date(2025, 3, 1)}, actor=me)
    update_task(done, {"status": "done"}, actor=me, partial=True)
    given = create_task({"title": "Voor Rik", "due_date": dt.date(2025, 3, 11),
                         "assignee_id": colleague.id}, actor=me)
    db.session.commit()
    return {"me": me, "colleague": colleague, "org": org, "tasks": tasks, "done": done,
            "given": given}


TABS = {
    ("open", "assigned"): ["Te laat", "Vandaag", "Zondag", "Volgende week", "Ooit"],
    ("overdue", "assigned"): ["Te laat"],
    ("week", "assigned"): ["Vandaag", "Zondag"],
    ("done", "assigned"): ["Al gedaan"],
    ("overdue", "created"): ["Te laat", "Voor Rik"],
    ("week", "created"): ["Vandaag", "Zondag"],
}


@pytest.mark.parametrize("tab, scope", TABS)
def test_tabs_with_fixed_dates(s, tab, scope):
    titles = [t.title for t in db.session.scalars(
        task_list(s["me"], TaskFilters(tab=tab, scope=scope), WEDNESDAY))]
    assert titles == TABS[(tab, scope)]


def test_this_week_on_a_sunday_is_just_that_day(s):
    sunday = dt.date(2025, 3, 16)
    titles = [t.title for t in db.session.scalars(
        task_list(s["me"], TaskFilters(tab="week"), sunday))]
    assert titles == ["Zondag"]


def _titles(resp) -> list[str]:
    return re.findall(r'href="/tasks/\d+">([^<]+)</a>', text(resp))


def test_my_tasks_page(client, login, s, monkeypatch):
    monkeypatch.setattr("sdd_crm.tasks.views.local_today", lambda: WEDNESDAY)
    login(s["me"])
    resp = client.get("/tasks/")
    assert resp.status_code == 200
    assert_good_markup(resp)
    page = text(resp)
    assert _titles(resp) == TABS[("open", "assigned")]
    assert page.count("te laat</span>") == 1  # only the overdue one carries the badge
    assert 'href="/tasks/?tab=week&amp;scope=assigned"' in resp.get_data(as_text=True)
    week = client.get("/tasks/?tab=week")
    assert _titles(week) == ["Vandaag", "Zondag"]
    assert "tot en met zondag 16 mrt. 2025" in text(week)
    assert _titles(client.get("/tasks/?tab=overdue&scope=created")) == ["Te laat", "Voor Rik"]
    assert _titles(client.get("/tasks/?tab=nonsense")) == TABS[("open", "assigned")]
    switch_user(client, login, s["colleague"])
    assert _titles(client.get("/tasks/")) == ["Voor Rik"]


def test_create_assigns_a_colleague_who_is_notified(client, login, s):
    login(s["me"])
    resp = client.get(f"/tasks/new?organisation_id={s['org'].id}")
    assert_good_markup(resp)
    form = form_fields(resp, "/tasks/new")
    assert form["organisation"] == "Dordtse Scheepswerf B.V. (KvK 11112222)"
    assert form["assignee_id"] == str(s["me"].id)  # me by default
    form.update({"title": "Bedrijfsbezoek plannen", "due_date": "2030-05-01",
                 "assignee_id": str(s["colleague"].id), "description": "Met de wethouder"})
    resp = client.post("/tasks/new", data=form)
    assert resp.status_code == 302
    task = db.session.scalar(sa.select(Task).where(Task.title == "Bedrijfsbezoek plannen"))
    assert (task.assignee_id, task.created_by_id, task.organisation_id, task.due_date) == (
        s["colleague"].id, s["me"].id, s["org"].id, dt.date(2030, 5, 1))
    assert db.session.scalar(sa.select(Notification.title).where(
        Notification.user_id == s["colleague"].id, Notification.task_id == task.id)) == (
        "Lies Dordrecht gaf u een taak: Bedrijfsbezoek plannen")
    page = text(client.get(resp.headers["Location"]))
    assert "Rik Regio" in page and "1 mei 2030" in page and "Met de wethouder" in page


BAD = {
    "missing title": ({"title": ""}, "title", "Vul in wat er moet gebeuren."),
    "long description": ({"description": "x" * 25_000}, "description", "Hoogstens 2000 tekens."),
    "bad date": ({"due_date": "volgende week"}, "due_date", "Vul een geldige datum in, bijvoorbeeld 6-12-2026."),
    "unknown organisation": ({"organisation": "Bestaat Niet"}, "organisation",
                             "Geen organisatie gevonden met deze naam of dit KvK-nummer."),
    "unknown colleague": ({"assignee_id": "999999"}, "assignee_id", "Kies een actieve collega."),
}


@pytest.mark.parametrize("case", BAD)
@pytest.mark.parametrize("form", ["new", "edit"])
def test_bad_input_is_refused_with_the_input_kept(client, login, s, form, case):
    changes, field_id, message = BAD[case]
    task = s["tasks"]["Ooit"]
    login(s["me"])
    url = "/tasks/new" if form == "new" else f"/tasks/{task.id}/edit"
    data = {"title": "Nieuwe titel", "due_date": "2030-01-01", "assignee_id": str(s["me"].id),
            "organisation": "", "description": "Toelichting", "version": str(task.version)}
    data.update(changes)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Task))
    resp = client.post(url, data=data)
    assert resp.status_code == 422
    assert message in field_error(resp, field_id)
    assert_good_markup(resp)
    if case != "missing title":
        assert input_value(resp, "title") == "Nieuwe titel"
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Task)) == before
    assert db.session.get(Task, task.id).title == "Ooit"


def test_edit_with_a_stale_version_gets_409_and_keeps_the_input(client, login, s):
    task = s["tasks"]["Zondag"]
    login(s["me"])
    form = form_fields(client.get(f"/tasks/{task.id}/edit"), "/edit")
    update_task(task, {"due_date": dt.date(2025, 3, 20)}, actor=s["me"], partial=True)
    db.session.commit()
    form["title"] = "Zondag, maar anders"
    resp = client.post(f"/tasks/{task.id}/edit", data=form)
    assert resp.status_code == 409
    assert "Iemand anders heeft deze taak intussen gewijzigd." in text(resp)
    assert input_value(resp, "title") == "Zondag, maar anders"
    db.session.expire_all()
    assert db.session.get(Task, task.id).title == "Zondag"
    assert client.post(f"/tasks/{task.id}/edit", data=form_fields(resp, "/edit")).status_code == 302
    db.session.expire_all()
    stored = db.session.get(Task, task.id)
    assert stored.title == "Zondag, maar anders" and stored.organisation_id == s["org"].id


def test_complete_and_reopen_with_post_buttons(client, login, s):
    task = s["tasks"]["Vandaag"]
    login(s["me"])
    page = client.get("/tasks/").get_data(as_text=True)
    assert f'action="/tasks/{task.id}/complete"' in page
    assert client.get(f"/tasks/{task.id}/complete").status_code == 405
    resp = client.post(f"/tasks/{task.id}/complete", data={"next": "/tasks/?tab=week"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/tasks/?tab=week"
    db.session.expire_all()
    stored = db.session.get(Task, task.id)
    assert stored.status == "done" and stored.completed_at is not None
    assert "Vandaag" in _titles(client.get("/tasks/?tab=done"))
    resp = client.post(f"/tasks/{task.id}/reopen", data={"next": "//evil.example/"})
    assert resp.headers["Location"] == f"/tasks/{task.id}"  # never off-site
    db.session.expire_all()
    stored = db.session.get(Task, task.id)
    assert stored.status == "open" and stored.completed_at is None


def test_soft_delete_after_a_confirmation(client, login, s):
    task = s["tasks"]["Ooit"]
    login(s["me"])
    confirm = client.get(f"/tasks/{task.id}/delete")
    assert "Weet u zeker dat u de taak" in text(confirm)
    assert client.post(f"/tasks/{task.id}/delete",
                       data=form_fields(confirm, "/delete")).status_code == 302
    db.session.expire_all()
    assert db.session.get(Task, task.id).deleted_at is not None
    assert client.get(f"/tasks/{task.id}").status_code == 404
    assert "Ooit" not in _titles(client.get("/tasks/"))


def test_who_may_see_and_change_a_task(client, login, s, make_user, make_org):
    bystander = make_user("business_developer", name="Bas")
    viewer = make_user("viewer")
    task = s["tasks"]["Vandaag"]
    secret = create_interaction({"organisation_id": s["org"].id, "type": "visit",
                                 "date": dt.date.today(), "subject": "Overname",
                                 "confidential": True,
                                 "follow_ups": [{"title": "Overname bespreken"}]}, actor=s["me"])
    db.session.commit()
    hidden = db.session.scalar(sa.select(Task).where(Task.interaction_id == secret.id))
    login(bystander)
    assert client.get(f"/tasks/{task.id}").status_code == 200
    for url in (f"/tasks/{task.id}/edit", f"/tasks/{task.id}/delete"):
        assert client.get(url).status_code == 403
    assert client.post(f"/tasks/{task.id}/complete").status_code == 403
    assert client.get(f"/tasks/{hidden.id}").status_code == 404  # follows a confidential visit
    assert client.post(f"/tasks/{hidden.id}/complete").status_code == 404
    switch_user(client, login, viewer)
    for url in ("/tasks/", "/tasks/new", f"/tasks/{task.id}", "/tasks/calendar"):
        assert client.get(url).status_code == 403, url
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == "open"
    switch_user(client, login, s["me"])
    page = text(client.get(f"/tasks/{hidden.id}"))
    assert "Overname bespreken" in page and "Naar aanleiding van" in page


def test_task_list_statement_count_does_not_grow_with_rows(client, login, s, count_queries,
                                                           make_org):
    def add(n):
        for i in range(n):
            org = make_org(name=f"Firma {i} {n}", city="Sliedrecht")
            create_task({"title": f"Taak {i}", "due_date": dt.date(2030, 1, 1 + i % 28),
                         "organisation_id": org.id, "assignee_id": s["colleague"].id},
                        actor=s["colleague"])
        db.session.commit()

    login(s["colleague"])
    add(3)
    with count_queries() as few:
        assert len(_titles(client.get("/tasks/?scope=created"))) == 3
    add(27)
    with count_queries() as many:
        assert len(_titles(client.get("/tasks/?scope=created"))) == 30
    assert few.count == many.count, many.statements
