"""/api/v1/interactions: contact moments, with the visibility of DESIGN 4.4.

A confidential interaction exists only for its author, the organisation's account team and
admins: for anyone else it is absent from lists and a 404 on its own URL (not a 403, which
would reveal that it exists). Viewers never read interactions: 403 on every route.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, url_for
from sqlalchemy.orm import selectinload

from ..exceptions import NotFound
from ..extensions import db
from ..interactions.models import Interaction
from ..interactions.services import (
    can_edit_interaction,
    create_interaction,
    delete_interaction,
    update_interaction,
)
from ..organisations.models import Organisation
from ..visibility import can_see_interactions, interaction_visible
from . import bp, errors, guard
from .auth import api_user
from .errors import check_id, forbidden
from .openapi import LOCATION
from .schemas.accounts import (
    INTERACTION,
    INTERACTION_CREATE,
    INTERACTION_LIST,
    INTERACTION_PATCH,
    InteractionArgs,
)
from .schemas.base import VersionArgs, page_of

TAGS = ["interactions"]


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
        live = db.session.scalar(
            sa.select(Interaction.id)
            .join(Organisation, Organisation.id == Interaction.organisation_id)
            .where(Interaction.id == interaction_id, Interaction.deleted_at.is_(None),
                   Organisation.deleted_at.is_(None)))
        if live is not None:
            # Confidential, outside the user's circle: answered as a missing id, refusal audited.
            raise NotFound(hidden=("interaction", interaction_id))
        abort(404)
    return interaction


def _load_for_edit(interaction_id: int) -> Interaction:
    interaction = load_interaction(interaction_id)
    if not can_edit_interaction(api_user(), interaction):
        forbidden()  # it is the author's account of the conversation
    return interaction


@bp.get("/interactions", tags=TAGS)
@bp.doc(operationId="listInteractions",
        summary="Contact moments you may see (confidential ones only inside their circle), newest first.")
@errors(403)
@guard(_require_reader)
@bp.arguments(InteractionArgs, location="query", as_kwargs=True)
@bp.response(200, INTERACTION_LIST, description="One page.")
def list_interactions(**args):
    stmt = visible_interactions(api_user())
    if (org_id := args.get("organisation_id")) is not None:
        stmt = stmt.where(Interaction.organisation_id == org_id)
    if (kind := args.get("type")) is not None:
        stmt = stmt.where(Interaction.type == kind)
    if (date_from := args.get("date_from")) is not None:
        stmt = stmt.where(Interaction.date >= date_from)
    if (date_to := args.get("date_to")) is not None:
        stmt = stmt.where(Interaction.date <= date_to)
    if (confidential := args.get("confidential")) is not None:
        stmt = stmt.where(Interaction.confidential.is_(confidential))
    return page_of(stmt, args, "api.list_interactions", keyset=True)


@bp.get("/interactions/<int:interaction_id>", tags=TAGS)
@bp.doc(operationId="getInteraction",
        summary="One contact moment (404 when it is confidential and you are outside its circle).")
@errors(403)
@guard(_require_reader)
@bp.response(200, INTERACTION, description="The record.")
def get_interaction_item(interaction_id: int):
    return load_interaction(interaction_id)


@bp.post("/interactions", tags=TAGS)
@bp.doc(operationId="createInteraction", summary="Log a contact moment, with follow-up tasks.")
@errors(403, 409)
@guard(_require_reader)
@bp.arguments(INTERACTION_CREATE)
@bp.response(201, INTERACTION, description="Created.", headers=LOCATION)
def create_interaction_item(data):
    interaction = create_interaction(data, actor=api_user())
    location = url_for("api.get_interaction_item", interaction_id=interaction.id)
    return load_interaction(interaction.id), 201, {"Location": location}


@bp.patch("/interactions/<int:interaction_id>", tags=TAGS)
@bp.doc(operationId="updateInteraction",
        summary="Change the fields sent (the author or an admin); `version` is required.")
@errors(403, 409, 428)
@guard(_require_reader)
@bp.arguments(INTERACTION_PATCH)
@bp.response(200, INTERACTION, description="The changed record.")
def update_interaction_item(data, interaction_id: int):
    interaction = _load_for_edit(interaction_id)
    version = data.pop("version")
    update_interaction(interaction, data, actor=api_user(), expected_version=version, partial=True)
    db.session.flush()
    db.session.expire_all()  # topics, contacts and users as stored
    return load_interaction(interaction_id)


@bp.delete("/interactions/<int:interaction_id>", tags=TAGS)
@bp.doc(operationId="deleteInteraction", summary="Soft delete.")
@errors(403, 409, 422)
@guard(_require_reader)
@bp.arguments(VersionArgs, location="query", error_status_code=422)
@bp.response(204, description="Deleted.")
def delete_interaction_item(args, interaction_id: int):
    interaction = _load_for_edit(interaction_id)
    delete_interaction(interaction, actor=api_user(), expected_version=args.get("version"))
    return Response(status=204)
