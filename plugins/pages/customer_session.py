"""The pages' customer session: the core's customer JWT (`core.auth.token_for`, after
`accounts.authenticate_customer`) kept in an HttpOnly, SameSite=Lax cookie (Secure on https), read back through
the core's own token check.

Never issues or checks a token by itself (an ended session or another tenant's token counts as signed out);
never puts the token anywhere but that cookie.
"""

from __future__ import annotations

from flask import Response, current_app, request

from core.auth import identity_for_header, token_for
from core.errors import ApiError
from core.identity import Identity
from core.models import Customer, Org

COOKIE = "pages_session"


def signed_in(org: Org) -> Identity | None:
    """The customer of `org` whose session cookie this request carries, or None (none, expired, ended, or
    another tenant's or a staff token)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        identity = identity_for_header(f"Bearer {token}", org)
    except ApiError:
        return None
    return identity if identity is not None and identity.role == "customer" else None


def sign_in(response: Response, customer: Customer) -> Response:
    """Put a new session of `customer` in the cookie, for as long as the core's tokens live."""
    token = token_for(customer.id, customer.org_id, "customer", customer.email)
    response.set_cookie(COOKIE, token, max_age=current_app.config["BOXOFFICE"].jwt_ttl_seconds, httponly=True,
                        samesite="Lax", secure=request.is_secure, path="/e/")
    return response


def sign_out(response: Response) -> Response:
    """Drop the session cookie (the token itself lives on until it expires, like an API client's)."""
    response.delete_cookie(COOKIE, path="/e/", httponly=True, samesite="Lax", secure=request.is_secure)
    return response
