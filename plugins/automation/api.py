"""Staff API of the automation plugin: webhook endpoints, their delivery log, and replaying a delivery.

Staff only; 404 `plugin_not_enabled` for tenants without the plugin; an endpoint's secret is returned once.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import plugin_blueprint
from core.api_schema import Schema
from core.auth import require_role
from core.pagination import DEFAULT_PAGE_SIZE, CursorPageQuery, page_body
from core.roles import MANAGERS
from core.tenancy import current_org
from plugins.automation import service

blp = plugin_blueprint("automation", "automation", __name__, url_prefix="/automation",
                       description="Webhooks (staff): endpoints, signed deliveries, replay")


class EndpointInput(Schema):
    url = fields.String(required=True, validate=validate.Length(min=8, max=2000))
    eventTypes = fields.List(fields.String(validate=validate.OneOf(service.EVENT_TYPES)), required=True,
                             validate=validate.Length(min=1, max=len(service.EVENT_TYPES)))
    description = fields.String(load_default="", validate=validate.Length(max=300))
    active = fields.Boolean(load_default=True)


class EndpointView(Schema):
    id = fields.String()
    url = fields.String()
    description = fields.String()
    eventTypes = fields.List(fields.String())
    active = fields.Boolean()
    createdAt = fields.String()
    secret = fields.String(metadata={"description": "Signing secret; returned only when the endpoint is created"})


class DeliveryQuery(CursorPageQuery):
    endpointId = fields.String(validate=validate.Length(max=64))


class DeliveryView(Schema):
    id = fields.String()
    endpointId = fields.String()
    eventId = fields.String()
    eventType = fields.String()
    status = fields.String(metadata={"description": "pending, retrying, succeeded or failed"})
    attempts = fields.Integer()
    lastStatusCode = fields.Integer(allow_none=True)
    lastError = fields.String(allow_none=True)
    nextAttemptAt = fields.String(allow_none=True)
    deliveredAt = fields.String(allow_none=True)
    createdAt = fields.String()
    event = fields.Dict(metadata={"description": "The JSON event exactly as sent: {id, type, created, org, data}"})


class DeliveryList(Schema):
    data = fields.List(fields.Nested(DeliveryView))
    meta = fields.Dict(metadata={"description": "Cursor pagination: `page.next_cursor`, `links.next`"})


@blp.route("/endpoints")
class Endpoints(MethodView):
    @require_role(MANAGERS, scope="admin")
    @blp.response(200, EndpointView(many=True))
    def get(self):
        """The tenant's webhook endpoints (without secrets)."""
        return [service.endpoint_view(e) for e in service.list_endpoints(current_org())]

    @require_role(MANAGERS, scope="admin")
    @blp.arguments(EndpointInput)
    @blp.response(201, EndpointView)
    def post(self, data):
        """Register an endpoint; the response's `secret` (shown once) verifies `Boxoffice-Signature`.

        422 `url_not_allowed` for non-http(s) URLs and hosts that are, or resolve to, special-purpose addresses
        (loopback, private, link-local, NAT64/6to4/Teredo wrapping one...; see docs/notifications.md).
        """
        endpoint = service.create_endpoint(current_org(), url=data["url"], event_types=data["eventTypes"],
                                           description=data["description"], active=data["active"])
        return service.endpoint_view(endpoint, with_secret=True)


@blp.route("/endpoints/<endpoint_id>")
class EndpointItem(MethodView):
    @require_role(MANAGERS, scope="admin")
    @blp.response(204)
    def delete(self, endpoint_id: str):
        """Remove an endpoint and its delivery log (404 `endpoint_not_found`)."""
        service.delete_endpoint(current_org(), endpoint_id)


@blp.route("/deliveries")
class Deliveries(MethodView):
    @require_role(MANAGERS, scope="admin")
    @blp.arguments(DeliveryQuery, location="query")
    @blp.response(200, DeliveryList)
    def get(self, args):
        """Deliveries, newest first (`endpointId`, `page[size]`, `page[cursor]`)."""
        page = service.list_deliveries(current_org(), size=args.get("page_size", DEFAULT_PAGE_SIZE),
                                       cursor=args.get("page_cursor"), endpoint_id=args.get("endpointId"))
        return page_body(page, service.delivery_view)


@blp.route("/deliveries/<delivery_id>/replay")
class Replay(MethodView):
    @require_role(MANAGERS, scope="admin")
    @blp.response(202, DeliveryView)
    def post(self, delivery_id: str):
        """Send a delivery again: same event id and body, new signature, fresh attempts (404 if not yours)."""
        return service.delivery_view(service.replay(current_org(), delivery_id))
