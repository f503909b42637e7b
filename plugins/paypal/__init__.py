"""PayPal payments (Orders v2: create, approve, capture, refund, verified webhooks) with each tenant's credentials.

Never trusts the client or a webhook payload about money (re-fetches from PayPal); never exposes credentials.
"""

from __future__ import annotations

from core.hookspecs import hookimpl
from core.payments import PaymentProvider


@hookimpl
def payment_gateways() -> list[PaymentProvider]:
    """This plugin provides the `paypal` payment provider (its webhook is the core's /webhooks/paypal/<orgid>)."""
    from plugins.paypal.provider import PROVIDER

    return [PROVIDER]
