"""E-mail verification of customer accounts: the link sent on registration and on request, following it, the
reminder an unverified account carries, and the tenant's rule that only verified accounts may buy.

Never reads a row on the purchase path (the tenant and the buyer's account are already loaded); never marks an
address verified that the customer did not receive a link at.
"""

from __future__ import annotations

from core.db import write_transaction
from core.errors import ApiError, Conflict, Unprocessable
from core.models import AccountLink, Customer, Org, utcnow
from core.plugins import hooks_for
from core.services import account_links
from core.tenancy import get_scoped

VERIFY_HOOK = "customer_email_verification"
REQUIRE_SETTING = "require_email_verification"  # in Org.settings: only verified accounts may buy
RESEND_ROUTE = "POST /client/auth/verify-email/resend"


class EmailUnverified(ApiError):
    """403 `email_unverified`: the tenant sells to verified accounts only and this one is not verified."""

    status, type = 403, "email_unverified"


def email_unavailable(field: str) -> Unprocessable:
    """422 `email_unavailable`: no enabled plugin of the tenant sends account e-mails (enable notifications)."""
    return Unprocessable("No enabled plugin of this organisation sends account e-mails (the organiser enables "
                         "notifications), so no link can be sent.", type="email_unavailable",
                         errors={field: ["no e-mail plugin enabled"]})


def is_verified(customer: Customer) -> bool:
    """True once the customer followed a link sent to their account's current e-mail."""
    return customer.email_verified_at is not None


def reminder(customer: Customer | None) -> str | None:
    """What an unverified account is reminded of (None for a verified one, or no account)."""
    if customer is None or is_verified(customer):
        return None
    return (f"Please verify your e-mail address {customer.email}: follow the link we sent you, or ask for a new "
            f"one ({RESEND_ROUTE}).")


def verification_required(org: Org) -> bool:
    """The tenant sells to verified accounts only (`requireEmailVerification` in its settings)."""
    return bool((org.settings or {}).get(REQUIRE_SETTING))


def sends_links(org: Org) -> bool:
    """True when an enabled plugin of the tenant sends the verification e-mail."""
    return hooks_for(org).consumes(VERIFY_HOOK)


def check_buyer(org: Org, customer: Customer | None) -> None:
    """403 `email_unverified` when the tenant requires verification and the buying account is not verified. A
    guest (no account) and a verified account pass. Reads nothing: the tenant and the account are loaded."""
    if customer is None or is_verified(customer) or not verification_required(org):
        return
    raise EmailUnverified(f"Verify your e-mail address {customer.email} before buying: follow the link we sent "
                          f"you, or ask for a new one ({RESEND_ROUTE}).")


def _send_link(org: Org, customer: Customer) -> AccountLink:
    """Issue a verification link for the account's address and record its e-mail (inside a write transaction)."""
    token, link = account_links.issue_link(org, customer.id, account_links.VERIFY_EMAIL, customer.email)
    hooks_for(org).notify(VERIFY_HOOK, org=org, customer_id=customer.id, email=customer.email, name=customer.name,
                          link_token=token, expires_at=link.expires_at)
    return link


def start(org: Org, customer: Customer) -> None:
    """On registration, inside its transaction: send the verification link when a plugin sends e-mails (without
    one, the account stays unverified until the customer asks for a link once one does)."""
    if sends_links(org):
        _send_link(org, customer)


def resend(org: Org, customer_id: str) -> AccountLink:
    """A new verification link for the customer's address (the older one stops working): where it went and when
    it expires.
    409 `email_already_verified`, 422 `email_unavailable` without an e-mail plugin."""
    customer = get_scoped(Customer, org, customer_id, "customer")
    if is_verified(customer):
        raise Conflict(f"{customer.email} is already verified.", type="email_already_verified")
    if not sends_links(org):
        raise email_unavailable("email")
    with write_transaction():
        return _send_link(org, customer)


def verify(org: Org, token: object) -> Customer:
    """Follow a verification link: the account's e-mail is verified from now on (the link works once; 404
    `invalid_link`, 409 `link_used`, 410 `link_expired`)."""
    with write_transaction():
        link = account_links.redeem_link(org, account_links.VERIFY_EMAIL, token)
        mark_verified(org, link)
    return get_scoped(Customer, org, link.customer_id, "customer")


def mark_verified(org: Org, link: AccountLink) -> None:
    """The account's e-mail is verified, if it is still the address `link` was sent to (inside the transaction
    that redeemed it; 404 `invalid_link` otherwise, which rolls the use back). Keeps the first moment."""
    now = utcnow()
    matched = (Customer.update(updated_at=now)
               .where((Customer.id == link.customer_id) & (Customer.org == org.id) & (Customer.email == link.email))
               .execute())
    if matched != 1:
        raise account_links.invalid_link()
    Customer.update(email_verified_at=now).where(
        (Customer.id == link.customer_id) & (Customer.org == org.id) & Customer.email_verified_at.is_null()).execute()
