"""The storefront plugin's tables (all prefixed `storefront_`): catalog, orders, promotions, taxes, gift cards.

Columns only; every rule and every counter change lives in the plugin's services. Never stores a gift-card code.
"""

from __future__ import annotations

from peewee import BooleanField, CharField, DateTimeField, IntegerField, TextField

from core.models import Customer, JSONField, TenantModel
from core.models.base import ForeignKeyField
from core.models.catalog import PublicIdModel


class Product(TenantModel):
    """A sellable product: `ticket` (mirrors a ticket type) or `merch`; `product_class` picks its tax rates."""

    kind = CharField(max_length=16, default="merch")
    name = CharField(max_length=300)
    description = TextField(default="")
    product_class = CharField(max_length=64, default="standard")
    event_id = CharField(max_length=36, null=True)
    archived = BooleanField(default=False)

    class Meta:
        table_name = "storefront_product"
        indexes = ((("org", "kind", "created_at"), False),)


class Variant(PublicIdModel):
    """One priced option of a product. Merch stock is `stock` (None = unlimited) minus `sold` and `held`;
    a ticket variant's availability is always read live from its ticket type, never from these columns.
    `public_id` is its stable numeric id (003's registration type `variant_id`; storefront migration 2)."""

    product = ForeignKeyField(Product, backref="variants", column_name="product_id", on_delete="CASCADE")
    name = CharField(max_length=200, default="")
    price = IntegerField(default=0)
    currency = CharField(max_length=3, default="USD")
    stock = IntegerField(null=True)
    sold = IntegerField(default=0)
    held = IntegerField(default=0)
    ticket_type_id = CharField(max_length=36, null=True)
    sale_start = DateTimeField(null=True)
    sale_end = DateTimeField(null=True)
    archived = BooleanField(default=False)

    class Meta:
        table_name = "storefront_variant"
        indexes = ((("org", "ticket_type_id"), True),)


class Order(TenantModel):
    """The storefront's view of one core booking: tickets and merchandise, status, money and refunds."""

    booking_id = CharField(max_length=36, unique=True)
    event_id = CharField(max_length=36, null=True)
    customer = ForeignKeyField(Customer, null=True, column_name="customer_id", on_delete="SET NULL")
    email = CharField(max_length=254, default="")
    status = CharField(max_length=24, default="pending")
    currency = CharField(max_length=3, default="USD")
    total = IntegerField(default=0)
    paid_by_gift_card = IntegerField(default=0)
    refunded_amount = IntegerField(default=0)
    released = BooleanField(default=False)
    data = JSONField(default=dict)

    class Meta:
        table_name = "storefront_order"
        indexes = (
            (("org", "customer", "created_at"), False),
            (("status", "created_at"), False),
        )


class OrderLine(TenantModel):
    """A line of an order: ticket, merch, discount, tax, gift_card; amounts and refunds in minor units."""

    order = ForeignKeyField(Order, backref="lines", column_name="order_id", on_delete="CASCADE")
    kind = CharField(max_length=24)
    variant_id = CharField(max_length=36, null=True)
    ticket_type_id = CharField(max_length=36, null=True)
    description = CharField(max_length=300, default="")
    quantity = IntegerField(default=1)
    unit_amount = IntegerField(default=0)
    amount = IntegerField(default=0)
    refunded_quantity = IntegerField(default=0)
    refunded_amount = IntegerField(default=0)
    position = IntegerField(default=0)

    class Meta:
        table_name = "storefront_order_line"


class Promotion(TenantModel):
    """A promo code: `value` is basis points (percentage) or minor units (fixed); `used` moves conditionally."""

    code = CharField(max_length=64)
    code_key = CharField(max_length=64)
    description = CharField(max_length=300, default="")
    kind = CharField(max_length=16, default="percentage")
    value = IntegerField()
    currency = CharField(max_length=3, null=True)
    scope = CharField(max_length=16, default="order")
    ticket_type_ids = JSONField(default=list)
    variant_ids = JSONField(default=list)
    min_quantity = IntegerField(default=1)
    starts_at = DateTimeField(null=True)
    ends_at = DateTimeField(null=True)
    usage_limit = IntegerField(null=True)
    usage_limit_per_customer = IntegerField(null=True)
    used = IntegerField(default=0)
    archived = BooleanField(default=False)

    class Meta:
        table_name = "storefront_promotion"
        indexes = ((("org", "code_key"), True),)


class PromotionUse(TenantModel):
    """One claimed use of a promotion by a booking; `released` flips once when it is given back."""

    promotion = ForeignKeyField(Promotion, backref="uses", column_name="promotion_id", on_delete="CASCADE")
    booking_id = CharField(max_length=36, index=True)
    customer_key = CharField(max_length=300)
    released = BooleanField(default=False)
    released_at = DateTimeField(null=True)

    class Meta:
        table_name = "storefront_promotion_use"


class PromotionCustomerCount(TenantModel):
    """Live uses of a promotion by one customer (id or email): the per-customer limit's conditional counter."""

    promotion = ForeignKeyField(Promotion, column_name="promotion_id", on_delete="CASCADE")
    customer_key = CharField(max_length=300)
    used = IntegerField(default=0)

    class Meta:
        table_name = "storefront_promotion_customer"
        indexes = ((("promotion", "customer_key"), True),)


class TaxRate(TenantModel):
    """A tenant's tax: `rate` in basis points, inclusive or added on top, for one product class ("" = all)."""

    name = CharField(max_length=100)
    rate = IntegerField()
    inclusive = BooleanField(default=False)
    product_class = CharField(max_length=64, default="")
    active = BooleanField(default=True)

    class Meta:
        table_name = "storefront_tax_rate"


class GiftCard(TenantModel):
    """Stored value: only the SHA-256 of the code (and its last 4 characters) is kept; `balance` in minor units."""

    code_hash = CharField(max_length=64)
    code_last4 = CharField(max_length=4)
    initial_amount = IntegerField()
    balance = IntegerField()
    currency = CharField(max_length=3)
    expires_at = DateTimeField(null=True)
    voided = BooleanField(default=False)
    voided_at = DateTimeField(null=True)
    note = CharField(max_length=300, default="")

    class Meta:
        table_name = "storefront_gift_card"
        indexes = ((("org", "code_hash"), True),)


class GiftCardRedemption(TenantModel):
    """Balance taken from a card for a booking; `reversed` flips once when the amount goes back on the card."""

    card = ForeignKeyField(GiftCard, backref="redemptions", column_name="card_id", on_delete="CASCADE")
    booking_id = CharField(max_length=36, index=True)
    amount = IntegerField()
    reversed = BooleanField(default=False)
    reversed_at = DateTimeField(null=True)

    class Meta:
        table_name = "storefront_gift_card_redemption"


class StorefrontJob(TenantModel):
    """A background job of the plugin (backfill) with its progress."""

    kind = CharField(max_length=32)
    status = CharField(max_length=16, default="queued")
    done = IntegerField(default=0)
    total = IntegerField(default=0)
    error = TextField(default="")

    class Meta:
        table_name = "storefront_job"


STOREFRONT_MODELS = [Product, Variant, Order, OrderLine, Promotion, PromotionUse, PromotionCustomerCount, TaxRate,
                     GiftCard, GiftCardRedemption, StorefrontJob]
