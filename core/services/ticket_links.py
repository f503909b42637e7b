"""Signed, expiring download links for one ticket (its PDF, its Apple Wallet pass), fit for an e-mail: they need
no row and no login, name one ticket of one tenant, are signed per purpose with the deployment's secret
(`core.kits.links`), and expire.

Never reads more than the org and ticket a token names; a forged, altered, expired or foreign token is a 404
exactly like a ticket that does not exist.
"""

from __future__ import annotations

from core.config import current_config
from core.errors import NotFound
from core.kits.links import read_signed_link_token, signed_link_token
from core.models import Org, Ticket
from core.services.event_lists import TICKET_PAGES, pages_root
from core.tenancy import get_scoped, load_org

LINK_MAX_AGE_SECONDS = 400 * 24 * 3600   # longer than the time between a sale and its event, as a rule
TICKET_PAGE_PURPOSE = "pages-ticket"


def ticket_page_token(org_id: str, ticket_id: str) -> str:
    """The signed token of one ticket's attendee page (whoever holds it sees the ticket and its QR)."""
    return signed_link_token(TICKET_PAGE_PURPOSE, {"o": org_id, "t": ticket_id})


def ticket_page_url(org_id: str, ticket_id: str) -> str:
    """The absolute link of one ticket's attendee page: `<pages root>/tickets/<token>`
    (`event_lists.pages_root`); where a rotating QR's live code is shown. The attendee pages serve it."""
    return f"{pages_root(org_id)}/{TICKET_PAGES}/{ticket_page_token(org_id, ticket_id)}"


def signed_ticket_link(purpose: str, path: str, org: Org, ticket: Ticket) -> str:
    """`<public_url><path><token>`: a link for `purpose` naming `ticket` of `org`, usable without a login for
    `LINK_MAX_AGE_SECONDS`; whoever holds it gets what it downloads, like an attachment."""
    token = signed_link_token(purpose, {"o": org.id, "t": ticket.id})
    return current_config().public_url.rstrip("/") + path + token


def ticket_for_signed_link(purpose: str, token: str) -> tuple[Org, Ticket]:
    """The tenant and ticket a `signed_ticket_link` token of `purpose` names; 404 `ticket_not_found` for a
    forged, altered or expired token, one of another purpose, or one whose ticket is gone."""
    claims = read_signed_link_token(purpose, token, LINK_MAX_AGE_SECONDS) or {}
    org = load_org(claims["o"]) if isinstance(claims.get("o"), str) else None
    if org is None or not isinstance(claims.get("t"), str):
        raise NotFound("This ticket download link is invalid or expired.", type="ticket_not_found")
    return org, get_scoped(Ticket, org, claims["t"], "ticket")
