"""Buying a resale listing: the buyer's booking is an ordinary core booking (priced by `price_resale`, paid
through the tenant's gateway, confirmed by confirm-order or the provider's webhook), and its confirmation
completes the sale in one write transaction (`complete_sale`).

The one decision point against the door is the seller's ticket row: the sale revokes it with the transfer
service's conditional UPDATE (`transfers.resell_ticket`), the check-in service admits it with its own; one of
them wins. A sale that loses (ticket scanned, listing withdrawn or taken) refunds the buyer instead. Money goes
back through the core's refunds, paid from the outbox (`pay_refund_job`), so a crash or an outage retries it
with the same idempotency key. Never moves seats: the seat stays sold, only its holder changes.
"""

from __future__ import annotations

import functools
import logging

from core.db import write_transaction
from core.errors import ApiError, Conflict, NotFound, Unauthorized, Unprocessable
from core.jobs import RetryPolicy, job
from core.models import Booking, Customer, Org, Ticket, TicketType, utcnow
from core.outbox import enqueue
from core.plugins import hooks_for
from core.services import audit, transfers
from core.services.booking import BookingResult, PurchaseRequest, purchase
from core.services.cancellation import claim_money_refund, pay_claimed_refund
from core.services.purchase_requests import purchase_request
from core.tenancy import get_scoped, scoped
from plugins.resale import listings
from plugins.resale.listing_models import ResaleListing, ResalePurchase

log = logging.getLogger(__name__)

EXTRAS_KEY = "resale"
"""The purchase request's `extras` key naming the listing a booking buys (`price_resale` reads it)."""
TICKET_ENDED = {"checked_in": "checked_in", "refunded": "refunded", "refunding": "refunded",
                "cancelled": "cancelled", "transferred": "transferred"}
"""A seller's ticket status that refused a sale -> why its listing is withdrawn."""
REFUND_POLICY = RetryPolicy(max_attempts=12, delay_seconds=30, backoff=2)
"""A refund the provider could not take yet is asked again for about 17 hours (same idempotency key)."""


# --- the buyer's booking ---------------------------------------------------------------------------

def buy_listing(org: Org, identity, event_id: str, listing_id: str, body: dict, *,
                queue_pass: str | None = None) -> BookingResult:
    """The buyer (a customer) starts paying for a listing: a core booking of the listing's price, which
    reserves the listing while it is unpaid (its hold). 401 `customer_required`, 404 `listing_not_found`, 409
    `listing_unavailable` (sold, withdrawn, reserved by another buyer, or offered to the waiting list), 422
    `own_listing`, `resale_not_enabled` (staff closed resale for the event), and the purchase's own refusals
    (gateway, e-mail verification)."""
    if identity is None or identity.role != "customer":
        raise Unauthorized("Sign in as a customer to buy a resale ticket.", type="customer_required")
    listing = listings.public_listing(org, event_id, listing_id)
    data = {"eventId": listing.event_id, "items": [], "paymentGateway": body.get("paymentGateway")}
    extras = {EXTRAS_KEY: {"listingId": listing.id, "offer": body.get("offer")}}
    request: PurchaseRequest = purchase_request(org, identity, data, staff=False, source="resale", extras=extras,
                                                queue_pass=queue_pass)
    return purchase(org, request)


def price_resale(org: Org, quote, customer: Customer | None, extras: dict) -> None:
    """The `price_booking` hook: a booking whose `extras` name a listing costs the listing's price (an
    adjustment line `resale`) in its currency, and reserves the listing in the booking's own transaction."""
    sent = (extras or {}).get(EXTRAS_KEY)
    if not sent:
        return
    if quote.lines:
        raise Unprocessable("A resale ticket is bought on its own, without other tickets.", type="resale_alone")
    listing = scoped(ResaleListing, org).where(ResaleListing.id == str(sent.get("listingId"))[:64]).first()
    if listing is None:
        raise Conflict("This resale listing is no longer available.", type="listing_unavailable")
    if customer is None:
        raise Unauthorized("Sign in as a customer to buy a resale ticket.", type="customer_required")
    if not listings.terms_for(org, listing.event_id).enabled:
        raise Conflict("Resale is closed for this event.", type="resale_not_enabled")
    if listing.seller_id == customer.id:
        raise Unprocessable("This is your own listing; withdraw it instead.", type="own_listing")
    if listing.status == "offered" and not _offer_accepted(org, listing, sent.get("offer"), customer):
        raise Conflict("This listing is offered to the waiting list first.", type="listing_unavailable",
                       listingStatus="offered")
    ticket_type = get_scoped(TicketType, org, listing.ticket_type_id)
    quote.currency = listing.currency
    quote.add_adjustment("resale", f"Resale: {ticket_type.name}", listing.price)
    quote.when_booked(functools.partial(_reserve, org.id, listing.id, customer.id))


def _offer_accepted(org: Org, listing: ResaleListing, token, customer: Customer) -> bool:
    """True when `token` (the checkout's `?offer=`) opens the waiting list's live offer of this listing to
    `customer` (`plugins.resale.waitlist_offers.listing_offer`)."""
    from plugins.resale.waitlist_offers import listing_offer

    offer = listing_offer(org, listing.id, token) if token else None
    return offer is not None and offer.customer_id == customer.id


def _reserve(org_id: str, listing_id: str, buyer_id: str, booking: Booking) -> None:
    """In the booking's write transaction: the listing is reserved for this booking until its hold ends (one
    conditional UPDATE: two buyers at once reserve it once; the other's purchase rolls back, nothing held or
    charged), and the purchase is recorded."""
    now = utcnow()
    won = (ResaleListing.update(reserved_booking=booking.id, reserved_until=booking.expires_at or now,
                                updated_at=now)
           .where((ResaleListing.id == listing_id) & (ResaleListing.org == org_id)
                  & ResaleListing.status.in_(listings.LIVE)
                  & (ResaleListing.reserved_until.is_null() | (ResaleListing.reserved_until <= now))).execute())
    if won != 1:
        raise Conflict("Another buyer is paying for this listing, or it is no longer available.",
                       type="listing_unavailable")
    ResalePurchase.create(org=org_id, listing=listing_id, booking_id=booking.id, buyer_id=buyer_id)


# --- the sale ---------------------------------------------------------------------------------------

class _Refused(Exception):
    """The sale cannot happen; `reason` says why (the buyer is refunded)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def complete_sale(org: Org, booking_id: str) -> ResalePurchase | None:
    """The buyer's booking is paid: in one write transaction, sell the listing to it exactly once (the listing
    sold, the seller's ticket revoked and the buyer's issued, the seller's refund claimed and queued) or, when
    the listing can no longer be sold to it, refuse the sale and claim and queue the buyer's refund. Repeats
    (confirm-order, webhook, the outbox hook) change nothing. None for a booking that buys no listing."""
    with write_transaction():
        bought = scoped(ResalePurchase, org).where(ResalePurchase.booking_id == booking_id).first()
        if bought is None or bought.status != "pending":
            return bought
        booking = get_scoped(Booking, org, booking_id)
        if booking.status not in ("confirmed", "partially_refunded"):
            return bought
        # Completions of one purchase queue here (the row's lock): a second one finds it settled, changes nothing.
        if (ResalePurchase.update(updated_at=utcnow())
                .where(bought.row_condition() & (ResalePurchase.status == "pending")).execute()) != 1:
            return bought.reread()
        listing = get_scoped(ResaleListing, org, bought.listing_id)
        try:
            with write_transaction():   # a savepoint: a refused sale leaves nothing of it
                _sell(org, listing, bought, booking)
        except _Refused as refused:
            _refuse(org, listing, bought, booking, refused.reason)
            ended = TICKET_ENDED.get(refused.reason)
            if ended:   # its ticket is no longer the seller's to sell: withdrawn now, not only by the later hook
                listings.end_listing(org, listing, ended)
    return bought.reread()


def _sell(org: Org, listing: ResaleListing, bought: ResalePurchase, booking: Booking) -> None:
    now = utcnow()
    won = (ResaleListing.update(status="sold", live_ticket=None, buyer_booking=booking.id, buyer_id=bought.buyer_id,
                                sold_at=now, updated_at=now)
           .where(listing.row_condition() & ResaleListing.status.in_(listings.LIVE)
                  & ((ResaleListing.reserved_booking == booking.id) | ResaleListing.reserved_until.is_null()
                     | (ResaleListing.reserved_until <= now))).execute())
    if won != 1:
        raise _Refused(_gone_reason(listing.reread()))
    buyer = get_scoped(Customer, org, bought.buyer_id)
    try:
        outcome = transfers.resell_ticket(org, get_scoped(Ticket, org, listing.ticket_id), buyer=buyer,
                                          booking_id=booking.id, price_paid=listing.price)
    except ApiError as error:   # scanned (or refunded, transferred) first: the door won
        status = error.extra.get("ticketStatus")
        raise _Refused(str(status if status and status != "valid" else error.type)) from error
    from plugins.resale.waitlist_offers import listing_ended, listing_sold

    listing_sold(org, listing.id, bought.buyer_id)   # the waiting-list offer this buyer took, if any, is accepted once
    listing_ended(org, listing.id)   # an offer passed on while this buyer paid ends; that fan waits again
    refund = _claim_seller_refund(org, listing)
    ResaleListing.update(buyer_ticket=outcome.new_ticket.id, seller_refund=refund.id if refund else None).where(
        listing.row_condition()).execute()
    ResalePurchase.update(status="sold", settled_at=now, updated_at=now).where(bought.row_condition()).execute()
    audit.record(org, "resale.sold", "ticket", listing.ticket_id, after={
        "listing_id": listing.id, "buyer_booking_id": booking.id, "buyer_ticket_id": outcome.new_ticket.id,
        "price": listing.price, "fee": listing.fee, "seller_refund_id": refund.id if refund else None,
        "seller_amount": refund.amount if refund else 0})
    hooks_for(org).notify("tickets_issued", org=org, booking=booking, tickets=[outcome.new_ticket])
    listings.notify(org, listing, "sold")


def _gone_reason(listing: ResaleListing) -> str:
    if listing.status in listings.LIVE:
        return "reserved_by_another"
    return listing.ended_reason or listing.status


def _claim_seller_refund(org: Org, listing: ResaleListing):
    """The seller's money back (the sale price minus the fee, never more than what is left of their payment),
    claimed on their booking now and paid from the outbox; None when the sale brings them nothing."""
    if listing.seller_amount <= 0:
        return None
    booking = listings.seller_booking(listing)
    if booking is None:
        return None
    amount = min(listing.seller_amount, booking.amount - booking.refunded_amount)
    if amount <= 0:
        return None
    refund = claim_money_refund(org, booking, amount, f"resale: listing {listing.id}")
    enqueue(pay_refund_job, org.id, refund.id)
    return refund


def _refuse(org: Org, listing: ResaleListing, bought: ResalePurchase, booking: Booking, reason: str) -> None:
    """The listing was not sold to this booking: the purchase is `refused` and the buyer's whole payment is
    claimed back and queued; the listing is let go if this booking still reserves it."""
    now = utcnow()
    refund = None
    left = booking.amount - booking.refunded_amount
    if left > 0:
        refund = claim_money_refund(org, booking, left, f"resale refused ({reason}): listing {listing.id}")
        enqueue(pay_refund_job, org.id, refund.id)
    ResalePurchase.update(status="refused", reason=reason[:32], refund_id=refund.id if refund else None,
                          settled_at=now, updated_at=now).where(bought.row_condition()).execute()
    ResaleListing.update(reserved_booking=None, reserved_until=None).where(
        listing.row_condition() & (ResaleListing.reserved_booking == booking.id)).execute()
    audit.record(org, "resale.refused", "booking", booking.id, after={
        "listing_id": listing.id, "reason": reason, "refund_id": refund.id if refund else None,
        "amount": refund.amount if refund else 0})


def my_purchase(org: Org, customer_id: str, booking_id: str) -> ResalePurchase:
    """The customer's purchase of a listing by its booking id (404 `sale_not_found` for anyone else's)."""
    bought = scoped(ResalePurchase, org).where((ResalePurchase.booking_id == str(booking_id)[:64])
                                               & (ResalePurchase.buyer_id == customer_id)).first()
    if bought is None:
        raise NotFound(f"No resale purchase with booking id {booking_id!r}.", type="sale_not_found")
    return bought


def release_expired(org: Org, booking_id: str) -> None:
    """The buyer's booking expired unpaid: the listing it reserved is free for the next buyer at once."""
    with write_transaction():
        (ResaleListing.update(reserved_booking=None, reserved_until=None, updated_at=utcnow())
         .where((ResaleListing.org == org.id) & (ResaleListing.reserved_booking == booking_id)).execute())


@job(policy=REFUND_POLICY)
def pay_refund_job(org_id: str, refund_id: str) -> None:
    """Job: pay a resale refund (the seller's share, or a refused buyer's payment) through the core's refunds;
    a provider outage raises, so the outbox retries it with the same idempotency key."""
    org = Org.get_by_id(org_id)
    refund = pay_claimed_refund(org, refund_id)
    if refund.status == "pending":
        raise RuntimeError(f"refund {refund_id} is still pending")
    log.info("resale refund %s: %s", refund_id, refund.status)
