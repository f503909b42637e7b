"""004's club routes under /api/tickets/ (DRF-style trailing slashes): the cart, checkout, the payment
callback, a member's tickets, QR, attendance and transfer.

Parses and answers only; every rule is in the plugin's services and the core's. Errors are the core's envelope
with 004's `detail` beside it (what a DRF client reads), so the machine `type` stays.
"""

from __future__ import annotations

from flask import Response, current_app, request
from flask.views import MethodView
from marshmallow import INCLUDE, fields, validate

from core.api.blueprint import Blueprint, plugin_blueprint
from core.api.queue_pass import QUEUE_PASS_DOC, sent_queue_pass
from core.api.staff_tickets import qr_response
from core.api.ticket_schema import PNG_DOC, PNG_ERRORS
from core.api_schema import Schema
from core.auth import current_identity, require_role
from core.roles import CUSTOMER, DOOR_STAFF, OFFICER
from core.tenancy import current_org, tenant_exempt
from plugins.club_cart import cart, checkout, tickets

blp = plugin_blueprint("club_cart", "club_cart", __name__,
                       description="Club cart (plugin, 004): cart, checkout, a member's tickets")
callback_blp = tenant_exempt(Blueprint("club_cart_callback", __name__,
                                       description="Club cart (plugin, 004): the payment page's callback"))


def with_detail(response: Response) -> Response:
    """An error answer of these routes also carries 004's `detail` (the envelope's `message`)."""
    if response.status_code < 400 or not response.is_json:
        return response
    body = response.get_json(silent=True)
    if isinstance(body, dict) and "message" in body and "detail" not in body:
        body["detail"] = body["message"]
        response.set_data(current_app.json.dumps(body))
    return response


blp.after_request(with_detail)
callback_blp.after_request(with_detail)


class ClubShowing(Schema):
    """A showing: the event id tickets are sold for, and when it starts and ends."""

    id = fields.String()
    start_time = fields.String()
    end_time = fields.String()


class ClubEventRef(Schema):
    """The event a showing belongs to."""

    id = fields.String()
    name = fields.String()


class ClubCartLineOut(Schema):
    """One line of a member's cart."""

    id = fields.String(metadata={"description": "the cart line"})
    showing = fields.Nested(ClubShowing)
    event = fields.Nested(ClubEventRef, metadata={"description": "the showing's event (a session's or generated "
                                                             "date's parent)"})
    type = fields.String(metadata={"description": "the ticket type's name"})
    type_id = fields.String(metadata={"description": "the ticket type's id"})
    count = fields.Integer()
    price = fields.String(metadata={"description": "unit price, a decimal in `currency`"})
    currency = fields.String()


class ClubStaleOut(Schema):
    """Tickets that became unavailable since they were added to the cart."""

    type = fields.String(metadata={"description": "the ticket type's name"})
    showing = fields.String(metadata={"description": "the showing's id"})
    event = fields.Nested(ClubEventRef)
    count = fields.Integer(metadata={"description": "how many tickets became unavailable"})
    reason = fields.String(metadata={"description": "`sold_out`, `sale_ended` or `event_cancelled`"})


class ClubCartOut(Schema):
    """004's cart answer."""

    tickets = fields.List(fields.Nested(ClubCartLineOut))
    stale = fields.List(fields.Nested(ClubStaleOut), metadata={
        "description": "what became unavailable since it was added; reported once, and gone from the cart"})


class ClubCartChange(Schema):
    """A change of one cart line (add or remove)."""

    showing = fields.String(required=True, validate=validate.Length(min=1, max=64),
                            metadata={"description": "the showing's id (a date event, a session or a generated date)"})
    type = fields.String(required=True, validate=validate.Length(min=1, max=200),
                         metadata={"description": "the ticket type's id, or its name within the showing"})
    count = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=cart.MAX_LINE_COUNT))


class ClubCartChanged(Schema):
    """The cart's lines after a change."""

    detail = fields.String()
    tickets = fields.List(fields.Nested(ClubCartLineOut))


class ClubCheckoutIn(Schema):
    """004 sends an empty object."""


class ClubCheckoutOut(Schema):
    """004's initiate_checkout answer."""

    success = fields.Boolean()
    sold_free_tickets = fields.Boolean(metadata={"description": "free tickets were issued at once"})
    cybersource_url = fields.String(metadata={"description": "paid: the hosted payment page to post to"})
    payment_params = fields.Dict(keys=fields.String(), values=fields.String(),
                                 metadata={"description": "paid: the signed form fields to post there"})


class ClubTicketOut(Schema):
    """A ticket as 004 shows it."""

    id = fields.String(metadata={"description": "the ticket's UUID"})
    showing = fields.Nested(ClubShowing)
    event = fields.Nested(ClubEventRef)
    type = fields.String(metadata={"description": "the ticket type's name"})
    owner = fields.String(metadata={"description": "the holder's full name"})
    attended = fields.Boolean()
    price = fields.String(metadata={"description": "the price paid, a decimal in `currency`"})
    currency = fields.String(metadata={"description": "the event's currency"})


class ClubCallbackIn(Schema):
    """The form the hosted payment page posts back (every field it sends is kept; the gateway reads them)."""

    class Meta:
        unknown = INCLUDE

    decision = fields.String(metadata={"description": "ACCEPT, DECLINE, CANCEL, ERROR or REVIEW"})
    req_reference_number = fields.String(metadata={"description": "the booking"})
    signed_field_names = fields.String()
    signature = fields.String()


class ClubCallbackOut(Schema):
    """What the payment callback did."""

    success = fields.Boolean(metadata={"description": "the payment was accepted and the tickets issued"})
    detail = fields.String()
    refunded = fields.List(fields.String(), metadata={
        "description": "a checkout group's callback: the bookings whose showing's seats were gone by the time it "
                       "was paid, their share refunded (the others confirmed)"})


class ClubAttendanceIn(Schema):
    """An officer's attendance mark."""

    attended = fields.Boolean(required=True, metadata={"description": "whether the ticket holder attended"})


class ClubTransferIn(Schema):
    """Whom a member gives a ticket to."""

    username = fields.String(required=True, validate=validate.Length(min=1, max=150),
                             metadata={"description": "the recipient's username in the club"})


class ClubDetail(Schema):
    """A confirmation for a person to read."""

    detail = fields.String()


def _me() -> str:
    return current_identity().sub


@blp.route("/tickets/cart/")
class CartView(MethodView):
    """GET /api/tickets/cart/"""

    @require_role("customer")
    @blp.response(200, ClubCartOut)
    def get(self):
        """My cart, and what of it became unavailable since I added it (sold out, sale ended, event cancelled):
        reported once, then gone from the cart."""
        return cart.view(current_org(), _me())


@blp.route("/tickets/cart/add/")
class CartAdd(MethodView):
    """POST /api/tickets/cart/add/"""

    @require_role("customer")
    @blp.arguments(ClubCartChange)
    @blp.response(200, ClubCartChanged)
    def post(self, data):
        """Put `count` tickets of a showing's type in my cart (the purchase rules apply to the line's total;
        409 `sold_out`). A cart may hold several showings; a checkout makes one booking per showing."""
        lines = cart.add(current_org(), _me(), data["showing"], data["type"], data["count"])
        return {"detail": "Added to cart.", "tickets": [cart.line_view(item) for item in lines]}


@blp.route("/tickets/cart/remove/")
class CartRemove(MethodView):
    """POST /api/tickets/cart/remove/"""

    @require_role("customer")
    @blp.arguments(ClubCartChange)
    @blp.response(200, ClubCartChanged)
    def post(self, data):
        """Take up to `count` tickets of a showing's type out of my cart (more than it holds empties the line)."""
        lines = cart.remove(current_org(), _me(), data["showing"], data["type"], data["count"])
        return {"detail": "Removed from cart.", "tickets": [cart.line_view(item) for item in lines]}


@blp.route("/tickets/initiate_checkout/")
class InitiateCheckout(MethodView):
    """POST /api/tickets/initiate_checkout/"""

    @require_role("customer")
    @blp.arguments(ClubCheckoutIn)
    @blp.response(200, ClubCheckoutOut)
    @blp.doc(**QUEUE_PASS_DOC)
    def post(self, data):
        """Hold every cart line for the club's hold time, one booking per showing, all or nothing. Free: issued
        at once (`sold_free_tickets: true`). Paid: the hosted payment page and one signed form for the total.
        403 `cart_stale` with `stale` (nothing held), 400 `cart_empty`, 422 `currency_mismatch`; a double
        click answers the first click's answer. 403 `queue_pass_required` / `queue_pass_invalid` while a showing's
        waiting room is on (send its pass as `Queue-Pass`)."""
        return checkout.initiate_checkout(current_org(), current_identity(), sent_queue_pass())


@blp.route("/tickets/")
class MyTickets(MethodView):
    """GET /api/tickets/"""

    @require_role("customer")
    @blp.response(200, ClubTicketOut(many=True))
    def get(self):
        """My tickets, soonest showing first."""
        return tickets.my_tickets(current_org(), _me())


@blp.route("/tickets/<ticket_id>/")
class OneTicket(MethodView):
    """GET /api/tickets/<id>/"""

    @require_role(CUSTOMER, DOOR_STAFF, OFFICER, scope="checkin")
    @blp.response(200, ClubTicketOut)
    def get(self, ticket_id):
        """One ticket: my own, or any of the club's for an officer (anyone else gets 404 `ticket_not_found`)."""
        org = current_org()
        return tickets.shown(org, tickets.visible(org, current_identity(), ticket_id))


@blp.route("/tickets/<ticket_id>/attendance/")
class TicketAttendance(MethodView):
    """POST /api/tickets/<id>/attendance/"""

    @require_role(DOOR_STAFF, OFFICER, scope="checkin")
    @blp.arguments(ClubAttendanceIn)
    @blp.response(200, ClubTicketOut)
    def post(self, data, ticket_id):
        """Officers: `attended: true` checks the ticket in through the core's door rules (409 `ticket_revoked`,
        `wrong_event`...), `false` undoes a mistaken check-in (logged with who did it); the ticket as it now is."""
        return tickets.set_attendance(current_org(), current_identity(), ticket_id, data["attended"])


@blp.route("/tickets/<ticket_id>/transfer/")
class TicketTransfer(MethodView):
    """POST /api/tickets/<id>/transfer/"""

    @require_role("customer")
    @blp.arguments(ClubTransferIn)
    @blp.response(200, ClubDetail)
    def post(self, data, ticket_id):
        """Give my ticket to the club member `username` at once: they get a new ticket and QR, mine stops
        scanning, both of us are told. 404 `ticket_not_found` / `customer_not_found`, 409 `not_transferable`
        (the type does not allow transfers, or the ticket is used or void), 422 `transfer_to_self`."""
        return tickets.transfer(current_org(), current_identity(), ticket_id, data["username"])


@blp.route("/tickets/<ticket_id>/qr/")
class TicketQr(MethodView):
    """GET /api/tickets/<id>/qr/"""

    @require_role("customer")
    @blp.doc(**PNG_DOC)
    @blp.error_responses(PNG_ERRORS)
    def get(self, ticket_id):
        """My ticket's entry QR as a PNG (owner only; 409 `ticket_revoked` once it no longer scans)."""
        return qr_response(tickets.owned(current_org(), _me(), ticket_id))



@callback_blp.route("/tickets/payment_complete/")
class PaymentComplete(MethodView):
    """POST /api/tickets/payment_complete/"""

    @callback_blp.arguments(ClubCallbackIn, location="form")
    @callback_blp.response(200, ClubCallbackOut)
    def post(self, form):
        """The payment page's callback (form-encoded; no token, no `orgid`: the club's hostname, else the signed
        booking, names the club).
        Accepted: tickets issued and e-mailed (`success: true`); declined, cancelled or failed: the held seats
        go back at once (`success: false`). 400 `invalid_signature` / `invalid_callback`, 409 `hold_expired`
        (paid after the seats were sold: refunded); a replay answers the same and changes nothing."""
        fields_sent = {key: value for key, value in form.items() if isinstance(value, str)}
        return checkout.payment_complete(request.host, fields_sent)
