"""Resale listing routes: staff terms and report (CSV too), the holder's listing of a ticket, and buying one.

Views only parse, call one service function and dump; every rule is in `listings.py` / `listing_sale.py`.
"""

from __future__ import annotations

from flask import Response, request
from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import plugin_blueprint
from core.api.booking_schema import BookingResponseSchema
from core.api.idempotency import idempotent
from core.api.queue_pass import QUEUE_PASS_DOC, sent_queue_pass
from core.api_schema import INT32, Schema
from core.auth import current_identity, require_role
from core.roles import MANAGERS, READERS
from core.services import booking as bookings
from core.tenancy import current_org
from core.timefmt import iso_utc
from plugins.resale import listing_report, listing_sale, listings

PLUGIN = "resale"
CSV_TYPE = "text/csv"
CSV_DOC = {"schema": {"type": "string"}}

blp = plugin_blueprint(PLUGIN, "resale_listings", __name__, description="Face-value resale of tickets")

MONEY = validate.Range(min=0, max=INT32[1])


class TermsSchema(Schema):
    """An event's resale terms."""

    eventId = fields.String(dump_only=True)
    enabled = fields.Boolean()
    priceCap = fields.Integer(allow_none=True, validate=MONEY, metadata={
        "description": "highest price a listing may ask (minor units); null: face value. Each ticket is also "
                       "capped at what its seller paid for it"})
    feeFixed = fields.Integer(validate=MONEY, metadata={"description": "kept from each sale (minor units)"})
    feePercentBp = fields.Integer(validate=validate.Range(min=0, max=10000), metadata={
        "description": "plus this share of the price, in basis points (250 = 2.5 %)"})
    allowComps = fields.Boolean(metadata={"description": "comp and partner tickets may be listed (their sale "
                                                         "brings the seller nothing)"})


class ListingSchema(Schema):
    """A listing as its seller and buyers see it."""

    id = fields.String()
    eventId = fields.String()
    ticketId = fields.String()
    ticketTypeId = fields.String()
    status = fields.String(metadata={"description": "offered (waiting list first), listed, sold or withdrawn"})
    price = fields.Integer()
    currency = fields.String()
    reserved = fields.Boolean(metadata={"description": "a buyer is paying for it now"})
    listedAt = fields.String()


class SellerListingSchema(ListingSchema):
    """The seller's view: what the sale pays them back."""

    fee = fields.Integer()
    sellerAmount = fields.Integer()
    origin = fields.String()
    endedReason = fields.String(allow_none=True)
    soldAt = fields.String(allow_none=True)


class StaffListingSchema(SellerListingSchema):
    """Staff's view: the sale's money."""

    sellerId = fields.String()
    buyerId = fields.String(allow_none=True)
    buyerTicketId = fields.String(allow_none=True)
    sellerRefundId = fields.String(allow_none=True)
    sellerRefundStatus = fields.String(allow_none=True)
    sellerRefunded = fields.Integer()
    payoutPending = fields.Integer()
    refusedPurchases = fields.Integer()


class ReportSchema(Schema):
    terms = fields.Nested(TermsSchema)
    totals = fields.Dict(keys=fields.String(), values=fields.Integer())
    listings = fields.List(fields.Nested(StaffListingSchema))


class ListRequest(Schema):
    price = fields.Integer(required=True, validate=MONEY, metadata={"description": "minor units, at most the cap"})


class BuyRequest(Schema):
    paymentGateway = fields.String(validate=validate.Length(max=64))
    offer = fields.String(validate=validate.Length(max=200), metadata={
        "description": "the waiting-list offer token, for a listing offered to the waiting list"})


class SaleSchema(Schema):
    """What became of a buyer's purchase of a listing."""

    bookingId = fields.String()
    listingId = fields.String()
    status = fields.String(metadata={"description": "pending (unpaid), sold, or refused (refunded)"})
    reason = fields.String(allow_none=True)
    ticketId = fields.String(allow_none=True, metadata={"description": "the buyer's new ticket once sold"})


class OnSaleSchema(Schema):
    listings = fields.List(fields.Nested(ListingSchema))


def terms_view(terms) -> dict:
    return {"eventId": terms.event_id, "enabled": terms.enabled, "priceCap": terms.price_cap,
            "feeFixed": terms.fee_fixed, "feePercentBp": terms.fee_percent_bp, "allowComps": terms.allow_comps}


def listing_view(listing) -> dict:
    from core.models import utcnow

    reserved = listing.reserved_until is not None and listing.reserved_until > utcnow()
    return {"id": listing.id, "eventId": listing.event_id, "ticketId": listing.ticket_id,
            "ticketTypeId": listing.ticket_type_id, "status": listing.status, "price": listing.price,
            "currency": listing.currency, "reserved": reserved and listing.status in listings.LIVE,
            "listedAt": iso_utc(listing.created_at), "fee": listing.fee, "sellerAmount": listing.seller_amount,
            "origin": listing.origin, "endedReason": listing.ended_reason,
            "soldAt": iso_utc(listing.sold_at) if listing.sold_at else None}


def _staff_row(row: listing_report.ListingRow) -> dict:
    listing, refund = row.listing, row.seller_refund
    return {**listing_view(listing), "sellerId": listing.seller_id, "buyerId": listing.buyer_id,
            "buyerTicketId": listing.buyer_ticket, "sellerRefundId": refund.id if refund else None,
            "sellerRefundStatus": refund.status if refund else None, "sellerRefunded": row.seller_refunded,
            "payoutPending": row.payout_pending, "refusedPurchases": len(row.refused)}


def sale_view(bought) -> dict:
    from plugins.resale.listing_models import ResaleListing

    listing = ResaleListing.get((ResaleListing.id == bought.listing_id) & (ResaleListing.org == bought.org_id))
    mine = bought.status == "sold" and listing.buyer_booking == bought.booking_id
    return {"bookingId": bought.booking_id, "listingId": bought.listing_id, "status": bought.status,
            "reason": bought.reason, "ticketId": listing.buyer_ticket if mine else None}


# --- staff -----------------------------------------------------------------------------------------

@blp.route("/events/<event_id>/resale/settings")
class ResaleTermsView(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, TermsSchema)
    def get(self, event_id):
        """The event's resale terms (off, face-value cap and no fee until staff change them)."""
        return terms_view(listings.event_terms(current_org(), event_id)[1])

    @require_role(MANAGERS, scope="events")
    @blp.arguments(TermsSchema)
    @blp.response(200, TermsSchema)
    def put(self, data, event_id):
        """Open or close resale for the event and set its price cap, fee and whether comps may be listed
        (fields left out keep their value; `priceCap: null` means face value). Listings already made keep
        their price and fee."""
        change = listings.TermsChange(enabled=data.get("enabled"), price_cap=data.get("priceCap"),
                                      clear_price_cap="priceCap" in data and data["priceCap"] is None,
                                      fee_fixed=data.get("feeFixed"), fee_percent_bp=data.get("feePercentBp"),
                                      allow_comps=data.get("allowComps"))
        return terms_view(listings.set_terms(current_org(), event_id, change))


@blp.route("/events/<event_id>/resale")
class ResaleReportView(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, ReportSchema)
    @blp.doc(responses={"200": {"description": "The event's resale (or, with `Accept: text/csv`, its listings as "
                                               "CSV)", "content": {"application/json": {"schema": ReportSchema},
                                                                   CSV_TYPE: CSV_DOC}}})
    def get(self, event_id):
        """Every listing of the event (newest first) with the money each sale moved: price, fee, what reached the
        seller and what staff still pay out by hand; totals. With `Accept: text/csv`, the listings as CSV."""
        report = listing_report.event_report(current_org(), event_id)
        if request.accept_mimetypes.best_match(["application/json", CSV_TYPE]) == CSV_TYPE:
            response = Response(listing_report.csv_text(report), mimetype=CSV_TYPE)
            response.headers["Content-Disposition"] = f'attachment; filename="resale-{event_id[:36]}.csv"'
            return response
        return {"terms": terms_view(report.terms), "totals": report.totals(),
                "listings": [_staff_row(row) for row in report.rows]}


# --- the holder --------------------------------------------------------------------------------------

@blp.route("/client/events/tickets/<ticket_id>/resale")
class MyListingView(MethodView):
    @require_role("customer")
    @blp.response(200, SellerListingSchema)
    def get(self, ticket_id):
        """My ticket's newest listing and its state (404 `listing_not_found` when never listed)."""
        return listing_view(listings.my_listing(current_org(), current_identity().sub, ticket_id))

    @require_role("customer")
    @idempotent
    @blp.arguments(ListRequest)
    @blp.response(201, SellerListingSchema)
    def post(self, data, ticket_id):
        """List my ticket for resale at `price` (minor units, at most the cap). It stays valid for me until it
        is sold; offered to the waiting list first. 409 `resale_not_enabled`, `already_listed`,
        `not_transferable`, `already_checked_in`, `ticket_refunded`, `ticket_not_valid`, `comp_not_listable`,
        `event_ended`; 422 `price_above_cap` (with the `cap`)."""
        return listing_view(listings.create_listing(current_org(), current_identity().sub, ticket_id,
                                                    data["price"]))

    @require_role("customer")
    @blp.response(200, SellerListingSchema)
    def delete(self, ticket_id):
        """Withdraw my unsold listing. 409 `listing_reserved` while a buyer pays, `listing_not_live` once sold or
        withdrawn."""
        return listing_view(listings.withdraw(current_org(), current_identity().sub, ticket_id))


# --- buyers -------------------------------------------------------------------------------------------

@blp.route("/client/events/<event_id>/resale")
class OnSaleView(MethodView):
    @blp.response(200, OnSaleSchema)
    def get(self, event_id):
        """The event's resale tickets on public sale now, cheapest first (none when resale is off; 404
        `event_not_found` for an event customers cannot see)."""
        org = current_org()
        event = listings.public_event(org, event_id)
        return {"listings": [listing_view(listing) for listing in listings.on_sale(org, event.id)]}


@blp.route("/client/events/<event_id>/resale/<listing_id>/purchase")
class BuyListingView(MethodView):
    @require_role("customer")
    @idempotent
    @blp.arguments(BuyRequest)
    @blp.response(201, BookingResponseSchema)
    @blp.doc(**QUEUE_PASS_DOC)
    def post(self, data, event_id, listing_id):
        """Buy a resale ticket: a booking of the listing's price that reserves it while I pay (its hold); pay it
        like any purchase, then confirm it (`POST /client/events/resale/sales/{bookingId}/confirm`, or the
        core's confirm-order; the provider's webhook does it too). 409 `listing_unavailable`, `resale_not_enabled`,
        422 `own_listing`, 404 `listing_not_found`."""
        return listing_sale.buy_listing(current_org(), current_identity(), event_id, listing_id, data,
                                        queue_pass=sent_queue_pass())


@blp.route("/client/events/resale/sales/<booking_id>")
class SaleView(MethodView):
    @require_role("customer")
    @blp.response(200, SaleSchema)
    def get(self, booking_id):
        """What became of my purchase of a listing (404 `sale_not_found`)."""
        return sale_view(listing_sale.my_purchase(current_org(), current_identity().sub, booking_id))


@blp.route("/client/events/resale/sales/<booking_id>/confirm")
class ConfirmSaleView(MethodView):
    @require_role("customer")
    @idempotent
    @blp.response(200, SaleSchema)
    def post(self, booking_id):
        """I paid: the payment is verified with the provider (402 `payment_not_completed` otherwise) and the sale
        completes at once: my new ticket, or `refused` with my payment refunded when the listing went (its
        ticket was scanned at the door, or withdrawn)."""
        org = current_org()
        bought = listing_sale.my_purchase(org, current_identity().sub, booking_id)
        bookings.confirm(org, bought.booking_id)
        return sale_view(listing_sale.complete_sale(org, bought.booking_id))
