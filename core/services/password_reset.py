"""Password reset by e-mailed link: asking for one (the same work and answer whether or not the e-mail has an
account), and choosing a new password with it (once, before it expires), which ends every session.

Never tells the caller whether an e-mail has an account (the lookup and the e-mail happen in a job, after the
answer); never keeps the link's token in clear.
"""

from __future__ import annotations

from core import outbox
from core.auth import forget_sessions, hash_password
from core.db import write_transaction
from core.jobs import RetryPolicy, job
from core.models import AccountLink, Customer, Org, new_id
from core.plugins import hooks_for
from core.services import account_links, email_verification
from core.services.accounts import normalise_email, revoke_sessions
from core.tenancy import get_scoped, scoped

RESET_HOOK = "customer_password_reset"


def request_reset(org: Org, email: str) -> None:
    """Ask for a password reset link for `email`. Whatever the e-mail, this does the same work: one write
    transaction recording one job (`send_reset_link`), which after the commit looks the account up and, if there
    is one and a plugin sends e-mails, issues the link and records its e-mail. So neither the answer nor its
    timing says whether the e-mail has an account."""
    with write_transaction():
        outbox.enqueue(send_reset_link, org.id, normalise_email(email), new_id())


@job(policy=RetryPolicy(max_attempts=3, delay_seconds=30, backoff=2))
def send_reset_link(org_id: str, email: str, link_id: str) -> None:
    """Job: issue the reset link `link_id` for the tenant's account with this e-mail and record the e-mail to it
    (the account's older reset link stops working); nothing for an unknown e-mail, a tenant without an e-mail
    plugin, or a link already issued by an earlier run of this job."""
    org = Org.get_or_none(Org.id == org_id)
    if org is None or not org.active or not hooks_for(org).consumes(RESET_HOOK):
        return
    customer = scoped(Customer, org).where(Customer.email == email).first()
    if customer is None or scoped(AccountLink, org).where(AccountLink.id == link_id).exists():
        return
    with write_transaction():
        token, link = account_links.issue_link(org, customer.id, account_links.PASSWORD_RESET, customer.email,
                                               link_id=link_id)
        hooks_for(org).notify(RESET_HOOK, org=org, customer_id=customer.id, email=customer.email,
                              name=customer.name, link_token=token, expires_at=link.expires_at)


def reset_password(org: Org, token: object, new_password: str) -> Customer:
    """Choose a new password with a reset link: once, before it expires (404 `invalid_link`, 409 `link_used`, 410
    `link_expired`). Every session of the account ends (log in again; the caller issues one new token), and the
    e-mail counts as verified: the link reached it."""
    password_hash = hash_password(new_password)  # before the transaction: scrypt takes a while
    with write_transaction():
        link = account_links.redeem_link(org, account_links.PASSWORD_RESET, token)
        if revoke_sessions(org, link.customer_id, password_hash=password_hash,
                           where=Customer.email == link.email) != 1:
            raise account_links.invalid_link()
        email_verification.mark_verified(org, link)
    forget_sessions(link.customer_id)
    return get_scoped(Customer, org, link.customer_id, "customer")
