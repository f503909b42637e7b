"""Read-only ticket queries: staff lists and participants of an event, a customer's tickets and bookings.

Every query is tenant-scoped; nothing here writes. Ownership of a ticket is `Ticket.customer` only (emails
are not verified at registration, so a matching email never grants access).
"""

from __future__ import annotations

from peewee import JOIN, Case, fn

from core.errors import NotFound
from core.models import Booking, Customer, Event, Ticket, TicketConfiguration, TicketType, utcnow
from core.pagination import Page, SortKey, paginate_cursor, paginate_offset
from core.services.pickups import attach_ticket_pickups
from core.tenancy import get_scoped, scoped
from core.timefmt import iso_utc

LIVE = ("valid", "checked_in", "pending_activation")
TICKET_KEYS = (SortKey("created", Ticket.created_at, "datetime", attr="created_at"), SortKey("id", Ticket.id))
PARTICIPANT_KEYS = (SortKey("email", Ticket.holder_email, attr="email"),)


def _with_type(org, *also):
    """The tenant's tickets joined with their type and its ticket configuration if any (the ticket shows its
    display name), and with the `also` models selected (their joins are the caller's)."""
    return (scoped(Ticket, org, Ticket, TicketType, TicketConfiguration, *also).join(TicketType)
            .join(TicketConfiguration, JOIN.LEFT_OUTER))


def event_tickets(org, event_id: str, *, status: str | None = None, ticket_type_id: str | None = None,
                  search: str | None = None, size: int = 50, cursor: str | None = None,
                  page: int | None = None) -> Page:
    """A page of an event's tickets (oldest first), filtered by status, ticket type and holder substring."""
    get_scoped(Event, org, event_id, "event")
    query = _with_type(org).where(Ticket.event == event_id)
    if status:
        query = query.where(Ticket.status == status)
    if ticket_type_id:
        query = query.where(Ticket.ticket_type == ticket_type_id)
    if search:
        needle = search.lower()
        query = query.where(fn.LOWER(Ticket.holder_email).contains(needle)
                            | fn.LOWER(Ticket.holder_name).contains(needle))
    found = paginate_offset(query, TICKET_KEYS, page, size) if page is not None else \
        paginate_cursor(query, TICKET_KEYS, size, cursor)
    attach_ticket_pickups(org, found.rows)
    return found


def staff_ticket(org, ticket_id: str) -> Ticket:
    """One ticket of the tenant, or 404 `ticket_not_found`."""
    return get_scoped(Ticket, org, ticket_id, "ticket")


def owned_ticket(org, ticket_id: str, customer_id: str) -> Ticket:
    """One ticket the customer owns; anyone else's (or another tenant's) is 404 `ticket_not_found`."""
    ticket = None
    if isinstance(ticket_id, str) and len(ticket_id) <= 64:
        ticket = (_with_type(org, Event).switch(Ticket).join(Event)
                  .where((Ticket.id == ticket_id) & (Ticket.customer == customer_id)).first())
    if ticket is None:
        raise NotFound(f"No ticket with id {ticket_id!r} in your account.", type="ticket_not_found")
    return ticket


def my_tickets(org, customer_id: str, *, include_void: bool = False) -> list[Ticket]:
    """Every ticket the customer owns across events, soonest event first."""
    query = _with_type(org, Event).switch(Ticket).join(Event).where(Ticket.customer == customer_id)
    if not include_void:
        query = query.where(Ticket.status.in_(LIVE))
    return attach_ticket_pickups(org, list(query.order_by(Event.starts_at, Ticket.created_at, Ticket.id)))


def my_bookings(org, customer_id: str) -> list[dict]:
    """The customer's bookings with event name/start and live ticket count: upcoming first, then past."""
    live_count = (Ticket.select(fn.COUNT(Ticket.id)).where((Ticket.booking == Booking.id) & Ticket.status.in_(LIVE)))
    rows = list(scoped(Booking, org, Booking, Event, live_count.alias("ticket_count")).join(Event)
                .where(Booking.customer == customer_id).order_by(Event.starts_at, Booking.created_at).limit(500))
    now = utcnow()
    upcoming = [b for b in rows if b.event.ends_at >= now]
    past = [b for b in rows if b.event.ends_at < now][::-1]
    return [_booking_view(b) for b in upcoming + past]


def _booking_view(booking: Booking) -> dict:
    event = booking.event
    return {
        "id": booking.id, "status": booking.status, "eventId": event.id,
        "event": {"id": event.id, "name": event.name, "startsAt": iso_utc(event.starts_at),
                  "endsAt": iso_utc(event.ends_at)},
        "upcoming": event.ends_at >= utcnow(),
        "ticketCount": booking.ticket_count, "amount": booking.amount, "refundedAmount": booking.refunded_amount,
        "currency": booking.currency, "createdAt": iso_utc(booking.created_at),
    }


def participants(org, event_id: str, *, page: int, limit: int) -> Page:
    """Distinct holders (by email) of the event's live tickets, 002's participant shape, by email."""
    get_scoped(Event, org, event_id, "event")
    confirmed = fn.SUM(Case(None, [(Ticket.status.in_(("valid", "checked_in")), 1)], 0))
    query = (scoped(Ticket, org, fn.MIN(Ticket.id).alias("id"), Ticket.holder_email.alias("email"),
                    fn.MAX(Ticket.holder_name).alias("name"), fn.MAX(Ticket.customer).alias("customer_id"),
                    fn.MIN(Ticket.created_at).alias("created"), confirmed.alias("confirmed"))
             .where((Ticket.event == event_id) & Ticket.status.in_(LIVE))
             .group_by(Ticket.holder_email))
    result = paginate_offset(query, PARTICIPANT_KEYS, page, limit, fetch=lambda q: list(q.dicts()))
    phones = _phones(org, [r["customer_id"] for r in result.rows if r["customer_id"]])
    result.rows = [_participant_view(r, phones) for r in result.rows]
    return result


def _phones(org, customer_ids: list[str]) -> dict[str, str | None]:
    if not customer_ids:
        return {}
    rows = scoped(Customer, org, Customer.id, Customer.phone).where(Customer.id.in_(customer_ids))
    return {c.id: c.phone for c in rows}


def _participant_view(row: dict, phones: dict) -> dict:
    first, _, last = (row["name"] or "").strip().partition(" ")
    created = row["created"]
    return {
        "id": row["id"], "first_name": first, "last_name": last, "email": row["email"],
        "phone": phones.get(row["customer_id"]), "address": None, "confirmed": bool(row["confirmed"]),
        "created": iso_utc(created) if not isinstance(created, str) else created,
    }

