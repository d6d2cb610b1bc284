"""/api/v1/leads: signals shared across municipal borders, and their status flow by PATCH.

A lead is visible to its author, the receiving user or municipality, regional account managers
and admins (DESIGN 4.4); to anyone else it does not exist (404). ``PATCH {"status": ...}`` moves
it on through ``leads.services.change_status`` — the same transitions as the screens: only the
receiving side (403 otherwise), only along the flow (422 otherwise). Viewers: 403 everywhere.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import jsonify, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..leads.models import Lead, LeadComment, LeadEvent, LeadStatus, LeadType
from ..leads.queries import LeadFilters, get_lead, lead_list
from ..leads.services import add_comment, change_status, share_lead, update_lead
from ..pagination import paginate
from ..exceptions import ValidationError
from ..visibility import can_see_interactions
from . import bp
from .account_serializers import (
    comment_input,
    comment_to_dict,
    lead_detail,
    lead_input,
    lead_patch_input,
    lead_to_dict,
)
from .auth import api_user
from .errors import check_id, check_query_text, forbidden, json_object, page_args, read_version
from .organisations import list_response
from .params import query_choice

FILTER_PARAMS = ("box", "status", "type")
BOXES = {"inbox", "sent", "all"}
STATUS_FIELDS = {"status", "decline_reason", "note"}


def _require_worker() -> None:
    if not can_see_interactions(api_user()):  # viewers share and receive no leads
        forbidden()


def load_lead(lead_id: int) -> Lead:
    return get_lead(check_id(lead_id), api_user())


def _detail(lead: Lead):
    events = db.session.scalars(sa.select(LeadEvent).where(LeadEvent.lead_id == lead.id)
                                .order_by(LeadEvent.at, LeadEvent.id)).all()
    comments = db.session.scalars(
        sa.select(LeadComment).where(LeadComment.lead_id == lead.id, LeadComment.deleted_at.is_(None))
        .order_by(LeadComment.created_at, LeadComment.id)).all()
    return jsonify(lead_detail(lead, api_user(), events, comments))


@bp.get("/leads")
def list_leads():
    _require_worker()
    check_query_text()
    user = api_user()
    box = query_choice("box", BOXES, default="all")
    filters = LeadFilters(tab={"inbox": "inbox", "sent": "shared"}.get(box, "all"),
                          status=query_choice("status", {s.value for s in LeadStatus}),
                          type=query_choice("type", {t.value for t in LeadType}))
    # Same query as the HTML lead list: one place decides which leads a user sees.
    stmt = lead_list(user, filters)
    page_no, per_page = page_args()
    page = paginate(stmt, page_no, per_page)
    return list_response(page, lead_to_dict, "api.list_leads", FILTER_PARAMS)


@bp.get("/leads/<int:lead_id>")
def get_lead_item(lead_id: int):
    _require_worker()
    return _detail(load_lead(lead_id))


@bp.post("/leads")
def create_lead_item():
    _require_worker()
    lead = share_lead(lead_input(json_object()), actor=api_user())
    db.session.commit()
    response = _detail(lead)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_lead_item", lead_id=lead.id)
    return response


@bp.patch("/leads/<int:lead_id>")
def update_lead_item(lead_id: int):
    """Either a status change (the receiving side) or a text change (the author, while new)."""
    _require_worker()
    lead = load_lead(lead_id)
    body = json_object()
    version = read_version(body.get("version"), required=True)
    data = lead_patch_input(body)
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
        update_lead(lead, data, actor=api_user(), expected_version=version)
    db.session.commit()
    return _detail(lead)


@bp.post("/leads/<int:lead_id>/comments")
def create_lead_comment(lead_id: int):
    _require_worker()
    lead = load_lead(lead_id)
    comment = add_comment(lead, comment_input(json_object()), actor=api_user())
    db.session.commit()
    response = jsonify(comment_to_dict(comment))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_lead_item", lead_id=lead.id)
    return response
