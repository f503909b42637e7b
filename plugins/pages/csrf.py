"""CSRF protection of the pages' POST forms: a random token in an HttpOnly, SameSite=Lax cookie that every
form carries back in a hidden `csrf` field (the double-submit pattern; another site can read neither).

Never lets a POST through without a matching pair; never keeps state on the server.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Response, g, request

from core.errors import Forbidden

COOKIE = "pages_csrf"
FIELD = "csrf"


def form_token() -> str:
    """The token this request's forms carry (the visitor's cookie, or a new one `remember` will set)."""
    current = request.cookies.get(COOKIE) or ""
    if len(current) < 32:
        current = g.get("pages_new_csrf") or secrets.token_urlsafe(32)
        g.pages_new_csrf = current
    return current


def remember(response: Response) -> Response:
    """Set the cookie of a token `form_token` made for this response (HttpOnly, SameSite=Lax, Secure on https)."""
    made = g.get("pages_new_csrf")
    if made:
        response.set_cookie(COOKIE, made, httponly=True, samesite="Lax", secure=request.is_secure, path="/e/")
    return response


def check() -> None:
    """Refuse a POST whose `csrf` field does not match the visitor's cookie (403 `csrf_failed`)."""
    cookie = request.cookies.get(COOKIE) or ""
    sent = request.form.get(FIELD) or ""
    if len(cookie) < 32 or not hmac.compare_digest(cookie.encode(), sent.encode()):
        raise Forbidden("This form expired or came from another site; reload the page and try again.",
                        type="csrf_failed")
