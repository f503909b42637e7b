"""Staff ticket configurations API (003's reusable "ticket types"): CRUD at `/ticket-configurations`, and the
configurations attached to an event (`/events/{event_id}/ticket_types`, `/events/{event_id}/ticket_types/add`).

Thin views over `core.services.ticket_configurations`; another tenant's configuration or event is a 404.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import Blueprint
from core.api.event_schemas import EventListMeta
from core.api.ticket_configuration_schema import ConfigurationBody, ConfigurationView, configuration_view
from core.api_schema import Schema
from core.auth import require_role
from core.models import TicketConfiguration
from core.pagination import DEFAULT_PAGE_SIZE, CursorPageQuery, SortKey, page_body, paginate_cursor
from core.roles import MANAGERS, READERS
from core.services import ticket_configurations as service
from core.services.events import get_event
from core.tenancy import current_org

blp = Blueprint("ticket_configurations", __name__,
                description="Ticket configurations: 003's reusable ticket types, attached to events (staff)")

_KEYS = [SortKey("name", TicketConfiguration.name), SortKey("id", TicketConfiguration.id)]
class ConfigurationPatch(ConfigurationBody):
    """Any subset of the fields."""


class ConfigurationEnvelope(Schema):
    data = fields.Nested(ConfigurationView)


class ConfigurationList(Schema):
    data = fields.List(fields.Nested(ConfigurationView))
    meta = fields.Nested(EventListMeta)


class EventConfigurationList(Schema):
    data = fields.List(fields.Nested(ConfigurationView))


class AttachBody(Schema):
    """003 `{ticket_type_id}`: the configuration to attach."""

    ticket_type_id = fields.String(required=True, validate=validate.Length(min=1, max=64),
                                   metadata={"description": "Id of one of your ticket configurations."})


class CreateAndAttachBody(Schema):
    """003 `{ticket_type: {...}}`: a new configuration, attached to the event."""

    ticket_type = fields.Nested(ConfigurationBody, required=True)


@blp.route("/ticket-configurations")
class ConfigurationCollection(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(CursorPageQuery, location="query")
    @blp.response(200, ConfigurationList)
    def get(self, args):
        """The tenant's ticket configurations by name, cursor-paginated."""
        page = paginate_cursor(service.list_configurations(current_org()), _KEYS,
                               args.get("page_size", DEFAULT_PAGE_SIZE), args.get("page_cursor"))
        return page_body(page, configuration_view)

    @require_role(MANAGERS, scope="events")
    @blp.arguments(ConfigurationBody)
    @blp.response(201, ConfigurationEnvelope)
    def post(self, data):
        """Create a ticket configuration (422 `invalid_ticket_configuration` naming a field)."""
        return {"data": configuration_view(service.create_configuration(current_org(), data))}


@blp.route("/ticket-configurations/<configuration_id>")
class ConfigurationItem(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, ConfigurationEnvelope)
    def get(self, configuration_id):
        """One ticket configuration (404 `ticket_configuration_not_found`)."""
        return {"data": configuration_view(service.get_configuration(current_org(), configuration_id))}

    @require_role(MANAGERS, scope="events")
    @blp.arguments(ConfigurationPatch(partial=True))
    @blp.response(200, ConfigurationEnvelope)
    def patch(self, data, configuration_id):
        """Change some fields; the tiers using it (and their future tickets) follow."""
        return {"data": configuration_view(service.update_configuration(current_org(), configuration_id, data))}

    @require_role(MANAGERS, scope="events")
    @blp.response(204)
    def delete(self, configuration_id):
        """Delete a configuration no ticket type uses (409 `ticket_configuration_in_use` otherwise)."""
        service.delete_configuration(current_org(), configuration_id)
        return "", 204


@blp.route("/events/<event_id>/ticket_types")
class EventConfigurations(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, EventConfigurationList)
    def get(self, event_id):
        """The ticket configurations attached to the event, by name."""
        org = current_org()
        return {"data": [configuration_view(c) for c in service.event_configurations(org, get_event(org, event_id))]}

    @require_role(MANAGERS, scope="events")
    @blp.arguments(CreateAndAttachBody)
    @blp.response(201, ConfigurationEnvelope)
    def post(self, data, event_id):
        """003: create a ticket configuration and attach it to the event in one call."""
        org = current_org()
        event = get_event(org, event_id)
        return {"data": configuration_view(service.create_and_attach(org, event, data["ticket_type"]))}


@blp.route("/events/<event_id>/ticket_types/add")
class AttachConfiguration(MethodView):
    @require_role(MANAGERS, scope="events")
    @blp.arguments(AttachBody)
    @blp.response(200, ConfigurationEnvelope)
    def post(self, data, event_id):
        """003: attach an existing ticket configuration to the event (again: no change); 404
        `ticket_configuration_not_found` for one that is not yours."""
        org = current_org()
        configuration, _ = service.attach(org, get_event(org, event_id), data["ticket_type_id"])
        return {"data": configuration_view(configuration)}
