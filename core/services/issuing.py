"""Ticket issuing: turns booking lines (or a staff batch) into Ticket rows, one per seat or one per group.

Creates rows only; seat counters are moved by the caller through `core.services.capacity`, in the same
transaction. QR payloads are derived later from (ticket id, event, secret_version), so nothing secret is stored;
a ticket whose configuration enforces a barcode pool takes a pool code here instead (`barcode_pools.take`).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.api_schema import INT32
from core.errors import Unprocessable
from core.models import Attendee, Booking, Customer, Ticket, TicketType, new_id, utcnow
from core.services import barcode_pools
from core.services.attendees import Contact, resolve_attendee_ids
from core.services.pickups import issue_pickups
from core.services.statements import insert_rows


@dataclass
class Holder:
    """Who a ticket is for."""

    email: str = ""
    name: str = ""
    customer: Customer | None = None
    attendee: Attendee | None = None
    """The attendee already chosen for the tickets this holder gets (a partner's participant); None: found or
    made from `email` and `name` (`core.services.attendees`)."""


def ticket_count(ticket_type: TicketType, units: int) -> tuple[int, int]:
    """(number of tickets, seats per ticket) for `units` purchase units of a ticket type."""
    seats = seats_for(ticket_type, units)
    if ticket_type.grouped:
        return 1, seats
    return seats, 1


def tickets_for_units(ticket_type: TicketType, units: int) -> int:
    """How many tickets `units` purchase units issue (what `issue_tickets` makes: one when grouped)."""
    return ticket_count(ticket_type, units)[0]


def seats_for(ticket_type: TicketType, units: int) -> int:
    """Seats taken by `units` purchase units (a 'table of 10' unit takes 10 seats); 422 `too_many_seats` past
    what a seat count holds."""
    return require_seat_count(units * max(ticket_type.quantity, 1))


def require_seat_count(seats: int) -> int:
    """`seats` when a seat counter (32-bit) can hold it, else 422 `too_many_seats` (nothing is written yet)."""
    if seats > INT32[1]:
        raise Unprocessable(f"At most {INT32[1]} seats can be taken at a time; take fewer.", type="too_many_seats")
    return seats


def _holder_of(holder: Holder, holders: list | None, index: int) -> tuple[str, str]:
    """(e-mail, name) of ticket `index`: its own holder's where sent (`{name, email}`), else `holder`'s."""
    own = (holders[index] if holders and index < len(holders) else None) or {}
    return own.get("email") or holder.email, own.get("name") or holder.name


def attendee_ids(org, lines: list[tuple[Holder, list | None, int]]) -> list[list[str]]:
    """The attendee id of each ticket about to be issued, per line `(holder, holders, ticket count)` (ticket i
    is `_holder_of(holder, holders, i)`'s), all resolved together (`attendees.resolve_attendee_ids`: one
    INSERT ... ON CONFLICT statement), so a booking costs that once, whatever its lines. A ticket of the line's
    holder goes to `holder.attendee` when set (confirmed now if it was not: it holds a ticket); the holder's
    customer gives its phone."""
    people = [[_holder_of(holder, holders, i) for i in range(count)] for holder, holders, count in lines]
    contacts = [Contact.named(email, name, holder.customer.phone if holder.customer and email == holder.email
                              else None)
                for (holder, _, _), line in zip(lines, people, strict=True)
                for email, name in line if not (holder.attendee and (email, name) == (holder.email, holder.name))]
    found = iter(resolve_attendee_ids(org, contacts))
    chosen = {holder.attendee.id for holder, _, count in lines if holder.attendee is not None and count}
    if chosen:
        org_id = org if isinstance(org, str) else org.id
        Attendee.update(confirmed_at=utcnow()).where((Attendee.org == org_id) & Attendee.id.in_(sorted(chosen))
                                                     & Attendee.confirmed_at.is_null()).execute()
    return [[holder.attendee.id if holder.attendee and (email, name) == (holder.email, holder.name)
             else next(found) for email, name in line]
            for (holder, _, _), line in zip(lines, people, strict=True)]


def issue_tickets(org, ticket_type: TicketType, units: int, *, holder: Holder, booking: Booking | None = None,
                  unit_price: int = 0, status: str = "valid", source: str = "online", note: str = "",
                  holders: list | None = None, attendees: list[str] | None = None) -> list[Ticket]:
    """Create the tickets for `units` units of `ticket_type` (bulk insert), each with the pickups its type gives
    (`core.services.pickups.issue_pickups`); returns them in order. `holders` names each ticket's own holder
    (`{name, email}` or None, in order); a ticket without one is `holder`'s. Each ticket gets its holder's
    attendee (`attendees`: their ids in order, as `attendee_ids` gives them for a whole booking; else resolved
    here), except an unactivated pre-generated one (`pending_activation`), which is nobody's until activated.
    Each takes a code of its configuration's barcode pool when that is enforced (the booking's reservation
    first; 409 `barcode_pool_exhausted` when too few are left)."""
    count, seats_each = ticket_count(ticket_type, units)
    if attendees is None and status != "pending_activation":
        attendees = attendee_ids(org, [(holder, holders, count)])[0]
    codes = barcode_pools.take(org, ticket_type, count, booking.id if booking else None)
    per_ticket_price = (unit_price * units) // count if count else 0
    now = utcnow()
    org_id = org if isinstance(org, str) else org.id
    rows = [
        {
            "id": new_id(), "org": org_id, "event": ticket_type.event_id, "ticket_type": ticket_type.id,
            "booking": booking.id if booking else None,
            "customer": holder.customer.id if holder.customer else None,
            "holder_email": email, "holder_name": name, "status": status, "source": source,
            "seats": seats_each, "price_paid": per_ticket_price, "note": note,
            "created_at": now, "updated_at": now, "data": codes.ticket_data(i) if codes else {},
            "secret_version": 1, "scan_count": 0, "attendee": attendees[i] if attendees else None,
        }
        for i, (email, name) in enumerate(_holder_of(holder, holders, index) for index in range(count))
    ]
    insert_rows(Ticket, rows)
    if codes:
        codes.bind([row["id"] for row in rows])
    # The rows are exactly what was written: build the instances from them instead of reading them back.
    related = {"ticket_type": ticket_type, "booking": booking, "customer": holder.customer}
    tickets = [Ticket(__no_default__=True, **{**row, **{k: v for k, v in related.items() if v is not None}})
               for row in rows]
    issue_pickups(org_id, ticket_type, tickets)
    return tickets
