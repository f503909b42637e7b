"""Redirect payments: send a buyer to the provider's page, then finish when the provider sends them back.

The way back carries no `orgid` header or token, so its URL names the tenant, booking and return address in a
signed, expiring token; never trusts the callback's parameters about money (the provider re-checks, then the
core confirms through confirm-order's one path).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from core.config import current_config
from core.errors import ApiError, BadRequest
from core.kits.links import read_signed_link_token, signed_link_token
from core.models import Booking, Org
from core.payments import Step
from core.payments.kit import payable_booking
from core.services import booking as bookings
from core.services import gateways
from core.tenancy import get_scoped, load_org

CALLBACK_PATH = "/payments/return/"
CALLBACK_MAX_AGE_SECONDS = 2 * 24 * 3600   # longer than any hold (at most 24 h)
_PURPOSE = "payment-callback"


@dataclass
class Return:
    """Where to send the buyer after the provider's callback, and what to tell the page there."""

    url: str
    booking_id: str
    status: str
    reason: str = ""

    def location(self) -> str:
        """`url` with `bookingId`, `status` (and `reason`) added to its query string."""
        query = {"bookingId": self.booking_id, "status": self.status, **({"reason": self.reason} if self.reason
                                                                         else {})}
        return self.url + ("&" if "?" in self.url else "?") + urlencode(query)


def callback_url(org: Org, booking: Booking, return_url: str) -> str:
    """The core's signed URL the provider sends the buyer (or posts) back to for this booking."""
    token = signed_link_token(_PURPOSE, {"o": org.id, "b": booking.id, "r": return_url})
    return current_config().public_url.rstrip("/") + CALLBACK_PATH + token


def start(org: Org, booking_id: str, return_url: str) -> dict:
    """Ask the pending booking's provider for its payment page (422 `payment_step_unsupported` if it has none);
    the buyer comes back through `callback_url`, then lands on `return_url`."""
    booking = payable_booking(org, booking_id)
    gateway = gateways.gateway_for(org, booking.gateway)
    gateway.provider.require(Step.REDIRECT)
    answer = gateway.provider.start_redirect(org, booking, gateway.settings, return_url=return_url,
                                             callback_url=callback_url(org, booking, return_url))
    return {"bookingId": booking.id, "paymentGateway": booking.gateway, "url": answer.get("url"),
            "form": answer.get("form")}


def finish(token: str, params: dict) -> Return:
    """The provider's callback: check the token (400 `invalid_callback`), let the provider read its parameters,
    and confirm a paid booking once (confirm-order's path re-verifies). Refusals become the return's status."""
    claims = read_signed_link_token(_PURPOSE, token, CALLBACK_MAX_AGE_SECONDS) or {}
    try:
        org = load_org(claims["o"])
        booking = get_scoped(Booking, org, claims["b"], "booking") if org else None
    except (KeyError, TypeError, ApiError) as exc:
        raise BadRequest("This payment return link is invalid or expired.", type="invalid_callback") from exc
    if booking is None:
        raise BadRequest("This payment return link is invalid or expired.", type="invalid_callback")
    back = Return(claims["r"], booking.id, booking.status)
    try:
        gateway = gateways.gateway_for(org, booking.gateway)
        gateway.provider.require(Step.REDIRECT)
        check = gateway.provider.handle_callback(org, booking, gateway.settings, params)
        if not check.paid:
            return Return(back.url, booking.id, "pending", check.reason)
        back.status = bookings.confirm(org, booking.id, payment_ref=check.reference).booking.status
    except ApiError as exc:
        return Return(back.url, booking.id, "failed", exc.type)
    return back
