"""Throttling of secret guessing with Flask-Limiter: the routes that check a password, API key, operator token or
guest token count failed attempts per client address and per account, and answer 429 `rate_limited` past a limit.
An API key sent in the `Authorization` header of any route is counted with the /auth/token attempts
(`KeyAttempts`, the same counters).

Never counts an attempt that succeeded and never does limiter work on a route that has no `throttled` guard
(nor for a key that this process verified before).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, Response, g, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import parse
from marshmallow import fields

from core.api_keys import API_KEY_PREFIX_LENGTH, ATTEMPTS_EXTENSION, api_key_in
from core.errors import ApiError, ErrorSchema, api_error_response

log = logging.getLogger(__name__)

STRATEGY = "moving-window"  # a burst at a window's edge cannot double the allowance
RATE_LIMITED_DOC = "Too many failed attempts from this address or for this account (`rate_limited`)."


class RateLimitedSchema(ErrorSchema):
    """The 429 envelope: the usual error fields and how many seconds to wait."""

    retryAfter = fields.Integer(metadata={"description": "Seconds until a new attempt is counted again "
                                                         "(also the `Retry-After` header)."})


@dataclass(frozen=True)
class Guard:
    """What a throttled route counts: its `scope` (routes sharing one share their counters), the HTTP statuses
    that are failed attempts, and the account an attempt is for (None: counted per address only)."""

    scope: str
    failures: frozenset[int]
    account: Callable[[], str] | None = None

    def failed(self, response: Response) -> bool:
        """True when this answer is a failed attempt (Flask-Limiter's `deduct_when`)."""
        return response.status_code in self.failures


def _hashed(*parts: str) -> str:
    """A fixed-length key for an account name (no e-mail or key prefix is kept in the limiter storage)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _body_field(name: str) -> str:
    body = request.get_json(silent=True)
    value = body.get(name) if isinstance(body, dict) else None
    return value if isinstance(value, str) else ""


def email_account() -> str:
    """The account a login or registration tries: the tenant and the normalised `email` of the body."""
    return email_account_of(request.headers.get("orgid", ""), _body_field("email"))


def email_account_of(org_id: str, email: str) -> str:
    """The account key of a login by `email` at tenant `org_id`: the one `email_account` reads from an API
    request, for a login that arrives another way (a sign-in form), so both count together."""
    return _hashed(org_id, email.strip().lower())


def api_key_account() -> str:
    """The staff key a request tries (in its `Authorization` header, else the `apiKey` of an exchange): the key's
    prefix (the part stored in clear, random enough to tell keys apart across tenants; a header key may come
    without `orgid`, so the tenant is not part of it)."""
    key = api_key_in(request.headers.get("Authorization")) or _body_field("apiKey")
    return _hashed("api-key", key[:API_KEY_PREFIX_LENGTH])


def path_account(argument: str) -> Callable[[], str]:
    """The account named by the URL argument `argument` (an invited guest's id...), within the tenant."""
    def account() -> str:
        return _hashed(request.headers.get("orgid", ""), str((request.view_args or {}).get(argument, "")))

    return account


def invite_account() -> str:
    """The invitation an accept tries: the tenant and the `token` of the body (kept hashed)."""
    return _hashed(request.headers.get("orgid", ""), "invite", _body_field("token"))


def caller_account() -> str:
    """The signed-in caller (a customer claiming a transfer), or their address when there is none."""
    identity = getattr(g, "identity", None)
    return _hashed(identity.org, identity.sub) if identity else client_address()


def client_address() -> str:
    """The client's address (the real one: the app applies ProxyFix for BOXOFFICE_TRUSTED_PROXIES)."""
    return request.remote_addr or "unknown"


# A wrong or revoked API key, at /auth/token or in the `Authorization` header of any route.
API_KEY = Guard("api-key", frozenset({401}), api_key_account)


def throttled(blp, guard: Guard):
    """Class decorator for a MethodView of `blp`: its failed attempts are counted under `guard` (in the view,
    after the tenant and caller are known), and its 429 answer is documented."""
    def decorator(view_class):
        for method in ("get", "post", "put", "patch", "delete"):
            func = getattr(view_class, method, None)
            if func is not None:
                setattr(view_class, method, document_429(blp, func))
        view_class.throttle_guard = guard
        return view_class

    return decorator


def throttle_blueprint(blp, guard: Guard):
    """Count failed attempts on every route of `blp` under `guard`, checked before the blueprint's own
    `before_request` hooks (so a token those refuse is counted too). Document each view with `document_429`."""
    blp.throttle_guard = guard
    return blp


def document_429(blp, func):
    """Declare a view's 429 `rate_limited` answer and its `Retry-After` header in the OpenAPI document."""
    return blp.alt_response(429, schema=RateLimitedSchema, description=RATE_LIMITED_DOC,
                            headers={"Retry-After": {"description": "Seconds to wait",
                                                     "schema": {"type": "integer"}}})(func)


def _counters(guard: Guard, config) -> list[tuple[Callable[[], str], str, Callable[[], str]]]:
    """A guard's counters as (limit, Flask-Limiter scope, key function): failures per address, and per account
    when it has one."""
    counters = [(lambda: config.throttle_per_address, f"{guard.scope}:address", client_address)]
    if guard.account is not None:
        counters.append((lambda: config.throttle_per_account, f"{guard.scope}:account", guard.account))
    return counters


def _limits(limiter: Limiter, guard: Guard, config) -> list:
    """The Flask-Limiter limits of a guard's counters (shared by every route the guard is on)."""
    return [limiter.shared_limit(limit, scope=scope, key_func=key, deduct_when=guard.failed)
            for limit, scope, key in _counters(guard, config)]


class KeyAttempts:
    """A guard's counters for attempts made outside its routes (an API key sent in the `Authorization` header
    of any route): the same Flask-Limiter storage keys as the guard's shared limits, so both count together.
    A storage failure is logged and lets the attempt through, as Flask-Limiter does (`swallow_errors`)."""

    def __init__(self, limiter: Limiter, guard: Guard, config):
        self.limiter = limiter
        self.counters = _counters(guard, config)
        self.prefix = _key_prefix(config)

    def _items(self):
        for limit, scope, key in self.counters:
            yield parse(limit()), (self.prefix, key(), scope)

    def check(self) -> None:
        """429 `rate_limited` when one of the counters is past its limit."""
        try:
            for item, args in self._items():
                if not self.limiter.limiter.test(item, *args):
                    reset = self.limiter.limiter.get_window_stats(item, *args).reset_time
                    raise rate_limited(max(1, int(reset - time.time())))
        except ApiError:
            raise
        except Exception:  # noqa: BLE001 - the limiter's storage is down: never refuse a key over it
            log.exception("API key throttle check failed; letting the attempt through")

    def failed(self) -> None:
        """Count one failed attempt on every counter."""
        try:
            for item, args in self._items():
                self.limiter.limiter.hit(item, *args)
        except Exception:  # noqa: BLE001
            log.exception("API key throttle could not count a failed attempt")


def _key_prefix(config) -> str:
    return f"{config.queue_name}:throttle"


def register_throttling(app: Flask) -> Limiter:
    """Install Flask-Limiter on `app` (after every route is registered): Redis storage when
    BOXOFFICE_REDIS_URL is set (shared by every worker; while it is unreachable each process counts in memory),
    memory otherwise; limits on the guarded routes only."""
    config = app.config["BOXOFFICE"]
    # Redis down: count in this process's memory meanwhile (and never fail a login over the limiter).
    limiter = Limiter(client_address, strategy=STRATEGY, storage_uri=config.redis_url or "memory://",
                      key_prefix=_key_prefix(config), in_memory_fallback_enabled=True,
                      swallow_errors=True)
    hooks = _init_without_hooks(app, limiter)
    guarded: set[str] = set()
    for name, blueprint in app.blueprints.items():
        guard = getattr(blueprint, "throttle_guard", None)
        if guard is not None:
            for limit in _limits(limiter, guard, config):
                limit(blueprint)
            guarded.update(e for e in app.view_functions if e.startswith(name + "."))
    for endpoint, view in list(app.view_functions.items()):
        guard = getattr(getattr(view, "view_class", None), "throttle_guard", None)
        if guard is not None and endpoint not in guarded:
            for limit in _limits(limiter, guard, config):
                view = limit(view)
            app.view_functions[endpoint] = view
            guarded.add(endpoint)
    _hook_into_blueprints(app, hooks, guarded)
    app.register_error_handler(RateLimitExceeded, lambda error: _too_many(limiter))
    app.extensions[ATTEMPTS_EXTENSION] = KeyAttempts(limiter, API_KEY, config)
    return limiter


def _init_without_hooks(app: Flask, limiter: Limiter) -> tuple[list, list, list]:
    """`limiter.init_app(app)`, taking back the app-wide request hooks it installs (before, after, teardown):
    `_hook_into_blueprints` gives them to the guarded routes' blueprints only, as on every other route they cost
    a dispatch per request (about 50 us on GET /auth/me when they ran everywhere) for no limit."""
    registries = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    app_wide = [registry.setdefault(None, []) for registry in registries]
    before = [len(funcs) for funcs in app_wide]
    limiter.init_app(app)
    taken = []
    for funcs, count in zip(app_wide, before, strict=True):
        taken.append(funcs[count:])
        del funcs[count:]
    return tuple(taken)


def _hook_into_blueprints(app: Flask, hooks: tuple[list, list, list], endpoints: set[str]) -> None:
    """Register the limiter's hooks on each blueprint that holds a guarded endpoint, run there only for
    `endpoints` (a blueprint may mix guarded and free routes); its before hooks go first, ahead of the
    blueprint's own (so a token those refuse is counted too)."""
    before, after, teardown = ([_gated(hook, endpoints) for hook in kind] for kind in hooks)
    for blueprint in sorted({endpoint.rpartition(".")[0] for endpoint in endpoints}):
        app.before_request_funcs.setdefault(blueprint, [])[:0] = before
        app.after_request_funcs.setdefault(blueprint, []).extend(after)
        app.teardown_request_funcs.setdefault(blueprint, []).extend(teardown)


def _gated(hook: Callable, endpoints: set[str]) -> Callable:
    """`hook` run only for requests to `endpoints`; other requests pass through untouched (an after-request
    hook hands its response back)."""
    def gate(*args):
        if request.endpoint in endpoints:
            return hook(*args)
        return args[0] if args and isinstance(args[0], Response) else None

    return gate


def rate_limited(wait: int) -> ApiError:
    """The 429 `rate_limited` error, with `retryAfter` and `Retry-After`: try again in `wait` seconds."""
    return ApiError(f"Too many failed attempts; try again in {wait} seconds.", status=429, type="rate_limited",
                    retryAfter=wait, headers={"Retry-After": str(wait)})


def _too_many(limiter: Limiter) -> Response:
    """The 429 answer (seconds until the breached limit counts again)."""
    breached = limiter.current_limit
    return api_error_response(rate_limited(max(1, int(breached.reset_at - time.time())) if breached else 60))
