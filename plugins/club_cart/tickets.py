"""004's tickets for club members and officers: the shape a club app reads, and who may see or change one.

Reads through the core's ticket queries and changes tickets only through the core's services (check-in and its
undo, transfer to a member); a member sees their own tickets, an officer the club's, anyone else gets 404.
"""

from __future__ import annotations

from core.auth import is_officer
from core.errors import ApiError
from core.identity import Identity
from core.models import Event, Org, Ticket
from core.money import to_major
from core.roles import CUSTOMER
from core.services import checkin, ticket_queries, transfers
from core.tenancy import scoped
from plugins.club_cart.cart import showing_view


def _parents(org: Org, tickets: list[Ticket]) -> dict[str, Event]:
    """The parent events of the tickets' showings (sessions and generated dates), in one query."""
    ids = list({t.event.parent_event_id for t in tickets if t.event.parent_event_id})
    return {e.id: e for e in scoped(Event, org).where(Event.id.in_(ids))} if ids else {}


def ticket_view(ticket: Ticket, parents: dict[str, Event]) -> dict:
    """A ticket as 004 shows it: `id`, `showing`, `event`, `type`, `owner` (the holder's full name),
    `attended`, `price` (a decimal string in the event's currency) and `currency`."""
    showing, ticket_type = ticket.event, ticket.ticket_type
    event = parents.get(showing.parent_event_id) or showing
    return {"id": ticket.id, "showing": showing_view(showing), "event": {"id": event.id, "name": event.name},
            "type": ticket_type.name, "owner": ticket.holder_name, "attended": ticket.scan_count > 0,
            "price": str(to_major(ticket.price_paid, ticket_type.currency)), "currency": ticket_type.currency}


def my_tickets(org: Org, customer_id: str) -> list[dict]:
    """The member's live tickets, soonest showing first."""
    tickets = ticket_queries.my_tickets(org, customer_id)
    parents = _parents(org, tickets)
    return [ticket_view(ticket, parents) for ticket in tickets]


def shown(org: Org, ticket: Ticket) -> dict:
    """One ticket (loaded with its type and event) as 004 shows it."""
    return ticket_view(ticket, _parents(org, [ticket]))


def owned(org: Org, customer_id: str, ticket_id: str) -> Ticket:
    """One of the member's tickets with its type and showing; anyone else's is 404 `ticket_not_found`."""
    return ticket_queries.owned_ticket(org, ticket_id, customer_id)


def visible(org: Org, identity: Identity, ticket_id: str) -> Ticket:
    """A ticket the caller may see: any of the club's for an officer (or staff: every staff role the route
    admits), else only the member's own (404 `ticket_not_found` for anyone else's)."""
    if is_officer(identity) or identity.role != CUSTOMER:
        return ticket_queries.staff_ticket(org, ticket_id)
    return owned(org, identity.sub, ticket_id)


def set_attendance(org: Org, identity: Identity, ticket_id: str, attended: bool) -> dict:
    """An officer marks a ticket attended (a check-in through the core's door rules: 409 `ticket_revoked`...)
    or not (the core's undo of a mistaken check-in, logged in the scan log with who did it). Setting what the
    ticket already shows changes nothing. Returns the ticket as it now is."""
    ticket = ticket_queries.staff_ticket(org, ticket_id)
    if (ticket.scan_count > 0) == attended:
        return shown(org, ticket)
    try:
        if attended:
            checkin.check_in_ticket(org, ticket_id, event_id=None, scan_point=None,
                                    staff=identity.email or identity.sub)
        else:
            checkin.undo_check_in(org, identity, ticket_id, "004: attendance set to false")
    except ApiError as error:
        if error.type not in ("already_checked_in", "not_checked_in"):   # another officer was quicker
            raise
    return shown(org, ticket_queries.staff_ticket(org, ticket_id))


def transfer(org: Org, identity: Identity, ticket_id: str, username: str) -> dict:
    """The member's ticket moves at once to the club member `username` (the core's transfer to an account: a
    new ticket and QR for them, the old QR void, both told); 404 `ticket_not_found` / `customer_not_found`,
    409 `not_transferable`, 422 `transfer_to_self`."""
    transfers.transfer_to_customer(org, identity, ticket_id, username)
    return {"detail": f"The ticket now belongs to {username}."}
