"""Staff endpoints for ticket types (`/events/<event_id>/ticket-types`, `/events/ticket-types/<id>`).

Thin views: parse with the ticket-type schemas, call `core.services.ticket_types`, render; no rules here.
"""

from __future__ import annotations

from flask.views import MethodView
from peewee import Select

from core.api.blueprint import Blueprint
from core.api.ticket_type_schema import (
    DeletedEnvelopeSchema,
    IncludeArchivedSchema,
    TicketTypeEnvelopeSchema,
    TicketTypeFieldsSchema,
    TicketTypeListSchema,
    TicketTypeUpdateSchema,
    ticket_type_errors,
    ticket_type_view,
    to_service_fields,
)
from core.auth import require_role
from core.errors import NotFound
from core.models import Event, Org, TicketType
from core.pagination import SortKey
from core.roles import MANAGERS, READERS
from core.services import holds, pickups
from core.services import ticket_types as service
from core.tenancy import along, current_org, get_scoped, scoped

blp = Blueprint("ticket_types", __name__, description="Ticket types of an event (staff)")

# List order of ticket types, as keys for `core.pagination`.
SORT_KEYS = (SortKey("position", TicketType.position, "int"),
             SortKey("created_at", TicketType.created_at, "datetime"),
             SortKey("id", TicketType.id))


def _lookup(model, org: Org, record_id, what: str):
    # PostgreSQL refuses NUL in a string parameter; such an id can name nothing, so say 404, not 500.
    if isinstance(record_id, str) and "\x00" in record_id:
        raise NotFound(f"No {what.replace('_', ' ')} with that id.", type=f"{what}_not_found")
    return get_scoped(model, org, record_id, what)


def load_event(org: Org, event_id) -> Event:
    """The tenant's event, or 404 `event_not_found`."""
    return _lookup(Event, org, event_id, "event")


def load_ticket_type(org: Org, ticket_type_id) -> TicketType:
    """The tenant's ticket type, or 404 `ticket_type_not_found`."""
    return _lookup(TicketType, org, ticket_type_id, "ticket_type")


def read_ticket_type(org: Org, ticket_type_id) -> TicketType:
    """The tenant's ticket type (404 as `load_ticket_type`), counted after the event's overdue holds are
    released (read again, with its event, only when one was), so `held`/`available` leave them out."""
    ticket_type = load_ticket_type(org, ticket_type_id)
    if not holds.release_overdue_of_events(org.id, [ticket_type.event_id]):
        return ticket_type
    return (scoped(TicketType, org, TicketType, Event).join(Event, on=along(TicketType.event))
            .where(ticket_type.row_condition()).get())


def staff_view(ticket_type: TicketType) -> dict:
    """The staff JSON form of a ticket type, with its pickups (attached by `attach_pickups`, else one query)."""
    return ticket_type_view(ticket_type, staff=True, pickups=pickups.pickups_of_ticket_type(ticket_type))


def attach_pickups(org: Org, ticket_types: list[TicketType]) -> None:
    """Load the pickups of a page of ticket types at once (one query) before rendering them with `staff_view`."""
    pickups.attach_ticket_type_pickups(org, ticket_types)


def create_from_api(org: Org, event: Event, data: dict, *error_path: str) -> TicketType:
    """Create from loaded API input; field errors are reported under `error_path` with the API's names."""
    with ticket_type_errors(*error_path):
        fields = to_service_fields(data, event=event)
        return service.create_ticket_type(org, event, fields, pickups=fields.pop("pickups", None))


def update_from_api(org: Org, ticket_type: TicketType, data: dict, *error_path: str) -> TicketType:
    """Update from loaded API input; field errors are reported under `error_path` with the API's names."""
    with ticket_type_errors(*error_path):
        fields = to_service_fields(data, event=ticket_type.event, current=ticket_type)
        return service.update_ticket_type(org, ticket_type, fields, pickups=fields.pop("pickups", None))


def create_from_data(org: Org, data: dict) -> TicketType:
    """The data API's create: `data.event` names the event."""
    return create_from_api(org, load_event(org, data["event"]), data, "json", "data")


def update_from_data(org: Org, ticket_type: TicketType, data: dict) -> TicketType:
    """The data API's update."""
    return update_from_api(org, ticket_type, data, "json", "data")


def delete_ticket_type(org: Org, ticket_type: TicketType) -> str:
    """Delete, or archive when sold/held/referenced: "deleted" or "archived"."""
    return service.delete_ticket_type(org, ticket_type)


def query_ticket_types(org: Org, filters: dict) -> Select:
    """The tenant's ticket types matching `filters` (`event`, `include_archived`), events preloaded.

    The overdue holds of the event (of the whole tenant without an `event` filter) are released first, so
    the counters read by the query leave them out.
    """
    event = load_event(org, filters["event"]) if filters.get("event") else None
    holds.release_overdue_of_events(org.id, None if event is None else [event.id])
    return service.list_ticket_types(org, event, include_archived=filters.get("include_archived", False))


def _deleted(ticket_type_id: str, outcome: str) -> dict:
    return {"data": {"id": ticket_type_id, "deleted": outcome == "deleted", "archived": outcome == "archived"}}


@blp.route("/events/<event_id>/ticket-types")
class EventTicketTypes(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(IncludeArchivedSchema, location="query")
    @blp.response(200, TicketTypeListSchema)
    def get(self, args, event_id):
        """The event's ticket types, by position (`includeArchived=true` to see archived ones)."""
        filters = {"event": event_id, "include_archived": args["include_archived"]}
        org = current_org()
        rows = list(query_ticket_types(org, filters))
        attach_pickups(org, rows)
        return {"data": [staff_view(tt) for tt in rows]}

    @require_role(MANAGERS, scope="events")
    @blp.arguments(TicketTypeFieldsSchema)
    @blp.response(201, TicketTypeEnvelopeSchema)
    def post(self, data, event_id):
        """Create a ticket type on the event (422 `validation_error` per field; 404 `event_not_found`)."""
        org = current_org()
        event = load_event(org, event_id)
        ticket_type = create_from_api(org, event, data, "json")
        return {"data": ticket_type_view(ticket_type, event=event, staff=True,
                                         pickups=pickups.pickups_of_ticket_type(ticket_type))}


@blp.route("/events/ticket-types/<ticket_type_id>")
class TicketTypeItem(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, TicketTypeEnvelopeSchema)
    def get(self, ticket_type_id):
        """One ticket type, with its counters (404 `ticket_type_not_found`)."""
        return {"data": staff_view(read_ticket_type(current_org(), ticket_type_id))}

    @require_role(MANAGERS, scope="events")
    @blp.arguments(TicketTypeUpdateSchema)
    @blp.response(200, TicketTypeEnvelopeSchema)
    def patch(self, data, ticket_type_id):
        """Change some fields (409 `capacity_below_sold`, 409 `ticket_type_archived`)."""
        org = current_org()
        return {"data": staff_view(update_from_api(org, load_ticket_type(org, ticket_type_id), data, "json"))}

    @require_role(MANAGERS, scope="events")
    @blp.response(200, DeletedEnvelopeSchema)
    def delete(self, ticket_type_id):
        """Delete the ticket type, or archive it if it has sales, holds or tickets."""
        org = current_org()
        return _deleted(ticket_type_id, delete_ticket_type(org, load_ticket_type(org, ticket_type_id)))
