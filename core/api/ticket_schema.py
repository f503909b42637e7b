"""The one JSON shape of an issued ticket, shared by customer, staff, purchase, comp and transfer responses.

Pure serialisation of already-loaded rows: it never queries more than the ticket's own relations (its type, and
its pickups when a list did not load them for the page: `core.services.pickups.attach_ticket_pickups`) and never
exposes the signed QR payload, the secret version or a transfer claim token (a barcode pool code is shown: it is
the ticket's printed code).
"""

from __future__ import annotations

from marshmallow import fields

from core.api_schema import Schema
from core.models import Ticket
from core.services.pickups import attach_ticket_pickups, pickups_of_ticket
from core.services.qr import barcode_of
from core.services.ticket_configurations import shown_name
from core.timefmt import iso_utc

LIVE_STATES = ("valid", "checked_in", "pending_activation")


def _loaded(ticket: Ticket, relation: str):
    """The related row if the query already fetched it (a join), else None (no extra query)."""
    return ticket.__rel__.get(relation)


def qr_url(ticket: Ticket, *, staff: bool = False) -> str | None:
    """Where the ticket's QR PNG is served, or None once the QR no longer scans."""
    if ticket.status not in LIVE_STATES:
        return None
    prefix = "/events/tickets" if staff else "/client/events/tickets"
    return f"{prefix}/{ticket.id}/qr"


def ticket_view(ticket: Ticket, *, staff: bool = False, event_list=None) -> dict:
    """A ticket as the API shows it; `staff=True` adds booking, customer, price and scan details. With
    `event_list` (the list it is on, loaded by the caller) it shows that list with its description; without it,
    `listId` is the list staff or its ticket type chose (null: the event's default list)."""
    ticket_type = ticket.ticket_type
    view = {
        "id": ticket.id,
        "eventId": ticket.event_id,
        "ticketTypeId": ticket.ticket_type_id,
        "ticketTypeName": ticket_type.name,
        "displayName": shown_name(ticket_type),
        "status": ticket.status,
        "holderEmail": ticket.holder_email,
        "holderName": ticket.holder_name,
        "seats": ticket.seats,
        "attended": ticket.scan_count > 0,
        "scanCount": ticket.scan_count,
        "qrUrl": qr_url(ticket, staff=staff),
        "barcode": barcode_of(ticket),
        "createdAt": iso_utc(ticket.created_at),
        "transferredFrom": ticket.transferred_from_id,
        "perks": list(ticket_type.perks or []),
        "price": {"amount": ticket.price_paid, "currency": ticket_type.currency},
        "pickups": [ticket_pickup_view(p) for p in pickups_of_ticket(ticket)],
    }
    view["listId"] = event_list.id if event_list is not None else (ticket.list_id or ticket_type.list_id)
    if event_list is not None:
        view["list"] = {"id": event_list.id, "name": event_list.name, "description": event_list.description}
    event = _loaded(ticket, "event")
    if event is not None:
        view["event"] = {"id": event.id, "name": event.name, "startsAt": iso_utc(event.starts_at),
                         "endsAt": iso_utc(event.ends_at)}
    if staff:
        view.update({
            "bookingId": ticket.booking_id,
            "customerId": ticket.customer_id,
            "source": ticket.source,
            "firstScannedAt": iso_utc(ticket.first_scanned_at),
            "lastScannedAt": iso_utc(ticket.last_scanned_at),
            "lastScanPoint": ticket.last_scan_point,
            "note": ticket.note,
        })
    return view


def ticket_views(tickets: list[Ticket], *, staff: bool = False) -> list[dict]:
    """Several tickets as `ticket_view` shows them, their pickups loaded with one query."""
    if tickets:
        attach_ticket_pickups(tickets[0].org_id, tickets)
    return [ticket_view(ticket, staff=staff) for ticket in tickets]


def ticket_pickup_view(pickup) -> dict:
    """One pickup an issued ticket carries (loaded with `pickup_type_name`)."""
    return {"id": pickup.id, "pickupTypeId": pickup.pickup_type_id, "name": pickup.pickup_type_name,
            "quantity": pickup.quantity, "collectedAt": iso_utc(pickup.collected_at)}


# --- response schemas: the OpenAPI documentation of the shapes above (dumped by flask-smorest) ----------

class TicketEventSchema(Schema):
    id = fields.String()
    name = fields.String()
    startsAt = fields.String()
    endsAt = fields.String()


class TicketPriceSchema(Schema):
    amount = fields.Integer(metadata={"description": "Minor units"})
    currency = fields.String()


class TicketPickupSchema(Schema):
    """What a ticket carries to collect at the event, and when it was handed over."""

    id = fields.String()
    pickupTypeId = fields.String()
    name = fields.String(metadata={"description": "The pickup type's name"})
    quantity = fields.Integer()
    collectedAt = fields.String(allow_none=True, metadata={"description": "null until staff mark it collected"})
class TicketOnListSchema(Schema):
    """The event list a ticket is on (003 lists): its description shows on the ticket."""

    id = fields.String()
    name = fields.String()
    description = fields.String(metadata={"description": "Sanitised rich text (HTML)."})


class TicketSchema(Schema):
    """An issued ticket as its holder sees it."""

    id = fields.String()
    eventId = fields.String()
    ticketTypeId = fields.String()
    ticketTypeName = fields.String()
    displayName = fields.String(metadata={"description": "What the ticket shows as its type: the ticket "
                                                         "configuration's display name when set, else the type's."})
    status = fields.String(metadata={"description": "pending_activation | valid | checked_in | refunding | "
                                                    "cancelled | refunded | transferred"})
    holderEmail = fields.String()
    holderName = fields.String()
    seats = fields.Integer()
    attended = fields.Boolean(metadata={"description": "Checked in at least once (004's attendance flag)"})
    scanCount = fields.Integer()
    qrUrl = fields.String(allow_none=True, metadata={"description": "PNG of the signed QR; null once void"})
    barcode = fields.String(allow_none=True, metadata={
        "description": "The code this ticket took from its configuration's barcode pool (what its QR encodes and "
                       "the door accepts); null for a ticket with a signed QR"})
    createdAt = fields.String()
    transferredFrom = fields.String(allow_none=True)
    perks = fields.List(fields.String())
    price = fields.Nested(TicketPriceSchema)
    pickups = fields.List(fields.Nested(TicketPickupSchema))
    event = fields.Nested(TicketEventSchema)
    listId = fields.String(allow_none=True, metadata={"description": "The event list it is on (null: the event's "
                                                                    "default list)."})
    list = fields.Nested(TicketOnListSchema, metadata={"description": "Ticket reads (one ticket, an event's "
                                                                      "tickets, my tickets): the list it is on."})


class StaffTicketSchema(TicketSchema):
    """A ticket as staff see it: plus booking, customer and scan details."""

    bookingId = fields.String(allow_none=True)
    customerId = fields.String(allow_none=True)
    source = fields.String()
    firstScannedAt = fields.String(allow_none=True)
    lastScannedAt = fields.String(allow_none=True)
    lastScanPoint = fields.String(allow_none=True)
    note = fields.String()


PNG_DOC = {"responses": {"200": {
    "description": "The ticket's QR code as a PNG image: its signed code (`Cache-Control: private, max-age=300`), or "
                   "for a rotating QR type (`rotatingQr`) the code of the current 15-second step, with "
                   "`Cache-Control: no-store` and `X-Code-Expires-At`",
    "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
    "headers": {"X-Code-Expires-At": {
        "description": "Rotating QR only: when this code stops being shown (the next step begins), ISO 8601 UTC. "
                       "A door still accepts it for 60 s after its step began.",
        "schema": {"type": "string", "format": "date-time"}}}}}}
PNG_ERRORS = {404: "`ticket_not_found`", 409: "`ticket_revoked`: the ticket is void"}
