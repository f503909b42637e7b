"""Customer ticket endpoints: my tickets, one ticket (and its holder edit), its QR PNG and perks, transfer,
claim, my bookings.

A customer only ever sees tickets whose `customer` is them (others get 404); no check-in happens here.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import Blueprint
from core.api.idempotency import idempotent
from core.api.staff_tickets import TransferResult, TransferSchema, qr_response, transfer_and_show
from core.api.throttle import Guard, caller_account, throttled
from core.api.ticket_edit_schema import ConfirmEditRequest, TicketEditRequest, TicketEditResult, edit_result
from core.api.ticket_schema import PNG_DOC, PNG_ERRORS, TicketEventSchema, TicketSchema, ticket_view
from core.api_schema import Schema
from core.auth import current_identity, require_role
from core.services import event_lists, holds, ticket_edits, ticket_queries, transfers
from core.tenancy import current_org

blp = Blueprint("client_tickets", __name__, description="Customer: my tickets, QR, perks, transfers, bookings")


class ClaimSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class MyTicketList(Schema):
    tickets = fields.List(fields.Nested(TicketSchema))


class ClaimResult(Schema):
    ticket = fields.Nested(TicketSchema)


class PerksSchema(Schema):
    ticketId = fields.String()
    ticketTypeId = fields.String()
    ticketTypeName = fields.String()
    perks = fields.List(fields.String())


class MyBooking(Schema):
    id = fields.String()
    status = fields.String()
    eventId = fields.String()
    event = fields.Nested(TicketEventSchema)
    upcoming = fields.Boolean()
    ticketCount = fields.Integer(metadata={"description": "Live tickets in this booking"})
    amount = fields.Integer()
    refundedAmount = fields.Integer()
    currency = fields.String()
    createdAt = fields.String()


class MyBookingList(Schema):
    bookings = fields.List(fields.Nested(MyBooking))


def _me() -> str:
    return current_identity().sub


@blp.route("/client/events/tickets/mine")
class MyTickets(MethodView):
    @require_role("customer")
    @blp.response(200, MyTicketList)
    def get(self):
        """Every live ticket in my account across events, soonest first (`?all=true` adds void ones)."""
        from flask import request

        include_void = (request.args.get("all") or "").lower() in ("1", "true", "yes")
        org = current_org()
        tickets = ticket_queries.my_tickets(org, _me(), include_void=include_void)
        lists = event_lists.effective_lists(org, tickets)
        return {"tickets": [ticket_view(t, event_list=lists.get(t.id)) for t in tickets]}


@blp.route("/client/events/tickets/claim")
@throttled(blp, Guard("claim", frozenset({404}), caller_account))  # guessing claim tokens
class ClaimTicket(MethodView):
    @require_role("customer")
    @blp.arguments(ClaimSchema)
    @blp.response(200, ClaimResult)
    def post(self, data):
        """Move a ticket transferred to me into my account (404 `invalid_claim_token`, 409 `already_claimed`)."""
        ticket = transfers.claim(current_org(), data["token"], _me())
        return {"ticket": ticket_view(ticket)}


@blp.route("/client/events/tickets/<ticket_id>")
class MyTicket(MethodView):
    @require_role("customer")
    @blp.response(200, TicketSchema)
    def get(self, ticket_id):
        """One of my tickets (anyone else's is 404)."""
        org = current_org()
        ticket = ticket_queries.owned_ticket(org, ticket_id, _me())
        return ticket_view(ticket, event_list=event_lists.effective_lists(org, [ticket]).get(ticket.id))

    @require_role("customer")
    @idempotent
    @blp.arguments(TicketEditRequest)
    @blp.response(200, TicketEditResult)
    @blp.alt_response(202, schema=TicketEditResult, description="The change fee is to be paid first: the edit is "
                      "pending, with the payment's client data; it applies once the payment is confirmed.")
    def patch(self, data, ticket_id):
        """Change my ticket's `holderName` and/or `holderEmail` (types marked editable, valid tickets, within the
        type's edit window): 200 applied; 202 pending when the type has a change fee (pay it, then
        `POST .../edit/confirm` or the provider's webhook applies it). 409 `ticket_not_editable`,
        `edit_window_closed`, `change_fee_needs_gateway`; 422 `nothing_to_change`. Honours Idempotency-Key."""
        outcome = ticket_edits.request_edit(current_org(), ticket_id, _me(), holder_name=data.get("holderName"),
                                            holder_email=data.get("holderEmail"))
        return edit_result(outcome), 202 if outcome.pending else 200


@blp.route("/client/events/tickets/<ticket_id>/edit/confirm")
class MyTicketEditConfirm(MethodView):
    @require_role("customer")
    @idempotent
    @blp.arguments(ConfirmEditRequest)
    @blp.response(200, TicketEditResult)
    def post(self, data, ticket_id):
        """Apply my ticket's pending holder edits whose change fee was paid (checked with the provider), once;
        a repeat answers the same edit. 402 `payment_not_completed`, 404 `ticket_edit_not_found`. Honours
        Idempotency-Key."""
        return edit_result(ticket_edits.confirm_edits(current_org(), ticket_id, _me()))


@blp.route("/client/events/tickets/<ticket_id>/qr")
class MyTicketQr(MethodView):
    @require_role("customer")
    @blp.doc(**PNG_DOC)
    @blp.error_responses(PNG_ERRORS)
    def get(self, ticket_id):
        """My ticket's entry QR as a PNG (signed payload; a rotating ticket's current live code, see the
        headers; 409 `ticket_revoked` once void)."""
        return qr_response(ticket_queries.owned_ticket(current_org(), ticket_id, _me()))


@blp.route("/client/events/tickets/<ticket_id>/perks")
class MyTicketPerks(MethodView):
    @require_role("customer")
    @blp.response(200, PerksSchema)
    def get(self, ticket_id):
        """The perks of my ticket's tier (e.g. lounge access, a drink voucher)."""
        ticket = ticket_queries.owned_ticket(current_org(), ticket_id, _me())
        return {"ticketId": ticket.id, "ticketTypeId": ticket.ticket_type_id,
                "ticketTypeName": ticket.ticket_type.name, "perks": list(ticket.ticket_type.perks or [])}


@blp.route("/client/events/tickets/<ticket_id>/transfer")
class MyTicketTransfer(MethodView):
    @require_role("customer")
    @idempotent
    @blp.arguments(TransferSchema)
    @blp.response(201, TransferResult)
    def post(self, data, ticket_id):
        """Give my ticket to `toEmail` (they get a claim email) or to the account `username` names (it is theirs
        at once, with a new QR; both of us are told; 404 `customer_not_found`): my QR stops working; no refund;
        honours Idempotency-Key (the answer holds no claim token, so it may be stored)."""
        return transfer_and_show(ticket_queries.owned_ticket(current_org(), ticket_id, _me()), data, staff=False)


@blp.route("/client/events/booking")
class MyBookings(MethodView):
    @require_role("customer")
    @blp.response(200, MyBookingList)
    def get(self):
        """My bookings across events, upcoming first, with event name/start and live ticket count (a pending
        booking whose hold ran out is expired first, so it shows `expired`)."""
        org = current_org()
        holds.release_overdue_of_customer(org.id, _me())
        return {"bookings": ticket_queries.my_bookings(org, _me())}
