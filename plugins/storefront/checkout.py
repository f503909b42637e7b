"""Storefront pricing of a booking, in one order: merch, then promotion, then taxes, then gift cards.

Knows nothing of Flask and never writes while pricing: it only reads and plans; the claims run inside the
booking's own write transaction (`Quote.when_booked` -> `orders.open_order`).
"""

from __future__ import annotations

import functools

from core.errors import Unprocessable
from core.models import Customer, Org, utcnow
from core.money import format_money
from core.services.pricing import Quote
from core.tenancy import along, scoped
from plugins.storefront import catalog, offers, rules
from plugins.storefront.models import Product, PromotionCustomerCount, Variant
from plugins.storefront.orders import MerchSoldOut, OrderPlan, open_order

MAX_MERCH_UNITS = 1000

MERCH = "storefront_merch"  # the purchase request's `extras` key for [(variant id, quantity)]


def checkout_extras(merch: list[tuple[str, int]]) -> dict:
    """The purchase request `extras` that make the booking also sell these merch variants (quantities of a
    variant named twice are added up)."""
    merged: dict[str, int] = {}
    for variant_id, quantity in merch:
        merged[variant_id] = merged.get(variant_id, 0) + quantity
    return {MERCH: list(merged.items())} if merged else {}


def _percent(rate_bp: int) -> str:
    return f"{rate_bp / 100:g}%"


def _ticket_lines(org: Org, quote: Quote) -> list[rules.PriceLine]:
    ids = [line.ticket_type.id for line in quote.lines]
    query = scoped(Variant, org, Variant.ticket_type_id, Product.product_class).join(Product, on=along(Variant.product))
    classes = {v.ticket_type_id: v.product.product_class
               for v in query.where(Variant.ticket_type_id.in_(ids))} if ids else {}
    return [rules.PriceLine(key=f"t{i}", kind="ticket", quantity=line.quantity, amount=line.unit_price * line.quantity,
                            product_class=classes.get(line.ticket_type.id, catalog.TICKET_CLASS),
                            ticket_type_id=line.ticket_type.id)
            for i, line in enumerate(quote.lines)]


def _merch_lines(org: Org, quote: Quote, merch: list[tuple[str, int]]) -> tuple[list[rules.PriceLine], dict[str, str]]:
    """Price the requested merch (sale window, currency, stock checked now; stock claimed at booking)."""
    lines, names = [], {}
    now = utcnow()
    for i, (variant_id, quantity) in enumerate(merch):
        variant = scoped(Variant, org).where(Variant.id == str(variant_id)[:64]).first()
        if variant is None or variant.ticket_type_id:
            raise catalog.not_found_variant(variant_id)
        product = variant.product
        catalog.require_on_sale(variant, product, now)
        if variant.currency != quote.currency:
            raise Unprocessable(f"{product.name!r} is sold in {variant.currency}, this booking in {quote.currency}.",
                                type="mixed_currencies", variantId=variant.id)
        left = catalog.availability(variant)
        if left is not None and left < quantity:
            raise MerchSoldOut(f"Only {left} unit(s) of {product.name!r} left; you asked for {quantity}.",
                               variantId=variant.id, remaining=left, requested=quantity)
        names[variant.id] = f"{product.name} ({variant.name})" if variant.name else product.name
        lines.append(rules.PriceLine(key=f"m{i}", kind="merch", quantity=quantity, amount=variant.price * quantity,
                                     product_class=product.product_class, variant_id=variant.id))
    return lines, names


def _promotion(org: Org, quote: Quote, code: str, customer: Customer | None, lines: list[rules.PriceLine]):
    promotion = offers.find_promotion(org.id, code, utcnow())
    if promotion.kind == "fixed" and promotion.currency != quote.currency:
        raise offers.InvalidPromoCode(f"The promo code {code!r} is not valid for {quote.currency} bookings.")
    if customer is not None and promotion.usage_limit_per_customer is not None:
        counter = PromotionCustomerCount.get_or_none(
            (PromotionCustomerCount.org == promotion.org_id) & (PromotionCustomerCount.promotion == promotion.id)
            & (PromotionCustomerCount.customer_key == offers.customer_key(customer.id, "")))
        if counter is not None and counter.used >= promotion.usage_limit_per_customer:
            raise offers.InvalidPromoCode("You have already used this promo code as often as it allows.",
                                          reason="usage_limit_per_customer")
    discounts = rules.promotion_discounts(offers.promotion_rule(promotion), lines)
    if discounts is None:
        raise offers.InvalidPromoCode(f"The promo code {code!r} needs at least {promotion.min_quantity} eligible "
                                      "item(s) in the booking.", reason="not_applicable")
    return promotion, discounts


def price_quote(org: Org, quote: Quote, promo_code: str | None, customer: Customer | None,
                extras: dict) -> OrderPlan:
    """The `price_booking` hook's work: add merch (`extras` from `checkout_extras`), discount, tax and gift-card
    lines; plan the claims."""
    promo, card_codes = offers.split_codes(promo_code)
    quote.record_code(promo)  # gift-card codes are bearer secrets: the booking keeps only the promotion code
    ticket_lines = _ticket_lines(org, quote)
    merch_lines, names = _merch_lines(org, quote, extras.get(MERCH) or [])
    lines = ticket_lines + merch_lines
    plan = OrderPlan(org_id=org.id, merch=[(m.variant_id, m.quantity) for m in merch_lines])
    for line, qline in zip(ticket_lines, quote.lines, strict=True):
        plan.lines.append({"kind": "ticket", "ticket_type_id": line.ticket_type_id,
                           "description": qline.ticket_type.name, "quantity": qline.quantity,
                           "unit_amount": qline.unit_price + qline.unit_fee, "amount": qline.total})
    for line in merch_lines:
        description = f"{names[line.variant_id]} x {line.quantity}"
        quote.add_adjustment("merch", description, line.amount)
        plan.lines.append({"kind": "merch", "variant_id": line.variant_id, "description": names[line.variant_id],
                           "quantity": line.quantity, "unit_amount": line.amount // line.quantity,
                           "amount": line.amount})
    discounts: dict[str, int] = {}
    if promo:
        promotion, discounts = _promotion(org, quote, promo, customer, lines)
        plan.promotion_id = promotion.id
        _adjust(quote, plan, "discount", f"Promotion {promotion.code}", -sum(discounts.values()))
    for tax in rules.taxes(offers.active_tax_rules(org.id), lines, discounts):
        label = f"{tax.rule.name} {_percent(tax.rule.rate)}"
        if tax.rule.inclusive:
            _adjust(quote, plan, "tax_included", f"{label} included: {format_money(tax.amount, quote.currency)}", 0)
        else:
            _adjust(quote, plan, "tax", label, tax.amount)
    _gift_cards(org, quote, plan, card_codes)
    return plan


def _adjust(quote: Quote, plan: OrderPlan, kind: str, description: str, amount: int) -> None:
    quote.add_adjustment(kind, description, amount)
    plan.lines.append({"kind": kind, "description": description, "quantity": 1, "unit_amount": amount,
                       "amount": amount})


def _gift_cards(org: Org, quote: Quote, plan: OrderPlan, codes: list[str]) -> None:
    now = utcnow()
    cards = [offers.find_gift_card(org.id, code, now) for code in codes]
    for card in cards:
        if card.currency != quote.currency:
            raise offers.InvalidPromoCode(f"This gift card is in {card.currency}; the booking is in {quote.currency}.",
                                          reason="currency")
    for card, take in zip(cards, rules.gift_card_split(quote.total, [c.balance for c in cards]), strict=True):
        if take:
            plan.gift_cards.append((card.id, take))
            _adjust(quote, plan, "gift_card", f"Gift card ...{card.code_last4}", -take)


def price_booking(org: Org, quote: Quote, promo_code: str | None, customer: Customer | None,
                  extras: dict) -> None:
    """Price the quote and arrange for the claims to be made in the booking's own transaction."""
    plan = price_quote(org, quote, promo_code, customer, extras)
    quote.when_booked(functools.partial(open_order, plan))
