"""Waiting-list offers: seats that come back go to the line as pending bookings of the core's booking service;
a resale listing goes to it as a reserved listing. Offers lapse and pass on exactly once.

The only writer of offers. Every step is a conditional UPDATE of an entry or offer on its current status, in the
transaction that causes it (the booking's own, for an offer on seats), so racing workers or sweepers change a
row once; never moves seat counters itself (the booking service does).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable

from core import outbox
from core.db import write_transaction
from core.errors import ApiError, Conflict
from core.jobs import job
from core.kits.links import read_signed_link_token, signed_link_token
from core.models import Booking, Org, TicketType, utcnow
from core.payments import PaymentCheck
from core.services import booking as bookings
from core.services import capacity, gateways, holds
from core.services.event_lists import pages_root
from core.tenancy import get_scoped, scoped
from plugins.resale.waitlist import (
    announce,
    first_fitting,
    offer_deadline,
    org_id_of,
    seats_left,
    settings_of,
    smallest_waiting,
)
from plugins.resale.waitlist_models import WaitlistEntry, WaitlistOffer

log = logging.getLogger(__name__)

EXTRA = "waitlist_entry"
"""The purchase request's `extras` key naming the entry a booking is offered to (set only by this module)."""
LISTING_OFFER_PURPOSE = "resale-waitlist-offer"
MAX_OFFERS_PER_RUN = 500


class EntryTaken(Conflict):
    """409 `waitlist_entry_taken`: another worker offered (or the customer left) this entry first."""

    type = "waitlist_entry_taken"


# --- the rule on every purchase of the tenant (price_booking) ----------------------------------------

def guard_quote(org: Org, quote, extras: dict) -> None:
    """For a purchase being priced: an offer's booking claims its entry in the booking's transaction; any other
    purchase is refused (409 `sold_out`, `waitingList: true`) while the seats it would take are owed to the line."""
    entry_id = (extras or {}).get(EXTRA)
    if entry_id:
        quote.when_booked(functools.partial(_claim_entry, org, str(entry_id)))
        return
    type_ids = sorted({line.ticket_type.id for line in quote.lines})
    quote.when_booked(functools.partial(_refuse_if_owed, org.id, type_ids))


def _refuse_if_owed(org_id: str, type_ids: list[str], booking: Booking) -> None:
    owed = smallest_waiting(org_id, type_ids)
    for tt_id, least in owed.items():
        left = seats_left(org_id, tt_id)
        if left is None or left >= least:
            raise capacity.SoldOut("These seats came back for the waiting list and are being offered to the "
                                   "customers in line; join the waiting list.", ticketTypeId=tt_id, remaining=0,
                                   waitingList=True)


def _claim_entry(org: Org, entry_id: str, booking: Booking) -> None:
    """Inside the offer booking's transaction: waiting -> offered, the offer row, `offered` announced."""
    now = utcnow()
    won = (WaitlistEntry.update(status="offered", updated_at=now)
           .where((WaitlistEntry.id == entry_id) & (WaitlistEntry.org == org.id)
                  & (WaitlistEntry.status == "waiting")).execute())
    if won != 1:
        raise EntryTaken("This waiting-list entry was offered seats already or left the line.")
    entry = get_scoped(WaitlistEntry, org, entry_id)
    offer = WaitlistOffer.create(org=org.id, entry=entry.id, event=entry.event_id, ticket_type=entry.ticket_type_id,
                                 customer=entry.customer_id, seats=entry.seats, booking=booking.id,
                                 expires_at=booking.expires_at or now, status="offered")
    if not entry.buy_for_me:   # buying for the customer announces once the charge has its answer (`_buy_for`)
        announce(org, entry, "offered", offer)


# --- seats came back ----------------------------------------------------------------------------------

def queue_offers(org: Org | str, ticket_type_ids: Iterable[str]) -> None:
    """Seats of these types may have come back: record the offering job (after the current commit) for each
    that has someone waiting (one query when nobody does)."""
    org_id = org_id_of(org)
    for tt_id in sorted(smallest_waiting(org_id, ticket_type_ids)):
        outbox.enqueue(offer_seats_job, org_id, tt_id)


def queue_event_offers(org: Org, event_id: str) -> None:
    """The event's capacity went up: `queue_offers` for each of its ticket types."""
    queue_offers(org, [row.id for row in scoped(TicketType, org).select(TicketType.id)
                       .where(TicketType.event == event_id)])


def _offer_to(org: Org, entry: WaitlistEntry) -> str:
    """Make the entry's offer through the core's purchase: `made`, `taken` (lost a race), `full` (the seats
    went), or `refused` (the purchase refused this entry; it is skipped this run)."""
    customer = entry.customer
    request = bookings.PurchaseRequest(
        event_id=entry.event_id, items=[(entry.ticket_type_id, entry.seats)],
        buyer=bookings.Buyer(email=customer.email, name=customer.name, customer=customer), source="waitlist",
        gateway=entry.payment_gateway if entry.buy_for_me else None,
        hold_minutes=settings_of(org).offer_minutes, extras={EXTRA: entry.id})
    try:
        result = bookings.purchase(org, request)
        if entry.buy_for_me and result.booking.status == "pending":
            _buy_for(org, entry, result.booking)
    except EntryTaken:
        return "taken"
    except capacity.SoldOut:
        return "full"
    except ApiError as exc:
        log.warning("waiting-list offer to entry %s refused: %s %s", entry.id, exc.type, exc.message)
        return "refused"
    return "made"


def offer_seats(org_id: str, ticket_type_id: str) -> int:
    """Offer the type's free seats to the line in order, each to the first waiting entry whose request fits
    (skip-ahead), until the seats or the fitting entries run out; how many offers this call made. Safe to run
    concurrently and again: each offer claims its entry and holds its seats with conditional UPDATEs."""
    org = Org.get_by_id(org_id)
    made, skipped = 0, []
    for _ in range(MAX_OFFERS_PER_RUN):
        left = seats_left(org_id, ticket_type_id)
        if left is not None and left <= 0:
            break
        entry = first_fitting(org_id, ticket_type_id, left, skipped)
        if entry is None:
            break
        outcome = _offer_to(org, entry)
        if outcome == "made":
            made += 1
        elif outcome == "refused":
            skipped.append(entry.id)
        elif outcome == "full":
            break
    return made


def _charge_saved_method(org: Org, entry: WaitlistEntry, booking: Booking) -> PaymentCheck:
    """Charge the entry's saved method for the offer's booking, off-session; unpaid when none is saved yet."""
    gateway = gateways.gateway_for(org, booking.gateway)
    method = gateway.provider.saved_method(org, entry.setup_ref or "", gateway.settings)
    if method is None:
        return PaymentCheck(paid=False, reason="No payment method was saved.", data={"declineCode": "no_saved_method"})
    return gateway.provider.charge_saved_method(org, booking, method, booking.amount, gateway.settings)


def _buy_for(org: Org, entry: WaitlistEntry, booking: Booking) -> None:
    """"Buy for me": pay the offer's booking with the saved method and confirm it through the core (tickets
    issued, the offer accepted and e-mailed by `booking_confirmed`), voiding the booking's own unused payment; a
    decline (or a bank asking the customer to authenticate) makes it a normal offer, e-mailed with its link."""
    offer = offer_of_booking(org, booking.id)
    try:
        check = _charge_saved_method(org, entry, booking)
    except ApiError as exc:
        check = PaymentCheck(paid=False, reason=exc.message, data={"declineCode": exc.type})
    if check.paid:
        own_payment = booking.payment_ref
        with write_transaction():
            WaitlistOffer.update(bought_for_customer=True, updated_at=utcnow()).where(offer.row_condition()).execute()
        bookings.confirm(org, booking.id, payment_ref=check.reference)
        if own_payment and own_payment != check.reference:
            gateways.void_payment(org, booking, own_payment)
        return
    failure = str((check.data or {}).get("declineCode") or "declined")[:60]
    log.info("buying for waiting-list entry %s failed (%s): a normal offer instead", entry.id, failure)
    with write_transaction():
        WaitlistOffer.update(charge_failure=failure, updated_at=utcnow()).where(offer.row_condition()).execute()
        offer.charge_failure = failure
        announce(org, entry.reread(), "offered", offer)


@job(retries=4, retry_delay=5, retry_backoff=2)
def offer_seats_job(org_id: str, ticket_type_id: str) -> None:
    """Job: `offer_seats` (recorded by `queue_offers` in the transaction that gave seats back)."""
    offer_seats(org_id, ticket_type_id)


# --- an offer's booking expired or was paid -------------------------------------------------------------

def _settle(offer: WaitlistOffer, status: str, from_states: tuple[str, ...]) -> bool:
    """offer (from one of `from_states`) -> `status` and its entry with it, once; True for the winner."""
    now = utcnow()
    won = (WaitlistOffer.update(status=status, settled_at=now, updated_at=now)
           .where(offer.row_condition() & WaitlistOffer.status.in_(from_states)).execute())
    if won == 1:
        entry_state = "left" if status == "withdrawn" else status
        (WaitlistEntry.update(status=entry_state, updated_at=now)
         .where((WaitlistEntry.id == offer.entry_id) & (WaitlistEntry.org == offer.org_id)
                & (WaitlistEntry.status == "offered")).execute())
        offer.status, offer.settled_at = status, now
    return won == 1


def booking_expired(org: Org, booking: Booking) -> None:
    """A pending booking's hold ran out (in the hook's transaction): an offer on it lapses (once), and its seats
    go to the line of each of its ticket types."""
    offer = scoped(WaitlistOffer, org).where((WaitlistOffer.booking == booking.id)
                                             & (WaitlistOffer.status == "offered")).first()
    if offer is not None and _settle(offer, "lapsed", ("offered",)):
        announce(org, offer.entry, "lapsed", offer)
    queue_offers(org, [request.ticket_type_id for request in holds.seat_requests(booking)])


def booking_confirmed(org: Org, booking: Booking) -> None:
    """A booking was paid: the offer on it (even one that lapsed while its late payment went through the core's
    late-payment rule) is accepted."""
    offer = scoped(WaitlistOffer, org).where((WaitlistOffer.booking == booking.id)
                                             & WaitlistOffer.status.in_(("offered", "lapsed"))).first()
    if offer is not None and _settle(offer, "accepted", ("offered", "lapsed")):
        (WaitlistEntry.update(status="accepted", updated_at=utcnow())
         .where((WaitlistEntry.id == offer.entry_id) & (WaitlistEntry.org == org.id)
                & (WaitlistEntry.status == "lapsed")).execute())
        announce(org, offer.entry.reread(), "accepted", offer)


# --- leaving -----------------------------------------------------------------------------------------

def withdraw(org: Org, entry: WaitlistEntry) -> bool:
    """The customer leaves the line: the entry -> left, its open offer withdrawn, an offer's held seats given
    back at once (the booking cancelled through the core) and offered on; True if this call did it."""
    offer = scoped(WaitlistOffer, org).where((WaitlistOffer.entry == entry.id)
                                             & (WaitlistOffer.status == "offered")).first()
    with write_transaction():
        now = utcnow()
        won = (WaitlistEntry.update(status="left", updated_at=now)
               .where(entry.row_condition() & WaitlistEntry.status.in_(("waiting", "offered"))).execute())
        if won != 1:
            return False
        entry.status = "left"
        if offer is not None:
            _settle(offer, "withdrawn", ("offered",))
        announce(org, entry, "left", offer)
        if offer is not None and offer.status == "withdrawn" and offer.booking_id:
            booking = get_scoped(Booking, org, offer.booking_id)
            if bookings.cancel_pending(booking):
                queue_offers(org, [entry.ticket_type_id])
        elif offer is not None and offer.status == "withdrawn" and offer.listing_id:
            _pass_listing(org, offer)
    return True


# --- resale listings -----------------------------------------------------------------------------------

def listing_offer_link(org_id: str, offer: WaitlistOffer) -> str:
    """The resale checkout of the offered listing: `<pages root>/resale/<listing>?offer=<signed token>`."""
    token = signed_link_token(LISTING_OFFER_PURPOSE, {"o": offer.id, "l": offer.listing_id})
    return f"{pages_root(org_id)}/resale/{offer.listing_id}?offer={token}"


def listing_offer(org: Org | str, listing_id: str, token: str | None) -> WaitlistOffer | None:
    """The open offer a resale checkout's `?offer=` token names for this listing, or None (forged, another
    listing's, lapsed or settled)."""
    data = read_signed_link_token(LISTING_OFFER_PURPOSE, token or "", 7 * 24 * 3600)
    if not data or data.get("l") != listing_id:
        return None
    return scoped(WaitlistOffer, org).where((WaitlistOffer.id == str(data.get("o"))[:64])
                                            & (WaitlistOffer.listing_id == listing_id)
                                            & (WaitlistOffer.status == "offered")
                                            & (WaitlistOffer.expires_at > utcnow())).first()


def reserved_listing_offer(org: Org | str, listing_id: str) -> WaitlistOffer | None:
    """The open offer reserving this listing for someone in line, if any (the listing is not for public sale
    while there is one)."""
    return scoped(WaitlistOffer, org).where((WaitlistOffer.listing_id == listing_id)
                                            & (WaitlistOffer.status == "offered")).first()


def listing_sold(org: Org, listing_id: str, customer_id: str) -> WaitlistOffer | None:
    """Call inside the resale sale's transaction: the offer on this listing to `customer_id` is accepted (once);
    None when there was none (a public sale)."""
    offer = scoped(WaitlistOffer, org).where((WaitlistOffer.listing_id == listing_id)
                                             & (WaitlistOffer.customer == customer_id)
                                             & WaitlistOffer.status.in_(("offered", "lapsed"))).first()
    if offer is None:
        return None
    with write_transaction():
        if _settle(offer, "accepted", ("offered", "lapsed")):
            (WaitlistEntry.update(status="accepted", updated_at=utcnow())
             .where((WaitlistEntry.id == offer.entry_id) & (WaitlistEntry.org == org.id)
                    & (WaitlistEntry.status == "lapsed")).execute())
            announce(org, offer.entry.reread(), "accepted", offer)
    return offer


def listing_ended(org: Org | str, listing_id: str) -> WaitlistOffer | None:
    """Call inside the transaction that withdrew or sold a listing: an open offer on it to someone else than its
    buyer ends (once) as `withdrawn`, and that customer's entry goes back to `waiting` in its old place in line
    (they did nothing wrong; no seat came back for them), and `withdrawn` is announced (e-mail and webhook);
    None when no offer was open."""
    offer = reserved_listing_offer(org, listing_id)
    if offer is None:
        return None
    now = utcnow()
    won = (WaitlistOffer.update(status="withdrawn", settled_at=now, updated_at=now)
           .where(offer.row_condition() & (WaitlistOffer.status == "offered")).execute())
    if won != 1:
        return None
    (WaitlistEntry.update(status="waiting", updated_at=now)
     .where((WaitlistEntry.id == offer.entry_id) & (WaitlistEntry.org == offer.org_id)
            & (WaitlistEntry.status == "offered")).execute())
    offer.status, offer.settled_at = "withdrawn", now
    announce(org, get_scoped(WaitlistEntry, org, offer.entry_id), "withdrawn", offer)
    return offer


def offer_listing_to_line(org: Org, listing_id: str, ticket_type_id: str, seats: int) -> WaitlistOffer | None:
    """Reserve the listing for the first waiting entry of its type whose request fits `seats` (an offer with
    `listing_id`, no core seats held); None when nobody fits."""
    for _ in range(MAX_OFFERS_PER_RUN):
        with write_transaction():
            entry = first_fitting(org.id, ticket_type_id, seats)
            if entry is None:
                return None
            now = utcnow()
            won = (WaitlistEntry.update(status="offered", updated_at=now)
                   .where(entry.row_condition() & (WaitlistEntry.status == "waiting")).execute())
            if won != 1:
                continue
            offer = WaitlistOffer.create(org=org.id, entry=entry.id, event=entry.event_id,
                                         ticket_type=entry.ticket_type_id, customer=entry.customer_id,
                                         seats=entry.seats, listing_id=listing_id, status="offered",
                                         expires_at=offer_deadline(org, now))
            entry.status = "offered"
            announce(org, entry, "offered", offer)
            return offer
    return None


def _listing_unreserved(org: Org, listing_id: str) -> None:
    """Nobody in line took the listing: `plugins.resale.listings.listing_unreserved` puts it on public sale."""
    from plugins.resale.listings import listing_unreserved

    listing_unreserved(org, listing_id)


def _pass_listing(org: Org, offer: WaitlistOffer) -> None:
    """An offer on a listing ended without a sale: the next in line gets the listing, else it goes public; nothing
    when the listing is no longer offered (its holder withdrew it, or it was sold)."""
    from plugins.resale.listings import claim_offered

    if not claim_offered(org, offer.listing_id):
        return
    listing_ticket_type = offer.ticket_type_id
    if offer_listing_to_line(org, offer.listing_id, listing_ticket_type, offer.seats) is None:
        _listing_unreserved(org, offer.listing_id)


def _lapse_each(offers: list[WaitlistOffer], pass_on: Callable[[Org, WaitlistOffer], None]) -> int:
    """Lapse each offer once (its conditional UPDATE) and, in the same transaction, `pass_on` what it held;
    how many this call lapsed (racing sweepers lapse and pass each offer once between them)."""
    lapsed = 0
    for offer in offers:
        org = Org.get_by_id(offer.org_id)
        with write_transaction():
            if not _settle(offer, "lapsed", ("offered",)):
                continue
            lapsed += 1
            announce(org, offer.entry, "lapsed", offer)
            pass_on(org, offer)
    return lapsed


def lapse_listing_offers(now=None) -> int:
    """Lapse every overdue offer on a listing and pass the listing on; how many this call lapsed."""
    now = now or utcnow()
    overdue = list(WaitlistOffer.select().where((WaitlistOffer.status == "offered")
                                                & WaitlistOffer.listing_id.is_null(False)
                                                & (WaitlistOffer.expires_at < now)).limit(MAX_OFFERS_PER_RUN))
    return _lapse_each(overdue, _pass_listing)


def lapse_dead_booking_offers() -> int:
    """Lapse (racing the `booking_expired` hook safely) the open offers on seats whose booking ended without that
    hook: staff cancelled the pending booking, or the hook gave up; their seats go to the line. How many this
    call lapsed."""
    dead = list(WaitlistOffer.select()
                .join(Booking, on=((Booking.id == WaitlistOffer.booking) & (Booking.org == WaitlistOffer.org)))
                .where((WaitlistOffer.status == "offered")
                       & Booking.status.in_(("cancelled", "expired", "refunded")))
                .limit(MAX_OFFERS_PER_RUN))
    return _lapse_each(dead, lambda org, offer: queue_offers(org, [offer.ticket_type_id]))


@job(every_minutes=1)
def lapse_offers_job() -> int:
    """Periodic job: `lapse_listing_offers` and `lapse_dead_booking_offers` (an offer on seats otherwise lapses
    with its booking's hold, through `booking_expired`)."""
    return lapse_listing_offers() + lapse_dead_booking_offers()


def offer_of_booking(org: Org | str, booking_id: str) -> WaitlistOffer | None:
    """The offer a booking was made for, if any."""
    return scoped(WaitlistOffer, org).where(WaitlistOffer.booking == booking_id).first()
