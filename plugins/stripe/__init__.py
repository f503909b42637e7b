"""Stripe payments (PaymentIntents, hosted Checkout, refunds, signed webhooks) with each tenant's own keys.

Never trusts the client or a webhook payload about money (always re-fetches from Stripe); never exposes secrets.
"""

from __future__ import annotations

from core.hookspecs import hookimpl
from core.payments import PaymentCheck, RefundResult
from plugins.stripe.gateway import NAME, StripeGateway


@hookimpl
def payment_gateways() -> list[str]:
    """This plugin provides the `stripe` gateway."""
    return [NAME]


@hookimpl
def register_routes(api, app) -> None:
    """Mount /client/events/stripe/* (tenant routes) and /webhooks/stripe/<orgid> (signed, org in path)."""
    from plugins.stripe.routes import client_blp, webhook_blp

    api.register_blueprint(client_blp)
    api.register_blueprint(webhook_blp)


@hookimpl
def gateway_create_payment(gateway, org, booking, settings) -> dict | None:
    """Create the booking's PaymentIntent; the client confirms it with Stripe.js and the client secret."""
    if gateway != NAME:
        return None
    intent = StripeGateway(settings).create_intent(org, booking)
    return {"reference": intent["id"], "client_secret": intent["client_secret"], "approval_url": None,
            "data": {"paymentIntentId": intent["id"], "clientSecret": intent["client_secret"]}}


@hookimpl
def gateway_verify_payment(gateway, org, booking, payment_ref, settings) -> PaymentCheck | None:
    """Paid only if the re-fetched PaymentIntent succeeded for this org, booking, amount and currency."""
    if gateway != NAME:
        return None
    return StripeGateway(settings).verify(org, booking, payment_ref)


@hookimpl
def gateway_refund(gateway, org, booking, payment_ref, amount, settings) -> RefundResult | None:
    """Refund through Stripe's Refund API; 409 `refund_rejected` with Stripe's reason if it refuses."""
    if gateway != NAME:
        return None
    return StripeGateway(settings).refund(org, booking, payment_ref, amount)


@hookimpl
def gateway_void_payment(gateway, org, booking, payment_ref, settings) -> PaymentCheck | None:
    """Cancel the booking's PaymentIntent so a dead cart can no longer be paid; a succeeded one is reported paid."""
    if gateway != NAME:
        return None
    return StripeGateway(settings).void(org, booking, payment_ref)
