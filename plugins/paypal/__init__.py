"""PayPal payments (Orders v2: create, approve, capture, refund, verified webhooks) with each tenant's credentials.

Never trusts the client or a webhook payload about money (re-fetches from PayPal); never exposes credentials.
"""

from __future__ import annotations

from core.hookspecs import hookimpl
from core.payments import PaymentCheck, RefundResult
from plugins.paypal.gateway import NAME, PayPalGateway


@hookimpl
def payment_gateways() -> list[str]:
    """This plugin provides the `paypal` gateway."""
    return [NAME]


@hookimpl
def register_routes(api, app) -> None:
    """Mount /webhooks/paypal/<orgid> (verified with PayPal, org in the path)."""
    from plugins.paypal.routes import webhook_blp

    api.register_blueprint(webhook_blp)


def _approval_url(order: dict) -> str | None:
    for link in order.get("links") or []:
        if link.get("rel") in ("approve", "payer-action"):
            return link.get("href")
    return None


@hookimpl
def gateway_create_payment(gateway, org, booking, settings) -> dict | None:
    """Create a PayPal order for the booking; the buyer approves it at `approval_url`."""
    if gateway != NAME:
        return None
    order = PayPalGateway(settings).create_order(org, booking)
    approval_url = _approval_url(order)
    return {"reference": order["id"], "client_secret": None, "approval_url": approval_url,
            "data": {"orderId": order["id"], "approvalUrl": approval_url}}


@hookimpl
def gateway_verify_payment(gateway, org, booking, payment_ref, settings) -> PaymentCheck | None:
    """Capture the approved order (or read the existing capture) and check amount, currency and booking."""
    if gateway != NAME:
        return None
    return PayPalGateway(settings).verify(org, booking, payment_ref)


@hookimpl
def gateway_refund(gateway, org, booking, payment_ref, amount, settings) -> RefundResult | None:
    """Refund the order's capture; 409 `refund_rejected` with PayPal's reason if it refuses."""
    if gateway != NAME:
        return None
    return PayPalGateway(settings).refund(org, booking, payment_ref, amount)


@hookimpl
def gateway_void_payment(gateway, org, booking, payment_ref, settings) -> PaymentCheck | None:
    """Nothing to cancel at PayPal (an uncaptured order expires there; only confirm-order captures); a capture
    that already happened is reported paid so the core refunds it."""
    if gateway != NAME:
        return None
    return PayPalGateway(settings).void(org, booking, payment_ref)
