"""The audit screen (/admin/audit): every event, newest first, filtered, in words a person reads."""

from __future__ import annotations

from flask import render_template, request, url_for

from ..audit import labels as audit_labels
from ..pagination import request_keyset_page
from . import audit_queries, bp
from .audit_forms import AuditFilterForm

PER_PAGE = 50


def _bin_kinds() -> dict[str, str]:
    """Record type → the recycle bin's tab, for deleted records."""
    from .recycle_bin import KINDS

    return {kind.entity_type: kind.key for kind in KINDS.values()}


def event_rows(events) -> list[dict]:
    """One page of events as the table shows them; the names they mention in a few queries."""
    found = audit_queries.lookup(audit_labels.references(events))
    names = {key: f.name for key, f in found.items()}
    bin_kinds = _bin_kinds()
    rows = []
    for e in events:
        actor = found.get(("user", str(e.user_id))) if e.user_id is not None else None
        record = found.get((e.entity_type, e.entity_id))
        url = record.url if record else None
        if record and record.deleted and e.entity_type in bin_kinds:
            url = url_for("admin.deleted", kind=bin_kinds[e.entity_type])
        rows.append({
            "event": e,
            "actor": actor.name if actor else None,
            "source": audit_labels.source_label(e.source),
            "action": audit_labels.action_label(e.action),
            "result": e.result or "success",
            "result_label": audit_labels.result_label(e.result),
            "record_type": audit_labels.entity_label(e.entity_type) if e.entity_type else "",
            "record_id": audit_labels.one_line(e.entity_id, 40),
            "record_name": record.name if record else None,
            "record_deleted": bool(record and record.deleted),
            "record_url": url,
            "changes": audit_labels.describe_changes(e, names),
        })
    return rows


@bp.route("/audit")
def audit():
    form = AuditFilterForm(request.args)
    filters = form.filters()
    page = request_keyset_page(audit_queries.audit_events(filters), PER_PAGE)
    args = {k: v for k, v in request.args.items() if k not in ("page", "cursor") and v}
    return render_template("admin/audit.html", form=form, page=page, rows=event_rows(page.items),
                           page_url=lambda n, cursor=None: url_for("admin.audit", **args,
                                                                  cursor=cursor, page=n))
