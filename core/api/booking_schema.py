"""Serialisation of bookings, purchase/confirm answers and issued tickets (response schemas).

Only shapes data for HTTP; never changes state and never exposes gateway secrets beyond the client's own.
"""

from __future__ import annotations

from marshmallow import fields

from core.api.fields import UtcTime
from core.api.ticket_schema import ticket_view
from core.api_schema import Schema
from core.models import Ticket


class LineSchema(Schema):
    kind = fields.String(metadata={"description": "`ticket`, or an adjustment kind added by a plugin"})
    ticketTypeId = fields.String(attribute="ticket_type_id", allow_none=True)
    name = fields.String(attribute="description")
    quantity = fields.Integer(metadata={"description": "purchase units"})
    seats = fields.Integer()
    unitPrice = fields.Integer(attribute="unit_price", metadata={"description": "minor units"})
    unitFee = fields.Integer(attribute="unit_fee", metadata={"description": "service fee per unit, minor units"})
    total = fields.Integer(metadata={"description": "minor units"})


class PendingUntil(UtcTime):
    """The booking's `expires_at` while it is pending (its hold), else null."""

    def _serialize(self, booking, attr, obj, **kwargs):
        return super()._serialize(booking.expires_at if booking.status == "pending" else None, attr, obj)


class PaymentData(fields.Dict):
    """What the gateway hands the client to complete the payment (an object, `{}` when none)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(value or {}, attr, obj, **kwargs)


class IssuedTickets(fields.List):
    """The booking's issued tickets as `ticket_view` shows them (to staff: with booking and scan details)."""

    def __init__(self, *, staff: bool = False, **kwargs):
        super().__init__(fields.Dict(), **kwargs)
        self.staff = staff

    def _serialize(self, value, attr, obj, **kwargs):
        return [ticket_summary(ticket, staff=self.staff) for ticket in value]


def _payment(key: str) -> str:
    return f"payment.{key}"


class BookingResponseSchema(Schema):
    """The purchase / confirm-order answer, dumped from a `BookingResult`: booking, lines, payment start data,
    tickets once confirmed."""

    bookingId = fields.String(attribute="booking.id")
    orderId = fields.String(attribute="booking.id", dump_only=True, metadata={"description": "alias of bookingId"})
    status = fields.String(attribute="booking.status",
                           metadata={"description": "pending | confirmed | expired | cancelled | refunded"})
    eventId = fields.String(attribute="booking.event_id")
    source = fields.String(attribute="booking.source")
    email = fields.String(attribute="booking.email")
    name = fields.String(attribute="booking.name")
    paymentGateway = fields.String(attribute="booking.gateway")
    paymentRef = fields.String(attribute="booking.payment_ref", allow_none=True)
    currency = fields.String(attribute="booking.currency")
    subtotal = fields.Integer(attribute="booking.subtotal")
    fees = fields.Integer(attribute="booking.fees")
    adjustments = fields.Integer(attribute="booking.adjustments")
    amount = fields.Integer(attribute="booking.amount", metadata={"description": "total to pay, minor units"})
    seats = fields.Integer(attribute="booking.seats")
    expiresAt = PendingUntil(attribute="booking", allow_none=True)
    confirmedAt = UtcTime(attribute="booking.confirmed_at", allow_none=True)
    clientSecret = fields.String(attribute=_payment("client_secret"), allow_none=True, dump_default=None)
    paymentIntentSecret = fields.String(attribute=_payment("client_secret"), allow_none=True, dump_default=None,
                                        dump_only=True, metadata={"description": "alias of clientSecret"})
    approvalUrl = fields.String(attribute=_payment("approval_url"), allow_none=True, dump_default=None)
    paymentData = PaymentData(attribute=_payment("data"), dump_default=dict)
    lines = fields.List(fields.Nested(LineSchema))
    tickets = IssuedTickets()
    reminder = fields.String(allow_none=True, dump_default=None, metadata={
        "description": "A purchase by a logged-in customer whose e-mail is not verified yet: what to do (follow "
                       "the link we sent, or ask for a new one); null otherwise."})


class StaffBookingResponseSchema(BookingResponseSchema):
    """The same answer to staff (box office, mark-paid): tickets with booking and scan details."""

    tickets = IssuedTickets(staff=True)


class TicketListSchema(Schema):
    eventId = fields.String()
    ticketTypeId = fields.String()
    bookingId = fields.String(allow_none=True)
    count = fields.Integer()
    tickets = fields.List(fields.Dict())


def ticket_summary(ticket: Ticket, *, staff: bool = False) -> dict:
    """A ticket as the ticket-operations API shows it."""
    return ticket_view(ticket, staff=staff)
