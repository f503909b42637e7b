"""Changing a customer's e-mail: asked for with the current password, confirmed by a link sent to the NEW
address; on confirmation the account moves to it (still unique in the tenant), every session ends and the old
address is told.

Never changes the address before the new one proved it receives mail; never keeps the link's token in clear.
"""

from __future__ import annotations

from peewee import IntegrityError

from core.auth import forget_sessions, verify_password
from core.db import write_transaction
from core.errors import Conflict, Forbidden, Unprocessable
from core.models import AccountLink, Customer, Org
from core.plugins import hooks_for
from core.services import account_links, email_verification
from core.services.accounts import normalise_email, revoke_sessions
from core.tenancy import get_scoped, scoped

CHANGE_HOOK = "customer_email_change"
CHANGED_HOOK = "customer_email_changed"


def _email_taken(email: str) -> Conflict:
    return Conflict(f"Another account of this organisation uses {email}.", type="email_taken")


def request_change(org: Org, customer_id: str, *, current_password: str, new_email: str) -> AccountLink:
    """Send a confirmation link to `new_email` and return the link's row (its address and expiry); nothing
    changes until it is followed (a newer request replaces the link). 403 `wrong_password`, 422 `same_email`,
    409 `email_taken`, 422 `email_unavailable` without an e-mail plugin."""
    customer = get_scoped(Customer, org, customer_id, "customer")
    if not verify_password(current_password, customer.password_hash):
        raise Forbidden("The current password is not correct.", type="wrong_password")
    email = normalise_email(new_email)
    if email == customer.email:
        raise Unprocessable("This is already the account's e-mail.", type="same_email",
                            errors={"newEmail": ["the account's current e-mail"]})
    if scoped(Customer, org).where(Customer.email == email).exists():
        raise _email_taken(email)
    if not hooks_for(org).consumes(CHANGE_HOOK):
        raise email_verification.email_unavailable("newEmail")
    with write_transaction():
        token, link = account_links.issue_link(org, customer.id, account_links.CHANGE_EMAIL, email)
        hooks_for(org).notify(CHANGE_HOOK, org=org, customer_id=customer.id, email=email, name=customer.name,
                              current_email=customer.email, link_token=token, expires_at=link.expires_at)
    return link


def confirm_change(org: Org, token: object) -> Customer:
    """Follow the link sent to the new address: the account uses it from now on (verified), every session ends,
    the links sent to the old address stop working and the old address is told. Once, before it expires (404
    `invalid_link`, 409 `link_used`, 410 `link_expired`); 409 `email_taken` when another account took the address
    meanwhile (the link stays usable)."""
    try:
        with write_transaction():
            link = account_links.redeem_link(org, account_links.CHANGE_EMAIL, token)
            customer = get_scoped(Customer, org, link.customer_id, "customer")
            if scoped(Customer, org).where((Customer.email == link.email) & (Customer.id != customer.id)).exists():
                raise _email_taken(link.email)
            revoke_sessions(org, customer.id, email=link.email, email_verified_at=link.used_at)
            account_links.end_links(org, customer.id, keep=link.id)
            hooks_for(org).notify(CHANGED_HOOK, org=org, customer_id=customer.id, email=customer.email,
                                  name=customer.name, new_email=link.email)
    except IntegrityError as exc:  # another account took the address between the check and the UPDATE
        raise _email_taken(link.email) from exc
    forget_sessions(customer.id)
    return get_scoped(Customer, org, customer.id, "customer")
