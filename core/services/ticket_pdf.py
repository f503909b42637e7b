"""Printable PDF tickets made with fpdf2: event, local start time, venue, holder, type, seats, QR, ticket id.

Pure rendering of already-stored rows into bytes: it never changes a ticket, never writes files and never
prints anything secret beyond the ticket's own signed QR payload (which is what the holder shows at the door).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

from fpdf import FPDF

from core.models import Event, Org, Ticket
from core.services import qr
from core.timefmt import as_utc

_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
_FONT_FAMILY = "DejaVu"
_INK = (33, 33, 33)
_MUTED = (110, 110, 110)


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


def _unicode_font_dir() -> Path | None:
    for folder in _FONT_DIRS:
        if (folder / "DejaVuSans.ttf").is_file() and (folder / "DejaVuSans-Bold.ttf").is_file():
            return folder
    return None


class _TicketDocument:
    """One A5 (148 x 210 mm) page laid out top to bottom; falls back to Helvetica (Latin-1) without a Unicode font."""

    def __init__(self) -> None:
        self.pdf = FPDF(orientation="P", unit="mm", format=(148, 210))
        self.pdf.set_auto_page_break(auto=False)
        self.pdf.set_margins(12, 12, 12)
        self.pdf.add_page()
        folder = _unicode_font_dir()
        self.unicode = folder is not None
        if folder is not None:
            self.pdf.add_font(_FONT_FAMILY, "", str(folder / "DejaVuSans.ttf"))
            self.pdf.add_font(_FONT_FAMILY, "B", str(folder / "DejaVuSans-Bold.ttf"))
            self.family = _FONT_FAMILY
        else:
            self.family = "helvetica"

    def _text(self, value: object) -> str:
        text = str(value or "")
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")

    def line(self, value: object, size: float = 10, bold: bool = False, muted: bool = False) -> None:
        """Write a wrapped paragraph."""
        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.set_text_color(*(_MUTED if muted else _INK))
        self.pdf.multi_cell(0, size * 0.5, self._text(value), new_x="LMARGIN", new_y="NEXT")

    def field(self, label: str, value: object) -> None:
        """A small muted label above its value."""
        if value in (None, ""):
            return
        self.line(label.upper(), size=7, muted=True)
        self.line(value, size=11)
        self.pdf.ln(1.5)

    def image(self, png: bytes, size_mm: float) -> None:
        """Centre a square PNG on the page."""
        x = (self.pdf.w - size_mm) / 2
        self.pdf.image(io.BytesIO(png), x=x, y=self.pdf.get_y(), w=size_mm, h=size_mm)
        self.pdf.set_y(self.pdf.get_y() + size_mm + 2)

    def output(self) -> bytes:
        """The finished PDF."""
        return bytes(self.pdf.output())


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


def render_ticket_pdf(org: Org, ticket: Ticket) -> bytes:
    """A one-page PDF for `ticket`; a ticket whose QR no longer scans is marked VOID and has no QR."""
    card = ticket_card(org, ticket)
    doc = _TicketDocument()
    doc.line(card["organiser"], size=9, muted=True)
    doc.line(card["event"], size=18, bold=True)
    doc.pdf.ln(2)
    for label, key in (("When", "when"), ("Where", "where"), ("Holder", "holder"),
                       ("Ticket type", "ticketType"), ("Seats", "seats")):
        doc.field(label, card[key])
    if card["void"]:
        doc.line(f"VOID: this ticket is {card['status'].replace('_', ' ')}", size=14, bold=True)
    else:
        doc.image(qr.png_for(org, ticket), 70)
    doc.line(f"Ticket {card['ticketId']}", size=8, muted=True)
    return doc.output()
