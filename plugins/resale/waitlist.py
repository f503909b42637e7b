"""The waiting list: customers queue for a sold-out ticket type; returned seats (or a resale listing) are offered
to the first in line whose request fits, before any other buyer can take them.

Entries change state only by conditional UPDATEs on their current status, inside the transaction of the change
that causes it, so two workers never offer one entry twice. Never holds seats itself: an offer is a pending
booking made by the core's booking service (`core.services.booking.purchase`), which holds the seats.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable

from peewee import fn

from core.db import write_transaction
from core.errors import Conflict, NotFound, Unprocessable
from core.models import Customer, Event, Org, TicketType, new_id, utcnow
from core.payments import Step
from core.plugins import hooks_for, plugin_settings
from core.services import capacity, email_verification, gateways
from core.tenancy import get_scoped, scoped
from plugins.resale.waitlist_models import WaitlistEntry, WaitlistOffer

log = logging.getLogger(__name__)

PLUGIN = "resale"
DEFAULT_MAX_SEATS = 10
DEFAULT_OFFER_MINUTES = 30
OPEN = ("waiting", "offered")
"""The states in which an entry is still in the line (it counts for a customer's position and for demand)."""


@dataclasses.dataclass(frozen=True)
class WaitlistSettings:
    """A tenant's waiting-list settings (`boxoffice tenants config ORG resale key=value`)."""

    max_seats: int = DEFAULT_MAX_SEATS
    offer_minutes: int = DEFAULT_OFFER_MINUTES


def _bounded(value, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(value), low), high)
    except (TypeError, ValueError):
        return default


def settings_of(org: Org | str) -> WaitlistSettings:
    """`waitlist_max_seats` (1-100, default 10) and `waitlist_offer_minutes` (1-1440, default 30)."""
    values = plugin_settings(org, PLUGIN)
    return WaitlistSettings(_bounded(values.get("waitlist_max_seats"), DEFAULT_MAX_SEATS, 1, 100),
                            _bounded(values.get("waitlist_offer_minutes"), DEFAULT_OFFER_MINUTES, 1, 1440))


def org_id_of(org: Org | str) -> str:
    """The tenant id of an `Org` or an id."""
    return org if isinstance(org, str) else org.id


def announce(org: Org | str, entry: WaitlistEntry, state: str, offer: WaitlistOffer | None = None) -> None:
    """Record `waitlist_changed` for the entry's new `state` in the current write transaction (e-mail and webhook
    plugins run it after the commit)."""
    from plugins.resale.waitlist_views import checkout_url

    org_row = org if isinstance(org, Org) else Org.get_by_id(org)
    relay = hooks_for(org_row.id)
    if relay.consumes("waitlist_changed"):
        relay.notify("waitlist_changed", org=org_row, entry=entry, offer=offer, state=state,
                     checkout_url=checkout_url(org_row, offer) if state == "offered" else None)


# --- who is waiting ----------------------------------------------------------------------------------

def waiting_ahead(entry: WaitlistEntry) -> int:
    """How many open entries of the same ticket type joined before this one."""
    earlier = (WaitlistEntry.joined_at < entry.joined_at) | (
        (WaitlistEntry.joined_at == entry.joined_at) & (WaitlistEntry.id < entry.id))
    return (scoped(WaitlistEntry, entry.org_id)
            .where((WaitlistEntry.ticket_type == entry.ticket_type_id) & WaitlistEntry.status.in_(OPEN) & earlier)
            .count())


def first_fitting(org_id: str, ticket_type_id: str, seats: int | None,
                  skip: Iterable[str] = ()) -> WaitlistEntry | None:
    """The first waiting entry of the type in line order whose request fits `seats` (None: unlimited); entries
    wanting more wait in their place (skip-ahead)."""
    query = scoped(WaitlistEntry, org_id).where((WaitlistEntry.ticket_type == ticket_type_id)
                                                & (WaitlistEntry.status == "waiting"))
    if seats is not None:
        query = query.where(WaitlistEntry.seats <= seats)
    skipped = list(skip)
    if skipped:
        query = query.where(WaitlistEntry.id.not_in(skipped))
    return query.order_by(WaitlistEntry.joined_at, WaitlistEntry.id).first()


def smallest_waiting(org_id: str, ticket_type_ids: Iterable[str]) -> dict[str, int]:
    """{ticket type id: the smallest request waiting for it}, for the types that have anyone waiting (one query)."""
    ids = list(ticket_type_ids)
    if not ids:
        return {}
    rows = (scoped(WaitlistEntry, org_id, WaitlistEntry.ticket_type, fn.MIN(WaitlistEntry.seats).alias("least"))
            .where(WaitlistEntry.ticket_type.in_(ids) & (WaitlistEntry.status == "waiting"))
            .group_by(WaitlistEntry.ticket_type).tuples())
    return {tt_id: least for tt_id, least in rows}


def seats_left(org_id: str, ticket_type_id: str) -> int | None:
    """Seats of the type on sale now, bounded by its event (None: unlimited)."""
    ticket_type = get_scoped(TicketType, org_id, ticket_type_id, "ticket_type")
    event = get_scoped(Event, org_id, ticket_type.event_id, "event")
    return capacity.available_seats(ticket_type, event)


def reserved_for_line(org_id: str, ticket_type_ids: Iterable[str]) -> str | None:
    """The id of a ticket type among these whose free seats belong to the waiting list (someone waits whose
    request they fit), else None: the one rule that keeps returned seats from other buyers until they are offered."""
    for tt_id, least in smallest_waiting(org_id, ticket_type_ids).items():
        left = seats_left(org_id, tt_id)
        if left is None or left >= least:
            return tt_id
    return None


# --- joining and leaving -----------------------------------------------------------------------------

def ticket_type_of_event(org: Org, event_id: str, ticket_type_id: str) -> TicketType:
    """A public, unarchived ticket type of a published event (404 `event_not_found` / `ticket_type_not_found`):
    the ticket types a customer may queue for."""
    event = get_scoped(Event, org, event_id, "event")
    if event.archived_at is not None or event.published_at is None or event.published_at > utcnow():
        raise NotFound(f"No event with id {event_id!r}.", type="event_not_found")
    ticket_type = scoped(TicketType, org).where((TicketType.id == str(ticket_type_id)[:64])
                                               & (TicketType.event == event.id)).first()
    if ticket_type is None or ticket_type.visibility == "private" or ticket_type.archived_at is not None:
        raise NotFound(f"No ticket type with id {ticket_type_id!r} in this event.", type="ticket_type_not_found")
    return ticket_type


def _check_sold_out(org: Org, ticket_type: TicketType) -> None:
    """409 `not_sold_out` while the type still has seats on sale that nobody in line is owed."""
    left = seats_left(org.id, ticket_type.id)
    if left is not None and left <= 0:
        return
    if smallest_waiting(org.id, [ticket_type.id]):
        return
    raise Conflict(f"{ticket_type.name!r} is not sold out; buy your tickets instead.", type="not_sold_out",
                   ticketTypeId=ticket_type.id, remaining=left)


@dataclasses.dataclass(frozen=True)
class SavedMethodSetup:
    """What a customer needs to save a payment method for "buy for me": the gateway and its client secret."""

    gateway: str
    reference: str
    client_secret: str


def start_buy_for_me(org: Org, customer: Customer) -> SavedMethodSetup:
    """Start saving the customer's payment method with the tenant's default gateway, which must be able to save
    one and charge it off-session (422 `buy_for_me_unavailable` otherwise). Calls the provider: run it outside a
    write transaction."""
    chosen = gateways.default_gateway(org)
    gateway = gateways.gateways(org).get(chosen) if chosen else None
    if gateway is None or not (gateway.provider.supports(Step.SAVE_METHOD)
                               and gateway.provider.supports(Step.CHARGE_SAVED)):
        raise Unprocessable("This organisation's payment gateway cannot save a card to buy for you; join without "
                            "`buyForMe`.", type="buy_for_me_unavailable")
    answer = gateway.provider.start_saving_method(org, new_id(), customer.email, customer.name, gateway.settings)
    return SavedMethodSetup(chosen, answer["reference"], answer["client_secret"])


def join(org: Org, customer_id: str, event_id: str, ticket_type_id: str, seats: int,
         buy_for_me: bool = False) -> tuple[WaitlistEntry, SavedMethodSetup | None]:
    """Put the customer in line for `seats` seats of a sold-out type (422 `too_many_seats` above the tenant's
    maximum, 409 `not_sold_out` while seats are on sale, 403 `email_unverified` when the tenant wants buyers'
    e-mails verified and this one is not).

    One entry per customer and type: joining again while waiting changes the seats and keeps the place; while
    an offer is open it is 409 `offer_pending`; an entry that ended (accepted, lapsed, left) joins again at the
    back of the line.

    With `buy_for_me`, the customer consents to be charged when seats are offered: the answer's setup is what
    their browser completes to save a card (the provider's widget); until it is saved, offers are normal ones.
    """
    most = settings_of(org).max_seats
    if seats > most:
        raise Unprocessable(f"At most {most} seats per waiting-list entry.", type="too_many_seats", maxSeats=most)
    ticket_type = ticket_type_of_event(org, event_id, ticket_type_id)
    customer = get_scoped(Customer, org, customer_id, "customer")
    email_verification.check_buyer(org, customer)   # an offer is a purchase: the same rule, checked up front
    _check_sold_out(org, ticket_type)
    setup = start_buy_for_me(org, customer) if buy_for_me else None
    saving = {"buy_for_me": buy_for_me, "payment_gateway": setup.gateway if setup else None,
              "setup_ref": setup.reference if setup else None}
    now = utcnow()
    with write_transaction():
        entry = scoped(WaitlistEntry, org).where((WaitlistEntry.ticket_type == ticket_type.id)
                                                 & (WaitlistEntry.customer == customer.id)).first()
        if entry is not None and entry.status == "offered":
            raise Conflict("You have an open offer for this ticket type; pay for it or leave the list first.",
                           type="offer_pending", entryId=entry.id)
        if entry is not None and entry.status == "waiting":
            WaitlistEntry.update(seats=seats, updated_at=now, **saving).where(
                entry.row_condition() & (WaitlistEntry.status == "waiting")).execute()
            return entry.reread(), setup
        if entry is None:
            entry = WaitlistEntry.create(org=org.id, event=ticket_type.event_id, ticket_type=ticket_type.id,
                                         customer=customer.id, seats=seats, status="waiting", joined_at=now,
                                         **saving)
        else:
            won = (WaitlistEntry.update(seats=seats, status="waiting", joined_at=now, updated_at=now, **saving)
                   .where(entry.row_condition() & WaitlistEntry.status.not_in(OPEN)).execute())
            if won != 1:
                raise Conflict("This entry changed meanwhile; try again.", type="entry_changed")
            entry = entry.reread()
        announce(org, entry, "joined")
    return entry, setup


def leave(org: Org, customer_id: str, event_id: str, ticket_type_id: str | None = None) -> list[WaitlistEntry]:
    """Take the customer's open entries of the event (of one type when given) out of the line; an open offer on
    seats is given up at once (its pending booking's seats go back, then on to the next in line). 404
    `waitlist_entry_not_found` when there is none."""
    from plugins.resale import waitlist_offers

    query = scoped(WaitlistEntry, org).where((WaitlistEntry.event == str(event_id)[:64])
                                             & (WaitlistEntry.customer == customer_id)
                                             & WaitlistEntry.status.in_(OPEN))
    if ticket_type_id:
        query = query.where(WaitlistEntry.ticket_type == str(ticket_type_id)[:64])
    left: list[WaitlistEntry] = []
    for entry in list(query):
        if waitlist_offers.withdraw(org, entry):
            entry.status = "left"
            left.append(entry)
    if not left:
        raise NotFound("You are not on the waiting list of this event.", type="waitlist_entry_not_found")
    return left


def customer_entries(org: Org | str, customer_id: str, event_id: str | None = None) -> list[WaitlistEntry]:
    """The customer's entries (of one event when given: 404 `event_not_found` when the tenant has no such
    event), newest first, each with its current offer."""
    query = scoped(WaitlistEntry, org).where(WaitlistEntry.customer == customer_id)
    if event_id is not None:
        query = query.where(WaitlistEntry.event == get_scoped(Event, org, event_id, "event").id)
    entries = list(query.order_by(WaitlistEntry.joined_at.desc()))
    attach_offers(org_id_of(org), entries)
    return entries


def attach_offers(org_id: str, entries: list[WaitlistEntry]) -> None:
    """Set `entry.offer` (its newest offer, or None) and `entry.position` (1-based among open entries, None
    once it left the line) on each entry."""
    offers: dict[str, WaitlistOffer] = {}
    if entries:
        for offer in (scoped(WaitlistOffer, org_id).where(WaitlistOffer.entry.in_([e.id for e in entries]))
                      .order_by(WaitlistOffer.created_at)):
            offers[offer.entry_id] = offer
    for entry in entries:
        entry.offer = offers.get(entry.id)
        entry.position = waiting_ahead(entry) + 1 if entry.status in OPEN else None


def offer_deadline(org: Org | str, now: dt.datetime | None = None) -> dt.datetime:
    """When an offer made now runs out (the tenant's `waitlist_offer_minutes`)."""
    return (now or utcnow()) + dt.timedelta(minutes=settings_of(org).offer_minutes)


def offer_listing(org: Org, listing) -> WaitlistOffer | None:
    """A resale listing was created: reserve it for the first in line of its ticket type whose request fits
    its seats, with an offer linking to the listing's checkout; None when nobody waits (then the listing goes
    on public sale). `listing` needs `id`, `ticket_type_id` and optionally `seats` (default 1).

    The interface the resale listings call; see `waitlist_offers.offer_listing_to_line`."""
    from plugins.resale import waitlist_offers

    return waitlist_offers.offer_listing_to_line(org, listing.id, listing.ticket_type_id,
                                                 int(getattr(listing, "seats", 1) or 1))
