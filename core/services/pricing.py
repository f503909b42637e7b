"""Server-side pricing of a booking: unit prices, per-ticket service fees, then the `price_booking` hook.

Never trusts an amount from the client and never lets a total fall below zero; amounts are minor units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.errors import ApiError, Unprocessable
from core.models import Customer, Org, TicketType
from core.money import MINOR_UNITS_RANGE, fits_money_column, format_money, percentage_of
from core.plugins import hooks_for
from core.services.issuing import require_seat_count, seats_for

MAX_ADJUSTMENT = 10**12


@dataclass
class QuoteLine:
    """Units of one ticket type at its unit price plus its per-unit service fee."""

    ticket_type: TicketType
    quantity: int
    seats: int
    unit_price: int
    unit_fee: int

    @property
    def total(self) -> int:
        """(unit price + unit fee) x units."""
        return (self.unit_price + self.unit_fee) * self.quantity


@dataclass
class Adjustment:
    """A priced line a plugin added (discount < 0, tax or surcharge > 0)."""

    kind: str
    description: str
    amount: int


@dataclass
class Quote:
    """What a booking costs, built by `quote_booking`; plugins add adjustments via `add_adjustment`."""

    org_id: str
    currency: str
    lines: list[QuoteLine] = field(default_factory=list)
    adjustments: list[Adjustment] = field(default_factory=list)
    booked_callbacks: list[Callable] = field(default_factory=list, repr=False)
    recorded_code: str | None = None  # what the booking keeps as its `promo_code`
    code_taken: bool = False  # a plugin handled the buyer's code (called `record_code`)

    def record_code(self, code: str | None) -> None:
        """Take the buyer's codes and say what the booking keeps of them (e.g. `code` as sent). A plugin that
        handles codes must call it: a code no plugin took is refused (422 `promo_codes_unavailable`). A plugin
        that takes secret codes (gift cards) records only the public part, e.g. the promotion code."""
        self.recorded_code = code
        self.code_taken = True

    def when_booked(self, callback: Callable) -> None:
        """Run `callback(booking)` inside the write transaction that creates the booking from this quote.

        It runs after the booking and its lines are written and before seats are held: the place for a plugin
        to claim its own scarce resources (promotion uses, gift-card balance, stock) with conditional UPDATEs.
        Raising `ApiError` refuses the purchase and rolls everything back; nothing is held.
        """
        self.booked_callbacks.append(callback)

    def run_booked(self, booking) -> None:
        """Called by the core once per booking-creating transaction (again if that transaction is retried)."""
        for callback in self.booked_callbacks:
            callback(booking)

    def add_adjustment(self, kind: str, description: str, amount: int) -> None:
        """Add a discount (negative) or surcharge (positive) of `amount` minor units of the quote's currency."""
        if not isinstance(amount, int) or isinstance(amount, bool) or abs(amount) > MAX_ADJUSTMENT:
            raise TypeError("Quote adjustments are integer minor units.")
        kind = str(kind or "adjustment")[:24]
        if kind == "ticket":
            raise ValueError("'ticket' is reserved for ticket lines.")
        self.adjustments.append(Adjustment(kind, str(description or "")[:300], amount))

    @property
    def subtotal(self) -> int:
        """Sum of unit prices x units, before fees and adjustments."""
        return sum(line.unit_price * line.quantity for line in self.lines)

    @property
    def fees(self) -> int:
        """Sum of service fees."""
        return sum(line.unit_fee * line.quantity for line in self.lines)

    @property
    def adjustments_total(self) -> int:
        """Sum of plugin adjustments, capped so the total never goes below zero."""
        raw = sum(a.amount for a in self.adjustments)
        return max(raw, -(self.subtotal + self.fees))

    @property
    def total(self) -> int:
        """What the buyer pays: subtotal + fees + adjustments, never below zero."""
        return self.subtotal + self.fees + self.adjustments_total

    @property
    def seats(self) -> int:
        """Seats the booking takes."""
        return sum(line.seats for line in self.lines)

    @property
    def is_free(self) -> bool:
        """True when nothing is to be paid."""
        return self.total == 0


def unit_fee(ticket_type: TicketType) -> int:
    """The service fee charged per purchase unit: flat amount plus percentage of the unit price."""
    flat = max(ticket_type.service_fee_amount or 0, 0)
    percent = ticket_type.service_fee_percentage or 0
    return flat + (percentage_of(ticket_type.price, percent) if percent > 0 else 0)


def takes_promo_codes(org: Org) -> bool:
    """True when one of the tenant's enabled plugins takes promotion codes (the `takes_promo_codes` hook): the
    one place a checkout asks whether to offer a code field. A code none takes is refused by `quote_booking`."""
    return any(hooks_for(org).takes_promo_codes(org=org))


def quote_booking(org: Org, items: list[tuple[TicketType, int]], *, promo_code: str | None = None,
                  customer: Customer | None = None, extras: dict | None = None, run_hooks: bool = True) -> Quote:
    """Price `items` (ticket type, units) server-side; 422 `mixed_currencies` if they differ in currency.

    `extras` (the purchase request's plugin-specific parts) reaches the `price_booking` hook unchanged. A
    `promo_code` that no enabled plugin took (`Quote.record_code`) is 422 `promo_codes_unavailable`; more seats
    than a seat count holds is 422 `too_many_seats`; an amount that the booking's money columns (or its lines'
    and adjustments') cannot hold is 422 `amount_too_large`."""
    currencies = {tt.currency for tt, _ in items}
    if len(currencies) > 1:
        raise Unprocessable(f"One booking cannot mix currencies ({', '.join(sorted(currencies))}); "
                            "buy these tickets in separate bookings.", type="mixed_currencies")
    quote = Quote(org_id=org.id, currency=currencies.pop() if currencies else "USD", recorded_code=promo_code)
    for ticket_type, units in items:
        quote.lines.append(QuoteLine(ticket_type, units, seats_for(ticket_type, units), ticket_type.price,
                                     unit_fee(ticket_type)))
    if run_hooks:
        try:
            hooks_for(org).price_booking(org=org, quote=quote, promo_code=promo_code, customer=customer,
                                          extras=extras or {})
        except ApiError:
            raise
        except (TypeError, ValueError) as exc:
            raise Unprocessable(f"A pricing plugin returned an invalid adjustment: {exc}",
                                type="pricing_error") from exc
        if promo_code and not quote.code_taken:
            raise Unprocessable("This organisation takes no promotion codes: no enabled plugin handles them. "
                                "Buy without `promoCode`.", type="promo_codes_unavailable",
                                errors={"promoCode": ["no enabled plugin handles promotion codes"]})
    require_seat_count(quote.seats)
    if not fits_money_column(*stored_amounts(quote)):
        most = MINOR_UNITS_RANGE[1]
        raise Unprocessable(f"One booking, and each of its lines, discounts and surcharges, can amount to at most "
                            f"{format_money(most, quote.currency)}; buy fewer at a time.", type="amount_too_large")
    return quote


def stored_amounts(quote: Quote) -> list[int]:
    """Every amount a booking made from `quote` stores, and its plugins' records with it: each line's total, each
    adjustment, and the sums, gross (lines plus surcharges) and of the reductions, that bound any partial sum a
    plugin keeps (what gift cards paid, the merch of an order)."""
    amounts = [adjustment.amount for adjustment in quote.adjustments]
    gross = quote.subtotal + quote.fees + sum(amount for amount in amounts if amount > 0)
    return [gross, sum(amount for amount in amounts if amount < 0), quote.adjustments_total, quote.total,
            *(line.total for line in quote.lines), *amounts]
