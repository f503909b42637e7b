"""Test helper: an event, ticket types and issued tickets made straight through models and services.

Does what a staff comp does (issue_tickets + sell_seats in one write transaction); never used by the app.
"""

from __future__ import annotations

import datetime as dt

from core import db as database
from core.models import Booking, Customer, Event, Ticket, TicketType, new_id, utcnow
from core.services import capacity, issuing


def make_event(tenant, *, capacity_total: int | None = 100, starts_in_days: int = 10, name: str = "Gig",
               **ticket_type_fields) -> tuple[Event, TicketType]:
    """An event with one ticket type (fields override the defaults: price 2500 USD, capacity 50)."""
    with database.db.connection_context():
        start = utcnow() + dt.timedelta(days=starts_in_days)
        event = Event.create(org=tenant.orgid, name=name, slug=f"gig-{new_id()[:8]}", starts_at=start,
                             ends_at=start + dt.timedelta(hours=3), capacity=capacity_total,
                             published_at=utcnow())
        fields = {"name": "General", "price": 2500, "currency": "USD", "capacity": 50, **ticket_type_fields}
        ticket_type = TicketType.create(org=tenant.orgid, event=event, **fields)
    return event, ticket_type


def add_ticket_type(tenant, event: Event, **fields) -> TicketType:
    """Another ticket type on `event`."""
    with database.db.connection_context():
        values = {"name": "Extra", "price": 1000, "currency": "USD", "capacity": 50, **fields}
        return TicketType.create(org=tenant.orgid, event=event, **values)


def issue(tenant, ticket_type: TicketType, count: int = 1, *, email: str = "holder@example.com",
          name: str = "Holder Person", customer_id: str | None = None, paid: bool = True,
          gateway: str = "offline", status: str = "valid") -> list[Ticket]:
    """Issue `count` tickets to one holder inside a confirmed booking (amount = price x count)."""
    with database.db.connection_context(), database.write_transaction():
        customer = Customer.get_by_id(customer_id) if customer_id else None
        amount = ticket_type.price * count if paid else 0
        booking = Booking.create(org=tenant.orgid, event=ticket_type.event_id, customer=customer, email=email,
                                 name=name, status="confirmed", gateway=gateway if paid else "free",
                                 payment_ref=f"ref-{new_id()[:8]}", currency=ticket_type.currency,
                                 subtotal=amount, amount=amount, seats=count, confirmed_at=utcnow())
        capacity.sell_seats([capacity.SeatRequest(ticket_type.id, count)], ticket_type.event_id)
        holder = issuing.Holder(email=email, name=name, customer=customer)
        return issuing.issue_tickets(tenant.orgid, ticket_type, count, holder=holder, booking=booking,
                                     unit_price=ticket_type.price if paid else 0, status=status)


def reload(ticket_id: str) -> Ticket:
    """A fresh copy of a ticket row."""
    with database.db.connection_context():
        return Ticket.get_by_id(ticket_id)


def reload_model(model, record_id: str):
    """A fresh copy of any row."""
    with database.db.connection_context():
        return model.get_by_id(record_id)
