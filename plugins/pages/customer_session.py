"""The pages' customer session: the core's customer JWT (`core.auth.token_for`, after
`accounts.authenticate_customer`) in the `pages_session` cookie (`session_cookie`: HttpOnly, SameSite=Lax,
Secure on https, path `/e/`), read back through the core's own token check.

Never issues or checks a token by itself (an ended session or another tenant's token counts as signed out);
never puts the token anywhere but that cookie.
"""

from __future__ import annotations

from flask import Response

from core.auth import token_for
from core.identity import Identity
from core.models import Customer, Org
from plugins.pages.session_cookie import SessionCookie

COOKIE = "pages_session"
PATH = "/e/"
_SESSION = SessionCookie(COOKIE)


def signed_in(org: Org) -> Identity | None:
    """The customer of `org` whose session cookie this request carries, or None (none, expired, ended, or
    another tenant's or a staff token)."""
    identity = _SESSION.read(org)
    return identity if identity is not None and identity.role == "customer" else None


def sign_in(response: Response, customer: Customer) -> Response:
    """Put a new session of `customer` in the cookie, for as long as the core's tokens live."""
    return _SESSION.put(response, token_for(customer.id, customer.org_id, "customer", customer.email), PATH)


def sign_out(response: Response) -> Response:
    """Drop the session cookie (the token itself lives on until it expires, like an API client's)."""
    return _SESSION.drop(response, PATH)
