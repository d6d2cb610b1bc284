"""Imports in the browser: upload, column mapping, preview (dry run) and the real run.

The flow: the upload is read once and kept server-side as the "input" file of a *draft* job
(kind ``import_upload``, status finished: the upload step is done), so the bytes survive between
the upload and the mapping screen without trusting the client and without the session. The
mapping screen posts the mapping; that creates the preview job (``create_import_job`` with
``dry_run=True``) from the draft's bytes and deletes the draft in the same transaction. From the
finished preview, "Nu importeren" starts the real run (``create_run_from_preview``); a preview
runs at most once. An abandoned draft stays in "Mijn achtergrondtaken" with a link back to its
mapping screen.

Who may import (and work the review queue): admins, regional account managers and business
developers — the roles that edit every organisation (DESIGN 4.4). Local account managers may
not: an import writes organisations of every municipality. Viewers never.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from ..auth.models import Role, User
from ..extensions import db
from ..jobs.files import load_file, store_file
from ..jobs import lifecycle
from ..jobs.models import Job, JobStatus
from ..jobs.views import get_job_or_404, register_kind
from ..exceptions import PermissionDenied, ValidationError
from ..forms import form_page
from ..transaction import attempt
from . import bp
from .forms import KIND_LABELS, ActionForm, UploadForm, mapping_form
from .jobs import (
    CONTENT_TYPES,
    JOB_KINDS,
    create_import_job,
    create_run_from_preview,
    enqueue_import,
)
from .mapping import FIELDS, REQUIRED, mapping_for, save_mapping, validate_mapping
from .reading import ImportFileError, max_file_bytes, read_table, safe_filename

IMPORT_ROLES = frozenset({Role.ADMIN, Role.REGIONAL_ACCOUNT_MANAGER, Role.BUSINESS_DEVELOPER})
UPLOAD_KIND = "import_upload"
INVALID, TOO_LARGE, CONFLICT = 422, 413, 409
SAMPLE_ROWS, SAMPLES_PER_COLUMN, SAMPLE_LENGTH = 200, 3, 60

register_kind(UPLOAD_KIND, title=_l("Importbestand geüpload"),
              result_template="imports/_upload_result.html",
              file_labels={"input": _l("Het geüploade bestand")})
_IMPORT_FILES = {"input": _l("Geïmporteerd bestand"),
                 "report": _l("Afgewezen rijen en waarschuwingen (CSV)")}
register_kind(JOB_KINDS["organisations"], title=_l("Import van organisaties"),
              result_template="imports/_job_result.html", file_labels=_IMPORT_FILES)
register_kind(JOB_KINDS["contacts"], title=_l("Import van contactpersonen"),
              result_template="imports/_job_result.html", file_labels=_IMPORT_FILES)
register_kind("import_undo", title=_l("Import ongedaan maken"),
              result_template="imports/_undo_job_result.html")


def may_import(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role in IMPORT_ROLES


@bp.app_template_global("may_import")
def _may_import_global(user) -> bool:
    return may_import(user)


def require_import() -> None:
    if not may_import(current_user):
        raise PermissionDenied()


def max_upload_bytes() -> int:
    return max_file_bytes()  # IMPORT_MAX_BYTES, else the engine's default


def _megabytes(n: int) -> str:
    """Bytes as megabytes in the user's number format: "50", "0,1"."""
    return format_decimal(round(n / (1024 * 1024), 2), format="#,##0.##")


def _too_large_message() -> str:
    return _("Het bestand is te groot. Een importbestand mag hoogstens %(mb)s MB zijn; splits "
             "het bestand of laat overbodige kolommen weg.", mb=_megabytes(max_upload_bytes()))


def _recent_imports():
    return db.session.scalars(
        sa.select(Job).where(Job.created_by_id == current_user.id,
                             Job.kind.in_([*JOB_KINDS.values(), UPLOAD_KIND]))
        .order_by(Job.created_at.desc()).limit(10)).all()


def _render_upload(form: UploadForm, status: int = 200):
    return render_template("imports/upload.html", form=form, recent=_recent_imports(),
                           kind_labels=KIND_LABELS, upload_kind=UPLOAD_KIND,
                           max_mb=_megabytes(max_upload_bytes())), status


@bp.errorhandler(RequestEntityTooLarge)
def _request_too_large(e):
    """A request above MAX_CONTENT_LENGTH never reaches the view: show the form again."""
    if request.endpoint == "imports.index" and may_import(current_user):
        form = UploadForm(formdata=None)
        form.file.errors = [_too_large_message()]
        return _render_upload(form, TOO_LARGE)
    return render_template("errors/error.html", status=TOO_LARGE,
                           message=_("Het bestand is te groot.")), TOO_LARGE


def _clean_filename(name: str | None) -> str:
    """The file's own name, without any client path ("C:\\fakepath\\…", "../../x.csv")."""
    return safe_filename(name)


def _samples(table, width: int) -> list[list[str]]:
    """Up to three distinct, non-empty values per column, from the first rows."""
    samples: list[list[str]] = [[] for _i in range(width)]
    for n, row in enumerate(table.rows):
        if n >= SAMPLE_ROWS or all(len(s) >= SAMPLES_PER_COLUMN for s in samples):
            break
        for i, value in enumerate(list(row)[:width]):
            text = ("" if value is None else str(value).strip())[:SAMPLE_LENGTH]
            if text and len(samples[i]) < SAMPLES_PER_COLUMN and text not in samples[i]:
                samples[i].append(text)
    return samples


def _describe(table) -> dict:
    headers = [str(h) if h is not None else "" for h in table.headers]
    return {"headers": headers, "samples": _samples(table, len(headers)),
            "row_count": table.row_count, "format": table.format, "encoding": table.encoding,
            "delimiter": table.delimiter, "first_data_row": table.first_data_row}


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    """Step 1: choose what to import and upload the spreadsheet."""
    require_import()
    form = UploadForm()
    if not form.validate_on_submit():
        return _render_upload(form, INVALID if form.is_submitted() else 200)
    upload = form.file.data
    data = upload.read(max_upload_bytes() + 1)
    if len(data) > max_upload_bytes():
        form.file.errors = [*form.file.errors, _too_large_message()]
        return _render_upload(form, INVALID)
    filename = _clean_filename(upload.filename)
    try:
        info = _describe(read_table(data, filename))
    except ImportFileError as exc:
        form.file.errors = [*form.file.errors, exc.message]
        return _render_upload(form, INVALID)
    kind = form.kind.data
    draft = lifecycle.new_draft(UPLOAD_KIND, message=_("Bestand ontvangen; kies nu de kolommen."),
                                actor=current_user,
                                params={"filename": filename, "kind": kind, **info})
    store_file(draft.id, "input", filename, CONTENT_TYPES.get(info["format"], "text/csv"), data)
    return redirect(url_for("imports.mapping", job_id=draft.id))


def _source_job_or_404(job_id: str) -> Job:
    """A draft upload or an earlier import job of this user (or any, for an admin)."""
    job = get_job_or_404(job_id)
    if job.kind not in (UPLOAD_KIND, *JOB_KINDS.values()) \
            or (job.params or {}).get("kind") not in JOB_KINDS:
        abort(404)
    return job


def _source_info(job: Job) -> dict:
    """Headers and sample values of the job's input: kept with a draft, read again otherwise."""
    params = job.params or {}
    if "headers" in params:
        return params
    stored = load_file(job.id, "input")
    if stored is None:
        abort(404)
    try:
        table = read_table(stored.data, params.get("filename") or stored.filename)
        return {**params, **_describe(table)}
    except ImportFileError:
        abort(404)


def _render_mapping(job, info, form, saved, status=200):
    kind = info["kind"]
    labels = dict(FIELDS[kind])
    required = [[labels[f] for f in group] for group in REQUIRED.get(kind, [])]
    return render_template(
        "imports/mapping.html", job=job, info=info, form=form, saved=saved, required=required,
        kind_label=KIND_LABELS[kind], columns=list(zip(info["headers"], form.column_fields(),
                                                       info["samples"])),
        is_draft=job.kind == UPLOAD_KIND), status


@bp.route("/<job_id>/mapping", methods=["GET", "POST"])
@login_required
def mapping(job_id: str):
    """Step 2: which column goes into which field; then a preview (dry run)."""
    require_import()
    job = _source_job_or_404(job_id)
    info = _source_info(job)
    kind, headers, filename = info["kind"], info["headers"], info["filename"]
    if job.kind == UPLOAD_KIND:
        initial, saved = mapping_for(headers, kind)
    else:
        initial, saved = dict(info.get("mapping") or {}), False
    form = mapping_form(headers, FIELDS[kind], initial)
    if not form.validate_on_submit():
        return _render_mapping(job, info, form, saved, INVALID if form.is_submitted() else 200)
    stored = load_file(job.id, "input")
    if stored is None:
        abort(404)
    # A refused mapping shows this screen again (the draft is back: the request rolled back).
    form_page(form, lambda: _render_mapping(db.session.get(Job, job_id), info, form, saved)[0],
              field_map=form.field_map())
    chosen = validate_mapping(headers, kind, form.mapping())
    if form.save_mapping.data:
        save_mapping(headers, kind, chosen, actor=current_user)
    preview = create_import_job(stored.data, filename, kind, chosen, dry_run=True,
                                actor=current_user)
    if job.kind == UPLOAD_KIND:  # the preview holds its own copy of the bytes now
        lifecycle.discard(job)
    preview_id = preview.id
    enqueue_import(preview)  # goes out once the request has committed
    if form.save_mapping.data:
        flash(_("De kolomindeling is bewaard voor bestanden met deze kolommen."), "success")
    return redirect(url_for("jobs.detail", job_id=preview_id))


def _locked_job_or_404(job_id: str) -> Job:
    """The job, locked for this transaction (PostgreSQL), so a double click runs it once."""
    get_job_or_404(job_id)
    return db.session.scalars(
        sa.select(Job).where(Job.id == job_id).with_for_update()
        .execution_options(populate_existing=True)).one()


@bp.route("/<job_id>/run", methods=["POST"])
@login_required
def run(job_id: str):
    """From a finished preview: the real import of the same file with the same mapping."""
    require_import()
    ActionForm()  # the CSRF token is checked for every POST by CSRFProtect
    preview = _locked_job_or_404(job_id)
    params = preview.params or {}
    if preview.kind not in JOB_KINDS.values() or not params.get("dry_run"):
        abort(404)
    if params.get("run_job_id"):
        flash(_("Dit voorbeeld is al geïmporteerd; hieronder ziet u die import."), "info")
        return redirect(url_for("jobs.detail", job_id=params["run_job_id"]))
    if preview.status != JobStatus.FINISHED:
        flash(_("Het voorbeeld is nog niet klaar (of mislukt); importeren kan pas na een "
                "geslaagd voorbeeld."), "error")
        return redirect(url_for("jobs.detail", job_id=preview.id))
    try:
        with attempt():
            real = create_run_from_preview(preview, actor=current_user)
    except ValidationError as exc:  # refused before anything was written: back to the preview
        flash("; ".join(map(str, exc.errors.values())), "error")
        return redirect(url_for("jobs.detail", job_id=job_id))
    preview.params = {**params, "run_job_id": real.id}
    enqueue_import(real)  # goes out once the request has committed
    return redirect(url_for("jobs.detail", job_id=real.id))


@bp.app_template_global("import_outcome")
def _import_outcome_global(job):
    """What an import created and updated, and its undo (for the job page)."""
    from .undo import import_outcome

    return import_outcome(job)


@bp.app_template_global("import_undo_refusal")
def _import_undo_refusal_global(job):
    from .undo import undo_refusal

    return undo_refusal(job)


def _undo_job_or_404(job_id: str) -> Job:
    """An import job for its undo: admins only (DESIGN 4.4: the undo deletes and restores
    organisations of every municipality); a preview or any other job is not found."""
    if not current_user.is_admin:
        raise PermissionDenied()
    job = get_job_or_404(job_id)
    if job.kind != JOB_KINDS["organisations"] or (job.params or {}).get("dry_run"):
        abort(404)
    return job


def _value_names(conflicts) -> dict:
    """Names for the reference values in conflicts (municipality, parent organisation)."""
    from ..organisations.models import Organisation
    from ..reference.models import Municipality

    names = {("municipality", code): name for code, name in db.session.execute(
        sa.select(Municipality.code, Municipality.name))}
    parents = {v for c in conflicts if c["field"] == "parent_id"
               for v in (c["before"], c["after"], c["current"]) if isinstance(v, int)}
    if parents:
        names.update({("organisation", str(i)): n for i, n in db.session.execute(
            sa.select(Organisation.id, Organisation.name).where(Organisation.id.in_(parents)))})
    return names


def _conflict_rows(conflicts) -> list[dict]:
    """The conflicts of an undo as a person reads them: labels, values and names."""
    import datetime as dt

    from ..audit.labels import format_value

    names = _value_names(conflicts)
    rows = []
    for c in conflicts:
        kind, field = c.get("entity_type", "organisation"), c.get("field")

        def show(value, kind=kind, field=field):
            return format_value(kind, field, value, names) if field else "—"

        when = c.get("changed_at")
        rows.append({**c, "before_text": show(c.get("before")), "after_text": show(c.get("after")),
                     "current_text": show(c.get("current")),
                     "when": dt.datetime.fromisoformat(when) if when else None})
    return rows


@bp.route("/<job_id>/undo", methods=["GET", "POST"])
@login_required
def undo(job_id: str):
    """An admin undoes an import: asks first (GET), then undoes it (POST) and shows what was put
    back and which fields were left because someone changed them since (see undo.py)."""
    from . import undo as undoing
    from .undo import import_outcome, undo_days, undo_import, undo_of, undo_refusal

    job = _undo_job_or_404(job_id)
    if request.method == "POST":
        ActionForm()  # the CSRF token is checked for every POST by CSRFProtect
        large = undoing.change_count(job) > undoing.INLINE_MAX
        try:
            with attempt():
                if large:  # a background job with progress
                    background = undoing.start_undo_job(job, actor=current_user)
                else:
                    undo_import(job, actor=current_user)
        except ValidationError as exc:
            flash("; ".join(map(str, exc.errors.values())), "error")
            return redirect(url_for("imports.undo", job_id=job.id))
        if large:
            flash(_("De import wordt op de achtergrond ongedaan gemaakt; deze pagina toont de "
                    "voortgang."), "info")
            return redirect(url_for("jobs.detail", job_id=background.id))
        flash(_("De import is ongedaan gemaakt."), "success")
        return redirect(url_for("imports.undo", job_id=job.id))
    running = undoing.running_undo(job)
    if running is not None:
        return render_template("imports/undo.html", job=job, done=None, running=running,
                               refusal=None, outcome=import_outcome(job), days=undo_days(),
                               conflicts=[], undone_by=None)
    done = undo_of(job)
    conflicts = (done.result or {}).get("conflicts", []) if done else []
    undone_by = db.session.get(User, done.undone_by_id) if done and done.undone_by_id else None
    return render_template("imports/undo.html", job=job, done=done, undone_by=undone_by,
                           conflicts=_conflict_rows(conflicts),
                           refusal=None if done else undo_refusal(job),
                           outcome=import_outcome(job), days=undo_days())


from . import review_views  # noqa: E402,F401  (the review queue lives on the same blueprint)
