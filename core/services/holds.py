"""Hold expiry: pending bookings past `expires_at` become `expired` and give their seats back exactly once.

Run by a periodic job and lazily on read/confirm/sold-out; never releases seats without winning the
conditional UPDATE pending -> expired. The winner then has the open payment voided (through the job queue).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from core.db import write_transaction
from core.jobs import job
from core.models import Booking, BookingLine, Event, utcnow
from core.plugins import hooks_for
from core.services import capacity, store_credit
from core.services.gateways import void_payment_later

EXPIRY_BATCH = 500


def seat_requests(booking: Booking) -> list[capacity.SeatRequest]:
    """The seats a booking takes, per ticket type (from its ticket lines)."""
    lines = (BookingLine.select(BookingLine.ticket_type, BookingLine.seats)
             .where((BookingLine.org == booking.org_id) & (BookingLine.booking == booking.id)
                    & (BookingLine.kind == "ticket")))
    return [capacity.SeatRequest(line.ticket_type_id, line.seats) for line in lines if line.ticket_type_id]


def hold_deadline(hold_minutes: int, now: dt.datetime | None = None) -> dt.datetime:
    """When a hold made now runs out."""
    return (now or utcnow()) + dt.timedelta(minutes=max(int(hold_minutes), 1))


def expire_booking(booking: Booking, now: dt.datetime | None = None) -> bool:
    """Expire one overdue pending booking; True only for the caller whose UPDATE won (seats released once,
    `booking_expired` fired and the payment's void queued, all after the commit)."""
    now = now or utcnow()
    return _expire(booking, now, Booking.expires_at < now)


def release_now(booking: Booking) -> bool:
    """Expire a pending booking at once, before its hold runs out, because its buyer's payment failed (declined,
    cancelled at the provider): the seats go back now, exactly as at expiry. True only for the caller whose
    UPDATE won. The booking stays `expired`, so a payment that still arrives for it later follows the core's
    late-payment rule (confirmed while the seats are free, refunded once they are gone)."""
    return _expire(booking, utcnow(), None)


def _expire(booking: Booking, now: dt.datetime, condition) -> bool:
    pending = (Booking.id == booking.id) & (Booking.org == booking.org_id) & (Booking.status == "pending")
    with write_transaction():
        won = (Booking.update(status="expired", seats_released=True, updated_at=now)
               .where(pending if condition is None else pending & condition)
               .execute())
        if won == 1:
            capacity.release_held_seats(booking.org_id, seat_requests(booking), booking.event_id)
            store_credit.release_draws(booking)
            void_payment_later(booking)
            booking.status, booking.seats_released = "expired", True
            hooks_for(booking.org_id).notify("booking_expired", org=booking.org, booking=booking)
    return won == 1


def expire_overdue(org_id: str, event_id: str | None = None) -> int:
    """Expire a tenant's overdue holds (of one event when given); returns how many this call expired."""
    return release_overdue_of_events(org_id, None if event_id is None else [event_id])


def expire_if_overdue(booking: Booking) -> Booking:
    """Lazy check on read: expire this booking if its hold ran out; returns the current row."""
    if booking.status == "pending" and booking.expires_at is not None and booking.expires_at < utcnow():
        expire_booking(booking)
        return Booking.get((Booking.id == booking.id) & (Booking.org == booking.org_id))
    return booking


@job(every_minutes=1)
def expire_holds_job() -> int:
    """Periodic job: release every overdue hold, in batches, across all tenants."""
    return _expire_matching()


# --- one mechanism for the job, the lazy checks and the reads that show seats or a customer's bookings ---


def _expire_matching(condition=None) -> int:
    """Expire the overdue pending bookings matching `condition` (every one when None), batch by batch, each
    through `expire_booking`; how many this call expired. Uses the (org, status, expires_at) index.

    Stops at a short batch, or at a full one this call won none of (concurrent callers are releasing them).
    """
    now = utcnow()
    overdue_now = (Booking.status == "pending") & (Booking.expires_at < now)
    if condition is not None:
        overdue_now &= condition
    total = 0
    while True:
        batch = list(Booking.select().where(overdue_now).order_by(Booking.expires_at).limit(EXPIRY_BATCH))
        won = sum(1 for booking in batch if expire_booking(booking, now))
        total += won
        if len(batch) < EXPIRY_BATCH or not won:
            return total


def release_overdue_of_events(org_id: str, event_ids: Iterable[str] | None = None, *,
                              with_sessions: bool = False) -> int:
    """Before a read shows seat figures: expire the overdue holds it would count; how many this call expired.

    Covers the events `event_ids` (with `with_sessions`, their sessions and dates too), or every event of the
    tenant when `event_ids` is None. Nothing overdue costs one query on the (org, status, expires_at) index;
    each hold found is expired by `expire_booking`'s conditional UPDATE, so concurrent readers give it back
    once. Run it before reading the counters, so the read sees the seats it gave back.
    """
    condition = Booking.org == org_id
    if event_ids is not None:
        ids = list(event_ids)
        events = Booking.event.in_(ids)
        if with_sessions:
            events |= Booking.event.in_(Event.select(Event.id).where((Event.org == org_id) & Event.parent.in_(ids)))
        condition &= events
    return _expire_matching(condition)


def release_overdue_of_customer(org_id: str, customer_id: str) -> int:
    """Before a customer's booking list: expire their overdue holds (shown as `expired`, seats back once)."""
    return _expire_matching((Booking.org == org_id) & (Booking.customer == customer_id))
