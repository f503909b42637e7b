"""What an event page shows of an event: its ticket types as offers (price, fee, seats left and where the sale
stands), its schedule, cover, place and description, read through the core's services.

Computes nothing the client API does not: availability is `capacity.available_seats` and `is_on_sale`, the fee
`pricing.unit_fee`, the list `ticket_types.list_ticket_types`; only "ends soon" is the page's own wording.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from markupsafe import Markup

from core.api.ticket_type_schema import is_on_sale
from core.models import Event, Org, TicketType, Venue
from core.services import event_queries, holds, ticket_types
from core.services.capacity import available_seats
from core.services.event_covers import cover_urls
from core.services.event_lists import description_text, sanitize_description
from core.services.event_pages import location_text
from core.services.pricing import unit_fee
from core.tenancy import scoped

ENDS_SOON = dt.timedelta(hours=48)   # a sale ending within this is announced as ending soon
SOLD_OUT, NOT_STARTED, ENDED, ENDS_SOON_STATE, ON_SALE = "sold_out", "not_started", "ended", "ends_soon", "on_sale"
MAP_SEARCH = "https://www.openstreetmap.org/search?"


@dataclass(frozen=True)
class Offer:
    """A ticket type as a buyer sees it."""

    ticket_type: TicketType
    price: int
    fee: int
    available: int | None     # None: no limit
    state: str                # SOLD_OUT, NOT_STARTED, ENDED, ENDS_SOON_STATE or ON_SALE
    state_at: dt.datetime | None

    @property
    def buyable(self) -> bool:
        """On sale with seats left."""
        return self.state in (ON_SALE, ENDS_SOON_STATE)


def sale_state(ticket_type: TicketType, available: int | None, now: dt.datetime) -> tuple[str, dt.datetime | None]:
    """Where a ticket type's sale stands now, with the time that goes with it (sale start or end)."""
    if available == 0:
        return SOLD_OUT, None
    if not is_on_sale(ticket_type, now):
        if ticket_type.sale_start is not None and ticket_type.sale_start > now:
            return NOT_STARTED, ticket_type.sale_start
        return ENDED, ticket_type.sale_end
    if ticket_type.sale_end is not None and ticket_type.sale_end - now <= ENDS_SOON:
        return ENDS_SOON_STATE, ticket_type.sale_end
    return ON_SALE, ticket_type.sale_end


def event_offers(org: Org, event: Event, now: dt.datetime) -> list[Offer]:
    """The event's public ticket types as offers, after releasing its overdue holds (as the client API does)."""
    holds.release_overdue_of_events(org.id, [event.id])
    found = []
    for ticket_type in ticket_types.list_ticket_types(org, event, public_only=True):
        available = available_seats(ticket_type, ticket_type.event)
        state, state_at = sale_state(ticket_type, available, now)
        found.append(Offer(ticket_type, ticket_type.price, unit_fee(ticket_type), available, state, state_at))
    return found


@dataclass(frozen=True)
class EventFacts:
    """An event's presentation: place, map link, cover, description (sanitised HTML and plain text), schedule."""

    event: Event
    location: str
    map_url: str | None
    cover: dict | None
    description_html: Markup
    description_text: str
    sessions: list[Event]


def event_facts(org: Org, event: Event) -> EventFacts:
    """What the event page shows besides its offers; the description goes through the core's sanitiser."""
    venue = scoped(Venue, org).where(Venue.id == event.venue_id).first() if event.venue_id else None
    location = location_text(event, venue)
    clean = sanitize_description(event.description)
    sessions = [] if event.type == "date" else event_queries.schedule(org, event)
    return EventFacts(event, location, MAP_SEARCH + urlencode({"query": location}) if location else None,
                      cover_urls(event), Markup(clean), description_text(clean), sessions)
