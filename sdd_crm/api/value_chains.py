"""/api/v1/value-chains: chains with their ordered stages, and the roles organisations play.

Stages and roles are sub-resources of their chain:
``/value-chains/<id>/stages[/<stage_id>]`` (POST, PATCH ``name``/``position``, DELETE; each
answers with the chain, its stages in their new order) and ``/value-chains/<id>/roles[/<role_id>]``
(GET list, POST, DELETE). Everyone reads; admins and regional account managers change chains
and stages; a role is changed by whoever may edit its organisation (DESIGN 4.4).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..organisations.models import Organisation
from ..pagination import paginate
from ..exceptions import ValidationError
from ..valuechains.models import ChainRole, ChainRoleType, ValueChain
from ..valuechains.network_services import add_chain_role, delete_chain_role
from ..valuechains.queries import get_chain, get_stage, live_chains
from ..valuechains.services import (
    add_stage,
    create_value_chain,
    delete_stage,
    delete_value_chain,
    move_stage,
    rename_stage,
    update_value_chain,
)
from . import bp
from .auth import api_user, require_writer
from .errors import check_id, check_query_text, json_object, page_args, query_int, read_version
from .organisations import list_response
from .params import query_choice
from .serializers import INTEGER, RECORD_ID, TEXT, TEXT_LIST, _timestamp, check_input

CHAIN_INPUT = {"name": TEXT, "cluster_id": RECORD_ID, "description": TEXT, "stages": TEXT_LIST}
CHAIN_READ_ONLY = {"id", "created_at", "updated_at"}
STAGE_INPUT = {"name": TEXT, "position": INTEGER}
ROLE_INPUT = {"organisation_id": RECORD_ID, "stage_id": RECORD_ID, "role": TEXT}
ROLE_READ_ONLY = {"id", "value_chain_id", "created_at"}
FILTER_PARAMS = ("cluster_id", "q")
ROLE_FILTER_PARAMS = ("organisation_id", "stage_id", "role")


def chain_to_dict(chain: ValueChain) -> dict[str, Any]:
    """One chain with its stages in order (``stages`` must be loaded: no N+1 in lists)."""
    return {
        "id": chain.id,
        "name": chain.name,
        "cluster_id": chain.cluster_id,
        "description": chain.description,
        "stages": [{"id": s.id, "position": i + 1, "name": s.name}
                   for i, s in enumerate(sorted(chain.stages, key=lambda s: s.position))],
        "version": chain.version,
        "created_at": _timestamp(chain.created_at),
        "updated_at": _timestamp(chain.updated_at),
    }


def role_to_dict(role: ChainRole) -> dict[str, Any]:
    return {
        "id": role.id,
        "organisation_id": role.organisation_id,
        "value_chain_id": role.value_chain_id,
        "stage_id": role.stage_id,
        "role": role.role,
        "created_at": _timestamp(role.created_at),
    }


def _fresh_chain(chain_id: int):
    db.session.expire_all()
    return jsonify(chain_to_dict(get_chain(chain_id)))


# --- Chains ----------------------------------------------------------------------------------

@bp.get("/value-chains")
def list_value_chains():
    check_query_text()
    stmt = live_chains(query_int("cluster_id")).options(selectinload(ValueChain.stages))
    q = (request.args.get("q") or "").strip()[:200]
    if q:
        escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(sa.func.lower(ValueChain.name).like(f"%{escaped}%", escape="\\"))
    page_no, per_page = page_args()
    page = paginate(stmt, page_no, per_page)
    return list_response(page, chain_to_dict, "api.list_value_chains", FILTER_PARAMS)


@bp.get("/value-chains/<int:chain_id>")
def get_value_chain_item(chain_id: int):
    return jsonify(chain_to_dict(get_chain(check_id(chain_id))))


@bp.post("/value-chains")
def create_value_chain_item():
    require_writer()
    data = check_input(json_object(), CHAIN_INPUT, CHAIN_READ_ONLY, with_version=False)
    chain = create_value_chain(data, actor=api_user())
    db.session.commit()
    response = _fresh_chain(chain.id)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_value_chain_item", chain_id=chain.id)
    return response


@bp.patch("/value-chains/<int:chain_id>")
def update_value_chain_item(chain_id: int):
    require_writer()
    chain = get_chain(check_id(chain_id))
    body = json_object()
    version = read_version(body.get("version"), required=True)
    data = check_input(body, CHAIN_INPUT, CHAIN_READ_ONLY, with_version=True)
    update_value_chain(chain, data, actor=api_user(), expected_version=version, partial=True)
    db.session.commit()
    return _fresh_chain(chain.id)


@bp.delete("/value-chains/<int:chain_id>")
def delete_value_chain_item(chain_id: int):
    require_writer()
    chain = get_chain(check_id(chain_id))
    version = read_version(request.args.get("version"), required=False)
    delete_value_chain(chain, actor=api_user(), expected_version=version)
    db.session.commit()
    return "", 204


# --- Stages ----------------------------------------------------------------------------------

def _stage_input() -> dict:
    return check_input(json_object(), STAGE_INPUT, {"id"}, with_version=False)


@bp.post("/value-chains/<int:chain_id>/stages")
def create_stage_item(chain_id: int):
    require_writer()
    chain = get_chain(check_id(chain_id))
    data = _stage_input()
    add_stage(chain, data.get("name"), actor=api_user(), position=data.get("position"))
    db.session.commit()
    response = _fresh_chain(chain.id)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_value_chain_item", chain_id=chain.id)
    return response


@bp.patch("/value-chains/<int:chain_id>/stages/<int:stage_id>")
def update_stage_item(chain_id: int, stage_id: int):
    require_writer()
    chain = get_chain(check_id(chain_id))
    stage = get_stage(chain, check_id(stage_id))
    data = _stage_input()
    if not data:
        raise ValidationError(_("Stuur name en/of position mee."))
    if "name" in data:
        rename_stage(stage, data["name"], actor=api_user())
    if "position" in data:
        move_stage(stage, actor=api_user(), position=data["position"])
    db.session.commit()
    return _fresh_chain(chain.id)


@bp.delete("/value-chains/<int:chain_id>/stages/<int:stage_id>")
def delete_stage_item(chain_id: int, stage_id: int):
    require_writer()
    chain = get_chain(check_id(chain_id))
    delete_stage(get_stage(chain, check_id(stage_id)), actor=api_user())
    db.session.commit()
    return "", 204


# --- Roles -----------------------------------------------------------------------------------

def _chain_roles(chain_id: int) -> sa.Select:
    return (sa.select(ChainRole)
            .join(Organisation, Organisation.id == ChainRole.organisation_id)
            .where(ChainRole.value_chain_id == chain_id, ChainRole.deleted_at.is_(None),
                   Organisation.deleted_at.is_(None), Organisation.merged_into_id.is_(None))
            .order_by(ChainRole.id))


@bp.get("/value-chains/<int:chain_id>/roles")
def list_chain_roles(chain_id: int):
    check_query_text()
    chain = get_chain(check_id(chain_id))
    stmt = _chain_roles(chain.id)
    if (org_id := query_int("organisation_id")) is not None:
        stmt = stmt.where(ChainRole.organisation_id == org_id)
    if (stage_id := query_int("stage_id")) is not None:
        stmt = stmt.where(ChainRole.stage_id == stage_id)
    if (role := query_choice("role", {r.value for r in ChainRoleType})) is not None:
        stmt = stmt.where(ChainRole.role == role)
    page_no, per_page = page_args()
    page = paginate(stmt, page_no, per_page)
    return _role_list(page, chain.id)


def _role_list(page, chain_id: int):
    args = {k: v for k, v in request.args.items() if k in ROLE_FILTER_PARAMS and v != ""}

    def link(n):
        return url_for("api.list_chain_roles", chain_id=chain_id,
                       **(args | {"page": n, "per_page": page.per_page}))

    return jsonify({
        "items": [role_to_dict(r) for r in page.items], "page": page.page,
        "per_page": page.per_page, "has_next": page.has_next,
        "next": link(page.page + 1) if page.has_next else None,
        "prev": link(page.page - 1) if page.has_prev else None,
    })


@bp.post("/value-chains/<int:chain_id>/roles")
def create_chain_role_item(chain_id: int):
    require_writer()
    chain = get_chain(check_id(chain_id))
    data = check_input(json_object(), ROLE_INPUT, ROLE_READ_ONLY, with_version=False)
    role = add_chain_role(data | {"value_chain_id": chain.id}, actor=api_user())
    db.session.commit()
    response = jsonify(role_to_dict(role))
    response.status_code = 201
    response.headers["Location"] = url_for("api.list_chain_roles", chain_id=chain.id,
                                           organisation_id=role.organisation_id)
    return response


@bp.delete("/value-chains/<int:chain_id>/roles/<int:role_id>")
def delete_chain_role_item(chain_id: int, role_id: int):
    require_writer()
    chain = get_chain(check_id(chain_id))
    role = db.session.scalar(_chain_roles(chain.id).where(ChainRole.id == check_id(role_id)))
    if role is None:
        abort(404)
    delete_chain_role(role, actor=api_user())
    db.session.commit()
    return "", 204
