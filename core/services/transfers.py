"""Ticket transfer and claim: revoke the old ticket, issue a new one to the recipient, claim it by token; or,
to a customer named by username, straight into their account (no claim step).

The revocation is one conditional UPDATE (one winner among concurrent transfers); money and capacity never
move, and only a SHA-256 of the claim token is stored (the token itself goes to the recipient by hook).
A claim link works for `CLAIM_DAYS` days, and not past the end of the event; staff can issue a fresh one
(`reissue_claim_link`), which also voids the old one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.db import write_transaction
from core.errors import ApiError, Conflict, NotFound, Unprocessable
from core.identity import Identity
from core.kits.links import new_link_token, token_hash
from core.models import Customer, Event, Ticket, TicketType, Transfer, new_id, utcnow
from core.plugins import hooks_for
from core.services import accounts, audit, barcode_pools, participation, pickups, ticket_queries
from core.services.issuing import Holder, attendee_ids
from core.services.ticket_configurations import allows_transfer, configuration_of, require_holder
from core.tenancy import get_scoped, scoped

_REFUSED = {
    "checked_in": "it has already been checked in",
    "cancelled": "it was cancelled",
    "refunded": "it was refunded",
    "refunding": "a refund is in progress",
    "transferred": "it was already transferred",
    "pending_activation": "it has not been activated yet",
}


CLAIM_DAYS = 30


def claim_deadline(org_id: str, event_id: str, now: dt.datetime) -> dt.datetime:
    """When a claim link issued now stops working: after `CLAIM_DAYS`, or when the event ends if sooner
    (but never less than a day from now, so a link sent during the event can still be used)."""
    deadline = now + dt.timedelta(days=CLAIM_DAYS)
    ends_at = Event.select(Event.ends_at).where((Event.id == event_id) & (Event.org == org_id)).scalar()
    if ends_at is not None:
        deadline = min(deadline, max(ends_at, now + dt.timedelta(days=1)))
    return deadline


@dataclass
class TransferOutcome:
    """The revoked ticket, the recipient's new ticket, the Transfer row and the one-time claim token."""

    old_ticket: Ticket
    new_ticket: Ticket
    transfer: Transfer
    claim_token: str


def _not_transferable(ticket: Ticket, status: str | None = None) -> Conflict:
    why = _REFUSED.get(status or ticket.status, f"its status is {status or ticket.status!r}")
    return Conflict(f"This ticket cannot be transferred: {why}.", type="not_transferable",
                    ticketStatus=status or ticket.status)


def transfer_ticket(org, ticket: Ticket, *, to_email: str, to_name: str = "") -> TransferOutcome:
    """Revoke `ticket` and issue its replacement to `to_email`; 409 `not_transferable` if it may not move, 422
    `holder_details_required` (`toName`) when its ticket configuration requires a holder name and none is given.
    The recipient claims it with the token `ticket_transferred` sends them."""
    ticket_type = _transferable_type(ticket, Holder(email=to_email, name=to_name))
    token, token_digest = new_link_token()
    with write_transaction():
        outcome = _reissue(org, ticket, ticket_type, to_email=to_email, to_name=to_name, token_digest=token_digest,
                           claim_token=token)
        hooks_for(org).notify("ticket_transferred", org=org, old_ticket=outcome.old_ticket,
                              new_ticket=outcome.new_ticket, transfer=outcome.transfer, claim_token=token)
    return outcome


def transfer_to_customer(org, identity: Identity, ticket_id: str, username: str) -> TransferOutcome:
    """Move a ticket at once into the account of the tenant's customer `username` (case ignored): the old
    ticket is revoked (its QR stops scanning), the recipient owns a new one (a new QR), and both sides are told
    (`ticket_transferred_to_account`, and `ticket_claimed` for the recipient, in the outbox). A customer moves
    only their own tickets (404 `ticket_not_found` otherwise); staff any of the tenant's. 404
    `customer_not_found`, 422 `transfer_to_self`, 409 `not_transferable` (type or status),
    `holder_details_required` as for an e-mail transfer. The outcome's `claim_token` is empty: nothing to claim."""
    if identity.role == "customer":
        ticket = ticket_queries.owned_ticket(org, ticket_id, identity.sub)
    else:
        ticket = get_scoped(Ticket, org, ticket_id, "ticket")
    recipient = accounts.customer_by_username(org, username)
    if recipient.id == ticket.customer_id:
        raise Unprocessable("This ticket is already in that account.", type="transfer_to_self",
                            errors={"username": ["the ticket's owner"]})
    ticket_type = _transferable_type(ticket, Holder(email=recipient.email, name=recipient.name))
    with write_transaction():
        outcome = _reissue(org, ticket, ticket_type, to_email=recipient.email, to_name=recipient.name,
                           token_digest=new_link_token()[1], recipient=recipient)
        hooks_for(org).notify("ticket_transferred_to_account", org=org, old_ticket=outcome.old_ticket,
                              new_ticket=outcome.new_ticket, transfer=outcome.transfer)
        hooks_for(org).notify("ticket_claimed", org=org, ticket=outcome.new_ticket, transfer=outcome.transfer)
    return outcome


def _transferable_type(ticket: Ticket, holder: Holder) -> TicketType:
    """The ticket's type, when its type allows transfers, `holder` satisfies its configuration and the ticket is
    valid; else 409 `not_transferable` / 422 `holder_details_required`."""
    ticket_type = get_scoped(TicketType, ticket.org_id, ticket.ticket_type_id)
    if not allows_transfer(ticket_type):
        raise Conflict("This ticket type does not allow transfers.", type="not_transferable",
                       ticketStatus=ticket.status)
    require_holder(configuration_of(ticket_type), holder, "to")
    if ticket.status != "valid":
        raise _not_transferable(ticket)
    return ticket_type


def resell_ticket(org, ticket: Ticket, *, buyer: Customer, booking_id: str, price_paid: int) -> TransferOutcome:
    """In the caller's write transaction: the transfer of a ticket sold on (a resale plugin's sale): `ticket` is
    revoked (its QR stops scanning at once) and `buyer` owns its replacement at once, which belongs to the
    buyer's own booking `booking_id` with `price_paid` (so the buyer's refunds and resales work from it) and
    source `resale`. One conditional UPDATE decides against a concurrent scan, transfer or refund: 409
    `not_transferable` (nothing written) when the ticket is no longer valid, or its type does not allow
    transfers. Money and capacity never move here; no hook is recorded (the caller tells its own story)."""
    ticket_type = _transferable_type(ticket, Holder(email=buyer.email, name=buyer.name))
    return _reissue(org, ticket, ticket_type, to_email=buyer.email, to_name=buyer.name,
                    token_digest=new_link_token()[1], recipient=buyer,
                    sale={"booking": booking_id, "price_paid": price_paid, "source": "resale"})


def _reissue(org, ticket: Ticket, ticket_type: TicketType, *, to_email: str, to_name: str, token_digest: str,
             claim_token: str = "", recipient: Customer | None = None, sale: dict | None = None) -> TransferOutcome:
    """In the caller's write transaction: revoke `ticket` (one conditional UPDATE, its secret version bumped),
    issue its replacement (owned by `recipient` when given, else waiting for a claim) and record the Transfer
    (claimed at once when there is a recipient). `sale` (a resale: `booking`, `price_paid`, `source`) gives the
    replacement the buyer's booking instead of the sender's."""
    now = utcnow()
    won = (Ticket.update(status="transferred", secret_version=Ticket.secret_version + 1, updated_at=now)
           .where((Ticket.id == ticket.id) & (Ticket.org == org.id) & (Ticket.status == "valid")
                  & (Ticket.secret_version == ticket.secret_version))
           .execute())
    if won != 1:
        current = ticket.reread()
        raise _not_transferable(current, current.status)
    participation.release_uncovered([ticket])  # the sender's sessions this ticket alone covered
    codes = barcode_pools.take(org, ticket_type, 1)  # a pool ticket's code stays void with it: a new one
    attendee = attendee_ids(org, [(Holder(email=to_email, name=to_name, customer=recipient), None, 1)])[0][0]
    new_ticket = Ticket.create(
        id=new_id(), org=org.id, event=ticket.event_id, ticket_type=ticket.ticket_type_id,
        booking=sale["booking"] if sale else ticket.booking_id, customer=recipient.id if recipient else None,
        holder_email=to_email, holder_name=to_name, attendee=attendee, status="valid",
        source=sale["source"] if sale else ticket.source, seats=ticket.seats,
        price_paid=sale["price_paid"] if sale else ticket.price_paid,
        secret_version=1, scan_count=0, transferred_from=ticket.id, data=codes.ticket_data(0) if codes else {},
        list_id=ticket.list_id)
    if codes:
        codes.bind([new_ticket.id])
    pickups.move_ticket_pickups(org.id, ticket.id, new_ticket.id)
    transfer = Transfer.create(org=org.id, ticket=ticket.id, new_ticket=new_ticket.id,
                               from_email=ticket.holder_email, to_email=to_email, to_name=to_name,
                               claim_token_hash=token_digest,
                               expires_at=None if recipient else claim_deadline(ticket.org_id, ticket.event_id, now),
                               claimed_at=now if recipient else None,
                               claimed_by=recipient.id if recipient else None)
    audit.record(org, "ticket.transferred", "ticket", ticket.id,
                 before={"status": "valid", "holder_email": ticket.holder_email, "holder_name": ticket.holder_name,
                         "customer_id": ticket.customer_id},
                 after={"status": "transferred", "new_ticket_id": new_ticket.id, "transfer_id": transfer.id,
                        "to_email": to_email, "to_name": to_name,
                        "to_customer_id": recipient.id if recipient else None,
                        **({"resale_booking_id": sale["booking"], "price_paid": sale["price_paid"]} if sale else {})})
    return TransferOutcome(ticket.reread(), new_ticket, transfer, claim_token)


def transfer_for_claim_token(org, token: object) -> Transfer:
    """The transfer a claim token opens (claimed or not, expired or not: the claim decides), or 404
    `invalid_claim_token`; what a claim page shows before the recipient claims."""
    transfer = None
    if isinstance(token, str) and 10 <= len(token) <= 200:
        transfer = scoped(Transfer, org).where(Transfer.claim_token_hash == token_hash(token)).first()
    if transfer is None:
        raise NotFound("This claim link is not valid.", type="invalid_claim_token")
    return transfer


def claim_state(transfer: Transfer, now: dt.datetime) -> str:
    """`open` (it can be claimed now), `claimed` or `expired`: the rule `claim` applies."""
    if transfer.claimed_at is not None:
        return "claimed"
    return "expired" if transfer.expires_at is not None and transfer.expires_at <= now else "open"


def claim(org, token: str, customer_id: str) -> Ticket:
    """Move a transferred ticket into the claimer's account, once (404 invalid token, 409 already claimed)."""
    transfer = transfer_for_claim_token(org, token)
    now = utcnow()
    with write_transaction():
        won = (Transfer.update(claimed_at=now, claimed_by=customer_id, updated_at=now)
               .where(transfer.row_condition() & Transfer.claimed_at.is_null()
                      & (Transfer.expires_at.is_null() | (Transfer.expires_at > now))).execute())
        if won != 1:
            current = transfer.reread()
            if current.claimed_at is None:
                raise _expired(current)
            raise Conflict("This ticket has already been claimed.", type="already_claimed")
        claimer = get_scoped(Customer, org, customer_id, "customer")
        attendee = attendee_ids(org, [(Holder(email=claimer.email, name=claimer.name, customer=claimer), None, 1)])
        Ticket.update(customer=customer_id, attendee=attendee[0][0], updated_at=now).where(
            (Ticket.id == transfer.new_ticket_id) & (Ticket.org == transfer.org_id)
            & Ticket.customer.is_null()).execute()
        ticket = get_scoped(Ticket, org, transfer.new_ticket_id, "ticket")
        hooks_for(org).notify("ticket_claimed", org=org, ticket=ticket,
                              transfer=get_scoped(Transfer, org, transfer.id, "transfer"))
    return ticket


def _expired(transfer: Transfer) -> ApiError:
    return ApiError(f"This claim link expired on {transfer.expires_at:%Y-%m-%d %H:%M} UTC; ask the organiser "
                    "to send a new one.", status=410, type="claim_expired",
                    expiredAt=transfer.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"))


def reissue_claim_link(org, ticket_id: str) -> TransferOutcome:
    """Staff: a fresh claim link for the recipient's ticket of an unclaimed transfer; the old link stops
    working. 404 `transfer_not_found` (the ticket did not come from a transfer), 409 `already_claimed`,
    409 `ticket_revoked` (the ticket is no longer live). Fires `ticket_transferred` again, so the recipient
    is told (by email, with the notifications plugin)."""
    new_ticket = get_scoped(Ticket, org, ticket_id, "ticket")
    transfer = scoped(Transfer, org).where(Transfer.new_ticket == new_ticket.id).first()
    if transfer is None:
        raise NotFound("This ticket was not transferred to anyone; there is no claim link to renew.",
                       type="transfer_not_found")
    if new_ticket.status != "valid":
        raise Conflict(f"This ticket is {new_ticket.status}; it can no longer be claimed.", type="ticket_revoked",
                       ticketStatus=new_ticket.status)
    token, token_digest = new_link_token()
    now = utcnow()
    with write_transaction():
        deadline = claim_deadline(new_ticket.org_id, new_ticket.event_id, now)
        won = (Transfer.update(claim_token_hash=token_digest, expires_at=deadline, updated_at=now)
               .where(transfer.row_condition() & Transfer.claimed_at.is_null()).execute())
        if won != 1:
            raise Conflict("This ticket has already been claimed.", type="already_claimed")
        before = transfer
        transfer = transfer.reread()
        audit.record(org, "ticket.claim_link_reissued", "ticket", new_ticket.id,
                     before={"transfer_id": transfer.id, "expires_at": before.expires_at},
                     after={"transfer_id": transfer.id, "expires_at": transfer.expires_at})
        old = get_scoped(Ticket, transfer.org_id, transfer.ticket_id)
        hooks_for(org).notify("ticket_transferred", org=org, old_ticket=old, new_ticket=new_ticket,
                              transfer=transfer, claim_token=token)
    return TransferOutcome(old, new_ticket, transfer, token)
