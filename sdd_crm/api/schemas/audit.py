"""The audit trail in the API (admins only): events of one record, or filtered."""

from __future__ import annotations

from ...audit.labels import ENTITY_TYPES
from .. import fields as f
from .base import ApiSchema, PageArgs, component, list_view

RESULTS = ("success", "refused", "failed")


class AuditEventSchema(ApiSchema):
    id = f.Integer(required=True)
    at = f.DateTime(required=True, description="When (UTC).")
    actor_id = f.Integer(required=True, allow_none=True, source="user_id",
                         description="The user who did it; null for the system or an anonymous "
                                     "visitor (a failed login).")
    action = f.Text(required=True, description="create, update, delete, restore, merge, import, "
                                               "export, download, view, login, refused, …")
    record_type = f.Text(required=True, source="entity_type",
                         description="The record's resource name (organisation, contact, …).")
    record_id = f.Text(required=True, source="entity_id",
                       description="The record's id (empty for an unknown account).")
    result = f.Choice(RESULTS, required=True)
    origin = f.Text(required=True, allow_none=True, description="The client's address.")
    source = f.Text(required=True, allow_none=True, description="web, api, cli, job or import.")
    record_version = f.Integer(required=True, allow_none=True,
                               description="The record's version after this change.")
    changes = f.Dict(keys=f.Text(), values=f.Raw(allow_none=True), required=True,
                     description="A change: field → [before, after]; other events: what they "
                                 "concern (e.g. the path of a refused request). Never a password "
                                 "or token.")


AUDIT_EVENT = component("AuditEvent", AuditEventSchema())
AUDIT_EVENT_LIST = component("AuditEventList", list_view(AuditEventSchema)())


class AuditArgs(PageArgs):
    record_type = f.Choice(sorted(ENTITY_TYPES), description="The resource's singular name.")
    record_id = f.Text(max_length=40, description="The record's id (with record_type); a "
                                                  "programme's code for record_type=programme.")
    actor_id = f.QueryId(description="Only what this user did.")
    action = f.Text(max_length=32, description="Only this action (e.g. view, update, refused).")
    result = f.Choice(RESULTS, description="Only this result.")
    since = f.DateTime(description="From this moment (ISO 8601; a date is its midnight, UTC).")
    until = f.DateTime(description="Before this moment (ISO 8601).")


__all__ = ["AUDIT_EVENT", "AUDIT_EVENT_LIST", "AuditArgs"]
