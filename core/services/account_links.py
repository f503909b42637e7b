"""Single-use, expiring links e-mailed to a customer (password reset, e-mail verification, e-mail change): issue
one, ending the customer's older links of that purpose, and redeem one once.

Never stores, logs or returns a token in clear (only its SHA-256, `core.kits.links`); never redeems a link twice,
after its expiry, or for another tenant. Runs inside the caller's write transaction; sends nothing itself.
"""

from __future__ import annotations

import datetime as dt

from core.errors import ApiError, Conflict, NotFound
from core.kits.links import new_link_token, token_hash
from core.models import AccountLink, Org, new_id, utcnow
from core.tenancy import scoped

PASSWORD_RESET, VERIFY_EMAIL, CHANGE_EMAIL = "password_reset", "verify_email", "change_email"
LIFETIMES = {
    PASSWORD_RESET: dt.timedelta(hours=1),
    VERIFY_EMAIL: dt.timedelta(days=2),
    CHANGE_EMAIL: dt.timedelta(hours=24),
}
"""How long a link of each purpose works after it was sent."""
TOKEN_LENGTHS = (10, 200)  # what a token may be before it is looked up (ours are 43 characters)


class LinkExpired(ApiError):
    """410 `link_expired`: the link was not used in time; ask for a new one."""

    status, type = 410, "link_expired"


def issue_link(org: Org, customer_id: str, purpose: str, email: str,
               link_id: str | None = None) -> tuple[str, AccountLink]:
    """A new link of `purpose` for the customer, sent to `email`: (its token, to e-mail once; the stored row).
    The customer's earlier links of that purpose stop working. Call inside a write transaction; `link_id` names
    the row (a job that may run twice checks it first)."""
    if purpose not in LIFETIMES:
        raise ValueError(f"unknown account link purpose {purpose!r}")
    token, digest = new_link_token()
    now = utcnow()
    AccountLink.delete().where((AccountLink.org == org.id) & (AccountLink.customer == customer_id)
                               & (AccountLink.purpose == purpose)).execute()
    link = AccountLink.create(id=link_id or new_id(), org=org.id, customer=customer_id, purpose=purpose, email=email,
                              token_hash=digest, expires_at=now + LIFETIMES[purpose])
    return token, link


def redeem_link(org: Org, purpose: str, token: object) -> AccountLink:
    """Mark the tenant's link of `purpose` with this token used, once (a conditional UPDATE, so two requests
    racing on one link redeem it once). Call inside the write transaction that acts on it, so a refusal after
    this rolls the use back. 404 `invalid_link` (unknown, replaced by a newer link, another tenant's or another
    purpose's), 409 `link_used`, 410 `link_expired`."""
    link = None
    if isinstance(token, str) and TOKEN_LENGTHS[0] <= len(token) <= TOKEN_LENGTHS[1]:
        link = scoped(AccountLink, org).where((AccountLink.token_hash == token_hash(token))
                                              & (AccountLink.purpose == purpose)).first()
    if link is None:
        raise invalid_link()
    now = utcnow()
    won = (AccountLink.update(used_at=now, updated_at=now)
           .where(link.row_condition() & AccountLink.used_at.is_null() & (AccountLink.expires_at > now))
           .execute())
    if won != 1:
        try:
            current = link.reread()
        except AccountLink.DoesNotExist:
            raise invalid_link() from None
        if current.used_at is not None:
            raise Conflict("This link was already used; each link works once.", type="link_used")
        raise LinkExpired(f"This link expired at {current.expires_at:%Y-%m-%d %H:%M} UTC; ask for a new one.",
                          expiredAt=current.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    link.used_at = now
    return link


def invalid_link() -> NotFound:
    """404 `invalid_link`: no live link has this token here."""
    return NotFound("This link is not valid: mistyped, replaced by a newer one, or not from this organisation.",
                    type="invalid_link")


def end_links(org: Org, customer_id: str, *purposes: str, keep: str | None = None) -> None:
    """Delete the tenant's customer's links of `purposes` (all when none is named), except the row `keep` (the one
    being used): after the account's e-mail changed, links sent to the old address stop working; after a password
    change, pending reset links do."""
    query = AccountLink.delete().where((AccountLink.org == org.id) & (AccountLink.customer == customer_id))
    if purposes:
        query = query.where(AccountLink.purpose.in_(purposes))
    if keep is not None:
        query = query.where(AccountLink.id != keep)
    query.execute()
