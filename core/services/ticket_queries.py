"""Read-only ticket queries: staff lists of an event's tickets and an attendee's, a customer's tickets and bookings.

Every query is tenant-scoped; nothing here writes. Ownership of a ticket is `Ticket.customer` only (emails
are not verified at registration, so a matching email never grants access).
"""

from __future__ import annotations

from peewee import JOIN, fn

from core.errors import NotFound
from core.models import Attendee, Booking, Event, Ticket, TicketConfiguration, TicketType, utcnow
from core.pagination import Page, SortKey, paginate_cursor, paginate_offset
from core.services import attendees
from core.services.pickups import attach_ticket_pickups
from core.tenancy import along, get_scoped, scoped
from core.timefmt import iso_utc

LIVE = ("valid", "checked_in", "pending_activation")
ATTENDING = ("valid", "checked_in")   # an event's attendee list (`core.services.event_reports`)
TICKET_KEYS = (SortKey("created", Ticket.created_at, "datetime", attr="created_at"), SortKey("id", Ticket.id))


def _with_type(org, *also):
    """The tenant's tickets joined with their type and its ticket configuration if any (the ticket shows its
    display name), and with the `also` models selected (their joins are the caller's)."""
    return (scoped(Ticket, org, Ticket, TicketType, TicketConfiguration, *also)
            .join(TicketType, on=along(Ticket.ticket_type))
            .join(TicketConfiguration, JOIN.LEFT_OUTER, on=along(TicketType.configuration)))


def event_tickets(org, event_id: str, *, status: str | None = None, ticket_type_id: str | None = None,
                  search: str | None = None, size: int = 50, cursor: str | None = None,
                  page: int | None = None, statuses: tuple[str, ...] | None = None) -> Page:
    """A page of an event's tickets (oldest first), filtered by status (or any of `statuses`), ticket type, and
    `search`: a substring of the holder's e-mail or name, or the start of the ticket's id."""
    get_scoped(Event, org, event_id, "event")
    query = _with_type(org).where(Ticket.event == event_id)
    if status:
        query = query.where(Ticket.status == status)
    if statuses:
        query = query.where(Ticket.status.in_(statuses))
    if ticket_type_id:
        query = query.where(Ticket.ticket_type == ticket_type_id)
    if search:
        needle = search.lower()
        query = query.where(fn.LOWER(Ticket.holder_email).contains(needle)
                            | fn.LOWER(Ticket.holder_name).contains(needle) | Ticket.id.startswith(needle))
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
        ticket = (_with_type(org, Event).switch(Ticket).join(Event, on=along(Ticket.event))
                  .where((Ticket.id == ticket_id) & (Ticket.customer == customer_id)).first())
    if ticket is None:
        raise NotFound(f"No ticket with id {ticket_id!r} in your account.", type="ticket_not_found")
    return ticket


def my_tickets(org, customer_id: str, *, include_void: bool = False) -> list[Ticket]:
    """Every ticket the customer owns across events, soonest event first."""
    query = (_with_type(org, Event).switch(Ticket).join(Event, on=along(Ticket.event))
             .where(Ticket.customer == customer_id))
    if not include_void:
        query = query.where(Ticket.status.in_(LIVE))
    return attach_ticket_pickups(org, list(query.order_by(Event.starts_at, Ticket.created_at, Ticket.id)))


def my_bookings(org, customer_id: str) -> list[dict]:
    """The customer's bookings with event name/start and live ticket count: upcoming first, then past."""
    live_count = (Ticket.select(fn.COUNT(Ticket.id))
                  .where(along(Ticket.booking, Booking) & Ticket.status.in_(LIVE)))
    rows = list(scoped(Booking, org, Booking, Event, live_count.alias("ticket_count"))
                .join(Event, on=along(Booking.event))
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


def attendee_tickets(org, attendee_id: str) -> tuple[Attendee, list[Ticket]]:
    """One attendee of the tenant with every ticket it holds or held, oldest first; 404 `attendee_not_found`."""
    found = attendees.attendee(org, attendee_id)
    tickets = _with_type(org).where(Ticket.attendee == found.id).order_by(Ticket.created_at, Ticket.id)
    return found, attach_ticket_pickups(org, list(tickets))
