"""Helpers shared by the purchase, confirm, register, comp, hold and race tests (no tests here).

Events and ticket types are created through the staff HTTP API, like an organiser would.
"""

from __future__ import annotations

import datetime as dt

from core import db as database
from core.models import Booking, Event, Ticket, TicketType


def iso(delta: dt.timedelta) -> str:
    """A UTC time `delta` from now, ISO 8601."""
    return (dt.datetime.now(dt.UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_event(tenant, *, capacity=None, published=True, **extra) -> str:
    """A published event starting in 30 days; returns its id."""
    body = {"name": "Spring Gala", "starts_at": iso(dt.timedelta(days=30)),
            "ends_at": iso(dt.timedelta(days=30, hours=4)), "capacity": capacity}
    if published:
        body["published_at"] = iso(-dt.timedelta(minutes=5))
    body.update(extra)
    response = tenant.staff.post("/events", json={"event": body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]["id"]


def make_type(tenant, event_id: str, **fields) -> str:
    """A ticket type of `event_id` (001 field names, prices in major units); returns its id."""
    body = {"name": "General", "price": 0, "currency": "USD", "capacity": 100}
    body.update(fields)
    response = tenant.staff.post(f"/events/{event_id}/ticket-types", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]["id"]


def guest_purchase(tenant, event_id: str, items: list, **extra) -> dict:
    """The JSON body of a guest purchase."""
    return {"eventId": event_id, "email": "alex@example.com", "name": "Alex Reyes",
            "items": [{"ticketTypeId": tt, "quantity": q} for tt, q in items], **extra}


def counters(event_id: str, ticket_type_id: str | None = None) -> dict:
    """Seat counters and row counts, read straight from the database."""
    with database.db.connection_context():
        event = Event.get_by_id(event_id)
        out = {"event_sold": event.sold, "event_held": event.held,
               "tickets": Ticket.select().where(Ticket.event == event_id).count()}
        if ticket_type_id:
            tt = TicketType.get_by_id(ticket_type_id)
            out.update(sold=tt.sold, held=tt.held)
        return out


def age_booking(booking_id: str, minutes: int = 11) -> None:
    """Pretend a booking's hold was made `minutes` ago (its expiry is now in the past)."""
    with database.db.connection_context():
        booking = Booking.get_by_id(booking_id)
        Booking.update(expires_at=booking.expires_at - dt.timedelta(minutes=minutes)).where(
            Booking.id == booking_id).execute()
