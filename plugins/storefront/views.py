"""JSON shapes of the storefront's records (marshmallow response schemas and the dicts they document).

Only shapes data for HTTP; never changes state and never shows a gift-card code except once, when issued.
"""

from __future__ import annotations

from marshmallow import fields

from core.api_schema import Schema
from core.money import price_view
from core.timefmt import iso_utc
from plugins.storefront import catalog
from plugins.storefront.models import GiftCard, Order, OrderLine, Product, Promotion, StorefrontJob, TaxRate, Variant


class MoneySchema(Schema):
    decimal = fields.String(metadata={"description": "major units"})
    amount = fields.Integer(metadata={"description": "minor units"})
    currency = fields.String()
    formatted = fields.String()


class VariantSchema(Schema):
    id = fields.String()
    publicId = fields.Integer(metadata={"column": "bigint", "description": "stable numeric id (003's registration type "
                                                       "`variant_id` in the public v2 API)"})
    productId = fields.String()
    name = fields.String()
    price = fields.Nested(MoneySchema)
    stock = fields.Integer(allow_none=True, metadata={"description": "merch stock (null = unlimited); a ticket "
                                                                    "variant mirrors its ticket type's capacity"})
    sold = fields.Integer()
    held = fields.Integer()
    available = fields.Integer(allow_none=True, metadata={"description": "units on sale now (null = unlimited); "
                                                                        "live seats for a ticket variant"})
    ticketTypeId = fields.String(allow_none=True)
    saleStart = fields.String(allow_none=True)
    saleEnd = fields.String(allow_none=True)
    archived = fields.Boolean()


class ProductSchema(Schema):
    id = fields.String()
    kind = fields.String(metadata={"description": "ticket | merch"})
    name = fields.String()
    description = fields.String()
    productClass = fields.String(metadata={"description": "tax class"})
    eventId = fields.String(allow_none=True)
    archived = fields.Boolean()
    variants = fields.List(fields.Nested(VariantSchema))





class PromotionSchema(Schema):
    id = fields.String()
    code = fields.String()
    description = fields.String()
    kind = fields.String(metadata={"description": "percentage | fixed"})
    value = fields.String(metadata={"description": "percent, or major units of `currency` for fixed"})
    currency = fields.String(allow_none=True)
    scope = fields.String(metadata={"description": "order | items"})
    ticketTypeIds = fields.List(fields.String())
    variantIds = fields.List(fields.String())
    minQuantity = fields.Integer()
    startsAt = fields.String(allow_none=True)
    endsAt = fields.String(allow_none=True)
    usageLimit = fields.Integer(allow_none=True)
    usageLimitPerCustomer = fields.Integer(allow_none=True)
    used = fields.Integer()
    archived = fields.Boolean()




class TaxRateSchema(Schema):
    id = fields.String()
    name = fields.String()
    rate = fields.String(metadata={"description": "percent"})
    inclusive = fields.Boolean()
    productClass = fields.String(metadata={"description": "\"\" = every product class"})
    active = fields.Boolean()




class GiftCardSchema(Schema):
    id = fields.String()
    code = fields.String(metadata={"description": "only in the answer that issues the card; never stored"})
    last4 = fields.String()
    initialAmount = fields.Nested(MoneySchema)
    balance = fields.Nested(MoneySchema)
    expiresAt = fields.String(allow_none=True)
    voided = fields.Boolean()
    note = fields.String()
    createdAt = fields.String()



class GiftCardList(Schema):
    data = fields.List(fields.Nested(GiftCardSchema))
    meta = fields.Dict()


def _wrapped(schema: type[Schema], name: str, many: bool = False, paged: bool = False) -> type[Schema]:
    """A `{data: ...}` envelope schema around one record (or a list of them, with `meta` when paged)."""
    inner = fields.List(fields.Nested(schema)) if many else fields.Nested(schema)
    extra = {"meta": fields.Dict(metadata={"description": "cursor page: meta.page.next_cursor"})} if paged else {}
    return Schema.from_dict({"data": inner, **extra}, name=name)


ProductEnvelope = _wrapped(ProductSchema, "StorefrontProductEnvelope")
ProductList = _wrapped(ProductSchema, "StorefrontProductList", many=True, paged=True)
VariantEnvelope = _wrapped(VariantSchema, "StorefrontVariantEnvelope")
PromotionEnvelope = _wrapped(PromotionSchema, "StorefrontPromotionEnvelope")
PromotionList = _wrapped(PromotionSchema, "StorefrontPromotionList", many=True)
TaxRateEnvelope = _wrapped(TaxRateSchema, "StorefrontTaxRateEnvelope")
TaxRateList = _wrapped(TaxRateSchema, "StorefrontTaxRateList", many=True)
GiftCardEnvelope = _wrapped(GiftCardSchema, "StorefrontGiftCardEnvelope")


class JobSchema(Schema):
    jobId = fields.String()
    kind = fields.String()
    status = fields.String(metadata={"description": "queued | running | done | failed"})
    progress = fields.Dict(metadata={"description": "{done, total}"})
    error = fields.String()


class OrderLineSchema(Schema):
    kind = fields.String(metadata={"description": "ticket | merch | discount | tax | tax_included | gift_card"})
    description = fields.String()
    ticketTypeId = fields.String(allow_none=True)
    variantId = fields.String(allow_none=True)
    quantity = fields.Integer()
    unitAmount = fields.Integer(metadata={"description": "minor units"})
    amount = fields.Integer(metadata={"description": "minor units"})
    refundedQuantity = fields.Integer()
    refundedAmount = fields.Integer()


class OrderSchema(Schema):
    id = fields.String()
    bookingId = fields.String()
    eventId = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "pending | paid | partially_refunded | refunded | cancelled"})
    currency = fields.String()
    total = fields.Integer(metadata={"description": "paid through the gateway, minor units"})
    paidByGiftCard = fields.Integer()
    refundedAmount = fields.Integer()
    createdAt = fields.String()
    lines = fields.List(fields.Nested(OrderLineSchema))


class OrderEnvelope(Schema):
    data = fields.Nested(OrderSchema)


class OrderList(Schema):
    data = fields.List(fields.Nested(OrderSchema))
    meta = fields.Dict()


def _percent(bp: int) -> str:
    return f"{bp / 100:g}"


def variant_view(variant: Variant) -> dict:
    """One variant, with its live availability."""
    return {"id": variant.id, "publicId": variant.public_id, "productId": variant.product_id, "name": variant.name,
            "price": price_view(variant.price, variant.currency), "stock": variant.stock, "sold": variant.sold,
            "held": variant.held, "available": catalog.availability(variant), "ticketTypeId": variant.ticket_type_id,
            "saleStart": iso_utc(variant.sale_start), "saleEnd": iso_utc(variant.sale_end),
            "archived": variant.archived}


def product_view(product: Product, include_archived: bool = True) -> dict:
    """One product with its variants."""
    return {"id": product.id, "kind": product.kind, "name": product.name, "description": product.description,
            "productClass": product.product_class, "eventId": product.event_id, "archived": product.archived,
            "variants": [variant_view(v) for v in catalog.product_variants(product, include_archived)]}


def promotion_view(p: Promotion) -> dict:
    """One promotion; `value` as a percent or in major units."""
    from core.money import to_major

    value = _percent(p.value) if p.kind == "percentage" else str(to_major(p.value, p.currency))
    return {"id": p.id, "code": p.code, "description": p.description, "kind": p.kind, "value": value,
            "currency": p.currency, "scope": p.scope, "ticketTypeIds": p.ticket_type_ids or [],
            "variantIds": p.variant_ids or [], "minQuantity": p.min_quantity, "startsAt": iso_utc(p.starts_at),
            "endsAt": iso_utc(p.ends_at), "usageLimit": p.usage_limit,
            "usageLimitPerCustomer": p.usage_limit_per_customer, "used": p.used, "archived": p.archived}


def tax_rate_view(t: TaxRate) -> dict:
    """One tax rate (rate in percent)."""
    return {"id": t.id, "name": t.name, "rate": _percent(t.rate), "inclusive": t.inclusive,
            "productClass": t.product_class, "active": t.active}


def gift_card_view(card: GiftCard, code: str | None = None) -> dict:
    """One gift card; `code` only when it was just issued."""
    view = {"id": card.id, "last4": card.code_last4, "initialAmount": price_view(card.initial_amount, card.currency),
            "balance": price_view(card.balance, card.currency), "expiresAt": iso_utc(card.expires_at),
            "voided": card.voided, "note": card.note, "createdAt": iso_utc(card.created_at)}
    if code:
        view["code"] = code
    return view


def job_view(record: StorefrontJob) -> dict:
    """A background job and its progress."""
    return {"jobId": record.id, "kind": record.kind, "status": record.status,
            "progress": {"done": record.done, "total": record.total}, "error": record.error}


def _line_view(line: OrderLine) -> dict:
    return {"kind": line.kind, "description": line.description, "ticketTypeId": line.ticket_type_id,
            "variantId": line.variant_id, "quantity": line.quantity, "unitAmount": line.unit_amount,
            "amount": line.amount, "refundedQuantity": line.refunded_quantity, "refundedAmount": line.refunded_amount}


def order_view(order: Order, lines: list[OrderLine]) -> dict:
    """One order with its lines (tickets and merchandise together)."""
    return {"id": order.id, "bookingId": order.booking_id, "eventId": order.event_id, "status": order.status,
            "currency": order.currency, "total": order.total, "paidByGiftCard": order.paid_by_gift_card,
            "refundedAmount": order.refunded_amount, "createdAt": iso_utc(order.created_at),
            "lines": [_line_view(line) for line in sorted(lines, key=lambda x: x.position)]}
