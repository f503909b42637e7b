"""Resale listings: staff's per-event terms, a holder listing a ticket, withdrawing it, and what buyers see.

Every listing rule lives here (what may be listed, at which price, the fee); the sale itself is
`listing_sale.py`. Knows nothing of HTTP; never moves money, seats or tickets.
"""

from __future__ import annotations

from dataclasses import dataclass

from peewee import IntegrityError

from core.db import write_transaction
from core.errors import Conflict, NotFound, Unprocessable
from core.models import Booking, Event, Org, Ticket, TicketType, utcnow
from core.plugins import hooks_for
from core.services import audit
from core.services.cancellation import kept_refund
from core.services.ticket_configurations import allows_transfer
from core.services.ticket_queries import owned_ticket
from core.tenancy import get_scoped, scoped
from plugins.resale.listing_models import ResaleListing, ResaleTerms

LIVE = ("offered", "listed")
"""A live listing: its ticket is still the seller's, waiting for a buyer."""
FREE_SOURCES = ("comp", "partner")
"""Ticket sources whose holder paid nothing through Boxoffice: listed only when staff allow it, and then their
sale brings the seller nothing."""
REFUSED_STATUS = {
    "checked_in": ("already_checked_in", "This ticket has already been checked in; it cannot be resold."),
    "refunded": ("ticket_refunded", "This ticket was refunded; it cannot be resold."),
    "refunding": ("ticket_refunded", "A refund of this ticket is in progress; it cannot be resold."),
}


# --- terms ---------------------------------------------------------------------------------------

@dataclass
class TermsChange:
    """What staff send to change an event's resale terms (None: unchanged)."""

    enabled: bool | None = None
    price_cap: int | None = None
    clear_price_cap: bool = False
    fee_fixed: int | None = None
    fee_percent_bp: int | None = None
    allow_comps: bool | None = None


def terms_for(org: Org | str, event_id: str) -> ResaleTerms:
    """The event's resale terms as stored, or the defaults (off, face-value cap, no fee, no comps) unsaved."""
    org_id = org if isinstance(org, str) else org.id
    found = scoped(ResaleTerms, org_id).where(ResaleTerms.event == event_id).first()
    return found or ResaleTerms(org=org_id, event=event_id, enabled=False, price_cap=None, fee_fixed=0,
                                fee_percent_bp=0, allow_comps=False)


def event_terms(org: Org, event_id: str) -> tuple[Event, ResaleTerms]:
    """The tenant's event (404 `event_not_found`) with its resale terms."""
    event = get_scoped(Event, org, event_id, "event")
    return event, terms_for(org, event.id)


def public_event(org: Org, event_id: str) -> Event:
    """The tenant's event customers can see (404 `event_not_found` otherwise: not published yet, archived)."""
    event = get_scoped(Event, org, event_id, "event")
    if event.published_at is None or event.published_at > utcnow() or event.archived_at:
        raise NotFound(f"No event with id {event_id!r}.", type="event_not_found")
    return event


def set_terms(org: Org, event_id: str, change: TermsChange) -> ResaleTerms:
    """Staff change an event's resale terms (audited `resale.terms_changed`); listings made before keep the
    price and fee they were listed with."""
    event, terms = event_terms(org, event_id)
    before = terms_dict(terms)
    for name in ("enabled", "fee_fixed", "fee_percent_bp", "allow_comps"):
        value = getattr(change, name)
        if value is not None:
            setattr(terms, name, value)
    if change.clear_price_cap:
        terms.price_cap = None
    elif change.price_cap is not None:
        terms.price_cap = change.price_cap
    with write_transaction():
        if terms.id and scoped(ResaleTerms, org).where(ResaleTerms.id == terms.id).exists():
            terms.save()
        else:
            try:
                with write_transaction():
                    terms.save(force_insert=True)
            except IntegrityError:   # a concurrent first save won: apply this change on top of it
                stored = terms_for(org, event.id)
                terms.id = stored.id
                terms.save()
        audit.record(org, "resale.terms_changed", "event", event.id, before=before, after=terms_dict(terms))
    return terms


def terms_dict(terms: ResaleTerms) -> dict:
    """The terms as the audit log keeps them."""
    return {"enabled": terms.enabled, "price_cap": terms.price_cap, "fee_fixed": terms.fee_fixed,
            "fee_percent_bp": terms.fee_percent_bp, "allow_comps": terms.allow_comps}


def fee_for(terms: ResaleTerms, price: int) -> int:
    """The resale fee of a sale at `price`: the fixed part plus the percentage (basis points, rounded half
    up), never more than the price."""
    percent = (price * terms.fee_percent_bp + 5000) // 10000
    return min(price, terms.fee_fixed + percent)


# --- listing a ticket -------------------------------------------------------------------------------

@dataclass
class Quote:
    """What a holder may ask for a ticket and what a sale would pay them back."""

    ticket: Ticket
    ticket_type: TicketType
    terms: ResaleTerms
    origin: str
    cap: int

    def fee(self, price: int) -> int:
        """The fee kept from a sale at `price`."""
        return fee_for(self.terms, price)

    def seller_amount(self, price: int) -> int:
        """What a sale at `price` pays the seller back (nothing for a comp or partner ticket)."""
        return 0 if self.origin == "comp" else price - self.fee(price)


def _refuse_ticket(ticket: Ticket) -> Conflict:
    if kept_refund(ticket):
        return Conflict("This ticket was refunded; it cannot be resold.", type="ticket_refunded",
                        ticketStatus=ticket.status)
    kind, message = REFUSED_STATUS.get(ticket.status, (
        "ticket_not_valid", f"A {ticket.status.replace('_', ' ')} ticket cannot be resold."))
    return Conflict(message, type=kind, ticketStatus=ticket.status)


def resale_quote(org: Org, ticket: Ticket) -> Quote:
    """Whether `ticket` may be listed and for how much: 409 `resale_not_enabled` (the event's terms are off),
    `event_ended`, `not_transferable` (its type), `already_checked_in`, `ticket_refunded`, `ticket_not_valid`,
    `comp_not_listable` (a comp or partner ticket while staff do not allow them)."""
    terms = terms_for(org, ticket.event_id)
    if not terms.enabled:
        raise Conflict("Resale is not open for this event.", type="resale_not_enabled")
    event = get_scoped(Event, org, ticket.event_id, "event")
    if event.ends_at is not None and event.ends_at <= utcnow():
        raise Conflict("This event is over; its tickets can no longer be resold.", type="event_ended")
    ticket_type = get_scoped(TicketType, org, ticket.ticket_type_id, "ticket_type")
    if not allows_transfer(ticket_type):
        raise Conflict("This ticket type does not allow transfers, so it cannot be resold.",
                       type="not_transferable", ticketStatus=ticket.status)
    if ticket.status != "valid" or kept_refund(ticket):
        raise _refuse_ticket(ticket)
    origin = "comp" if ticket.source in FREE_SOURCES else "paid"
    if origin == "comp" and not terms.allow_comps:
        raise Conflict("Complimentary and partner tickets cannot be resold for this event.",
                       type="comp_not_listable")
    caps = [ticket_type.price] + ([terms.price_cap] if terms.price_cap is not None else [])
    if origin == "paid":
        caps.append(ticket.price_paid)   # a refund to the seller never exceeds what they paid for it
    return Quote(ticket, ticket_type, terms, origin, max(min(caps), 0))


def create_listing(org: Org, customer_id: str, ticket_id: str, price: int) -> ResaleListing:
    """The holder lists their ticket at `price` (at most the cap): it goes to the waiting list first (`offered`)
    when the waiting list takes it, else on public sale (`listed`). The ticket stays valid for its holder until
    it is sold. 404 `ticket_not_found` (not the caller's), 422 `price_above_cap`, 409 `already_listed` and the
    refusals of `resale_quote`."""
    ticket = owned_ticket(org, ticket_id, customer_id)
    quote = resale_quote(org, ticket)
    if price > quote.cap:
        raise Unprocessable(f"The price is capped at {quote.cap} minor units for this ticket.",
                            type="price_above_cap", cap=quote.cap, errors={"price": [f"at most {quote.cap}"]})
    listing = ResaleListing(org=org.id, event=ticket.event_id, ticket=ticket.id,
                            ticket_type_id=ticket.ticket_type_id, seller_id=customer_id, live_ticket=ticket.id,
                            status="listed", price=price, currency=quote.ticket_type.currency,
                            fee=quote.fee(price), seller_amount=quote.seller_amount(price), origin=quote.origin)
    try:
        with write_transaction():
            listing.save(force_insert=True)
            audit.record(org, "resale.listed", "ticket", ticket.id, after={
                "listing_id": listing.id, "price": price, "currency": listing.currency, "fee": listing.fee,
                "seller_amount": listing.seller_amount, "origin": listing.origin})
            _offer_first(org, listing)
            notify(org, listing, "listed")
    except IntegrityError:
        raise Conflict("This ticket is already listed for resale.", type="already_listed") from None
    return listing.reread()


def _offer_first(org: Org, listing: ResaleListing) -> None:
    """The waiting list gets the listing first (`plugins.resale.waitlist.offer_listing`): an offer makes it
    `offered`; nobody in line leaves it `listed`."""
    from plugins.resale.waitlist import offer_listing

    if offer_listing(org, listing) is not None:
        ResaleListing.update(status="offered").where(listing.row_condition()).execute()
        listing.status = "offered"


def listing_unreserved(org: Org | str, listing_id: str) -> bool:
    """Nobody on the waiting list took the offered listing: it goes on public sale. True when this call moved
    it (`offered` -> `listed`); False when it was not offered (already listed, sold or withdrawn)."""
    org_id = org if isinstance(org, str) else org.id
    with write_transaction():
        moved = (ResaleListing.update(status="listed", updated_at=utcnow())
                 .where((ResaleListing.id == listing_id) & (ResaleListing.org == org_id)
                        & (ResaleListing.status == "offered")).execute())
    return moved == 1


def claim_offered(org: Org | str, listing_id: str) -> bool:
    """Before the waiting list passes a listing on: True when it is still `offered`, and its row is now locked
    by this transaction (a conditional UPDATE), so a holder withdrawing it at the same time waits for the pass
    and then ends the new offer (`end_listing`); False once withdrawn or sold."""
    org_id = org if isinstance(org, str) else org.id
    return (ResaleListing.update(updated_at=utcnow())
            .where((ResaleListing.id == listing_id) & (ResaleListing.org == org_id)
                   & (ResaleListing.status == "offered")).execute()) == 1


def my_listing(org: Org, customer_id: str, ticket_id: str) -> ResaleListing:
    """The newest listing of the customer's ticket (404 `ticket_not_found` / `listing_not_found`); a sold
    ticket is no longer the seller's, so it is found through the listing's seller."""
    listing = (scoped(ResaleListing, org)
               .where((ResaleListing.ticket == str(ticket_id)[:64]) & (ResaleListing.seller_id == customer_id))
               .order_by(ResaleListing.created_at.desc(), ResaleListing.id.desc()).first())
    if listing is None:
        owned_ticket(org, ticket_id, customer_id)   # 404 ticket_not_found when not theirs
        raise NotFound("This ticket has never been listed for resale.", type="listing_not_found")
    return listing


def withdraw(org: Org, customer_id: str, ticket_id: str) -> ResaleListing:
    """The holder withdraws their live listing: 409 `listing_reserved` while a buyer's payment is in progress,
    409 `listing_not_live` once it was sold or withdrawn."""
    listing = my_listing(org, customer_id, ticket_id)
    if end_listing(org, listing, "holder", respect_reservation=True):
        return listing.reread()
    current = listing.reread()
    if current.status in LIVE:
        raise Conflict("A buyer is paying for this listing right now; try again in a few minutes.",
                       type="listing_reserved", reservedUntil=current.reserved_until.strftime("%Y-%m-%dT%H:%M:%SZ"))
    raise Conflict(f"This listing is {current.status}; it can no longer be withdrawn.", type="listing_not_live",
                   listingStatus=current.status)


def end_listing(org: Org | str, listing: ResaleListing, reason: str, *, respect_reservation: bool = False) -> bool:
    """Withdraw a live listing (one conditional UPDATE) for `reason`; with `respect_reservation`, not while a
    buyer's unexpired booking holds it. True when this call withdrew it."""
    org_id = org if isinstance(org, str) else org.id
    now = utcnow()
    condition = listing.row_condition() & ResaleListing.status.in_(LIVE)
    if respect_reservation:
        condition &= ResaleListing.reserved_until.is_null() | (ResaleListing.reserved_until <= now)
    with write_transaction():
        won = (ResaleListing.update(status="withdrawn", live_ticket=None, ended_reason=reason, ended_at=now,
                                    updated_at=now).where(condition).execute())
        if won == 1:
            from plugins.resale.waitlist_offers import listing_ended

            listing_ended(org_id, listing.id)   # its open waiting-list offer ends; that fan waits again
            audit.record(org_id, "resale.withdrawn", "ticket", listing.ticket_id,
                         after={"listing_id": listing.id, "reason": reason})
            notify(org_id, listing, "withdrawn")
    return won == 1


def withdraw_for_ticket(org: Org | str, ticket_id: str, reason: str) -> bool:
    """A ticket stopped being resellable (checked in, refunded, cancelled, transferred): its live listing is
    withdrawn, whoever is paying for it (that buyer's sale is then refused and refunded)."""
    org_id = org if isinstance(org, str) else org.id
    listing = scoped(ResaleListing, org_id).where(ResaleListing.live_ticket == ticket_id).first()
    return listing is not None and end_listing(org_id, listing, reason)


def notify(org: Org | str, listing: ResaleListing, change: str) -> None:
    """Record the `resale_listing_changed` hook (webhooks, e-mails) for `change` in the current transaction."""
    org_row = org if isinstance(org, Org) else Org.get_by_id(org)
    hooks_for(org_row).notify("resale_listing_changed", org=org_row, listing=listing.reread(), change=change)


# --- buyers' view ---------------------------------------------------------------------------------

def on_sale(org: Org, event_id: str) -> list[ResaleListing]:
    """The event's listings on public sale now (resale open for it, not reserved by a buyer who is paying),
    cheapest first; one query."""
    now = utcnow()
    open_events = scoped(ResaleTerms, org).select(ResaleTerms.event).where(
        (ResaleTerms.event == event_id) & (ResaleTerms.enabled == True))  # noqa: E712 - SQL, not Python truth
    return list(scoped(ResaleListing, org)
                .where((ResaleListing.event == event_id) & (ResaleListing.status == "listed")
                       & (ResaleListing.reserved_until.is_null() | (ResaleListing.reserved_until <= now))
                       & ResaleListing.event.in_(open_events))
                .order_by(ResaleListing.price, ResaleListing.created_at, ResaleListing.id))


def public_listing(org: Org, event_id: str, listing_id: str) -> ResaleListing:
    """A listing of the event a buyer may look at (404 `listing_not_found` for another event's or tenant's)."""
    listing = scoped(ResaleListing, org).where((ResaleListing.id == str(listing_id)[:64])
                                               & (ResaleListing.event == str(event_id)[:64])).first()
    if listing is None:
        raise NotFound(f"No resale listing with id {listing_id!r}.", type="listing_not_found")
    return listing


def seller_booking(listing: ResaleListing) -> Booking | None:
    """The booking the seller paid for the listed ticket with, or None (a comp without booking)."""
    ticket = get_scoped(Ticket, listing.org_id, listing.ticket_id)
    if not ticket.booking_id:
        return None
    return scoped(Booking, listing.org_id).where(Booking.id == ticket.booking_id).first()

