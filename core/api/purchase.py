"""Purchase endpoints: client purchase / confirm-order / register, staff box office and offline mark-paid.

Parses and serialises only; every rule (capacity, holds, pricing, payment checks) lives in `core.services.booking`.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema

from core.api.blueprint import Blueprint
from core.api.booking_schema import BookingResponseSchema, StaffBookingResponseSchema
from core.api.idempotency import idempotent
from core.api.queue_pass import QUEUE_PASS_DOC, sent_queue_pass
from core.api_schema import Schema
from core.auth import current_identity, require_role
from core.roles import SELLERS
from core.services import booking as bookings
from core.services.purchase_requests import purchase_request
from core.tenancy import current_org

blp = Blueprint("purchase", __name__, description="Buying tickets: purchase, confirm-order, register, box office")

_ID = validate.Length(min=1, max=64)


class TicketHolderSchema(Schema):
    """One ticket's holder; a field left out is the buyer's."""

    name = fields.String(validate=validate.Length(max=200))
    email = fields.Email(validate=validate.Length(max=254))


_HOLDERS = ("one per ticket the item issues, in order (a ticket without one is the buyer's); required when the "
            "ticket type's `holderFields` require a name or e-mail (422 `holder_details_required` otherwise)")


def holders_field() -> fields.List:
    """The optional per-ticket holders list of a purchase item."""
    return fields.List(fields.Nested(TicketHolderSchema), validate=validate.Length(max=1000),
                       metadata={"description": _HOLDERS})


class ItemSchema(Schema):
    ticketTypeId = fields.String(required=True, validate=_ID)
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000),
                              metadata={"description": "purchase units (seats = units x the type's quantity)"})
    holders = holders_field()


class BuyerSchema(Schema):
    email = fields.Email(validate=validate.Length(max=254))
    name = fields.String(validate=validate.Length(max=200))
    eventId = fields.String(required=True, validate=_ID)
    items = fields.List(fields.Nested(ItemSchema), validate=validate.Length(max=50))
    tickets = fields.List(fields.Nested(ItemSchema), validate=validate.Length(max=50),
                          metadata={"description": "alias of `items` (000's shape)"})
    inviteCode = fields.String(validate=validate.Length(max=100))

    def _items(self, data) -> list:
        return (data.get("items") or []) + (data.get("tickets") or [])

    @validates_schema
    def _one_shape(self, data, **kwargs):
        if data.get("items") and data.get("tickets"):
            raise ValidationError("Send either `items` or `tickets`, not both.", "items")
        if not self._items(data) and not data.get("ticketTypeId"):
            raise ValidationError("Send at least one `{ticketTypeId, quantity}` in `items`.", "items")


class PurchaseSchema(BuyerSchema):
    paymentGateway = fields.String(validate=validate.Length(min=1, max=64),
                                   metadata={"description": "ignored for a zero total (`free`); else defaults "
                                                            "to the tenant's default gateway (staff: `offline`)"})
    promoCode = fields.String(validate=validate.Length(max=100))
    useStoreCredit = fields.Boolean(load_default=False, metadata={
        "description": "A logged-in customer's unexpired store credit (in the booking's currency) pays what it can "
                       "before any gateway: all of it confirms at once with no gateway, the rest goes to the "
                       "gateway. 422 `store_credit_requires_account` (guest), `store_credit_expired`, "
                       "`no_store_credit`. Default false: credit is never spent unasked."})


class RegistrationSchema(BuyerSchema):
    ticketTypeId = fields.String(validate=_ID, metadata={"description": "shorthand for one item"})
    quantity = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=1000))
    holders = holders_field()


class ConfirmSchema(Schema):
    bookingId = fields.String(validate=_ID)
    orderId = fields.String(validate=_ID, metadata={"description": "alias of bookingId"})
    paymentRef = fields.String(validate=validate.Length(max=255))
    paymentGateway = fields.String(validate=validate.Length(min=1, max=64))

    @validates_schema
    def _needs_id(self, data, **kwargs):
        if not (data.get("bookingId") or data.get("orderId")):
            raise ValidationError("Send `bookingId` (or `orderId`).", "bookingId")


class MarkPaidSchema(Schema):
    reference = fields.String(load_default="", validate=validate.Length(max=255))
    note = fields.String(load_default="", validate=validate.Length(max=1000))


@blp.route("/client/events/tickets/purchase")
class ClientPurchase(MethodView):
    @idempotent
    @blp.arguments(PurchaseSchema())
    @blp.response(201, BookingResponseSchema)
    @blp.doc(**QUEUE_PASS_DOC)
    def post(self, data):
        """Hold seats and start a payment (guest: send `email` and `name`); a zero total confirms at once.

        Errors: 409 `sold_out`, 422 `gateway_not_enabled` / `mixed_currencies` / `sale_ended` / `below_order_min`
        / `above_order_max`, 403 `invite_code_required`, 502 `gateway_unavailable` (seats stay held), 403
        `queue_pass_required` / `queue_pass_invalid` (the event's waiting room is on).
        """
        org = current_org()
        return bookings.purchase(org, purchase_request(org, current_identity(), data, staff=False, source="online",
                                                       queue_pass=sent_queue_pass()))


@blp.route("/events/tickets/purchase")
class BoxOfficePurchase(MethodView):
    @require_role(SELLERS, scope="orders")
    @idempotent
    @blp.arguments(PurchaseSchema())
    @blp.response(201, StaffBookingResponseSchema)
    def post(self, data):
        """Box office sale by staff: private types and closed sale windows allowed; defaults to `offline`.
        403 `pos_processing_disabled` when the event's `settings.pos_processing` is `disabled`, or it inherits
        and the organisation's `posProcessing` is."""
        org = current_org()
        return bookings.purchase(org, purchase_request(org, current_identity(), data, staff=True, source="box_office"))


@blp.route("/client/events/tickets/confirm-order")
class ConfirmOrder(MethodView):
    @idempotent
    @blp.arguments(ConfirmSchema())
    @blp.response(200, BookingResponseSchema)
    def post(self, data):
        """Confirm a paid booking and issue its tickets, exactly once; repeats return the same tickets.

        402 `payment_not_completed` (booking stays retryable), 409 `hold_expired` (with `refunded`) when the
        hold ran out and its seats were sold, 422 `gateway_mismatch`.
        """
        return bookings.confirm(current_org(), data.get("bookingId") or data["orderId"],
                                payment_ref=data.get("paymentRef"), gateway=data.get("paymentGateway"))


@blp.route("/client/events/tickets/register")
class Register(MethodView):
    @idempotent
    @blp.arguments(RegistrationSchema())
    @blp.response(201, BookingResponseSchema)
    @blp.doc(**QUEUE_PASS_DOC)
    def post(self, data):
        """Free registration / RSVP: confirmed tickets without payment; 422 `payment_required` for paid types;
        403 `queue_pass_required` / `queue_pass_invalid` while the event's waiting room is on."""
        org = current_org()
        request = purchase_request(org, current_identity(), data, staff=False, source="register", require_free=True,
                                   queue_pass=sent_queue_pass())
        return bookings.purchase(org, request)


@blp.route("/events/bookings/<booking_id>/mark-paid")
class MarkPaid(MethodView):
    @require_role(SELLERS, scope="orders")
    @idempotent
    @blp.arguments(MarkPaidSchema())
    @blp.response(200, StaffBookingResponseSchema)
    def post(self, data, booking_id):
        """Record an offline payment (cash, transfer) and confirm the booking; tickets are issued once."""
        identity = current_identity()
        return bookings.mark_paid(current_org(), booking_id, reference=data["reference"], note=data["note"],
                                  by=identity.email or identity.sub)
