"""Overdue-task reminders (issue 13, scheduled work): one notification a morning for each active
user with open tasks past their due date, in their own language, linking to the overdue tab;
never twice on one day, whatever runs it again."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from sdd_crm.extensions import db
from sdd_crm.i18n import local_today
from sdd_crm.interactions.models import Task
from sdd_crm.jobs import schedule
from sdd_crm.jobs.models import Job
from sdd_crm.notifications.models import Notification
from sdd_crm.tasks import reminders


@pytest.fixture
def only_reminders(monkeypatch):
    monkeypatch.setattr(schedule, "_REGISTRY", {"task_reminders": schedule.get("task_reminders")})


def _task(user, days: int, status: str = "open", **fields) -> Task:
    task = Task(title=f"Bellen {days}", assignee_id=user.id, created_by_id=user.id,
                due_date=local_today() + dt.timedelta(days=days), status=status, **fields)
    db.session.add(task)
    db.session.flush()
    return task


def _reminders(user) -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Notification).where(
        Notification.user_id == user.id, Notification.kind == reminders.KIND)))


def test_each_user_with_overdue_tasks_gets_one_reminder_in_their_language(
        app, make_user, only_reminders):
    anna, bram = make_user(), make_user(locale="en")
    done, gone, away = make_user(), make_user(), make_user()
    _task(anna, -3), _task(anna, -1), _task(anna, 0), _task(anna, 5)  # 2 overdue
    _task(bram, -10)
    _task(done, -2, status="done")
    _task(gone, -2, deleted_at=dt.datetime.now(dt.UTC))
    away.active = False
    _task(away, -2)
    db.session.commit()

    assert schedule.run_due() == ["task_reminders"]
    (reminder,) = _reminders(anna)
    assert reminder.title == "U heeft 2 verlopen taken" and reminder.link == "/tasks/?tab=overdue"
    assert [n.title for n in _reminders(bram)] == ["You have 1 overdue task"]
    assert _reminders(done) == _reminders(gone) == _reminders(away) == []
    job = db.session.scalars(sa.select(Job).where(Job.kind == reminders.JOB_KIND)).one()
    assert job.status == "finished" and job.result == {"notified": 2}


def test_a_second_run_on_the_same_day_reminds_nobody_again(app, make_user):
    anna = make_user()
    _task(anna, -1)
    db.session.commit()
    since = reminders.start_of_day(local_today())
    assert reminders.remind(local_today(), since) == 1
    db.session.commit()
    assert reminders.remind(local_today(), since) == 0  # an RQ retry, a second scheduler
    assert len(_reminders(anna)) == 1
    # The next morning: again, while the task is still open and overdue.
    tomorrow = local_today() + dt.timedelta(days=1)
    assert reminders.remind(tomorrow, reminders.start_of_day(tomorrow)) == 1
