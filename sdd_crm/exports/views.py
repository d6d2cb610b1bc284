"""Export any list to CSV or XLSX with the page's filters (issue 6, point 9).

``GET /imports/export/<kind>.<fmt>?<the list's query string>`` (and
``/imports/export/participations/<code>.<fmt>`` for a programme's pipeline). A small set comes
back at once: the view fetches n + 1 rows (never a COUNT(*)) and, when there are at most n,
writes those very rows. A larger set becomes a background job; the user lands on its progress
page and downloads the file there. Every export is audited (who, which list, how many rows).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..exceptions import PermissionDenied
from ..jobs.views import attachment_header, register_kind
from . import bp
from . import jobs as export_jobs
from . import lists as exports

DIRECT_MAX_ROWS = 5000  # larger sets go through a job (config EXPORT_DIRECT_MAX_ROWS)
MAX_ARGS, MAX_KEY, MAX_VALUE = 30, 40, 500  # filter arguments kept for the job

register_kind(export_jobs.JOB_KIND, title=_l("Lijst exporteren"),
              file_labels={"output": _l("Exportbestand downloaden")})


def direct_max_rows() -> int:
    return int(current_app.config.get("EXPORT_DIRECT_MAX_ROWS", DIRECT_MAX_ROWS))


def filter_args(args) -> dict[str, str]:
    """The list's query string as a dict of strings: without the page number, bounded."""
    kept: dict[str, str] = {}
    for key, value in args.items():
        if key == "page" or not value or len(key) > MAX_KEY:
            continue
        kept[key] = value[:MAX_VALUE]
        if len(kept) == MAX_ARGS:
            break
    return kept


@bp.route("/<kind>.<fmt>")
@login_required
def export_list(kind: str, fmt: str):
    if kind == "participations":
        abort(404)  # a programme's participations have their own address (below)
    return _export(kind, fmt)


@bp.route("/participations/<code>.<fmt>")
@login_required
def export_participations(code: str, fmt: str):
    return _export("participations", fmt, code)


def _export(kind: str, fmt: str, code: str | None = None):
    if kind not in exports.KINDS or fmt not in exports.CONTENT_TYPES:
        abort(404)
    if not exports.may_export(current_user, kind):
        raise PermissionDenied()
    programme = None
    if code is not None:
        from ..programmes.queries import get_programme_or_404

        programme = get_programme_or_404(code)
    args = filter_args(request.args)
    export = exports.build_export(kind, current_user, args, programme=programme)
    limit = direct_max_rows()
    first = export.fetch(limit + 1)
    if len(first) > limit:
        job = export_jobs.create_job(actor=current_user, kind=kind, fmt=fmt, args=args,
                                     programme_code=programme.code if programme else None)
        # Enqueued once the request has committed; the job page shows its progress.
        flash(_("Deze lijst heeft meer dan %(n)s rijen. Het bestand wordt op de achtergrond "
                "gemaakt; u kunt het op deze pagina downloaden zodra het klaar is.",
                n=format_decimal(limit)), "info")
        return redirect(url_for("jobs.detail", job_id=job.id))
    data, rows = exports.write(fmt, export, export.rows(first))
    exports.record_export(current_user, export, fmt, rows, args, source="web")  # audited
    response = Response(data, content_type=exports.CONTENT_TYPES[fmt])
    response.headers["Content-Disposition"] = attachment_header(exports.filename(export, fmt))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.app_template_global()
def can_export_list(kind: str) -> bool:
    """For the list pages' export links: only users allowed to export that list see them."""
    return exports.may_export(current_user, kind)


@bp.app_template_global()
def export_list_url(kind: str, fmt: str, programme=None) -> str:
    """The export address carrying the current page's filters (not its page number)."""
    if kind == "participations":
        base = url_for("exports.export_participations", code=programme.code, fmt=fmt)
    else:
        base = url_for("exports.export_list", kind=kind, fmt=fmt)
    args = filter_args(request.args)
    return f"{base}?{urlencode(args)}" if args else base


@bp.app_template_global()
def export_direct_max_rows() -> int:
    return direct_max_rows()
