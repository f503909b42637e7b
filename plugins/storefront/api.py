"""Staff routes of the storefront under /storefront: products, variants, promotions, tax rates, gift cards, jobs.

Thin views: parse with marshmallow, call the plugin's services, serialise. Every route needs a staff token and
answers 404 for another tenant's records; never shows a gift-card code except in the answer that issues it.
"""

from __future__ import annotations

import datetime as dt

from flask.views import MethodView
from marshmallow import fields, post_load, validate

from core.api.blueprint import plugin_blueprint
from core.api_schema import Schema
from core.auth import require_role
from core.db import write_transaction
from core.errors import NotFound
from core.models import utcnow
from core.pagination import (
    DEFAULT_PAGE_SIZE,
    CursorPageQuery,
    SortKey,
    page_meta,
    paginate_cursor,
    request_links,
)
from core.roles import MANAGERS, READERS
from core.tenancy import current_org, get_scoped, scoped
from core.timefmt import to_utc_naive
from plugins.storefront import catalog, offers, views
from plugins.storefront.models import GiftCard, Order, OrderLine, Product, Promotion, TaxRate

blp = plugin_blueprint("storefront", "storefront", __name__,
                       description="Storefront (plugin): products, promotions, taxes, gift cards, orders")

_CURRENCY = validate.Length(equal=3)
_CLASS = validate.Length(max=64)
_COUNT = validate.Range(min=1, max=2**31 - 1)


class _UtcSchema(Schema):
    """Turns every aware datetime it loaded into naive UTC (how the models store time)."""

    @post_load
    def _to_utc(self, data, **kwargs):
        return {k: to_utc_naive(v) if isinstance(v, dt.datetime) else v for k, v in data.items()}


def _when(name: str):
    return fields.AwareDateTime(data_key=name, allow_none=True, default_timezone=None)


class VariantIn(_UtcSchema):
    name = fields.String(validate=validate.Length(max=200))
    price = fields.Decimal(required=True, allow_nan=False, metadata={"description": "major units, e.g. 19.99"})
    currency = fields.String(required=True, validate=_CURRENCY)
    stock = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=2**31 - 1),
                           metadata={"description": "null = unlimited"})
    sale_start = _when("saleStart")
    sale_end = _when("saleEnd")


class VariantPatch(VariantIn):
    price = fields.Decimal(allow_nan=False)
    currency = fields.String(validate=_CURRENCY)
    archived = fields.Boolean()


class ProductIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    kind = fields.String(validate=validate.OneOf(["merch"]), metadata={"description": "only `merch`: ticket "
                                                                                     "products are mirrored"})
    description = fields.String(validate=validate.Length(max=5000))
    product_class = fields.String(data_key="productClass", validate=_CLASS)
    variants = fields.List(fields.Nested(VariantIn), validate=validate.Length(min=1, max=100), required=True)


class ProductPatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=300))
    description = fields.String(validate=validate.Length(max=5000))
    product_class = fields.String(data_key="productClass", validate=_CLASS)
    archived = fields.Boolean()


class PromotionPatch(_UtcSchema):
    description = fields.String(validate=validate.Length(max=300))
    kind = fields.String(validate=validate.OneOf(["percentage", "fixed"]))
    value = fields.Decimal(allow_nan=False, metadata={"description": "percent (10 = 10 %) or major units"})
    currency = fields.String(validate=_CURRENCY, metadata={"description": "required for `fixed`"})
    scope = fields.String(validate=validate.OneOf(["order", "items"]))
    ticket_type_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), data_key="ticketTypeIds",
                                  validate=validate.Length(max=100))
    variant_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), data_key="variantIds",
                              validate=validate.Length(max=100))
    min_quantity = fields.Integer(strict=True, data_key="minQuantity", validate=_COUNT)
    starts_at = _when("startsAt")
    ends_at = _when("endsAt")
    usage_limit = fields.Integer(strict=True, data_key="usageLimit", allow_none=True, validate=_COUNT)
    usage_limit_per_customer = fields.Integer(strict=True, data_key="usageLimitPerCustomer", allow_none=True,
                                              validate=_COUNT)
    archived = fields.Boolean()


class PromotionIn(PromotionPatch):
    code = fields.String(required=True, validate=[
        validate.Length(min=1, max=64), validate.Regexp(r"^[A-Za-z0-9_-]+$", error="Letters, digits, - and _.")])
    kind = fields.String(required=True, validate=validate.OneOf(["percentage", "fixed"]))
    value = fields.Decimal(required=True, allow_nan=False)


class TaxRatePatch(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    rate = fields.Decimal(allow_nan=False, metadata={"description": "percent, e.g. 20 or 7.25"})
    inclusive = fields.Boolean()
    product_class = fields.String(data_key="productClass", validate=_CLASS)
    active = fields.Boolean()


class TaxRateIn(TaxRatePatch):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    rate = fields.Decimal(required=True, allow_nan=False)


class GiftCardIn(_UtcSchema):
    amount = fields.Decimal(required=True, allow_nan=False, metadata={"description": "major units"})
    currency = fields.String(required=True, validate=_CURRENCY)
    expires_at = _when("expiresAt")
    note = fields.String(validate=validate.Length(max=300))


class ProductQuery(CursorPageQuery):
    kind = fields.String(validate=validate.OneOf(["ticket", "merch"]))
    include_archived = fields.Boolean(data_key="includeArchived")


class OrderQuery(CursorPageQuery):
    email = fields.String(validate=validate.Length(max=254))
    customer_id = fields.String(data_key="customerId", validate=validate.Length(max=64))
    status = fields.String(validate=validate.OneOf(["pending", "paid", "partially_refunded", "refunded", "cancelled"]))


_NEWEST_FIRST = {}


def newest_first(model) -> list[SortKey]:
    """Keyset sort keys (created_at desc, id desc) for a model's list."""
    keys = _NEWEST_FIRST.get(model)
    if keys is None:
        keys = [SortKey("createdAt", model.created_at, kind="datetime", descending=True, attr="created_at"),
                SortKey("id", model.id, descending=True)]
        _NEWEST_FIRST[model] = keys
    return keys


def paged(query, model, args: dict, render) -> dict:
    """One cursor page of `query`, newest first, as {data, meta}."""
    page = paginate_cursor(query, newest_first(model), args.get("page_size", DEFAULT_PAGE_SIZE),
                           args.get("page_cursor"))
    self_url, next_url = request_links(page)
    return {"data": render(page.rows), "meta": page_meta(page, self_url, next_url)}


def render_orders(orders: list[Order]) -> list[dict]:
    """Orders with their lines (one query for all lines of the page)."""
    lines: dict[str, list[OrderLine]] = {o.id: [] for o in orders}
    if orders:
        for line in OrderLine.select().where((OrderLine.org == orders[0].org_id) & OrderLine.order.in_(list(lines))):
            lines[line.order_id].append(line)
    return [views.order_view(o, lines[o.id]) for o in orders]


def find_order(query, order_id: str) -> Order:
    """An order of `query` by its id or its booking id, else 404 `order_not_found`."""
    order_id = str(order_id)[:64]
    order = query.where((Order.id == order_id) | (Order.booking_id == order_id)).first()
    if order is None:
        raise NotFound(f"No order with id {order_id!r}.", type="order_not_found")
    return order


# --- products ------------------------------------------------------------------------------------

@blp.route("/storefront/products")
class Products(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(ProductQuery, location="query")
    @blp.response(200, views.ProductList)
    def get(self, args):
        """The tenant's products, newest first, in cursor pages (ticket products mirror ticket types)."""
        products = catalog.list_products(current_org(), kind=args.get("kind"),
                                         include_archived=args.get("include_archived", False))
        return paged(products, Product, args, lambda rows: [views.product_view(p) for p in rows])

    @require_role(MANAGERS, scope="events")
    @blp.arguments(ProductIn)
    @blp.response(201, views.ProductEnvelope)
    def post(self, data):
        """Create a merch product with its variants (price in major units, stock null = unlimited)."""
        return {"data": views.product_view(catalog.create_product(current_org(), data))}


@blp.route("/storefront/products/<product_id>")
class ProductItem(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, views.ProductEnvelope)
    def get(self, product_id):
        """One product with its variants and their live availability."""
        return {"data": views.product_view(catalog.get_product(current_org(), product_id))}

    @require_role(MANAGERS, scope="events")
    @blp.arguments(ProductPatch)
    @blp.response(200, views.ProductEnvelope)
    def patch(self, data, product_id):
        """Change a product; a ticket product only takes `productClass` (409 `mirrored_product`)."""
        org = current_org()
        return {"data": views.product_view(catalog.update_product(org, catalog.get_product(org, product_id), data))}

    @require_role(MANAGERS, scope="events")
    @blp.response(200, views.ProductEnvelope)
    def delete(self, product_id):
        """Archive a merch product (kept for order history)."""
        org = current_org()
        product = catalog.get_product(org, product_id)
        return {"data": views.product_view(catalog.update_product(org, product, {"archived": True}))}


@blp.route("/storefront/products/<product_id>/variants")
class ProductVariants(MethodView):
    @require_role(MANAGERS, scope="events")
    @blp.arguments(VariantIn)
    @blp.response(201, views.VariantEnvelope)
    def post(self, data, product_id):
        """Add a variant to a merch product."""
        org = current_org()
        return {"data": views.variant_view(catalog.add_variant(org, catalog.get_product(org, product_id), data))}


@blp.route("/storefront/variants/<variant_id>")
class VariantItem(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, views.VariantEnvelope)
    def get(self, variant_id):
        """One variant with its live availability."""
        return {"data": views.variant_view(catalog.get_variant(current_org(), variant_id))}

    @require_role(MANAGERS, scope="events")
    @blp.arguments(VariantPatch)
    @blp.response(200, views.VariantEnvelope)
    def patch(self, data, variant_id):
        """Change a merch variant (409 `mirrored_variant` for ticket variants, `stock_below_sold`)."""
        org = current_org()
        return {"data": views.variant_view(catalog.update_variant(org, catalog.get_variant(org, variant_id), data))}


# --- promotions ----------------------------------------------------------------------------------

@blp.route("/storefront/promotions")
class Promotions(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, views.PromotionList)
    def get(self):
        """Every promotion of the tenant, newest first."""
        query = scoped(Promotion, current_org()).order_by(Promotion.created_at.desc(), Promotion.id)
        return {"data": [views.promotion_view(p) for p in query]}

    @require_role(MANAGERS, scope="events")
    @blp.arguments(PromotionIn)
    @blp.response(201, views.PromotionEnvelope)
    def post(self, data):
        """Create a promo code: percentage or fixed, whole order or items, window, limits (409 `duplicate_code`)."""
        return {"data": views.promotion_view(offers.create_promotion(current_org(), data))}


@blp.route("/storefront/promotions/<promotion_id>")
class PromotionItem(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, views.PromotionEnvelope)
    def get(self, promotion_id):
        """One promotion with its `used` count."""
        return {"data": views.promotion_view(get_scoped(Promotion, current_org(), promotion_id, "promotion"))}

    @require_role(MANAGERS, scope="events")
    @blp.arguments(PromotionPatch)
    @blp.response(200, views.PromotionEnvelope)
    def patch(self, data, promotion_id):
        """Change a promotion's terms (409 `usage_limit_below_used`)."""
        org = current_org()
        promotion = get_scoped(Promotion, org, promotion_id, "promotion")
        return {"data": views.promotion_view(offers.update_promotion(org, promotion, data))}

    @require_role(MANAGERS, scope="events")
    @blp.response(200, views.PromotionEnvelope)
    def delete(self, promotion_id):
        """Archive a promotion: its code stops working; claimed uses stay recorded."""
        org = current_org()
        promotion = get_scoped(Promotion, org, promotion_id, "promotion")
        return {"data": views.promotion_view(offers.update_promotion(org, promotion, {"archived": True}))}


# --- tax rates -----------------------------------------------------------------------------------

@blp.route("/storefront/tax-rates")
class TaxRates(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, views.TaxRateList)
    def get(self):
        """The tenant's tax rates."""
        query = scoped(TaxRate, current_org()).order_by(TaxRate.created_at, TaxRate.id)
        return {"data": [views.tax_rate_view(t) for t in query]}

    @require_role(MANAGERS, scope="events")
    @blp.arguments(TaxRateIn)
    @blp.response(201, views.TaxRateEnvelope)
    def post(self, data):
        """Add a tax rate (percent; inclusive or added on top; for one product class or all)."""
        with write_transaction():
            rate = TaxRate.create(org=current_org().id, **offers.tax_values(data))
        return {"data": views.tax_rate_view(rate)}


@blp.route("/storefront/tax-rates/<rate_id>")
class TaxRateItem(MethodView):
    @require_role(MANAGERS, scope="events")
    @blp.arguments(TaxRatePatch)
    @blp.response(200, views.TaxRateEnvelope)
    def patch(self, data, rate_id):
        """Change a tax rate; it applies to bookings priced from now on."""
        rate = get_scoped(TaxRate, current_org(), rate_id, "tax_rate")
        values = offers.tax_values(data)
        if values:
            with write_transaction():
                TaxRate.update(**values, updated_at=utcnow()).where(rate.row_condition()).execute()
        return {"data": views.tax_rate_view(rate.reread())}

    @require_role(MANAGERS, scope="events")
    @blp.response(200, views.TaxRateEnvelope)
    def delete(self, rate_id):
        """Deactivate a tax rate (kept, since past orders name it)."""
        rate = get_scoped(TaxRate, current_org(), rate_id, "tax_rate")
        with write_transaction():
            TaxRate.update(active=False, updated_at=utcnow()).where(rate.row_condition()).execute()
        return {"data": views.tax_rate_view(rate.reread())}


# --- gift cards ----------------------------------------------------------------------------------

@blp.route("/storefront/gift-cards")
class GiftCards(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(CursorPageQuery, location="query")
    @blp.response(200, views.GiftCardList)
    def get(self, args):
        """The tenant's gift cards, newest first (codes are never shown again)."""
        return paged(scoped(GiftCard, current_org()), GiftCard, args,
                     lambda rows: [views.gift_card_view(c) for c in rows])

    @require_role(MANAGERS, scope="orders")
    @blp.arguments(GiftCardIn)
    @blp.response(201, views.GiftCardEnvelope)
    def post(self, data):
        """Issue a gift card; the answer carries its `code` once (only a SHA-256 of it is stored)."""
        card, code = offers.issue_gift_card(current_org(), data["amount"], data["currency"], data.get("expires_at"),
                                            data.get("note", ""))
        return {"data": views.gift_card_view(card, code)}


@blp.route("/storefront/gift-cards/<card_id>")
class GiftCardItem(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, views.GiftCardEnvelope)
    def get(self, card_id):
        """One gift card and its balance."""
        return {"data": views.gift_card_view(offers.get_gift_card(current_org(), card_id))}


@blp.route("/storefront/gift-cards/<card_id>/void")
class GiftCardVoid(MethodView):
    @require_role(MANAGERS, scope="orders")
    @blp.response(200, views.GiftCardEnvelope)
    def post(self, card_id):
        """Void a gift card (409 `already_voided`); amounts already redeemed stay with their bookings."""
        org = current_org()
        return {"data": views.gift_card_view(offers.void_gift_card(org, offers.get_gift_card(org, card_id)))}


# --- backfill and orders -------------------------------------------------------------------------

@blp.route("/storefront/backfill")
class Backfill(MethodView):
    @require_role(MANAGERS, scope="admin")
    @blp.response(202, views.JobSchema)
    def post(self):
        """Mirror every existing ticket type (for a tenant that enabled the plugin late); poll the job."""
        return views.job_view(catalog.start_backfill(current_org()))


@blp.route("/storefront/jobs/<job_id>")
class JobItem(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, views.JobSchema)
    def get(self, job_id):
        """A storefront job's status and progress {done, total}."""
        return views.job_view(catalog.get_job(current_org(), job_id))


@blp.route("/storefront/orders/<order_id>")
class OrderItem(MethodView):
    @require_role(READERS, scope="read")
    @blp.response(200, views.OrderEnvelope)
    def get(self, order_id):
        """One order (by order id or booking id) with its lines and refunds."""
        return {"data": render_orders([find_order(scoped(Order, current_org()), order_id)])[0]}


@blp.route("/storefront/orders")
class Orders(MethodView):
    @require_role(READERS, scope="read")
    @blp.arguments(OrderQuery, location="query")
    @blp.response(200, views.OrderList)
    def get(self, args):
        """Orders of the tenant, newest first; filter by `email`, `customerId` or `status`."""
        query = scoped(Order, current_org())
        if args.get("email"):
            query = query.where(Order.email == args["email"].strip().lower())
        if args.get("customer_id"):
            query = query.where(Order.customer == args["customer_id"])
        if args.get("status"):
            query = query.where(Order.status == args["status"])
        return paged(query, Order, args, render_orders)
