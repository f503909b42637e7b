"""What the waiting list shows: a customer's entries with their offers and checkout links, and staff's view of an
event's lines (demand per ticket type, the line in order, the offers) as JSON rows or CSV.

Read only; never changes an entry or an offer.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from peewee import JOIN

from core.models import Booking, Customer, Event, Org, TicketType
from core.plugins import hooks_for
from core.tenancy import along, get_scoped, scoped
from core.timefmt import iso_utc
from plugins.resale.waitlist import OPEN, attach_offers
from plugins.resale.waitlist_models import WaitlistEntry, WaitlistOffer
from plugins.resale.waitlist_offers import listing_offer_link

CSV_COLUMNS = ("position", "entry_id", "ticket_type_id", "ticket_type", "customer_id", "email", "name", "seats",
               "status", "joined_at", "offer_id", "offer_status", "offer_seats", "offer_expires_at",
               "offer_booking_id", "offer_listing_id")


def checkout_url(org: Org, offer: WaitlistOffer | None) -> str | None:
    """Where the customer pays an open offer: the booking's checkout page (from the tenant's attendee pages,
    `booking_page`) or the resale listing's checkout; None when the offer is not open or no page serves it."""
    if offer is None or offer.status != "offered":
        return None
    if offer.listing_id:
        return listing_offer_link(org.id, offer)
    booking = get_scoped(Booking, org, offer.booking_id, "booking")
    links: dict[str, str] = {}
    for answer in hooks_for(org).attendee_links(org=org, event=booking.event, booking=booking):
        links.update(answer or {})
    return links.get("booking_page")


def offer_view(org: Org, offer: WaitlistOffer | None, *, with_link: bool) -> dict | None:
    """An offer as the API shows it (camelCase)."""
    if offer is None:
        return None
    view = {"id": offer.id, "status": offer.status, "seats": offer.seats, "expiresAt": iso_utc(offer.expires_at),
            "bookingId": offer.booking_id, "listingId": offer.listing_id, "createdAt": iso_utc(offer.created_at),
            "settledAt": iso_utc(offer.settled_at), "boughtForCustomer": offer.bought_for_customer,
            "chargeFailure": offer.charge_failure}
    if with_link:
        view["checkoutUrl"] = checkout_url(org, offer)
    return view


def entry_view(org: Org, entry: WaitlistEntry, *, with_link: bool = True) -> dict:
    """An entry with its position (None once it left the line) and newest offer, as the API shows it."""
    return {"id": entry.id, "eventId": entry.event_id, "ticketTypeId": entry.ticket_type_id, "seats": entry.seats,
            "status": entry.status, "position": getattr(entry, "position", None),
            "joinedAt": iso_utc(entry.joined_at), "buyForMe": entry.buy_for_me,
            "offer": offer_view(org, getattr(entry, "offer", None), with_link=with_link)}


def event_line(org: Org, event_id: str) -> dict:
    """Staff's view of an event's waiting lists: `demand` per ticket type (open entries and seats they want),
    `line` (every entry, open ones first in line order, with its position, customer and newest offer) and
    `offers` (every offer, newest first)."""
    event = get_scoped(Event, org, event_id, "event")
    rows = list(scoped(WaitlistEntry, org, WaitlistEntry, Customer.email,
                        Customer.name.alias("customer_name"), TicketType.name.alias("ticket_type_name"))
                .join(Customer, on=along(WaitlistEntry.customer))
                .switch(WaitlistEntry).join(TicketType, JOIN.INNER, on=along(WaitlistEntry.ticket_type))
                .where(WaitlistEntry.event == event.id)
                .order_by(WaitlistEntry.joined_at, WaitlistEntry.id).objects())
    attach_offers(org.id, rows)
    demand: dict[str, dict] = {}
    positions: dict[str, int] = {}
    for entry in rows:
        line = demand.setdefault(entry.ticket_type_id, {"ticketTypeId": entry.ticket_type_id,
                                                        "ticketTypeName": entry.ticket_type_name, "entries": 0,
                                                        "seatsWanted": 0, "offered": 0})
        if entry.status in OPEN:
            positions[entry.ticket_type_id] = positions.get(entry.ticket_type_id, 0) + 1
            line["entries"] += 1
            line["seatsWanted"] += entry.seats
            line["offered"] += entry.status == "offered"
    line_rows = sorted(rows, key=lambda e: (e.position is None, e.ticket_type_id, e.position or 0))
    offers = (scoped(WaitlistOffer, org).where(WaitlistOffer.event == event.id)
              .order_by(WaitlistOffer.created_at.desc(), WaitlistOffer.id))
    return {"eventId": event.id, "demand": list(demand.values()),
            "line": [dict(entry_view(org, e, with_link=False), customerId=e.customer_id, email=e.email,
                          name=e.customer_name, ticketTypeName=demand[e.ticket_type_id]["ticketTypeName"])
                     for e in line_rows],
            "offers": [dict(offer_view(org, o, with_link=False), entryId=o.entry_id, customerId=o.customer_id,
                            ticketTypeId=o.ticket_type_id) for o in offers]}


def _cell(value) -> str:
    """A CSV cell a spreadsheet shows as text, never as a formula (a leading = + - @ gets a quote)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def event_line_csv(org: Org, event_id: str) -> Iterator[str]:
    """The line of `event_line` as CSV lines (header first; one row per entry with its newest offer)."""
    return _csv_lines(event_line(org, event_id))   # read (and 404) before the answer starts


def _csv_lines(view: dict) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flushed() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flushed()
    for row in view["line"]:
        offer = row["offer"] or {}
        values = (row["position"] or "", row["id"], row["ticketTypeId"], row["ticketTypeName"], row["customerId"],
                  row["email"], row["name"], row["seats"], row["status"], row["joinedAt"], offer.get("id") or "",
                  offer.get("status") or "", offer.get("seats") or "", offer.get("expiresAt") or "",
                  offer.get("bookingId") or "", offer.get("listingId") or "")
        writer.writerow([_cell(value) for value in values])
        yield flushed()
