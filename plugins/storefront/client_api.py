"""Customer routes of the storefront under /client/store: order history, merch catalog, checkout, card balance.

Thin views over the plugin's services and the core's purchase service; a customer only ever sees their own
orders, and a gift-card code is only ever compared by its hash.
"""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, validate

from core.api.blueprint import plugin_blueprint
from core.api.booking_schema import BookingResponseSchema
from core.api.idempotency import idempotent
from core.api.purchase import PurchaseSchema
from core.api.queue_pass import QUEUE_PASS_DOC, sent_queue_pass
from core.api.throttle import Guard, throttled
from core.api_schema import Schema
from core.auth import current_identity, require_role
from core.models import utcnow
from core.pagination import CursorPageQuery
from core.services import booking as bookings
from core.services.purchase_requests import purchase_request
from core.tenancy import current_org, scoped
from plugins.storefront import catalog, offers, views
from plugins.storefront.api import find_order, paged, render_orders
from plugins.storefront.checkout import MAX_MERCH_UNITS, checkout_extras
from plugins.storefront.models import Order, Product

client_blp = plugin_blueprint("storefront", "storefront_client", __name__,
                              description="Storefront (plugin) for customers: orders, merchandise, checkout")


class MerchItem(Schema):
    variantId = fields.String(required=True, validate=validate.Length(min=1, max=64))
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_MERCH_UNITS))


class CheckoutSchema(PurchaseSchema):
    merch = fields.List(fields.Nested(MerchItem), validate=validate.Length(max=50),
                        metadata={"description": "merchandise variants bought in the same booking and payment"})


class BalanceIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=100))


class BalanceOut(Schema):
    last4 = fields.String()
    balance = fields.Nested(views.MoneySchema)
    expiresAt = fields.String(allow_none=True)


@client_blp.route("/client/store/orders")
class MyOrders(MethodView):
    @require_role("customer")
    @client_blp.arguments(CursorPageQuery, location="query")
    @client_blp.response(200, views.OrderList)
    def get(self, args):
        """Every order of the logged-in customer, newest first: tickets and merchandise together, with status."""
        query = scoped(Order, current_org()).where(Order.customer == current_identity().sub)
        return paged(query, Order, args, render_orders)


@client_blp.route("/client/store/orders/<order_id>")
class MyOrder(MethodView):
    @require_role("customer")
    @client_blp.response(200, views.OrderEnvelope)
    def get(self, order_id):
        """One of the customer's orders (404 `order_not_found` for anyone else's)."""
        query = scoped(Order, current_org()).where(Order.customer == current_identity().sub)
        return {"data": render_orders([find_order(query, order_id)])[0]}


@client_blp.route("/client/store/products")
class MerchCatalog(MethodView):
    @client_blp.arguments(CursorPageQuery, location="query")
    @client_blp.response(200, views.ProductList)
    def get(self, args):
        """Merchandise on sale, newest first, in cursor pages (archived variants left out), live availability."""
        products = catalog.list_products(current_org(), kind="merch")
        return paged(products, Product, args, lambda rows: [views.product_view(p, include_archived=False)
                                                            for p in rows])


@client_blp.route("/client/store/checkout")
class Checkout(MethodView):
    @idempotent
    @client_blp.arguments(CheckoutSchema)
    @client_blp.response(201, BookingResponseSchema)
    @client_blp.doc(**QUEUE_PASS_DOC)
    def post(self, data):
        """The ticket purchase plus `merch`: one booking, one payment; merch, discount, tax and gift-card lines.

        Same body and answer as /client/events/tickets/purchase. 409 `sold_out` (seats or stock),
        422 `invalid_promo_code`, `mixed_currencies`, 404 `variant_not_found`.
        """
        org = current_org()
        extras = checkout_extras([(m["variantId"], m["quantity"]) for m in data.get("merch") or []])
        request = purchase_request(org, current_identity(), data, staff=False, source="online", extras=extras,
                                   queue_pass=sent_queue_pass())
        return bookings.purchase(org, request)


@client_blp.route("/client/store/gift-cards/balance")
@throttled(client_blp, Guard("gift-card", frozenset({422})))  # guessing gift-card codes
class GiftCardBalance(MethodView):
    @client_blp.arguments(BalanceIn)
    @client_blp.response(200, BalanceOut)
    def post(self, data):
        """A gift card's balance by its code (422 `invalid_promo_code` if unknown, expired, voided or empty)."""
        card = offers.find_gift_card(current_org().id, data["code"], utcnow())
        view = views.gift_card_view(card)
        return {"last4": view["last4"], "balance": view["balance"], "expiresAt": view["expiresAt"]}
