"""Stripe's client routes: Stripe.js config, a booking's PaymentIntent, a hosted Checkout Session.

Never returns the secret key or webhook secret; never changes a booking (confirm-order and webhooks do).
"""

from __future__ import annotations

from marshmallow import fields, validate

from core.api.blueprint import plugin_blueprint
from core.api_schema import Schema
from core.models import Org
from core.payments.kit import payable_booking
from core.plugins import plugin_settings
from core.tenancy import current_org
from plugins.stripe.gateway import NAME, StripeGateway
from plugins.stripe.provider import PROVIDER

client_blp = plugin_blueprint(NAME, "stripe_client", __name__, url_prefix="/client/events/stripe",
                              description="Stripe payments for a booking (publishable key, intents, checkout)")

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
    jsUrl = fields.String(metadata={"description": "the Stripe.js script to load (Stripe's, unless the tenant's "
                                                  "`js_url` setting points elsewhere)"})


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
    """The tenant's publishable key for Stripe.js (never the secret key) and the script's URL."""
    org = current_org()
    return PROVIDER.widget_config(org, plugin_settings(org, NAME))


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
