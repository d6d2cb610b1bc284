"""The results page of the global search: ``/search?q=…`` (every kind, grouped, with counts)
and ``/search?q=…&kind=…`` (all results of one kind, paginated)."""

from __future__ import annotations

from flask import abort, current_app, render_template, request, url_for
from flask_login import current_user, login_required

from ..pagination import paginate, request_page
from . import bp
from .queries import KIND_LABELS, KINDS, clean_text, kinds_for, results, search


@bp.route("")
@login_required
def index():
    text = clean_text(request.args.get("q"))
    kind = request.args.get("kind") or None
    if kind is not None and kind not in KINDS:
        kind = None
    allowed = kinds_for(current_user)
    if kind is not None and kind not in allowed:
        abort(403)  # a viewer asking for contact moments or leads by hand
    if not text:
        return render_template("search/index.html", text="", groups=[], kind=None, page=None)
    if kind is None:
        skipped = [KIND_LABELS[k] for k in allowed if k not in kinds_for(current_user, text)]
        return render_template("search/index.html", text=text, kind=None, page=None,
                               groups=search(current_user, text), skipped=skipped)
    page = paginate(results(current_user, kind, text), request_page(),
                    current_app.config["PAGE_SIZE"])
    return render_template("search/index.html", text=text, kind=kind, groups=[], page=page,
                           kind_label=KIND_LABELS[kind],
                           page_url=lambda n: url_for("search.index", q=text, kind=kind, page=n))
