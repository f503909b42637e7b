"""HTTP routes of the public_api_v2 plugin: 003's events (list, get, create, update) and their sync jobs
under `/api/public/v2`, with numeric ids.

Thin views: parse 003's query or body, translate numeric ids to the core's UUIDs (`plugins.public_api_v2.ids`,
`core.kits.public_ids`), call the core's event services and views (`core.services.events`,
`core.api.events`) and reshape their answer (`plugins.public_api_v2.views`). What 003 documents and the core
does not have yet is refused (400 `not_supported`, or the core's own 422), never accepted and ignored.
Templates and event settings are in `plugins.public_api_v2.templates`.
"""

from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import plugin_blueprint
from core.api.event_list_schema import EventListView
from core.api.event_refund import AcceptedEnvelope, RefundInput, start_refund
from core.api.event_schemas import (
    EventInput,
    EventListMeta,
    EventPatch,
    EventSchema,
    IncludeQuery,
    RecurrenceView,
    RegistrationTypeEventView,
    StaffListQuery,
    StockItemView,
    VenueView,
    check_bracket_params,
    comma_set,
)
from core.api.events import SYNC_HEADER, SyncJobSchema, event_body, event_list_body, sync_job_view
from core.api.taxonomy_schema import CampaignView, CategoryView, TagView
from core.api.ticket_configurations import ConfigurationView
from core.api.ticket_type_schema import PriceSchema
from core.api_schema import Schema
from core.auth import require_role
from core.kits.public_ids import uuid_for, uuids_for
from core.models import Event, Org, SyncJob
from core.models.public_id import PUBLIC_ID_LIMIT
from core.roles import MANAGERS, READERS
from core.services import events, sync_jobs
from core.tenancy import current_org
from plugins.public_api_v2.ids import EVENT_BODY, numeric_schema, public_model, to_uuids
from plugins.public_api_v2.views import events_v2

blp = plugin_blueprint("public_api_v2", "public_api_v2", __name__,
                       description="003 public v2 events API with numeric ids (public_api_v2 plugin)")

# 003's default fields (the core's own default list adds `allow_overlap`; ask for it with `fields=`).
DEFAULT_FIELDS = ("id", "created_at", "updated_at", "name", "slug", "status", "venue_id", "parent_event_id",
                  "calendar_id", "published_at", "capacity", "type", "start", "end", "deletable")
INCLUDES = {"venue", "venue.address", "sessions", "registration_types", "registration_types.prices", "categories",
            "campaigns", "tags", "registration_types.stock_item", "registration_types.event.venue",
            "registration_types.pickups", "registration_types.ticket_type", "recurrences", "list", "list.setting"}
# List filter -> the model whose numeric id it takes (names in `core.models`).
FILTER_IDS = {"venue_id": "Venue", "parent_event_id": "Event", "calendar_id": "Calendar", "category_id": "Category"}


def public_id_field(data_key: str, description: str = "A numeric id.") -> fields.Integer:
    """A numeric id in a query: an integer in [1, 2^53)."""
    return fields.Integer(data_key=data_key, validate=validate.Range(min=1, max=PUBLIC_ID_LIMIT - 1),
                          metadata={"column": "bigint", "description": description})


class ListQuery(StaffListQuery):
    """003's list query: the core's filters, sort, `fields`, `include` and cursor page, ids as numbers."""

    venue_id = public_id_field("filter[venue_id]")
    parent_event_id = public_id_field("filter[parent_event_id]", "Sessions of a parent / dates of a recurring.")
    calendar_id = public_id_field("filter[calendar_id]", "Events of a calendar.")
    category_id = public_id_field("filter[category_id]", "Events in a category.")

    class Meta:
        exclude = ("page", "limit")  # 002's page numbers: 003 pages by cursor


def numeric_id(description: str = "A numeric id: a random integer below 2^53, stable.") -> fields.Integer:
    """The schema of a numeric id in an answer."""
    return fields.Integer(allow_none=True, metadata={"column": "bigint", "description": description})


class VenueV2(VenueView):
    """A venue with its numeric id."""

    id = numeric_id()


class RegistrationTypeEventV2(RegistrationTypeEventView):
    """`include=registration_types.event.venue`: the registration type's event (or session) and its venue."""

    id = numeric_id()
    parent_event_id = numeric_id()
    venue_id = numeric_id()
    venue = fields.Nested(VenueV2, allow_none=True)


def with_numeric_id(view: type) -> type:
    """A core view schema of a record with a public id, its `id` numeric."""
    return type(view.__name__.removesuffix("View") + "V2", (view,), {"id": numeric_id()})


class TicketTypeV2(ConfigurationView):
    """003 ticket type: the core's ticket configuration with its numeric id as `id`."""

    id = numeric_id()

    class Meta:
        exclude = ("public_id",)


class PickupV2(Schema):
    """003 pickup of a registration type (`include=registration_types.pickups`)."""

    id = numeric_id()
    pickup_type_id = numeric_id()
    name = fields.String()
    quantity = fields.Integer()


class RegistrationTypeV2(Schema):
    """003 registration type (the core's ticket type of the event or session)."""

    id = numeric_id()
    event_id = numeric_id()
    variant_id = numeric_id("The numeric id of the storefront variant it is mirrored to; null when not "
                            "mirrored (the tenant has not enabled the storefront plugin).")
    ticket_type_id = numeric_id("Its ticket type (003's reusable ticket configuration), or null.")
    name = fields.String()
    description = fields.String()
    price = fields.Float(metadata={"description": "Major units, a JSON number."})
    prices = fields.List(fields.Nested(PriceSchema))
    inventory = fields.Integer(allow_none=True, metadata={"description": "Seats on sale; null = unlimited."})
    available = fields.Integer(allow_none=True)
    quantity = fields.Integer()
    grouped = fields.Boolean()
    order_min = fields.Integer(allow_none=True)
    order_max = fields.Integer(allow_none=True)
    service_fee_amount = fields.Float(metadata={"description": "Major units, a JSON number."})
    service_fee_percentage = fields.Float()
    transferable = fields.Boolean()
    editable = fields.Boolean(metadata={"description": "The holder may change the holder name and e-mail."})
    editable_change_fee = fields.Float(metadata={"description": "Fee of one holder edit, major units."})
    editable_minutes = fields.Integer(allow_none=True, metadata={"description": "null = no limit."})
    sale_start = fields.String(allow_none=True)
    sale_end = fields.String(allow_none=True)
    position = fields.Integer()
    stock_item = fields.Nested(StockItemView, metadata={"description": "include=registration_types.stock_item"})
    event = fields.Nested(RegistrationTypeEventV2, metadata={"description": "include=registration_types.event.venue"})
    pickups = fields.List(fields.Nested(PickupV2), metadata={"description": "include=registration_types.pickups"})
    ticket_type = fields.Nested(TicketTypeV2, allow_none=True,
                                metadata={"description": "include=registration_types.ticket_type"})


class EventListV2View(EventListView):
    """003 event list (`include=list`): numeric `id`, `event_id` and `permanent_list_id`."""

    id = numeric_id()
    event_id = numeric_id()
    permanent_list_id = numeric_id("The permanent list it belongs to, or null.")


class EventV2(EventSchema):
    """003 event with numeric ids; 003's default fields unless `fields=`; relationships only with `include=`."""

    id = numeric_id()
    venue_id = numeric_id()
    parent_event_id = numeric_id()
    calendar_id = numeric_id("The event's calendar, or null.")
    setting_id = numeric_id("`fields=setting_id`: the event setting it uses (shared), or null.")
    venue = fields.Nested(VenueV2, allow_none=True)
    registration_types = fields.List(fields.Nested(RegistrationTypeV2))
    categories = fields.List(fields.Nested(with_numeric_id(CategoryView)))
    tags = fields.List(fields.Nested(with_numeric_id(TagView)))
    campaigns = fields.List(fields.Nested(with_numeric_id(CampaignView)))
    recurrences = fields.List(fields.Nested(with_numeric_id(RecurrenceView)))
    list = fields.Nested(EventListV2View, allow_none=True, metadata={"description": "include=list / list.setting"})


class EventListV2(Schema):
    """A page of events."""

    data = fields.List(fields.Nested(EventV2))
    meta = fields.Nested(EventListMeta)


class EventEnvelopeV2(Schema):
    """`{"data": <event>}`."""

    data = fields.Nested(EventV2)


class SyncJobV2(SyncJobSchema):
    """A sync job: its own id (the `X-Event-Sync-Job-ID` header) and its event's numeric id."""

    event_id = numeric_id()


class SyncJobEnvelopeV2(Schema):
    """`{"data": <sync job>}`."""

    data = fields.Nested(SyncJobV2)


# 003's create and update bodies: the core's, each id field numeric (the map in plugins.public_api_v2.ids).
CREATE_BODY = numeric_schema(EventInput, EVENT_BODY)
UPDATE_BODY = numeric_schema(EventPatch, EVENT_BODY)
SYNC_JOB_HEADER = {SYNC_HEADER: {"description": "The sync job's id: poll GET /events/{id}/sync_jobs/{job_id}.",
                                 "schema": {"type": "string"}}}


def written(org: Org, event: Event, job: SyncJob, status: int):
    """The answer to a create or update: `{"data": <event>}` in 003's default fields, with the job header."""
    response = jsonify({"data": events_v2(org, [event_body(org, event, None, DEFAULT_FIELDS)])[0]})
    response.status_code = status
    response.headers[SYNC_HEADER] = job.id
    return response


def check_includes(args: dict) -> None:
    """400 `invalid_parameter` for an include 003 does not document (the core's own extra includes, such as
    `passes`, are not part of this API)."""
    comma_set(args.get("include"), INCLUDES, "include")


@blp.route("/events")
class EventCollection(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(ListQuery, location="query")
    @blp.response(200, EventListV2)
    def get(self, args):
        """List events (003): `filter[...]`, `sort[field]=asc|desc`, `fields`, `include`,
        `page[size]`/`page[cursor]`. Ids are numbers; every include and filter 003 documents is served."""
        check_includes(args)
        check_bracket_params(ListQuery())
        org = current_org()
        for name, model in FILTER_IDS.items():
            if args.get(name) is not None:  # an unknown number matches no event, as an unknown UUID does
                args[name] = uuids_for(public_model(model), org, [args[name]]).get(args[name], str(args[name]))
        body = event_list_body(org, args, DEFAULT_FIELDS)
        return jsonify({**body, "data": events_v2(org, body["data"])})

    @require_role(MANAGERS, scope="events")
    @blp.arguments(CREATE_BODY.schema)
    @blp.response(201, EventEnvelopeV2, headers=SYNC_JOB_HEADER)
    def post(self, data):
        """Create an event (003): `{"event": {...}}` with numeric ids (`venue_id`, sessions' `venue_id`...).
        An id no record of yours has is 422 `unknown_ids` naming the field; the rest is the core's create."""
        org = current_org()
        event, job = events.create_event(org, to_uuids(org, data, CREATE_BODY))
        return written(org, event, job, 201)


EVENT_PATH = f"/events/<int(min=1, max={PUBLIC_ID_LIMIT - 1}):event_id>"  # a number outside: no route, 404


@blp.route(EVENT_PATH)
class EventItem(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(IncludeQuery, location="query")
    @blp.response(200, EventEnvelopeV2)
    def get(self, args, event_id):
        """One event (003) by its numeric id; `include=` any of 003's relationships; `fields=`.
        Another tenant's id is a 404 `event_not_found`."""
        check_includes(args)
        org = current_org()
        event = events.get_event(org, uuid_for(Event, org, event_id, "event"))
        return jsonify({"data": events_v2(org, [event_body(org, event, args, DEFAULT_FIELDS)])[0]})

    @require_role(MANAGERS, scope="events")
    @blp.arguments(UPDATE_BODY.schema(partial=True))
    @blp.response(200, EventEnvelopeV2, headers=SYNC_JOB_HEADER)
    def patch(self, data, event_id):
        """Change an event (003): only the fields sent, ids numeric (sessions by `id`, `_destroy`). 409
        `uneditable` while a sync job runs; 404 `event_not_found` for an id that is not yours."""
        org = current_org()
        event_uuid = uuid_for(Event, org, event_id, "event")
        event, job = events.update_event(org, event_uuid, to_uuids(org, data, UPDATE_BODY))
        return written(org, event, job, 200)


@blp.route(f"{EVENT_PATH}/sync_jobs/<job_id>")
class SyncJobItem(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, SyncJobEnvelopeV2)
    def get(self, event_id, job_id):
        """Status and progress of a sync job: `job_id` is the `X-Event-Sync-Job-ID` of a create or update of
        this event. 404 `event_not_found` / `sync_job_not_found`."""
        org = current_org()
        job = sync_jobs.get_sync_job(org, uuid_for(Event, org, event_id, "event"), job_id)
        return jsonify({"data": {**sync_job_view(job), "event_id": event_id}})


# 003 "Refund event": the core's bulk refund body, `date_ids` numeric.
REFUND_BODY = numeric_schema(RefundInput, {"date_ids": "Event"})


@blp.route(f"{EVENT_PATH}/refund")
class EventRefundV2(MethodView):
    @require_role(MANAGERS, scope="orders")
    @blp.arguments(REFUND_BODY.schema)
    @blp.response(202, AcceptedEnvelope, headers=SYNC_JOB_HEADER)
    def patch(self, data, event_id):
        """Bulk refund (003 "Refund event"): `{"refund": {refund_method, date_ids (numeric), void_tickets,
        refund_checked_in, notify_customer, send_email, email_template, expiration_date, note}}`; 202 with the
        sync job (`X-Event-Sync-Job-ID`) whose `result` lists each refund (method, amount, store credit id)."""
        org = current_org()
        event_uuid = uuid_for(Event, org, event_id, "event")
        return start_refund(org, event_uuid, to_uuids(org, data, REFUND_BODY))
