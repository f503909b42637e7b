"""Offline payments: cash, bank transfer or a card terminal at the door, marked paid by staff.

The booking stays pending (seats held) until staff record the payment; never confirms on its own.
"""

from __future__ import annotations

from core.hookspecs import hookimpl
from core.payments import PaymentCheck, RefundResult

NAME = "offline"


@hookimpl
def payment_gateways():
    """This plugin provides the `offline` gateway."""
    return [NAME]


@hookimpl
def gateway_create_payment(gateway, org, booking, settings):
    """Tell the buyer how to pay; staff confirm later."""
    if gateway != NAME:
        return None
    instructions = settings.get("instructions") or "Pay at the box office or by bank transfer."
    return {"reference": None, "client_secret": None, "data": {"instructions": instructions}}


@hookimpl
def gateway_verify_payment(gateway, org, booking, payment_ref, settings):
    """Only a payment recorded by staff counts (booking.payment_data['marked_paid'])."""
    if gateway != NAME:
        return None
    marked = (booking.payment_data or {}).get("marked_paid")
    if not marked:
        return PaymentCheck(paid=False, reason="Waiting for staff to record the payment.")
    return PaymentCheck(paid=True, reference=marked.get("reference"), amount=booking.amount,
                        currency=booking.currency)


@hookimpl
def gateway_refund(gateway, org, booking, payment_ref, amount, settings):
    """Offline refunds are paid out by hand; record them as done."""
    if gateway != NAME:
        return None
    return RefundResult(succeeded=True, reference=None, amount=amount, reason="Refund paid out offline.")
