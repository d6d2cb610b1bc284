"""The admin's start page shows admin work (issue 14, point 10): import rows held for review,
failed background jobs, users (inactive ones, repeated failed logins), open requests to join an
account team, and the queue — each linked to where it is handled; other roles see none of it,
and the block costs a fixed number of statements."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from html_helpers import assert_good_markup, text

from sdd_crm.extensions import db
from sdd_crm.imports.models import ImportReview, ReviewStatus
from sdd_crm.jobs.models import Job, JobOutbox, JobStatus
from sdd_crm.organisations.models import AccountTeamRequest, JoinRequestStatus

NOW = dt.datetime.now(dt.UTC)


def _job(status=JobStatus.FAILED, kind="import", created=None, message="Kolom KvK ontbreekt"):
    job = Job(id=str(uuid.uuid4()), kind=kind, status=status, message=message,
              created_at=created or NOW - dt.timedelta(hours=1))
    db.session.add(job)
    db.session.flush()
    return job


def _held(org, n: int, status=ReviewStatus.PENDING):
    for i in range(n):
        db.session.add(ImportReview(source="leden.xlsx", row_number=i + 2, row_hash=uuid.uuid4().hex,
                                    data={"name": f"Rij {i}"}, candidate_id=org.id, status=status,
                                    created_at=NOW - dt.timedelta(days=3 - i % 3)))
    db.session.flush()


def _fill(make_user, make_org, n: int) -> dict:
    """n of everything an admin handles, plus rows that must not count."""
    org = make_org(name=f"Werf Beheer {n} B.V.")
    _held(org, n)
    _held(org, 2, status=ReviewStatus.MERGED)  # resolved: not waiting
    failed = [_job() for _ in range(n)]
    _job(created=NOW - dt.timedelta(days=30))  # failed long ago: listed, not counted as recent
    _job(status=JobStatus.FINISHED)
    for _ in range(n):
        db.session.add(JobOutbox(job_id=_job(status=JobStatus.QUEUED).id, task="x:y", timeout=60))
    db.session.add(JobOutbox(job_id=_job(status=JobStatus.FINISHED).id, task="x:y", timeout=60,
                             dispatched_at=NOW))
    inactive = []
    for _ in range(n):
        user = make_user("viewer")
        user.active = False
        inactive.append(user)
    slowed = make_user("local_account_manager", name=f"Trage Aanmelder {n}")
    slowed.failed_login_count, slowed.last_failed_login_at = 5, NOW - dt.timedelta(minutes=5)
    stale = make_user("viewer")
    stale.failed_login_count, stale.last_failed_login_at = 5, NOW - dt.timedelta(days=2)  # window over
    asker = make_user("local_account_manager", name=f"Vrager {n}")
    for i in range(n):
        other = make_org(name=f"Team Beheer {n}-{i} B.V.")
        db.session.add(AccountTeamRequest(organisation_id=other.id, user_id=asker.id, reason="Klant"))
    db.session.add(AccountTeamRequest(organisation_id=org.id, user_id=asker.id, reason="Oud",
                                      status=JoinRequestStatus.DECLINED))
    db.session.commit()
    return {"org": org, "failed": failed, "slowed": slowed, "inactive": inactive}


def _block(html: str, name: str) -> str:
    m = re.search(rf'<li data-block="{name}"(.*?)</li>', html, re.DOTALL)
    assert m, name
    return m.group(0)


def test_admin_sees_the_work_with_the_right_counts(client, login, make_user, make_org):
    admin = make_user("admin")
    made = _fill(make_user, make_org, 3)
    login(admin)
    resp = client.get("/")
    assert resp.status_code == 200
    html = text(resp)
    assert "Beheerwerk" in html
    held = _block(html, "held-rows")
    assert 'data-count="3"' in held and 'href="/imports/review"' in held
    assert "3 importregels wachten op beoordeling" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", held))
    assert 'data-count="3"' in _block(html, "failed-jobs")
    users = _block(html, "users")
    # admin, 3 inactive, the slowed one, the stale one, the asker, and make_org's actors
    from sdd_crm.auth.models import User
    total = db.session.query(User).count()
    assert f'data-count="{total}"' in users and 'data-inactive="3"' in users
    assert 'href="/admin/users"' in users
    assert 'data-count="3"' in _block(html, "join-requests")
    assert 'data-count="3"' in _block(html, "outbox") and 'href="/jobs/schedule"' in _block(html, "outbox")
    # The recent failures, newest first, each linked to its job page (at most five).
    failures = re.findall(r'data-job-id="([^"]+)"><a class="utrecht-link" href="/jobs/([^"]+)">', html)
    assert len(failures) == 4 and all(a == b for a, b in failures)
    assert {f.id for f in made["failed"]} <= {a for a, _ in failures}
    assert "Kolom KvK ontbreekt" in html
    # Join requests link to the organisation where they are decided; the slowed user to its page.
    assert html.count("data-join-request=") == 3
    assert f'href="/admin/users/{made["slowed"].id}"' in html, html.split('id="dash-admin-attention"')[1][:1500]
    assert "Trage Aanmelder 3" in html and "5 mislukte aanmeldingen op rij" in html
    assert_good_markup(resp)


def test_an_admin_with_nothing_waiting_gets_next_steps(client, login, make_user):
    login(make_user("admin"))
    html = text(client.get("/"))
    for name in ("held-rows", "failed-jobs", "join-requests", "outbox"):
        assert 'data-count="0"' in _block(html, name)
        assert 'data-attention="false"' in _block(html, name)
    assert "Geen mislukte achtergrondtaken." in html
    assert "Geen open verzoeken en geen accounts met herhaald mislukte aanmeldingen." in html


@pytest.mark.parametrize("role", ["viewer", "local_account_manager", "regional_account_manager",
                                  "business_developer"])
def test_other_roles_do_not_see_admin_work(client, login, make_user, make_org, role):
    _fill(make_user, make_org, 1)
    login(make_user(role))
    html = text(client.get("/"))
    assert "Beheerwerk" not in html and "data-admin-work" not in html
    assert "/imports/review" not in html and "data-job-id" not in html


def test_admin_statement_count_is_pinned(client, login, make_user, make_org, count_queries):
    """The admin block costs four statements whatever is waiting (one for all the counts, then
    the short lists), on top of the personal dashboard's."""
    admin = make_user("admin")
    manager = make_user("local_account_manager")
    login(manager)
    db.session.expire_all()
    with count_queries() as personal:
        client.get("/")
    client.post("/logout")
    login(admin)
    counts = {}
    for n in (1, 7):
        _fill(make_user, make_org, n)
        db.session.expire_all()
        with count_queries() as q:
            assert client.get("/").status_code == 200
        counts[n] = q.count
    assert counts[1] == counts[7] <= personal.count + 4, (counts, personal.count)
