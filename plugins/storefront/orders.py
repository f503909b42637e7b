"""Storefront orders: opened inside the booking's transaction (claims first), then paid, released or refunded.

Knows nothing of Flask. Every transition is a conditional UPDATE on the order's status or `released` flag, so
stock, promotion uses and gift-card balance are given back exactly once whichever hook or job gets there first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from core.db import write_transaction
from core.errors import Conflict
from core.jobs import job
from core.models import Booking, Ticket, new_id, utcnow
from core.tenancy import get_scoped, same_tenant
from plugins.storefront.models import GiftCard, GiftCardRedemption, Order, OrderLine, Promotion, PromotionUse, Variant
from plugins.storefront.offers import (
    claim_promotion,
    customer_key,
    redeem_gift_card,
    release_promotion_uses,
    reverse_redemptions,
)

log = logging.getLogger(__name__)

RECONCILE_BATCH = 500


class MerchSoldOut(Conflict):
    """409 `sold_out`: a merch variant has fewer units left than asked for; nothing was held."""

    type = "sold_out"


@dataclass
class OrderPlan:
    """What pricing decided for one booking: order lines and the claims to make when the booking is written."""

    org_id: str
    lines: list[dict] = field(default_factory=list)
    merch: list[tuple[str, int]] = field(default_factory=list)
    promotion_id: str | None = None
    gift_cards: list[tuple[str, int]] = field(default_factory=list)

    @property
    def gift_card_total(self) -> int:
        """Minor units paid by gift cards."""
        return sum(amount for _, amount in self.gift_cards)


# --- opening (inside the booking's write transaction) --------------------------------------------

def _claim_stock(org_id: str, variant_id: str, quantity: int, column: str) -> None:
    target = getattr(Variant, column)
    fits = Variant.stock.is_null() | (Variant.sold + Variant.held + quantity <= Variant.stock)
    won = (Variant.update({target: target + quantity})
           .where((Variant.id == variant_id) & (Variant.org == org_id) & (Variant.archived == False)  # noqa: E712
                  & fits).execute())
    if won != 1:
        variant = get_scoped(Variant, org_id, variant_id)
        left = None if variant.stock is None else max(variant.stock - variant.sold - variant.held, 0)
        raise MerchSoldOut(f"Only {left or 0} unit(s) of {variant.name!r} left; you asked for {quantity}.",
                           variantId=variant_id, remaining=left or 0, requested=quantity)


def open_order(plan: OrderPlan, booking: Booking) -> Order:
    """Claim merch stock, the promotion use and gift-card balance (in that fixed order), then write the order.

    Runs through `Quote.when_booked` inside the booking's write transaction: a refusal rolls the booking back.
    """
    paid = booking.status == "confirmed"
    for variant_id, quantity in sorted(plan.merch):
        _claim_stock(plan.org_id, variant_id, quantity, "sold" if paid else "held")
    if plan.promotion_id:
        claim_promotion(plan.promotion_id, plan.org_id, booking.id, customer_key(booking.customer_id, booking.email))
    for card_id, amount in sorted(plan.gift_cards):
        redeem_gift_card(plan.org_id, card_id, booking.id, amount)
    order = Order.create(org=plan.org_id, booking_id=booking.id, event_id=booking.event_id,
                         customer=booking.customer_id, email=booking.email, status="paid" if paid else "pending",
                         currency=booking.currency, total=booking.amount, paid_by_gift_card=plan.gift_card_total,
                         data={"merch": [[v, q] for v, q in plan.merch]})
    now = utcnow()
    rows = [{"org": plan.org_id, "order": order.id, "position": i, "created_at": now, "updated_at": now, **line}
            for i, line in enumerate(plan.lines)]
    if rows:
        OrderLine.insert_many([{"id": new_id(), **row} for row in rows]).execute()
    return order


def order_for(org_id: str, booking_id: str) -> Order | None:
    """The order of a booking, if the storefront saw it being made."""
    return Order.get_or_none((Order.org == org_id) & (Order.booking_id == booking_id))


def _merch(order: Order) -> list[tuple[str, int]]:
    return [(v, q) for v, q in (order.data or {}).get("merch", [])]


def _shift_stock(order: Order, *, held: int, sold: int) -> None:
    """Move merch counters by quantity x (held, sold), never below zero."""
    for variant_id, quantity in sorted(_merch(order)):
        condition = (Variant.id == variant_id) & (Variant.org == order.org_id)
        if held < 0:
            condition &= Variant.held >= quantity
        if sold < 0:
            condition &= Variant.sold >= quantity
        Variant.update(held=Variant.held + held * quantity, sold=Variant.sold + sold * quantity).where(condition) \
            .execute()


# --- lifecycle -----------------------------------------------------------------------------------

def mark_paid(booking: Booking) -> bool:
    """booking_confirmed: pending -> paid (held merch becomes sold); a late payment re-claims what expiry gave back."""
    with write_transaction():
        won = Order.update(status="paid", updated_at=utcnow()).where(
            (Order.org == booking.org_id) & (Order.booking_id == booking.id) & (Order.status == "pending")).execute()
        if won == 1:
            _shift_stock(order_for(booking.org_id, booking.id), held=-1, sold=1)
            return True
        won = Order.update(status="paid", released=False, updated_at=utcnow()).where(
            (Order.org == booking.org_id) & (Order.booking_id == booking.id) & (Order.status == "cancelled")
            & (Order.released == True)).execute()  # noqa: E712
        if won == 1:
            _reclaim(order_for(booking.org_id, booking.id))
    return won == 1


def _reclaim(order: Order) -> None:
    """Paid after the hold expired: the buyer paid the discounted price, so its claims are taken back (best effort)."""
    _shift_stock(order, held=0, sold=1)
    for use in PromotionUse.select().where((PromotionUse.org == order.org_id)
                                           & (PromotionUse.booking_id == order.booking_id) & PromotionUse.released):
        if PromotionUse.update(released=False).where(use.row_condition() & PromotionUse.released).execute():
            (Promotion.update(used=Promotion.used + 1)
             .where((Promotion.id == use.promotion_id) & (Promotion.org == use.org_id)).execute())
    shortfall = 0
    for redemption in GiftCardRedemption.select().where((GiftCardRedemption.org == order.org_id)
                                                        & (GiftCardRedemption.booking_id == order.booking_id)
                                                        & GiftCardRedemption.reversed):
        taken = (GiftCard.update(balance=GiftCard.balance - redemption.amount)
                 .where((GiftCard.id == redemption.card_id) & (GiftCard.org == redemption.org_id)
                        & (GiftCard.balance >= redemption.amount)).execute())
        if taken:
            GiftCardRedemption.update(reversed=False).where(redemption.row_condition()).execute()
        else:
            shortfall += redemption.amount
    if shortfall:
        log.error("storefront: late payment of booking %s; gift cards were %s short", order.booking_id, shortfall)
        Order.update(data={**(order.data or {}), "gift_card_shortfall": shortfall}).where(order.row_condition()) \
            .execute()


def release_unpaid(org_id: str, booking_id: str) -> bool:
    """The booking expired or was cancelled before payment: pending -> cancelled, every claim given back once."""
    with write_transaction():
        won = Order.update(status="cancelled", released=True, updated_at=utcnow()).where(
            (Order.org == org_id) & (Order.booking_id == booking_id) & (Order.status == "pending")).execute()
        if won == 1:
            _shift_stock(order_for(org_id, booking_id), held=-1, sold=0)
            release_promotion_uses(org_id, booking_id)
            reverse_redemptions(org_id, booking_id)
    return won == 1


def record_ticket_refund(ticket: Ticket) -> None:
    """ticket_refunded: the ticket's order line counts one more refunded unit; the order follows the booking.

    When the whole booking is refunded, merch goes back in stock and the promotion use and gift-card amounts
    are given back, exactly once.
    """
    order = order_for(ticket.org_id, ticket.booking_id) if ticket.booking_id else None
    if order is None:
        return
    booking = get_scoped(Booking, ticket.org_id, ticket.booking_id)
    with write_transaction():
        (OrderLine.update(refunded_quantity=OrderLine.refunded_quantity + 1,
                          refunded_amount=OrderLine.refunded_amount + ticket.price_paid, updated_at=utcnow())
         .where((OrderLine.org == order.org_id) & (OrderLine.order == order.id) & (OrderLine.kind == "ticket")
                & (OrderLine.ticket_type_id == ticket.ticket_type_id)
                & (OrderLine.refunded_quantity < OrderLine.quantity)).execute())
        follow_refunds(order, booking)


def follow_refunds(order: Order, booking: Booking) -> None:
    """The order takes the booking's refund state; a fully refunded booking gives its claims back, once."""
    restored = 0
    with write_transaction():
        if booking.status == "refunded":
            won = Order.update(released=True).where(order.row_condition() & (Order.released == False)).execute()  # noqa: E712
            if won == 1:
                _shift_stock(order, held=0, sold=-1)
                release_promotion_uses(booking.org_id, booking.id)
                restored = reverse_redemptions(booking.org_id, booking.id)
                OrderLine.update(refunded_quantity=OrderLine.quantity, refunded_amount=OrderLine.amount).where(
                    (OrderLine.org == order.org_id) & (OrderLine.order == order.id)
                    & (OrderLine.kind == "merch")).execute()
        status = "refunded" if booking.status == "refunded" else "partially_refunded"
        Order.update(status=status, refunded_amount=booking.refunded_amount + Order.paid_by_gift_card * (
            1 if booking.status == "refunded" else 0), updated_at=utcnow()).where(order.row_condition()).execute()
    if restored:
        log.info("storefront: booking %s refunded, %s restored to gift cards", booking.id, restored)


def record_cancellation(ticket: Ticket) -> None:
    """ticket_cancelled: once the whole booking is cancelled, the order is too and its promotion use is freed."""
    if not ticket.booking_id:
        return
    booking = Booking.get_or_none((Booking.id == ticket.booking_id) & (Booking.org == ticket.org_id))
    if booking is None or booking.status != "cancelled":
        return
    with write_transaction():
        won = Order.update(status="cancelled", updated_at=utcnow()).where(
            (Order.org == booking.org_id) & (Order.booking_id == booking.id)
            & Order.status.in_(("paid", "partially_refunded"))).execute()
        if won == 1:
            release_promotion_uses(booking.org_id, booking.id)


def reconcile(limit: int = RECONCILE_BATCH) -> int:
    """Settle orders whose booking moved on without a hook the storefront heard (a cancelled hold, a money-only
    refund, a hook that failed): pending ones are paid or released, paid ones follow the booking's refunds."""
    settled = 0
    stale = (Order.select(Order, Booking.status.alias("booking_status"))
             .join(Booking, on=(Order.booking_id == Booking.id) & same_tenant(Booking, Order))
             .where(((Order.status == "pending") & (Booking.status != "pending"))
                    | (Order.status.in_(("paid", "partially_refunded")) & (Order.released == False)  # noqa: E712
                       & Booking.status.in_(("refunded", "partially_refunded")) & (Order.status != Booking.status)))
             .limit(limit).objects())
    for order in stale:
        if order.status != "pending":
            follow_refunds(order, get_scoped(Booking, order.org_id, order.booking_id))
            settled += 1
        elif order.booking_status in ("confirmed", "partially_refunded", "refunded"):
            settled += mark_paid(get_scoped(Booking, order.org_id, order.booking_id))
        else:
            settled += release_unpaid(order.org_id, order.booking_id)
    return settled


@job(every_minutes=5)
def reconcile_job() -> int:
    """Periodic job: settle pending orders of bookings that expired, were cancelled or were paid."""
    return reconcile()
