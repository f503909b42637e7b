"""Client browse API (000): published public events, their ticket types, sessions and schedule.

No login needed (a JWT is accepted); drafts, archived, non-public and other tenants' events are 404.
"""

from __future__ import annotations

import json
from itertools import groupby
from zoneinfo import ZoneInfo

from flask import current_app
from flask.views import MethodView
from marshmallow import Schema, fields

from core.api.blueprint import Blueprint
from core.api.event_schemas import (
    CLIENT_FIELDS,
    CLIENT_INCLUDES,
    ClientListQuery,
    EventEnvelope,
    EventList,
    EventSchema,
    EventView,
    IncludeQuery,
    check_bracket_params,
    filters_from,
    list_response,
    sort_spec,
)
from core.api.events import parse_view_options, release_shown_holds
from core.api.ticket_type_schema import TicketTypeSchema, ticket_type_view
from core.memo import BoundedMemo
from core.models import Event, Org, TicketType, utcnow
from core.pagination import DEFAULT_PAGE_SIZE, cursor_page, page_meta, request_links
from core.services import event_queries, holds
from core.tenancy import current_org, scoped
from core.timefmt import as_utc

blp = Blueprint("client_events", __name__, description="Browse events (customers; no login needed)")

_LIST_QUERY = ClientListQuery()


def _release_shown_holds(org: Org, args: dict, event_ids: list[str] | None = None) -> int:
    """`release_shown_holds` for the customer view of `args` (call it before loading the events shown)."""
    return release_shown_holds(org, *parse_view_options(args, CLIENT_INCLUDES, CLIENT_FIELDS), event_ids)


def _render(org, rows: list[Event], args: dict) -> EventView:
    field_list, include = parse_view_options(args, CLIENT_INCLUDES, CLIENT_FIELDS)
    related = event_queries.preload(org, rows, include, public_only=True) if include else event_queries.Related()
    return EventView(field_list, include, related, utcnow(), staff=False)


# The columns the default client view (CLIENT_FIELDS, no `fields`/`include`) reads: status needs the start
# and end, the cursor the start and id. test_client_browse checks the answer matches whole rows.
_DEFAULT_VIEW_COLUMNS = (Event.id, Event.name, Event.slug, Event.description, Event.type, Event.venue,
                         Event.parent, Event.published_at, Event.starts_at, Event.ends_at, Event.tz)
# Each distinct row's default view, as JSON text per status. Rendering is a pure function of the row except
# `status`, which follows the clock (so the text is kept per status value); an edited event is another row,
# so an entry is never stale.
_DEFAULT_VIEWS = BoundedMemo(8192)


def _default_list(size: int, cursor: str | None):
    """The customer list in its default shape and view: the hottest read of a sale, so it reads only the
    columns it shows, renders and serialises each distinct row once per process, and joins the texts."""
    rows = event_queries.public_top_level_rows(current_org(), size, cursor, _DEFAULT_VIEW_COLUMNS)
    build = event_queries.event_builder(_DEFAULT_VIEW_COLUMNS)
    page = cursor_page(event_queries.sort_keys(None), rows, size, first=not cursor, cursor_row=build)
    now = utcnow()
    view = EventView(CLIENT_FIELDS, set(), event_queries.Related(), now, staff=False)

    def serialised(row: tuple) -> str:
        hit = _DEFAULT_VIEWS.get(row)
        if hit is None:
            event = build(row)
            hit = (view(event), event.starts_at, event.ends_at, {})
            _DEFAULT_VIEWS.put(row, hit)
        rendered, starts_at, ends_at, texts = hit
        status = event_queries.status_between(starts_at, ends_at, now)
        text = texts.get(status)
        if text is None:
            text = texts[status] = json.dumps({**rendered, "status": status}, separators=(",", ":"))
        return text

    data = ",".join(serialised(row) for row in page.rows)
    meta = json.dumps(page_meta(page, *request_links(page)), separators=(",", ":"))
    return current_app.response_class(f'{{"data":[{data}],"meta":{meta}}}\n', mimetype="application/json")


def _is_default_shape(args: dict, filters, parent: Event | None) -> bool:
    """No filter, no sort and no page number: the shape the compiled fast path serves."""
    return (parent is None and args.get("page") is None and not sort_spec()
            and all(value is None for value in vars(filters).values() if not isinstance(value, bool | dict)))


def _list(args: dict, parent: Event | None = None):
    check_bracket_params(_LIST_QUERY)
    org = current_org()
    filters = filters_from(args)
    size = args.get("limit") or args.get("page_size") or DEFAULT_PAGE_SIZE
    if _is_default_shape(args, filters, parent):
        if not args.get("fields") and not args.get("include"):
            return _default_list(size, args.get("page_cursor"))
        _release_shown_holds(org, args)
        page = event_queries.public_top_level_page(org, size, args.get("page_cursor"))
        return list_response(page, _render(org, page.rows, args))
    _release_shown_holds(org, args, None if parent is None else [parent.id])
    if parent is not None:
        filters.parent_event_id = parent.id
    filters.top_level = True
    keys = event_queries.sort_keys(sort_spec())
    query = event_queries.apply_filters(event_queries.public_query(org), org, filters)
    page = event_queries.fetch_page(query, keys, size, args.get("page_cursor"), args.get("page"))
    return list_response(page, _render(org, page.rows, args))


@blp.route("/client/events")
class ClientEvents(MethodView):
    @blp.arguments(_LIST_QUERY, location="query")
    @blp.response(200, EventList)
    def get(self, args):
        """Published public events (top level: single dates, parents, recurring series), soonest first.
        Same filters, sort, include and pagination as the staff list."""
        return _list(args)


@blp.route("/client/events/<event_id>")
class ClientEvent(MethodView):
    @blp.arguments(IncludeQuery(), location="query")
    @blp.response(200, EventEnvelope)
    def get(self, args, event_id):
        """One published public event; `include=venue,sessions,registration_types`."""
        org = current_org()
        event = event_queries.get_public_event(org, event_id)
        if _release_shown_holds(org, args, [event.id]):
            event = event_queries.get_public_event(org, event.id)   # its counters changed with the release
        return {"data": _render(org, [event], args)(event)}


class ClientTicketTypeList(Schema):
    data = fields.List(fields.Nested(TicketTypeSchema))


@blp.route("/client/events/<event_id>/ticket-types")
class ClientTicketTypes(MethodView):
    @blp.response(200, ClientTicketTypeList)
    def get(self, event_id):
        """Public ticket types of the event with price, currency, `available` (capacity minus sold and
        held, bounded by the event), `saleStart`/`saleEnd` and `onSale`. Overdue holds are released first,
        so `available` never counts them."""
        org = current_org()
        event = event_queries.get_public_event(org, event_id)
        holds.release_overdue_of_events(org.id, [event.id])
        types = (scoped(TicketType, org, TicketType, Event).join(Event)   # the event's counters as of now
                 .where((TicketType.event == event.id) & (TicketType.visibility == "public")
                        & TicketType.archived_at.is_null()))
        return {"data": [ticket_type_view(tt) for tt in types.order_by(TicketType.position, TicketType.created_at)]}


@blp.route("/client/events/<event_id>/sessions")
class ClientSessions(MethodView):
    @blp.arguments(_LIST_QUERY, location="query")
    @blp.response(200, EventList)
    def get(self, args, event_id):
        """Published sessions of a parent event (or dates of a recurring one), paginated like the list."""
        return _list(args, parent=event_queries.get_public_event(current_org(), event_id))


class ScheduleDay(Schema):
    date = fields.String(metadata={"description": "Local date (YYYY-MM-DD) in the session's timezone."})
    items = fields.List(fields.Nested(EventSchema))


class ScheduleData(Schema):
    event_id = fields.String()
    tz = fields.String()
    days = fields.List(fields.Nested(ScheduleDay))


class ScheduleEnvelope(Schema):
    data = fields.Nested(ScheduleData)


@blp.route("/client/events/<event_id>/schedule")
class ClientSchedule(MethodView):
    @blp.response(200, ScheduleEnvelope)
    def get(self, event_id):
        """Upcoming sessions/dates in start order, grouped by local day (a date event is its own schedule)."""
        org = current_org()
        event = event_queries.get_public_event(org, event_id)
        items = event_queries.schedule(org, event)
        render = _render(org, items, {})

        def local_day(item: Event) -> str:
            return as_utc(item.starts_at).astimezone(ZoneInfo(item.tz)).date().isoformat()

        days = [{"date": day, "items": [render(i) for i in group]}
                for day, group in groupby(items, key=local_day)]
        return {"data": {"event_id": event.id, "tz": event.tz, "days": days}}
