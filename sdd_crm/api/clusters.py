"""/api/v1/clusters: list, get (with its value chains), create, PATCH (with version), soft DELETE.

Everyone reads clusters; admins and regional account managers change them (403 for others).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import jsonify, request, url_for

from ..extensions import db
from ..pagination import paginate
from ..valuechains.models import Cluster
from ..valuechains.queries import get_cluster, live_chains, live_clusters
from ..valuechains.services import create_cluster, delete_cluster, update_cluster
from . import bp
from .auth import api_user, require_writer
from .errors import check_id, check_query_text, json_object, page_args, read_version
from .organisations import list_response
from .serializers import TEXT, _timestamp, check_input

CLUSTER_INPUT = {"name": TEXT, "description": TEXT}
CLUSTER_READ_ONLY = {"id", "value_chains", "created_at", "updated_at"}
FILTER_PARAMS = ("q",)


def cluster_to_dict(cluster: Cluster) -> dict[str, Any]:
    return {
        "id": cluster.id,
        "name": cluster.name,
        "description": cluster.description,
        "version": cluster.version,
        "created_at": _timestamp(cluster.created_at),
        "updated_at": _timestamp(cluster.updated_at),
    }


def cluster_detail(cluster: Cluster) -> dict[str, Any]:
    chains = db.session.scalars(live_chains(cluster.id)).all()
    return cluster_to_dict(cluster) | {
        "value_chains": [{"id": c.id, "name": c.name} for c in chains]}


def _input(body: dict, with_version: bool = False) -> dict:
    return check_input(body, CLUSTER_INPUT, CLUSTER_READ_ONLY, with_version=with_version)


@bp.get("/clusters")
def list_clusters():
    check_query_text()
    stmt = live_clusters()
    q = (request.args.get("q") or "").strip()[:200]
    if q:
        escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(sa.func.lower(Cluster.name).like(f"%{escaped}%", escape="\\"))
    page_no, per_page = page_args()
    page = paginate(stmt, page_no, per_page)
    return list_response(page, cluster_to_dict, "api.list_clusters", FILTER_PARAMS)


@bp.get("/clusters/<int:cluster_id>")
def get_cluster_item(cluster_id: int):
    return jsonify(cluster_detail(get_cluster(check_id(cluster_id))))


@bp.post("/clusters")
def create_cluster_item():
    require_writer()
    data = _input(json_object())
    cluster = create_cluster(data, actor=api_user())
    db.session.commit()
    response = jsonify(cluster_detail(cluster))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_cluster_item", cluster_id=cluster.id)
    return response


@bp.patch("/clusters/<int:cluster_id>")
def update_cluster_item(cluster_id: int):
    require_writer()
    cluster = get_cluster(check_id(cluster_id))
    body = json_object()
    version = read_version(body.get("version"), required=True)
    data = _input(body, with_version=True)
    update_cluster(cluster, data, actor=api_user(), expected_version=version, partial=True)
    db.session.commit()
    return jsonify(cluster_detail(cluster))


@bp.delete("/clusters/<int:cluster_id>")
def delete_cluster_item(cluster_id: int):
    require_writer()
    cluster = get_cluster(check_id(cluster_id))
    version = read_version(request.args.get("version"), required=False)
    delete_cluster(cluster, actor=api_user(), expected_version=version)
    db.session.commit()
    return "", 204
