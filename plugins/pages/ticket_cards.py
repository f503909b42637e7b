"""What the order, ticket and account pages show of a ticket: its type, event, holder and state, its QR as an
inline PNG (the core's QR service), its PDF and Apple Wallet links (the core's signed download links). A rotating
QR ticket's card carries its current live code (the page without JavaScript) and what the page's script computes
the next ones with: its signed bytes and its ticket key (`core.services.rotating_qr`), never the door secret.

Holds no rule: whether a ticket scans or may move is the core's (`ticket_queries.LIVE`,
`ticket_configurations.allows_transfer`; the transfer service decides for real). Never shows the QR of a void ticket.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass

from core.models import Event, Org, Ticket
from core.services import qr, rotating_qr, wallet_certificates
from core.services.ticket_configurations import allows_transfer, shown_name
from core.services.ticket_pdf import pdf_link
from core.services.ticket_queries import LIVE
from core.services.wallet_passes import wallet_link
from core.tenancy import scoped


@dataclass(frozen=True)
class LiveQr:
    """A rotating QR ticket's live code on a page: what the script computes each step's code from (base64 of the
    91 signed bytes and of the ticket key), the step shown and the seconds until the next one."""

    signed_b64: str
    key_b64: str
    step: int
    seconds_left: int


@dataclass(frozen=True)
class TicketCard:
    """One ticket as a page shows it."""

    ticket: Ticket
    event: Event
    type_name: str
    live: bool
    qr_data_url: str | None       # `data:image/png;base64,...` of a live ticket's QR (a rotating one's current code)
    pdf_url: str | None
    wallet_url: str | None
    transferable: bool            # offer the transfer form (the service still decides)
    live_qr: LiveQr | None = None  # a rotating QR ticket's live code


def _png_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _live_qr(org: Org, ticket: Ticket) -> tuple[str, LiveQr]:
    """(the current live code as a PNG data URL, its `LiveQr`) of a rotating QR ticket."""
    now = rotating_qr.unix_now()
    code = rotating_qr.live_code(org, ticket, now)
    live = LiveQr(signed_b64=base64.b64encode(qr.signed_bytes_for(org, ticket)).decode(),
                  key_b64=base64.b64encode(rotating_qr.key_of_ticket(org, ticket)).decode(), step=code.step,
                  seconds_left=max(1, math.ceil((code.step + 1) * rotating_qr.STEP_SECONDS - now)))
    return _png_url(qr.render_png(code.text)), live


def ticket_cards(org: Org, tickets: list[Ticket]) -> list[TicketCard]:
    """The cards of `tickets`, in their order (one wallet check for all; Apple Wallet links only when the tenant
    has a pass type certificate)."""
    wallet = bool(tickets) and wallet_certificates.configured(org)
    events = {event.id: event for event in scoped(Event, org).where(Event.id.in_({t.event_id for t in tickets}))}
    cards = []
    for ticket in tickets:
        live = ticket.status in LIVE
        qr_data_url, live_qr = None, None
        if live and rotating_qr.is_rotating(ticket):
            qr_data_url, live_qr = _live_qr(org, ticket)
        elif live:
            qr_data_url = _png_url(qr.png_for(org, ticket))
        cards.append(TicketCard(
            ticket=ticket, event=events[ticket.event_id], type_name=shown_name(ticket.ticket_type), live=live,
            qr_data_url=qr_data_url, pdf_url=pdf_link(org, ticket) if live else None,
            wallet_url=wallet_link(org, ticket) if live and wallet else None,
            transferable=ticket.status == "valid" and allows_transfer(ticket.ticket_type), live_qr=live_qr))
    return cards

