"""/api/v1/value-chains: chains with their ordered stages, and the roles organisations play.

Stages and roles are sub-resources of their chain:
``/value-chains/<id>/stages[/<stage_id>]`` (POST, PATCH ``name``/``position``, DELETE; each
answers with the chain, its stages in their new order) and ``/value-chains/<id>/roles[/<role_id>]``
(GET list, POST, DELETE). Everyone reads; admins and regional account managers change chains
and stages; a role is changed by whoever may edit its organisation (DESIGN 4.4).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, url_for
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..valuechains.models import ChainRole, ValueChain
from ..valuechains.network_services import add_chain_role, delete_chain_role
from ..valuechains.queries import dead_organisation_ids, get_chain, get_stage, live_chains
from ..valuechains.services import (
    add_stage,
    create_value_chain,
    delete_stage,
    delete_value_chain,
    move_stage,
    rename_stage,
    update_value_chain,
)
from . import bp, errors
from .auth import api_user, writers_only
from .clusters import TAGS, name_contains
from .openapi import LOCATION
from .schemas.base import VersionArgs, page_of
from .schemas.valuechains import (
    CHAIN_ROLE,
    CHAIN_ROLE_CREATE,
    CHAIN_ROLE_LIST,
    STAGE_CREATE,
    STAGE_PATCH,
    VALUE_CHAIN,
    VALUE_CHAIN_CREATE,
    VALUE_CHAIN_LIST,
    VALUE_CHAIN_PATCH,
    ChainRoleQuery,
    ValueChainQuery,
)
from .state import refused_as_conflict


# --- Chains ----------------------------------------------------------------------------------

@bp.get("/value-chains", tags=TAGS)
@bp.doc(operationId="listValueChains", summary="Value chains with their stages, by name.")
@bp.arguments(ValueChainQuery, location="query", as_kwargs=True)
@bp.response(200, VALUE_CHAIN_LIST, description="One page.")
def list_value_chains(**args):
    stmt = live_chains(args.get("cluster_id")).options(selectinload(ValueChain.stages))
    if args.get("q"):
        stmt = stmt.where(name_contains(ValueChain.name, args["q"]))
    return page_of(stmt, args, "api.list_value_chains")


@bp.get("/value-chains/<int:chain_id>", tags=TAGS)
@bp.doc(operationId="getValueChain", summary="One value chain with its stages in order.")
@bp.response(200, VALUE_CHAIN, description="The value chain.")
def get_value_chain_item(chain_id: int):
    return get_chain(chain_id)


@bp.post("/value-chains", tags=TAGS)
@bp.doc(operationId="createValueChain",
        summary="Create a value chain in a cluster, optionally with its stages (admins, regional "
                "account managers).")
@errors(403, 409)
@writers_only
@bp.arguments(VALUE_CHAIN_CREATE)
@bp.response(201, VALUE_CHAIN, description="Created.", headers=LOCATION)
def create_value_chain_item(data):
    if "stage_names" in data:
        data["stages"] = data.pop("stage_names")
    chain = create_value_chain(data, actor=api_user())
    return chain, 201, {"Location": url_for("api.get_value_chain_item", chain_id=chain.id)}


@bp.patch("/value-chains/<int:chain_id>", tags=TAGS)
@bp.doc(operationId="updateValueChain",
        summary="Change the fields sent; `version` is required. The stages change through their "
                "sub-resource.")
@errors(403, 409, 428)
@writers_only
@bp.arguments(VALUE_CHAIN_PATCH)
@bp.response(200, VALUE_CHAIN, description="The changed value chain.")
def update_value_chain_item(data, chain_id: int):
    chain = get_chain(chain_id)
    version = data.pop("version")
    update_value_chain(chain, data, actor=api_user(), expected_version=version, partial=True)
    return chain


@bp.delete("/value-chains/<int:chain_id>", tags=TAGS)
@bp.doc(operationId="deleteValueChain",
        summary="Soft delete; refused (409) while roles or supply links use it.")
@errors(403, 409, 422)
@writers_only
@bp.arguments(VersionArgs, location="query", error_status_code=422)
@bp.response(204, description="Deleted.")
def delete_value_chain_item(args, chain_id: int):
    chain = get_chain(chain_id)
    with refused_as_conflict():
        delete_value_chain(chain, actor=api_user(), expected_version=args.get("version"))
    return Response(status=204)


# --- Stages ----------------------------------------------------------------------------------

@bp.post("/value-chains/<int:chain_id>/stages", tags=TAGS)
@bp.doc(operationId="createValueChainStage",
        summary="Add a stage (last, or at `position`); answers with the chain.")
@errors(403, 409)
@writers_only
@bp.arguments(STAGE_CREATE)
@bp.response(201, VALUE_CHAIN, description="The chain with the new stage.", headers=LOCATION)
def create_stage_item(data, chain_id: int):
    chain = get_chain(chain_id)
    add_stage(chain, data["name"], actor=api_user(), position=data.get("position"))
    return chain, 201, {"Location": url_for("api.get_value_chain_item", chain_id=chain.id)}


@bp.patch("/value-chains/<int:chain_id>/stages/<int:stage_id>", tags=TAGS)
@bp.doc(operationId="updateValueChainStage",
        summary="Rename (`name`) and/or move (`position`) a stage.")
@errors(403, 409)
@writers_only
@bp.arguments(STAGE_PATCH)
@bp.response(200, VALUE_CHAIN, description="The chain, its stages in their new order.")
def update_stage_item(data, chain_id: int, stage_id: int):
    chain = get_chain(chain_id)
    stage = get_stage(chain, stage_id)
    if "name" in data:
        rename_stage(stage, data["name"], actor=api_user())
    if "position" in data:
        move_stage(stage, actor=api_user(), position=data["position"])
    return chain


@bp.delete("/value-chains/<int:chain_id>/stages/<int:stage_id>", tags=TAGS)
@bp.doc(operationId="deleteValueChainStage",
        summary="Delete a stage no organisation has a role at (else 409); the stages after it "
                "move up.")
@errors(403, 409)
@writers_only
@bp.response(204, description="Deleted.")
def delete_stage_item(chain_id: int, stage_id: int):
    chain = get_chain(chain_id)
    with refused_as_conflict():
        delete_stage(get_stage(chain, stage_id), actor=api_user())
    return Response(status=204)


# --- Roles -----------------------------------------------------------------------------------

def _chain_roles(chain_id: int) -> sa.Select:
    """Live roles of live organisations in the chain, oldest first. The few dead (deleted or
    merged) organisations are left out by their ids: no organisation row is read per role."""
    return (sa.select(ChainRole)
            .where(ChainRole.value_chain_id == chain_id, ChainRole.deleted_at.is_(None),
                   ChainRole.organisation_id.not_in(dead_organisation_ids()))
            .order_by(ChainRole.id))


@bp.get("/value-chains/<int:chain_id>/roles", tags=TAGS)
@bp.doc(operationId="listChainRoles", summary="The roles organisations play in this chain.")
@bp.arguments(ChainRoleQuery, location="query", as_kwargs=True)
@bp.response(200, CHAIN_ROLE_LIST, description="One page.")
def list_chain_roles(chain_id: int, **args):
    chain = get_chain(chain_id)
    stmt = _chain_roles(chain.id)
    for name, column in (("organisation_id", ChainRole.organisation_id),
                         ("stage_id", ChainRole.stage_id), ("role", ChainRole.role)):
        if args.get(name) is not None:
            stmt = stmt.where(column == args[name])
    return page_of(stmt, args, "api.list_chain_roles", chain_id=chain.id)


@bp.post("/value-chains/<int:chain_id>/roles", tags=TAGS)
@bp.doc(operationId="createChainRole",
        summary="Record an organisation's role at a stage of this chain (you must be allowed to "
                "edit the organisation). The same role twice gets 409.")
@errors(403, 409)
@writers_only
@bp.arguments(CHAIN_ROLE_CREATE)
@bp.response(201, CHAIN_ROLE, description="Created.", headers=LOCATION)
def create_chain_role_item(data, chain_id: int):
    chain = get_chain(chain_id)
    # Whether a stage is needed depends on the chain: leaving it out of a chain with stages is
    # a 409 too (the document cannot say it).
    with refused_as_conflict("organisation_id", "stage_id"):
        role = add_chain_role(data | {"value_chain_id": chain.id}, actor=api_user())
    return role, 201, {"Location": url_for("api.list_chain_roles", chain_id=chain.id,
                                           organisation_id=role.organisation_id)}


@bp.delete("/value-chains/<int:chain_id>/roles/<int:role_id>", tags=TAGS)
@bp.doc(operationId="deleteChainRole", summary="Soft delete a role.")
@errors(403)
@writers_only
@bp.response(204, description="Deleted.")
def delete_chain_role_item(chain_id: int, role_id: int):
    chain = get_chain(chain_id)
    role = None
    if role_id < 2**31:
        role = db.session.scalar(_chain_roles(chain.id).where(ChainRole.id == role_id))
    if role is None:
        abort(404)
    delete_chain_role(role, actor=api_user())
    return Response(status=204)
