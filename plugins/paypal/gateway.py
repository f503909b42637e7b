"""PayPal calls for one tenant (Orders v2 through paypal-server-sdk): create, capture, verify, void, refund, webhooks.

Uses only the tenant's own credentials; never logs or returns them, never reads a `.env` file
(`Configuration.from_environment` is not used), and never trusts an amount it did not read back from PayPal.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

import requests
from apimatic_core.exceptions.auth_validation_exception import AuthValidationException
from paypalserversdk.configuration import Configuration, Environment, Server
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.models.amount_with_breakdown import AmountWithBreakdown
from paypalserversdk.models.checkout_payment_intent import CheckoutPaymentIntent
from paypalserversdk.models.money import Money
from paypalserversdk.models.order_request import OrderRequest
from paypalserversdk.models.payment_source import PaymentSource
from paypalserversdk.models.paypal_experience_user_action import PaypalExperienceUserAction
from paypalserversdk.models.paypal_wallet import PaypalWallet
from paypalserversdk.models.paypal_wallet_experience_context import PaypalWalletExperienceContext
from paypalserversdk.models.purchase_unit_request import PurchaseUnitRequest
from paypalserversdk.models.refund_request import RefundRequest
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

from core.errors import ApiError
from core.models import Booking, Org
from core.money import to_major, to_minor
from core.payments import ExtraCharge, PaymentCheck, RefundResult
from core.payments.kit import (
    refund_rejected,
    require_settings,
    timeout_seconds,
    unavailable,
    valid_reference,
)

log = logging.getLogger(__name__)

NAME = "paypal"
REQUIRED_SETTINGS = ("client_id", "client_secret")
WEBHOOK_HEADERS = {
    "auth_algo": "PAYPAL-AUTH-ALGO",
    "cert_url": "PAYPAL-CERT-URL",
    "transmission_id": "PAYPAL-TRANSMISSION-ID",
    "transmission_sig": "PAYPAL-TRANSMISSION-SIG",
    "transmission_time": "PAYPAL-TRANSMISSION-TIME",
}
_NETWORK_ERRORS = (requests.exceptions.RequestException, ConnectionError, TimeoutError)


class TenantConfiguration(Configuration):
    """The SDK's configuration with an optional base URL (a sandbox proxy, or a loopback fake in tests)."""

    def __init__(self, base_url: str | None = None, **kwargs):
        self._base_url = (base_url or "").rstrip("/") or None
        super().__init__(**kwargs)

    def get_base_uri(self, server=Server.DEFAULT) -> str:
        """The tenant's `api_base` if set, else PayPal's URL for the environment."""
        return self._base_url or super().get_base_uri(server)


_clients: dict[str, PaypalServersdkClient] = {}
_clients_lock = threading.Lock()


def _client_for(settings: dict) -> PaypalServersdkClient:
    """A cached SDK client per credential set (it keeps its OAuth token until it expires)."""
    environment = Environment.PRODUCTION if settings.get("environment") in ("live", "production") \
        else Environment.SANDBOX
    parts = (settings["client_id"], settings["client_secret"], settings.get("api_base") or "",
             environment.name, str(timeout_seconds(settings)))
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            if len(_clients) > 256:
                _clients.clear()
            config = TenantConfiguration(
                base_url=settings.get("api_base"), timeout=timeout_seconds(settings), max_retries=0,
                environment=environment,
                client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                    o_auth_client_id=settings["client_id"], o_auth_client_secret=settings["client_secret"]))
            client = _clients[key] = PaypalServersdkClient(config=config)
        return client


def error_issue(exc: ApiException) -> tuple[str, str]:
    """(issue code, description) from a PayPal error body, e.g. ("INSTRUMENT_DECLINED", "...")."""
    try:
        body = json.loads(exc.response.text or "{}")
    except (ValueError, AttributeError):
        body = {}
    details = body.get("details") or [{}]
    issue = details[0].get("issue") or body.get("name") or "UNKNOWN"
    return issue, details[0].get("description") or body.get("message") or str(exc.reason)


@contextlib.contextmanager
def provider_errors() -> Iterator[None]:
    """Turn PayPal timeouts, network errors, 5xx and refused credentials into 502 `gateway_unavailable`."""
    try:
        yield
    except _NETWORK_ERRORS as exc:
        log.warning("paypal unavailable: %s", type(exc).__name__)
        raise unavailable(NAME, type(exc).__name__) from exc
    except AuthValidationException as exc:
        raise unavailable(NAME, "the organisation's PayPal credentials were refused") from exc
    except ApiException as exc:
        if is_outage(exc):
            raise unavailable(NAME, f"HTTP {exc.response_code}") from exc
        raise


def is_outage(exc: ApiException) -> bool:
    """True for answers that say nothing about the payment itself: 5xx, throttling, refused credentials."""
    return exc.response_code >= 500 or exc.response_code in (401, 403, 429)


def _body(response) -> dict:
    """The JSON body of an SDK response as a plain dict."""
    return json.loads(response.text or "{}")


def _amount(amount: dict | None) -> tuple[Decimal | None, str]:
    try:
        return Decimal(str((amount or {}).get("value"))), str((amount or {}).get("currency_code") or "")
    except InvalidOperation:
        return None, ""


class PayPalGateway:
    """One tenant's PayPal account."""

    def __init__(self, settings: dict):
        require_settings(NAME, settings, REQUIRED_SETTINGS)
        self.settings = settings
        self.client = _client_for(settings)

    # --- orders -----------------------------------------------------------------------------------
    def create_order(self, org: Org, booking: Booking) -> dict:
        """An order (intent CAPTURE) for the booking's total as a currency-correct decimal string."""
        body = OrderRequest(intent=CheckoutPaymentIntent.CAPTURE, purchase_units=[_booking_unit(org, booking)])
        return self._create(body, f"{booking.id}:order")

    def create_redirect_order(self, org: Org, booking: Booking, return_url: str, cancel_url: str) -> dict:
        """The booking's order for a buyer sent to PayPal's page (no JavaScript): like `create_order`, with the
        way back PayPal sends the buyer to after approving (`return_url`, with `token` = the order id) or
        cancelling; one per booking (keyed by the booking id)."""
        context = PaypalWalletExperienceContext(return_url=return_url, cancel_url=cancel_url,
                                                user_action=PaypalExperienceUserAction.PAY_NOW,
                                                shipping_preference="NO_SHIPPING")
        body = OrderRequest(intent=CheckoutPaymentIntent.CAPTURE, purchase_units=[_booking_unit(org, booking)],
                            payment_source=PaymentSource(paypal=PaypalWallet(experience_context=context)))
        return self._create(body, f"{booking.id}:redirect")

    def create_charge_order(self, org: Org, booking: Booking, charge: ExtraCharge) -> dict:
        """An order (intent CAPTURE) of its own for an extra charge on a paid booking (a change fee): the
        charge's amount and currency, `custom_id` naming the charge (never the booking, so it never counts as
        the booking's own payment), `invoice_id` naming org and charge (within PayPal's 127 characters) and
        `reference_id` the booking; keyed by the charge id."""
        unit = PurchaseUnitRequest(
            amount=AmountWithBreakdown(currency_code=charge.currency,
                                       value=str(to_major(charge.amount, charge.currency))),
            reference_id=booking.id, custom_id=charge_custom_id(charge.id),
            invoice_id=charge_invoice_id(org, charge.id), description=charge.description[:127])
        return self._create(OrderRequest(intent=CheckoutPaymentIntent.CAPTURE, purchase_units=[unit]),
                            f"{booking.id}:charge:{charge.id}")

    def _create(self, body: OrderRequest, request_id: str) -> dict:
        with provider_errors():
            try:
                response = self.client.orders.create_order({
                    "body": body, "paypal_request_id": request_id, "prefer": "return=representation"})
            except ApiException as exc:
                if is_outage(exc):
                    raise
                issue, description = error_issue(exc)
                raise ApiError(f"PayPal refused to create the order: {description}", status=422,
                               type="payment_rejected", gateway=NAME, providerCode=issue) from exc
        return _body(response)

    def get_order(self, order_id: str) -> dict | None:
        """Re-fetch an order from PayPal; None if PayPal does not know it."""
        with provider_errors():
            try:
                return _body(self.client.orders.get_order({"id": order_id}))
            except ApiException as exc:
                if is_outage(exc) or exc.response_code not in (400, 404, 422):
                    raise
                return None

    def capture(self, order_id: str) -> tuple[dict | None, str, str]:
        """Capture an approved order: (order, "", "") or (None, issue, description) if PayPal refuses.

        A second capture answers ORDER_ALREADY_CAPTURED; then the order is fetched instead.
        """
        with provider_errors():
            try:
                return _body(self.client.orders.capture_order(
                    {"id": order_id, "prefer": "return=representation"})), "", ""
            except ApiException as exc:
                if is_outage(exc):
                    raise
                issue, description = error_issue(exc)
                if issue == "ORDER_ALREADY_CAPTURED":
                    return self.get_order(order_id), "", ""
                return None, issue, description

    # --- verification -----------------------------------------------------------------------------
    def booking_order(self, org: Org, booking: Booking,
                      payment_ref: str | None) -> tuple[dict | None, PaymentCheck | None]:
        """(the booking's order as PayPal has it now, None) or (None, an unpaid check saying why not)."""
        reference = payment_ref or booking.payment_ref
        if not valid_reference(reference):
            return None, PaymentCheck(paid=False, reason="No PayPal order id was given for this booking.")
        order = self.get_order(reference)
        if order is None:
            return None, PaymentCheck(paid=False, reason=f"PayPal knows no order {reference!r} for this account.")
        if not order_belongs_to(order, org, booking.id):
            return None, PaymentCheck(paid=False, reason="This PayPal order belongs to another booking.",
                                      reference=reference)
        return order, None

    def verify(self, org: Org, booking: Booking, payment_ref: str | None) -> PaymentCheck:
        """Capture the booking's approved order if needed, then check the captured amount and ids."""
        order, unpaid = self.booking_order(org, booking, payment_ref)
        if unpaid:
            return unpaid
        return self._captured_check(order, org, booking)

    def verify_charge(self, org: Org, booking: Booking, charge: ExtraCharge, payment_ref: str | None) -> PaymentCheck:
        """Capture the charge's approved order if needed, then check it: paid only if the order `payment_ref`
        of this org, booking and charge was captured for the charge's amount and currency."""
        if not valid_reference(payment_ref):
            return PaymentCheck(paid=False, reason="No PayPal order was started for this charge.")
        order = self.get_order(payment_ref)
        if order is None:
            return PaymentCheck(paid=False, reason=f"PayPal knows no order {payment_ref!r} for this account.")
        if not charge_order_belongs_to(order, org, booking.id, charge.id):
            return PaymentCheck(paid=False, reference=payment_ref,
                                reason="This PayPal order belongs to another booking or charge.")
        return self._captured_check(order, org, booking, charge)

    def _captured_check(self, order: dict, org: Org, booking: Booking,
                        charge: ExtraCharge | None = None) -> PaymentCheck:
        """Capture an order not captured yet (refused: unpaid, saying why), then `check_order` it."""
        if order.get("status") != "COMPLETED":
            reference = order["id"]
            order, issue, description = self.capture(reference)
            if order is None:
                return PaymentCheck(paid=False, reference=reference, reason=f"PayPal did not capture the "
                                    f"payment ({issue}: {description}).", data={"issue": issue})
        return check_order(order, org, booking, charge)

    def void(self, org: Org, booking: Booking, payment_ref: str | None) -> PaymentCheck:
        """Never captures: read the order and report it. Orders v2 has no void for an intent-CAPTURE order (the
        SDK's `payments.void_payment` is for authorizations); one that was not captured simply expires at
        PayPal, and only confirm-order captures. Paid only if it had already been captured (the core refunds)."""
        order, unpaid = self.booking_order(org, booking, payment_ref)
        return unpaid or check_order(order, org, booking)

    # --- refunds ----------------------------------------------------------------------------------
    def refund(self, org: Org, booking: Booking, payment_ref: str | None, amount: int) -> RefundResult:
        """Refund `amount` minor units of the order's capture; 409 `refund_rejected` if PayPal refuses."""
        reference = payment_ref or booking.payment_ref
        order = self.get_order(reference) if valid_reference(reference) else None
        capture = first_capture(order) if order and order_belongs_to(order, org, booking.id) else None
        if not capture:
            raise ApiError("No captured PayPal payment is recorded for this booking, so nothing can be refunded.",
                           status=409, type="refund_rejected", gateway=NAME)
        body = RefundRequest(amount=Money(currency_code=booking.currency,
                                          value=str(to_major(amount, booking.currency))),
                             custom_id=booking.id)
        key = f"{booking.id}:refund:{booking.refunded_amount}:{amount}"
        with provider_errors():
            try:
                response = self.client.payments.refund_captured_payment({
                    "capture_id": capture["id"], "body": body, "paypal_request_id": key,
                    "prefer": "return=representation"})
            except ApiException as exc:
                if is_outage(exc):
                    raise
                issue, description = error_issue(exc)
                raise refund_rejected(NAME, description, issue) from exc
        refund = _body(response)
        if refund.get("status") in ("FAILED", "CANCELLED"):
            raise refund_rejected(NAME, f"the refund {refund.get('id')} is {refund.get('status')}",
                                  refund.get("status"))
        return RefundResult(succeeded=True, reference=refund.get("id"), amount=amount,
                            reason="" if refund.get("status") == "COMPLETED" else "PayPal refund is pending.",
                            data={"status": refund.get("status"), "captureId": capture["id"]})

    def get_refund(self, refund_id: str) -> dict | None:
        """Re-fetch a refund from PayPal; None if unknown."""
        with provider_errors():
            try:
                return _body(self.client.payments.get_refund({"refund_id": refund_id}))
            except ApiException as exc:
                if is_outage(exc) or exc.response_code not in (400, 404):
                    raise
                return None

    # --- webhooks ---------------------------------------------------------------------------------
    def verify_webhook(self, headers, raw_body: bytes) -> bool:
        """Ask PayPal's verify-webhook-signature API whether this delivery is genuine for our webhook id.

        The SDK does not wrap this call: it is one plain HTTPS POST to the configured base URL with the
        SDK's OAuth token, and the event embedded byte for byte as received.
        """
        require_settings(NAME, self.settings, ("webhook_id",))
        values = {field: headers.get(header) for field, header in WEBHOOK_HEADERS.items()}
        if not all(values.values()):
            return False
        envelope = {**values, "webhook_id": self.settings["webhook_id"]}
        body = json.dumps(envelope)[:-1] + ', "webhook_event": ' + raw_body.decode("utf-8") + "}"
        with provider_errors():
            token = self.client.o_auth_authorization.request_token(
                {"authorization": self.client.oauth_2.build_basic_auth_header()}).body.access_token
            response = requests.post(self.client.config.get_base_uri() + "/v1/notifications/verify-webhook-"
                                     "signature", data=body.encode(), timeout=timeout_seconds(self.settings),
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
        if response.status_code >= 500:
            raise unavailable(NAME, f"HTTP {response.status_code}")
        if response.status_code != 200:
            return False
        return (response.json() or {}).get("verification_status") == "SUCCESS"


def _booking_unit(org: Org, booking: Booking) -> PurchaseUnitRequest:
    """The purchase unit of a booking's order: its total, naming the booking (custom_id) and org (invoice_id)."""
    return PurchaseUnitRequest(
        amount=AmountWithBreakdown(currency_code=booking.currency,
                                   value=str(to_major(booking.amount, booking.currency))),
        reference_id=booking.id, custom_id=booking.id, invoice_id=f"{org.id}:{booking.id}",
        description=f"Tickets, booking {booking.id[:8]}")


def first_capture(order: dict | None) -> dict | None:
    """The first capture of an order's first purchase unit, if any."""
    units = (order or {}).get("purchase_units") or [{}]
    captures = ((units[0].get("payments") or {}).get("captures")) or []
    return captures[0] if captures else None


def order_belongs_to(order: dict, org: Org, booking_id: str) -> bool:
    """True if the order's first purchase unit carries this booking (custom_id) and org (invoice_id)."""
    units = order.get("purchase_units") or [{}]
    unit = units[0]
    return unit.get("custom_id") == booking_id and unit.get("invoice_id") in (None, f"{org.id}:{booking_id}")


def charge_custom_id(charge_id: str) -> str:
    """The `custom_id` of an extra charge's order (and its capture): names the charge, never a booking."""
    return f"charge:{charge_id}"


def charge_invoice_id(org: Org, charge_id: str) -> str:
    """The `invoice_id` of an extra charge's order: org and charge (its `reference_id` is the booking)."""
    return f"{org.id}:{charge_id}"


def charge_of(order: dict | None, org: Org) -> tuple[str, str] | None:
    """(booking id, charge id) when `order` is an extra charge's order of this org, else None."""
    unit = ((order or {}).get("purchase_units") or [{}])[0]
    custom_id, invoice_id = str(unit.get("custom_id") or ""), str(unit.get("invoice_id") or "")
    charge_id = custom_id.removeprefix(charge_custom_id(""))
    if charge_id == custom_id or not charge_id or invoice_id != charge_invoice_id(org, charge_id):
        return None
    return str(unit.get("reference_id") or ""), charge_id


def charge_order_belongs_to(order: dict, org: Org, booking_id: str, charge_id: str) -> bool:
    """True if the order is the extra charge `charge_id`'s of this org and booking (custom_id, invoice_id and
    reference_id)."""
    unit = (order.get("purchase_units") or [{}])[0]
    return charge_of(order, org) == (booking_id, charge_id) and unit.get("custom_id") == charge_custom_id(charge_id)


def check_order(order: dict, org: Org, booking: Booking, charge: ExtraCharge | None = None) -> PaymentCheck:
    """Paid only if the order is COMPLETED with a COMPLETED capture of exactly the booking's amount (or, for
    an extra `charge` on it, the charge's amount and currency, its capture naming the charge)."""
    capture = first_capture(order)
    reference = order.get("id")
    if order.get("status") != "COMPLETED" or not capture or capture.get("status") != "COMPLETED":
        state = capture.get("status") if capture else order.get("status")
        return PaymentCheck(paid=False, reference=reference, reason=f"The PayPal payment is {state}.")
    owed = charge if charge is not None else booking
    custom_ids = (None, charge_custom_id(charge.id)) if charge is not None else (None, booking.id)
    value, currency = _amount(capture.get("amount"))
    expected = to_major(owed.amount, owed.currency)
    try:
        minor = to_minor(value, currency) if value is not None else None
    except (ValueError, KeyError):
        minor = None
    if value != expected or currency != owed.currency or capture.get("custom_id") not in custom_ids:
        what = "the change fee is" if charge is not None else "the booking costs"
        return PaymentCheck(paid=False, reference=reference, amount=minor, currency=currency,
                            reason=f"PayPal captured {value} {currency} but {what} {expected} {owed.currency}.")
    return PaymentCheck(paid=True, reference=reference, amount=owed.amount, currency=currency,
                        data={"captureId": capture.get("id")})
