"""Promotions, tax rates and gift cards: staff management, code lookup, and the conditional claims on them.

Knows nothing of Flask. Never reads a counter or balance and then writes it: every claim and every release is
one conditional UPDATE whose row count decides, and a gift-card code is never stored, only its SHA-256.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from peewee import IntegrityError

from core.db import write_transaction
from core.errors import ApiError, Conflict, Unprocessable
from core.models import Org, TicketType, utcnow
from core.tenancy import get_scoped, require_own_ids, scoped
from plugins.storefront.catalog import minor_amount
from plugins.storefront.models import (
    GiftCard,
    GiftCardRedemption,
    Promotion,
    PromotionCustomerCount,
    PromotionUse,
    TaxRate,
    Variant,
)
from plugins.storefront.rules import BASIS_POINTS, PromotionRule, TaxRule

GIFT_CARD_PREFIX = "GC-"
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U
MAX_CODES = 4


class InvalidPromoCode(ApiError):
    """422 `invalid_promo_code`: unknown, expired, not yet valid, voided or used-up code; nothing was held."""

    status, type = 422, "invalid_promo_code"


# --- codes ---------------------------------------------------------------------------------------

def normalise_code(code: str) -> str:
    """Codes compare case-insensitively and ignore surrounding blanks."""
    return (code or "").strip().upper()


def split_codes(promo_code: str | None) -> tuple[str | None, list[str]]:
    """`promoCode` may carry one promotion code and gift-card codes (`GC-...`), separated by commas or blanks."""
    codes = [normalise_code(c) for c in re.split(r"[\s,;]+", promo_code or "") if c.strip()]
    if len(codes) > MAX_CODES:
        raise InvalidPromoCode(f"Send at most {MAX_CODES} codes.")
    cards = list(dict.fromkeys(c for c in codes if c.startswith(GIFT_CARD_PREFIX)))
    promos = [c for c in codes if not c.startswith(GIFT_CARD_PREFIX)]
    if len(set(promos)) > 1:
        raise InvalidPromoCode("Only one promotion code can be used per booking.")
    return (promos[0] if promos else None), cards


def _percent_to_bp(value, field: str) -> int:
    """`value` (a percentage in (0, 100], two decimals at most) in basis points; a 422 names `field` if not."""
    try:
        scaled = Decimal(str(value)) * 100
    except InvalidOperation as exc:
        raise Unprocessable(f"`{field}` is not a number.", errors={field: ["Not a number."]}) from exc
    if scaled != scaled.to_integral_value() or not 0 < scaled <= BASIS_POINTS:
        raise Unprocessable("A percentage is above 0 and at most 100, with at most two decimals.",
                            errors={field: ["Must be in (0, 100] with at most two decimals."]})
    return int(scaled)


def customer_key(customer_id: str | None, email: str) -> str:
    """Who a per-customer limit counts: the customer account, else the buyer's email."""
    return f"customer:{customer_id}" if customer_id else f"email:{(email or '').strip().lower()}"


# --- promotions ----------------------------------------------------------------------------------

def _promotion_values(data: dict, kind: str, currency: str | None) -> dict:
    values = {k: data[k] for k in ("description", "scope", "ticket_type_ids", "variant_ids", "min_quantity",
                                   "starts_at", "ends_at", "usage_limit", "usage_limit_per_customer", "archived")
              if k in data}
    if "value" in data:
        if kind == "percentage":
            values["value"] = _percent_to_bp(data["value"], "value")
        else:
            if not currency:
                raise Unprocessable("A fixed promotion needs a `currency`.", errors={"currency": ["Required."]})
            values["value"] = minor_amount(data["value"], currency, "value")
            if values["value"] <= 0:
                raise Unprocessable("`value` must be above zero.", errors={"value": ["Must be above zero."]})
    values["kind"], values["currency"] = kind, currency
    return values


def _check_promotion(values: dict) -> None:
    start, end = values.get("starts_at"), values.get("ends_at")
    if start is not None and end is not None and end <= start:
        raise Unprocessable("The promotion ends before it starts.", errors={"endsAt": ["Must be after startsAt."]})
    if values.get("scope") == "items" and not (values.get("ticket_type_ids") or values.get("variant_ids")):
        raise Unprocessable("An item promotion names `ticketTypeIds` or `variantIds`.",
                            errors={"ticketTypeIds": ["Name at least one ticket type or variant."]})


def _own_references(org: Org, values: dict) -> None:
    """Every id a promotion names is one of the tenant's ticket types or variants (422 `unknown_ids`)."""
    for key, model, field in (("ticket_type_ids", TicketType, "ticketTypeIds"), ("variant_ids", Variant, "variantIds")):
        if values.get(key):
            values[key] = require_own_ids(model, org, values[key], field)


def create_promotion(org: Org, data: dict) -> Promotion:
    """A promo code (unique per tenant, case-insensitive; `GC-` is reserved for gift cards)."""
    code = normalise_code(data["code"])
    if code.startswith(GIFT_CARD_PREFIX):
        raise Unprocessable("Codes starting with GC- are gift cards.", errors={"code": ["Reserved prefix GC-."]})
    currency = (data.get("currency") or "").upper() or None
    values = _promotion_values(data, data["kind"], currency)
    _check_promotion(values)
    _own_references(org, values)
    try:
        with write_transaction():
            return Promotion.create(org=org.id, code=data["code"].strip(), code_key=code, **values)
    except IntegrityError as exc:
        raise Conflict(f"A promotion with code {code!r} already exists.", type="duplicate_code") from exc


def update_promotion(org: Org, promotion: Promotion, data: dict) -> Promotion:
    """Change a promotion's terms; a usage limit may not drop below the uses already claimed."""
    kind = data.get("kind", promotion.kind)
    currency = (data.get("currency") or promotion.currency or "").upper() or None
    if "kind" in data and "value" not in data and kind != promotion.kind:
        raise Unprocessable("Send `value` again when you change the kind.", errors={"value": ["Required."]})
    values = _promotion_values(data, kind, currency)
    merged = {k: getattr(promotion, k) for k in ("starts_at", "ends_at", "scope", "ticket_type_ids", "variant_ids")}
    _check_promotion({**merged, **values})
    _own_references(org, values)
    condition = promotion.row_condition()
    if values.get("usage_limit") is not None:
        condition &= Promotion.used <= values["usage_limit"]
    with write_transaction():
        won = Promotion.update(**values, updated_at=utcnow()).where(condition).execute()
    if won != 1:
        raise Conflict("The usage limit cannot go below the uses already claimed.", type="usage_limit_below_used",
                       used=promotion.reread().used)
    return promotion.reread()


def find_promotion(org_id: str, code: str, now: dt.datetime) -> Promotion:
    """The promotion this code names, valid now; else 422 `invalid_promo_code` (unknown, expired, used up)."""
    promotion = scoped(Promotion, org_id).where(Promotion.code_key == normalise_code(code)).first()
    if promotion is None or promotion.archived:
        raise InvalidPromoCode(f"The promo code {code!r} is not valid.")
    if promotion.starts_at is not None and promotion.starts_at > now:
        raise InvalidPromoCode(f"The promo code {code!r} is not valid yet.")
    if promotion.ends_at is not None and promotion.ends_at <= now:
        raise InvalidPromoCode(f"The promo code {code!r} has expired.")
    if promotion.usage_limit is not None and promotion.used >= promotion.usage_limit:
        raise InvalidPromoCode(f"The promo code {code!r} has been used up.", reason="usage_limit")
    return promotion


def promotion_rule(promotion: Promotion) -> PromotionRule:
    """The pure pricing rule of a promotion."""
    return PromotionRule(kind=promotion.kind, value=promotion.value, scope=promotion.scope,
                         ticket_type_ids=tuple(promotion.ticket_type_ids or ()),
                         variant_ids=tuple(promotion.variant_ids or ()), min_quantity=promotion.min_quantity)


def claim_promotion(promotion_id: str, org_id: str, booking_id: str, key: str) -> None:
    """Take one use (total and per customer) with conditional UPDATEs; 422 `invalid_promo_code` if none is left.

    Call inside the booking's write transaction: a refusal rolls the whole booking back.
    """
    won = (Promotion.update(used=Promotion.used + 1)
           .where((Promotion.id == promotion_id) & (Promotion.org == org_id)
                  & (Promotion.usage_limit.is_null() | (Promotion.used < Promotion.usage_limit))).execute())
    if won != 1:
        raise InvalidPromoCode("This promo code has just been used up.", reason="usage_limit")
    promotion = get_scoped(Promotion, org_id, promotion_id)
    if promotion.usage_limit_per_customer is not None:
        (PromotionCustomerCount.insert(org=org_id, promotion=promotion_id, customer_key=key, used=0)
         .on_conflict_ignore().execute())
        won = (PromotionCustomerCount.update(used=PromotionCustomerCount.used + 1)
               .where((PromotionCustomerCount.org == org_id) & (PromotionCustomerCount.promotion == promotion_id)
                      & (PromotionCustomerCount.customer_key == key)
                      & (PromotionCustomerCount.used < promotion.usage_limit_per_customer)).execute())
        if won != 1:
            raise InvalidPromoCode("You have already used this promo code as often as it allows.",
                                   reason="usage_limit_per_customer")
    PromotionUse.create(org=org_id, promotion=promotion_id, booking_id=booking_id, customer_key=key)


def flipped_once(model, flag: str, at: str, org_id: str, booking_id: str) -> Iterator:
    """The booking's rows of `model` whose `flag` this call flipped False -> True (each row to one caller only)."""
    column = getattr(model, flag)
    for row in list(model.select().where((model.org == org_id) & (model.booking_id == booking_id)
                                         & (column == False))):  # noqa: E712
        won = model.update({column: True, getattr(model, at): utcnow()}).where(
            row.row_condition() & (column == False)).execute()  # noqa: E712
        if won == 1:
            yield row


def release_promotion_uses(org_id: str, booking_id: str) -> int:
    """Give back the booking's promotion uses, each exactly once (total and per-customer counters)."""
    released = 0
    for use in flipped_once(PromotionUse, "released", "released_at", org_id, booking_id):
        Promotion.update(used=Promotion.used - 1).where((Promotion.id == use.promotion_id)
                                                        & (Promotion.org == use.org_id) & (Promotion.used > 0)) \
            .execute()
        (PromotionCustomerCount.update(used=PromotionCustomerCount.used - 1)
         .where((PromotionCustomerCount.org == use.org_id) & (PromotionCustomerCount.promotion == use.promotion_id)
                & (PromotionCustomerCount.customer_key == use.customer_key) & (PromotionCustomerCount.used > 0))
         .execute())
        released += 1
    return released


# --- tax rates -----------------------------------------------------------------------------------

def tax_values(data: dict) -> dict:
    """Model values of a tax rate from parsed input (`rate` as a percentage, up to two decimals)."""
    values = {k: data[k] for k in ("name", "inclusive", "product_class", "active") if k in data}
    if "rate" in data:
        values["rate"] = _percent_to_bp(data["rate"], "rate")
    return values


def active_tax_rules(org_id: str) -> list[TaxRule]:
    """The tenant's active tax rates as pricing rules, in a stable order."""
    rates = scoped(TaxRate, org_id).where(TaxRate.active == True).order_by(TaxRate.created_at, TaxRate.id)  # noqa: E712
    return [TaxRule(r.name, r.rate, r.inclusive, r.product_class or "") for r in rates]


# --- gift cards ----------------------------------------------------------------------------------

def hash_code(org_id: str, code: str) -> str:
    """How a gift-card code is stored and looked up: SHA-256 of tenant id and the normalised code."""
    return hashlib.sha256(f"{org_id}:{normalise_code(code)}".encode()).hexdigest()


def new_gift_card_code() -> str:
    """A fresh code, `GC-XXXX-XXXX-XXXX` (about 88 bits), shown once to staff."""
    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(18))
    return GIFT_CARD_PREFIX + "-".join(chars[i:i + 6] for i in range(0, 18, 6))


def issue_gift_card(org: Org, amount, currency: str, expires_at: dt.datetime | None, note: str = "") \
        -> tuple[GiftCard, str]:
    """Issue a card of `amount` major units; returns the card and its code (never stored, shown once)."""
    currency = (currency or "").upper()
    minor = minor_amount(amount, currency, "amount")
    if minor <= 0:
        raise Unprocessable("`amount` must be above zero.", errors={"amount": ["Must be above zero."]})
    code = new_gift_card_code()
    with write_transaction():
        card = GiftCard.create(org=org.id, code_hash=hash_code(org.id, code), code_last4=code[-4:],
                               initial_amount=minor, balance=minor, currency=currency, expires_at=expires_at,
                               note=note)
    return card, code


def find_gift_card(org_id: str, code: str, now: dt.datetime) -> GiftCard:
    """The usable card this code names; else 422 `invalid_promo_code` (unknown, expired, voided, empty)."""
    card = scoped(GiftCard, org_id).where(GiftCard.code_hash == hash_code(org_id, code)).first()
    if card is None or card.voided:
        raise InvalidPromoCode("This gift card code is not valid.")
    if card.expires_at is not None and card.expires_at <= now:
        raise InvalidPromoCode("This gift card has expired.")
    if card.balance <= 0:
        raise InvalidPromoCode("This gift card has no balance left.", reason="empty")
    return card


def get_gift_card(org: Org, card_id: str) -> GiftCard:
    """A tenant's gift card by id (404 `gift_card_not_found`)."""
    return get_scoped(GiftCard, org, card_id, "gift_card")


def void_gift_card(org: Org, card: GiftCard) -> GiftCard:
    """Void a card once (409 `already_voided` after); its balance can no longer be spent."""
    with write_transaction():
        won = GiftCard.update(voided=True, voided_at=utcnow(), updated_at=utcnow()).where(
            card.row_condition() & (GiftCard.voided == False)).execute()  # noqa: E712
    if won != 1:
        raise Conflict("This gift card is already voided.", type="already_voided")
    return card.reread()


def redeem_gift_card(org_id: str, card_id: str, booking_id: str, amount: int) -> None:
    """Take `amount` from the card: `balance >= amount` in the UPDATE, so concurrent buyers never overdraw it.

    Call inside the booking's write transaction; 409 `gift_card_balance_changed` refuses (and rolls back) it.
    """
    now = utcnow()
    won = (GiftCard.update(balance=GiftCard.balance - amount, updated_at=now)
           .where((GiftCard.id == card_id) & (GiftCard.org == org_id) & (GiftCard.balance >= amount)
                  & (GiftCard.voided == False)  # noqa: E712
                  & (GiftCard.expires_at.is_null() | (GiftCard.expires_at > now))).execute())
    if won != 1:
        raise Conflict("The gift card's balance changed meanwhile; try the purchase again.",
                       type="gift_card_balance_changed")
    GiftCardRedemption.create(org=org_id, card=card_id, booking_id=booking_id, amount=amount)


def reverse_redemptions(org_id: str, booking_id: str) -> int:
    """Put the booking's gift-card amounts back on their cards, each redemption exactly once; returns the sum."""
    restored = 0
    for redemption in flipped_once(GiftCardRedemption, "reversed", "reversed_at", org_id, booking_id):
        (GiftCard.update(balance=GiftCard.balance + redemption.amount)
         .where((GiftCard.id == redemption.card_id) & (GiftCard.org == redemption.org_id)).execute())
        restored += redemption.amount
    return restored
