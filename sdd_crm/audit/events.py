"""Recording an audit event that is not a change of a record: a view, a login, a refusal, an
export. (Changes of audited records are written by :mod:`sdd_crm.audit.listeners` by themselves.)

::

    record("view", "contact", contact.id)
    record("refused", "organisation", 12, result="refused",
           detail={"method": "POST", "path": "/organisations/12/edit"}, independent=True)

Actor, source, origin address and time are filled in. ``independent=True`` keeps the event
whatever becomes of the request's own transaction: it is written once the transaction boundary
has committed or rolled back (:func:`sdd_crm.transaction.after_boundary`) — for refusals and
failed logins, whose requests save nothing else.

Never a password, token or secret: keys that name one are stored as ``"***"``. Text that came
from a client (a path, a reason) is stored on one line, control characters escaped.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import has_request_context, request

from ..db import utcnow
from ..extensions import db
from ..transaction import after_boundary
from .listeners import _actor, origin
from .models import AuditEvent
from .sanitise import detail_value, one_line, scrub

RESULTS = ("success", "refused", "failed")


def build(action: str, entity_type: str, entity_id, *, result: str = "success",
          changes: dict | None = None, user=None, detail: dict | None = None) -> dict:
    """The column values of an event (see :func:`record`)."""
    if result not in RESULTS:
        raise ValueError(f"unknown audit result {result!r}")
    user_id, source = _actor()
    if user is not None:
        user_id = getattr(user, "id", user)
    payload = dict(changes or {})
    payload.update({str(k): detail_value(v) for k, v in (detail or {}).items()})
    return {
        "at": utcnow(),
        "user_id": user_id,
        "action": str(action)[:32],
        "entity_type": str(entity_type)[:50],
        "entity_id": one_line("" if entity_id is None else entity_id, 40),
        "changes": scrub(payload),
        "source": source,
        "result": result,
        "origin": origin(),
    }


def record(action: str, entity_type: str, entity_id, *, result: str = "success",
           changes: dict | None = None, user=None, detail: dict | None = None,
           independent: bool = False) -> AuditEvent | None:
    """Write one audit event (see the module docstring).

    ``changes``: ``{field: [before, after]}``; ``detail``: ``{key: value}`` shown as it is
    (text from a client is put on one line); ``user``: the actor (a User or an id), by default
    the signed-in user or the API token's user. Returns the event, or None when it is
    ``independent`` (it is written later, after the boundary)."""
    values = build(action, entity_type, entity_id, result=result, changes=changes, user=user,
                   detail=detail)
    if independent:
        after_boundary(lambda: db.session.add(AuditEvent(**values)))
        return None
    event = AuditEvent(**values)
    db.session.add(event)
    return event


def record_many(action: str, entity_type: str, entity_ids, **kwargs) -> int:
    """One event per id, written in ONE bulk INSERT (a list of contacts viewed at once: the
    statements of a page stay the same however many rows it has). ``kwargs`` as for
    :func:`build`. Returns how many were written."""
    rows = [build(action, entity_type, entity_id, **kwargs) for entity_id in entity_ids]
    if rows:
        db.session.execute(sa.insert(AuditEvent), rows)
    return len(rows)


# The record a URL is about, by the name of its path parameter (the last one named wins:
# /organisations/<org_id>/members/<member_id> is about the team member).
PATH_RECORDS = {
    "org_id": "organisation", "contact_id": "contact", "interaction_id": "interaction",
    "task_id": "task", "lead_id": "lead", "participation_id": "participation",
    "chain_id": "value_chain", "cluster_id": "cluster", "link_id": "supply_link",
    "stage_id": "value_chain_stage", "role_id": "chain_role", "member_id": "account_team_member",
    "user_id": "user", "job_id": "job", "review_id": "import_review",
    "notification_id": "notification", "request_id": "account_team_request",
}
# Path parameters that are shown as they are; any other (a calendar feed's secret, a file
# name) is masked in the recorded path.
PLAIN_PATH_ARGS = set(PATH_RECORDS) | {"code", "role", "kind", "fmt", "lang", "a_id", "b_id"}


def requested_record() -> tuple[str, str]:
    """(entity type, id) of the record the current request's URL names, or ("", "")."""
    found = ("", "")
    for name, value in (request.view_args or {}).items():
        if name in PATH_RECORDS:
            found = (PATH_RECORDS[name], str(value))
    return found


def masked_path() -> str:
    """The request's path without the query string, other path parameters than ids masked
    (and the calendar feed's secret also when the URL matched no route)."""
    from ..logmask import mask

    path = request.path
    for name, value in (request.view_args or {}).items():
        if name not in PLAIN_PATH_ARGS and str(value):
            path = path.replace(str(value), "…")
    return mask(path)


def record_refusal(status: int = 403, record_of: tuple[str, object] | None = None) -> None:
    """A refused request: who tried what on which record (``record_of`` = (entity type, id),
    by default the record the URL names). Kept although the request's transaction is rolled
    back. A 404 for an existing record the user may not see (:class:`sdd_crm.exceptions.NotFound`
    with ``hidden``) is recorded here too; the answer stays that of a missing id."""
    entity_type, entity_id = record_of or requested_record()
    detail = {"http_status": status}
    if has_request_context():
        detail = {"method": request.method, "path": masked_path(), "http_status": status}
    record("refused", entity_type or "route", entity_id, result="refused", independent=True,
           detail=detail)
