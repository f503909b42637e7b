"""Printable PDF tickets: event, local start time, venue, holder, type, seats, list, QR, ticket id (`core.kits.pdf`).

Pure rendering of already-stored rows into bytes: it never changes a ticket, never writes files and never
prints anything secret beyond the ticket's own QR (its signed payload or barcode pool code, which is what the
holder shows at the door).
Also the signed download link an e-mail can carry instead of the PDF itself (`pdf_link`): it needs no row and
no login, names one ticket of one tenant, and expires.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from core.config import current_config
from core.errors import NotFound
from core.kits.links import read_signed_link_token, signed_link_token
from core.kits.pdf import Field, Gap, Image, Text, render_pdf
from core.models import Event, Org, Ticket
from core.services import qr
from core.services.event_lists import description_text, effective_lists
from core.services.ticket_configurations import shown_name
from core.tenancy import get_scoped, load_org
from core.timefmt import as_utc


def local_time_text(value: dt.datetime | None, tz: str) -> str:
    """A stored UTC datetime as readable local time in `tz`, e.g. 'Sat 14 Mar 2026, 19:30 (Europe/Paris)'."""
    if value is None:
        return ""
    local = as_utc(value).astimezone(ZoneInfo(tz or "UTC"))
    return f"{local:%a %d %b %Y, %H:%M} ({tz or 'UTC'})"


def venue_lines(event: Event) -> list[str]:
    """The venue's name and address lines of an event (empty when it has no venue)."""
    venue = event.venue
    if venue is None:
        return []
    place = ", ".join(part for part in (venue.city, venue.country) if part)
    return [line for line in (venue.name, venue.address, place) if line]


def ticket_pdf_filename(ticket: Ticket) -> str:
    """The file name a ticket's PDF is served or attached under."""
    return f"ticket-{ticket.id}.pdf"


def ticket_card(org: Org, ticket: Ticket) -> dict:
    """What a printed ticket shows, as text: the PDF lays out exactly these values."""
    event = ticket.event
    event_list = effective_lists(org, [ticket]).get(ticket.id)
    holder = " ".join(p for p in (ticket.holder_name, f"<{ticket.holder_email}>" if ticket.holder_email else "")
                      if p)
    return {
        "organiser": org.name,
        "event": event.name,
        "when": local_time_text(event.starts_at, event.tz),
        "where": "\n".join(venue_lines(event)),
        "holder": holder,
        "ticketType": shown_name(ticket.ticket_type),
        "seats": str(ticket.seats),
        "ticketId": ticket.id,
        "barcode": qr.barcode_of(ticket) or "",
        "list": event_list.name if event_list is not None else "",
        "listDescription": description_text(event_list.description) if event_list is not None else "",
        "void": ticket.status not in ("valid", "checked_in", "pending_activation"),
        "status": ticket.status,
    }


_TICKET = (
    Text("{organiser}", size=9, muted=True), Text("{event}", size=18, bold=True), Gap(2),
    Field("When", "when"), Field("Where", "where"), Field("Holder", "holder"), Field("Ticket type", "ticketType"),
    Field("Seats", "seats"), Field("List", "list"), Text("{listDescription}", size=9),
)
_TICKET_ID = Text("Ticket {ticketId}", size=8, muted=True)
_VALID_TAIL = (Image("qr", 70), Field("Barcode", "barcode"), _TICKET_ID)  # a pool code is printed too
_VOID_TAIL = (Text("VOID: this ticket is {statusText}", size=14, bold=True), _TICKET_ID)


def render_ticket_pdf(org: Org, ticket: Ticket) -> bytes:
    """A one-page A5 PDF for `ticket`; a ticket whose QR no longer scans is marked VOID and has no QR."""
    card = ticket_card(org, ticket)
    if card["void"]:
        return render_pdf(_TICKET + _VOID_TAIL, {**card, "statusText": card["status"].replace("_", " ")})
    return render_pdf(_TICKET + _VALID_TAIL, {**card, "qr": qr.png_for(org, ticket)})


PDF_LINK_PATH = "/tickets/pdf/"
PDF_LINK_MAX_AGE_SECONDS = 400 * 24 * 3600   # longer than the time between a sale and its event, as a rule
_PDF_PURPOSE = "ticket-pdf"


def pdf_link(org: Org, ticket: Ticket) -> str:
    """A signed link (`<public_url>/tickets/pdf/<token>`) that downloads `ticket`'s PDF without a login, for
    `PDF_LINK_MAX_AGE_SECONDS`; whoever holds it gets the ticket, like an attached PDF."""
    token = signed_link_token(_PDF_PURPOSE, {"o": org.id, "t": ticket.id})
    return current_config().public_url.rstrip("/") + PDF_LINK_PATH + token


def ticket_for_pdf_link(token: str) -> tuple[Org, Ticket]:
    """The tenant and ticket a `pdf_link` token names; 404 `ticket_not_found` for a forged, altered or expired
    token, or one whose ticket is gone."""
    claims = read_signed_link_token(_PDF_PURPOSE, token, PDF_LINK_MAX_AGE_SECONDS) or {}
    org = load_org(claims["o"]) if isinstance(claims.get("o"), str) else None
    if org is None or not isinstance(claims.get("t"), str):
        raise NotFound("This ticket download link is invalid or expired.", type="ticket_not_found")
    return org, get_scoped(Ticket, org, claims["t"], "ticket")
