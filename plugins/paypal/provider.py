"""The PayPal payment provider: the core's steps (create, verify = capture, refund, void, webhook) on PayPalGateway.

Never changes a booking on a delivery PayPal did not vouch for, and always re-fetches the order or refund.
"""

from __future__ import annotations

import json

from marshmallow import fields, validate

from core.api_schema import Schema
from core.models import Booking, Org
from core.payments import ExtraCharge, PaymentCheck, Step, WebhookDelivery, kit
from plugins.paypal.gateway import NAME, PayPalGateway, charge_of, order_belongs_to

PAYPAL_JS_URL = "https://www.paypal.com/sdk/js"


class PayPalSettings(Schema):
    """A tenant's PayPal settings (`boxoffice tenants config ORG paypal key=value`)."""

    client_id = fields.String(metadata={"description": "the REST app's client id"})
    client_secret = fields.String(metadata={"secret": True, "description": "the REST app's secret"})
    webhook_id = fields.String(metadata={"description": "the id PayPal shows for the tenant's webhook"})
    environment = fields.String(validate=validate.OneOf(("sandbox", "live", "production")),
                                metadata={"description": "sandbox (default) or live"})
    api_base = fields.String(metadata={"description": "another API base URL (tests, proxies)"})
    timeout = fields.Float(metadata={"description": "seconds to wait for PayPal (clamped to 0.1-30; default 10)"})
    js_url = fields.String(metadata={"description": "where pages load PayPal's JS SDK from (default "
                                                    f"{PAYPAL_JS_URL}; tests point it at a stand-in)"})


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
                              Step.WEBHOOK, Step.EXTRA_PAYMENT, Step.WIDGET, Step.REDIRECT})

    def account(self, settings: dict) -> PayPalGateway:
        """The tenant's PayPal account (409 `gateway_not_configured` without its credentials)."""
        return PayPalGateway(settings)

    def create_payment(self, org: Org, booking: Booking, settings: dict) -> dict:
        """Create a PayPal order for the booking; the buyer approves it at `approval_url`."""
        return _client_answer(self.account(settings).create_order(org, booking))

    def create_extra_payment(self, org: Org, booking: Booking, charge: ExtraCharge, settings: dict) -> dict:
        """Create the charge's own PayPal order (a change fee); the buyer approves it like a purchase's."""
        return _client_answer(self.account(settings).create_charge_order(org, booking, charge))

    def verify_extra_payment(self, org: Org, booking: Booking, charge: ExtraCharge, payment_ref: str,
                             settings: dict) -> PaymentCheck:
        """Capture the charge's approved order if needed and check it (this org, booking and charge only)."""
        return self.account(settings).verify_charge(org, booking, charge, payment_ref)

    def widget_config(self, org: Org, settings: dict) -> dict:
        """What PayPal's JS SDK (its buttons) needs: the REST app's client id (public) and where the SDK loads
        from; the buttons approve the booking's own order, then confirm-order (or a page's return) captures it."""
        kit.require_settings(NAME, settings, ("client_id",))
        return {"clientId": settings["client_id"], "jsUrl": settings.get("js_url") or PAYPAL_JS_URL}

    def start_redirect(self, org: Org, booking: Booking, settings: dict, *, return_url: str,
                       callback_url: str) -> dict:
        """The booking's redirect order (one per booking), whose approval page sends the buyer back to
        `callback_url` (with `token`, the order id) or, cancelled, to `return_url`."""
        order = self.account(settings).create_redirect_order(org, booking, callback_url, return_url)
        return {"url": _approval_url(order), "reference": order["id"]}

    def handle_callback(self, org: Org, booking: Booking, settings: dict, params: dict) -> PaymentCheck:
        """PayPal sent the buyer back: capture the order named in `token` if it is this booking's (else the
        booking's own order) and check it like verify; nothing in the query is trusted about money."""
        token = params.get("token")
        return self.account(settings).verify(org, booking, token if kit.valid_reference(token) else None)

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


def _client_answer(order: dict) -> dict:
    """A created order as the core keeps it: reference and the approval link the buyer follows."""
    approval_url = _approval_url(order)
    return {"reference": order["id"], "client_secret": None, "approval_url": approval_url,
            "data": {"orderId": order["id"], "approvalUrl": approval_url}}


def _confirm_order(org: Org, gateway: PayPalGateway, order_id) -> dict:
    order = gateway.get_order(order_id) if kit.valid_reference(order_id) else None
    charge = charge_of(order, org)
    if charge is not None:  # an extra charge on the booking (a change fee), not the booking's own payment
        booking = kit.find_booking(org, charge[0])
        if booking is None:
            return {"ignored": "The order does not belong to a booking of this organisation."}
        return kit.confirm_paid_charge(org, booking, charge[1], order["id"], NAME)
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
