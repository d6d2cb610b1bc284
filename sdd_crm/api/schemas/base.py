"""What every API schema shares: Dutch messages, refused unknown and read-only fields, the
create/patch/list views of one resource schema, the query schemas of the list endpoints.

One schema class per resource declares every field once: input fields, output-only fields
(``dump_only=True``) and ``version``. Its views are instances with modifiers, registered under the
component names of the OpenAPI document::

    class ThingSchema(ResourceSchema):
        id = f.Integer(dump_only=True)
        name = f.Text(required=True, max_length=200)
        version = version_field()
        created_at = f.DateTime(dump_only=True)

    THING, THING_CREATE, THING_PATCH, THING_LIST = resource_components("Thing", ThingSchema)

which registers ``Thing`` (output), ``ThingCreate``, ``ThingPatch`` and ``ThingList``; a resource
whose views differ (a detail view, excluded fields) registers them one by one with ``component``.
"""

from __future__ import annotations

from collections.abc import Mapping

import marshmallow as ma
from flask import current_app, request, url_for

from ...pagination import CURSOR_MAX_LENGTH, CURSOR_PATTERN, keyset_page, paginate
from .. import fields as f
from ..errors import MAX_PAGE, version_required

UNKNOWN = "Onbekend veld."
READ_ONLY = "Dit veld kan niet worden gewijzigd."

# name → schema instance, registered in the spec when the Api starts (before the routes).
COMPONENTS: dict[str, ma.Schema] = {}


def component(name: str, schema: ma.Schema, *, extra: dict | None = None) -> ma.Schema:
    """Register ``schema`` (an instance) as ``#/components/schemas/<name>``; returns it.
    ``extra``: JSON Schema merged into this component only (e.g. an if/then)."""
    if extra is not None:
        schema.openapi_extra = extra
    COMPONENTS[name] = schema
    return schema


class ApiSchema(ma.Schema):
    """Unknown fields are refused ("Onbekend veld."); a field of the resource that cannot be
    written here (output-only, or ``version`` on create) is "Dit veld kan niet worden gewijzigd."."""

    error_messages = {"unknown": UNKNOWN, "type": "Stuur een JSON-object."}

    # Extra names refused as read-only rather than unknown (e.g. fields of a detail view).
    read_only_names: tuple[str, ...] = ()
    # Set on the PATCH view: a missing ``version`` is 428, before any other check.
    requires_version = False
    # Set on the views that read input (create/patch/query): their document keeps the input
    # rules (pattern, lengths); an output view documents types only.
    api_input = False
    # Extra JSON Schema merged into this schema's component (what marshmallow cannot say).
    openapi_extra: dict = {}

    @ma.pre_load
    def _version_first(self, data, **kwargs):
        if self.requires_version and isinstance(data, Mapping) and data.get("version") in (None, ""):
            raise version_required()
        return data

    def handle_error(self, error, data, *, many, **kwargs):
        if isinstance(error.messages, dict):
            known = set(type(self)._declared_fields) | set(self.read_only_names)
            for key, messages in list(error.messages.items()):
                if key in known and key not in self.load_fields and messages == [UNKNOWN]:
                    error.messages[key] = [READ_ONLY]


class ResourceSchema(ApiSchema):
    """The one schema of an API resource (see the module docstring)."""


VERSION_DESCRIPTION = "Send it back with a PATCH; a stale one gets 409."


def version_field() -> f.Integer:
    return f.Id(required=True, description="The version you last fetched (a PATCH needs it; "
                                           "a stale one gets 409).")


def _writable(schema_cls) -> list[str]:
    return [name for name, field in schema_cls._declared_fields.items() if not field.dump_only]


def _output_only(schema_cls) -> list[str]:
    return [name for name, field in schema_cls._declared_fields.items() if field.dump_only]


def create_view(schema_cls, *, exclude=()) -> ApiSchema:
    """The input of a POST: the writable fields, without ``version``."""
    version = ("version",) if "version" in schema_cls._declared_fields else ()
    schema = schema_cls(exclude=(*_output_only(schema_cls), *version, *exclude))
    schema.api_input = True
    return schema


def input_view(schema_cls, **kwargs) -> ApiSchema:
    """Any other input schema instance (e.g. a body that is not a create or a patch)."""
    schema = schema_cls(**kwargs)
    schema.api_input = True
    return schema


def patch_view(schema_cls, *, exclude=()) -> ApiSchema:
    """The input of a PATCH: any writable field, ``version`` required (428 without it)."""
    writable = [n for n in _writable(schema_cls) if n != "version" and n not in exclude]
    schema = schema_cls(exclude=(*_output_only(schema_cls), *exclude), partial=tuple(writable))
    schema.requires_version = "version" in schema_cls._declared_fields
    schema.api_input = True
    return schema


def list_view(item_schema_cls, name: str | None = None, *, cursor: bool = False):
    """The list envelope of DESIGN 5: ``items`` plus where the next page is (no total).
    ``cursor``: a keyset list (see :class:`CursorPageArgs`), which also returns ``next_cursor``."""
    name = name or item_schema_cls.__name__.removesuffix("Schema") + "ListSchema"
    fields = {
        "items": f.List(f.Nested(item_schema_cls), required=True),
        "page": f.Integer(required=True, minimum=1),
        "per_page": f.Integer(required=True, minimum=1),
        "has_next": f.Boolean(required=True),
        "next": f.Text(required=True, allow_none=True, pattern=False,
                       description="URL of the next page, or null."),
        "prev": f.Text(required=True, allow_none=True, pattern=False,
                       description="URL of the previous page, or null."),
    }
    if cursor:
        fields["next_cursor"] = f.Text(
            required=True, allow_none=True, pattern=CURSOR_PATTERN,
            description="Send as `cursor` (with the same filters and `per_page`) for the next "
                        "page. The `next` link carries it too. Null on the last page (see "
                        "`has_next`), and rarely also before it: when the page's last row "
                        "sorts on texts too long for a cursor, `next` goes by page number.")
    return type(name, (ApiSchema,), fields)


def resource_components(name: str, schema_cls, *, create_extra: dict | None = None,
                        patch_extra: dict | None = None,
                        cursor: bool = False) -> tuple[ApiSchema, ...]:
    """The four components of a resource: output, create, patch and list views of
    ``schema_cls``, as ``<name>``, ``<name>Create``, ``<name>Patch`` and ``<name>List``
    (``cursor``: a keyset list, see :func:`list_view`)."""
    return (component(name, schema_cls()),
            component(f"{name}Create", create_view(schema_cls), extra=create_extra),
            component(f"{name}Patch", patch_view(schema_cls), extra=patch_extra),
            component(f"{name}List", list_view(schema_cls, cursor=cursor)()))


# --- query strings ---------------------------------------------------------------------------

class QuerySchema(ma.Schema):
    """A query-string schema: unknown parameters are ignored, empty ones count as absent."""

    api_input = True

    class Meta:
        unknown = ma.EXCLUDE


def _default_page_size() -> int:
    return current_app.config["PAGE_SIZE"]


class PageArgs(QuerySchema):
    """``?page=`` (from 1) and ``?per_page=`` (larger than API_MAX_PAGE_SIZE is clamped)."""

    page = f.QueryInteger(load_default=1, minimum=1, maximum=MAX_PAGE,
                          metadata={"default": 1, "description": "Page number, from 1."})
    per_page = f.QueryInteger(load_default=_default_page_size, minimum=1, maximum=f.MAX_ID,
                              metadata={"description": "Items per page; values above the maximum "
                                                       "page size (100) are clamped to it."})


class CursorPageArgs(PageArgs):
    """:class:`PageArgs` of a big list, plus ``?cursor=`` (keyset pagination)."""

    cursor = f.Text(max_length=CURSOR_MAX_LENGTH, pattern=CURSOR_PATTERN,
                    enforce_pattern="Gebruik als cursor de waarde van next_cursor.",
                    description="Where the page starts: `next_cursor` of the previous page (the "
                                "`next` and `prev` links carry it). Every page then costs the "
                                "same, however deep. Ignored when `page` names another page than "
                                "the cursor leads to; a cursor that is no longer valid (made for "
                                "another sort, or before a key change) is ignored too, and the "
                                "page named by `page` (default 1) is returned.")


class VersionArgs(QuerySchema):
    """``?version=`` of a DELETE: optional; a stale one gets 409 (use with error_status_code=422)."""

    version = f.QueryInteger(minimum=1, maximum=f.MAX_ID,
                             metadata={"description": "Optional: the version you last fetched; "
                                                      "a stale one gets 409."})


def page_of(stmt, args: Mapping, endpoint: str, *, keyset: bool = False, **path_args) -> dict:
    """One page of ``stmt`` as the list envelope (dump it with a ``list_view`` schema).

    ``args`` is what the query schema loaded; the ``next``/``prev`` links repeat the filters
    the client sent. ``keyset``: a big list (query schema :class:`CursorPageArgs`, envelope
    ``list_view(..., cursor=True)``): paged by cursor as the screens are
    (``sdd_crm.pagination.keyset_page``), its links carry the cursor and the envelope has
    ``next_cursor``."""
    per_page = min(args.get("per_page") or _default_page_size(), current_app.config["API_MAX_PAGE_SIZE"])
    if keyset:
        number = args.get("page") if (request.args.get("page") or "").strip() else None
        page = keyset_page(stmt, per_page, page=number, cursor=args.get("cursor"))
    else:
        page = paginate(stmt, args.get("page") or 1, per_page)
    filters = {k: v for k, v in request.args.items()
               if k in args and k not in ("page", "per_page", "cursor") and v.strip() != ""}

    def link(n, cursor=None):
        return url_for(endpoint, **path_args, **filters, cursor=cursor, page=n,
                       per_page=page.per_page)

    body = {
        "items": page.items,
        "page": page.page,
        "per_page": page.per_page,
        "has_next": page.has_next,
        "next": link(page.page + 1, page.next_cursor) if page.has_next else None,
        "prev": link(page.page - 1, page.prev_cursor) if page.has_prev else None,
    }
    if keyset:
        body["next_cursor"] = page.next_cursor if page.has_next else None
    return body


class ErrorBodySchema(ApiSchema):
    status = f.Integer(required=True)
    code = f.Text(required=True, pattern=False, metadata={"examples": ["validation_error"]})
    message = f.Text(required=True, pattern=False,
                     description="In Dutch (or the user's language).")
    fields = f.Dict(keys=f.Text(pattern=False), values=f.Text(pattern=False),
                    description="Field → message, on 422 (and on 400 for query parameters).")
    current_version = f.Integer(description="On a 409 for a stale version: the current one.")
    current = f.Dict(description="On a 409 for a stale version: the record as its GET returns it "
                                 "now, so a client can merge and send it again with "
                                 "`current_version`.")
    changed_fields = f.List(f.Text(pattern=False),
                            description="On a 409 for a stale version: the fields changed since "
                                        "the version the client sent.")


class ErrorSchema(ApiSchema):
    """DESIGN 5's error body (documentation only: ``sdd_crm.errors.api_error`` writes it)."""

    error = f.Nested(ErrorBodySchema, required=True)


component("Error", ErrorSchema())
