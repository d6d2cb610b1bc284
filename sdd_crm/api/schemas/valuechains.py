"""Clusters, value chains (with their stages and the roles organisations play) and supply links:
one schema per resource, for what a client sends, what it gets back and the OpenAPI document."""

from __future__ import annotations

import marshmallow as ma

from ...extensions import db
from ...valuechains.models import ChainRoleType
from ...valuechains.network_services import MAX_SUPPLIED
from ...valuechains.queries import live_chains
from ...valuechains.services import MAX_DESCRIPTION, MAX_NAME, MAX_STAGES
from .. import fields as f
from .base import (ApiSchema, PageArgs, ResourceSchema, component, create_view, input_view,
                   list_view, patch_view, resource_components, version_field)


def name_field(max_length: int, **kwargs) -> f.Text:
    """A required one-line name, not blank (the services strip it and then require it)."""
    return f.Text(required=True, max_length=max_length, pattern=f.NON_BLANK_PATTERN, **kwargs)


def description_field() -> f.Text:
    return f.Text(allow_none=True, max_length=MAX_DESCRIPTION, multiline=True)


ROLE_DESCRIPTION = ("oem (OEM / system integrator), tier1, tier2, service_provider, "
                    "knowledge_partner or customer.")


# --- Clusters ----------------------------------------------------------------------------------

class ChainRefSchema(ApiSchema):
    id = f.Integer(required=True)
    name = f.Text(required=True, pattern=False)


def _live_chains(cluster) -> list:
    return db.session.scalars(live_chains(cluster.id)).all()


class ClusterSchema(ResourceSchema):
    id = f.Integer(dump_only=True)
    name = name_field(MAX_NAME, data_dependent=True, description="Unique (409 when taken).")
    description = description_field()
    version = version_field()
    created_at = f.DateTime(dump_only=True)
    updated_at = f.DateTime(dump_only=True)


class ClusterDetailSchema(ClusterSchema):
    """A cluster with its (live) value chains."""

    value_chains = f.List(f.Nested(ChainRefSchema), dump_only=True, source=_live_chains)


CLUSTER = component("Cluster", ClusterSchema())
CLUSTER_DETAIL = component("ClusterDetail", ClusterDetailSchema())
CLUSTER_CREATE = component("ClusterCreate", create_view(ClusterDetailSchema))
CLUSTER_PATCH = component("ClusterPatch", patch_view(ClusterDetailSchema))
CLUSTER_LIST = component("ClusterList", list_view(ClusterSchema)())


class NameQuery(PageArgs):
    q = f.Text(max_length=200, description="Part of the name.")


# --- Value chains and their stages ---------------------------------------------------------------

class ValueChainStageSchema(ApiSchema):
    id = f.Integer(dump_only=True)
    position = f.Integer(minimum=1, maximum=MAX_STAGES, data_dependent=True, description=(
        "1 = first. When adding or moving a stage: where it goes (the others shift); a new "
        "stage goes last without it. Beyond the chain's number of stages: 409."))
    name = name_field(MAX_NAME, data_dependent=True,
                      description="Unique within the chain (409 when taken).")

    @ma.validates_schema
    def _not_empty(self, data, **kwargs):
        if not data:  # a PATCH that changes nothing (the create view requires a name)
            raise ma.ValidationError("Stuur name en/of position mee.")


def _stages_in_order(chain) -> list:
    return sorted(chain.stages, key=lambda s: s.position)


class ValueChainSchema(ResourceSchema):
    id = f.Integer(dump_only=True)
    name = name_field(MAX_NAME, data_dependent=True, description="Unique (409 when taken).")
    cluster_id = f.Id(required=True, data_dependent=True, description="A live cluster.")
    description = description_field()
    stages = f.List(f.Nested(ValueChainStageSchema), dump_only=True, source=_stages_in_order,
                    description="In order.")
    # On create only, the stages are their names in order (afterwards: the stages sub-resource).
    stage_names = f.List(
        name_field(MAX_NAME), load_only=True, data_key="stages", max_items=MAX_STAGES,
        metadata={"uniqueItems": True},
        description="Only when creating: the stage names in order (each once, whatever its "
                    "case). Afterwards use the stages sub-resource.")
    version = version_field()
    created_at = f.DateTime(dump_only=True)
    updated_at = f.DateTime(dump_only=True)


# "Stage" after the path segment ``stages``: a client that follows the document (schemathesis'
# stateful phase) then finds a chain's stages in ``stages[].id``.
STAGE = component("Stage", ValueChainStageSchema())
VALUE_CHAIN = component("ValueChain", ValueChainSchema(exclude=("stage_names",)))
VALUE_CHAIN_CREATE = component("ValueChainCreate", create_view(ValueChainSchema))
VALUE_CHAIN_PATCH = component("ValueChainPatch", patch_view(ValueChainSchema,
                                                            exclude=("stage_names",)))
VALUE_CHAIN_LIST = component("ValueChainList", list_view(ValueChainSchema)(
    exclude=("items.stage_names",)))
STAGE_CREATE = component("ValueChainStageCreate",
                         input_view(ValueChainStageSchema, exclude=("id",)))
STAGE_PATCH = component("ValueChainStagePatch", patch_view(ValueChainStageSchema))
STAGE_PATCH.openapi_extra = {"minProperties": 1}


class ValueChainQuery(NameQuery):
    cluster_id = f.QueryId(description="Only the chains of this cluster.")


# --- Roles organisations play in a chain --------------------------------------------------------

class ChainRoleSchema(ApiSchema):
    id = f.Integer(dump_only=True)
    organisation_id = f.Id(required=True, data_dependent=True, description="A live organisation.")
    value_chain_id = f.Integer(dump_only=True)
    stage_id = f.Id(allow_none=True, data_dependent=True,
                    description="A stage of this chain; required when the chain has stages.")
    role = f.Choice(ChainRoleType, required=True, error="Kies een geldige rol in de keten.",
                    description=ROLE_DESCRIPTION)
    created_at = f.DateTime(dump_only=True)


CHAIN_ROLE = component("ChainRole", ChainRoleSchema())
CHAIN_ROLE_CREATE = component("ChainRoleCreate", input_view(
    ChainRoleSchema, exclude=("id", "value_chain_id", "created_at")))
CHAIN_ROLE_LIST = component("ChainRoleList", list_view(ChainRoleSchema)())


class ChainRoleQuery(PageArgs):
    organisation_id = f.QueryId(description="Only this organisation.")
    stage_id = f.QueryId(description="Only this stage.")
    role = f.Choice(ChainRoleType, description="Only this role.")


# --- Supply links ---------------------------------------------------------------------------------

class SupplyLinkSchema(ResourceSchema):
    id = f.Integer(dump_only=True)
    supplier_id = f.Id(required=True, data_dependent=True,
                       description="The organisation that supplies (a live one).")
    customer_id = f.Id(required=True, data_dependent=True,
                       description="The organisation that buys (a live one); not the supplier.")
    value_chain_id = f.Id(allow_none=True, data_dependent=True,
                          description="A live value chain, or null.")
    supplied = f.Text(allow_none=True, max_length=MAX_SUPPLIED, multiline=True,
                      description="What is supplied.")
    sole_source = f.Boolean(description="The customer has no alternative supplier for this.")
    version = version_field()
    created_at = f.DateTime(dump_only=True)
    updated_at = f.DateTime(dump_only=True)


SUPPLY_LINK, SUPPLY_LINK_CREATE, SUPPLY_LINK_PATCH, SUPPLY_LINK_LIST = resource_components(
    "SupplyLink", SupplyLinkSchema)


class SupplyLinkQuery(PageArgs):
    organisation_id = f.QueryId(
        description="Links where this organisation is supplier or customer.")
    supplier_id = f.QueryId(description="Links of this supplier.")
    customer_id = f.QueryId(description="Links of this customer.")
    value_chain_id = f.QueryId(description="Links within this value chain.")
    sole_source = f.QueryBoolean(description="Only sole-source links (true) or only the others "
                                             "(false).")
