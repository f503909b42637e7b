"""The data API of 001: `/data/<collection>/create|list|get|update|delete` over a registry of collections.

Generic plumbing only (routes, envelopes, paging, staff check); each collection brings its schemas and rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import flask
from marshmallow import fields, validate
from peewee import Select

from core.api import ticket_types
from core.api.blueprint import Blueprint
from core.api.ticket_type_schema import (
    DeletedEnvelopeSchema,
    TicketTypeCreateSchema,
    TicketTypeFilterSchema,
    TicketTypeSchema,
    TicketTypeUpdateSchema,
)
from core.api_schema import Schema
from core.auth import require_role
from core.errors import NotFound
from core.models import Org
from core.pagination import MAX_PAGE_NUMBER, SortKey, paginate_block, paginate_offset
from core.roles import MANAGERS, READERS
from core.tenancy import current_org

MAX_LIMIT = 200


@dataclass(frozen=True)
class Collection:
    """One collection of the data API: its schemas and the handlers that do the work.

    `create`/`update` get the loaded `data` object and report field errors nested at `json.data`, as
    flask-smorest does for the request's own schema errors. `delete` returns "deleted" or "archived".
    `read` loads a record for the get endpoints (like `load`, with derived figures brought up to date).
    """

    name: str
    title: str
    item_schema: type[Schema]
    create_schema: type[Schema]
    update_schema: type[Schema]
    filter_schema: type[Schema]
    sort_keys: tuple[SortKey, ...]
    load: Callable[[Org, Any], Any]
    query: Callable[[Org, dict], Select]
    view: Callable[[Any], dict]
    create: Callable[[Org, dict], Any]
    update: Callable[[Org, Any, dict], Any]
    delete: Callable[[Org, Any], str]
    read: Callable[[Org, Any], Any]
    prepare: Callable[[Org, list], None] | None = None  # before a page is rendered (batched loads for `view`)


COLLECTIONS: tuple[Collection, ...] = (
    Collection(
        name="event_ticket_type", title="ticket type", item_schema=TicketTypeSchema,
        create_schema=TicketTypeCreateSchema, update_schema=TicketTypeUpdateSchema,
        filter_schema=TicketTypeFilterSchema, sort_keys=ticket_types.SORT_KEYS,
        load=ticket_types.load_ticket_type, query=ticket_types.query_ticket_types,
        view=ticket_types.staff_view, create=ticket_types.create_from_data,
        update=ticket_types.update_from_data, delete=ticket_types.delete_ticket_type,
        read=ticket_types.read_ticket_type, prepare=ticket_types.attach_pickups,
    ),
)

blp = Blueprint("data", __name__, url_prefix="/data",
                description="001's data API: create, list, get, update and delete records of a collection (staff)")


class PageArgsSchema(Schema):
    """002's page/limit paging."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE_NUMBER))
    limit = fields.Integer(load_default=25, validate=validate.Range(min=1, max=MAX_LIMIT))


class ListMetaSchema(Schema):
    """Paging facts of a list response."""

    page = fields.Integer()
    limit = fields.Integer()
    count = fields.Integer(metadata={"description": "Records on this page."})
    hasNextPage = fields.Boolean()
    nextPage = fields.Integer(allow_none=True)


class IdSchema(Schema):
    """`{"id": ...}`."""

    id = fields.String(required=True)


def _schema(name: str, declared: dict) -> type[Schema]:
    return Schema.from_dict(declared, name=name)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _route(rule: str, endpoint: str, methods: list[str], doc: str, view: Callable,
           args: tuple = (), response: tuple = (200, None), scope: str = "read") -> None:
    """Register one documented, staff-only route needing the API key `scope` (arguments parsed before the view,
    after the role check)."""
    view.__doc__ = doc
    view.__name__ = endpoint
    for schema, location in reversed(args):
        view = blp.arguments(schema, location=location)(view)
    view = blp.response(*response)(view)
    roles = READERS if scope == "read" else MANAGERS
    blp.route(rule, endpoint=endpoint, methods=methods)(require_role(roles, scope=scope)(view))


def register_collection(c: Collection) -> None:
    """Add the create/list/get/update/delete routes of one collection to the data blueprint."""
    camel = _camel(c.name)
    item = _schema(f"{camel}Data", {"data": fields.Nested(c.item_schema)})
    items = _schema(f"{camel}DataList", {"data": fields.List(fields.Nested(c.item_schema)),
                                         "meta": fields.Nested(ListMetaSchema)})
    create_body = _schema(f"{camel}CreateRequest", {"data": fields.Nested(c.create_schema, required=True)})
    update_body = _schema(f"{camel}UpdateRequest", {"id": fields.String(required=True),
                                                    "data": fields.Nested(c.update_schema, required=True)})
    list_body = type(f"{camel}ListRequestSchema", (PageArgsSchema,),
                     {"filter": fields.Nested(c.filter_schema, load_default=dict)})
    list_query = type(f"{camel}ListQuerySchema", (c.filter_schema, PageArgsSchema), {})
    base = f"/{c.name}"

    def one(record) -> dict:
        return {"data": c.view(record)}

    def listing(args: dict) -> dict:
        filters = args.get("filter", args)
        page = paginate_offset(c.query(current_org(), filters), c.sort_keys, args["page"], args["limit"])
        if c.prepare is not None:
            c.prepare(current_org(), page.rows)
        meta = {"page": args["page"], "limit": args["limit"], "count": len(page.rows), **paginate_block(page)}
        return {"data": [c.view(record) for record in page.rows], "meta": meta}

    def create(body):
        return one(c.create(current_org(), body["data"]))

    def list_post(body):
        return listing(body)

    def list_get(args):
        return listing(args)

    def get_post(body):
        return one(c.read(current_org(), body["id"]))

    def get_by_path(record_id):
        return one(c.read(current_org(), record_id))

    def update(body):
        org = current_org()
        return one(c.update(org, c.load(org, body["id"]), body["data"]))

    def delete(body):
        org = current_org()
        outcome = c.delete(org, c.load(org, body["id"]))
        return {"data": {"id": body["id"], "deleted": outcome == "deleted", "archived": outcome == "archived"}}

    n, t = c.name, c.title
    _route(f"{base}/create", f"{n}_create", ["POST"], f"Create a {t} from `data`.", create,
           ((create_body, "json"),), (201, item), "events")
    _route(f"{base}/list", f"{n}_list", ["POST"], f"List {t}s: `filter`, `page`, `limit`.", list_post,
           ((list_body, "json"),), (200, items))
    _route(f"{base}/list", f"{n}_list_get", ["GET"], f"List {t}s (filters as query parameters).", list_get,
           ((list_query, "query"),), (200, items))
    _route(f"{base}/get", f"{n}_get", ["POST"], f"One {t} by `id`.", get_post, ((IdSchema, "json"),), (200, item))
    _route(f"{base}/update", f"{n}_update", ["POST"], f"Change fields of a {t}: `id` and `data`.", update,
           ((update_body, "json"),), (200, item), "events")
    _route(f"{base}/delete", f"{n}_delete", ["POST"], f"Delete a {t} (archived instead when in use).", delete,
           ((IdSchema, "json"),), (200, DeletedEnvelopeSchema), "events")
    _route(f"{base}/<record_id>", f"{n}_get_by_path", ["GET"], f"One {t} by id.", get_by_path,
           response=(200, item))


def unknown(collection: str, action: str):
    """Any other collection or action: 404 `unknown_collection` / `unknown_action`."""
    names = [c.name for c in COLLECTIONS]
    if collection not in names:
        raise NotFound(f"No data collection {collection!r}; known: {', '.join(names)}.", type="unknown_collection")
    raise NotFound(f"No action {action!r} on {collection!r}; use create, list, get, update or delete.",
                   type="unknown_action")


for _collection in COLLECTIONS:
    register_collection(_collection)
# Not part of the documented API: registered on Flask's Blueprint directly so OpenAPI does not list it.
flask.Blueprint.add_url_rule(blp, "/<collection>/<action>", "unknown", require_role(READERS, scope="read")(unknown),
                             methods=["GET", "POST"])
