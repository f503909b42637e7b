"""The hosted payment page a paid cart checkout sends the member to, and the page's callback: the `cybersource`
gateway plugin's public functions, called by name (that plugin owns the protocol and its signatures).

Nothing here signs, verifies or confirms by itself.
"""

from __future__ import annotations

from core.models import Booking, Org
from core.payments import PaymentCheck

GATEWAY = "cybersource"
"""The payment gateway a cart checkout pays through (004's CyberSource Secure Acceptance)."""


def hosted_form(org: Org, booking: Booking) -> tuple[str, dict[str, str]]:
    """The hosted payment page's URL and the signed form fields the club app posts to it for `booking`."""
    from plugins.cybersource import hosted_checkout

    return hosted_checkout(org, booking)


def verify(org: Org, form: dict[str, str]) -> PaymentCheck:
    """The gateway's verdict on a callback form (its signature checked; 4xx for a forged one)."""
    from plugins.cybersource import verify_callback

    return verify_callback(org, form)


def callback_org(form: dict[str, str]) -> Org | None:
    """The tenant whose booking a callback names (nothing is believed until `verify` checked it)."""
    from plugins.cybersource import callback_org as named

    return named(form)
