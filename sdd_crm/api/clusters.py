"""/api/v1/clusters: list, get (with its value chains), create, PATCH (with version), soft DELETE.

Everyone reads clusters; admins and regional account managers change them (403 for others).
A cluster that still has value chains cannot be deleted (409).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, url_for

from ..db import escape_like
from ..valuechains.models import Cluster
from ..valuechains.queries import get_cluster, live_clusters
from ..valuechains.services import create_cluster, delete_cluster, update_cluster
from . import bp, errors
from .auth import api_user, writers_only
from .openapi import LOCATION
from .schemas.base import VersionArgs, page_of
from .schemas.valuechains import (CLUSTER_CREATE, CLUSTER_DETAIL, CLUSTER_LIST, CLUSTER_PATCH,
                                  NameQuery)
from .state import refused_as_conflict

TAGS = ["value chains"]


def name_contains(column, q: str):
    """``?q=``: part of the name, whatever its case."""
    return sa.func.lower(column).like(f"%{escape_like(q.strip().lower())}%", escape="\\")


@bp.get("/clusters", tags=TAGS)
@bp.doc(operationId="listClusters", summary="Clusters, by name.")
@bp.arguments(NameQuery, location="query", as_kwargs=True)
@bp.response(200, CLUSTER_LIST, description="One page.")
def list_clusters(**args):
    stmt = live_clusters()
    if args.get("q"):
        stmt = stmt.where(name_contains(Cluster.name, args["q"]))
    return page_of(stmt, args, "api.list_clusters")


@bp.get("/clusters/<int:cluster_id>", tags=TAGS)
@bp.doc(operationId="getCluster", summary="One cluster with its value chains.")
@bp.response(200, CLUSTER_DETAIL, description="The cluster.")
def get_cluster_item(cluster_id: int):
    return get_cluster(cluster_id)


@bp.post("/clusters", tags=TAGS)
@bp.doc(operationId="createCluster",
        summary="Create a cluster (admins, regional account managers).")
@errors(403, 409)
@writers_only
@bp.arguments(CLUSTER_CREATE)
@bp.response(201, CLUSTER_DETAIL, description="Created.", headers=LOCATION)
def create_cluster_item(data):
    cluster = create_cluster(data, actor=api_user())
    return cluster, 201, {"Location": url_for("api.get_cluster_item", cluster_id=cluster.id)}


@bp.patch("/clusters/<int:cluster_id>", tags=TAGS)
@bp.doc(operationId="updateCluster", summary="Change the fields sent; `version` is required.")
@errors(403, 409, 428)
@writers_only
@bp.arguments(CLUSTER_PATCH)
@bp.response(200, CLUSTER_DETAIL, description="The changed cluster.")
def update_cluster_item(data, cluster_id: int):
    cluster = get_cluster(cluster_id)
    version = data.pop("version")
    update_cluster(cluster, data, actor=api_user(), expected_version=version, partial=True)
    return cluster


@bp.delete("/clusters/<int:cluster_id>", tags=TAGS)
@bp.doc(operationId="deleteCluster",
        summary="Soft delete; refused (409) while it still has value chains.")
@errors(403, 409, 422)
@writers_only
@bp.arguments(VersionArgs, location="query", error_status_code=422)
@bp.response(204, description="Deleted.")
def delete_cluster_item(args, cluster_id: int):
    cluster = get_cluster(cluster_id)
    with refused_as_conflict():
        delete_cluster(cluster, actor=api_user(), expected_version=args.get("version"))
    return Response(status=204)
