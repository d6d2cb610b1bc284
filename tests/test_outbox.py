"""Jobs are never lost (issue 13 point 1): the outbox between a committed change and RQ.

Here RQ runs jobs at once (``inline``, as in every test) and "Redis down" is an enqueue that
raises redis's ConnectionError; tests/test_outbox_redis.py stops a real Redis server.
"""

from __future__ import annotations

import datetime as dt

import pytest
import redis
import sqlalchemy as sa

from sdd_crm.db import utcnow
from sdd_crm.extensions import db
from sdd_crm.jobs import dispatcher, outbox, queue
from sdd_crm.jobs.models import Job, JobOutbox
from sdd_crm.valuechains import jobs as criticality_jobs


@pytest.fixture
def redis_down(monkeypatch):
    """Every hand-over to RQ fails as it does with Redis stopped; ``.up()`` brings it back."""
    real = outbox.enqueue_now
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(outbox, "enqueue_now", refuse)

    class Switch:
        attempts = calls

        @staticmethod
        def up():
            monkeypatch.setattr(outbox, "enqueue_now", real)

    return Switch


def _rows(job_id: str) -> list[JobOutbox]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(JobOutbox).where(JobOutbox.job_id == job_id)))


def _job(job_id: str) -> Job:
    db.session.expire_all()
    return db.session.get(Job, job_id)


def test_a_job_is_recorded_with_the_change_and_handed_over_after_the_commit(app):
    job = criticality_jobs.create_job()
    criticality_jobs.enqueue_job(job)
    (row,) = _rows(job.id)
    assert row.dispatched_at is None and row.task.endswith(":recompute_criticality")
    assert _job(job.id).status == "queued"  # nothing runs before the commit
    db.session.commit()
    (row,) = _rows(job.id)
    assert row.dispatched_at is not None and row.attempts == 1 and row.last_error is None
    assert _job(job.id).status == "finished"


def test_a_rolled_back_change_asks_for_no_job(app):
    job = criticality_jobs.create_job()
    criticality_jobs.enqueue_job(job)
    job_id = job.id
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobOutbox)
                             .where(JobOutbox.job_id == job_id)) == 0
    assert db.session.get(Job, job_id) is None


def test_with_redis_down_the_change_commits_and_the_job_waits_in_the_outbox(app, redis_down):
    job = criticality_jobs.create_job()
    criticality_jobs.enqueue_job(job)
    db.session.commit()  # the change stands although RQ could not take the job
    (row,) = _rows(job.id)
    assert row.dispatched_at is None and row.attempts == 1
    assert row.last_error.startswith("ConnectionError")
    assert row.available_at > utcnow()  # tried again after a pause, not in a tight loop
    assert _job(job.id).status == "queued"
    # Rounds before the pause is over leave it alone; rounds while Redis is down keep it.
    assert dispatcher.run_round() == 0 and len(redis_down.attempts) == 1
    later = utcnow() + dt.timedelta(minutes=2)
    assert dispatcher.run_round(now=later) == 0 and len(redis_down.attempts) == 2
    (row,) = _rows(job.id)
    assert row.attempts == 2 and row.dispatched_at is None
    redis_down.up()
    assert dispatcher.run_round(now=later + dt.timedelta(minutes=2)) == 1
    (row,) = _rows(job.id)
    assert row.dispatched_at is not None and row.attempts == 3
    assert _job(job.id).status == "finished"
    assert dispatcher.run_round(now=later + dt.timedelta(minutes=4)) == 0  # sent once


def test_a_row_is_claimed_once_whatever_the_number_of_dispatchers(app, redis_down):
    job = criticality_jobs.create_job()
    criticality_jobs.enqueue_job(job)
    db.session.commit()
    (row,) = _rows(job.id)
    redis_down.up()
    sent = []
    real = outbox.enqueue_now

    def counting(*args, **kwargs):
        sent.append(args)
        # A second dispatcher's round while this one has claimed the row: it finds nothing.
        assert outbox._dispatch_one(row.id, utcnow()) == 0
        return real(*args, **kwargs)

    outbox.enqueue_now = counting
    try:
        assert outbox._dispatch_one(row.id, utcnow() + dt.timedelta(minutes=5)) == 1
    finally:
        outbox.enqueue_now = real
    assert len(sent) == 1 and _job(job.id).status == "finished"


def test_a_job_whose_rq_job_went_missing_is_handed_over_again(app, monkeypatch):
    """A dispatcher that died between its claim and the enqueue (or a Redis that lost its
    data): the Job row is still queued, its row says dispatched, RQ has no such job."""
    job = criticality_jobs.create_job()
    criticality_jobs.enqueue_job(job)
    monkeypatch.setattr(outbox, "_enqueue", lambda *a, **k: None)  # "claimed, then died"
    db.session.commit()
    monkeypatch.undo()
    (row,) = _rows(job.id)
    assert row.dispatched_at is not None and _job(job.id).status == "queued"
    assert outbox.redispatch_lost() == 0  # not before LOST_AFTER: it may just be waiting
    later = utcnow() + outbox.LOST_AFTER + dt.timedelta(seconds=5)
    assert dispatcher.run_round(now=later) == 1
    assert _job(job.id).status == "finished"
    assert outbox.redispatch_lost(now=later + dt.timedelta(minutes=5)) == 0  # finished: left alone


def test_the_job_keeps_the_id_of_the_request_that_asked_for_it(client, login, make_user):
    admin = make_user("admin")
    login(admin)
    resp = client.post("/chains/criticality/recompute", headers={"X-Request-ID": "req-outbox-1"})
    assert resp.status_code in (302, 303)
    job = db.session.scalars(sa.select(Job).where(Job.kind == criticality_jobs.JOB_KIND)
                             .order_by(Job.created_at.desc())).first()
    (row,) = _rows(job.id)
    assert row.request_id == job.request_id == "req-outbox-1"


def test_enqueue_refuses_options_the_outbox_would_drop(app):
    job = criticality_jobs.create_job()
    with pytest.raises(TypeError):
        queue.enqueue_after_commit(criticality_jobs.recompute_criticality, job.id, job_id=job.id,
                                   job_timeout=60, depends_on="other")


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _left_running(job_id: str, worker: str) -> None:
    """What a worker that died mid-job leaves: the row says running, by that worker."""
    db.session.execute(sa.update(Job).where(Job.id == job_id).values(
        status="running", worker=worker, started_at=utcnow() - dt.timedelta(minutes=5)))
    db.session.commit()


def test_a_job_whose_worker_died_runs_again_then_fails_visibly(app, monkeypatch):
    import socket

    from sdd_crm.jobs import reaper

    monkeypatch.setitem(app.config, "JOBS", "thread")
    job = criticality_jobs.create_job()
    criticality_jobs.enqueue_job(job)
    monkeypatch.setattr(outbox, "_enqueue", lambda *a, **k: None)  # held: a worker takes it
    db.session.commit()
    dead = f"{socket.gethostname()}:{_dead_pid()}"
    _left_running(job.id, dead)
    alive = f"{socket.gethostname()}:1"  # pid 1 lives: another process's job is left alone
    other = criticality_jobs.create_job()
    db.session.commit()
    _left_running(other.id, alive)

    assert reaper.reap() == [job.id]
    assert _job(job.id).status == "queued"
    assert "stopte onverwacht" in _job(job.id).message
    assert len(_rows(job.id)) == 2  # a second run on the outbox
    assert _job(other.id).status == "running"
    # It dies again, and again: after three runs in all it is failed, with a message.
    _left_running(job.id, dead)
    assert reaper.reap() == [job.id] and len(_rows(job.id)) == 3
    _left_running(job.id, dead)
    assert reaper.reap() == [job.id]
    failed = _job(job.id)
    assert failed.status == "failed" and "3 keer onverwacht gestopt" in failed.message
    assert len(_rows(job.id)) == 3


def test_a_running_job_keeps_its_heartbeat_and_is_left_alone(app, monkeypatch):
    from sdd_crm.extensions import rq
    from sdd_crm.jobs import reaper

    monkeypatch.setitem(app.config, "JOBS", "redis")
    job = criticality_jobs.create_job()
    db.session.commit()
    _left_running(job.id, "elders:42")
    beat = reaper.Heartbeat(job.id).start()
    try:
        assert rq.queue.connection.exists(reaper.KEY.format(job.id))
        assert reaper.reap() == []
    finally:
        beat.stop()
    assert not rq.queue.connection.exists(reaper.KEY.format(job.id))
    assert reaper.reap() == [job.id]  # its key gone: its worker is taken for dead
