"""The pages' absolute links for messages and redirects: an event's page and calendar file (from the core's
`event_lists.page_links`, the one place those URLs are made) and a booking's page by its signed token.

Pure functions of their arguments and the deployment's secret; never reads a request, never queries.
"""

from __future__ import annotations

from core.kits.links import read_signed_link_token, signed_link_token
from core.models import Booking, Event, Org
from core.services.event_lists import page_links
from plugins.pages.addressing import ICS_SUFFIX
from plugins.pages.order_links import order_page_url, site_links

TOKEN_PURPOSE = "pages-checkout"
TOKEN_MAX_AGE = 90 * 24 * 3600    # a confirmation e-mail's link to the booking's page keeps working this long


def booking_token(booking_id: str) -> str:
    """The signed token of a booking's page (whoever holds the link may see its summary and pay it)."""
    return signed_link_token(TOKEN_PURPOSE, {"b": booking_id})


def booking_id_of(token: str | None) -> str | None:
    """The booking id a token signed here names, or None (forged, altered, older than TOKEN_MAX_AGE)."""
    data = read_signed_link_token(TOKEN_PURPOSE, token or "", TOKEN_MAX_AGE)
    found = data.get("b") if data else None
    return found if isinstance(found, str) else None


def attendee_links(org: Org, event: Event, booking: Booking | None) -> dict[str, str]:
    """`event_page`, `calendar`, `account_page`, `claim_page` and, for a booking, `booking_page` (the checkout's
    page of the booking) and `order_page` (its tickets, `order_links`): absolute URLs under the public URL (or
    the tenant's own hostname)."""
    made = page_links(org.id, event.slug)
    links = {"event_page": made["event_page"], "calendar": made["event_page"] + ICS_SUFFIX, **site_links(org.id)}
    if booking is not None:
        links["booking_page"] = f"{made['order_page']}/{booking_token(booking.id)}"
        links["order_page"] = order_page_url(org.id, booking.id)
    return links
