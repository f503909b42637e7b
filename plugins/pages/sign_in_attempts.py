"""Throttling of the sign-in form: its wrong passwords count on the same counters as the API's
`POST /client/auth/login` (per client address and per tenant and e-mail, `core.api.throttle`), so a guesser gets
no second allowance by using the page.

Never counts a sign-in that worked; never refuses one because the limiter's storage is down (the core's rule).
"""

from __future__ import annotations

from flask import current_app

from core.api.auth import LOGIN
from core.api.throttle import Guard, KeyAttempts, email_account_of
from core.api_keys import ATTEMPTS_EXTENSION


def login_attempts(org_id: str, email: str) -> KeyAttempts | None:
    """The counters of sign-ins by `email` at tenant `org_id` (`check()` answers 429 `rate_limited` past the
    limit; `failed()` counts one), or None when the app runs without the throttle."""
    installed = current_app.extensions.get(ATTEMPTS_EXTENSION)
    if installed is None:
        return None
    guard = Guard(LOGIN.scope, LOGIN.failures, lambda: email_account_of(org_id, email))
    return KeyAttempts(installed.limiter, guard, current_app.config["BOXOFFICE"])
