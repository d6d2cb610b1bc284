"""The 409 of a stale ``version`` in the API carries what a client needs to merge (issue 11.3):
``current`` (the record as its GET returns it now) and ``changed_fields`` (the fields changed
since the version the client sent, from the audit log), besides ``current_version``.

``current`` is the answer of the resource's own GET route for the same URL (for an action URL
such as ``/organisations/<id>/criticality-flag``, the URL above it), so it is exactly what a GET
would return to this client, whatever the resource. Hooked into
``sdd_crm.errors.conflict_response`` through ``app.extensions``.
"""

from __future__ import annotations

import logging

from flask import current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from ..conflicts import changes_since
from ..exceptions import DomainError
from ..transaction import unit_of_work

log = logging.getLogger(__name__)


def _current_resource() -> dict | None:
    adapter = current_app.create_url_adapter(request)
    path = request.path.rstrip("/")
    for candidate in (path, path.rsplit("/", 1)[0]):
        try:
            endpoint, args = adapter.match(candidate, method="GET")
        except (HTTPException, RequestRedirect):
            continue
        if not endpoint.startswith("api."):
            continue
        try:
            # A unit of its own (the request's was rolled back by the 409): what the GET
            # records — a contact's "view" audit event — is kept like that of any GET.
            with unit_of_work():
                response = current_app.make_response(
                    current_app.view_functions[endpoint](**args))
        except (DomainError, HTTPException):
            return None
        except Exception:  # the 409 stays a 409, only without ``current``
            log.exception("The current record for a 409 could not be read")
            return None
        if response.status_code == 200 and response.is_json:
            body = response.get_json()
            return body if isinstance(body, dict) else None
    return None


def _api_name(key: str, current: dict) -> str | None:
    for name in (key, key.removesuffix("_code"), key.removesuffix("_id")):
        if name in current:
            return name
    return None


def conflict_details(e) -> dict:
    """``current`` and ``changed_fields`` for the 409 of ``e`` (a ``ConflictError`` that knows
    its record and the version the client sent)."""
    current = _current_resource()
    if current is None:
        return {}
    changed: list[str] = []
    if e.expected_version is not None:
        for change in changes_since(e.record, e.expected_version):
            for key in sorted(change.keys):
                name = _api_name(key, current)
                if name is not None and name not in changed and name != "version":
                    changed.append(name)
    return {"current": current, "changed_fields": changed}


def register(app) -> None:
    app.extensions["sdd_conflict_details"] = conflict_details
