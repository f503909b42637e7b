"""Staff-issued tickets: comps (free, counted against capacity), pre-generated door batches and their activation.

Never issues beyond capacity (seats are sold through `core.services.capacity` in the same transaction) and
never activates a ticket twice (conditional UPDATE pending_activation -> valid).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.db import write_transaction
from core.errors import Conflict, Unprocessable
from core.models import Booking, BookingLine, Event, Org, Payment, Ticket, TicketType, new_id, utcnow
from core.money import to_minor
from core.payments import ManualPayment, ZeroTotal
from core.plugins import hooks_for
from core.services import audit, capacity, ticket_configurations
from core.services.booking import issue_units
from core.services.issuing import Holder, attendee_ids, issue_tickets, seats_for, tickets_for_units
from core.services.ticket_configurations import configuration_of
from core.tenancy import get_scoped

MAX_BATCH = 1000


@dataclass
class StaffIssue:
    """What staff issued: the tickets and, for comps and activations, the booking that records it."""

    ticket_type: TicketType
    tickets: list[Ticket]
    booking: Booking | None = None


def _ticket_type_of(org: Org, event_id: str, ticket_type_id: str) -> TicketType:
    event = get_scoped(Event, org, event_id, "event")
    ticket_type = get_scoped(TicketType, org, ticket_type_id, "ticket_type")
    if ticket_type.event_id != event.id:
        raise Unprocessable(f"Ticket type {ticket_type.name!r} does not belong to event {event.id!r}.",
                            type="ticket_type_not_in_event", ticketTypeId=ticket_type.id)
    if ticket_type.archived_at is not None:
        raise Unprocessable(f"{ticket_type.name!r} is archived.", type="ticket_type_archived")
    return ticket_type


def _booking_row(org: Org, ticket_type: TicketType, *, source: str, email: str, name: str, amount: int,
                 units: int, seats: int, note: str, gateway: str, reference: str | None = None) -> Booking:
    now = utcnow()
    booking = Booking.create(id=new_id(), org=org.id, event=ticket_type.event_id, email=email, name=name,
                             status="confirmed", source=source, gateway=gateway, payment_ref=reference,
                             currency=ticket_type.currency, subtotal=amount, amount=amount,
                             seats=seats, note=note, confirmed_at=now, payment_data={})
    BookingLine.create(org=org.id, booking=booking.id, kind="ticket", ticket_type=ticket_type.id,
                       description=ticket_type.name, quantity=units, seats=seats,
                       unit_price=amount // max(units, 1), total=amount)
    return booking


def comp(org: Org, event_id: str, ticket_type_id: str, holders: list[Holder], *, note: str = "",
         by: str = "") -> StaffIssue:
    """Issue one free unit per holder (source `comp`), sold against capacity; 409 `sold_out` if they don't fit."""
    ticket_type = _ticket_type_of(org, event_id, ticket_type_id)
    if not holders or len(holders) > MAX_BATCH:
        raise Unprocessable(f"Send 1 to {MAX_BATCH} holders.", type="invalid_holders")
    ticket_configurations.require_holders(configuration_of(ticket_type), holders, len(holders), "holders")
    with write_transaction():
        booking = _booking_row(org, ticket_type, source="comp", email=by, name="", amount=0, units=len(holders),
                               seats=seats_for(ticket_type, len(holders)), note=note,
                               gateway=ZeroTotal.identifier)
        tickets: list[Ticket] = []
        count = tickets_for_units(ticket_type, 1)
        attendees = attendee_ids(org, [(holder, None, count) for holder in holders])
        for holder, holder_attendees in zip(holders, attendees, strict=True):
            tickets += issue_tickets(org, ticket_type, 1, holder=holder, booking=booking, source="comp", note=note,
                                     attendees=holder_attendees)
        capacity.sell_seats(org.id, [capacity.SeatRequest(ticket_type.id, seats_for(ticket_type, len(holders)))],
                            ticket_type.event_id)
        audit.record(org, "tickets.comped", "booking", booking.id, after={
            "event_id": ticket_type.event_id, "ticket_type_id": ticket_type.id, "ticket_ids": [t.id for t in tickets],
            "holders": [holder.email for holder in holders], "seats": booking.seats, "note": note})
        hooks_for(org).notify("tickets_issued", org=org, booking=booking, tickets=tickets)
    return StaffIssue(ticket_type, tickets, booking)


def pre_generate(org: Org, event_id: str, ticket_type_id: str, quantity: int) -> StaffIssue:
    """Create `quantity` units of unactivated tickets (`pending_activation`), counted against capacity now."""
    ticket_type = _ticket_type_of(org, event_id, ticket_type_id)
    if not 1 <= quantity <= MAX_BATCH:
        raise Unprocessable(f"quantity must be 1 to {MAX_BATCH}.", type="invalid_quantity")
    with write_transaction():
        tickets = issue_units(org, ticket_type, quantity, holder=Holder(), status="pending_activation",
                              source="door", unit_price=ticket_type.price)
        capacity.sell_seats(org.id, [capacity.SeatRequest(ticket_type.id, seats_for(ticket_type, quantity))],
                            ticket_type.event_id)
        audit.record(org, "tickets.pre_generated", "ticket_type", ticket_type.id, after={
            "event_id": ticket_type.event_id, "quantity": quantity, "ticket_ids": [t.id for t in tickets],
            "seats": seats_for(ticket_type, quantity)})
    return StaffIssue(ticket_type, tickets)


def activate(org: Org, ticket_id: str, *, holder: Holder, amount=None, method: str = "", reference: str = "",
             by: str = "") -> StaffIssue:
    """Sell a pre-generated ticket at the door: pending_activation -> valid once, with a `door` booking + Payment.

    `amount` is in major units (as the 001 document sends it); None means the ticket type's price.
    """
    ticket = get_scoped(Ticket, org, ticket_id, "ticket")
    ticket_type = get_scoped(TicketType, ticket.org_id, ticket.ticket_type_id)
    ticket_configurations.require_holder(configuration_of(ticket_type), holder, "holder")
    try:
        paid = ticket_type.price if amount is None else to_minor(amount, ticket_type.currency)
    except ValueError as exc:
        raise Unprocessable(f"payment.amount: {exc}.", type="invalid_amount") from exc
    if paid < 0:
        raise Unprocessable("payment.amount cannot be negative.", type="invalid_amount")
    with write_transaction():
        attendee = attendee_ids(org, [(holder, None, 1)])[0][0]   # rolled back with the rest if it loses
        won = (Ticket.update(status="valid", holder_email=holder.email, holder_name=holder.name, price_paid=paid,
                             attendee=attendee, updated_at=utcnow())
               .where(ticket.row_condition() & (Ticket.status == "pending_activation")).execute())
        if won != 1:
            raise Conflict("This ticket is not waiting for activation (already activated or voided).",
                           type="ticket_not_activatable", ticketId=ticket.id)
        booking = _booking_row(org, ticket_type, source="door", email=holder.email, name=holder.name, amount=paid,
                               units=1, seats=ticket.seats, note=f"activated by {by}" if by else "",
                               gateway=ManualPayment.identifier, reference=reference or None)
        Ticket.update(booking=booking.id).where(ticket.row_condition()).execute()
        Payment.create(org=org.id, booking=booking.id, gateway=ManualPayment.identifier, reference=reference or None,
                       amount=paid, currency=ticket_type.currency, status="succeeded",
                       data={"method": method, "by": by})
        ticket = ticket.reread()
        audit.record(org, "ticket.activated", "ticket", ticket.id, before={"status": "pending_activation"}, after={
            "status": "valid", "holder_email": holder.email, "holder_name": holder.name, "booking_id": booking.id,
            "amount": paid, "currency": ticket_type.currency, "method": method, "reference": reference})
        hooks_for(org).notify("tickets_issued", org=org, booking=booking, tickets=[ticket])
    return StaffIssue(ticket_type, [ticket], booking)
