"""Small helpers shared by the card/wallet gateway plugins (stripe, paypal): settings, bookings, webhooks.

Never talks to a provider and never logs or returns a tenant's secret settings.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from marshmallow import Schema, fields

from core.api.blueprint import Blueprint
from core.db import write_transaction
from core.errors import ApiError, Conflict, GatewayUnavailable, NotFound
from core.models import Booking, Org
from core.plugins import get_host
from core.tenancy import get_scoped, load_org, scoped, tenant_exempt

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


def webhook_blueprint(gateway: str, import_name: str) -> Blueprint:
    """A tenant-exempt blueprint for `/webhooks/<gateway>/<orgid>` (the org comes from the path)."""
    return tenant_exempt(Blueprint(f"{gateway}_webhooks", import_name,
                                   description=f"{gateway} webhooks (signed; org in the path)"))


def webhook_org(org_id: str, gateway: str) -> Org:
    """The active org named in a webhook path that enabled `gateway`, else 404."""
    org = load_org(org_id) if isinstance(org_id, str) and len(org_id) <= 64 else None
    if org is None:
        raise NotFound(f"No organisation with id {org_id!r}.", type="unknown_org")
    if not get_host().is_enabled(org.id, gateway):
        raise NotFound(f"The {gateway!r} plugin is not enabled for this organisation.", type="plugin_not_enabled")
    return org


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
