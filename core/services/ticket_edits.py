"""Holder edits: a customer changes their ticket's holder name and e-mail, paying the type's change fee first.

Every rule of an edit lives here: the ticket type must be `editable`, the ticket `valid`, the request inside
`edit_minutes` of the booking's confirmation; a fee is paid through the booking's own provider as an extra
payment (`Step.EXTRA_PAYMENT`) and the edit is applied once that payment is confirmed, exactly once (a
conditional UPDATE on the edit's status). Knows nothing of HTTP; never moves seats or the booking's amounts.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from core.db import write_transaction
from core.errors import Conflict, NotFound, Unprocessable
from core.models import Booking, Org, Payment, Ticket, TicketEdit, TicketType, new_id, utcnow
from core.payments import ExtraCharge, Step
from core.plugins import hooks_for
from core.sealed import seal, unseal
from core.services import gateways, idempotency
from core.services.booking import PaymentNotCompleted
from core.services.issuing import Holder, attendee_ids
from core.services.ticket_configurations import configuration_of, require_holder
from core.services.ticket_queries import owned_ticket
from core.tenancy import get_scoped, scoped

EDIT_CREATED = "ticket_edit_created"
"""The idempotency recovery point of an edit whose pending record committed before its fee's payment started."""
CHANGE_FEE = "change_fee"
"""`Payment.data["kind"]` of a change fee recorded on the booking."""
PAID_BOOKING = ("confirmed", "partially_refunded")


@dataclass
class EditOutcome:
    """An edit as the customer's request left it: `pending` until its fee is paid, with the ticket now."""

    edit: TicketEdit
    ticket: Ticket
    payment: dict = field(default_factory=dict)

    @property
    def pending(self) -> bool:
        """True while the change fee is unpaid (the answer is then 202 with the payment's client data)."""
        return self.edit.status == "pending"


# --- rules ----------------------------------------------------------------------------------------

def _not_editable(ticket: Ticket, message: str) -> Conflict:
    return Conflict(message, type="ticket_not_editable", ticketStatus=ticket.status)


def _window_start(ticket: Ticket, booking: Booking | None) -> dt.datetime:
    """When the edit window opened: the booking's confirmation, else when the ticket was issued."""
    return (booking.confirmed_at if booking is not None and booking.confirmed_at else None) or ticket.created_at


def check_editable(ticket: Ticket, ticket_type: TicketType, booking: Booking | None, now: dt.datetime) -> None:
    """409 `ticket_not_editable` (the type does not allow edits, or the ticket is not `valid`: refunded, void,
    checked in, transferred away, not activated) or 409 `edit_window_closed` (past `edit_minutes`)."""
    if not ticket_type.editable:
        raise _not_editable(ticket, "This ticket type does not allow changing the holder after purchase.")
    if ticket.status != "valid":
        raise _not_editable(ticket, f"A {ticket.status.replace('_', ' ')} ticket cannot be changed.")
    if ticket_type.edit_minutes is not None:
        closes = _window_start(ticket, booking) + dt.timedelta(minutes=ticket_type.edit_minutes)
        if now >= closes:
            raise Conflict(f"Holder changes closed {ticket_type.edit_minutes} minutes after purchase.",
                           type="edit_window_closed", closedAt=closes.strftime("%Y-%m-%dT%H:%M:%SZ"))


def _fee_gateway(org: Org, booking: Booking | None) -> gateways.Gateway:
    """The provider that takes a change fee: the booking's own, when it takes money itself and can take an
    extra payment (409 `change_fee_needs_gateway` for a free, box-office or offline booking; 422
    `payment_step_unsupported` for a provider without `Step.EXTRA_PAYMENT`)."""
    found = gateways.gateways(org).get(booking.gateway) if booking is not None else None
    if found is None or not found.provider.calls_out or found.provider.settled_by_staff \
            or booking.status not in PAID_BOOKING:
        raise Conflict("This ticket's change fee can only be paid through the payment provider its booking was "
                       "paid with, and this booking has none (free, box office or offline).",
                       type="change_fee_needs_gateway", gateway=booking.gateway if booking else None)
    found.provider.require(Step.EXTRA_PAYMENT)
    return found


def _charge(edit: TicketEdit) -> ExtraCharge:
    return ExtraCharge(edit.id, edit.fee, edit.currency, f"Change fee: ticket {edit.ticket_id}")


# --- applying ---------------------------------------------------------------------------------------

def _apply(org: Org, edit: TicketEdit) -> bool:
    """In the caller's write transaction: pending -> applied exactly once (the conditional UPDATE decides), the
    ticket's holder changed while it is still `valid`, the fee recorded as a payment of the booking and
    `ticket_holder_changed` recorded; a ticket that stopped being valid leaves the edit `not_applied` (its paid
    fee is still recorded). False when nothing was applied now (another request won, or not_applied)."""
    now = utcnow()
    ticket = get_scoped(Ticket, edit.org_id, edit.ticket_id)
    previous = {"previous_name": ticket.holder_name, "previous_email": ticket.holder_email}
    won = (TicketEdit.update(status="applied", applied_at=now, updated_at=now, **previous)
           .where(edit.row_condition() & (TicketEdit.status == "pending")).execute())
    if won != 1:
        return False
    changed = (Ticket.update(holder_name=edit.holder_name, holder_email=edit.holder_email, updated_at=now)
               .where(ticket.row_condition() & (Ticket.status == "valid")).execute())
    if edit.fee:
        Payment.create(org=org.id, booking=edit.booking_id, gateway=edit.gateway, reference=edit.payment_ref,
                       amount=edit.fee, currency=edit.currency, status="succeeded",
                       data={"kind": CHANGE_FEE, "ticketId": ticket.id, "ticketEditId": edit.id})
    if changed != 1:
        TicketEdit.update(status="not_applied").where(edit.row_condition()).execute()
        return False
    holder = Holder(email=edit.holder_email, name=edit.holder_name)   # the ticket is the new holder's now
    Ticket.update(attendee=attendee_ids(org, [(holder, None, 1)])[0][0]).where(ticket.row_condition()).execute()
    hooks_for(org).notify("ticket_holder_changed", org=org, ticket=ticket.reread(),
                          edit=edit.reread())
    return True


def _outcome(edit: TicketEdit, payment: dict | None = None) -> EditOutcome:
    edit = edit.reread()
    ticket = get_scoped(Ticket, edit.org_id, edit.ticket_id)
    return EditOutcome(edit, ticket, payment if payment is not None else payment_answer(edit))


# --- the customer's request ----------------------------------------------------------------------------

def payment_answer(edit: TicketEdit) -> dict:
    """The provider's client data for a pending edit's fee (`client_secret`, `approval_url`, `data`), opened
    from its sealed form; {} once the edit is settled or when none was kept."""
    kept = (edit.payment_data or {}).get("payment") or {}
    opened = unseal(kept["sealed"]) if edit.status == "pending" and "sealed" in kept else None
    return json.loads(opened) if opened else {}


def _start_payment(org: Org, edit: TicketEdit, gateway: gateways.Gateway) -> EditOutcome:
    """Create the fee's payment at the provider (the pending edit committed first as recovery point
    `EDIT_CREATED`) and keep its reference and sealed client data on the edit."""
    gateways.before_calling(gateway, EDIT_CREATED, edit=edit.id)
    booking = get_scoped(Booking, edit.org_id, edit.booking_id)
    answer = gateway.provider.create_extra_payment(org, booking, _charge(edit), gateway.settings)
    payment = {key: answer.get(key) for key in ("client_secret", "approval_url") if answer.get(key)}
    payment["data"] = answer.get("data") or {}
    data = dict(edit.payment_data or {}, payment={"sealed": seal(json.dumps(payment))})
    with write_transaction():
        (TicketEdit.update(payment_ref=answer.get("reference") or edit.payment_ref, payment_data=data,
                           updated_at=utcnow())
         .where(edit.row_condition() & (TicketEdit.status == "pending")).execute())
    return _outcome(edit, payment)


def _resumed(org: Org) -> EditOutcome | None:
    """A retry of an edit whose pending record committed before its payment started: that edit, its payment
    created again (the provider's idempotency key is the edit id, so one payment); None for a fresh run."""
    point, data = idempotency.recovery_point()
    if point != EDIT_CREATED:
        return None
    edit = get_scoped(TicketEdit, org, data["edit"], "ticket_edit")
    if edit.status != "pending":
        return _outcome(edit)
    return _start_payment(org, edit, gateways.gateway_for(org, edit.gateway))


def request_edit(org: Org, ticket_id: str, customer_id: str, *, holder_name: str | None = None,
                 holder_email: str | None = None) -> EditOutcome:
    """Change the holder of the customer's ticket: applied at once when the type's fee is 0, else a pending
    edit whose fee is paid through the booking's provider (the same request again returns that pending edit).

    404 `ticket_not_found` (not the caller's), 422 `nothing_to_change`, 422 `holder_details_required` (a name
    or e-mail its ticket configuration requires left blank), 409 `ticket_not_editable`,
    `edit_window_closed`, `change_fee_needs_gateway`, 422 `payment_step_unsupported`.
    """
    resumed = _resumed(org)
    if resumed is not None:
        return resumed
    ticket = owned_ticket(org, ticket_id, customer_id)
    name = ticket.holder_name if holder_name is None else holder_name
    email = ticket.holder_email if holder_email is None else holder_email
    if (name, email) == (ticket.holder_name, ticket.holder_email):
        raise Unprocessable("Send a `holderName` or `holderEmail` different from the ticket's.",
                            type="nothing_to_change")
    ticket_type = get_scoped(TicketType, ticket.org_id, ticket.ticket_type_id)
    booking = (Booking.get_or_none((Booking.id == ticket.booking_id) & (Booking.org == ticket.org_id))
               if ticket.booking_id else None)
    check_editable(ticket, ticket_type, booking, utcnow())
    require_holder(configuration_of(ticket_type), Holder(email=email, name=name), "holder")   # 422 holderName
    gateway = _fee_gateway(org, booking) if ticket_type.edit_fee else None
    same = (scoped(TicketEdit, org).where((TicketEdit.ticket == ticket.id) & (TicketEdit.status == "pending")
                                          & (TicketEdit.holder_name == name) & (TicketEdit.holder_email == email)
                                          & (TicketEdit.fee == ticket_type.edit_fee)).first()
            if gateway is not None else None)
    if same is not None:
        return EditOutcome(same, ticket, payment_answer(same)) if same.payment_ref else \
            _start_payment(org, same, gateway)
    with write_transaction():
        edit = TicketEdit.create(id=new_id(), org=org.id, ticket=ticket.id, booking=ticket.booking_id,
                                 holder_name=name, holder_email=email, previous_name=ticket.holder_name,
                                 previous_email=ticket.holder_email, fee=ticket_type.edit_fee,
                                 currency=ticket_type.currency,
                                 gateway=gateway.identifier if gateway else "free", status="pending")
        if gateway is None and not _apply(org, edit):
            raise _not_editable(ticket.reread(), "This ticket changed meanwhile; it cannot be edited.")
    if gateway is None:
        return _outcome(edit)
    return _start_payment(org, edit, gateway)


# --- confirming a paid fee --------------------------------------------------------------------------

def _confirm(org: Org, edit: TicketEdit, payment_ref: str | None) -> EditOutcome:
    """Verify the pending edit's fee with its provider, then apply it once; a settled edit is answered as it
    is (a replayed webhook or confirm applies nothing). 402 `payment_not_completed` / `payment_mismatch`,
    409 `ticket_not_editable` when the fee was paid after the ticket stopped being valid."""
    if edit.status == "pending":
        gateway = gateways.gateway_for(org, edit.gateway)
        gateway.provider.require(Step.EXTRA_PAYMENT)
        gateways.before_calling(gateway)
        booking = get_scoped(Booking, edit.org_id, edit.booking_id)
        check = gateway.provider.verify_extra_payment(org, booking, _charge(edit), edit.payment_ref or payment_ref,
                                                      gateway.settings)
        if not check.paid:
            raise PaymentNotCompleted(check.reason or "The change fee has not been paid yet.", ticketEditId=edit.id)
        if check.amount != edit.fee or (check.currency or "").upper() != edit.currency:
            raise PaymentNotCompleted("The provider reports another amount or currency than the change fee; "
                                      "nothing was changed.", type="payment_mismatch", ticketEditId=edit.id)
        with write_transaction():
            if not edit.payment_ref and check.reference:  # the run that created it crashed before keeping it
                edit.payment_ref = check.reference
                TicketEdit.update(payment_ref=check.reference).where(edit.row_condition()).execute()
            _apply(org, edit)
    outcome = _outcome(edit)
    if outcome.edit.status == "not_applied":
        raise _not_editable(outcome.ticket, "The change fee was paid after this ticket stopped being valid, so the "
                            "holder was not changed; the fee is recorded on the booking.")
    return outcome


def confirm_charge(org: Org, charge_id: str, payment_ref: str | None = None) -> EditOutcome:
    """A provider reported the extra payment of `charge_id` (a ticket edit's id) paid: verify it and apply
    the edit once (`kit.confirm_paid_charge`, called by a webhook). 404 `ticket_edit_not_found`."""
    edit = scoped(TicketEdit, org).where(TicketEdit.id == str(charge_id)[:64]).first()
    if edit is None:
        raise NotFound(f"No ticket edit with id {charge_id!r}.", type="ticket_edit_not_found")
    return _confirm(org, edit, payment_ref)


def confirm_edits(org: Org, ticket_id: str, customer_id: str) -> EditOutcome:
    """The customer's confirm: each pending edit of their ticket whose fee was paid is applied (oldest first);
    answers the newest edit it applied, or the newest edit when none was pending (a repeat changes nothing).
    404 `ticket_edit_not_found` for a ticket never edited; the newest pending edit's 402 when none was paid."""
    ticket = owned_ticket(org, ticket_id, customer_id)
    edits = list(scoped(TicketEdit, org).where(TicketEdit.ticket == ticket.id)
                 .order_by(TicketEdit.created_at, TicketEdit.id))
    if not edits:
        raise NotFound("This ticket has no holder edit to confirm.", type="ticket_edit_not_found")
    pending = [edit for edit in edits if edit.status == "pending"]
    if not pending:
        return _outcome(edits[-1])
    applied, refusal = None, None
    for edit in pending:
        try:
            applied = _confirm(org, edit, None)
        except PaymentNotCompleted as error:
            refusal = error
    if applied is None:
        raise refusal
    return applied


def ticket_edits(org: Org, ticket_id: str) -> list[TicketEdit]:
    """Staff: every holder edit of the tenant's ticket, oldest first (404 `ticket_not_found`)."""
    ticket = get_scoped(Ticket, org, ticket_id, "ticket")
    return list(scoped(TicketEdit, org).where(TicketEdit.ticket == ticket.id)
                .order_by(TicketEdit.created_at, TicketEdit.id))
