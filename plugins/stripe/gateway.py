"""Stripe calls for one tenant: PaymentIntents, Checkout Sessions, refunds, voids and the checks on a payment.

Uses only the tenant's own keys; never logs or returns the secret key, and never trusts an amount it did
not read back from Stripe.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator

import stripe

from core.errors import ApiError
from core.models import Booking, Org
from core.payments import ExtraCharge, PaymentCheck, RefundResult
from core.payments.kit import (
    refund_rejected,
    require_settings,
    timeout_seconds,
    unavailable,
    valid_reference,
)

log = logging.getLogger(__name__)

NAME = "stripe"
DEFAULT_API_BASE = "https://api.stripe.com"
REQUIRED_SETTINGS = ("secret_key", "publishable_key")
# the statuses in which Stripe lets a PaymentIntent be canceled (`processing` only in rare cases: left alone)
CANCELABLE = ("requires_payment_method", "requires_confirmation", "requires_action", "requires_capture")


@contextlib.contextmanager
def provider_errors() -> Iterator[None]:
    """Turn Stripe's network and server failures into 502 `gateway_unavailable`."""
    try:
        yield
    except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError) as exc:
        log.warning("stripe unavailable: %s", type(exc).__name__)
        raise unavailable(NAME, type(exc).__name__) from exc
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        raise unavailable(NAME, "the organisation's Stripe keys were refused") from exc


class StripeGateway:
    """One tenant's Stripe account, reached with a fresh `StripeClient` (short timeout, no retries)."""

    def __init__(self, settings: dict):
        require_settings(NAME, settings, REQUIRED_SETTINGS)
        self.settings = settings
        http_client = stripe.RequestsClient(timeout=timeout_seconds(settings))
        self.client = stripe.StripeClient(
            settings["secret_key"],
            base_addresses={"api": settings.get("api_base") or DEFAULT_API_BASE},
            max_network_retries=0,
            http_client=http_client,
        )

    # --- payment intents --------------------------------------------------------------------------
    @staticmethod
    def intent_params(org: Org, booking: Booking) -> dict:
        """The PaymentIntent for a booking: its amount in minor units (yen for JPY), currency, metadata."""
        return {
            "amount": booking.amount,
            "currency": booking.currency.lower(),
            "automatic_payment_methods": {"enabled": True},
            "metadata": {"org": org.id, "bookingId": booking.id},
            "description": f"Booking {booking.id}",
        }

    def create_intent(self, org: Org, booking: Booking):
        """Create (or, with the booking id as idempotency key, get back) the booking's PaymentIntent."""
        with provider_errors():
            return self.client.v1.payment_intents.create(
                params=self.intent_params(org, booking), options={"idempotency_key": booking.id}).to_dict()

    def create_charge_intent(self, org: Org, booking: Booking, charge: ExtraCharge):
        """Create (or, keyed by the charge id, get back) the PaymentIntent of an extra charge on a paid booking
        (a change fee): its own amount, metadata naming the org, the booking and the charge."""
        params = {"amount": charge.amount, "currency": charge.currency.lower(),
                  "automatic_payment_methods": {"enabled": True},
                  "metadata": {"org": org.id, "bookingId": booking.id, "chargeId": charge.id},
                  "description": charge.description}
        with provider_errors():
            return self.client.v1.payment_intents.create(
                params=params, options={"idempotency_key": f"{booking.id}:charge:{charge.id}"}).to_dict()

    def verify_charge(self, org: Org, booking: Booking, charge: ExtraCharge, payment_ref: str | None) -> PaymentCheck:
        """Paid only if Stripe says the intent `payment_ref` of this org, booking and charge succeeded for the
        charge's amount and currency."""
        intent = self.intent_for_reference(payment_ref) if valid_reference(payment_ref) else None
        if intent is None:
            return PaymentCheck(paid=False, reason="No Stripe payment was started for this charge.")
        return check_intent(intent, org, booking, charge)

    def retrieve_intent(self, intent_id: str):
        """Re-fetch a PaymentIntent from Stripe (the only source of truth about money)."""
        with provider_errors():
            return self.client.v1.payment_intents.retrieve(intent_id).to_dict()

    def retrieve_session(self, session_id: str):
        """Re-fetch a Checkout Session."""
        with provider_errors():
            return self.client.v1.checkout.sessions.retrieve(session_id).to_dict()

    def retrieve_charge(self, charge_id: str):
        """Re-fetch a Charge."""
        with provider_errors():
            return self.client.v1.charges.retrieve(charge_id).to_dict()

    def create_checkout_session(self, org: Org, booking: Booking, success_url: str, cancel_url: str):
        """A hosted Checkout Session for the booking's total, tagged like the PaymentIntent."""
        metadata = {"org": org.id, "bookingId": booking.id}
        params = {
            "mode": "payment",
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": booking.id,
            "customer_email": booking.email or None,
            "line_items": [{"quantity": 1, "price_data": {
                "currency": booking.currency.lower(), "unit_amount": booking.amount,
                "product_data": {"name": f"Tickets (booking {booking.id[:8]})"}}}],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
        }
        params = {key: value for key, value in params.items() if value is not None}
        urls = hashlib.sha256(f"{success_url}\n{cancel_url}".encode()).hexdigest()[:16]
        key = f"{booking.id}:checkout:{urls}"
        with provider_errors():
            return self.client.v1.checkout.sessions.create(params=params,
                                                           options={"idempotency_key": key}).to_dict()

    # --- saved payment methods (off-session) -------------------------------------------------------
    def create_setup(self, org: Org, key: str, email: str, name: str) -> dict:
        """A Stripe Customer for the buyer and a SetupIntent saving a card on it for off-session use (both keyed
        by `key`, so a retry returns the same ones)."""
        with provider_errors():
            customer = self.client.v1.customers.create(
                params={"email": email, "name": name, "metadata": {"org": org.id}},
                options={"idempotency_key": f"{key}:customer"}).to_dict()
            return self.client.v1.setup_intents.create(
                params={"customer": customer["id"], "usage": "off_session",
                        "automatic_payment_methods": {"enabled": True}, "metadata": {"org": org.id}},
                options={"idempotency_key": f"{key}:setup"}).to_dict()

    def saved_method(self, org: Org, setup_id: str) -> str | None:
        """`<customer>/<payment method>` of a SetupIntent of this org that succeeded, else None."""
        try:
            with provider_errors():
                setup = self.client.v1.setup_intents.retrieve(setup_id).to_dict()
        except stripe.InvalidRequestError:
            return None
        if setup.get("status") != "succeeded" or (setup.get("metadata") or {}).get("org") != org.id:
            return None
        if not (valid_reference(setup.get("customer")) and valid_reference(setup.get("payment_method"))):
            return None
        return f"{setup['customer']}/{setup['payment_method']}"

    def charge_saved(self, org: Org, booking: Booking, method_ref: str, amount: int) -> PaymentCheck:
        """Confirm an off-session PaymentIntent of `amount` on the saved method (keyed by the booking); a
        decline or a bank asking for authentication is an unpaid check with Stripe's code."""
        customer, _, method = method_ref.partition("/")
        params = {**self.intent_params(org, booking), "amount": amount, "customer": customer,
                  "payment_method": method, "off_session": True, "confirm": True}
        params.pop("automatic_payment_methods")
        try:
            with provider_errors():
                intent = self.client.v1.payment_intents.create(
                    params=params, options={"idempotency_key": f"{booking.id}:off-session"}).to_dict()
        except stripe.CardError as exc:
            error = exc.error or {}
            intent = getattr(error, "payment_intent", None) or {}
            reference = intent.get("id") if isinstance(intent, dict) else getattr(intent, "id", None)
            return PaymentCheck(paid=False, reference=reference, reason=exc.user_message or str(exc),
                                data={"declineCode": exc.code})
        return check_intent(intent, org, booking)

    # --- verification -----------------------------------------------------------------------------
    def intent_for_reference(self, reference: str):
        """The PaymentIntent behind a `pi_...` id or a Checkout Session `cs_...` id; None if unknown."""
        try:
            if reference.startswith("cs_"):
                reference = self.retrieve_session(reference).get("payment_intent")
                if not valid_reference(reference):
                    return None
            return self.retrieve_intent(reference)
        except stripe.InvalidRequestError:
            return None

    def booking_intent(self, booking: Booking, payment_ref: str | None) -> tuple[dict | None, PaymentCheck | None]:
        """(the PaymentIntent behind `payment_ref` or the booking's own, None) or (None, an unpaid check why not)."""
        reference = payment_ref or booking.payment_ref
        if not reference:
            return None, PaymentCheck(paid=False, reason="No Stripe payment was started for this booking.")
        if not valid_reference(reference):
            return None, PaymentCheck(paid=False, reason="That is not a Stripe PaymentIntent or Checkout Session id.")
        intent = self.intent_for_reference(reference)
        if intent is None:
            return None, PaymentCheck(paid=False, reason=f"Stripe knows no payment {reference!r} for this account.")
        return intent, None

    def verify(self, org: Org, booking: Booking, payment_ref: str | None) -> PaymentCheck:
        """Paid only if Stripe says the intent succeeded for this org, booking, amount and currency."""
        intent, unpaid = self.booking_intent(booking, payment_ref)
        return unpaid or check_intent(intent, org, booking)

    # --- voiding ----------------------------------------------------------------------------------
    def cancel_intent(self, intent_id: str) -> dict:
        """Cancel a PaymentIntent so it can no longer be paid; if Stripe refuses because it just finished
        (succeeded, or already canceled), the intent as it is now."""
        try:
            with provider_errors():
                return self.client.v1.payment_intents.cancel(
                    intent_id, params={"cancellation_reason": "abandoned"}).to_dict()
        except stripe.InvalidRequestError:
            return self.retrieve_intent(intent_id)

    def void(self, org: Org, booking: Booking, payment_ref: str | None) -> PaymentCheck:
        """Cancel the booking's open PaymentIntent (only one of this org and booking), then report it as
        `verify` does: paid if it had already succeeded, which Stripe cannot cancel (the core refunds it)."""
        intent, unpaid = self.booking_intent(booking, payment_ref)
        if unpaid:
            return unpaid
        if intent.get("status") in CANCELABLE and intent_belongs_to(intent, org, booking.id):
            intent = self.cancel_intent(intent["id"])
        return check_intent(intent, org, booking)

    # --- refunds ----------------------------------------------------------------------------------
    def refund(self, org: Org, booking: Booking, payment_ref: str | None, amount: int) -> RefundResult:
        """Refund `amount` minor units of the booking's PaymentIntent through Stripe's Refund API."""
        reference = payment_ref or booking.payment_ref
        intent = self.intent_for_reference(reference) if valid_reference(reference) else None
        if intent is None:
            raise ApiError("No Stripe payment is recorded for this booking, so nothing can be refunded.",
                           status=409, type="refund_rejected", gateway=NAME)
        # Same booking state and amount -> same key, so a retried request never refunds twice.
        key = f"{booking.id}:refund:{booking.refunded_amount}:{amount}"
        try:
            with provider_errors():
                refund = self.client.v1.refunds.create(
                    params={"payment_intent": intent["id"], "amount": amount,
                            "metadata": {"org": org.id, "bookingId": booking.id}},
                    options={"idempotency_key": key})
        except (stripe.InvalidRequestError, stripe.CardError, stripe.IdempotencyError) as exc:
            raise refund_rejected(NAME, exc.user_message or str(exc), getattr(exc, "code", None)) from exc
        if refund.status in ("failed", "canceled"):
            raise refund_rejected(NAME, f"the refund {refund.id} is {refund.status}", refund.status)
        pending = "" if refund.status == "succeeded" else f"Stripe refund is {refund.status}."
        return RefundResult(succeeded=True, reference=refund.id, amount=refund.amount, reason=pending,
                            data={"status": refund.status, "paymentIntent": intent["id"]})


def intent_belongs_to(intent: dict, org: Org, booking_id: str | None = None, charge_id: str | None = None) -> bool:
    """True if the intent's metadata names this org (and, when given, this booking and as its charge
    `charge_id`: None means the booking's own payment, never an extra charge's)."""
    metadata = intent.get("metadata") or {}
    return metadata.get("org") == org.id and (booking_id is None or (
        metadata.get("bookingId") == booking_id and metadata.get("chargeId") == charge_id))


def check_intent(intent: dict, org: Org, booking: Booking, charge: ExtraCharge | None = None) -> PaymentCheck:
    """Compare a re-fetched PaymentIntent with the booking (or with an extra `charge` on it): ownership first,
    then status, amount, currency."""
    status = intent.get("status")
    base = {"reference": intent["id"], "amount": intent.get("amount"),
            "currency": str(intent.get("currency") or "").upper()}
    owed = charge if charge is not None else booking
    if not intent_belongs_to(intent, org, booking.id, charge.id if charge is not None else None):
        return PaymentCheck(paid=False, reason="This Stripe payment belongs to another booking.", **base)
    if status != "succeeded":
        error = intent.get("last_payment_error") or {}
        detail = f" ({error.get('code')}: {error.get('message')})" if error else ""
        if status == "canceled":  # voided when the hold ran out or the booking was cancelled: it can't be paid
            detail += "; it can no longer be paid, so start a new purchase"
        return PaymentCheck(paid=False, reason=f"The Stripe payment is {status}{detail}.",
                            data={"status": status, "declineCode": error.get("code")}, **base)
    if base["amount"] != owed.amount or base["currency"] != owed.currency.upper():
        return PaymentCheck(paid=False, reason=f"Stripe took {base['amount']} {base['currency']} but it "
                            f"costs {owed.amount} {owed.currency}.", **base)
    return PaymentCheck(paid=True, data={"status": status, "charge": intent.get("latest_charge")}, **base)
