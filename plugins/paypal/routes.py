"""PayPal's HTTP surface: the webhook endpoint `/webhooks/paypal/<orgid>`, verified through PayPal's API.

Never changes a booking on a delivery PayPal did not vouch for, and always re-fetches the order or refund.
"""

from __future__ import annotations

import json

from flask import request

from core.errors import ApiError
from core.models import Org
from core.plugins import plugin_settings
from plugins._gateway_common import (
    WebhookAck,
    confirm_paid_booking,
    find_booking,
    record_gateway_event,
    require_settings,
    valid_reference,
    webhook_blueprint,
    webhook_org,
)
from plugins.paypal.gateway import NAME, PayPalGateway, order_belongs_to

webhook_blp = webhook_blueprint(NAME, __name__)


def _invalid_signature() -> ApiError:
    return ApiError("PayPal did not confirm this webhook delivery (missing or wrong transmission headers).",
                    status=400, type="invalid_signature")


@webhook_blp.route("/webhooks/paypal/<org_id>", methods=["POST"])
@webhook_blp.response(200, WebhookAck)
def paypal_webhook(org_id: str):
    """PayPal's events for one tenant: verify with PayPal, re-fetch the object, then act."""
    org = webhook_org(org_id, NAME)
    settings = plugin_settings(org, NAME)
    require_settings(NAME, settings, ("client_id", "client_secret", "webhook_id"))
    raw = request.get_data()
    try:
        event = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _invalid_signature() from exc
    if not isinstance(event, dict):
        raise _invalid_signature()
    gateway = PayPalGateway(settings)
    if not gateway.verify_webhook(request.headers, raw):
        raise _invalid_signature()
    event_type = str(event.get("event_type") or "")
    handler = EVENT_HANDLERS.get(event_type)
    resource = event.get("resource") if isinstance(event.get("resource"), dict) else {}
    if handler is None:
        return {"received": True, "handled": False, "type": event_type}
    result = handler(org, gateway, resource, str(event.get("id") or ""))
    return {"received": True, "handled": True, "type": event_type, **result}


def _confirm_order(org: Org, gateway: PayPalGateway, order_id) -> dict:
    order = gateway.get_order(order_id) if valid_reference(order_id) else None
    units = (order or {}).get("purchase_units") or [{}]
    booking = find_booking(org, units[0].get("custom_id"))
    if booking is None or not order_belongs_to(order, org, booking.id):
        return {"ignored": "The order does not belong to a booking of this organisation."}
    return confirm_paid_booking(org, booking, order["id"], NAME)


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
    refund = gateway.get_refund(refund_id) if valid_reference(refund_id) else None
    booking_id = (refund or {}).get("custom_id")
    entry = {"event": "capture_refunded", "eventId": event_id, "refund": refund_id,
             "status": (refund or {}).get("status"), "amount": (refund or {}).get("amount")}
    if refund is None or not record_gateway_event(org, booking_id, NAME, entry):
        return {"ignored": "The refund does not belong to a booking of this organisation."}
    return {"bookingId": booking_id, "recorded": "capture_refunded"}


EVENT_HANDLERS = {
    "PAYMENT.CAPTURE.COMPLETED": on_capture_completed,
    "CHECKOUT.ORDER.APPROVED": on_order_approved,
    "PAYMENT.CAPTURE.REFUNDED": on_capture_refunded,
}
