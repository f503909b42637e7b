"""Ticket transfer and claim: revoke the old ticket, issue a new one to the recipient, claim it by token.

The revocation is one conditional UPDATE (one winner among concurrent transfers); money and capacity never
move, and only a SHA-256 of the claim token is stored (the token itself goes to the recipient by hook).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from core.db import write_transaction
from core.errors import Conflict, NotFound
from core.models import Ticket, TicketType, Transfer, new_id, utcnow
from core.plugins import hooks_for
from core.services import participation
from core.tenancy import get_scoped, scoped

_REFUSED = {
    "checked_in": "it has already been checked in",
    "cancelled": "it was cancelled",
    "refunded": "it was refunded",
    "refunding": "a refund is in progress",
    "transferred": "it was already transferred",
    "pending_activation": "it has not been activated yet",
}


@dataclass
class TransferOutcome:
    """The revoked ticket, the recipient's new ticket, the Transfer row and the one-time claim token."""

    old_ticket: Ticket
    new_ticket: Ticket
    transfer: Transfer
    claim_token: str


def hash_token(token: str) -> str:
    """How a claim token is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


def _not_transferable(ticket: Ticket, status: str | None = None) -> Conflict:
    why = _REFUSED.get(status or ticket.status, f"its status is {status or ticket.status!r}")
    return Conflict(f"This ticket cannot be transferred: {why}.", type="not_transferable",
                    ticketStatus=status or ticket.status)


def transfer_ticket(org, ticket: Ticket, *, to_email: str, to_name: str = "") -> TransferOutcome:
    """Revoke `ticket` and issue its replacement to `to_email`; 409 `not_transferable` if it may not move."""
    ticket_type = TicketType.get_by_id(ticket.ticket_type_id)
    if not ticket_type.transferable:
        raise Conflict("This ticket type does not allow transfers.", type="not_transferable",
                       ticketStatus=ticket.status)
    if ticket.status != "valid":
        raise _not_transferable(ticket)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with write_transaction():
        won = (Ticket.update(status="transferred", secret_version=Ticket.secret_version + 1, updated_at=now)
               .where((Ticket.id == ticket.id) & (Ticket.org == org.id) & (Ticket.status == "valid")
                      & (Ticket.secret_version == ticket.secret_version))
               .execute())
        if won != 1:
            current = Ticket.get_by_id(ticket.id)
            raise _not_transferable(current, current.status)
        participation.release_uncovered([ticket])  # the sender's sessions this ticket alone covered
        new_ticket = Ticket.create(
            id=new_id(), org=org.id, event=ticket.event_id, ticket_type=ticket.ticket_type_id,
            booking=ticket.booking_id, customer=None, holder_email=to_email, holder_name=to_name,
            status="valid", source=ticket.source, seats=ticket.seats, price_paid=ticket.price_paid,
            secret_version=1, scan_count=0, transferred_from=ticket.id, data={})
        transfer = Transfer.create(org=org.id, ticket=ticket.id, new_ticket=new_ticket.id,
                                   from_email=ticket.holder_email, to_email=to_email, to_name=to_name,
                                   claim_token_hash=hash_token(token))
    old = Ticket.get_by_id(ticket.id)
    outcome = TransferOutcome(old, new_ticket, transfer, token)
    hooks_for(org).notify("ticket_transferred", org=org, old_ticket=old, new_ticket=new_ticket,
                          transfer=transfer, claim_token=token)
    return outcome


def claim(org, token: str, customer_id: str) -> Ticket:
    """Move a transferred ticket into the claimer's account, once (404 invalid token, 409 already claimed)."""
    transfer = None
    if isinstance(token, str) and 10 <= len(token) <= 200:
        transfer = scoped(Transfer, org).where(Transfer.claim_token_hash == hash_token(token)).first()
    if transfer is None:
        raise NotFound("This claim link is not valid.", type="invalid_claim_token")
    now = utcnow()
    with write_transaction():
        won = (Transfer.update(claimed_at=now, claimed_by=customer_id, updated_at=now)
               .where((Transfer.id == transfer.id) & Transfer.claimed_at.is_null()).execute())
        if won != 1:
            raise Conflict("This ticket has already been claimed.", type="already_claimed")
        Ticket.update(customer=customer_id, updated_at=now).where(
            (Ticket.id == transfer.new_ticket_id) & Ticket.customer.is_null()).execute()
    ticket = get_scoped(Ticket, org, transfer.new_ticket_id, "ticket")
    hooks_for(org).notify("ticket_claimed", org=org, ticket=ticket,
                          transfer=get_scoped(Transfer, org, transfer.id, "transfer"))
    return ticket
