"""Starting a programme's accountability export from the browser (issue 5).

``POST /programmes/<code>/export`` starts the job and sends the user to the generic job page
(``/jobs/<id>``: live progress, then the download). Only the people who run participations may
export (``export_jobs.can_export``): the workbook holds company data for accountability.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..exceptions import PermissionDenied
from ..extensions import db
from ..jobs.models import Job
from ..jobs.views import register_kind
from . import bp
from . import labels  # noqa: F401  (the reason labels the result template shows)
from .export_jobs import JOB_KIND, can_export, create_export_job
from .queries import get_programme_or_404

register_kind(JOB_KIND, title=_l("Verantwoordingsexport van een programma"),
              result_template="programmes/_export_result.html",
              file_labels={"output": _l("Verantwoording (Excel-werkmap)")})


@bp.post("/<code>/export")
@login_required
def export(code: str):
    programme = get_programme_or_404(code)
    if not can_export(current_user):
        raise PermissionDenied()
    job = create_export_job(programme, current_user)  # enqueued once the request commits
    flash(_("De export is gestart; het bestand verschijnt op deze pagina zodra het klaar is."),
          "success")
    return redirect(url_for("jobs.detail", job_id=job.id))


@bp.app_template_global()
def can_export_programme() -> bool:
    """May the current user export a programme's accountability workbook?"""
    return can_export(current_user)


@bp.app_template_global()
def latest_programme_export(programme) -> Job | None:
    """The current user's most recent export of ``programme`` (one query, a bounded scan)."""
    if not can_export(current_user):
        return None
    recent = db.session.scalars(
        sa.select(Job).where(Job.kind == JOB_KIND, Job.created_by_id == current_user.id)
        .order_by(Job.created_at.desc()).limit(20))
    return next((j for j in recent if (j.params or {}).get("programme_id") == programme.id), None)
