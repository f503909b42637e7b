"""Client browse API (000): published public events, their ticket types, sessions and schedule.

No login needed (a JWT is accepted); drafts, archived, non-public and other tenants' events are 404.
"""

from __future__ import annotations

from itertools import groupby
from zoneinfo import ZoneInfo

from flask.views import MethodView
from marshmallow import fields

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
from core.api_schema import Schema
from core.models import Event, Org, utcnow
from core.pagination import DEFAULT_PAGE_SIZE
from core.services import event_queries, holds, ticket_types
from core.tenancy import current_org
from core.timefmt import as_utc

blp = Blueprint("client_events", __name__, description="Browse events (customers; no login needed)")

_LIST_QUERY = ClientListQuery()


def _release_shown_holds(org: Org, args: dict, event_ids: list[str] | None = None) -> int:
    """`release_shown_holds` for the customer view of `args` (call it before loading the events shown)."""
    return release_shown_holds(org, *parse_view_options(args, CLIENT_INCLUDES, CLIENT_FIELDS), event_ids)


def _render(org, rows: list[Event], args: dict, view: tuple[list, set[str]] | None = None) -> EventView:
    field_list, include = view or parse_view_options(args, CLIENT_INCLUDES, CLIENT_FIELDS)
    locations = "location" in field_list
    related = (event_queries.preload(org, rows, include, public_only=True, want_locations=locations)
               if include or locations else event_queries.Related())
    return EventView(field_list, include, related, utcnow(), staff=False)


# The columns the default client view (CLIENT_FIELDS, no `include`) reads: status needs the start and end,
# the cursor the start and id. test_client_browse checks the answer matches whole rows.
_DEFAULT_VIEW_COLUMNS = (Event.id, Event.org, Event.name, Event.slug, Event.description, Event.type, Event.venue,
                         Event.parent, Event.published_at, Event.starts_at, Event.ends_at, Event.tz, Event.location,
                         Event.cover)


def _list(args: dict, parent: Event | None = None):
    check_bracket_params(_LIST_QUERY)
    org = current_org()
    filters = filters_from(args)
    field_list, include = view = parse_view_options(args, CLIENT_INCLUDES, CLIENT_FIELDS)
    release_shown_holds(org, field_list, include, None if parent is None else [parent.id])
    if parent is not None:
        filters.parent_event_id = parent.id
    filters.top_level = True
    size = args.get("limit") or args.get("page_size") or DEFAULT_PAGE_SIZE
    columns = _DEFAULT_VIEW_COLUMNS if tuple(field_list) == CLIENT_FIELDS and not include else None
    page = event_queries.public_page(org, filters, sort_spec(), size, args.get("page_cursor"), args.get("page"),
                                     columns)
    return list_response(page, _render(org, page.rows, args, view))


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
        types = ticket_types.list_ticket_types(org, event, public_only=True)   # the event's counters as of now
        return {"data": [ticket_type_view(tt) for tt in types]}


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
