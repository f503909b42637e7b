"""The payment kit: the public helpers every gateway plugin uses (settings checks, timeouts, provider errors,
payable bookings, webhook answers and records, confirming a booking a webhook reported paid).

Never talks to a provider and never logs or returns a tenant's secret settings.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from marshmallow import fields

from core.api_schema import Schema
from core.db import write_transaction
from core.errors import ApiError, Conflict, GatewayUnavailable
from core.models import Booking, Org
from core.payments.provider import PaymentProvider
from core.payments.values import PaymentCheck, RefundResult
from core.tenancy import get_scoped, scoped

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 10.0
REFERENCE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
MAX_RECORDED_EVENTS = 20


def require_settings(gateway: str, settings: dict, keys: Iterable[str]) -> None:
    """409 `gateway_not_configured` unless every key has a value (names only, never values, in the message)."""
    missing = [key for key in keys if not str(settings.get(key) or "").strip()]
    if missing:
        raise Conflict(f"The {gateway} gateway is enabled but not configured for this organisation "
                       f"(missing: {', '.join(missing)}).", type="gateway_not_configured", gateway=gateway)


def timeout_seconds(settings: dict) -> float:
    """The provider timeout from the tenant's `timeout` setting (seconds), 10 s by default, within 0.1-30 s."""
    try:
        value = float(settings.get("timeout") or DEFAULT_TIMEOUT_SECONDS)
    except (TypeError, ValueError):
        value = DEFAULT_TIMEOUT_SECONDS
    return min(max(value, 0.1), 30.0)


def unavailable(gateway: str, detail: str) -> GatewayUnavailable:
    """502 `gateway_unavailable`: the provider timed out or failed; nothing changed on our side."""
    return GatewayUnavailable(f"{gateway} did not answer properly ({detail}); nothing was charged or changed, "
                              "try again.", gateway=gateway)


def refund_rejected(gateway: str, provider_message: str, code: str | None = None) -> ApiError:
    """409 `refund_rejected` carrying the provider's reason; the caller leaves tickets untouched."""
    return ApiError(f"{gateway} refused the refund: {provider_message}", status=409, type="refund_rejected",
                    gateway=gateway, providerCode=code)


def valid_reference(reference: str | None) -> bool:
    """True for a provider id we are willing to put in a URL (letters, digits, _ and -)."""
    return isinstance(reference, str) and bool(REFERENCE_PATTERN.match(reference))


def payable_booking(org: Org, booking_id) -> Booking:
    """A pending booking of `org` that costs money (404 / 409 `booking_not_pending` / 409 `nothing_to_pay`)."""
    booking = get_scoped(Booking, org, booking_id, "booking")
    if booking.status != "pending":
        raise Conflict(f"Booking {booking.id} is {booking.status}, not pending; nothing to pay.",
                       type="booking_not_pending")
    if booking.amount <= 0:
        raise Conflict("This booking costs nothing; confirm it without a payment.", type="nothing_to_pay")
    return booking


def find_booking(org: Org, booking_id) -> Booking | None:
    """The tenant's booking with this id, or None (ids from provider metadata are not trusted blindly)."""
    if not isinstance(booking_id, str) or not valid_reference(booking_id):
        return None
    return scoped(Booking, org).where(Booking.id == booking_id).first()


class WebhookAck(Schema):
    """The answer to a provider's webhook delivery (200 means: do not send it again)."""

    received = fields.Boolean()
    handled = fields.Boolean(metadata={"description": "False for event types this plugin ignores"})
    type = fields.String(metadata={"description": "the provider's event type"})
    bookingId = fields.String()
    status = fields.String(metadata={"description": "the booking's status after a confirm"})
    recorded = fields.String(metadata={"description": "what was noted on the booking"})
    refused = fields.String(metadata={"description": "why the core did not confirm (e.g. hold_expired)"})
    ignored = fields.String(metadata={"description": "why nothing was done"})


def record_gateway_event(org: Org, booking_id: str, gateway: str, entry: dict) -> bool:
    """Append `entry` to the booking's `payment_data["<gateway>_events"]` (last 20 kept); False if no booking."""
    with write_transaction():
        booking = find_booking(org, booking_id)
        if booking is None:
            return False
        data = dict(booking.payment_data or {})
        events = list(data.get(f"{gateway}_events") or [])[-(MAX_RECORDED_EVENTS - 1):]
        events.append(entry)
        data[f"{gateway}_events"] = events
        Booking.update(payment_data=data).where((Booking.id == booking.id) & (Booking.org == org.id)).execute()
    return True


def note_webhook_event(org: Org, booking_id: str | None, gateway: str, entry: dict, *, belongs: bool = True) -> dict:
    """Record a verified webhook's `entry` (its `event` names it) on the tenant's booking and answer the
    `WebhookAck` fields: recorded, or ignored when `belongs` is False or the org has no such booking."""
    if not belongs or not record_gateway_event(org, booking_id, gateway, entry):
        return {"ignored": f"The {gateway} object does not belong to a booking of this organisation."}
    return {"bookingId": booking_id, "recorded": entry["event"]}


def confirm_paid_booking(org: Org, booking: Booking, payment_ref: str, gateway: str) -> dict:
    """Confirm `booking` after a verified webhook through the core's confirm-order path (which re-verifies).

    Whichever of webhook and confirm-order comes first issues the tickets; the other gets the same booking.
    A provider outage propagates (502, so the provider retries the delivery); a refusal is reported.
    """
    from core.services import booking as booking_service  # the purchase engine owns confirmation

    try:
        result = booking_service.confirm(org, booking.id, payment_ref=payment_ref, gateway=gateway)
    except GatewayUnavailable:
        raise
    except ApiError as exc:
        log.info("webhook confirm of booking %s refused: %s", booking.id, exc.type)
        return {"bookingId": booking.id, "refused": exc.type}
    return {"bookingId": booking.id, "status": result.booking.status}


def confirm_paid_charge(org: Org, booking: Booking, charge_id: str, payment_ref: str, gateway: str) -> dict:
    """After a verified webhook about an extra payment (`Step.EXTRA_PAYMENT`, its metadata naming
    `charge_id`): verify it again (for the charge's own booking, which the provider checks against the payment's
    metadata) and apply what it paid for (a ticket holder edit) once. A replayed delivery
    applies nothing twice; a provider outage propagates (502, so the provider retries); a refusal is reported."""
    from core.services import ticket_edits  # the edit service owns what a change fee pays for

    try:
        outcome = ticket_edits.confirm_charge(org, charge_id, payment_ref)
    except GatewayUnavailable:
        raise
    except ApiError as exc:
        log.info("webhook confirm of charge %s on booking %s refused: %s", charge_id, booking.id, exc.type)
        return {"bookingId": booking.id, "refused": exc.type}
    return {"bookingId": booking.id, "recorded": f"ticket_edit_{outcome.edit.status}"}


def invalid_signature(gateway: str, detail: str) -> ApiError:
    """400 `invalid_signature`: a webhook delivery the provider did not vouch for; nothing was changed."""
    return ApiError(f"The {gateway} webhook delivery was refused: {detail}.", status=400, type="invalid_signature",
                    gateway=gateway)


class AccountProvider(PaymentProvider):
    """A provider whose work is done by one tenant's account object, `account(settings)`, which has
    `verify(org, booking, payment_ref)`, `refund(org, booking, payment_ref, amount)` and
    `void(org, booking, payment_ref)`. Still declare in `capabilities` which of them the provider offers."""

    def account(self, settings: dict):
        """The tenant's account at the provider (an API client built from `settings`)."""
        raise NotImplementedError

    def verify_payment(self, org: Org, booking: Booking, payment_ref: str | None, settings: dict) -> PaymentCheck:
        """The account's verdict on the booking's payment."""
        return self.account(settings).verify(org, booking, payment_ref)

    def refund(self, org: Org, booking: Booking, payment_ref: str | None, amount: int,
               settings: dict) -> RefundResult:
        """The account pays `amount` back."""
        return self.account(settings).refund(org, booking, payment_ref, amount)

    def void_payment(self, org: Org, booking: Booking, payment_ref: str | None, settings: dict) -> PaymentCheck:
        """The account voids the open payment and reports it."""
        return self.account(settings).void(org, booking, payment_ref)
