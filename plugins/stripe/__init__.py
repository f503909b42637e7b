"""Stripe payments (PaymentIntents, hosted Checkout, refunds, signed webhooks) with each tenant's own keys.

Never trusts the client or a webhook payload about money (always re-fetches from Stripe); never exposes secrets.
"""

from __future__ import annotations

from core.hookspecs import hookimpl
from core.payments import PaymentProvider


@hookimpl
def payment_gateways() -> list[PaymentProvider]:
    """This plugin provides the `stripe` payment provider."""
    from plugins.stripe.provider import PROVIDER

    return [PROVIDER]


@hookimpl
def register_routes(api, app) -> None:
    """Mount /client/events/stripe/* (its webhook is the core's /webhooks/stripe/<orgid>)."""
    from plugins.stripe.routes import client_blp

    api.register_blueprint(client_blp)
