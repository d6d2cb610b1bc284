"""/api/v1/leads: signals shared across municipal borders, and their status flow by PATCH.

A lead is visible to its author, the receiving user or municipality, regional account managers
and admins (DESIGN 4.4); to anyone else it does not exist (404). ``PATCH {"status": ...}`` moves
it on through ``leads.services.change_status`` — the same transitions as the screens: only the
receiving side (403 otherwise), only along the flow (409 otherwise: the lead's current status
decides). Viewers: 403 everywhere.
"""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from ..exceptions import ConflictError, ValidationError
from ..leads.models import LeadStatus
from ..leads.queries import LeadFilters, get_lead, lead_list
from ..leads.services import add_comment, change_status, share_lead, update_lead
from ..visibility import can_see_interactions
from . import bp, errors, guard
from .auth import api_user
from .errors import check_id, forbidden
from .openapi import LOCATION
from .schemas.accounts import (
    LEAD_COMMENT,
    LEAD_COMMENT_CREATE,
    LEAD_CREATE,
    LEAD_DETAIL,
    LEAD_LIST,
    LEAD_PATCH,
    LeadArgs,
)
from .schemas.base import page_of

TAGS = ["leads"]
STATUS_FIELDS = {"status", "decline_reason", "note"}


def _require_worker() -> None:
    if not can_see_interactions(api_user()):  # viewers share and receive no leads
        forbidden()


def load_lead(lead_id: int):
    return get_lead(check_id(lead_id), api_user())


@bp.get("/leads", tags=TAGS)
@bp.doc(operationId="listLeads", summary="Leads you may see, newest first.")
@errors(403)
@guard(_require_worker)
@bp.arguments(LeadArgs, location="query", as_kwargs=True)
@bp.response(200, LEAD_LIST, description="One page.")
def list_leads(**args):
    box = args.get("box") or "all"
    filters = LeadFilters(tab={"inbox": "inbox", "sent": "shared"}.get(box, "all"),
                          status=args.get("status"), type=args.get("type"))
    # Same query as the HTML lead list: one place decides which leads a user sees.
    return page_of(lead_list(api_user(), filters), args, "api.list_leads")


@bp.get("/leads/<int:lead_id>", tags=TAGS)
@bp.doc(operationId="getLead", summary="One lead, with its history and comments.")
@errors(403)
@guard(_require_worker)
@bp.response(200, LEAD_DETAIL, description="The record.")
def get_lead_item(lead_id: int):
    return load_lead(lead_id)


@bp.post("/leads", tags=TAGS)
@bp.doc(operationId="createLead",
        summary="Share a lead with the regional team, a colleague or a municipality.")
@errors(403, 409)
@guard(_require_worker)
@bp.arguments(LEAD_CREATE)
@bp.response(201, LEAD_DETAIL, description="Created.", headers=LOCATION)
def create_lead_item(data):
    lead = share_lead(data, actor=api_user())
    return lead, 201, {"Location": url_for("api.get_lead_item", lead_id=lead.id)}


@bp.patch("/leads/<int:lead_id>", tags=TAGS)
@bp.doc(operationId="updateLead",
        summary="Either a status change (`status`, with `decline_reason` to decline; the receiving "
                "side only; a transition outside the flow is 409) or a text change (`type`, "
                "`title`, `description`; the author while the lead is new).")
@errors(403, 409, 428)
@guard(_require_worker)
@bp.arguments(LEAD_PATCH)
@bp.response(200, LEAD_DETAIL, description="The changed record.")
def update_lead_item(data, lead_id: int):
    """Either a status change (the receiving side) or a text change (the author, while new)."""
    lead = load_lead(lead_id)
    version = data.pop("version")
    if "status" in data:
        if set(data) - STATUS_FIELDS:
            raise ValidationError({k: _("Wijzig de status en de tekst van een signaal apart.")
                                   for k in sorted(set(data) - STATUS_FIELDS)})
        to_status = data["status"]
        if data.get("decline_reason") is not None and to_status != LeadStatus.DECLINED:
            raise ValidationError({"decline_reason": _("Een reden hoort bij het afwijzen van een signaal.")})
        reason = data.get("decline_reason") if to_status == LeadStatus.DECLINED else data.get("note")
        change_status(lead, to_status, actor=api_user(), reason=reason, expected_version=version)
    elif set(data) & STATUS_FIELDS:
        raise ValidationError({"status": _("Kies de nieuwe status.")})
    else:
        try:
            update_lead(lead, data, actor=api_user(), expected_version=version)
        except ValidationError as e:
            if set(e.errors) == {"_"}:  # no longer new: refused for its state, not the input
                raise ConflictError(e.errors["_"]) from None
            raise
    return lead


@bp.post("/leads/<int:lead_id>/comments", tags=TAGS)
@bp.doc(operationId="commentOnLead", summary="Add a comment.")
@errors(403)
@guard(_require_worker)
@bp.arguments(LEAD_COMMENT_CREATE)
@bp.response(201, LEAD_COMMENT, description="Created.")
def create_lead_comment(data, lead_id: int):
    lead = load_lead(lead_id)
    comment = add_comment(lead, data["body"], actor=api_user())
    return comment, 201, {"Location": url_for("api.get_lead_item", lead_id=lead.id)}
