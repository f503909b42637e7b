"""Throttling of the sign-in forms and of the account-link pages: wrong passwords count on the same counters as
the API's `POST /client/auth/login` (customers) or `POST /auth/login` (staff: the organiser's dashboard) (per
client address and per tenant and e-mail, `core.api.throttle`), unknown
link tokens on those of the API's link confirmations (per address), so a guesser gets no second allowance by
using the pages.

Never counts a sign-in that worked; never refuses one because the limiter's storage is down (the core's rule).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app

from core.api.account_links import LINK
from core.api.auth import LOGIN
from core.api.member_auth import LOGIN as MEMBER_LOGIN
from core.api.throttle import Guard, KeyAttempts, email_account_of
from core.api_keys import ATTEMPTS_EXTENSION
from core.errors import Unauthorized

T = TypeVar("T")


def login_attempts(org_id: str, email: str, login: Guard = LOGIN) -> KeyAttempts | None:
    """The counters of sign-ins by `email` at tenant `org_id` (`check()` answers 429 `rate_limited` past the
    limit; `failed()` counts one), or None when the app runs without the throttle. `login` is the API route's
    guard whose counters they are: a customer's (default) or a staff member's (`staff_login_attempts`)."""
    installed = current_app.extensions.get(ATTEMPTS_EXTENSION)
    if installed is None:
        return None
    guard = Guard(login.scope, login.failures, lambda: email_account_of(org_id, email))
    return KeyAttempts(installed.limiter, guard, current_app.config["BOXOFFICE"])


def counted(attempts: KeyAttempts | None, authenticate: Callable[[], T]) -> T:
    """What `authenticate` answers, unless these counters are past their limit (429 `rate_limited`); a 401 it
    raises (a wrong password or code) counts one failed attempt."""
    if attempts is not None:
        attempts.check()
    try:
        return authenticate()
    except Unauthorized:
        if attempts is not None:
            attempts.failed()
        raise


def staff_login_attempts(org_id: str, email: str) -> KeyAttempts | None:
    """The counters of staff sign-ins by `email` at tenant `org_id`, shared with `POST /auth/login`."""
    return login_attempts(org_id, email, MEMBER_LOGIN)


def link_attempts() -> KeyAttempts | None:
    """The counters of unknown account-link tokens from this client (shared with the API's reset, verify and
    e-mail confirmations: `check()` answers 429 past the limit, `failed()` counts one), or None without the
    throttle."""
    installed = current_app.extensions.get(ATTEMPTS_EXTENSION)
    if installed is None:
        return None
    return KeyAttempts(installed.limiter, LINK, current_app.config["BOXOFFICE"])
