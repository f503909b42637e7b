"""A session cookie of the pages: a token the core issued (`core.auth.token_for`) kept in an HttpOnly, SameSite=Lax
cookie (Secure on https) at one path, read back through the core's own token check
(`core.auth.identity_for_header`). The customer session and the organiser's staff session are two of these.

Never issues or checks a token by itself (an expired token, an ended session, a removed member or another tenant's
token reads as nobody); never puts the token anywhere but the cookie.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, current_app, request

from core.auth import identity_for_header
from core.errors import ApiError
from core.identity import Identity
from core.models import Org


@dataclass(frozen=True)
class SessionCookie:
    """The cookie called `name`: `read` gives the caller its token names, `put` and `drop` set and remove it at a
    path (the same path for both)."""

    name: str

    def read(self, org: Org) -> Identity | None:
        """The caller of `org` this request's cookie names, or None (none, expired, ended, another tenant's)."""
        token = request.cookies.get(self.name)
        if not token:
            return None
        try:
            return identity_for_header(f"Bearer {token}", org)
        except ApiError:
            return None

    def put(self, response: Response, token: str, path: str) -> Response:
        """Keep `token` in the cookie at `path`, for as long as the core's tokens live."""
        response.set_cookie(self.name, token, max_age=current_app.config["BOXOFFICE"].jwt_ttl_seconds,
                            httponly=True, samesite="Lax", secure=request.is_secure, path=path)
        return response

    def drop(self, response: Response, path: str) -> Response:
        """Remove the cookie at `path` (the token itself lives on until it expires, like an API client's)."""
        response.delete_cookie(self.name, path=path, httponly=True, samesite="Lax", secure=request.is_secure)
        return response
