"""The Stripe payment provider: the core's steps (create, verify, refund, void, widget, webhook) on StripeGateway.

Never trusts the client or a webhook payload about money (always re-fetches from Stripe); never exposes secrets.
"""

from __future__ import annotations

import stripe
from marshmallow import fields

from core.api_schema import Schema
from core.models import Booking, Org
from core.payments import ExtraCharge, PaymentCheck, Step, WebhookDelivery
from core.payments.kit import (
    AccountProvider,
    confirm_paid_booking,
    confirm_paid_charge,
    find_booking,
    invalid_signature,
    note_webhook_event,
    require_settings,
    valid_reference,
)
from plugins.stripe.gateway import NAME, StripeGateway, intent_belongs_to

STRIPE_JS_URL = "https://js.stripe.com/v3/"   # Stripe's terms: Stripe.js is loaded from Stripe, never bundled


class StripeSettings(Schema):
    """A tenant's Stripe settings (`boxoffice tenants config ORG stripe key=value`)."""

    secret_key = fields.String(metadata={"secret": True, "description": "sk_live_... / sk_test_..."})
    publishable_key = fields.String(metadata={"description": "pk_live_... / pk_test_... (sent to browsers)"})
    webhook_secret = fields.String(metadata={"secret": True, "description": "whsec_... of the tenant's endpoint"})
    api_base = fields.String(metadata={"description": "another API base URL (tests, proxies)"})
    js_url = fields.String(metadata={"description": "where browsers load Stripe.js from (default "
                                                    "https://js.stripe.com/v3/; tests point it at a stand-in)"})
    timeout = fields.Float(metadata={"description": "seconds to wait for Stripe (clamped to 0.1-30; default 10)"})


class StripeProvider(AccountProvider):
    """Card and wallet payments through Stripe PaymentIntents with the tenant's own keys."""

    identifier = NAME
    name = "Stripe"
    settings_schema = StripeSettings
    capabilities = frozenset({Step.CREATE, Step.VERIFY, Step.REFUND, Step.PARTIAL_REFUND, Step.VOID,
                              Step.WIDGET, Step.WEBHOOK, Step.REDIRECT, Step.EXTRA_PAYMENT, Step.SAVE_METHOD,
                              Step.CHARGE_SAVED})

    def account(self, settings: dict) -> StripeGateway:
        """The tenant's Stripe account (409 `gateway_not_configured` without its credentials)."""
        return StripeGateway(settings)

    def create_payment(self, org: Org, booking: Booking, settings: dict) -> dict:
        """Create the booking's PaymentIntent; the client confirms it with Stripe.js and the client secret."""
        return _client_answer(self.account(settings).create_intent(org, booking))

    def create_extra_payment(self, org: Org, booking: Booking, charge: ExtraCharge, settings: dict) -> dict:
        """Create the charge's own PaymentIntent (a change fee); the client confirms it like a purchase's."""
        return _client_answer(self.account(settings).create_charge_intent(org, booking, charge))

    def verify_extra_payment(self, org: Org, booking: Booking, charge: ExtraCharge, payment_ref: str,
                             settings: dict) -> PaymentCheck:
        """Stripe's verdict on the charge's PaymentIntent (this org, booking and charge only)."""
        return self.account(settings).verify_charge(org, booking, charge, payment_ref)

    def start_saving_method(self, org: Org, key: str, email: str, name: str, settings: dict) -> dict:
        """A Customer and an off-session SetupIntent; the buyer saves a card on it with Stripe.js
        (`confirmSetup` with the client secret)."""
        setup = self.account(settings).create_setup(org, key, email, name)
        return {"reference": setup["id"], "client_secret": setup["client_secret"]}

    def saved_method(self, org: Org, reference: str, settings: dict) -> str | None:
        """`<customer>/<payment method>` once the SetupIntent succeeded."""
        return self.account(settings).saved_method(org, reference) if valid_reference(reference) else None

    def charge_saved_method(self, org: Org, booking: Booking, method_ref: str, amount: int,
                            settings: dict) -> PaymentCheck:
        """An off-session PaymentIntent confirmed on the saved card, tagged with the booking."""
        return self.account(settings).charge_saved(org, booking, method_ref, amount)

    def start_redirect(self, org: Org, booking: Booking, settings: dict, *, return_url: str,
                       callback_url: str) -> dict:
        """A hosted Checkout Session for the booking's total; Stripe sends the buyer back to `callback_url` with
        the session id (paid or cancelled alike)."""
        separator = "&" if "?" in callback_url else "?"
        session = self.account(settings).create_checkout_session(
            org, booking, callback_url + separator + "session_id={CHECKOUT_SESSION_ID}", callback_url)
        return {"url": session.get("url"), "reference": session["id"]}

    def handle_callback(self, org: Org, booking: Booking, settings: dict, params: dict) -> PaymentCheck:
        """Re-fetch the session named in the return (else the booking's own intent) and check it like verify."""
        session_id = params.get("session_id")
        reference = session_id if valid_reference(session_id) else None
        return self.account(settings).verify(org, booking, reference)

    def widget_config(self, org: Org, settings: dict) -> dict:
        """The publishable key Stripe.js needs (never the secret key) and where Stripe.js loads from."""
        require_settings(NAME, settings, ("publishable_key",))
        return {"publishableKey": settings["publishable_key"], "jsUrl": settings.get("js_url") or STRIPE_JS_URL}

    def handle_webhook(self, org: Org, settings: dict, delivery: WebhookDelivery) -> dict:
        """Verify the Stripe-Signature, re-fetch the object the event names, then act on it."""
        require_settings(NAME, settings, ("secret_key", "webhook_secret"))
        try:
            event = stripe.Webhook.construct_event(delivery.body, delivery.headers.get("Stripe-Signature"),
                                                   settings["webhook_secret"])
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise invalid_signature(NAME, "the Stripe-Signature header is missing, stale or does not match this "
                                    "organisation's webhook secret") from exc
        handler = EVENT_HANDLERS.get(event.type)
        if handler is None:
            return {"received": True, "handled": False, "type": event.type}
        obj = event.data.object
        obj_id = obj.get("id") if isinstance(obj, dict) else obj.id
        if not valid_reference(obj_id):
            return {"received": True, "handled": False, "type": event.type}
        result = handler(org, self.account(settings), obj_id, event.id)
        return {"received": True, "handled": True, "type": event.type, **result}


def _client_answer(intent: dict) -> dict:
    """A created PaymentIntent as the core keeps it: reference and the client secret Stripe.js needs."""
    return {"reference": intent["id"], "client_secret": intent["client_secret"], "approval_url": None,
            "data": {"paymentIntentId": intent["id"], "clientSecret": intent["client_secret"]}}


def _confirm_intent(org: Org, gateway: StripeGateway, intent: dict) -> dict:
    metadata = intent.get("metadata") or {}
    booking = find_booking(org, metadata.get("bookingId"))
    charge_id = metadata.get("chargeId")
    if booking is None or not intent_belongs_to(intent, org, booking.id, charge_id):
        return {"ignored": "The payment does not belong to a booking of this organisation."}
    if intent.get("status") != "succeeded":
        return {"ignored": f"The payment is {intent.get('status')}."}
    if charge_id:  # an extra charge on the booking (a change fee), not the booking's own payment
        return confirm_paid_charge(org, booking, charge_id, intent["id"], NAME)
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
    return note_webhook_event(org, booking_id, NAME, entry, belongs=intent_belongs_to(intent, org))


def on_charge_refunded(org: Org, gateway: StripeGateway, charge_id: str, event_id: str) -> dict:
    """charge.refunded: note what Stripe refunded (refunds themselves go through `StripeProvider.refund`)."""
    charge = gateway.retrieve_charge(charge_id)
    intent_id = charge.get("payment_intent")
    intent = gateway.retrieve_intent(intent_id) if valid_reference(intent_id) else {}
    booking_id = (intent.get("metadata") or {}).get("bookingId")
    entry = {"event": "charge_refunded", "eventId": event_id, "charge": charge_id,
             "amountRefunded": charge.get("amount_refunded"), "currency": str(charge.get("currency")).upper()}
    return note_webhook_event(org, booking_id, NAME, entry, belongs=bool(intent) and intent_belongs_to(intent, org))


EVENT_HANDLERS = {
    "payment_intent.succeeded": on_intent_succeeded,
    "payment_intent.payment_failed": on_intent_failed,
    "checkout.session.completed": on_session_completed,
    "checkout.session.async_payment_succeeded": on_session_completed,
    "charge.refunded": on_charge_refunded,
}

PROVIDER = StripeProvider()
