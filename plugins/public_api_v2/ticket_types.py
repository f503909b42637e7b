"""HTTP routes of the public_api_v2 plugin for 003's ticket types (the core's ticket configurations): CRUD at
`/ticket_types` and the two event endpoints `/events/{id}/ticket_types(/add)`, with numeric ids.

Thin views over `core.services.ticket_configurations` and the core's view of a configuration; the bodies are
the core's schemas (ids numeric through `plugins.public_api_v2.ids`). No rule of its own.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields

from core.api.event_schemas import EventListMeta
from core.api.ticket_configurations import (
    AttachBody,
    ConfigurationBody,
    ConfigurationPatch,
    CreateAndAttachBody,
    configuration_view,
)
from core.api_schema import Schema
from core.auth import require_role
from core.kits.public_ids import uuid_for
from core.models import Event, Org, TicketConfiguration
from core.models.public_id import PUBLIC_ID_LIMIT
from core.pagination import DEFAULT_PAGE_SIZE, CursorPageQuery, SortKey, page_body, paginate_cursor
from core.roles import MANAGERS, READERS
from core.services import events
from core.services import ticket_configurations as service
from core.tenancy import current_org
from plugins.public_api_v2.api import EVENT_PATH, TicketTypeV2, blp
from plugins.public_api_v2.ids import numeric_schema, to_uuids
from plugins.public_api_v2.views import configuration_v2

ATTACH_IDS = {"ticket_type_id": "TicketConfiguration"}
ATTACH_BODY = numeric_schema(AttachBody, ATTACH_IDS)
LIST_ORDER = [SortKey("name", TicketConfiguration.name), SortKey("id", TicketConfiguration.id)]
TICKET_TYPE_PATH = f"/ticket_types/<int(min=1, max={PUBLIC_ID_LIMIT - 1}):ticket_type_id>"


class TicketTypeEnvelopeV2(Schema):
    """`{"data": <ticket type>}`."""

    data = fields.Nested(TicketTypeV2)


class TicketTypeListV2(Schema):
    """A page of ticket types."""

    data = fields.List(fields.Nested(TicketTypeV2))
    meta = fields.Nested(EventListMeta)


class EventTicketTypesV2(Schema):
    """The ticket types attached to an event."""

    data = fields.List(fields.Nested(TicketTypeV2))


def ticket_type_v2(configuration: TicketConfiguration) -> dict:
    """003's view of a configuration: the core's, `public_id` shown as `id`."""
    return configuration_v2(configuration_view(configuration))


def configuration_uuid(org: Org, ticket_type_id: int) -> str:
    """The UUID of the tenant's configuration with this numeric id, or 404 `ticket_type_not_found`."""
    return uuid_for(TicketConfiguration, org, ticket_type_id, "ticket_type")


def event_of(org: Org, event_id: int) -> Event:
    """The tenant's event with this numeric id, or 404 `event_not_found`."""
    return events.get_event(org, uuid_for(Event, org, event_id, "event"))


@blp.route("/ticket_types")
class TicketTypeCollection(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(CursorPageQuery, location="query")
    @blp.response(200, TicketTypeListV2)
    def get(self, args):
        """003 ticket types (the core's ticket configurations) by name, `page[size]`/`page[cursor]`."""
        page = paginate_cursor(service.list_configurations(current_org()), LIST_ORDER,
                               args.get("page_size", DEFAULT_PAGE_SIZE), args.get("page_cursor"))
        return page_body(page, ticket_type_v2)

    @require_role(MANAGERS, scope="events")
    @blp.arguments(ConfigurationBody)
    @blp.response(201, TicketTypeEnvelopeV2)
    def post(self, data):
        """Create a ticket type (003's fields; the core's rules and 422s)."""
        return {"data": ticket_type_v2(service.create_configuration(current_org(), data))}


@blp.route(TICKET_TYPE_PATH)
class TicketTypeItem(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, TicketTypeEnvelopeV2)
    def get(self, ticket_type_id):
        """One ticket type by its numeric id (404 `ticket_type_not_found`, also for another tenant's)."""
        org = current_org()
        return {"data": ticket_type_v2(service.get_configuration(org, configuration_uuid(org, ticket_type_id)))}

    @require_role(MANAGERS, scope="events")
    @blp.arguments(ConfigurationPatch(partial=True))
    @blp.response(200, TicketTypeEnvelopeV2)
    def patch(self, data, ticket_type_id):
        """Change some fields; the registration types using it follow."""
        org = current_org()
        changed = service.update_configuration(org, configuration_uuid(org, ticket_type_id), data)
        return {"data": ticket_type_v2(changed)}

    @require_role(MANAGERS, scope="events")
    @blp.response(204)
    def delete(self, ticket_type_id):
        """Delete a ticket type no registration type uses (409 `ticket_configuration_in_use` otherwise)."""
        org = current_org()
        service.delete_configuration(org, configuration_uuid(org, ticket_type_id))
        return "", 204


@blp.route(f"{EVENT_PATH}/ticket_types")
class EventTicketTypes(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, EventTicketTypesV2)
    def get(self, event_id):
        """The ticket types attached to the event, by name."""
        org = current_org()
        return {"data": [ticket_type_v2(c) for c in service.event_configurations(org, event_of(org, event_id))]}

    @require_role(MANAGERS, scope="events")
    @blp.arguments(CreateAndAttachBody)
    @blp.response(201, TicketTypeEnvelopeV2)
    def post(self, data, event_id):
        """003 "Create and add a new ticket type": `{ticket_type: {...}}`, attached to the event."""
        org = current_org()
        made = service.create_and_attach(org, event_of(org, event_id), data["ticket_type"])
        return {"data": ticket_type_v2(made)}


@blp.route(f"{EVENT_PATH}/ticket_types/add")
class AddTicketType(MethodView):
    @require_role(MANAGERS, scope="events")
    @blp.arguments(ATTACH_BODY.schema)
    @blp.response(200, TicketTypeEnvelopeV2)
    def post(self, data, event_id):
        """003 "Add an existing ticket type": `{ticket_type_id: <number>}` (again: no change). A number no
        ticket type of yours has is 422 `unknown_ids` naming `ticket_type_id`."""
        org = current_org()
        event = event_of(org, event_id)
        configuration, _ = service.attach(org, event, to_uuids(org, data, ATTACH_BODY)["ticket_type_id"])
        return {"data": ticket_type_v2(configuration)}
