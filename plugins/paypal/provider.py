"""The PayPal payment provider: the core's steps (create, verify = capture, refund, void, webhook) on PayPalGateway.

Never changes a booking on a delivery PayPal did not vouch for, and always re-fetches the order or refund.
"""

from __future__ import annotations

import json

from marshmallow import fields, validate

from core.api_schema import Schema
from core.models import Booking, Org
from core.payments import Step, WebhookDelivery, kit
from plugins.paypal.gateway import NAME, PayPalGateway, order_belongs_to


class PayPalSettings(Schema):
    """A tenant's PayPal settings (`boxoffice tenants config ORG paypal key=value`)."""

    client_id = fields.String(metadata={"description": "the REST app's client id"})
    client_secret = fields.String(metadata={"secret": True, "description": "the REST app's secret"})
    webhook_id = fields.String(metadata={"description": "the id PayPal shows for the tenant's webhook"})
    environment = fields.String(validate=validate.OneOf(("sandbox", "live", "production")),
                                metadata={"description": "sandbox (default) or live"})
    api_base = fields.String(metadata={"description": "another API base URL (tests, proxies)"})
    timeout = fields.Float(metadata={"description": "seconds to wait for PayPal (clamped to 0.1-30; default 10)"})


def _approval_url(order: dict) -> str | None:
    for link in order.get("links") or []:
        if link.get("rel") in ("approve", "payer-action"):
            return link.get("href")
    return None


class PayPalProvider(kit.AccountProvider):
    """PayPal Checkout (Orders v2, intent CAPTURE) with the tenant's own REST credentials."""

    identifier = NAME
    name = "PayPal"
    settings_schema = PayPalSettings
    capabilities = frozenset({Step.CREATE, Step.VERIFY, Step.REFUND, Step.PARTIAL_REFUND, Step.VOID,
                              Step.WEBHOOK})

    def account(self, settings: dict) -> PayPalGateway:
        """The tenant's PayPal account (409 `gateway_not_configured` without its credentials)."""
        return PayPalGateway(settings)

    def create_payment(self, org: Org, booking: Booking, settings: dict) -> dict:
        """Create a PayPal order for the booking; the buyer approves it at `approval_url`."""
        order = self.account(settings).create_order(org, booking)
        approval_url = _approval_url(order)
        return {"reference": order["id"], "client_secret": None, "approval_url": approval_url,
                "data": {"orderId": order["id"], "approvalUrl": approval_url}}

    def handle_webhook(self, org: Org, settings: dict, delivery: WebhookDelivery) -> dict:
        """Verify the delivery with PayPal's API, re-fetch the order or refund it names, then act on it."""
        kit.require_settings(NAME, settings, ("client_id", "client_secret", "webhook_id"))
        refused = "PayPal did not confirm it (missing or wrong transmission headers)"
        try:
            event = json.loads(delivery.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise kit.invalid_signature(NAME, refused) from exc
        if not isinstance(event, dict):
            raise kit.invalid_signature(NAME, refused)
        gateway = self.account(settings)
        if not gateway.verify_webhook(delivery.headers, delivery.body):
            raise kit.invalid_signature(NAME, refused)
        event_type = str(event.get("event_type") or "")
        handler = EVENT_HANDLERS.get(event_type)
        if handler is None:
            return {"received": True, "handled": False, "type": event_type}
        resource = event.get("resource") if isinstance(event.get("resource"), dict) else {}
        result = handler(org, gateway, resource, str(event.get("id") or ""))
        return {"received": True, "handled": True, "type": event_type, **result}


def _confirm_order(org: Org, gateway: PayPalGateway, order_id) -> dict:
    order = gateway.get_order(order_id) if kit.valid_reference(order_id) else None
    units = (order or {}).get("purchase_units") or [{}]
    booking = kit.find_booking(org, units[0].get("custom_id"))
    if booking is None or not order_belongs_to(order, org, booking.id):
        return {"ignored": "The order does not belong to a booking of this organisation."}
    return kit.confirm_paid_booking(org, booking, order["id"], NAME)


def on_capture_completed(org: Org, gateway: PayPalGateway, resource: dict, event_id: str) -> dict:
    """PAYMENT.CAPTURE.COMPLETED: re-fetch the capture's order and confirm its booking like confirm-order."""
    order_id = ((resource.get("supplementary_data") or {}).get("related_ids") or {}).get("order_id")
    return _confirm_order(org, gateway, order_id)


def on_order_approved(org: Org, gateway: PayPalGateway, resource: dict, event_id: str) -> dict:
    """CHECKOUT.ORDER.APPROVED: the buyer approved; capture and confirm (the same path as confirm-order)."""
    return _confirm_order(org, gateway, resource.get("id"))


def on_capture_refunded(org: Org, gateway: PayPalGateway, resource: dict, event_id: str) -> dict:
    """PAYMENT.CAPTURE.REFUNDED: re-fetch the refund and note it on its booking."""
    refund_id = resource.get("id")
    refund = gateway.get_refund(refund_id) if kit.valid_reference(refund_id) else None
    booking_id = (refund or {}).get("custom_id")
    entry = {"event": "capture_refunded", "eventId": event_id, "refund": refund_id,
             "status": (refund or {}).get("status"), "amount": (refund or {}).get("amount")}
    return kit.note_webhook_event(org, booking_id, NAME, entry, belongs=refund is not None)


EVENT_HANDLERS = {
    "PAYMENT.CAPTURE.COMPLETED": on_capture_completed,
    "CHECKOUT.ORDER.APPROVED": on_order_approved,
    "PAYMENT.CAPTURE.REFUNDED": on_capture_refunded,
}

PROVIDER = PayPalProvider()
