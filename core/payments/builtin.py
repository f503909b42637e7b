"""The core's own two payment methods: zero-total confirmation and money taken outside Boxoffice (box office).

They need no plugin and no provider, so every tenant can sell free tickets and staff sales; never move money.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.payments.provider import PaymentProvider, Step
from core.payments.values import PaymentCheck, RefundResult

if TYPE_CHECKING:
    from core.models import Booking, Org


class ZeroTotal(PaymentProvider):
    """Bookings whose total is zero: confirmed at once, with nothing to pay and nothing to pay back."""

    identifier = "free"
    name = "No payment (free)"
    capabilities = frozenset({Step.VERIFY, Step.REFUND, Step.PARTIAL_REFUND})
    buyer_selectable = False
    calls_out = False

    def verify_payment(self, org: Org, booking: Booking, payment_ref: str | None, settings: dict) -> PaymentCheck:
        """'Paid' only when the booking costs nothing."""
        if booking.amount != 0:
            return PaymentCheck(paid=False, reason="Only a booking that costs nothing is confirmed without payment.")
        return PaymentCheck(paid=True, reference=f"free:{booking.id}", amount=0, currency=booking.currency)

    def refund(self, org: Org, booking: Booking, payment_ref: str | None, amount: int,
               settings: dict) -> RefundResult:
        """Nothing was paid, so nothing moves."""
        return RefundResult(succeeded=True, reference=None, amount=amount)


class ManualPayment(PaymentProvider):
    """Money taken outside Boxoffice (cash, card terminal, bank transfer): the booking stays pending, seats held,
    until staff record the payment (mark-paid); refunds are paid out by hand. Staff sales use it by default.

    A plugin may offer it to online buyers too by returning a subclass with `buyer_selectable = True` and the
    same identifier (e.g. with bank-transfer instructions); it then replaces this one for the tenant.
    """

    identifier = "offline"
    name = "Paid outside Boxoffice (box office)"
    capabilities = frozenset({Step.CREATE, Step.VERIFY, Step.REFUND, Step.PARTIAL_REFUND})
    buyer_selectable = False
    settled_by_staff = True
    calls_out = False

    def instructions(self, settings: dict) -> str:
        """What the buyer is told about paying."""
        return "Pay at the box office."

    def create_payment(self, org: Org, booking: Booking, settings: dict) -> dict:
        """No provider payment: tell the buyer how to pay; staff confirm later."""
        return {"reference": None, "client_secret": None, "data": {"instructions": self.instructions(settings)}}

    def verify_payment(self, org: Org, booking: Booking, payment_ref: str | None, settings: dict) -> PaymentCheck:
        """Only a payment recorded by staff counts (`booking.payment_data["marked_paid"]`)."""
        marked = (booking.payment_data or {}).get("marked_paid")
        if not marked:
            return PaymentCheck(paid=False, reason="Waiting for staff to record the payment.")
        return PaymentCheck(paid=True, reference=marked.get("reference"), amount=booking.amount,
                            currency=booking.currency)

    def refund(self, org: Org, booking: Booking, payment_ref: str | None, amount: int,
               settings: dict) -> RefundResult:
        """Paid back by hand: recorded as owed until staff record the payout."""
        return RefundResult(succeeded=True, reference=None, amount=amount, owed=True,
                            reason="To be paid out by hand, outside Boxoffice.")


BUILTIN_PROVIDERS: tuple[PaymentProvider, ...] = (ZeroTotal(), ManualPayment())
