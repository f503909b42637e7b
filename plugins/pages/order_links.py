"""The signed links of the order and ticket pages: a booking's order page (`/e/{org}/orders/{token}`, in the
confirmation e-mail) and one ticket's page (`/e/{org}/tickets/{token}`, for a transfer recipient), no account needed.

Pure functions of their arguments and the deployment's secret (`core.kits.links`); never reads a request. A
forged, altered, expired or foreign token names nothing (the page is a 404 like a booking that does not exist).
"""

from __future__ import annotations

from core.errors import NotFound
from core.kits.links import read_signed_link_token, signed_link_token
from core.models import Org, Ticket
from core.services.event_lists import CLAIM_PAGE, pages_root
from core.services.ticket_links import (
    LINK_MAX_AGE_SECONDS,
    TICKET_PAGE_PURPOSE,
    ticket_for_signed_link,
    ticket_page_token,
)
from plugins.pages.addressing import ACCOUNT_SEGMENT, ORDERS_SEGMENT

ORDER_PURPOSE = "pages-order"
TICKET_PURPOSE = TICKET_PAGE_PURPOSE
ORDER_LINK_MAX_AGE = LINK_MAX_AGE_SECONDS   # as long as the core's ticket download links


def order_token(org_id: str, booking_id: str) -> str:
    """The signed token of a booking's order page (whoever holds it sees the booking's tickets and may move
    them, as the buyer may)."""
    return signed_link_token(ORDER_PURPOSE, {"o": org_id, "b": booking_id})


def order_page_url(org_id: str, booking_id: str) -> str:
    """The absolute order page link of a booking: `<pages root>/orders/<token>` (`event_lists.pages_root`).
    The checkout's confirmation step links here."""
    return f"{pages_root(org_id)}/{ORDERS_SEGMENT}/{order_token(org_id, booking_id)}"


def booking_id_of(org: Org, token: str | None) -> str | None:
    """The booking id an order token of `org` names, or None (forged, altered, older than ORDER_LINK_MAX_AGE,
    or signed for another tenant)."""
    data = read_signed_link_token(ORDER_PURPOSE, token or "", ORDER_LINK_MAX_AGE) or {}
    booking_id = data.get("b")
    return booking_id if data.get("o") == org.id and isinstance(booking_id, str) else None


ticket_token = ticket_page_token   # the core makes a ticket page's link (`core.services.ticket_links`)


def ticket_of(org: Org, token: str | None) -> Ticket | None:
    """The ticket of `org` a ticket page token names, or None (any other token, or a ticket that is gone)."""
    try:
        owner, ticket = ticket_for_signed_link(TICKET_PURPOSE, token or "")
    except NotFound:   # any bad token: the page says "not found" itself
        return None
    return ticket if owner.id == org.id else None



def site_links(org_id: str) -> dict[str, str]:
    """`account_page` (a customer's orders and tickets, after signing in) and `claim_page` (the claim page
    without its `?token=`): absolute URLs."""
    root = pages_root(org_id)
    return {"claim_page": f"{root}/{CLAIM_PAGE}", "account_page": f"{root}/{ACCOUNT_SEGMENT}"}
