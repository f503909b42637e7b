"""Pure pricing arithmetic of the storefront: promotion discounts, taxes and gift-card splits on plain lines.

No database, no Flask, no floats: integers of minor units in, integers out, every remainder accounted for.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

BASIS_POINTS = 10_000  # 100 % = 10 000 basis points


@dataclass(frozen=True)
class PriceLine:
    """Goods on a quote: a ticket type or a merch variant, `amount` = unit price x quantity (no fees)."""

    key: str
    kind: str
    quantity: int
    amount: int
    product_class: str = ""
    ticket_type_id: str | None = None
    variant_id: str | None = None


@dataclass(frozen=True)
class PromotionRule:
    """What a promotion gives: `kind` percentage (value in basis points) or fixed (minor units)."""

    kind: str
    value: int
    scope: str = "order"
    ticket_type_ids: tuple[str, ...] = ()
    variant_ids: tuple[str, ...] = ()
    min_quantity: int = 1


@dataclass(frozen=True)
class TaxRule:
    """A tax rate in basis points, inclusive or exclusive, for one product class ("" = every class)."""

    name: str
    rate: int
    inclusive: bool
    product_class: str = ""


@dataclass(frozen=True)
class TaxAmount:
    """A tax rule applied: the net amount it was computed on and the tax (added, or included)."""

    rule: TaxRule
    base: int
    amount: int


def bp_of(amount: int, basis_points: int) -> int:
    """`basis_points`/10 000 of `amount`, rounded half up to a whole minor unit."""
    return int((Decimal(amount) * basis_points / BASIS_POINTS).quantize(Decimal(1), ROUND_HALF_UP))


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split `total` over `weights` proportionally (largest remainder): the parts always sum to `total`."""
    weight_sum = sum(weights)
    if weight_sum <= 0 or total == 0:
        return [0] * len(weights)
    raw = [Decimal(total) * w / weight_sum for w in weights]
    parts = [int(r) for r in raw]
    order = sorted(range(len(weights)), key=lambda i: (raw[i] - parts[i], weights[i]), reverse=True)
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def eligible(rule: PromotionRule, line: PriceLine) -> bool:
    """True if the promotion applies to this line (whole order, or one of its ticket types / variants)."""
    if rule.scope == "order":
        return True
    return (line.ticket_type_id is not None and line.ticket_type_id in rule.ticket_type_ids) or \
        (line.variant_id is not None and line.variant_id in rule.variant_ids)


def promotion_discounts(rule: PromotionRule, lines: list[PriceLine]) -> dict[str, int] | None:
    """The discount (positive minor units) per line key; None if the order does not qualify (min quantity)."""
    targets = [line for line in lines if eligible(rule, line)]
    if not targets or sum(line.quantity for line in targets) < max(rule.min_quantity, 1):
        return None
    if rule.kind == "percentage":
        return {line.key: min(bp_of(line.amount, rule.value), line.amount) for line in targets}
    base = sum(line.amount for line in targets)
    parts = allocate(min(rule.value, base), [line.amount for line in targets])
    return {line.key: part for line, part in zip(targets, parts, strict=True)}


def taxes(rules: list[TaxRule], lines: list[PriceLine], discounts: dict[str, int]) -> list[TaxAmount]:
    """Each rule's tax on the discounted amounts of the lines of its product class (zero-tax rules left out).

    Exclusive: rate x net, added to the total. Inclusive: the share of the net that is tax, shown only.
    """
    found = []
    for rule in rules:
        base = sum(line.amount - discounts.get(line.key, 0) for line in lines
                   if not rule.product_class or rule.product_class == line.product_class)
        if base <= 0:
            continue
        if rule.inclusive:
            amount = int((Decimal(base) * rule.rate / (BASIS_POINTS + rule.rate)).quantize(Decimal(1), ROUND_HALF_UP))
        else:
            amount = bp_of(base, rule.rate)
        if amount:
            found.append(TaxAmount(rule, base, amount))
    return found


def gift_card_split(due: int, balances: list[int]) -> list[int]:
    """How much each card pays, in order, until `due` is covered; the rest goes to the payment gateway."""
    taken = []
    for balance in balances:
        take = max(min(balance, due), 0)
        taken.append(take)
        due -= take
    return taken
