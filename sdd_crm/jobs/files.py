"""Files a job reads or writes, kept in the database (web and workers may be on other machines)."""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from .models import JobFile


def store_file(job_id: str, role: str, filename: str, content_type: str, data: bytes) -> JobFile:
    """Store (or replace) the job's file with ``role``; the caller commits."""
    existing = db.session.scalar(
        sa.select(JobFile).where(JobFile.job_id == job_id, JobFile.role == role))
    if existing is None:
        existing = JobFile(job_id=job_id, role=role)
        db.session.add(existing)
    existing.filename, existing.content_type = filename[:255], content_type
    existing.data, existing.size = data, len(data)
    db.session.flush()
    return existing


def load_file(job_id: str, role: str) -> JobFile | None:
    return db.session.scalar(
        sa.select(JobFile).where(JobFile.job_id == job_id, JobFile.role == role))


def delete_files(job_id: str, role: str | None = None) -> int:
    """Delete the job's files (only the one with ``role`` when given); the caller commits.
    Returns the number deleted."""
    stmt = sa.delete(JobFile).where(JobFile.job_id == job_id)
    if role is not None:
        stmt = stmt.where(JobFile.role == role)
    return db.session.execute(stmt).rowcount or 0


def file_roles(job_id: str) -> list[tuple[str, str, int]]:
    """(role, filename, size) of the job's files, without loading their data."""
    return [tuple(r) for r in db.session.execute(
        sa.select(JobFile.role, JobFile.filename, JobFile.size)
        .where(JobFile.job_id == job_id).order_by(JobFile.id))]


def purge_files(older_than) -> int:
    """Delete the files of jobs that ended before ``older_than`` (uploads, exports, reports):
    bulk copies of company and personal data are kept no longer than needed (GDPR art. 5(1)(e)).
    The Job rows stay, with their summaries, for the audit trail. Returns the number deleted."""
    from .models import Job, JobStatus

    ended = sa.select(Job.id).where(Job.status.in_([JobStatus.FINISHED, JobStatus.FAILED]),
                                    sa.func.coalesce(Job.finished_at, Job.created_at) < older_than)
    result = db.session.execute(sa.delete(JobFile).where(JobFile.job_id.in_(ended)))
    return result.rowcount or 0
