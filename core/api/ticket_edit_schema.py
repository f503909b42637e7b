"""The API shapes of a ticket holder edit: the customer's request body and the edit as customers and staff see it.

Pure parsing and serialisation of already-loaded rows; every rule is in `core.services.ticket_edits`.
"""

from __future__ import annotations

from marshmallow import fields, validate

from core.api.ticket_schema import StaffTicketSchema, TicketPriceSchema, TicketSchema, ticket_view
from core.api_schema import Schema
from core.models import TicketEdit
from core.timefmt import iso_utc


class TicketEditRequest(Schema):
    """PATCH /client/events/tickets/{id}: the new holder (send one or both; another value than the ticket's)."""

    holderName = fields.String(validate=validate.Length(min=1, max=200))
    holderEmail = fields.Email(validate=validate.Length(max=254))


class ConfirmEditRequest(Schema):
    """POST /client/events/tickets/{id}/edit/confirm: no fields (the edits' own payments are checked)."""


class TicketEditSchema(Schema):
    """A holder edit: the new and previous holder, its change fee and how it stands."""

    id = fields.String()
    ticketId = fields.String()
    status = fields.String(metadata={"enum": ["pending", "applied", "not_applied"],
                                     "description": "pending: the change fee is not paid yet; not_applied: the fee "
                                                    "was paid after the ticket stopped being valid."})
    holderName = fields.String()
    holderEmail = fields.String()
    previousHolderName = fields.String()
    previousHolderEmail = fields.String()
    fee = fields.Nested(TicketPriceSchema, metadata={"description": "The change fee (0 for a free edit)."})
    paymentGateway = fields.String()
    paymentRef = fields.String(allow_none=True)
    clientSecret = fields.String(allow_none=True, metadata={
        "description": "Pending only: what the provider's widget needs to take the fee (Stripe.js)."})
    approvalUrl = fields.String(allow_none=True, metadata={"description": "Pending only: the provider's page."})
    paymentData = fields.Dict(metadata={"description": "Pending only: the provider's client data."})
    createdAt = fields.String(metadata={"format": "date-time"})
    appliedAt = fields.String(allow_none=True, metadata={"format": "date-time"})


class TicketEditResult(Schema):
    """The customer's answer: the edit and the ticket as it now is (the holder changes once the edit applies)."""

    edit = fields.Nested(TicketEditSchema)
    ticket = fields.Nested(TicketSchema)


class StaffTicketEditList(Schema):
    """Every holder edit of a ticket, oldest first, with the ticket."""

    edits = fields.List(fields.Nested(TicketEditSchema))
    ticket = fields.Nested(StaffTicketSchema)


def edit_view(edit: TicketEdit, payment: dict | None = None) -> dict:
    """The JSON form of an edit; `payment` (a pending edit's opened client data) only in the customer's answer."""
    view = {"id": edit.id, "ticketId": edit.ticket_id, "status": edit.status, "holderName": edit.holder_name,
            "holderEmail": edit.holder_email, "previousHolderName": edit.previous_name,
            "previousHolderEmail": edit.previous_email, "fee": {"amount": edit.fee, "currency": edit.currency},
            "paymentGateway": edit.gateway, "paymentRef": edit.payment_ref, "createdAt": iso_utc(edit.created_at),
            "appliedAt": iso_utc(edit.applied_at)}
    if payment:
        view.update(clientSecret=payment.get("client_secret"), approvalUrl=payment.get("approval_url"),
                    paymentData=payment.get("data") or {})
    return view


def edit_result(outcome) -> dict:
    """A `ticket_edits.EditOutcome` as the customer's answer."""
    return {"edit": edit_view(outcome.edit, outcome.payment), "ticket": ticket_view(outcome.ticket)}
