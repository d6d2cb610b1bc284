"""Background jobs (imports, exports, recomputes) with progress and result."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db import utcnow
from ..extensions import db


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class Job(db.Model):
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=JobStatus.QUEUED, index=True)
    progress: Mapped[int] = mapped_column(default=0)  # 0..100
    message: Mapped[str | None] = mapped_column(sa.String(500))
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    result: Mapped[dict | None] = mapped_column(sa.JSON)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    request_id: Mapped[str | None] = mapped_column(sa.String(64))  # the request that asked
    worker: Mapped[str | None] = mapped_column(sa.String(120))  # "host:pid" of the running process


class JobOutbox(db.Model):
    """A job a committed change asked for, recorded in that change's transaction: the RQ task
    (``module:name``) to run with the Job row's id, until the dispatcher has handed it to RQ
    (``dispatched_at``). A row Redis did not take stays pending and is tried again at
    ``available_at`` (see :mod:`sdd_crm.jobs.outbox`)."""

    __tablename__ = "job_outbox"
    __table_args__ = (
        sa.Index("ix_job_outbox_pending", "available_at", "id",
                 sqlite_where=sa.text("dispatched_at IS NULL"),
                 postgresql_where=sa.text("dispatched_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.ForeignKey("job.id"), index=True)
    task: Mapped[str] = mapped_column(sa.String(200))
    timeout: Mapped[int]
    retries: Mapped[int] = mapped_column(default=0)
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    available_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    dispatched_at: Mapped[dt.datetime | None]


class JobFile(db.Model):
    """A file a job reads or writes (an uploaded spreadsheet, a built export), kept in the
    database so that web and worker processes on different machines all reach it."""

    __table_args__ = (sa.UniqueConstraint("job_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.ForeignKey("job.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))  # "input", "output", "report"
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(120))
    size: Mapped[int]
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ScheduleRun(db.Model):
    """When each periodic job of :mod:`sdd_crm.jobs.schedule` last started (by name), so that a
    restart does not run it again early and two processes do not both run one slot."""

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    last_run_at: Mapped[dt.datetime]
    last_job_id: Mapped[str | None] = mapped_column(sa.String(36))
