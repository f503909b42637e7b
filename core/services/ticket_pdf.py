"""Printable PDF tickets: event, local start time, venue, holder, type, seats, list, QR, ticket id (`core.kits.pdf`).

Pure rendering of already-stored rows into bytes: it never changes a ticket, never writes files and never
prints anything secret beyond the ticket's own QR (its signed payload or barcode pool code, which is what the
holder shows at the door). A rotating QR ticket prints no QR (a printed code is refused at the door): it says
to open the ticket's page, with its link.
Also the signed download link an e-mail can carry instead of the PDF itself (`pdf_link`): it needs no row and
no login, names one ticket of one tenant, and expires.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from core.config import current_config
from core.errors import NotFound
from core.kits.links import read_signed_link_token, signed_link_token
from core.kits.pdf import PAGE_SIZES, Field, Gap, Image, PageSpec, Text, render_pages
from core.models import Event, Org, Template, Ticket
from core.services import qr, rotating_qr, templates
from core.services.event_lists import description_text, effective_lists
from core.services.event_settings import setting_of
from core.services.ticket_configurations import configuration_of, shown_name
from core.services.ticket_links import (
    LINK_MAX_AGE_SECONDS,
    signed_ticket_link,
    ticket_for_signed_link,
    ticket_page_url,
)
from core.tenancy import load_org, scoped
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
        "rotating": rotating_qr.is_rotating(ticket),
        "ticketPage": ticket_page_url(org.id, ticket.id) if rotating_qr.is_rotating(ticket) else "",
        # the snake_case names a design's title and footer use (`core.services.templates.PDF_PLACEHOLDERS`)
        "ticket_type": shown_name(ticket.ticket_type),
        "ticket_id": ticket.id,
    }


_TICKET = (
    Text("{organiser}", size=9, muted=True), Text("{event}", size=18, bold=True), Gap(2),
    Field("When", "when"), Field("Where", "where"), Field("Holder", "holder"), Field("Ticket type", "ticketType"),
    Field("Seats", "seats"), Field("List", "list"), Text("{listDescription}", size=9),
)
_TICKET_ID = Text("Ticket {ticketId}", size=8, muted=True)
_VALID_TAIL = (Image("qr", 70), Field("Barcode", "barcode"), _TICKET_ID)  # a pool code is printed too
_VOID_TAIL = (Text("VOID: this ticket is {statusText}", size=14, bold=True), _TICKET_ID)
LIVE_CODE_NOTE = ("This ticket's QR code changes every 15 seconds: open your ticket page on your phone at the door. "
                  "A printed or saved code is refused.")
_LIVE_BLOCKS = (Text(LIVE_CODE_NOTE, size=11, bold=True), Field("Ticket page", "ticketPage"))
_LIVE_TAIL = (*_LIVE_BLOCKS, _TICKET_ID)  # a rotating QR ticket: where its live code is, instead of a QR


def design_for(org: Org, ticket: Ticket) -> Template | None:
    """The PDF ticket design `ticket` is printed with: its ticket type's configuration's `pdf_template_id`, else
    its event setting's, else None (the built-in layout)."""
    configuration = configuration_of(ticket.ticket_type)
    chosen = configuration.pdf_template_id if configuration is not None else None
    if chosen is None:
        setting = setting_of(org, ticket.event)
        chosen = setting.pdf_template_id if setting is not None else None
    return templates.template_for(org, "pdf", chosen)


def _design_blocks(layout: dict) -> dict:
    size = layout["font_size"]
    return {"when": Field("When", "when", size + 1), "where": Field("Where", "where", size + 1),
            "holder": Field("Holder", "holder", size + 1), "ticket_type": Field("Ticket type", "ticketType", size + 1),
            "seats": Field("Seats", "seats", size + 1), "list": Field("List", "list", size + 1),
            "list_description": Text("{listDescription}", size=size - 1), "qr": Image("qr", 70),
            "barcode": Field("Barcode", "barcode", size + 1),
            "ticket_id": Text("Ticket {ticketId}", size=max(size - 2, 6), muted=True)}


def _design_page(org: Org, design: Template, card: dict, qr_png: bytes | None) -> PageSpec:
    """The ticket laid out by a tenant's design: its title, the blocks it chose in its order, its colours,
    font size, page size, footer and background; a void ticket shows VOID where the QR and barcode were."""
    layout = {**templates.LAYOUT_DEFAULTS["pdf"], **design.layout}
    blocks = _design_blocks(layout)
    chosen = [name for name in layout["blocks"] if not (card["void"] and name in ("qr", "barcode"))]
    body = [Text(layout["title"], size=layout["title_size"], bold=True, color=layout["accent_color"]), Gap(2)]
    for name in chosen:
        body += _LIVE_BLOCKS if name == "qr" and card["rotating"] else [blocks[name]]
    if card["void"]:
        body.append(_VOID_TAIL[0])
    data = {**card, "qr": qr_png, "statusText": card["status"].replace("_", " ")}
    return PageSpec(body, data, page_mm=PAGE_SIZES[layout["page_size"]], ink=layout["text_color"],
                    background=templates.background_bytes(org.id, design), footer=layout["footer"])


def _ticket_page(org: Org, ticket: Ticket) -> PageSpec:
    """`ticket`'s page in its design (`design_for`), else the built-in A5 layout; VOID without a QR when its QR
    no longer scans."""
    card = ticket_card(org, ticket)
    design = design_for(org, ticket)
    printed_qr = None if card["void"] or card["rotating"] else qr.png_for(org, ticket)
    if design is not None:
        return _design_page(org, design, card, printed_qr)
    if card["void"]:
        return PageSpec(_TICKET + _VOID_TAIL, {**card, "statusText": card["status"].replace("_", " ")})
    if card["rotating"]:
        return PageSpec(_TICKET + _LIVE_TAIL, card)
    return PageSpec(_TICKET + _VALID_TAIL, {**card, "qr": printed_qr})


def render_ticket_pdf(org: Org, ticket: Ticket) -> bytes:
    """A one-page PDF for `ticket` in its design (`design_for`), else the built-in A5 layout; a ticket whose
    QR no longer scans is marked VOID and has no QR."""
    return render_pages([_ticket_page(org, ticket)])


def render_tickets_pdf(org: Org, tickets: list[Ticket]) -> bytes:
    """One PDF holding `tickets`, a page each as `render_ticket_pdf` draws it (its own design), in order."""
    return render_pages([_ticket_page(org, ticket) for ticket in tickets])


PDF_LINK_PATH = "/tickets/pdf/"
PDF_LINK_MAX_AGE_SECONDS = LINK_MAX_AGE_SECONDS
_PDF_PURPOSE = "ticket-pdf"


def pdf_link(org: Org, ticket: Ticket) -> str:
    """A signed link (`<public_url>/tickets/pdf/<token>`) that downloads `ticket`'s PDF without a login, for
    `PDF_LINK_MAX_AGE_SECONDS`; whoever holds it gets the ticket, like an attached PDF."""
    return signed_ticket_link(_PDF_PURPOSE, PDF_LINK_PATH, org, ticket)


def ticket_for_pdf_link(token: str) -> tuple[Org, Ticket]:
    """The tenant and ticket a `pdf_link` token names; 404 `ticket_not_found` for a forged, altered or expired
    token, or one whose ticket is gone."""
    return ticket_for_signed_link(_PDF_PURPOSE, token)


TICKETS_PDF_PATH = "/tickets/pdfs/"
TICKETS_PDF_MAX_AGE_SECONDS = 30 * 24 * 3600   # a partner hands it to its buyer at once; it is not kept for ever
_TICKETS_PDF_PURPOSE = "tickets-pdf"


def tickets_pdf_link(org: Org, booking_id: str, ticket_type_id: str) -> str:
    """A signed link (`<public_url>/tickets/pdfs/<token>`) to ONE PDF holding the tickets of one ticket type in
    one booking (a page each, with its QR), without a login, for `TICKETS_PDF_MAX_AGE_SECONDS`."""
    token = signed_link_token(_TICKETS_PDF_PURPOSE, {"o": org.id, "b": booking_id, "tt": ticket_type_id})
    return current_config().public_url.rstrip("/") + TICKETS_PDF_PATH + token


def tickets_for_pdf_link(token: str) -> tuple[Org, list[Ticket]]:
    """The tenant and the tickets a `tickets_pdf_link` token names, in issue order; 404 `tickets_not_found` for a
    forged, altered or expired token, or one whose tickets are gone."""
    claims = read_signed_link_token(_TICKETS_PDF_PURPOSE, token, TICKETS_PDF_MAX_AGE_SECONDS) or {}
    org = load_org(claims["o"]) if isinstance(claims.get("o"), str) else None
    tickets = []
    if org is not None and isinstance(claims.get("b"), str) and isinstance(claims.get("tt"), str):
        tickets = list(scoped(Ticket, org).where((Ticket.booking == claims["b"])
                                                 & (Ticket.ticket_type == claims["tt"]))
                       .order_by(Ticket.created_at, Ticket.id))
    if not tickets:
        raise NotFound("This tickets download link is invalid or expired.", type="tickets_not_found")
    return org, tickets
