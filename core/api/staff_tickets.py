"""Staff ticket endpoints: event ticket lists and participants, one ticket, its QR, transfer, cancel, refund.

Thin views: parse, call `core.services.*`, serialise with `ticket_view`; no state changes happen here.
"""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema

from core.api.blueprint import Blueprint
from core.api.idempotency import idempotent
from core.api.ticket_edit_schema import StaffTicketEditList, edit_view
from core.api.ticket_schema import PNG_DOC, PNG_ERRORS, StaffTicketSchema, ticket_view, ticket_views
from core.api_schema import Schema
from core.auth import current_identity, require_role
from core.errors import Conflict, NotFound, Unprocessable
from core.models import Booking, Refund
from core.pagination import (
    DEFAULT_PAGE_SIZE,
    CursorPageQuery,
    InvalidParameter,
    PageNumberQuery,
    page_body,
    paginate_block,
    parse_size,
)
from core.roles import MANAGERS, READERS, TICKET_READERS
from core.services import (
    attendees,
    cancellation,
    event_lists,
    refund_payouts,
    rotating_qr,
    ticket_edits,
    ticket_queries,
    transfers,
)
from core.tenancy import current_org
from core.timefmt import iso_utc

blp = Blueprint("staff_tickets", __name__, description="Staff: issued tickets, transfers, cancellations, refunds")

TICKET_STATES = ("pending_activation", "valid", "checked_in", "cancelled", "refunded", "refunding", "transferred")


class TransferSchema(Schema):
    """Exactly one of `toEmail` (a claim link is sent there) and `username` (the ticket moves into that account
    at once)."""

    toEmail = fields.Email(metadata={"description": "Send the ticket to this address with a claim link"})
    toName = fields.String(load_default="", validate=validate.Length(max=200))
    username = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "Move the ticket at once into the account with this username (case ignored): a new QR, "
                       "both sides told; 404 `customer_not_found`. `toName` is not used (the account's name is)"})

    @validates_schema
    def one_recipient(self, data, **kwargs):
        """`toEmail` or `username`, never both or neither; `toName` goes with `toEmail` only."""
        if ("toEmail" in data) == ("username" in data):
            raise ValidationError("Send exactly one of `toEmail` and `username`.", field_name="toEmail")
        if "username" in data and data.get("toName"):
            raise ValidationError("`toName` goes with `toEmail`; a username transfer uses the account's name.",
                                  field_name="toName")


class TicketPage(Schema):
    data = fields.List(fields.Nested(StaffTicketSchema))
    meta = fields.Dict(metadata={"description": "003 `{count, page: {size, next_cursor, first, last}, links}`"})
    paginate = fields.Dict(metadata={"description": "002 `{hasNextPage, nextPage}`; only with `page`/`limit`"})


class ParticipantSchema(Schema):
    id = fields.String(metadata={"description": "The attendee's stable id (`GET /attendees/{attendee_id}`)"})
    first_name = fields.String()
    last_name = fields.String()
    email = fields.String(allow_none=True, metadata={"description": "null for an attendee with no e-mail"})
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    confirmed = fields.Boolean(metadata={"description": "true once the attendee was issued a ticket"})
    created = fields.String()
    ticket_count = fields.Integer(metadata={"description": "valid or checked-in tickets it holds (of the event)"})
    ticket_ids = fields.List(fields.String(), metadata={"description": "those tickets' ids, oldest first"})


class AttendeeSchema(ParticipantSchema):
    tickets = fields.List(fields.Nested(StaffTicketSchema),
                          metadata={"description": "every ticket it holds or held, any status, oldest first"})


class ParticipantPage(Schema):
    participants = fields.List(fields.Nested(ParticipantSchema))
    paginate = fields.Dict(metadata={"description": "`{hasNextPage, nextPage}`"})


class TransferInfo(Schema):
    id = fields.String()
    toEmail = fields.String()
    toName = fields.String()
    toUsername = fields.String(allow_none=True, metadata={"description": "set for a transfer by username"})
    claimed = fields.Boolean(metadata={"description": "true at once for a transfer by username"})
    createdAt = fields.String()


class TransferResult(Schema):
    transfer = fields.Nested(TransferInfo)
    oldTicket = fields.Nested(StaffTicketSchema)
    newTicket = fields.Nested(StaffTicketSchema, metadata={"description": "Customers see only `id`"})
    claimToken = fields.String(metadata={"description": "Staff only: the one-time claim token"})
    claimUrl = fields.String(metadata={"description": "Staff only: the claim page the recipient opens, "
                                                     "`<public_url>/e/<org>/claim?token=...` (the pages plugin)"})
    claimExpiresAt = fields.String(metadata={"description": "Staff only: when the claim link stops working "
                                                           "(30 days, or the end of the event if sooner)"})


class BookingSummary(Schema):
    id = fields.String()
    status = fields.String()
    eventId = fields.String()
    amount = fields.Integer()
    refundedAmount = fields.Integer()
    currency = fields.String()


class RefundInfo(Schema):
    id = fields.String()
    status = fields.String(metadata={
        "enum": list(refund_payouts.STATUSES),
        "description": "succeeded: the gateway paid it back; owed: no money moved (e.g. the box office), staff "
                       "pay it out by hand and record it with POST /events/refunds/{id}/paid-out; paid_out: "
                       "staff recorded that payout; pending: the gateway is being asked; failed: it refused"})
    amount = fields.Integer(metadata={"description": "Minor units"})
    currency = fields.String()
    gateway = fields.String()
    reference = fields.String(allow_none=True)
    ticketIds = fields.List(fields.String())
    reason = fields.String(metadata={"description": "the staff's reason given with the refund (a bulk refund's "
                                                    "`note`)"})
    method = fields.String(metadata={"enum": ["original", "store_credit"],
                                     "description": "original: through the booking's gateway; store_credit: "
                                                    "granted as the buyer's store credit"})
    storeCreditId = fields.String(allow_none=True, metadata={"description": "the credit a store_credit refund "
                                                                            "granted"})
    creditExpiresAt = fields.String(allow_none=True, metadata={"description": "when that credit expires"})
    ticketsVoided = fields.Boolean(metadata={"description": "false: refunded with `void_tickets: false`, the "
                                                            "tickets stay valid"})
    paidOutAt = fields.String(allow_none=True, metadata={"description": "when staff recorded an owed refund paid"})
    createdAt = fields.String()


class RefundResultSchema(Schema):
    refund = fields.Nested(RefundInfo)
    booking = fields.Nested(BookingSummary)
    tickets = fields.List(fields.Nested(StaffTicketSchema))


class RefundSchema(Schema):
    amount = fields.Decimal(load_default=None, allow_none=True, allow_nan=False,
                            metadata={"description": "Major units (e.g. 12.50); default: what was paid"})
    reason = fields.String(load_default="", validate=validate.Length(max=500),
                           metadata={"description": "kept on the refund record and shown with it"})


class RefundQuery(CursorPageQuery):
    status = fields.String(validate=validate.OneOf(refund_payouts.STATUSES),
                           metadata={"description": "only refunds in this status, e.g. `owed` (to pay out)"})


class RefundList(Schema):
    data = fields.List(fields.Nested(RefundInfo))
    meta = fields.Dict(metadata={"description": "003 `{count, page: {size, next_cursor, first, last}, links}`"})


class PaidOutSchema(Schema):
    reference = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=255),
                              metadata={"description": "the payout's own reference (e.g. a bank transfer id)"})


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise InvalidParameter(f"`{name}` must be an integer.", errors={name: ["not an integer"]}) from exc


def booking_view(booking: Booking) -> dict:
    """A booking's money and status after a cancel or refund."""
    return {"id": booking.id, "status": booking.status, "eventId": booking.event_id, "amount": booking.amount,
            "refundedAmount": booking.refunded_amount, "currency": booking.currency}


def refund_info(refund: Refund) -> dict:
    """A Refund record as staff see it (`RefundInfo`)."""
    return {"id": refund.id, "status": refund.status, "amount": refund.amount, "currency": refund.currency,
            "gateway": refund.gateway, "reference": refund.reference, "ticketIds": refund.ticket_ids,
            "reason": refund.reason, "paidOutAt": (refund.data or {}).get("paidOutAt"),
            "method": (refund.data or {}).get("method", "original"),
            "storeCreditId": (refund.data or {}).get("store_credit_id"),
            "creditExpiresAt": (refund.data or {}).get("credit_expires_at"),
            "ticketsVoided": (refund.data or {}).get("void_tickets", True),
            "createdAt": iso_utc(refund.created_at)}


def refund_view(outcome: cancellation.RefundOutcome) -> dict:
    """The answer to a refund: the Refund record, the booking and the voided tickets."""
    return {
        "refund": refund_info(outcome.refund),
        "booking": booking_view(outcome.booking),
        "tickets": ticket_views(outcome.tickets, staff=True),
    }


def qr_response(ticket) -> Response:
    """The ticket's QR as PNG: a static code clients may cache privately (it changes only when the ticket is
    revoked); a rotating ticket's current live code with `X-Code-Expires-At` and `Cache-Control: no-store`.
    409 `ticket_revoked` once the ticket no longer scans."""
    if ticket.status not in ticket_queries.LIVE:
        raise Conflict(f"This ticket is {ticket.status}; its QR no longer scans.", type="ticket_revoked",
                       ticketStatus=ticket.status)
    image = rotating_qr.ticket_qr(current_org(), ticket)
    response = Response(image.png, mimetype="image/png")
    if image.expires_at is None:
        response.headers["Cache-Control"] = "private, max-age=300"
    else:
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Code-Expires-At"] = iso_utc(image.expires_at)
    return response


@blp.route("/events/<event_id>/tickets")
class EventTickets(MethodView):
    @require_role(TICKET_READERS, scope="read")
    @blp.response(200, TicketPage)
    def get(self, event_id):
        """An event's tickets: `status`, `ticketTypeId`, `search` (holder email/name); cursor or page/limit."""
        status = request.args.get("status") or None
        if status and status not in TICKET_STATES:
            raise InvalidParameter(f"`status` must be one of {', '.join(TICKET_STATES)}.",
                                   errors={"status": ["unknown status"]})
        search = (request.args.get("search") or request.args.get("q") or "").strip()[:200] or None
        page_number = _int_arg("page")
        size_raw = request.args.get("limit") if page_number is not None else request.args.get("page[size]")
        size = parse_size(size_raw, default=50)
        org = current_org()
        page = ticket_queries.event_tickets(org, event_id, status=status,
                                            ticket_type_id=request.args.get("ticketTypeId") or None, search=search,
                                            size=size, cursor=request.args.get("page[cursor]"), page=page_number)
        lists = event_lists.effective_lists(org, page.rows)
        return page_body(page, lambda ticket: ticket_view(ticket, staff=True, event_list=lists.get(ticket.id)))


def participants_body(event_id: str, query: dict) -> dict:
    """The 002 participants answer for both paths: `{participants, paginate: {hasNextPage, nextPage}}`."""
    page = attendees.attendees_page(current_org(), event_id=event_id, page=query["page"], limit=query["limit"])
    return {"participants": [attendees.participant_view(row) for row in page.rows], "paginate": paginate_block(page)}


@blp.route("/events/<event_id>/participants")
class Participants(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(PageNumberQuery, location="query")
    @blp.response(200, ParticipantPage)
    def get(self, query, event_id):
        """The attendees holding the event's valid or checked-in tickets, one row each with its tickets, 002
        shape (`id` is the attendee's), oldest attendee first, with `paginate: {hasNextPage, nextPage}`."""
        return participants_body(event_id, query)


class PartnerParticipantsQuery(PageNumberQuery):
    """002's `GET /participants` query: the event is a required parameter."""

    eventId = fields.String(required=True, validate=validate.Length(min=1, max=64))


@blp.route("/participants")
class PartnerParticipants(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(PartnerParticipantsQuery, location="query")
    @blp.response(200, ParticipantPage)
    def get(self, query):
        """002's path `?eventId=&page=&limit=` for the same list; a missing or unknown `eventId` is a 422."""
        try:
            return participants_body(query["eventId"], query)
        except NotFound as exc:
            raise Unprocessable(f"No event with id {query['eventId']!r}.", type="event_not_found",
                                errors={"query": {"eventId": ["no such event"]}}) from exc


@blp.route("/attendees/<attendee_id>")
class AttendeeRecord(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, AttendeeSchema)
    def get(self, attendee_id):
        """One attendee (002's participant fields) with every ticket it holds or held; 404 `attendee_not_found`."""
        org = current_org()
        attendee, tickets = ticket_queries.attendee_tickets(org, attendee_id)
        lists = event_lists.effective_lists(org, tickets)
        return {**attendees.participant_view(attendee),
                "tickets": [ticket_view(t, staff=True, event_list=lists.get(t.id)) for t in tickets]}


@blp.route("/events/tickets/<ticket_id>")
class StaffTicket(MethodView):
    @require_role(TICKET_READERS, scope="read")
    @blp.response(200, StaffTicketSchema)
    def get(self, ticket_id):
        """One ticket with booking, customer and scan details."""
        org = current_org()
        ticket = ticket_queries.staff_ticket(org, ticket_id)
        return ticket_view(ticket, staff=True, event_list=event_lists.effective_lists(org, [ticket]).get(ticket.id))


@blp.route("/events/tickets/<ticket_id>/edits")
class StaffTicketEdits(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, StaffTicketEditList)
    def get(self, ticket_id):
        """The ticket's holder edits, oldest first: new and previous holder, change fee, its payment and status."""
        org = current_org()
        edits = ticket_edits.ticket_edits(org, ticket_id)
        return {"edits": [edit_view(edit) for edit in edits],
                "ticket": ticket_view(ticket_queries.staff_ticket(org, ticket_id), staff=True)}


@blp.route("/events/tickets/<ticket_id>/qr")
class StaffTicketQr(MethodView):
    @require_role(READERS, scope="read")
    @blp.doc(**PNG_DOC)
    @blp.error_responses(PNG_ERRORS)
    def get(self, ticket_id):
        """The ticket's QR as PNG (409 `ticket_revoked` once it no longer scans)."""
        return qr_response(ticket_queries.staff_ticket(current_org(), ticket_id))


@blp.route("/events/tickets/<ticket_id>/transfer")
class StaffTransfer(MethodView):
    @require_role(MANAGERS, scope="orders")
    @blp.arguments(TransferSchema)
    @blp.response(201, TransferResult)
    def post(self, data, ticket_id):
        """Reissue a ticket to `toEmail` (staff see the claim token and URL to pass on if email fails), or move it
        at once into the account `username` names (no claim step; 404 `customer_not_found`)."""
        return transfer_and_show(ticket_queries.staff_ticket(current_org(), ticket_id), data, staff=True)


def transfer_and_show(ticket, data: dict, *, staff: bool) -> dict:
    """Transfer `ticket` as the parsed TransferSchema `data` asks (to an e-mail with a claim link, or into the
    account a `username` names), and render the answer for the caller."""
    if "username" in data:
        outcome = transfers.transfer_to_customer(current_org(), current_identity(), ticket.id, data["username"])
        return transfer_view(outcome, staff=staff, username=data["username"].strip())
    outcome = transfers.transfer_ticket(current_org(), ticket, to_email=data["toEmail"], to_name=data["toName"])
    return transfer_view(outcome, staff=staff)


def transfer_view(outcome: transfers.TransferOutcome, *, staff: bool, username: str | None = None) -> dict:
    """The answer to a transfer; the claim token only for staff (the sender never sees it), and only when there
    is one to claim (not for a transfer by username)."""
    body = {
        "transfer": {"id": outcome.transfer.id, "toEmail": outcome.transfer.to_email,
                     "toName": outcome.transfer.to_name, "toUsername": username,
                     "claimed": outcome.transfer.claimed_at is not None,
                     "createdAt": iso_utc(outcome.transfer.created_at)},
        "oldTicket": ticket_view(outcome.old_ticket, staff=staff),
        "newTicket": ticket_view(outcome.new_ticket, staff=staff) if staff else {"id": outcome.new_ticket.id},
    }
    if staff and outcome.claim_token:
        body["claimToken"] = outcome.claim_token
        body["claimUrl"] = event_lists.claim_page_url(outcome.new_ticket.org_id, outcome.claim_token)
        body["claimExpiresAt"] = iso_utc(outcome.transfer.expires_at)
    return body


@blp.route("/events/tickets/<ticket_id>/claim-link")
class ReissueClaimLink(MethodView):
    @require_role(MANAGERS, scope="orders")
    @blp.response(201, TransferResult)
    def post(self, ticket_id):
        """A fresh claim link for a transferred ticket nobody claimed yet (`ticket_id` = the recipient's ticket):
        the old link stops working and the recipient is told again. 404 `transfer_not_found`, 409
        `already_claimed` / `ticket_revoked`."""
        return transfer_view(transfers.reissue_claim_link(current_org(), ticket_id), staff=True)


@blp.route("/events/tickets/<ticket_id>/cancel")
class CancelTicket(MethodView):
    @require_role(MANAGERS, scope="orders")
    @idempotent
    @blp.response(200, StaffTicketSchema)
    def post(self, ticket_id):
        """Void a ticket without refund (QR stops scanning, seat back on sale); 409 `already_cancelled`;
        honours Idempotency-Key."""
        return ticket_view(cancellation.cancel_ticket(current_org(), ticket_id), staff=True)


@blp.route("/events/tickets/<ticket_id>/refund")
class RefundTicket(MethodView):
    @require_role(MANAGERS, scope="orders")
    @idempotent
    @blp.arguments(RefundSchema)
    @blp.response(200, RefundResultSchema)
    def post(self, data, ticket_id):
        """Refund one ticket through its booking's gateway (optional partial `amount`); honours Idempotency-Key."""
        return refund_view(cancellation.refund_ticket(current_org(), ticket_id, data["amount"], data["reason"]))


@blp.route("/events/bookings/<booking_id>/cancel")
class CancelBooking(MethodView):
    @require_role(MANAGERS, scope="orders")
    @idempotent
    @blp.response(200, BookingSummary)
    def post(self, booking_id):
        """Cancel a booking: pending ones release their hold; paid ones void every live ticket (no refund);
        honours Idempotency-Key."""
        return booking_view(cancellation.cancel_booking(current_org(), booking_id))


@blp.route("/events/bookings/<booking_id>/refund")
class RefundBooking(MethodView):
    @require_role(MANAGERS, scope="orders")
    @idempotent
    @blp.arguments(RefundSchema)
    @blp.response(200, RefundResultSchema)
    def post(self, data, booking_id):
        """Refund a booking's live tickets (default: the rest of the payment); honours Idempotency-Key."""
        return refund_view(cancellation.refund_booking(current_org(), booking_id, data["amount"], data["reason"]))


@blp.route("/events/refunds")
class Refunds(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(RefundQuery, location="query")
    @blp.response(200, RefundList)
    def get(self, args):
        """The tenant's refunds, oldest first, cursor-paginated; `?status=owed` lists those staff still pay out."""
        page = refund_payouts.list_refunds(current_org(), status=args.get("status"), cursor=args.get("page_cursor"),
                                           size=args.get("page_size", DEFAULT_PAGE_SIZE))
        return page_body(page, refund_info)


@blp.route("/events/refunds/<refund_id>/paid-out")
class RefundPaidOut(MethodView):
    @require_role(MANAGERS, scope="orders")
    @blp.arguments(PaidOutSchema)
    @blp.response(200, RefundInfo)
    def post(self, data, refund_id):
        """Record that an `owed` refund (no money moved, e.g. the box office) was paid out by hand: status
        `paid_out`. Idempotent (a repeat answers the same record); 409 `refund_not_owed` for any other refund."""
        return refund_info(refund_payouts.mark_paid_out(current_org(), refund_id, data["reference"]))
