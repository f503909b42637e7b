"""Staff pickups API (003): the tenant's pickup types (`/pickup-types`) and handing a ticket's pickup over
(`POST /events/tickets/{ticket_id}/pickups/{pickup_id}/collect`).

Staff only; thin views over `core.services.pickups`; another tenant's record is a 404, never a 403.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import Blueprint
from core.api.event_schemas import EventListMeta
from core.api.ticket_schema import TicketPickupSchema, ticket_pickup_view
from core.api_schema import Schema
from core.auth import current_identity, require_role
from core.models import PickupType
from core.pagination import DEFAULT_PAGE_SIZE, CursorPageQuery, SortKey, page_body, paginate_cursor
from core.roles import DOOR_STAFF, MANAGERS, READERS
from core.services import pickups
from core.tenancy import current_org
from core.timefmt import iso_utc

blp = Blueprint("pickups", __name__, description="Pickups (staff): pickup types and collecting a ticket's pickups")

_KEYS = [SortKey("name", PickupType.name), SortKey("id", PickupType.id)]


class PickupTypeBody(Schema):
    """A pickup type: something a ticket holder collects at the event."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200),
                         metadata={"description": "e.g. T-shirt, Drink token."})
    description = fields.String(validate=validate.Length(max=2000))

    class Meta:
        ordered = True


class PickupTypePatch(PickupTypeBody):
    """Any subset of the pickup type's fields."""


class PickupTypeView(Schema):
    """A pickup type as the API returns it."""

    id = fields.String()
    public_id = fields.Integer(metadata={"column": "bigint", "description": "Stable numeric id (public v2 API)."})
    name = fields.String()
    description = fields.String()
    created_at = fields.String()
    updated_at = fields.String()


class PickupTypeEnvelope(Schema):
    data = fields.Nested(PickupTypeView)


class PickupTypeList(Schema):
    data = fields.List(fields.Nested(PickupTypeView))
    meta = fields.Nested(EventListMeta)


class CollectedPickup(TicketPickupSchema):
    """A ticket's pickup once handed over."""

    ticketId = fields.String()


def pickup_type_view(pickup_type: PickupType) -> dict:
    """The JSON form of a pickup type."""
    return {"id": pickup_type.id, "public_id": pickup_type.public_id, "name": pickup_type.name,
            "description": pickup_type.description, "created_at": iso_utc(pickup_type.created_at),
            "updated_at": iso_utc(pickup_type.updated_at)}


@blp.route("/pickup-types")
class PickupTypeCollection(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(CursorPageQuery, location="query")
    @blp.response(200, PickupTypeList)
    def get(self, args):
        """The tenant's pickup types by name, cursor-paginated."""
        page = paginate_cursor(pickups.list_pickup_types(current_org()), _KEYS,
                               args.get("page_size", DEFAULT_PAGE_SIZE), args.get("page_cursor"))
        return page_body(page, pickup_type_view)

    @require_role(MANAGERS, scope="events")
    @blp.arguments(PickupTypeBody)
    @blp.response(201, PickupTypeEnvelope)
    def post(self, data):
        """Create a pickup type; registration types list it in their `pickups`."""
        return {"data": pickup_type_view(pickups.create_pickup_type(current_org(), data))}


@blp.route("/pickup-types/<pickup_type_id>")
class PickupTypeItem(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, PickupTypeEnvelope)
    def get(self, pickup_type_id):
        """One pickup type (404 `pickup_type_not_found`)."""
        return {"data": pickup_type_view(pickups.get_pickup_type(current_org(), pickup_type_id))}

    @require_role(MANAGERS, scope="events")
    @blp.arguments(PickupTypePatch(partial=True))
    @blp.response(200, PickupTypeEnvelope)
    def patch(self, data, pickup_type_id):
        """Change its name or description (tickets show the current name)."""
        return {"data": pickup_type_view(pickups.update_pickup_type(current_org(), pickup_type_id, data))}

    @require_role(MANAGERS, scope="events")
    @blp.response(204)
    def delete(self, pickup_type_id):
        """Delete a pickup type; 409 `pickup_type_in_use` while a registration type or a ticket carries it."""
        pickups.delete_pickup_type(current_org(), pickup_type_id)
        return "", 204


@blp.route("/events/tickets/<ticket_id>/pickups/<pickup_id>/collect")
class CollectPickup(MethodView):
    @require_role(DOOR_STAFF, scope="checkin")
    @blp.response(200, CollectedPickup)
    def post(self, ticket_id, pickup_id):
        """Mark one of the ticket's pickups handed over, once: 409 `pickup_already_collected` the second time
        (of two at once, one wins), 409 `ticket_revoked` for a refunded, cancelled or transferred ticket, 409
        `not_activated` before activation; 404 `ticket_not_found` / `pickup_not_found`."""
        pickup = pickups.collect_pickup(current_org(), ticket_id, pickup_id, collected_by=current_identity().sub)
        return {**ticket_pickup_view(pickup), "ticketId": pickup.ticket_id}
