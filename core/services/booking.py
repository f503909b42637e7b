"""Bookings: purchase (hold seats, price, start a payment), confirm once paid, free registration, mark-paid.

Never trusts a client amount, never issues tickets twice: every state change is a conditional UPDATE on the
booking's current status, and gateway calls happen outside the database transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import json
import logging
import time
from dataclasses import dataclass, field

from peewee import JOIN

from core import metrics
from core.db import after_commit, is_sqlite, write_transaction
from core.errors import ApiError, Conflict, GatewayUnavailable, NotFound, Unprocessable
from core.models import (
    Attendee,
    Booking,
    BookingLine,
    Customer,
    Event,
    Org,
    Payment,
    Refund,
    Ticket,
    TicketType,
    new_id,
    utcnow,
)
from core.payments import ManualPayment, PaymentCheck, RefundResult, Step, ZeroTotal
from core.plugins import hooks_for
from core.sealed import seal, unseal
from core.services import (
    audit,
    barcode_pools,
    capacity,
    email_verification,
    event_settings,
    gateways,
    holds,
    idempotency,
    pickups,
    queue_passes,
    store_credit,
    ticket_configurations,
)
from core.services.gateways import void_payment, void_payment_later
from core.services.issuing import Holder, attendee_ids, issue_tickets, tickets_for_units
from core.services.pricing import Quote, quote_booking
from core.services.statements import (
    CompiledQuery,
    Slot,
    compile_query,
    insert_rows,
    instance,
    row_builder,
    update_row,
)
from core.tenancy import along, get_scoped, scoped

log = logging.getLogger(__name__)

CONFIRMABLE = ("pending", "expired")
BOOKING_CREATED = "booking_created"
"""The idempotency recovery point of a purchase whose booking (held seats) committed before its payment."""
STALE_REFUND_CLAIMED = "stale_refund_claimed"
"""The idempotency recovery point of a confirm-order that claimed a stale cart's refund (booking `refunded`)
before asking the gateway to pay it back."""


class PaymentNotCompleted(ApiError):
    """402 `payment_not_completed`: the gateway has not seen the booking's amount paid; retry later."""

    status, type = 402, "payment_not_completed"


@dataclass
class Buyer:
    """Who is buying: a guest's email and name, or a logged-in customer."""

    email: str = ""
    name: str = ""
    customer: Customer | None = None


@dataclass
class PurchaseRequest:
    """A purchase or registration as the HTTP layer parsed it (ids, units, codes; no amounts)."""

    event_id: str
    items: list[tuple[str, int]]
    buyer: Buyer
    gateway: str | None = None
    promo_code: str | None = None
    invite_code: str | None = None
    staff: bool = False
    source: str = "online"
    hold_minutes: int = 10
    require_free: bool = False
    paid_outside: bool = False  # the seller took the money outside Boxoffice (a partner): the box-office method
    attendee_id: str | None = None  # the attendee the tickets go to, chosen up front (a partner's participant)
    extras: dict = field(default_factory=dict)  # plugin-specific parts, passed to `price_booking` as `extras`
    holders: list[tuple[str, list[dict] | None]] = field(default_factory=list)
    """Per item of `items`: the body path its holders came under and the holders (`{name, email}` each, one
    per ticket in order), or None when none were sent."""
    use_store_credit: bool = False
    """The buyer's unexpired store credit pays what it can before any gateway (`core.services.store_credit`)."""
    queue_pass: str | None = None
    """The `Queue-Pass` the buyer sent: wanted by a customer purchase of an event whose waiting room is on
    (`core.services.queue_passes`); staff and partner sales pass without one."""


@dataclass
class BookingResult:
    """A booking with its lines and tickets, plus the gateway's answer when a payment was started."""

    booking: Booking
    lines: list[BookingLine]
    tickets: list[Ticket] = field(default_factory=list)
    payment: dict = field(default_factory=dict)
    reminder: str | None = None
    """For the buyer's account, when it has something to do (verify its e-mail); a purchase sets it."""


# --- checks -------------------------------------------------------------------------------------

def _check_event(event: Event, staff: bool, now: dt.datetime) -> Event:
    event_id = event.id
    hidden = event.archived_at is not None or event.published_at is None or event.published_at > now
    if hidden and not staff:
        raise NotFound(f"No event with id {event_id!r}.", type="event_not_found")
    if event.archived_at is not None:
        raise Unprocessable("This event is archived; nothing can be sold for it.", type="event_archived")
    if event.ends_at is not None and event.ends_at <= now:
        raise Unprocessable("This event is over; tickets are no longer sold.", type="event_ended")
    return event


def invite_opens(ticket_type: TicketType, invite_code: str | None) -> bool:
    """True when `invite_code` is the invite-only type's code (compared in constant time); the one check a
    purchase and a checkout page showing invite-only types both use."""
    expected = ticket_type.invite_code or ""
    return bool(invite_code and expected) and hmac.compare_digest(invite_code.encode(), expected.encode())


def _check_visibility(ticket_type: TicketType, invite_code: str | None, staff: bool) -> None:
    if staff or ticket_type.visibility == "public":
        return
    if ticket_type.visibility == "private":
        raise NotFound(f"No ticket type with id {ticket_type.id!r}.", type="ticket_type_not_found")
    if not invite_code:
        raise ApiError(f"{ticket_type.name!r} is invite-only; send its `inviteCode`.", status=403,
                       type="invite_code_required", ticketTypeId=ticket_type.id)
    if not invite_opens(ticket_type, invite_code):
        raise ApiError("The invite code is not valid for this ticket type.", status=403,
                       type="invalid_invite_code", ticketTypeId=ticket_type.id)


def _check_ticket_type(ticket_type: TicketType | None, event: Event, tt_id: str, units: int,
                       req: PurchaseRequest, now: dt.datetime) -> TicketType:
    if ticket_type is None:
        raise NotFound(f"No ticket type with id {tt_id!r}.", type="ticket_type_not_found")
    if ticket_type.event_id != event.id:
        raise Unprocessable(f"Ticket type {ticket_type.name!r} does not belong to event {event.id!r}.",
                            type="ticket_type_not_in_event", ticketTypeId=ticket_type.id)
    _check_visibility(ticket_type, req.invite_code, req.staff)
    if ticket_type.archived_at is not None:
        raise Unprocessable(f"{ticket_type.name!r} is no longer sold.", type="ticket_type_archived",
                            ticketTypeId=ticket_type.id)
    if not req.staff and ticket_type.sale_start is not None and ticket_type.sale_start > now:
        raise Unprocessable(f"Sales for {ticket_type.name!r} have not started yet.", type="sale_not_started",
                            ticketTypeId=ticket_type.id)
    if not req.staff and ticket_type.sale_end is not None and ticket_type.sale_end <= now:
        raise Unprocessable(f"Sales for {ticket_type.name!r} have ended.", type="sale_ended",
                            ticketTypeId=ticket_type.id)
    if ticket_type.order_min is not None and units < ticket_type.order_min:
        raise Unprocessable(f"Buy at least {ticket_type.order_min} of {ticket_type.name!r}.",
                            type="below_order_min", ticketTypeId=ticket_type.id, orderMin=ticket_type.order_min)
    if ticket_type.order_max is not None and units > ticket_type.order_max:
        raise Unprocessable(f"Buy at most {ticket_type.order_max} of {ticket_type.name!r}.",
                            type="above_order_max", ticketTypeId=ticket_type.id, orderMax=ticket_type.order_max)
    if req.require_free and (ticket_type.price > 0 or ticket_type.service_fee_amount > 0
                             or ticket_type.service_fee_percentage > 0):
        raise Unprocessable(f"{ticket_type.name!r} costs money; buy it through /client/events/tickets/purchase.",
                            type="payment_required", ticketTypeId=ticket_type.id)
    return ticket_type


def sellable_now(event: Event, ticket_type: TicketType, now: dt.datetime) -> bool:
    """True when a customer's purchase of the type's smallest order would pass every check but the seats: the
    event published, not over, not archived; the type public, not archived, inside its sale window. The same
    checks `resolve_items` makes, so a listing says what a purchase would accept."""
    request = PurchaseRequest(event_id=event.id, items=[], buyer=Buyer())
    try:
        _check_event(event, False, now)
        _check_ticket_type(ticket_type, event, ticket_type.id, ticket_type.order_min or 1, request, now)
    except ApiError:
        return False
    return True


def _merge_items(items: list[tuple[str, int]]) -> list[tuple[str, int]]:
    merged: dict[str, int] = {}
    for tt_id, units in items:
        merged[tt_id] = merged.get(tt_id, 0) + units
    return list(merged.items())


# the event columns the purchase checks and seat arithmetic read (a narrower join compiles and loads faster)
_EVENT_COLUMNS = (Event.id, Event.org, Event.published_at, Event.archived_at, Event.ends_at, Event.capacity,
                  Event.sold, Event.held, Event.settings, Event.waiting_room_id)


@functools.lru_cache(maxsize=64)
def _ticket_types_sql(count: int, sqlite: bool) -> CompiledQuery:
    ids = [Slot(f"id{i}") for i in range(count)]
    return compile_query(scoped(TicketType, Slot("org"), TicketType, *_EVENT_COLUMNS)
                         .join(Event, on=along(TicketType.event))
                         .where(TicketType.id.in_(ids)))


def _load_ticket_types(org: Org, ids: list[str]) -> list[TicketType]:
    """The tenant's ticket types with these ids, each with its event's purchase columns (SQL compiled per count;
    a purchase names at most 50)."""
    compiled = _ticket_types_sql(len(ids), is_sqlite())
    type_fields, split = TicketType._meta.sorted_fields, len(TicketType._meta.sorted_fields)
    event_row = row_builder(Event, _EVENT_COLUMNS)
    loaded = []
    for row in compiled.tuples(org=org.id, **{f"id{i}": value for i, value in enumerate(ids)}):
        ticket_type = instance(TicketType, type_fields, row[:split])
        ticket_type.event = event_row(row[split:])
        loaded.append(ticket_type)
    return loaded


def resolve_items(org: Org, req: PurchaseRequest, now: dt.datetime) -> tuple[Event, list[tuple[TicketType, int]]]:
    """Check the event and every item (ownership, visibility, sale window, order limits); 4xx on the first problem.

    One query in the usual case: the tenant's requested ticket types joined with their events.
    """
    merged = _merge_items(req.items)
    ids = [str(tt_id)[:64] for tt_id, _ in merged]
    found = {tt.id: tt for tt in _load_ticket_types(org, ids)}
    event = next((tt.event for tt in found.values() if tt.event_id == req.event_id), None)
    event = _check_event(event or get_scoped(Event, org, req.event_id, "event"), req.staff, now)
    items = [(_check_ticket_type(found.get(str(tt_id)[:64]), event, tt_id, units, req, now), units)
             for tt_id, units in merged]
    return event, items


# --- gateways -----------------------------------------------------------------------------------

def choose_gateway(org: Org, requested: str | None, *, staff: bool = False) -> str:
    """The provider for a booking that costs money: the one requested, else (staff) the box office, else the
    tenant's default (422 `payment_required` / `gateway_not_enabled` / `payment_gateway_required`)."""
    offered = gateways.offered(org, staff=staff)
    if requested:
        if requested == ZeroTotal.identifier:
            raise Unprocessable("This booking costs money; the `free` gateway only confirms free bookings.",
                                type="payment_required")
        if requested not in offered:
            raise Unprocessable(f"The payment gateway {requested!r} is not enabled for this organisation.",
                                type="gateway_not_enabled", gateways=sorted(offered))
        return requested
    chosen = ManualPayment.identifier if staff else gateways.default_gateway(org)
    if chosen:
        return chosen
    if not offered:
        raise Unprocessable("This organisation has no paying gateway enabled.", type="gateway_not_enabled",
                            gateways=[])
    raise Unprocessable("Choose a `paymentGateway` (this organisation has no default gateway).",
                        type="payment_gateway_required", gateways=sorted(offered))


# --- reading ------------------------------------------------------------------------------------

def booking_lines(org_id: str, booking_id: str) -> list[BookingLine]:
    """A booking's lines, ticket lines first, in the order they were written."""
    query = BookingLine.select().where((BookingLine.org == org_id) & (BookingLine.booking == booking_id))
    return sorted(query, key=lambda line: (line.kind != "ticket", line.data.get("position", 0)))


def _ticket_order(ticket: Ticket) -> tuple:
    return ticket.ticket_type_id, ticket.created_at, ticket.id


def booking_tickets(org_id: str, booking_id: str) -> list[Ticket]:
    """The tickets issued for a booking, in a stable order (the same on every read), with their pickups."""
    tickets = Ticket.select().where((Ticket.org == org_id) & (Ticket.booking == booking_id))
    tickets = sorted(tickets, key=_ticket_order)
    return pickups.attach_ticket_pickups(tickets[0].org_id, tickets) if tickets else tickets


def load_result(booking: Booking) -> BookingResult:
    """A booking with its lines and tickets as stored now."""
    return BookingResult(booking, booking_lines(booking.org_id, booking.id),
                         booking_tickets(booking.org_id, booking.id), payment_answer(booking))


def get_booking(org: Org, booking_id: str) -> Booking:
    """A tenant's booking by id (404 otherwise), expired on the spot if its hold ran out."""
    return holds.expire_if_overdue(get_scoped(Booking, org, booking_id, "booking"))


# --- purchase -----------------------------------------------------------------------------------

def _line_rows(org: Org, booking_id: str, quote: Quote, holders: dict[str, list]) -> list[dict]:
    """The booking's lines; a ticket line keeps its tickets' holders (`data.holders`) until they are issued."""
    now = utcnow()
    rows = [{"id": new_id(), "org": org.id, "booking": booking_id, "kind": "ticket", "ticket_type": line.ticket_type.id,
             "description": line.ticket_type.name, "quantity": line.quantity, "seats": line.seats,
             "unit_price": line.unit_price, "unit_fee": line.unit_fee, "total": line.total,
             "data": {"position": i, **({"holders": holders[line.ticket_type.id]}
                                        if line.ticket_type.id in holders else {})},
             "created_at": now, "updated_at": now}
            for i, line in enumerate(quote.lines)]
    rows += [{"id": new_id(), "org": org.id, "booking": booking_id, "kind": adj.kind, "ticket_type": None,
              "description": adj.description, "quantity": 1, "seats": 0, "unit_price": adj.amount, "unit_fee": 0,
              "total": adj.amount, "data": {"position": i}, "created_at": now, "updated_at": now}
             for i, adj in enumerate(quote.adjustments)]
    return rows


def issue_units(org: Org | str, ticket_type: TicketType, units: int, *, holders: list | None = None,
                attendees: list[str] | None = None, **options) -> list[Ticket]:
    """Issue `units` purchase units; a grouped type gets one ticket per unit (a table of 10: one ticket, 10 seats).
    `holders` names each ticket's own holder in order, `attendees` their attendee ids (see `issue_tickets`)."""
    tickets: list[Ticket] = []
    for batch in [1] * units if ticket_type.grouped else [units]:
        tickets += issue_tickets(org, ticket_type, batch, holders=(holders or [])[len(tickets):] or None,
                                 attendees=None if attendees is None else attendees[len(tickets):], **options)
    return tickets


def ticket_holders(req: PurchaseRequest, items: list[tuple[TicketType, int]]) -> dict[str, list]:
    """The holders sent per ticket, by ticket type (`{name, email}` or None per ticket, in order), after checking
    them against each type's ticket configuration: 422 `holder_details_required` naming every field a required
    holder name or e-mail is missing from, or an item with more holders than tickets. {} when none were sent."""
    types = {tt.id: tt for tt, _ in items}
    configurations = ticket_configurations.configurations_by_id(
        next((tt.org_id for tt in types.values()), ""), (tt.ticket_configuration_id for tt in types.values()))
    errors: dict = {}
    by_type: dict[str, list] = {}
    for index, (tt_id, units) in enumerate(req.items):
        path, sent = req.holders[index] if index < len(req.holders) else (f"items[{index}].holders", None)
        ticket_type = types[str(tt_id)[:64]]
        count = tickets_for_units(ticket_type, units)
        given = [Holder(email=h.get("email") or "", name=h.get("name") or "") for h in sent or ()]
        errors.update(ticket_configurations.holder_errors(
            configurations.get(ticket_type.ticket_configuration_id), given, count, path))
        padded = list(sent or ()) + [None] * (count - len(sent or ()))
        by_type.setdefault(ticket_type.id, []).extend(padded)
    if errors:
        ticket_configurations.raise_holder_errors(errors)
    return {tt_id: holders for tt_id, holders in by_type.items() if any(holders)}


def _issue_for_booking(org: Org, booking: Booking, lines: list[BookingLine],
                       types: dict[str, TicketType] | None = None) -> list[Ticket]:
    holder = Holder(email=booking.email, name=booking.name, customer=booking.customer,
                    attendee=Attendee(id=booking.attendee_id) if booking.attendee_id else None)
    tickets: list[Ticket] = []
    issued = [(line, (types or {}).get(line.ticket_type_id) or get_scoped(TicketType, line.org_id, line.ticket_type_id))
              for line in lines if line.kind == "ticket"]
    attendees = attendee_ids(org, [(holder, (line.data or {}).get("holders"),
                                    tickets_for_units(ticket_type, line.quantity)) for line, ticket_type in issued])
    for (line, ticket_type), line_attendees in zip(issued, attendees, strict=True):
        tickets += issue_units(org, ticket_type, line.quantity, holder=holder, booking=booking,
                               unit_price=line.unit_price, source=booking.source,
                               holders=(line.data or {}).get("holders"), attendees=line_attendees)
        for ticket in tickets:
            if ticket.ticket_type_id == ticket_type.id:
                ticket.ticket_type = ticket_type
    return sorted(tickets, key=_ticket_order)


def _record_payment(org: Org, booking: Booking, reference: str | None, data: dict | None = None) -> None:
    insert_rows(Payment, [{"id": new_id(), "org": org.id, "booking": booking.id, "gateway": booking.gateway,
                           "reference": reference, "amount": booking.amount, "currency": booking.currency,
                           "status": "succeeded", "data": data or {}}])


def _create_booking(org: Org, event: Event, quote: Quote, req: PurchaseRequest, gateway: str,
                    holders: dict[str, list]) -> BookingResult:
    """One write transaction: booking + lines (+ tickets when free), seat counters last (locks held briefly)."""
    now = utcnow()
    free = quote.is_free
    expires_at = None if free else holds.hold_deadline(req.hold_minutes, now)
    booking_row = {"id": new_id(), "org": org.id, "event": event.id, "customer": req.buyer.customer,
                   "email": req.buyer.email, "name": req.buyer.name, "attendee_id": req.attendee_id,
                   "status": "confirmed" if free else "pending",
                   "source": req.source, "gateway": gateway, "currency": quote.currency, "subtotal": quote.subtotal,
                   "fees": quote.fees, "adjustments": quote.adjustments_total, "amount": quote.total,
                   "seats": quote.seats, "promo_code": quote.recorded_code, "expires_at": expires_at,
                   "confirmed_at": now if free else None, "created_at": now, "updated_at": now, "payment_data": {}}
    booking = Booking(**booking_row)
    rows = _line_rows(org, booking.id, quote, holders)
    lines = [BookingLine(**row) for row in rows]
    seats = [capacity.SeatRequest(line.ticket_type.id, line.seats) for line in quote.lines]
    types = {line.ticket_type.id: line.ticket_type for line in quote.lines}
    tickets: list[Ticket] = []
    with write_transaction():
        insert_rows(Booking, [booking_row])
        insert_rows(BookingLine, rows)
        quote.run_booked(booking)  # plugins claim their own resources here (see Quote.when_booked)
        if free:   # nothing to pay: no Payment row, tickets at once
            tickets = _issue_for_booking(org, booking, lines, types)
            capacity.sell_seats(event.org_id, seats, event.id)
            result = BookingResult(booking, lines, tickets)
            _announce_confirmed(org, result)
            return result
        capacity.hold_seats(event.org_id, seats, event.id)
        barcode_pools.reserve(org, booking, [(line.ticket_type, tickets_for_units(line.ticket_type, line.quantity))
                                             for line in quote.lines])
    return BookingResult(booking, lines, tickets)


def payment_answer(booking: Booking) -> dict:
    """The gateway's client data kept on the booking (`client_secret`, `approval_url`, `data`), opened: it is
    kept sealed under the deployment key since it may carry a live secret; {} if none was kept (or it does not
    open). A booking left pending across the upgrade that began sealing it still has it in the clear; that
    is read as it is, so its buyer can still pay."""
    kept = (booking.payment_data or {}).get("payment") or {}
    if "sealed" not in kept:
        return dict(kept)
    opened = unseal(kept["sealed"])
    return json.loads(opened) if opened else {}


def _store_payment_answer(booking: Booking, answer: dict) -> dict:
    """Keep the gateway's reference and client data on the booking, the data sealed (`payment_answer` opens it),
    conditional on the booking still being pending."""
    payment = {key: answer.get(key) for key in ("client_secret", "approval_url") if answer.get(key)}
    payment["data"] = answer.get("data") or {}
    if not (answer.get("reference") or len(payment) > 1):
        return payment   # nothing provider-side to remember (offline): save a write transaction
    data = dict(booking.payment_data or {}, payment={"sealed": seal(json.dumps(payment))})
    with write_transaction():
        Booking.update(payment_ref=answer.get("reference") or booking.payment_ref, payment_data=data,
                       updated_at=utcnow()).where(booking.row_condition() & (Booking.status == "pending")).execute()
    booking.payment_ref, booking.payment_data = answer.get("reference") or booking.payment_ref, data
    return payment


def cancel_pending(booking: Booking) -> bool:
    """Give a pending booking's seats back at once (payment could not start); True if this call did it."""
    with write_transaction():
        won = (Booking.update(status="cancelled", seats_released=True, updated_at=utcnow())
               .where(booking.row_condition() & (Booking.status == "pending")).execute())
        if won == 1:
            capacity.release_held_seats(booking.org_id, holds.seat_requests(booking), booking.event_id)
            store_credit.release_draws(booking)
            void_payment_later(booking)
    return won == 1


def _start_payment(org: Org, result: BookingResult) -> None:
    booking = result.booking
    try:
        gateway = gateways.gateway_for(org, booking.gateway)
        gateway.provider.require(Step.CREATE)
        gateways.before_calling(gateway, BOOKING_CREATED, booking=booking.id)
        answer = gateway.provider.create_payment(org, booking, gateway.settings)
    except GatewayUnavailable as exc:
        raise GatewayUnavailable(f"{exc.message} Your seats stay held until the hold expires; retry the "
                                 "purchase or confirm-order later.", type=exc.type, bookingId=booking.id,
                                 expiresAt=booking.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")) from exc
    except ApiError:
        cancel_pending(booking)
        raise
    result.payment = _store_payment_answer(booking, answer)


def _announce_confirmed(org: Org, result: BookingResult) -> None:
    """Record `booking_confirmed` and `tickets_issued` in the confirming write transaction, and count the sale
    once it commits (`core.metrics`)."""
    relay = hooks_for(org)
    relay.notify("booking_confirmed", org=org, booking=result.booking)
    relay.notify("tickets_issued", org=org, booking=result.booking, tickets=result.tickets)
    after_commit(lambda: metrics.count_sale(org.id, len(result.tickets)))


def _fail_fast_if_sold_out(org: Org, event: Event, quote: Quote) -> None:
    """Refuse without a write transaction when the counters just read already show too few seats.

    Only an optimisation for flash sales: the conditional UPDATEs in `capacity` stay the real guard. Overdue
    holds are expired first, so a full-looking event with stale holds still sells.
    """
    for line in quote.lines:
        left = capacity.available_seats(line.ticket_type, event)
        if left is None or left >= line.seats:
            continue
        if (event.held or line.ticket_type.held) and holds.expire_overdue(org.id, event.id):
            return   # overdue holds gave seats back: let the conditional UPDATEs decide
        type_left = capacity.available_seats(line.ticket_type, Event(capacity=None))
        where = "the event is at capacity" if type_left is None or type_left >= line.seats \
            else f"{line.ticket_type.name!r} is sold out"
        raise capacity.SoldOut(
            f"Only {left} seat(s) left for {line.ticket_type.name!r} ({where}); you asked for {line.seats}.",
            ticketTypeId=line.ticket_type.id, ticketTypeName=line.ticket_type.name, remaining=left,
            requested=line.seats)


def _resumed_purchase(org: Org) -> BookingResult | None:
    """A retry of a purchase whose booking was committed before its payment started (the run crashed or the
    provider failed): that booking, its payment started now if it is still pending; None for a fresh run."""
    point, data = idempotency.recovery_point()
    if point != BOOKING_CREATED:
        return None
    result = load_result(get_scoped(Booking, org, data["booking"], "booking"))
    if result.booking.status == "pending":
        _start_payment(org, result)
    return result


def purchase(org: Org, req: PurchaseRequest) -> BookingResult:
    """Check, price and hold seats for a new booking, then start its payment (free totals confirm at once).
    A logged-in buyer whose e-mail is not verified gets 403 `email_unverified` when the tenant requires
    verification (`email_verification.check_buyer`, the one place this is checked), else a reminder.

    With an idempotency key, a paid booking is committed as a phase before a plugin's provider is called;
    a retry of that key resumes with the same booking (`_resumed_purchase`)."""
    resumed = _resumed_purchase(org)
    if resumed is not None:
        resumed.reminder = email_verification.reminder(req.buyer.customer)
        return resumed
    email_verification.check_buyer(org, req.buyer.customer)
    event, items = resolve_items(org, req, utcnow())
    if req.source == "box_office":
        event_settings.check_box_office_sale(org, event)
    # the waiting room's gate: every customer purchase passes here (staff box office and partner sales do not)
    admitted = None if req.staff or req.paid_outside else queue_passes.admission(org, event, req.queue_pass,
                                                                                 time.time())
    holders = ticket_holders(req, items)
    quote = quote_booking(org, [(tt, units) for tt, units in items], promo_code=req.promo_code,
                          customer=req.buyer.customer, extras=req.extras)
    if admitted is not None:   # the pass buys once: spent in the booking's own transaction
        quote.when_booked(functools.partial(queue_passes.spend, org, admitted))
    if req.require_free and not quote.is_free:
        raise Unprocessable("This registration costs money; use the purchase endpoint.", type="payment_required")
    if req.use_store_credit:
        store_credit.apply_to_quote(org, quote, req.buyer.customer)
    gateway = (ZeroTotal.identifier if quote.is_free else ManualPayment.identifier if req.paid_outside
               else choose_gateway(org, req.gateway, staff=req.staff))
    _fail_fast_if_sold_out(org, event, quote)
    try:
        result = _create_booking(org, event, quote, req, gateway, holders)
    except capacity.SoldOut:
        if not holds.expire_overdue(org.id, event.id):
            raise
        result = _create_booking(org, event, quote, req, gateway, holders)
    if not quote.is_free:
        _start_payment(org, result)
    result.reminder = email_verification.reminder(req.buyer.customer)
    return result


# --- confirm ------------------------------------------------------------------------------------

def _paid_check(org: Org, booking: Booking, payment_ref: str | None) -> PaymentCheck:
    """The provider's verdict on the booking's payment (422 if it is not enabled or cannot verify)."""
    gateway = gateways.gateway_for(org, booking.gateway)
    gateway.provider.require(Step.VERIFY)
    gateways.before_calling(gateway)
    return gateway.provider.verify_payment(org, booking, payment_ref or booking.payment_ref, gateway.settings)


def _require_paid(booking: Booking, check: PaymentCheck) -> PaymentCheck:
    """402 unless `check` says exactly the booking's amount and currency were paid."""
    if not check.paid:
        raise PaymentNotCompleted(check.reason or "The payment has not completed yet; try again once it has.",
                                  bookingId=booking.id)
    if (check.amount is not None and check.amount != booking.amount) or \
            (check.currency is not None and check.currency.upper() != booking.currency):
        raise PaymentNotCompleted("The gateway reports a different amount or currency than the booking's; "
                                  "nothing was issued.", type="payment_mismatch", bookingId=booking.id)
    return check


@functools.lru_cache(maxsize=2)
def _lines_with_types_sql(sqlite: bool) -> CompiledQuery:
    return compile_query(scoped(BookingLine, Slot("org"), BookingLine, TicketType)
                         .join(TicketType, JOIN.LEFT_OUTER, on=along(BookingLine.ticket_type))
                         .where(BookingLine.booking == Slot("booking")))


def _lines_with_types(org_id: str, booking_id: str) -> list[BookingLine]:
    """A booking's lines (in `booking_lines` order), each ticket line with its ticket type: one compiled query."""
    line_fields, type_fields = BookingLine._meta.sorted_fields, TicketType._meta.sorted_fields
    split, lines = len(line_fields), []
    for row in _lines_with_types_sql(is_sqlite()).tuples(org=org_id, booking=booking_id):
        line = instance(BookingLine, line_fields, row[:split])
        if line.ticket_type_id is not None:
            line.ticket_type = instance(TicketType, type_fields, row[split:])
        lines.append(line)
    return sorted(lines, key=lambda line: (line.kind != "ticket", line.data.get("position", 0)))


def _finalise(org: Org, booking: Booking, check: PaymentCheck, payment_ref: str | None,
              payment_data: dict | None = None) -> BookingResult | None:
    """pending|expired -> confirmed exactly once, in one write transaction (storing `payment_data` too when
    given); None when another request won.

    The lines (with their ticket types) are read once, before the transaction: they never change after the
    purchase wrote them. The winning conditional UPDATE says what the row now holds, so it is not read back.
    """
    now = utcnow()
    reference = check.reference or payment_ref or booking.payment_ref
    values = {"status": "confirmed", "confirmed_at": now, "payment_ref": reference, "updated_at": now}
    if payment_data is not None:
        values["payment_data"] = payment_data
    lines = _lines_with_types(booking.org_id, booking.id)
    seats = [capacity.SeatRequest(line.ticket_type_id, line.seats) for line in lines
             if line.kind == "ticket" and line.ticket_type_id]
    with write_transaction():
        won = update_row(Booking, booking.id, values, status="pending", org=booking.org_id)
        from_expired = won != 1
        if from_expired:
            values["seats_released"] = False
            won = update_row(Booking, booking.id, values, status="expired", org=booking.org_id)
            if won != 1:
                return None
        if store_credit.uses_credit(lines):
            store_credit.confirm_draws(booking, from_expired)
        for name, value in values.items():
            setattr(booking, name, value)
        tickets = _issue_for_booking(org, booking, lines, {line.ticket_type_id: line.ticket_type for line in lines
                                                          if line.kind == "ticket" and line.ticket_type_id})
        # The seat counters move last, as a free purchase does: their row locks (which every order of the
        # ticket type queues on) are held for the rest of the transaction only, not while tickets are written.
        if from_expired:
            capacity.sell_seats(booking.org_id, seats, booking.event_id)   # sold out: the whole confirmation rolls back
        else:
            capacity.confirm_held_seats(booking.org_id, seats, booking.event_id)
        _record_payment(org, booking, reference, check.data)
        if payment_data is not None and "marked_paid" in payment_data:  # staff recorded the payment
            marked = payment_data["marked_paid"]
            audit.record(org, "booking.marked_paid", "booking", booking.id,
                         before={"status": "expired" if from_expired else "pending"},
                         after={"status": "confirmed", "amount": booking.amount, "currency": booking.currency,
                                "reference": marked.get("reference"), "note": marked.get("note"),
                                "ticket_ids": [t.id for t in tickets]})
        result = BookingResult(booking, lines, tickets, payment_answer(booking))
        _announce_confirmed(org, result)
    return result


def _hold_expired(booking: Booking, refunded: bool, reason: str = "") -> Conflict:
    message = "The hold on these seats expired and they have been sold to someone else"
    message += "; your payment was refunded." if refunded else "; nothing was issued."
    return Conflict(message + (f" ({reason})" if reason else ""), type="hold_expired", refunded=refunded,
                    bookingId=booking.id)


def _refund_stale(org: Org, booking: Booking, check: PaymentCheck, payment_ref: str | None) -> BookingResult:
    """Paid after the seats were gone: claim the booking (expired -> refunded) once, refund it through the gateway
    and raise 409 `hold_expired`; a request that loses the claim answers what the winner settled."""
    if booking.amount == 0:
        raise _hold_expired(booking, refunded=False) from None
    reference = check.reference or payment_ref or booking.payment_ref
    now = utcnow()
    data = dict(booking.payment_data or {}, auto_refund={"reason": "hold_expired", "at": now.isoformat() + "Z"})
    with write_transaction():
        won = (Booking.update(status="refunded", refunded_amount=booking.amount, payment_ref=reference,
                              payment_data=data, updated_at=now)
               .where(booking.row_condition() & (Booking.status == "expired")).execute())
        if won == 1:
            _record_payment(org, booking, reference, check.data)
    if won != 1:
        return _stale_answer(org, booking)
    return _pay_back_stale(org, booking, reference)


def _pay_back_stale(org: Org, booking: Booking, reference: str | None) -> BookingResult:
    """The refund of a stale cart claimed by `_refund_stale` (committed first, as the idempotency recovery point
    `STALE_REFUND_CLAIMED`): through the gateway, recorded, then 409 `hold_expired`."""
    claim = {"booking": booking.id, "reference": reference, "refundedBefore": booking.refunded_amount}
    try:
        result = refund_through_gateway(org, booking, reference, booking.amount, point=STALE_REFUND_CLAIMED,
                                        point_data=claim)
    except ApiError as exc:
        result = RefundResult(succeeded=False, reason=exc.message)
    with write_transaction():
        Refund.create(org=org.id, booking=booking.id, gateway=booking.gateway, reference=result.reference,
                      amount=booking.amount, currency=booking.currency,
                      status=result.status, reason="hold_expired: " + result.reason)
    if not result.succeeded:
        log.error("automatic refund of booking %s failed: %s", booking.id, result.reason)
    raise _hold_expired(booking, refunded=result.succeeded,
                        reason="" if result.succeeded else "the refund failed and staff were alerted") from None


def refund_through_gateway(org: Org, booking: Booking, payment_ref: str | None, amount: int, *,
                           point: str | None = None, point_data: dict | None = None) -> RefundResult:
    """Ask the booking's provider to pay `amount` back: 422 `gateway_not_enabled`, or `payment_step_unsupported`
    when it cannot refund (or cannot refund part of a booking); its own refusal or outage propagates. What the
    request wrote so far commits first, with idempotency recovery point `point` (`gateways.before_calling`)."""
    gateway = gateways.gateway_for(org, booking.gateway)
    gateway.provider.require(Step.REFUND)
    if amount < booking.amount:
        gateway.provider.require(Step.PARTIAL_REFUND)
    gateways.before_calling(gateway, point, **(point_data or {}))
    return gateway.provider.refund(org, booking, payment_ref, amount, gateway.settings)


def _settled(org: Org, booking: Booking) -> BookingResult:
    """The answer for a booking that is no longer confirmable: the same tickets, or the same error."""
    if booking.status == "confirmed":
        return load_result(booking)
    if booking.status == "refunded" and (booking.payment_data or {}).get("auto_refund"):
        raise _hold_expired(booking, refunded=True)
    raise Conflict(f"This booking is {booking.status}; it cannot be confirmed.", type=f"booking_{booking.status}",
                   bookingId=booking.id)


def _stale_answer(org: Org, booking: Booking) -> BookingResult:
    """A stale cart this request did not change: 409 `hold_expired` while it stays expired, else what a
    concurrent confirm-order or webhook settled it to (the same tickets, or the same 409)."""
    current = booking.reread()
    if current.status == "expired":
        raise _hold_expired(current, refunded=False) from None
    return _settled(org, current)


def _seats_gone(booking: Booking) -> bool:
    """True for an expired booking whose seats no longer fit (a read that only picks the path: the UPDATE in
    `_finalise` still decides). Seats taken by a concurrent confirm of this very booking look gone too: the
    stale path then loses its claim and answers with that confirm's tickets."""
    return booking.status == "expired" and not capacity.seats_free(booking.org_id, holds.seat_requests(booking),
                                                                   booking.event_id)


def _stale_cart(org: Org, booking: Booking, payment_ref: str | None) -> BookingResult:
    """Expired with the seats gone: void the payment first (nothing more can be charged, nothing is captured),
    refund it once if the buyer had already paid, else 409 `hold_expired` with nothing changed."""
    check = void_payment(org, booking, payment_ref) or _paid_check(org, booking, payment_ref)
    if check.paid:
        return _refund_stale(org, booking, _require_paid(booking, check), payment_ref)
    return _stale_answer(org, booking)


def confirm(org: Org, booking_id: str, *, payment_ref: str | None = None, gateway: str | None = None) -> BookingResult:
    """Confirm a paid booking: verify with the gateway, flip it once, issue tickets; repeats get the same tickets.

    A stale cart (hold expired, seats gone) answers 409 `hold_expired` before the gateway is asked to verify
    (which may capture), paid or not; a paid one is refunded once.
    """
    booking = get_booking(org, booking_id)
    if gateway and gateway != booking.gateway:
        raise Unprocessable(f"This booking is paid through {booking.gateway!r}, not {gateway!r}.",
                            type="gateway_mismatch")
    return _confirm_loaded(org, booking, payment_ref)


def _confirm_loaded(org: Org, booking: Booking, payment_ref: str | None,
                    payment_data: dict | None = None) -> BookingResult:
    """`confirm` for a booking row already read (and expired if overdue) by the caller; `payment_data`, when
    given, is what the caller changed in memory and is stored with the confirmation. A retry of a stale
    cart's refund that crashed after its claim resumes it (`_pay_back_stale`)."""
    point, claim = idempotency.recovery_point()
    if point == STALE_REFUND_CLAIMED and claim["booking"] == booking.id:
        booking.refunded_amount = claim["refundedBefore"]
        return _pay_back_stale(org, booking, claim["reference"])
    if booking.status not in CONFIRMABLE:
        return _settled(org, booking)
    if _seats_gone(booking):
        return _stale_cart(org, booking, payment_ref)
    check = _require_paid(booking, _paid_check(org, booking, payment_ref))
    try:
        result = _finalise(org, booking, check, payment_ref, payment_data)
    except (capacity.SoldOut, barcode_pools.BarcodePoolExhausted, store_credit.StoreCreditGone):
        # the seats (or an expired hold's codes or store credit) went
        return _refund_stale(org, booking, check, payment_ref)
    if result is None:
        return _settled(org, booking.reread())
    return result


def mark_paid(org: Org, booking_id: str, *, reference: str, note: str = "", by: str = "") -> BookingResult:
    """Staff record a payment taken outside Boxoffice (first record wins), then the booking is confirmed as usual.

    Only for bookings whose provider is settled by staff (the core's box office, or a plugin's bank transfer).
    The record is stored by the write that confirms the booking (or refunds a stale cart), so a paid box-office
    order is one write transaction; a request that loses the confirmation answers what the winner settled.
    """
    booking = get_booking(org, booking_id)
    provider = gateways.gateways(org).get(booking.gateway)
    if provider is None or not provider.provider.settled_by_staff:
        raise Unprocessable(f"Only bookings paid outside Boxoffice are marked paid by staff; this one uses "
                            f"{booking.gateway!r}.", type="not_offline_booking")
    if booking.status not in CONFIRMABLE or (booking.payment_data or {}).get("marked_paid"):
        return _confirm_loaded(org, booking, reference)
    marked = {"reference": reference, "note": note, "by": by, "at": utcnow().isoformat() + "Z"}
    booking.payment_data = dict(booking.payment_data or {}, marked_paid=marked)
    return _confirm_loaded(org, booking, reference, booking.payment_data)
