"""What the order, ticket and account pages show of a ticket: its type, event, holder and state, its QR as an
inline PNG (the core's QR service), its PDF and Apple Wallet links (the core's signed download links).

Holds no rule: whether a ticket scans or may move is the core's (`ticket_queries.LIVE`,
`ticket_configurations.allows_transfer`; the transfer service decides for real). Never shows the QR of a void ticket.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from core.models import Event, Org, Ticket
from core.services import qr, wallet_certificates
from core.services.ticket_configurations import allows_transfer, shown_name
from core.services.ticket_pdf import pdf_link
from core.services.ticket_queries import LIVE
from core.services.wallet_passes import wallet_link


@dataclass(frozen=True)
class TicketCard:
    """One ticket as a page shows it."""

    ticket: Ticket
    event: Event
    type_name: str
    live: bool
    qr_data_url: str | None       # `data:image/png;base64,...` of a live ticket's QR
    pdf_url: str | None
    wallet_url: str | None
    transferable: bool            # offer the transfer form (the service still decides)


def ticket_cards(org: Org, tickets: list[Ticket]) -> list[TicketCard]:
    """The cards of `tickets`, in their order (one wallet check for all; Apple Wallet links only when the tenant
    has a pass type certificate)."""
    wallet = bool(tickets) and wallet_certificates.configured(org)
    events = {event.id: event for event in Event.select().where(Event.id.in_({t.event_id for t in tickets}))}
    cards = []
    for ticket in tickets:
        live = ticket.status in LIVE
        png = qr.png_for(org, ticket) if live else None
        cards.append(TicketCard(
            ticket=ticket, event=events[ticket.event_id], type_name=shown_name(ticket.ticket_type), live=live,
            qr_data_url="data:image/png;base64," + base64.b64encode(png).decode() if png else None,
            pdf_url=pdf_link(org, ticket) if live else None,
            wallet_url=wallet_link(org, ticket) if live and wallet else None,
            transferable=ticket.status == "valid" and allows_transfer(ticket.ticket_type)))
    return cards
