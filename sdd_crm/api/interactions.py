"""/api/v1/interactions: contact moments, with the visibility of DESIGN 4.4.

A confidential interaction exists only for its author, the organisation's account team and
admins: for anyone else it is absent from lists and a 404 on its own URL (not a 403, which
would reveal that it exists). Viewers never read interactions: 403 on every route.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, jsonify, request, url_for
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..interactions.models import Interaction, InteractionType
from ..interactions.services import (
    can_edit_interaction,
    create_interaction,
    delete_interaction,
    update_interaction,
)
from ..organisations.models import Organisation
from ..pagination import paginate
from ..visibility import can_see_interactions, interaction_visible
from . import bp
from .account_serializers import interaction_input, interaction_to_dict
from .auth import api_user
from .errors import check_id, check_query_text, forbidden, json_object, page_args, query_int, read_version
from .organisations import list_response
from .params import query_bool, query_choice, query_date

FILTER_PARAMS = ("organisation_id", "type", "date_from", "date_to", "confidential")


def _require_reader() -> None:
    if not can_see_interactions(api_user()):
        forbidden()


def visible_interactions(user) -> sa.Select:
    """Live interactions of live organisations that ``user`` may see, newest first."""
    return (
        sa.select(Interaction)
        .join(Organisation, Organisation.id == Interaction.organisation_id)
        .where(Interaction.deleted_at.is_(None), Organisation.deleted_at.is_(None),
               interaction_visible(user))
        .options(selectinload(Interaction.topics), selectinload(Interaction.contacts),
                 selectinload(Interaction.users))
        .order_by(Interaction.date.desc(), Interaction.id.desc())
    )


def load_interaction(interaction_id: int) -> Interaction:
    """Load-or-404 through the visibility rule: outside the circle it does not exist."""
    interaction = db.session.scalar(
        visible_interactions(api_user()).where(Interaction.id == check_id(interaction_id)))
    if interaction is None:
        abort(404)
    return interaction


@bp.get("/interactions")
def list_interactions():
    _require_reader()
    check_query_text()
    stmt = visible_interactions(api_user())
    if (org_id := query_int("organisation_id")) is not None:
        stmt = stmt.where(Interaction.organisation_id == org_id)
    if (kind := query_choice("type", {t.value for t in InteractionType})) is not None:
        stmt = stmt.where(Interaction.type == kind)
    if (date_from := query_date("date_from")) is not None:
        stmt = stmt.where(Interaction.date >= date_from)
    if (date_to := query_date("date_to")) is not None:
        stmt = stmt.where(Interaction.date <= date_to)
    if (confidential := query_bool("confidential")) is not None:
        stmt = stmt.where(Interaction.confidential.is_(confidential))
    page_no, per_page = page_args()
    page = paginate(stmt, page_no, per_page)
    return list_response(page, interaction_to_dict, "api.list_interactions", FILTER_PARAMS)


@bp.get("/interactions/<int:interaction_id>")
def get_interaction_item(interaction_id: int):
    _require_reader()
    return jsonify(interaction_to_dict(load_interaction(interaction_id)))


@bp.post("/interactions")
def create_interaction_item():
    _require_reader()
    interaction = create_interaction(interaction_input(json_object()), actor=api_user())
    db.session.commit()
    response = jsonify(interaction_to_dict(load_interaction(interaction.id)))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_interaction_item", interaction_id=interaction.id)
    return response


def _load_for_edit(interaction_id: int) -> Interaction:
    _require_reader()
    interaction = load_interaction(interaction_id)
    if not can_edit_interaction(api_user(), interaction):
        forbidden()  # it is the author's account of the conversation
    return interaction


@bp.patch("/interactions/<int:interaction_id>")
def update_interaction_item(interaction_id: int):
    interaction = _load_for_edit(interaction_id)
    body = json_object()
    version = read_version(body.get("version"), required=True)
    data = interaction_input(body, with_version=True)
    update_interaction(interaction, data, actor=api_user(), expected_version=version, partial=True)
    db.session.commit()
    db.session.expire_all()
    return jsonify(interaction_to_dict(load_interaction(interaction_id)))


@bp.delete("/interactions/<int:interaction_id>")
def delete_interaction_item(interaction_id: int):
    interaction = _load_for_edit(interaction_id)
    version = read_version(request.args.get("version"), required=False)
    delete_interaction(interaction, actor=api_user(), expected_version=version)
    db.session.commit()
    return "", 204
