"""Free checkout: bookings whose total is zero are confirmed without any payment step.

Refuses any booking that costs money; never talks to a provider.
"""

from __future__ import annotations

from core.hookspecs import hookimpl
from core.payments import PaymentCheck, RefundResult

NAME = "free"


@hookimpl
def payment_gateways():
    """This plugin provides the `free` gateway."""
    return [NAME]


@hookimpl
def gateway_create_payment(gateway, org, booking, settings):
    """Nothing to pay: no reference, no client secret."""
    if gateway != NAME:
        return None
    return {"reference": f"free:{booking.id}", "client_secret": None, "data": {}}


@hookimpl
def gateway_verify_payment(gateway, org, booking, payment_ref, settings):
    """A booking is 'paid' through `free` only if it costs nothing."""
    if gateway != NAME:
        return None
    if booking.amount != 0:
        return PaymentCheck(paid=False, reason="The free gateway only confirms bookings that cost nothing.")
    return PaymentCheck(paid=True, reference=f"free:{booking.id}", amount=0, currency=booking.currency)


@hookimpl
def gateway_refund(gateway, org, booking, payment_ref, amount, settings):
    """Refunding a free booking moves no money."""
    if gateway != NAME:
        return None
    return RefundResult(succeeded=True, reference=None, amount=amount)
