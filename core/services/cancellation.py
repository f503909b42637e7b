"""Cancel (void without money) and refund (money back through the original gateway) tickets and bookings.

Every state change is a conditional UPDATE on the current state; a refund first claims its tickets
(`refunding`) and the money (`refunded_amount`), then calls the provider outside any transaction, then
settles or restores. Seats go back on sale exactly once. Knows nothing of HTTP.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from core.db import write_transaction
from core.errors import ApiError, Conflict, GatewayUnavailable, Unprocessable
from core.models import Booking, Refund, Ticket, utcnow
from core.money import to_minor
from core.payments import RefundResult
from core.plugins import hooks_for
from core.services import audit, capacity, idempotency, participation, store_credit
from core.services import booking as bookings
from core.tenancy import get_scoped

LIVE = ("valid", "checked_in", "pending_activation")
REFUNDABLE = ("valid", "checked_in")
PAID_BOOKING = ("confirmed", "partially_refunded")
STORE_CREDIT = "store_credit"
"""The refund method (and the Refund's `gateway`) of a refund paid as the buyer's store credit."""
REFUND_CLAIMED = "refund_claimed"
"""The idempotency recovery point of a refund whose claim (tickets `refunding`, money reserved) committed
before its gateway was called."""


@dataclass
class RefundOutcome:
    """The settled refund: its row, the tickets it voided and the booking after it."""

    refund: Refund
    tickets: list[Ticket]
    booking: Booking
    extra: dict = field(default_factory=dict)


def _seats(tickets: list[Ticket]) -> list[capacity.SeatRequest]:
    return [capacity.SeatRequest(t.ticket_type_id, t.seats) for t in tickets]


def _state_conflict(ticket: Ticket, action: str) -> Conflict:
    if ticket.status == "cancelled":
        return Conflict("This ticket is already cancelled.", type="already_cancelled", ticketStatus="cancelled")
    if ticket.status in ("refunded", "refunding"):
        return Conflict("This ticket is already refunded.", type="already_refunded", ticketStatus=ticket.status)
    return Conflict(f"A {ticket.status.replace('_', ' ')} ticket cannot be {action}.", type=f"not_{action}",
                    ticketStatus=ticket.status)


def _void(tickets: list[Ticket], to_status: str, from_states: tuple[str, ...]) -> list[Ticket]:
    """Flip each ticket to `to_status` (bumping its secret) if still in `from_states`; returns the winners.

    The session participations only those tickets covered are released with them (same transaction).
    """
    won = []
    now = utcnow()
    for ticket in tickets:
        count = (Ticket.update(status=to_status, secret_version=Ticket.secret_version + 1, updated_at=now)
                 .where(ticket.row_condition() & Ticket.status.in_(from_states)).execute())
        if count == 1:
            won.append(ticket)
    participation.release_uncovered(won)
    return won


def _notify_each(org, hook: str, tickets: list[Ticket], **extra) -> None:
    relay = hooks_for(org)
    for ticket in tickets:
        relay.notify(hook, org=org, ticket=ticket.reread(), **extra)


def cancel_ticket(org, ticket_id: str) -> Ticket:
    """Void one ticket (QR stops scanning), keep the record, give its seat back; 409 if already void."""
    ticket = get_scoped(Ticket, org, ticket_id, "ticket")
    with write_transaction():
        if not _void([ticket], "cancelled", LIVE):
            raise _state_conflict(ticket.reread(), "cancelled")
        capacity.release_sold_seats(ticket.org_id, _seats([ticket]), ticket.event_id)
        audit.record(org, "ticket.cancelled", "ticket", ticket.id, before={"status": ticket.status},
                     after={"status": "cancelled"})
        _notify_each(org, "ticket_cancelled", [ticket])
    return ticket.reread()


def cancel_booking(org, booking_id: str) -> Booking:
    """Cancel a booking: a pending one gives its held seats back; a paid one voids all its live tickets."""
    booking = bookings.get_booking(org, booking_id)
    if booking.status == "pending":
        with write_transaction():
            if not bookings.cancel_pending(booking):
                raise _booking_conflict(booking.reread())
            audit.record(org, "booking.cancelled", "booking", booking.id, before={"status": "pending"},
                         after={"status": "cancelled", "seats_released": booking.seats})
        return booking.reread()
    with write_transaction():
        won = (Booking.update(status="cancelled", updated_at=utcnow())
               .where(booking.row_condition() & Booking.status.in_(PAID_BOOKING)).execute())
        if won != 1:
            raise _booking_conflict(booking.reread())
        live = list(Ticket.select().where((Ticket.org == booking.org_id) & (Ticket.booking == booking.id)
                                          & Ticket.status.in_(LIVE)))
        voided = _void(live, "cancelled", LIVE)
        capacity.release_sold_seats(booking.org_id, _seats(voided), booking.event_id)
        audit.record(org, "booking.cancelled", "booking", booking.id, before={"status": booking.status},
                     after={"status": "cancelled", "cancelled_ticket_ids": [t.id for t in voided]})
        _notify_each(org, "ticket_cancelled", voided)
    return booking.reread()


def _booking_conflict(booking: Booking) -> Conflict:
    if booking.status == "cancelled":
        return Conflict("This booking is already cancelled.", type="already_cancelled", bookingStatus="cancelled")
    if booking.status == "refunded":
        return Conflict("This booking is already refunded.", type="already_refunded", bookingStatus="refunded")
    return Conflict(f"A {booking.status} booking cannot be changed this way.", type="invalid_booking_state",
                    bookingStatus=booking.status)


def _amount_minor(amount, booking: Booking, default: int) -> int:
    remaining = booking.amount - booking.refunded_amount
    if amount is None:
        return min(default, max(remaining, 0))
    try:
        minor = to_minor(amount, booking.currency)
    except (ValueError, KeyError) as exc:
        raise Unprocessable(f"`amount` is not a valid {booking.currency} amount.", type="invalid_amount") from exc
    if minor < 0:
        raise Unprocessable("`amount` cannot be negative.", type="invalid_amount")
    if minor > remaining:
        raise Unprocessable(f"At most {remaining} minor units of {booking.currency} remain refundable.",
                            type="refund_exceeds_paid", refundable=remaining)
    return minor


def kept_refund(ticket: Ticket) -> dict | None:
    """The refund of a ticket refunded without voiding it (`void_tickets: false`): `{id, method, amount}`, or
    None. Such a ticket stays valid and is never refunded again."""
    return (ticket.data or {}).get("refund")


def _claim_refund(org, booking: Booking, tickets: list[Ticket], amount, whole_booking: bool,
                  reason: str, method: str = "original", void: bool = True) -> tuple[Refund, list[Ticket], int]:
    """Transaction 1: tickets -> refunding, money reserved on the booking, a pending Refund row (`data.method`:
    `original` through the booking's gateway or `store_credit`; `data.void_tickets`)."""
    already = [t for t in tickets if kept_refund(t)]
    if tickets and len(already) == len(tickets):
        raise Conflict("This ticket is already refunded (it was kept valid).", type="already_refunded",
                       ticketStatus=already[0].status)
    tickets = [t for t in tickets if not kept_refund(t)]
    with write_transaction():
        claimed = []
        for ticket in tickets:
            count = (Ticket.update(status="refunding", updated_at=utcnow())
                     .where(ticket.row_condition()
                            & Ticket.status.in_(REFUNDABLE)).execute())
            if count == 1:
                claimed.append(ticket)
        if tickets and not claimed:
            raise _state_conflict(tickets[0].reread(), "refunded")
        fresh = booking.reread()
        if fresh.status not in PAID_BOOKING:
            raise _booking_conflict(fresh)
        default = fresh.amount if whole_booking else sum(t.price_paid for t in claimed)
        minor = _amount_minor(amount, fresh, default)
        won = (Booking.update(refunded_amount=Booking.refunded_amount + minor, updated_at=utcnow())
               .where(booking.row_condition() & (Booking.refunded_amount + minor <= Booking.amount)).execute())
        if won != 1:
            raise Unprocessable("The refund would exceed what was paid.", type="refund_exceeds_paid")
        gateway = STORE_CREDIT if method == STORE_CREDIT else booking.gateway
        refund = Refund.create(org=org.id, booking=booking.id, gateway=gateway, amount=minor,
                               currency=booking.currency, status="pending", reason=reason,
                               ticket_ids=[t.id for t in claimed], data={"method": method, "void_tickets": void})
    return refund, claimed, minor


def _unclaim(claimed: list[Ticket]) -> None:
    """Claimed tickets (`refunding`) back to the state they had: checked in if scanned, else valid."""
    if not claimed:
        return
    refunding = ((Ticket.org == claimed[0].org_id) & Ticket.id.in_([t.id for t in claimed])
                 & (Ticket.status == "refunding"))
    Ticket.update(status="checked_in").where(refunding & (Ticket.scan_count > 0)).execute()
    Ticket.update(status="valid").where(refunding & (Ticket.scan_count == 0)).execute()


def _restore(refund: Refund, claimed: list[Ticket], minor: int, failure: str) -> None:
    """The provider refused: tickets back to their state before the claim, money reservation undone; the
    provider's words are kept in the refund's `data["failure"]` (its `reason` is the staff's)."""
    with write_transaction():
        _unclaim(claimed)
        (Booking.update(refunded_amount=Booking.refunded_amount - minor)
         .where((Booking.id == refund.booking_id) & (Booking.org == refund.org_id)).execute())
        (Refund.update(status="failed", data={**(refund.data or {}), "failure": failure[:2000]}, updated_at=utcnow())
         .where(refund.row_condition()).execute())


def _settle(org, refund: Refund, claimed: list[Ticket], result) -> None:
    """The provider accepted (or store credit was granted): tickets refunded (QR void) and seats back on sale,
    or, for a refund with `data.void_tickets` false, tickets back to valid with the refund noted on each (they
    stay usable and are never refunded again); booking status updated; the refund is `succeeded`, or `owed`
    when the provider moved no money (`result.owed`) and staff still pay it out; `ticket_refunded` recorded for
    each ticket in the same transaction."""
    data = dict(refund.data or {})
    void = data.get("void_tickets", True)
    with write_transaction():
        if void:
            voided = _void(claimed, "refunded", ("refunding",))
            capacity.release_sold_seats(refund.org_id, _seats(voided), refund.booking.event_id)
        else:
            _keep_valid(refund, claimed)
        status = result.status if result is not None else "succeeded"
        data.update(getattr(result, "data", None) or {})
        (Refund.update(status=status, reference=getattr(result, "reference", None), data=data, updated_at=utcnow())
         .where(refund.row_condition()).execute())
        live_left = Ticket.select().where((Ticket.org == refund.org_id) & (Ticket.booking == refund.booking_id)
                                          & Ticket.status.in_(LIVE + ("refunding",))).exists()
        booking = get_scoped(Booking, refund.org_id, refund.booking_id)
        fully = (not live_left or not void) and booking.refunded_amount >= booking.amount
        status = "refunded" if fully else "partially_refunded"
        Booking.update(status=status, updated_at=utcnow()).where(
            (Booking.id == refund.booking_id) & (Booking.org == refund.org_id)
            & Booking.status.in_(PAID_BOOKING)).execute()
        settled = refund.reread()
        audit.record(org, "refund.issued", "refund", refund.id, after={
            "booking_id": refund.booking_id, "amount": settled.amount, "currency": settled.currency,
            "method": data.get("method", "original"), "gateway": settled.gateway, "status": settled.status,
            "ticket_ids": [t.id for t in claimed], "tickets_voided": void, "reason": settled.reason,
            "booking_status": status, "booking_refunded_amount": booking.refunded_amount})
        _notify_each(org, "ticket_refunded", claimed, refund=settled)


def _keep_valid(refund: Refund, claimed: list[Ticket]) -> None:
    """A refund that keeps its tickets: each back to its state, its `data.refund` naming the refund."""
    _unclaim(claimed)
    note = {"id": refund.id, "method": (refund.data or {}).get("method", "original"), "amount": refund.amount}
    for ticket in claimed:
        Ticket.update(data={**(ticket.data or {}), "refund": note}, updated_at=utcnow()).where(
            ticket.row_condition()).execute()


def _call_gateway(org, booking: Booking, refund: Refund, minor: int):
    """Ask the booking's gateway to pay `minor` back (committing the claim first as the recovery point
    `REFUND_CLAIMED`); raise ApiError describing any refusal."""
    if minor == 0:
        return None
    claim = {"refund": refund.id, "refundedBefore": booking.refunded_amount}
    try:
        result = bookings.refund_through_gateway(org, booking, booking.payment_ref, minor, point=REFUND_CLAIMED,
                                                 point_data=claim)
    except ApiError:
        raise
    except Exception as exc:  # noqa: BLE001 - any provider failure must restore the tickets
        raise GatewayUnavailable(f"The {booking.gateway} gateway failed: {exc}", type="refund_failed") from exc
    if not result.succeeded:
        raise ApiError(f"The payment provider refused the refund: {result.reason or 'no reason given'}",
                       status=402, type="refund_declined", providerReason=result.reason)
    return result


def _refund(org, booking: Booking | None, tickets: list[Ticket], amount, reason: str,
            whole_booking: bool = False, method: str = "original", void: bool = True,
            credit_expires_at: dt.datetime | None = None) -> RefundOutcome:
    if booking is None:
        raise Conflict("This ticket was not paid through a booking; cancel it instead.", type="not_refundable")
    if method == STORE_CREDIT:
        return _to_store_credit(org, booking, tickets, amount, reason, whole_booking, void, credit_expires_at)
    refund, claimed, minor = _claim_refund(org, booking, tickets, amount, whole_booking, reason, method, void)
    return _pay_back(org, booking, refund, claimed, minor)


def _to_store_credit(org, booking: Booking, tickets: list[Ticket], amount, reason: str, whole_booking: bool,
                     void: bool, expires_at: dt.datetime | None) -> RefundOutcome:
    """Refund as store credit, in one write transaction: claim, grant the credit to the buyer's account
    (`core.services.store_credit`; 422 `no_customer_account` for a guest without one rolls everything back),
    settle. No gateway is called."""
    with write_transaction():
        refund, claimed, minor = _claim_refund(org, booking, tickets, amount, whole_booking, reason, STORE_CREDIT,
                                               void)
        credit = store_credit.grant(org, booking, refund, minor, expires_at, reason) if minor else None
        expiry = expires_at.strftime("%Y-%m-%dT%H:%M:%SZ") if expires_at else None
        _settle(org, refund, claimed, RefundResult(succeeded=True, data={
            "store_credit_id": credit.id if credit else None, "credit_expires_at": expiry}))
    return RefundOutcome(refund.reread(), [t.reread() for t in claimed],
                         booking.reread(), extra={"store_credit_id": credit.id if credit else None})


def _pay_back(org, booking: Booking, refund: Refund, claimed: list[Ticket], minor: int) -> RefundOutcome:
    """The claimed refund through the gateway, then settled; a refusal or outage restores the claim (committed
    at once with the idempotency key back at its start, so a retry claims again) and propagates."""
    try:
        result = _call_gateway(org, booking, refund, minor)
    except ApiError as error:
        _restore(refund, claimed, minor, error.message)
        idempotency.checkpoint(None)
        raise
    _settle(org, refund, claimed, result)
    refund = refund.reread()
    return RefundOutcome(refund, [t.reread() for t in claimed], booking.reread())


def _resumed_refund(org) -> RefundOutcome | None:
    """A retry of a refund whose claim committed before the gateway was called (the run crashed or the
    gateway failed): that claim, paid back now with the booking as it was claimed (a provider's idempotency
    key built from it is the same, so money moves once); None for a fresh run."""
    point, data = idempotency.recovery_point()
    if point != REFUND_CLAIMED:
        return None
    refund = get_scoped(Refund, org, data["refund"], "refund")
    booking = get_scoped(Booking, refund.org_id, refund.booking_id)
    booking.refunded_amount = data["refundedBefore"]
    claimed = list(Ticket.select().where((Ticket.org == refund.org_id) & Ticket.id.in_(refund.ticket_ids)))
    return _pay_back(org, booking, refund, claimed, refund.amount)


def refund_ticket(org, ticket_id: str, amount=None, reason: str = "", *, method: str = "original",
                  void: bool = True, credit_expires_at: dt.datetime | None = None) -> RefundOutcome:
    """Refund one ticket (default: what was paid for it) and void its QR; 409 `already_refunded` on repeat.
    `reason` (the staff's words) is kept on the Refund record. `method` `store_credit` credits the buyer
    instead of the gateway (until `credit_expires_at`); `void` False keeps the ticket valid."""
    resumed = _resumed_refund(org)
    if resumed is not None:
        return resumed
    ticket = get_scoped(Ticket, org, ticket_id, "ticket")
    booking = (Booking.get_or_none((Booking.id == ticket.booking_id) & (Booking.org == ticket.org_id))
               if ticket.booking_id else None)
    if ticket.status not in REFUNDABLE:
        raise _state_conflict(ticket, "refunded")
    return _refund(org, booking, [ticket], amount, reason, method=method, void=void,
                   credit_expires_at=credit_expires_at)


def refund_booking(org, booking_id: str, amount=None, reason: str = "", *, method: str = "original",
                   void: bool = True, credit_expires_at: dt.datetime | None = None) -> RefundOutcome:
    """Refund a booking's live tickets (default: what is left of the payment) and void their QRs (`method`,
    `void` and `credit_expires_at` as for `refund_ticket`).

    With no live ticket left, a booking that still holds money (after a partial refund) refunds money only.
    """
    resumed = _resumed_refund(org)
    if resumed is not None:
        return resumed
    booking = get_scoped(Booking, org, booking_id, "booking")
    if booking.status not in PAID_BOOKING:
        raise _booking_conflict(booking)
    tickets = list(Ticket.select().where((Ticket.org == booking.org_id) & (Ticket.booking == booking.id)
                                         & Ticket.status.in_(REFUNDABLE)))
    if not tickets and booking.refunded_amount >= booking.amount:
        raise Conflict("This booking has nothing left to refund.", type="already_refunded")
    return _refund(org, booking, tickets, amount, reason, whole_booking=True, method=method, void=void,
                   credit_expires_at=credit_expires_at)


# --- money-only refunds paid from a job (a resale's seller) -------------------------------------------

MONEY_ONLY = "money_only"
"""`Refund.data["kind"]` of a refund that moves money only and leaves the booking's tickets alone."""


def claim_money_refund(org, booking: Booking, amount: int, reason: str) -> Refund:
    """In the caller's write transaction: reserve `amount` minor units of the paid `booking` (`refunded_amount`)
    for a refund that leaves every ticket as it is (a resale pays its seller back this way), as a `pending`
    Refund that `pay_claimed_refund` pays later, from a job. The booking's refunded amount as claimed is kept
    in the refund (`data.refundedBefore`), so every attempt asks the provider with the same idempotency key.
    422 `refund_exceeds_paid` (nothing written) when less than `amount` is left, 409 when the booking is not
    paid."""
    fresh = booking.reread()
    if fresh.status not in PAID_BOOKING:
        raise _booking_conflict(fresh)
    won = (Booking.update(refunded_amount=Booking.refunded_amount + amount, updated_at=utcnow())
           .where(booking.row_condition() & Booking.status.in_(PAID_BOOKING)
                  & (Booking.refunded_amount + amount <= Booking.amount)).execute())
    if won != 1:
        raise Unprocessable("The refund would exceed what was paid.", type="refund_exceeds_paid")
    return Refund.create(org=fresh.org_id, booking=fresh.id, gateway=fresh.gateway, amount=amount,
                         currency=fresh.currency, status="pending", reason=reason, ticket_ids=[],
                         data={"method": "original", "void_tickets": False, "kind": MONEY_ONLY,
                               "refundedBefore": fresh.refunded_amount})


def pay_claimed_refund(org, refund_id: str) -> Refund:
    """Pay the pending refund `claim_money_refund` claimed, through its booking's own provider, once: a refund
    that is no longer pending is answered as it is (a job run again moves no money). A provider that cannot
    refund this payment (no refund step, or not part of one) leaves it `owed`: staff pay it out by hand and
    record it (`core.services.refund_payouts`). A provider's refusal fails it and gives the money reservation
    back; its outage propagates, so the job is retried with the same idempotency key (money moves once)."""
    refund = get_scoped(Refund, org, refund_id, "refund")
    if refund.status != "pending":
        return refund
    booking = get_scoped(Booking, refund.org_id, refund.booking_id)
    booking.refunded_amount = (refund.data or {}).get("refundedBefore", booking.refunded_amount)
    try:
        result = bookings.refund_through_gateway(org, booking, booking.payment_ref, refund.amount)
    except GatewayUnavailable:
        raise
    except Unprocessable as error:   # not enabled any more, or no (partial) refund step: paid out by hand
        result = RefundResult(succeeded=True, amount=refund.amount, owed=True, reason=error.message)
    except ApiError as error:
        _restore(refund, [], refund.amount, error.message)
        return refund.reread()
    if not result.succeeded:
        _restore(refund, [], refund.amount, result.reason or "refused")
        return refund.reread()
    _settle(org, refund, [], result)
    return refund.reread()
