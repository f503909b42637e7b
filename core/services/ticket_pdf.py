"""Printable PDF tickets: event, local start time, venue, holder, type, seats, QR, ticket id (`core.kits.pdf`).

Pure rendering of already-stored rows into bytes: it never changes a ticket, never writes files and never
prints anything secret beyond the ticket's own signed QR payload (which is what the holder shows at the door).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from core.kits.pdf import Field, Gap, Image, Text, render_pdf
from core.models import Event, Org, Ticket
from core.services import qr
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
    holder = " ".join(p for p in (ticket.holder_name, f"<{ticket.holder_email}>" if ticket.holder_email else "")
                      if p)
    return {
        "organiser": org.name,
        "event": event.name,
        "when": local_time_text(event.starts_at, event.tz),
        "where": "\n".join(venue_lines(event)),
        "holder": holder,
        "ticketType": ticket.ticket_type.name,
        "seats": str(ticket.seats),
        "ticketId": ticket.id,
        "void": ticket.status not in ("valid", "checked_in", "pending_activation"),
        "status": ticket.status,
    }


_TICKET = (
    Text("{organiser}", size=9, muted=True), Text("{event}", size=18, bold=True), Gap(2),
    Field("When", "when"), Field("Where", "where"), Field("Holder", "holder"), Field("Ticket type", "ticketType"),
    Field("Seats", "seats"),
)
_TICKET_ID = Text("Ticket {ticketId}", size=8, muted=True)
_VALID_TAIL = (Image("qr", 70), _TICKET_ID)
_VOID_TAIL = (Text("VOID: this ticket is {statusText}", size=14, bold=True), _TICKET_ID)


def render_ticket_pdf(org: Org, ticket: Ticket) -> bytes:
    """A one-page A5 PDF for `ticket`; a ticket whose QR no longer scans is marked VOID and has no QR."""
    card = ticket_card(org, ticket)
    if card["void"]:
        return render_pdf(_TICKET + _VOID_TAIL, {**card, "statusText": card["status"].replace("_", " ")})
    return render_pdf(_TICKET + _VALID_TAIL, {**card, "qr": qr.png_for(org, ticket)})
