"""Stripe's HTTP surface: client config/intent/checkout-session routes and the signed webhook endpoint.

Never returns the secret key or webhook secret; never changes a booking on an unverified webhook.
"""

from __future__ import annotations

import stripe
from flask import request
from marshmallow import Schema, fields, validate

from core.api.blueprint import plugin_blueprint
from core.errors import ApiError
from core.models import Org
from core.plugins import plugin_settings
from core.tenancy import current_org
from plugins._gateway_common import (
    WebhookAck,
    confirm_paid_booking,
    find_booking,
    payable_booking,
    record_gateway_event,
    require_settings,
    valid_reference,
    webhook_blueprint,
    webhook_org,
)
from plugins.stripe.gateway import NAME, StripeGateway, intent_belongs_to

client_blp = plugin_blueprint(NAME, "stripe_client", __name__, url_prefix="/client/events/stripe",
                              description="Stripe payments for a booking (publishable key, intents, checkout)")
webhook_blp = webhook_blueprint(NAME, __name__)

_URL = validate.URL(schemes={"http", "https"}, require_tld=False)


class IntentIn(Schema):
    """Body of POST /client/events/stripe/intent."""

    bookingId = fields.String(required=True, validate=validate.Length(1, 64))


class CheckoutIn(IntentIn):
    """Body of POST /client/events/stripe/checkout-session."""

    successUrl = fields.String(required=True, validate=[validate.Length(max=2000), _URL])
    cancelUrl = fields.String(required=True, validate=[validate.Length(max=2000), _URL])


class ConfigOut(Schema):
    """What a browser needs to start Stripe.js."""

    publishableKey = fields.String()


class IntentOut(Schema):
    """A PaymentIntent for a booking, as the client needs it."""

    bookingId = fields.String()
    paymentIntentId = fields.String()
    clientSecret = fields.String()
    paymentIntentSecret = fields.String()
    amount = fields.Integer()
    currency = fields.String()
    status = fields.String()


class CheckoutOut(Schema):
    """A hosted Checkout Session."""

    bookingId = fields.String()
    sessionId = fields.String()
    url = fields.String()
    paymentIntentId = fields.String(allow_none=True)


def tenant_gateway(org: Org) -> StripeGateway:
    """The tenant's Stripe account (409 `gateway_not_configured` without keys)."""
    return StripeGateway(plugin_settings(org, NAME))


@client_blp.route("/config")
@client_blp.response(200, ConfigOut)
def stripe_config():
    """The tenant's publishable key for Stripe.js (never the secret key)."""
    settings = plugin_settings(current_org(), NAME)
    require_settings(NAME, settings, ("publishable_key",))
    return {"publishableKey": settings["publishable_key"]}


@client_blp.route("/intent", methods=["POST"])
@client_blp.arguments(IntentIn)
@client_blp.response(200, IntentOut)
def stripe_intent(data):
    """The booking's PaymentIntent (created once: the booking id is the idempotency key)."""
    org = current_org()
    gateway = tenant_gateway(org)
    booking = payable_booking(org, data["bookingId"])
    intent = gateway.create_intent(org, booking)
    return {"bookingId": booking.id, "paymentIntentId": intent["id"], "clientSecret": intent["client_secret"],
            "paymentIntentSecret": intent["client_secret"], "amount": intent["amount"],
            "currency": str(intent["currency"]).upper(), "status": intent["status"]}


@client_blp.route("/checkout-session", methods=["POST"])
@client_blp.arguments(CheckoutIn)
@client_blp.response(200, CheckoutOut)
def stripe_checkout_session(data):
    """A hosted Stripe Checkout page for the booking's total; confirm with the session id or the webhook."""
    org = current_org()
    gateway = tenant_gateway(org)
    booking = payable_booking(org, data["bookingId"])
    session = gateway.create_checkout_session(org, booking, data["successUrl"], data["cancelUrl"])
    return {"bookingId": booking.id, "sessionId": session["id"], "url": session.get("url"),
            "paymentIntentId": session.get("payment_intent")}


@webhook_blp.route("/webhooks/stripe/<org_id>", methods=["POST"])
@webhook_blp.response(200, WebhookAck)
def stripe_webhook(org_id: str):
    """Stripe's events for one tenant: verify the signature, re-fetch the object, then act."""
    org = webhook_org(org_id, NAME)
    settings = plugin_settings(org, NAME)
    require_settings(NAME, settings, ("secret_key", "webhook_secret"))
    try:
        event = stripe.Webhook.construct_event(request.get_data(), request.headers.get("Stripe-Signature"),
                                               settings["webhook_secret"])
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise ApiError("The Stripe-Signature header is missing, stale or does not match this organisation's "
                       "webhook secret.", status=400, type="invalid_signature") from exc
    handler = EVENT_HANDLERS.get(event.type)
    if handler is None:
        return {"received": True, "handled": False, "type": event.type}
    obj_id = event.data.object.get("id") if isinstance(event.data.object, dict) else event.data.object.id
    if not valid_reference(obj_id):
        return {"received": True, "handled": False, "type": event.type}
    result = handler(org, StripeGateway(settings), obj_id, event.id)
    return {"received": True, "handled": True, "type": event.type, **result}


def _confirm_intent(org: Org, gateway: StripeGateway, intent: dict) -> dict:
    booking = find_booking(org, (intent.get("metadata") or {}).get("bookingId"))
    if booking is None or not intent_belongs_to(intent, org, booking.id):
        return {"ignored": "The payment does not belong to a booking of this organisation."}
    if intent.get("status") != "succeeded":
        return {"ignored": f"The payment is {intent.get('status')}."}
    return confirm_paid_booking(org, booking, intent["id"], NAME)


def on_intent_succeeded(org: Org, gateway: StripeGateway, intent_id: str, event_id: str) -> dict:
    """payment_intent.succeeded: re-fetch the intent, then confirm its booking like confirm-order."""
    return _confirm_intent(org, gateway, gateway.retrieve_intent(intent_id))


def on_session_completed(org: Org, gateway: StripeGateway, session_id: str, event_id: str) -> dict:
    """checkout.session.completed (and async success): re-fetch session and intent, then confirm."""
    session = gateway.retrieve_session(session_id)
    intent_id = session.get("payment_intent")
    if session.get("payment_status") != "paid" or not valid_reference(intent_id):
        return {"ignored": "The checkout session is not paid yet."}
    return _confirm_intent(org, gateway, gateway.retrieve_intent(intent_id))


def on_intent_failed(org: Org, gateway: StripeGateway, intent_id: str, event_id: str) -> dict:
    """payment_intent.payment_failed: note the decline on the booking; it stays pending and payable."""
    intent = gateway.retrieve_intent(intent_id)
    booking_id = (intent.get("metadata") or {}).get("bookingId")
    error = intent.get("last_payment_error") or {}
    entry = {"event": "payment_failed", "eventId": event_id, "paymentIntent": intent_id,
             "status": intent.get("status"), "code": error.get("code"), "message": error.get("message")}
    if not intent_belongs_to(intent, org) or not record_gateway_event(org, booking_id, NAME, entry):
        return {"ignored": "The payment does not belong to a booking of this organisation."}
    return {"bookingId": booking_id, "recorded": "payment_failed"}


def on_charge_refunded(org: Org, gateway: StripeGateway, charge_id: str, event_id: str) -> dict:
    """charge.refunded: note what Stripe refunded (refunds themselves go through `gateway_refund`)."""
    charge = gateway.retrieve_charge(charge_id)
    intent_id = charge.get("payment_intent")
    intent = gateway.retrieve_intent(intent_id) if valid_reference(intent_id) else {}
    booking_id = (intent.get("metadata") or {}).get("bookingId")
    entry = {"event": "charge_refunded", "eventId": event_id, "charge": charge_id,
             "amountRefunded": charge.get("amount_refunded"), "currency": str(charge.get("currency")).upper()}
    if not intent or not intent_belongs_to(intent, org) or not record_gateway_event(org, booking_id, NAME, entry):
        return {"ignored": "The charge does not belong to a booking of this organisation."}
    return {"bookingId": booking_id, "recorded": "charge_refunded"}


EVENT_HANDLERS = {
    "payment_intent.succeeded": on_intent_succeeded,
    "payment_intent.payment_failed": on_intent_failed,
    "checkout.session.completed": on_session_completed,
    "checkout.session.async_payment_succeeded": on_session_completed,
    "charge.refunded": on_charge_refunded,
}
