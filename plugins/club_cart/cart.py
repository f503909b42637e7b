"""A club member's cart (004): lines of showings' ticket types, what went stale since they were added, and the
changes a member makes to it.

Holds no seats and prices nothing: what a line may contain is checked by the core's purchase rules
(`core.services.booking.resolve_items`), what is left on sale by `core.services.capacity`. Every query is
scoped to the tenant and the member; a stale line leaves the cart by a conditional UPDATE, so it is reported
once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.db import write_transaction
from core.errors import NotFound, Unprocessable
from core.models import Booking, BookingLine, Event, Org, TicketType, new_id, utcnow
from core.money import to_major
from core.services import capacity, holds
from core.services.booking import Buyer, PurchaseRequest, resolve_items
from core.tenancy import along, scoped
from core.timefmt import iso_utc
from plugins.club_cart.models import Cart, CartLine, CheckoutGroup

MAX_LINE_COUNT = 1000
"""The most tickets one cart line may hold (a purchase item's own limit)."""


@dataclass
class LoadedLine:
    """A cart line with its ticket type, its showing and the event the showing belongs to (None: gone)."""

    line: CartLine
    ticket_type: TicketType | None
    showing: Event | None
    event: Event | None


@dataclass
class StaleItem:
    """Tickets of one line that can no longer be bought: `count` of them, and why (`sold_out`, `sale_ended`,
    `event_cancelled`)."""

    loaded: LoadedLine
    count: int
    reason: str


def cart_of(org: Org, customer_id: str) -> Cart | None:
    """The member's cart row, or None before their first add."""
    return scoped(Cart, org).where(Cart.customer_id == customer_id).first()


def cart_lines(org: Org, customer_id: str) -> list[LoadedLine]:
    """The member's cart lines, oldest first, each with its ticket type, showing and event (two queries)."""
    lines = list(scoped(CartLine, org).where(CartLine.customer_id == customer_id)
                 .order_by(CartLine.created_at, CartLine.id))
    if not lines:
        return []
    type_ids = list({line.ticket_type_id for line in lines})
    types = {tt.id: tt for tt in scoped(TicketType, org, TicketType, Event).join(Event, on=along(TicketType.event))
             .where(TicketType.id.in_(type_ids))}
    parent_ids = list({tt.event.parent_event_id for tt in types.values() if tt.event.parent_event_id})
    parents = {e.id: e for e in scoped(Event, org).where(Event.id.in_(parent_ids))} if parent_ids else {}
    loaded = []
    for line in lines:
        ticket_type = types.get(line.ticket_type_id)
        showing = ticket_type.event if ticket_type is not None and ticket_type.event_id == line.showing_id else None
        event = None if showing is None else parents.get(showing.parent_event_id) or showing
        loaded.append(LoadedLine(line, ticket_type, showing, event))
    return loaded


def checkout_group(org: Org, group_id: str | None) -> CheckoutGroup | None:
    """The tenant's checkout group with this id (the bookings of one several-showing checkout), or None."""
    if not group_id or len(group_id) > 64:
        return None
    return scoped(CheckoutGroup, org).where(CheckoutGroup.id == group_id).first()


def checkout_bookings(org: Org, cart: Cart) -> list[str]:
    """The ids of the bookings the cart's last checkout left to pay: its booking, or its group's paid ones."""
    if cart.checkout_booking_id:
        return [cart.checkout_booking_id]
    group = checkout_group(org, cart.checkout_group_id)
    return list(group.paid_booking_ids) if group is not None else []


def _held_by_checkout(org: Org, cart: Cart | None) -> dict[str, int]:
    """Seats per ticket type that the cart's own pending checkout holds: still the member's, so not stale."""
    booking_ids = checkout_bookings(org, cart) if cart is not None else []
    if not booking_ids:
        return {}
    pending = [row.id for row in scoped(Booking, org, Booking.id).where(
        Booking.id.in_(booking_ids) & (Booking.status == "pending") & (Booking.expires_at > utcnow()))]
    if not pending:
        return {}
    lines = scoped(BookingLine, org, BookingLine.ticket_type, BookingLine.seats).where(
        BookingLine.booking.in_(pending) & (BookingLine.kind == "ticket"))
    held: dict[str, int] = {}
    for line in lines:
        held[line.ticket_type_id] = held.get(line.ticket_type_id, 0) + line.seats
    return held


def _unavailable_reason(loaded: LoadedLine, now: dt.datetime) -> str | None:
    """Why none of a line's tickets can be bought any more, or None while they are on sale."""
    ticket_type, showing, event = loaded.ticket_type, loaded.showing, loaded.event
    if ticket_type is None or showing is None or event is None:
        return "event_cancelled"
    for row in (showing, event):
        if row.archived_at is not None or row.published_at is None or row.published_at > now:
            return "event_cancelled"
    if ticket_type.archived_at is not None or ticket_type.visibility == "private":
        return "event_cancelled"
    if showing.ends_at is not None and showing.ends_at <= now:
        return "sale_ended"
    if ticket_type.sale_end is not None and ticket_type.sale_end <= now:
        return "sale_ended"
    return None


def stale_items(org: Org, cart: Cart | None, loaded: list[LoadedLine]) -> list[StaleItem]:
    """What of the cart can no longer be bought: whole lines whose showing was cancelled or whose sale ended,
    and the part of a line beyond the seats left (seats the cart's own pending checkout holds count as left).
    A line that looks short first has its showing's overdue holds expired (their seats come back)."""
    found = _stale(org, cart, loaded)
    short = {item.loaded.showing.id for item in found if item.reason == "sold_out"}
    expired = sum(holds.expire_overdue(org.id, showing_id) for showing_id in short)
    return _stale(org, cart, cart_lines(org, loaded[0].line.customer_id)) if expired else found


def _stale(org: Org, cart: Cart | None, loaded: list[LoadedLine]) -> list[StaleItem]:
    now = utcnow()
    mine = _held_by_checkout(org, cart)
    found = []
    for item in loaded:
        reason = _unavailable_reason(item, now)
        if reason is not None:
            found.append(StaleItem(item, item.line.count, reason))
            continue
        left = capacity.available_seats(item.ticket_type, item.showing)
        if left is None:
            continue
        per_ticket = max(item.ticket_type.quantity, 1)
        fitting = (left + mine.get(item.ticket_type.id, 0)) // per_ticket
        if fitting < item.line.count:
            found.append(StaleItem(item, item.line.count - fitting, "sold_out"))
    return found


def drop_stale(org: Org, customer_id: str, stale: list[StaleItem]) -> list[StaleItem]:
    """Take the stale tickets out of their lines (a line left empty goes), each by a conditional UPDATE on the
    count this request read, so a concurrent request that already did it is not reported twice; returns what
    this call removed. Bumps the cart's version when anything changed."""
    if not stale:
        return []
    removed = []
    with write_transaction():
        for item in stale:
            line = item.loaded.line
            left = line.count - item.count
            same = line.row_condition() & (CartLine.count == line.count)
            done = (CartLine.delete().where(same) if left <= 0
                    else CartLine.update(count=left, updated_at=utcnow()).where(same)).execute()
            if done:
                removed.append(item)
        if removed:
            _bump(org, customer_id)
    return removed


def _bump(org: Org, customer_id: str) -> None:
    """The cart's content changed: a new version (a new checkout key)."""
    Cart.update(version=Cart.version + 1, updated_at=utcnow()).where(
        (Cart.org == org.id) & (Cart.customer_id == customer_id)).execute()


def _ticket_type_in_showing(org: Org, showing_id: str, type_ref: str) -> TicketType:
    """The showing's ticket type named by id, or by its name when no id matches (404 `ticket_type_not_found`;
    422 `ambiguous_type` when several of the showing's types carry that name)."""
    showing_types = scoped(TicketType, org).where((TicketType.event == showing_id) & TicketType.archived_at.is_null())
    by_id = showing_types.where(TicketType.id == type_ref).first()
    if by_id is not None:
        return by_id
    named = list(showing_types.where(TicketType.name == type_ref).limit(2))
    if len(named) > 1:
        raise Unprocessable(f"Showing {showing_id!r} has several ticket types named {type_ref!r}; send its id.",
                            type="ambiguous_type")
    if not named:
        raise NotFound(f"Showing {showing_id!r} has no ticket type {type_ref!r}.", type="ticket_type_not_found")
    return named[0]


def _showing(org: Org, showing_id: str) -> Event:
    """One of the tenant's events that tickets are sold for (a date event, a session, a generated date, or a
    parent for its passes), or 404 `showing_not_found`."""
    showing = scoped(Event, org).where(Event.id == showing_id).first() if len(showing_id) <= 64 else None
    if showing is None:
        raise NotFound(f"No showing with id {showing_id!r}.", type="showing_not_found")
    return showing


def _check_line(org: Org, showing: Event, ticket_type: TicketType, count: int) -> None:
    """The purchase rules for `count` tickets of the type (the core's: published, on sale, visibility, order
    limits), and enough seats left (409 `sold_out`)."""
    request = PurchaseRequest(event_id=showing.id, items=[(ticket_type.id, count)], buyer=Buyer())
    [(checked, units)] = resolve_items(org, request, utcnow())[1]
    left = capacity.available_seats(checked, checked.event)
    if left is not None and left < units * max(checked.quantity, 1):
        raise capacity.SoldOut(f"Only {left // max(checked.quantity, 1)} ticket(s) of {checked.name!r} are left; "
                               f"the cart would hold {units}.", remaining=left, requested=units,
                               ticketTypeId=checked.id, ticketTypeName=checked.name)


def add(org: Org, customer_id: str, showing_id: str, type_ref: str, count: int) -> list[LoadedLine]:
    """Put `count` more tickets of a showing's type in the member's cart, checked by the purchase rules for the
    line's new total; returns the cart's lines."""
    showing = _showing(org, showing_id)
    ticket_type = _ticket_type_in_showing(org, showing.id, type_ref)
    line = scoped(CartLine, org).where((CartLine.customer_id == customer_id)
                                       & (CartLine.ticket_type_id == ticket_type.id)).first()
    total = (line.count if line is not None else 0) + count
    if total > MAX_LINE_COUNT:
        raise Unprocessable(f"A cart holds at most {MAX_LINE_COUNT} tickets of one type.", type="cart_line_too_large")
    _check_line(org, showing, ticket_type, total)
    now = utcnow()
    with write_transaction():
        Cart.insert(id=new_id(), org=org.id, customer_id=customer_id, created_at=now, updated_at=now) \
            .on_conflict_ignore().execute()
        mine = (CartLine.org == org.id) & (CartLine.customer_id == customer_id) \
            & (CartLine.ticket_type_id == ticket_type.id)
        if not CartLine.update(count=CartLine.count + count, updated_at=now).where(mine).execute():
            CartLine.insert(id=new_id(), org=org.id, customer_id=customer_id, showing_id=showing.id,
                            ticket_type_id=ticket_type.id, count=count, created_at=now, updated_at=now).execute()
        _bump(org, customer_id)
    return cart_lines(org, customer_id)


def take_out(org: Org, customer_id: str, ticket_type_id: str, units: int) -> int:
    """Take up to `units` tickets of a type out of the member's cart line (as many or more empties it), inside
    the caller's write transaction; how many rows changed."""
    mine = (CartLine.org == org.id) & (CartLine.customer_id == customer_id) \
        & (CartLine.ticket_type_id == ticket_type_id)
    changed = CartLine.delete().where(mine & (CartLine.count <= units)).execute()
    return changed + CartLine.update(count=CartLine.count - units, updated_at=utcnow()).where(
        mine & (CartLine.count > units)).execute()


def remove(org: Org, customer_id: str, showing_id: str, type_ref: str, count: int) -> list[LoadedLine]:
    """Take up to `count` tickets of a showing's type out of the member's cart (more than it holds empties the
    line); returns the cart's lines."""
    ticket_type = _ticket_type_in_showing(org, _showing(org, showing_id).id, type_ref)
    with write_transaction():
        if take_out(org, customer_id, ticket_type.id, count):
            _bump(org, customer_id)
    return cart_lines(org, customer_id)


def showing_view(showing: Event) -> dict:
    """A showing as 004's answers show it: its id, start and end."""
    return {"id": showing.id, "start_time": iso_utc(showing.starts_at), "end_time": iso_utc(showing.ends_at)}


def stale_view(item: StaleItem) -> dict:
    """A stale entry as 004 shows it: `{type, showing, event: {id, name}, count}`, plus the machine `reason`."""
    loaded = item.loaded
    event = loaded.event or loaded.showing
    return {"type": loaded.ticket_type.name if loaded.ticket_type is not None else loaded.line.ticket_type_id,
            "showing": loaded.line.showing_id,
            "event": {"id": event.id if event is not None else loaded.line.showing_id,
                      "name": event.name if event is not None else ""},
            "count": item.count, "reason": item.reason}


def line_view(item: LoadedLine) -> dict:
    """A cart line as the cart shows it: showing, event, type, how many, and the type's unit price."""
    ticket_type, event = item.ticket_type, item.event or item.showing
    return {"id": item.line.id, "showing": showing_view(item.showing),
            "event": {"id": event.id, "name": event.name}, "type": ticket_type.name, "type_id": ticket_type.id,
            "count": item.line.count, "price": str(to_major(ticket_type.price, ticket_type.currency)),
            "currency": ticket_type.currency}


def view(org: Org, customer_id: str) -> dict:
    """The member's cart (004's `{tickets, stale}`): what became unavailable since it was added is reported
    once, here, and leaves the cart."""
    loaded = cart_lines(org, customer_id)
    removed = drop_stale(org, customer_id, stale_items(org, cart_of(org, customer_id), loaded))
    if removed:
        loaded = cart_lines(org, customer_id)
    return {"tickets": [line_view(item) for item in loaded if item.ticket_type is not None and item.showing],
            "stale": [stale_view(item) for item in removed]}
