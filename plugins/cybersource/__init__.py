"""CyberSource Secure Acceptance Hosted Checkout: signed payment forms, verified callbacks, REST refunds, with
each tenant's own profile and credentials.

Public for other plugins (a club cart): `hosted_checkout`, `verify_callback`, `callback_org`, and
`PaymentGroup` (several bookings paid by one payment). Never believes a
callback its tenant's secret key did not sign; never exposes a secret.
"""

from __future__ import annotations

from core.hookspecs import hookimpl
from core.payments import PaymentProvider
from plugins.cybersource.provider import PaymentGroup, callback_org, hosted_checkout, verify_callback

__all__ = ["PaymentGroup", "callback_org", "hosted_checkout", "verify_callback"]


@hookimpl
def payment_gateways() -> list[PaymentProvider]:
    """This plugin provides the `cybersource` payment provider (its Merchant POST URL is the core's
    /webhooks/cybersource/<orgid>)."""
    from plugins.cybersource.provider import PROVIDER

    return [PROVIDER]
