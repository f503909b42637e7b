"""The hosted payment page a paid cart checkout sends the member to, and the page's callback: the `cybersource`
gateway plugin's public functions, called by name (that plugin owns the protocol and its signatures).

Nothing here signs, verifies or confirms by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from core.models import Booking, Org
from core.payments import PaymentCheck

if TYPE_CHECKING:
    from plugins.club_cart.models import CheckoutGroup
    from plugins.cybersource import PaymentGroup

__all__ = ["GATEWAY", "PaymentCheck", "callback_org", "group_of", "hosted_form", "verify"]

GATEWAY = "cybersource"
"""The payment gateway a cart checkout pays through (004's CyberSource Secure Acceptance)."""


def hosted_form(org: Org, target: Booking | PaymentGroup) -> tuple[str, dict[str, str]]:
    """The hosted payment page's URL and the signed form fields the club app posts to it for `target`: one
    booking, or a payment group of several (one payment of their sum)."""
    from plugins.cybersource import hosted_checkout

    return hosted_checkout(org, target)


def group_of(group: CheckoutGroup) -> PaymentGroup:
    """The gateway's payment group for a checkout group: its id as the payment's reference, its paid bookings."""
    from plugins.cybersource import PaymentGroup

    return PaymentGroup(reference=group.id, booking_ids=tuple(group.paid_booking_ids))


def verify(org: Org, form: dict[str, str],
           find_group: Callable[[Org, str], PaymentGroup | None] | None = None) -> PaymentCheck:
    """The gateway's verdict on a callback form (its signature checked; 4xx for a forged one); `find_group`
    looks up a payment group when the form's reference names no booking."""
    from plugins.cybersource import verify_callback

    return verify_callback(org, form, find_group)


def callback_org(form: dict[str, str], find_group_org: Callable[[str], Org | None] | None = None) -> Org | None:
    """The tenant whose booking (or, with `find_group_org`, payment group) a callback names (nothing is
    believed until `verify` checked it)."""
    from plugins.cybersource import callback_org as named

    return named(form, find_group_org)
