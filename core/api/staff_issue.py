"""Staff ticket issuing endpoints: comps, pre-generated door batches, and activating one at the door.

Parses and serialises only; capacity and state rules live in `core.services.comps`.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import Blueprint
from core.api.booking_schema import TicketListSchema, ticket_summary
from core.api.idempotency import idempotent
from core.api_schema import Schema
from core.auth import current_identity, require_role
from core.roles import DOOR_STAFF, MANAGERS
from core.services import comps
from core.services.issuing import Holder
from core.tenancy import current_org

blp = Blueprint("staff_issue", __name__, description="Staff-issued tickets: comps, pre-generated, activation")

_ID = validate.Length(min=1, max=64)


class HolderSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = fields.String(load_default="", validate=validate.Length(max=200))


class CompSchema(Schema):
    eventId = fields.String(required=True, validate=_ID)
    ticketTypeId = fields.String(required=True, validate=_ID)
    holders = fields.List(fields.Nested(HolderSchema), required=True,
                          validate=validate.Length(min=1, max=comps.MAX_BATCH))
    note = fields.String(load_default="", validate=validate.Length(max=1000))


class PreGenerateSchema(Schema):
    eventId = fields.String(required=True, validate=_ID)
    ticketTypeId = fields.String(required=True, validate=_ID)
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=comps.MAX_BATCH))


class DoorPaymentSchema(Schema):
    amount = fields.Decimal(required=True, as_string=True, validate=validate.Range(min=0),
                            metadata={"description": "major units, e.g. 199 or 19.99"})
    method = fields.String(load_default="", validate=validate.Length(max=40))
    ref = fields.String(load_default="", validate=validate.Length(max=255))


class ActivateSchema(Schema):
    # No email is "" (a callable default: the document shows no "" default, which is not an email).
    holderEmail = fields.Email(load_default=str, validate=validate.Length(max=254))
    holderName = fields.String(load_default="", validate=validate.Length(max=200))
    payment = fields.Nested(DoorPaymentSchema, load_default=None)


def _issued(issue: comps.StaffIssue) -> dict:
    return {"eventId": issue.ticket_type.event_id, "ticketTypeId": issue.ticket_type.id,
            "bookingId": issue.booking.id if issue.booking else None, "count": len(issue.tickets),
            "tickets": [ticket_summary(t, staff=True) for t in issue.tickets]}


def _staff_name() -> str:
    identity = current_identity()
    return identity.email or identity.sub


@blp.route("/events/tickets/comp")
class Comp(MethodView):
    @require_role(MANAGERS, scope="orders")
    @idempotent
    @blp.arguments(CompSchema())
    @blp.response(201, TicketListSchema)
    def post(self, data):
        """Issue free tickets to named holders (counted against capacity; 409 `sold_out` if they don't fit)."""
        holders = [Holder(email=h["email"].strip().lower(), name=h["name"].strip()) for h in data["holders"]]
        return _issued(comps.comp(current_org(), data["eventId"], data["ticketTypeId"], holders, note=data["note"],
                                  by=_staff_name()))


@blp.route("/events/tickets/pre-generate")
class PreGenerate(MethodView):
    @require_role(MANAGERS, scope="orders")
    @idempotent
    @blp.arguments(PreGenerateSchema())
    @blp.response(201, TicketListSchema)
    def post(self, data):
        """Create a batch of unactivated tickets for door sales; they never scan as valid until activated."""
        return _issued(comps.pre_generate(current_org(), data["eventId"], data["ticketTypeId"], data["quantity"]))


@blp.route("/events/tickets/<ticket_id>/activate")
class Activate(MethodView):
    @require_role(DOOR_STAFF, scope="checkin")
    @idempotent
    @blp.arguments(ActivateSchema())
    @blp.response(200, TicketListSchema)
    def post(self, data, ticket_id):
        """Activate a pre-generated ticket once, recording the door payment; 409 `ticket_not_activatable` after."""
        payment = data["payment"] or {}
        holder = Holder(email=data["holderEmail"].strip().lower(), name=data["holderName"].strip())
        return _issued(comps.activate(current_org(), ticket_id, holder=holder, amount=payment.get("amount"),
                                      method=payment.get("method", ""), reference=payment.get("ref", ""),
                                      by=_staff_name()))
