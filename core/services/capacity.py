"""All seat arithmetic: reserve, confirm, release and return seats on ticket types and events.

Every change is one conditional UPDATE whose row count says whether it won (no read-then-write), taken in
a fixed order (ticket types by id, then the event). Callers run these inside `write_transaction()`;
a raised SoldOut rolls the whole transaction back, so partial holds never survive.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from core.db import is_sqlite
from core.errors import Conflict
from core.models import Event, TicketType
from core.services.statements import CompiledQuery, Slot, compile_query, raw_slot


@dataclass(frozen=True)
class SeatRequest:
    """`seats` seats of one ticket type."""

    ticket_type_id: str
    seats: int


class SoldOut(Conflict):
    """409 `sold_out`: not enough seats left; says which ticket type and how many remain."""

    type = "sold_out"


def _merge(requests: Iterable[SeatRequest]) -> list[SeatRequest]:
    totals: dict[str, int] = {}
    for request in requests:
        if request.seats > 0:
            totals[request.ticket_type_id] = totals.get(request.ticket_type_id, 0) + request.seats
    return [SeatRequest(tt_id, seats) for tt_id, seats in sorted(totals.items())]


def _fits(model, seats: int):
    return model.capacity.is_null() | (model.sold + model.held + seats <= model.capacity)


def _room(row: TicketType | Event) -> int | None:
    """Seats a ticket type or event row has left (None = unlimited; negative when over-held)."""
    return None if row.capacity is None else row.capacity - row.sold - row.held


def available_seats(ticket_type: TicketType, event: Event | None = None) -> int | None:
    """Seats still on sale for a ticket type (None = unlimited), bounded by its event's capacity too."""
    left = _room(ticket_type)
    event = event if event is not None else ticket_type.event
    if event is not None and event.capacity is not None:
        event_left = _room(event)
        left = event_left if left is None else min(left, event_left)
    return None if left is None else max(left, 0)


def _has_room(row: TicketType | Event | None, seats: int) -> bool:
    if row is None:
        return False
    room = _room(row)
    return room is None or room >= seats


def seats_free(org_id: str, requests: Iterable[SeatRequest], event_id: str) -> bool:
    """True if these seats fit right now on their ticket types and their event.

    A plain read, to choose a path (e.g. re-reserving an expired booking); only the conditional UPDATEs of
    `hold_seats` / `sell_seats` actually claim seats.
    """
    merged = _merge(requests)
    columns = (TicketType.id, TicketType.capacity, TicketType.sold, TicketType.held)
    ids = [request.ticket_type_id for request in merged]
    types = {tt.id: tt for tt in TicketType.select(*columns)
             .where((TicketType.org == org_id) & TicketType.id.in_(ids))} if ids else {}
    event = (Event.select(Event.capacity, Event.sold, Event.held)
             .where((Event.org == org_id) & (Event.id == event_id)).first())
    return (all(_has_room(types.get(request.ticket_type_id), request.seats) for request in merged)
            and _has_room(event, sum(request.seats for request in merged)))


def _sold_out(org_id: str, ticket_type_id: str, event_id: str, wanted: int, by_event: bool) -> SoldOut:
    ticket_type = TicketType.get_or_none((TicketType.org == org_id) & (TicketType.id == ticket_type_id))
    event = Event.get_or_none((Event.org == org_id) & (Event.id == event_id))
    remaining = available_seats(ticket_type, event) if ticket_type else 0
    name = ticket_type.name if ticket_type else ticket_type_id
    where = "the event is at capacity" if by_event else f"{name!r} is sold out"
    return SoldOut(f"Only {remaining} seat(s) left for {name!r} ({where}); you asked for {wanted}.",
                   ticketTypeId=ticket_type_id, ticketTypeName=name, remaining=remaining, requested=wanted)


@functools.lru_cache(maxsize=16)
def _claim_sql(model, column: str, sqlite: bool) -> CompiledQuery:
    """`column += seats` on one row, only if the seats still fit (compiled once per table and column)."""
    target, seats = getattr(model, column), raw_slot("seats")
    row = (model.id == Slot("id")) & (model.org == Slot("org"))
    return compile_query(model.update({target: target + seats}).where(row & _fits(model, seats)))


def _claimed(model, column: str, org_id: str, row_id: str, seats: int) -> bool:
    return _claim_sql(model, column, is_sqlite()).run(id=row_id, org=org_id, seats=seats) == 1


def _claim(org_id: str, requests: list[SeatRequest], event_id: str, column: str) -> None:
    total = 0
    for request in requests:
        if not _claimed(TicketType, column, org_id, request.ticket_type_id, request.seats):
            raise _sold_out(org_id, request.ticket_type_id, event_id, request.seats, by_event=False)
        total += request.seats
    if total and not _claimed(Event, column, org_id, event_id, total):
        raise _sold_out(org_id, requests[0].ticket_type_id, event_id, total, by_event=True)


def hold_seats(org_id: str, requests: Iterable[SeatRequest], event_id: str) -> None:
    """Hold seats for a pending booking; raises SoldOut (rolling back the caller's transaction) if any won't fit."""
    _claim(org_id, _merge(requests), event_id, "held")


def sell_seats(org_id: str, requests: Iterable[SeatRequest], event_id: str) -> None:
    """Take seats straight to sold (comps, free registration, pre-generated batches); SoldOut if they won't fit."""
    _claim(org_id, _merge(requests), event_id, "sold")


@functools.lru_cache(maxsize=16)
def _shift_sql(model, held: int, sold: int, sqlite: bool) -> CompiledQuery:
    """`held -= seats * held`, `sold += seats * sold` on one row, guarded so no counter goes below zero
    (compiled once per table and direction)."""
    seats = raw_slot("seats")
    changes, condition = {}, (model.id == Slot("id")) & (model.org == Slot("org"))
    if held:
        changes[model.held] = model.held - seats
        condition &= model.held >= seats
    if sold:
        changes[model.sold] = model.sold + seats if sold > 0 else model.sold - seats
    if sold < 0:
        condition &= model.sold >= seats
    return compile_query(model.update(changes).where(condition))


def _shift(org_id: str, requests: list[SeatRequest], event_id: str, *, held: int, sold: int) -> None:
    """Move counters by -seats*held / +seats*sold, guarded so no counter goes below zero."""
    total = 0
    for request in requests:
        _shift_sql(TicketType, held, sold, is_sqlite()).run(id=request.ticket_type_id, org=org_id,
                                                             seats=request.seats)
        total += request.seats
    if total:
        _shift_sql(Event, held, sold, is_sqlite()).run(id=event_id, org=org_id, seats=total)


def confirm_held_seats(org_id: str, requests: Iterable[SeatRequest], event_id: str) -> None:
    """A pending booking was paid: its held seats become sold."""
    _shift(org_id, _merge(requests), event_id, held=1, sold=1)


def release_held_seats(org_id: str, requests: Iterable[SeatRequest], event_id: str) -> None:
    """A pending booking expired or was cancelled: its held seats go back on sale."""
    _shift(org_id, _merge(requests), event_id, held=1, sold=0)


def release_sold_seats(org_id: str, requests: Iterable[SeatRequest], event_id: str) -> None:
    """Tickets were cancelled or refunded: their sold seats go back on sale."""
    _shift(org_id, _merge(requests), event_id, held=0, sold=-1)
