"""Event API shapes shared by the staff and client blueprints: input schemas, 003 list query parameters,
the JSON view of an event and the list envelope. Parses and renders only; never queries on its own.
"""

from __future__ import annotations

import datetime as dt

from dateutil import parser as date_parser
from flask import jsonify, request
from marshmallow import ValidationError, fields, pre_load, validate, validates_schema

from core.api.event_list_schema import EventListView, list_view
from core.api.taxonomy_schema import (
    CampaignView,
    CategoryView,
    TagView,
    campaign_view,
    category_view,
    tag_view,
)
from core.api.ticket_configuration_schema import ConfigurationBody, ConfigurationView, configuration_view
from core.api.ticket_type_schema import TicketTypeSchema, ticket_type_view
from core.api_schema import Schema
from core.models import Event
from core.models.catalog import EVENT_TYPES, VISIBILITIES
from core.pagination import MAX_PAGE_SIZE, InvalidParameter, Page, page_body
from core.services import event_covers, event_pages
from core.services.capacity import available_seats
from core.services.event_queries import LIST_INCLUDES, SORT_FIELDS, STATUSES, EventFilters, Related, event_status
from core.services.event_settings import POS_PROCESSING, pos_processing
from core.services.event_taxonomy import PERMANENCE
from core.services.participation import allows_overlap
from core.services.recurrence import ENDS, REPEAT_UNITS, WEEKDAYS
from core.services.ticket_configurations import configuration_of
from core.timefmt import iso_utc, local_view, to_utc_naive

# --- input --------------------------------------------------------------------------------------------


class PickupInput(Schema):
    """003 pickup of a registration type: `quantity` of a pickup type per ticket (per seat of a grouped one)."""

    id = fields.String(metadata={"description": "An existing pickup of this registration type, to change or "
                                                "(with `_destroy`) remove. Omit to add one."})
    _destroy = fields.Boolean(data_key="_destroy", metadata={"description": "true (with `id`) removes it."})
    pickup_type_id = fields.String(metadata={"description": "A pickup type of yours (`/pickup-types`); required "
                                                            "without `id`. Listing a type the registration type "
                                                            "already has changes that pickup's quantity."})
    quantity = fields.Integer(validate=validate.Range(min=1, max=1000), metadata={"description": "Default 1."})


class RegistrationTypeInput(Schema):
    """003 registration type: becomes a ticket type of the event or session (prices in major units). With `id`
    it updates that registration type (only the fields sent), with `id` and `_destroy: true` removes it."""

    id = fields.String(metadata={"description": "One of this event's (or session's) registration types, to update "
                                                "or remove; omit to create one."})
    _destroy = fields.Boolean(data_key="_destroy", metadata={"description": "true (with `id`) removes it; 409 "
                                                                            "`ticket_type_has_sales` if it has sales."})
    name = fields.String(validate=validate.Length(min=1, max=200),
                         metadata={"description": "Required when creating one."})
    price = fields.Decimal(metadata={"description": "Major units: 100 means 100.00 (default 0 on create)."})
    currency = fields.String(validate=validate.Length(equal=3))
    inventory = fields.Integer(allow_none=True, metadata={"description": "Seats on sale; null = unlimited."})
    quantity = fields.Integer(validate=validate.Range(min=1, max=1000))
    order_min = fields.Integer(allow_none=True, validate=validate.Range(min=1))
    order_max = fields.Integer(allow_none=True, validate=validate.Range(min=1))
    service_fee_amount = fields.Decimal(metadata={"description": "Major units."})
    service_fee_percentage = fields.Float(validate=validate.Range(min=0, max=100))
    grouped = fields.Boolean()
    description = fields.String()
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    sale_start = fields.DateTime(allow_none=True)
    sale_end = fields.DateTime(allow_none=True)
    transferable = fields.Boolean()
    perks = fields.List(fields.String())
    editable = fields.Boolean(metadata={"description": "The holder may change the holder name and e-mail after "
                                                      "purchase. Default false."})
    editable_change_fee = fields.Decimal(metadata={"description": "Fee of one holder edit, major units (>= 0)."})
    editable_minutes = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=2**31 - 1), metadata={
        "description": "Edits allowed this many minutes after the booking was confirmed; null = no limit."})
    list_id = fields.String(allow_none=True, validate=validate.Length(max=64), metadata={
        "description": "The event list its tickets go on: one of this event's lists (or its parent event's); "
                       "null or absent: the event's default list."})
    ticket_type_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "003's ticket type: the id of one of your ticket configurations (`/ticket-configurations`); "
                       "the registration type's tickets follow its settings, and it is attached to the event."})
    pickups = fields.List(fields.Nested(PickupInput), validate=validate.Length(max=20),
                          metadata={"description": "What each ticket carries to collect at the event; edited in "
                                                   "place like the registration types (`id`, `_destroy`)."})

    @validates_schema
    def _needs_name_or_id(self, data, **kwargs):
        if data.get("id") is None and not data.get("name"):
            raise ValidationError("Required when creating a registration type (no `id`).", "name")
        if data.get("_destroy") and data.get("id") is None:
            raise ValidationError("`_destroy` removes an existing registration type: send its `id`.", "id")


class PassInput(RegistrationTypeInput):
    """003 pass: a registration type of a parent event that covers every session, plus `separate` and an inline
    `ticket_type`; `id` + `_destroy` on update."""

    id = fields.String(metadata={"description": "On update: the pass (ticket type) to change."})
    _destroy = fields.Boolean(data_key="_destroy", metadata={"description": "On update, with `id`: remove it."})
    separate = fields.Boolean(metadata={"description": "true: one ticket per pass holder (per unit of "
                                                       "`quantity`); false: one combined ticket (default true)."})
    ticket_type = fields.Nested(ConfigurationBody, allow_none=True, metadata={
        "description": "A new ticket configuration for this pass (instead of `ticket_type_id`)."})


_CLOCK = validate.Regexp(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="A local time of day, HH:MM (00:00..23:59).")


class OperatingHoursInput(Schema):
    """One daily window: a date from `open` to `close` local time (a close at or before the open is the next
    day)."""

    open = fields.String(required=True, validate=_CLOCK)
    close = fields.String(required=True, validate=_CLOCK)


def read_only(value) -> None:
    """Validator of a field a client may see but not set: any value sent is a 422 naming the field."""
    raise ValidationError("is read-only (the server reports it); leave it out")


class RecurrenceInput(Schema):
    """003 recurrence rule; on update `id` (the rule's id) changes that rule, `_destroy: true` removes it, and a
    rule without `id` is added. Defaults on create: ends never, repeat every 1 week."""

    id = fields.String(metadata={"description": "On update: the rule to change (rules not sent stay)."})
    _destroy = fields.Boolean(data_key="_destroy", metadata={"description": "On update, with `id`: remove it."})
    starts_at = fields.DateTime(metadata={"description": "Earliest occurrence; required for a new rule."})
    ends_at = fields.DateTime(allow_none=True)
    ends = fields.String(validate=validate.OneOf(ENDS))
    max_occurrences = fields.Integer(allow_none=True)
    active_occurrences = fields.Raw(validate=read_only, metadata={
        "description": "Read-only: reported under `include=recurrences`; sending it is a 422."})
    repeat_unit = fields.String(validate=validate.OneOf(list(REPEAT_UNITS)))
    repeat_value = fields.Integer(validate=validate.Range(min=1, max=1000))
    duration = fields.Float(allow_none=True, metadata={"description": "Hours per occurrence (not used with "
                                                                      "`operating_hours`)."})
    days = fields.List(fields.String(validate=validate.OneOf(list(WEEKDAYS))))
    operating_hours = fields.List(fields.Nested(OperatingHoursInput), validate=validate.Length(max=24),
                                  metadata={"description": "Daily windows: one date per window per day the rule "
                                                           "produces, from `open` to `close` local time."})


class _EventFieldsInput(Schema):
    name = fields.String(validate=validate.Length(min=1, max=300))
    description = fields.String(validate=validate.Length(max=20000))
    venue_id = fields.String(allow_none=True)
    starts_at = fields.DateTime(metadata={"description": "ISO 8601; UTC when no offset is given."})
    ends_at = fields.DateTime()
    tz = fields.String(metadata={"description": "IANA timezone (default: the venue's, else the org's)."})
    capacity = fields.Integer(allow_none=True, validate=validate.Range(min=0))
    published_at = fields.DateTime(allow_none=True, metadata={"description": "Set to publish; null = draft."})
    visibility = fields.String(validate=validate.OneOf(VISIBILITIES))
    position = fields.Integer()
    location = fields.String(validate=validate.Length(max=500), metadata={
        "description": "Where it happens, as one line of free text (e.g. 'Paris, France'); empty: the venue's "
                       "name, city and country are shown."})
    registration_types = fields.List(fields.Nested(RegistrationTypeInput))


class SessionInput(_EventFieldsInput):
    """A session of a parent event (itself a date event); `id` + `_destroy` on update."""

    id = fields.String()
    _destroy = fields.Boolean(data_key="_destroy")


def _id_list(what: str) -> fields.List:
    return fields.List(fields.String(validate=validate.Length(min=1, max=64)), validate=validate.Length(max=100),
                       metadata={"description": f"UUIDs of the organisation's {what}; the list replaces the "
                                                f"event's {what} (an empty list removes them all)."})


class EventSettingsInput(Schema):
    """003 `event[settings]`: inline overrides of this event."""

    pos_processing = fields.String(validate=validate.OneOf(POS_PROCESSING), metadata={
        "description": "Box-office sales by staff: enabled, disabled (403 `pos_processing_disabled`), or "
                       "inherit the organisation's `posProcessing` (the default)."})


class EventInput(_EventFieldsInput):
    """003 event body, bare or wrapped as `{"event": {...}}`."""

    category_ids = _id_list("categories")
    tag_ids = _id_list("tags")
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=100)), validate=validate.Length(max=100),
                       metadata={"description": "Tag names (case ignored); a name the organisation has no tag "
                                                "for creates that tag. With `tag_ids`, the event gets both."})
    campaign_ids = _id_list("campaigns")
    calendar_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64),
                                metadata={"description": "UUID of one of the organisation's calendars; null: none."})
    permanent = fields.Boolean(metadata={"description": "An always-on event (a membership, a standing guest "
                                                        "list): its dates only frame it. Default false."})
    setting_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "Reuse an event setting (its templates) by id: the event shares it with every other event "
                       "naming it, so `PATCH /events/{id}/setting` of any of them changes it for all; null: none "
                       "(the built-in templates)."})
    settings = fields.Nested(EventSettingsInput, metadata={
        "description": "Inline settings of this event only: `pos_processing`."})
    slug = fields.String(validate=validate.Length(min=1, max=300), metadata={
        "description": "The event's page path, unique per organisation: lower-case letters, digits and single "
                       "dashes. Default: made from the name on create; kept when the event is renamed."})

    type = fields.String(validate=validate.OneOf(EVENT_TYPES), metadata={"description": "Default date."})
    archived_at = fields.DateTime(allow_none=True, metadata={"description": "Set to archive; null to restore."})
    allow_overlap = fields.Boolean(metadata={"description": "Parent events: customers may choose sessions that "
                                                            "run at the same time (default false: 409 "
                                                            "`sessions_overlap`)."})
    sessions = fields.List(fields.Nested(SessionInput))
    recurrences = fields.List(fields.Nested(RecurrenceInput))
    passes = fields.List(fields.Nested(PassInput), metadata={"description": "Parent events only: passes covering "
                                                                           "every session."})

    @pre_load
    def _unwrap(self, data, **kwargs):
        if isinstance(data, dict) and set(data) == {"event"} and isinstance(data["event"], dict):
            return data["event"]
        return data


class EventPatch(EventInput):
    """003 PATCH body: any subset of the event fields (bare or wrapped)."""


# --- list query ------------------------------------------------------------------------------------------


class DayOrTime(fields.String):
    """A date (rounded to the start, or with `end_of_day` the end, of that UTC day) or an ISO datetime.

    A String to the OpenAPI document (a query value is text), parsed here instead of String's own parsing."""

    def __init__(self, end_of_day: bool = False, **kwargs):
        kwargs.setdefault("metadata", {"description": "A date (2026-05-25: the whole UTC day) or an ISO 8601 "
                                                      "datetime."})
        super().__init__(**kwargs)
        self.end_of_day = end_of_day

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip()
        try:
            if len(text) <= 10:
                day = dt.date.fromisoformat(text) if "-" in text else date_parser.parse(text).date()
                moment = dt.datetime.combine(day, dt.time.max if self.end_of_day else dt.time.min)
                return moment.replace(microsecond=0)
            return to_utc_naive(date_parser.isoparse(text) if "T" in text else date_parser.parse(text))
        except (ValueError, OverflowError, TypeError) as exc:
            raise ValidationError("Not a date (2026-05-25) or ISO 8601 datetime.") from exc


def _sort_field(name: str) -> fields.String:
    return fields.String(data_key=f"sort[{name}]", validate=validate.OneOf(("asc", "desc")),
                         metadata={"description": f"Sort by {name}: asc or desc (several sort[...] apply in order)."})


def _list_query_fields(staff: bool) -> dict:
    spec = {
        "page_size": fields.Integer(data_key="page[size]", validate=validate.Range(min=1, max=MAX_PAGE_SIZE),
                                    metadata={"description": "Rows per page (default 10, max 200)."}),
        "page_cursor": fields.String(data_key="page[cursor]",
                                     metadata={"description": "Opaque; `meta.page.next_cursor` of the last page."}),
        "page": fields.Integer(validate=validate.Range(min=1),
                               metadata={"description": "002 page number (with `limit`); answers `paginate`."}),
        "limit": fields.Integer(validate=validate.Range(min=1, max=MAX_PAGE_SIZE)),
        "include": fields.String(metadata={"description": "Comma list: venue, sessions, registration_types, passes, "
                                           "registration_types.pickups"
                                           + (", recurrences, categories, campaigns (active ones), tags, "
                                              "registration_types.stock_item, registration_types.event.venue, "
                                              "registration_types.ticket_type"
                                              if staff else "") + ", list, list.setting."}),
        "fields": fields.String(metadata={"description": "Comma list of fields to return (`counts` adds "
                                          "sold/held/available)."}),
        "search": fields.String(data_key="filter[search]", validate=validate.Length(max=200),
                                metadata={"description": "Case-insensitive match on name and description."}),
        "name": fields.String(data_key="filter[name]", metadata={"description": "Exact name."}),
        "venue_id": fields.String(data_key="filter[venue_id]"),
        "parent_event_id": fields.String(data_key="filter[parent_event_id]",
                                         metadata={"description": "Sessions of a parent / dates of a recurring."}),
        "starts_from": DayOrTime(data_key="filter[starts_at][from]"),
        "starts_to": DayOrTime(end_of_day=True, data_key="filter[starts_at][to]"),
        "ends_from": DayOrTime(data_key="filter[ends_at][from]"),
        "ends_to": DayOrTime(end_of_day=True, data_key="filter[ends_at][to]"),
        "status": fields.String(data_key="filter[status]", validate=validate.OneOf(STATUSES),
                                metadata={"description": "today/tomorrow/this_week/next_week/next_month use "
                                          "each event's own timezone."}),
        "type": fields.String(data_key="filter[type]", validate=validate.OneOf(EVENT_TYPES)),
    }
    if staff:
        spec["archived"] = fields.Boolean(data_key="filter[archived_at]",
                                          metadata={"description": "true: only archived; false: exclude them."})
        spec["archived_alias"] = fields.Boolean(data_key="filter[archived]")
        spec["published"] = fields.Boolean(data_key="filter[published]")
        spec["calendar_id"] = fields.String(data_key="filter[calendar_id]", validate=validate.Length(max=64),
                                            metadata={"description": "Events on this calendar."})
        spec["category_id"] = fields.String(data_key="filter[category_id]", validate=validate.Length(max=64),
                                            metadata={"description": "Events in this category."})
        spec["tag"] = fields.String(data_key="filter[tag]", validate=validate.Length(min=1, max=100),
                                    metadata={"description": "Events with the tag of this name (case ignored)."})
        spec["permanence"] = fields.String(data_key="filter[permanence]", validate=validate.OneOf(list(PERMANENCE)),
                                           metadata={"description": "permanent: only permanent events; "
                                                                    "non_permanent: only the others."})
    for name in SORT_FIELDS:
        spec[f"sort_{name}"] = _sort_field(name)
    return spec


StaffListQuery = Schema.from_dict(_list_query_fields(staff=True), name="EventListQuery")
ClientListQuery = Schema.from_dict(_list_query_fields(staff=False), name="ClientEventListQuery")


class IncludeQuery(Schema):
    """`include` / `fields` for one event."""

    include = fields.String()
    fields_ = fields.String(data_key="fields")


def check_bracket_params(schema: Schema) -> None:
    """400 `invalid_parameter` for a `filter[...]`/`sort[...]`/`page[...]` key the endpoint does not know."""
    known = {f.data_key or name for name, f in schema.fields.items()}
    unknown = [k for k in request.args if k.split("[", 1)[0] in ("filter", "sort", "page") and k not in known]
    if unknown:
        raise InvalidParameter(f"Unknown parameter(s): {', '.join(unknown)}.",
                               errors={k: ["unknown parameter"] for k in unknown})


def sort_spec() -> list[tuple[str, bool]]:
    """`sort[field]=asc|desc` pairs in the order the client sent them."""
    return [(key[5:-1], request.args[key] == "desc") for key in request.args
            if key.startswith("sort[") and key.endswith("]")]


def filters_from(args: dict) -> EventFilters:
    """EventFilters from parsed list arguments."""
    archived = args.get("archived", args.get("archived_alias"))
    names = ("search", "name", "venue_id", "parent_event_id", "starts_from", "starts_to", "ends_from",
             "ends_to", "status", "type", "published", "calendar_id", "category_id", "tag", "permanence")
    return EventFilters(archived=archived, **{n: args.get(n) for n in names})


def comma_set(raw: str | None, allowed: set[str], param: str) -> set[str]:
    """A comma list checked against `allowed` (400 `invalid_parameter` naming the unknown items)."""
    items = {part.strip() for part in (raw or "").split(",") if part.strip()}
    unknown = sorted(items - allowed)
    if unknown:
        raise InvalidParameter(f"Unknown {param}: {', '.join(unknown)}; use {', '.join(sorted(allowed))}.",
                               errors={param: [f"unknown: {', '.join(unknown)}"]})
    return items


# --- output ---------------------------------------------------------------------------------------------

PRESENTATION_FIELDS = ("path", "location", "publish", "cover", "site_url", "checkout_url")
DEFAULT_FIELDS = ("id", "created_at", "updated_at", "name", "slug", "status", "venue_id", "parent_event_id",
                  "calendar_id", "published_at", "capacity", "type", "start", "end", "allow_overlap", "permanent",
                  *PRESENTATION_FIELDS, "deletable")
CLIENT_FIELDS = ("id", "name", "slug", "description", "status", "type", "venue_id", "parent_event_id",
                 "published_at", "start", "end", "tz", *PRESENTATION_FIELDS)
EXTRA_FIELDS = ("description", "tz", "visibility", "archived_at", "position", "syncing", "counts", "setting_id",
                "settings")
# include name -> what it loads and shows (`registration_types.stock_item` is the types with their stock).
INCLUDES = {"venue": ("venue",), "venue.address": ("venue",), "sessions": ("sessions",),
            "recurrences": ("recurrences",), "registration_types": ("registration_types",),
            "registration_types.prices": ("registration_types",), "ticket_types": ("registration_types",),
            "registration_types.stock_item": ("registration_types", "registration_types.stock_item"),
            "registration_types.event.venue": ("registration_types", "registration_types.event.venue"),
            "registration_types.pickups": ("registration_types", "registration_types.pickups"),
            "registration_types.ticket_type": ("registration_types", "registration_types.ticket_type"),
            "categories": ("categories",), "campaigns": ("campaigns",), "tags": ("tags",),
            "passes": ("passes",),
            "list": ("list",), "list.setting": ("list", "list_setting")}
STAFF_ONLY_INCLUDES = {"recurrences", "categories", "campaigns", "tags", "registration_types.stock_item",
                       "registration_types.event.venue", "registration_types.ticket_type"}
CLIENT_INCLUDES = {k: v for k, v in INCLUDES.items() if k not in STAFF_ONLY_INCLUDES}


def venue_view(venue) -> dict:
    """The JSON form of a venue."""
    return {"id": venue.id, "name": venue.name, "address": venue.address, "city": venue.city,
            "country": venue.country, "tz": venue.tz, "capacity": venue.capacity,
            "created_at": iso_utc(venue.created_at), "updated_at": iso_utc(venue.updated_at)}


def recurrence_view(rule, active_occurrences: int = 0) -> dict:
    """The JSON form of a recurrence rule, with how many of its dates are active (not over, not archived)."""
    return {"id": rule.id, "starts_at": iso_utc(rule.starts_at), "ends_at": iso_utc(rule.ends_at),
            "ends": rule.ends, "max_occurrences": rule.max_occurrences, "active_occurrences": active_occurrences,
            "repeat_unit": rule.repeat_unit, "repeat_value": rule.repeat_value, "duration": rule.duration,
            "days": rule.days, "operating_hours": rule.operating_hours}


def pass_view(ticket_type, *, event: Event, staff: bool, pickups: list) -> dict:
    """The JSON form of a 003 pass: its ticket type's with its pickups, plus `separate` and its ticket
    configuration's id."""
    return {**ticket_type_view(ticket_type, event=event, staff=staff, pickups=pickups),
            "separate": not ticket_type.grouped,
            "ticket_type_id": ticket_type.ticket_configuration_id}


def _counts(event: Event) -> dict:
    available = None if event.capacity is None else max(event.capacity - event.sold - event.held, 0)
    return {"capacity": event.capacity, "sold": event.sold, "held": event.held, "available": available}


_FIELD_GETTERS = {
    "id": lambda e, now: e.id,
    "created_at": lambda e, now: iso_utc(e.created_at),
    "updated_at": lambda e, now: iso_utc(e.updated_at),
    "name": lambda e, now: e.name,
    "slug": lambda e, now: e.slug,
    "status": event_status,
    "venue_id": lambda e, now: e.venue_id,
    "parent_event_id": lambda e, now: e.parent_event_id,
    "calendar_id": lambda e, now: e.calendar_id,
    "published_at": lambda e, now: iso_utc(e.published_at),
    "capacity": lambda e, now: e.capacity,
    "type": lambda e, now: e.type,
    "start": lambda e, now: local_view(e.starts_at, e.tz),
    "end": lambda e, now: local_view(e.ends_at, e.tz),
    "description": lambda e, now: e.description,
    "tz": lambda e, now: e.tz,
    "visibility": lambda e, now: e.visibility,
    "archived_at": lambda e, now: iso_utc(e.archived_at),
    "position": lambda e, now: e.position,
    "syncing": lambda e, now: e.syncing,
    "counts": lambda e, now: _counts(e),
    "allow_overlap": lambda e, now: allows_overlap(e),
    "permanent": lambda e, now: e.permanent,
    "setting_id": lambda e, now: e.setting_id,
    "settings": lambda e, now: {"pos_processing": pos_processing(e)},
    "path": lambda e, now: event_pages.event_path(e),
    "location": lambda e, now: e.location,   # EventView adds the venue's line when the event has no text
    "publish": lambda e, now: event_pages.is_published(e, now),
    "cover": lambda e, now: event_covers.cover_urls(e),
    "site_url": lambda e, now: event_pages.event_page_url(e.org_id, e.slug),
    "checkout_url": lambda e, now: event_pages.event_checkout_url(e.org_id, e.slug),
}
ALL_FIELDS = set(_FIELD_GETTERS) | {"deletable"}


class EventView:
    """Renders events with a chosen field set and preloaded relationships."""

    def __init__(self, fields_: tuple | list, include: set[str], related: Related, now: dt.datetime,
                 staff: bool):
        self.fields = [f for f in fields_ if f != "deletable"]
        self.deletable = "deletable" in fields_ and related.with_sales is not None
        self.include, self.related, self.now, self.staff = include, related, now, staff

    def __call__(self, event: Event, nested: bool = False) -> dict:
        now = self.now
        view = {name: _FIELD_GETTERS[name](event, now) for name in self.fields}
        if "location" in view:   # its own text, else its venue's line (venues preloaded for it)
            view["location"] = event_pages.location_text(event, self.related.venues.get(event.venue_id))
        if self.deletable:
            view["deletable"] = event.id not in self.related.with_sales
        related, include = self.related, self.include
        if "venue" in include:
            venue = related.venues.get(event.venue_id)
            view["venue"] = venue_view(venue) if venue else None
        if "sessions" in include and not nested:
            view["sessions"] = [self(child, nested=True) for child in related.sessions.get(event.id, ())]
        if "recurrences" in include and not nested:
            view["recurrences"] = [recurrence_view(r, related.active_occurrences.get(r.id, 0))
                                   for r in related.recurrences.get(event.id, ())]
        if "registration_types" in include:
            view["registration_types"] = [self._registration_type(tt, event)
                                          for tt in related.ticket_types.get(event.id, ())]
        if "passes" in include and not nested:
            view["passes"] = [pass_view(tt, event=event, staff=self.staff, pickups=related.pickups.get(tt.id, []))
                              for tt in related.passes.get(event.id, ())]
        if "categories" in include:
            view["categories"] = [category_view(c) for c in related.categories.get(event.id, ())]
        if "tags" in include:
            view["tags"] = [tag_view(t) for t in related.tags.get(event.id, ())]
        if "campaigns" in include:
            view["campaigns"] = [campaign_view(c, now) for c in related.campaigns.get(event.id, ())]
        if include & LIST_INCLUDES:
            row = related.lists.get(event.id)
            if row is not None:
                row.event = event  # the list's links need the event's slug
            view["list"] = list_view(row, {"setting"} if "list_setting" in include else set()) if row else None
        return view

    def _registration_type(self, tt, event: Event) -> dict:
        pickups = self.related.pickups.get(tt.id, []) if "registration_types.pickups" in self.include else None
        view = ticket_type_view(tt, event=event, staff=self.staff, pickups=pickups)
        if "registration_types.stock_item" in self.include:
            view["stock_item"] = {"inventory": tt.capacity, "sold": tt.sold, "held": tt.held,
                                  "available": available_seats(tt, event)}
        if "registration_types.event.venue" in self.include:
            venue = self.related.venues.get(event.venue_id)
            view["event"] = {"id": event.id, "name": event.name, "type": event.type,
                             "parent_event_id": event.parent_event_id, "venue_id": event.venue_id,
                             "start": local_view(event.starts_at, event.tz), "end": local_view(event.ends_at, event.tz),
                             "venue": venue_view(venue) if venue else None}
        if "registration_types.ticket_type" in self.include:   # loaded with the types (list_ticket_types)
            configuration = configuration_of(tt)
            view["ticket_type"] = configuration_view(configuration) if configuration is not None else None
        return view


def list_response(page: Page, render: EventView):
    """`{"data": [...], "meta": {...}}` (+ `paginate` for page/limit) as a ready JSON response."""
    return jsonify(page_body(page, render))


# --- documentation schemas ------------------------------------------------------------------------------


class TimeView(Schema):
    """003 time object."""

    tz = fields.String()
    local = fields.String(metadata={"description": "ISO 8601 with the local offset."})
    utc = fields.String(metadata={"description": "ISO 8601 UTC (Z)."})


class VenueView(Schema):
    """A venue."""

    id = fields.String()
    name = fields.String()
    address = fields.String()
    city = fields.String()
    country = fields.String()
    tz = fields.String()
    capacity = fields.Integer(allow_none=True, validate=validate.Range(min=0))
    created_at = fields.String()
    updated_at = fields.String()


class OperatingHoursView(Schema):
    """A daily window, local `HH:MM`."""

    open = fields.String()
    close = fields.String()


class RecurrenceView(Schema):
    """A recurrence rule."""

    id = fields.String()
    starts_at = fields.String()
    ends_at = fields.String(allow_none=True)
    ends = fields.String()
    max_occurrences = fields.Integer(allow_none=True)
    active_occurrences = fields.Integer(metadata={"description": "Dates of this rule not over and not archived."})
    repeat_unit = fields.String()
    repeat_value = fields.Integer()
    duration = fields.Float(allow_none=True)
    days = fields.List(fields.String())
    operating_hours = fields.List(fields.Nested(OperatingHoursView))


class PassView(TicketTypeSchema):
    """A 003 pass (a ticket type of the parent event admitted at every session)."""

    separate = fields.Boolean(metadata={"description": "true: one ticket per holder; false: one combined ticket."})
    ticket_type_id = fields.String(allow_none=True, metadata={"description": "Its ticket configuration, if any."})


class EventSettingsView(Schema):
    """An event's inline settings."""

    pos_processing = fields.String(metadata={"enum": list(POS_PROCESSING)})
class CoverView(Schema):
    """An event's cover image: one URL per rendition (JPEG; `original` is the cleaned upload)."""

    square = fields.String(metadata={"description": "200x200, cropped to fill."})
    thumb = fields.String(metadata={"description": "400x300, cropped to fill."})
    medium = fields.String(metadata={"description": "800 pixels wide, its height in proportion."})
    original = fields.String(metadata={"description": "The uploaded image, EXIF removed."})


class CountsView(Schema):
    """Seat counters (`fields=...,counts`)."""

    capacity = fields.Integer(allow_none=True, validate=validate.Range(min=0))
    sold = fields.Integer()
    held = fields.Integer()
    available = fields.Integer(allow_none=True)


class StockItemView(Schema):
    """`include=registration_types.stock_item`: a registration type's inventory state (read when rendered;
    overdue holds are released first)."""

    inventory = fields.Integer(allow_none=True, metadata={"description": "Its capacity; null = unlimited."})
    sold = fields.Integer()
    held = fields.Integer(metadata={"description": "Seats in unexpired pending bookings."})
    available = fields.Integer(allow_none=True, metadata={"description": "Seats left, bounded by the event's "
                                                                         "capacity too; null = unlimited."})


class RegistrationTypeEventView(Schema):
    """`include=registration_types.event.venue`: the event (or session) a registration type belongs to, with
    that event's venue."""

    id = fields.String()
    name = fields.String()
    type = fields.String(metadata={"enum": list(EVENT_TYPES)})
    parent_event_id = fields.String(allow_none=True)
    venue_id = fields.String(allow_none=True)
    start = fields.Nested(TimeView)
    end = fields.Nested(TimeView)
    venue = fields.Nested(VenueView, allow_none=True)


class RegistrationTypeView(TicketTypeSchema):
    """A registration type in an event view (a ticket type, plus what `registration_types.*` includes add)."""

    stock_item = fields.Nested(StockItemView)
    event = fields.Nested(RegistrationTypeEventView)
    ticket_type = fields.Nested(ConfigurationView, allow_none=True, metadata={
        "description": "`include=registration_types.ticket_type`: its ticket configuration (003's ticket type), "
                       "or null."})


class EventSchema(Schema):
    """An event (003). Default fields unless `fields=` is given; relationships only with `include=`."""

    id = fields.String()
    created_at = fields.String()
    updated_at = fields.String()
    name = fields.String()
    slug = fields.String()
    status = fields.String(metadata={"enum": ["future", "active", "over"]})
    venue_id = fields.String(allow_none=True)
    parent_event_id = fields.String(allow_none=True)
    calendar_id = fields.String(allow_none=True, metadata={"description": "The event's calendar (a UUID) or null."})
    published_at = fields.String(allow_none=True)
    capacity = fields.Integer(allow_none=True, validate=validate.Range(min=0))
    type = fields.String(metadata={"enum": list(EVENT_TYPES)})
    start = fields.Nested(TimeView)
    end = fields.Nested(TimeView)
    deletable = fields.Boolean(metadata={"description": "Staff: no booking or ticket references it."})
    description = fields.String()
    tz = fields.String()
    visibility = fields.String()
    archived_at = fields.String(allow_none=True)
    position = fields.Integer()
    allow_overlap = fields.Boolean(metadata={"description": "Parent events: overlapping sessions may be chosen."})
    syncing = fields.Boolean()
    permanent = fields.Boolean(metadata={"description": "Always on (memberships, standing guest lists)."})
    setting_id = fields.String(allow_none=True, metadata={"description": "`fields=setting_id`: the event setting "
                                                                        "it uses (shared), or null."})
    settings = fields.Nested(EventSettingsView, metadata={"description": "`fields=settings`: its inline settings."})
    path = fields.String(metadata={"description": "\"/\" plus the slug."})
    location = fields.String(metadata={"description": "The event's `location` text, else its venue's name, city "
                                                      "and country; \"\" when neither is set."})
    publish = fields.Boolean(metadata={"description": "Published: `published_at` is set and has come."})
    cover = fields.Nested(CoverView, allow_none=True, metadata={
        "description": "The cover image's renditions as URLs; null until one is uploaded and its renditions "
                       "are made (`PUT /events/{id}/cover`)."})
    site_url = fields.String(metadata={"description": "The event's public page: <public URL>/e/<org>/<slug>."})
    checkout_url = fields.String(metadata={"description": "Its checkout page: the public page plus /checkout."})
    counts = fields.Nested(CountsView)
    venue = fields.Nested(VenueView, allow_none=True)
    sessions = fields.List(fields.Dict(), metadata={"description": "Session events (same shape)."})
    recurrences = fields.List(fields.Nested(RecurrenceView))
    registration_types = fields.List(fields.Nested(RegistrationTypeView))
    categories = fields.List(fields.Nested(CategoryView))
    tags = fields.List(fields.Nested(TagView))
    campaigns = fields.List(fields.Nested(CampaignView), metadata={"description": "Only the campaigns active now."})
    passes = fields.List(fields.Nested(PassView))
    list = fields.Nested(EventListView, allow_none=True, metadata={
        "description": "`include=list`: the event's default list; `include=list.setting` adds its `setting` "
                       "(description and image)."})


class PageInfo(Schema):
    """003 page block."""

    size = fields.Integer()
    next_cursor = fields.String(allow_none=True)
    last = fields.Boolean()
    first = fields.Boolean()


class Links(Schema):
    """Self and next page URLs."""

    self = fields.String()
    next = fields.String(allow_none=True)


class EventListMeta(Schema):
    """003 list meta (count = rows on this page)."""

    count = fields.Integer()
    page = fields.Nested(PageInfo)
    links = fields.Nested(Links)


class Paginate(Schema):
    """002 page/limit block."""

    hasNextPage = fields.Boolean()
    nextPage = fields.Integer(allow_none=True)


class EventList(Schema):
    """A page of events."""

    data = fields.List(fields.Nested(EventSchema))
    meta = fields.Nested(EventListMeta)
    paginate = fields.Nested(Paginate, metadata={"description": "Only with `page`/`limit`."})


class EventEnvelope(Schema):
    """`{"data": <event>}`."""

    data = fields.Nested(EventSchema)
