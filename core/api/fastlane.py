"""The fast lane: a few hot JSON endpoints (door check-in and validate, purchase) answered in front of Flask.

At doors-open a venue's scanners send hundreds of scans a second, and an on-sale opens with a rush of buyers;
Flask's per-request machinery (request context, routing, hooks, webargs, the response object) cost more CPU
than a scan itself. The lane is a WSGI
middleware that answers a declared `LaneRoute` itself when the request is the plain, well-formed case, and
hands every other request to Flask untouched (its body re-attached), so Flask still answers all bad input
with its own error. What the lane checks, it checks with the functions Flask's hooks and decorators use:

- the core request hooks, as pure functions: no NUL characters (`request_guards.contains_nul`), the
  `orgid` tenant (`tenancy.org_for_header`), the bearer token (`auth.identity_for_header`);
- the route's roles (`auth.check_role`; a route without roles takes guests too) and body schema (the very
  instance its `@blp.arguments` loads);
- a body that is a small `application/json` document, no query string, and for `<var>` rules a plain id;
- no `Idempotency-Key` header: replays are the Flask decorator's (`core.api.idempotency`).

Any of those failing sends the request to Flask. What the lane writes itself is the route's answer or
the `ApiError` the service raised (a refused scan), in the envelope `core.errors` gives, as the same bytes
and headers Flask would send; an unexpected exception is logged and answered 500 like Flask's handler.

The lane serves nothing while Flask would do more than it replicates: when the app's request hooks are not
exactly the core ones (a plugin added a `before_request`, say) or its `wsgi_app` was wrapped, every request
takes the Flask path. `BOXOFFICE_FAST_LANE=0` turns it off.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import marshmallow as ma
from flask import Flask, current_app, g
from werkzeug.http import HTTP_STATUS_CODES

from core.auth import check_role, current_identity, identity_for_header
from core.db import close_connection
from core.errors import ApiError, internal_error
from core.request_guards import CORE_BEFORE_REQUEST, contains_nul
from core.tenancy import current_org, org_for_header

log = logging.getLogger(__name__)

MAX_BODY = 8192  # bytes; a door request is a few hundred
PLAIN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")  # path values the lane takes; anything else goes to Flask
CORE_TEARDOWN = (close_connection,)  # returns the connection, as `_checked_call` and `_run` do


@dataclass(frozen=True)
class LaneRoute:
    """An endpoint the lane may answer, declared once for its Flask view and the lane."""

    rule: str  # the Flask rule; at most one `<variable>`, at the end
    endpoint: str  # what Flask calls the view (checked against the app's URL map)
    schema: ma.Schema  # the body schema instance the view's `@blp.arguments` loads
    roles: tuple[str, ...]  # the view's `@require_role`; empty: guests too (a token, if sent, is checked)
    answer: Callable[..., dict]  # answer(org, identity, data, **path_values) -> the body; raises ApiError
    status: int = 200  # the status of a successful answer

    def flask_response(self, data: dict, **path_values):
        """The view's response when Flask serves the route: the same answer for this request's tenant and
        caller, sent by the app's JSON provider with `status`."""
        response = current_app.json.response(self.answer(current_org(), current_identity(), data, **path_values))
        response.status_code = self.status
        return response

    @property
    def prefix(self) -> str:
        """The rule up to its variable (the whole rule when it has none)."""
        return self.rule.partition("<")[0]

    @property
    def variable(self) -> str | None:
        """The name of the rule's trailing `<variable>`, if it has one."""
        _, bracket, rest = self.rule.partition("<")
        return rest.rstrip(">").rpartition(":")[2] if bracket else None


@dataclass
class _Call:
    route: LaneRoute
    org: object
    identity: object
    data: dict
    path_values: dict


class FastLane:
    """WSGI middleware over `app`'s own `wsgi_app` that answers `routes` when Flask would add nothing."""

    def __init__(self, app: Flask, routes: Iterable[LaneRoute]):
        self.app = app
        self.flask_wsgi = app.wsgi_app
        self.served = 0  # requests the lane answered itself (a diagnostic; approximate across threads)
        self._exact: dict[str, LaneRoute] = {}
        self._prefixed: list[LaneRoute] = []
        self._blueprints: set[str] = set()
        if getattr(self.flask_wsgi, "__func__", None) is not Flask.wsgi_app:
            log.info("fast lane off: the app's wsgi_app is wrapped, so every request must go through it")
            return
        for route in routes:
            if not self._flask_dispatches(route):
                log.info("fast lane: %s is not served by %s here; Flask answers it", route.rule, route.endpoint)
                continue
            if route.variable:
                self._prefixed.append(route)
            else:
                self._exact[route.rule] = route
            self._blueprints.update(_blueprint_chain(route.endpoint))

    def __call__(self, environ, start_response):
        found = self._route_for(environ)
        if found is None or not self._flask_adds_nothing():
            return self.flask_wsgi(environ, start_response)
        body = _read_body(environ)
        call = self._checked_call(found[0], found[1], environ, body) if body is not None else None
        if call is None:
            return self.flask_wsgi(environ, start_response)
        self.served += 1
        status, payload = self._run(call)
        return self._respond(start_response, status, payload)

    def _flask_dispatches(self, route: LaneRoute) -> bool:
        """True when Flask routes a POST to `route.rule` to `route.endpoint` (no other view shadows it)."""
        path = route.prefix + ("x" if route.variable else "")
        try:
            endpoint, _ = self.app.url_map.bind("lane.invalid").match(path, method="POST")
        except Exception:  # noqa: BLE001 - not found, redirect, method not allowed: not ours to serve
            return False
        return endpoint == route.endpoint

    def _route_for(self, environ) -> tuple[LaneRoute, dict] | None:
        """The route a plain POST with a JSON body and no query string asks for, with its path values."""
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("QUERY_STRING") or "HTTP_IDEMPOTENCY_KEY" in environ:
            return None
        if environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower() != "application/json":
            return None
        path = environ.get("PATH_INFO", "")
        route = self._exact.get(path)
        if route is not None:
            return route, {}
        for route in self._prefixed:
            value = path[len(route.prefix):] if path.startswith(route.prefix) else ""
            if PLAIN_ID.match(value):
                return route, {route.variable: value}
        return None

    def _flask_adds_nothing(self) -> bool:
        """True while the app's request hooks are exactly the core ones the lane replicates."""
        app, names = self.app, (None, *self._blueprints)
        return (tuple(app.before_request_funcs.get(None, ())) == CORE_BEFORE_REQUEST
                and tuple(app.teardown_request_funcs.get(None, ())) == CORE_TEARDOWN
                and not any(app.before_request_funcs.get(name) for name in self._blueprints)
                and not any(app.teardown_request_funcs.get(name) for name in self._blueprints)
                and not any(app.after_request_funcs.get(name) for name in names)
                and not any(app.url_value_preprocessors.get(name) for name in names))

    def _checked_call(self, route: LaneRoute, path_values: dict, environ, body: bytes) -> _Call | None:
        """The call to make if the request passes every check Flask would make, else None (Flask answers)."""
        if contains_nul(environ.get("PATH_INFO", ""), b"", body):
            return None
        try:
            data = route.schema.load(json.loads(body.decode("utf-8")))
            org = org_for_header(environ.get("HTTP_ORGID"))
            identity = identity_for_header(environ.get("HTTP_AUTHORIZATION"), org)
            if route.roles:
                check_role(identity, route.roles)
        except Exception:  # noqa: BLE001 - bad JSON, a schema or auth refusal, a database error: Flask answers
            return None
        finally:
            close_connection()  # the checks may have read the database; Flask or `_run` opens its own
        return _Call(route, org, identity, data, path_values)

    def _run(self, call: _Call) -> tuple[int, dict]:
        """(status, body): the route's answer, the ApiError it raised, or a logged 500."""
        with self.app.app_context():
            g.org, g.identity = call.org, call.identity
            try:
                return call.route.status, call.route.answer(call.org, call.identity, call.data, **call.path_values)
            except ApiError as error:
                return error.status, error.to_dict()
            except Exception as error:  # noqa: BLE001 - answered as Flask's handler would: logged, 500
                return 500, internal_error(error)
            finally:
                close_connection()

    def _respond(self, start_response, status: int, payload: dict) -> list[bytes]:
        """Send `payload` as Flask's JSON provider would (`app.json.response`): same bytes, same headers."""
        provider = self.app.json
        pretty = (provider.compact is None and self.app.debug) or provider.compact is False
        text = provider.dumps(payload, **({"indent": 2} if pretty else {"separators": (",", ":")})) + "\n"
        data = text.encode()
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'unknown').upper()}",
                       [("Content-Type", provider.mimetype), ("Content-Length", str(len(data)))])
        return [data]


def _blueprint_chain(endpoint: str) -> list[str]:
    """The blueprint an endpoint belongs to and its parents ("a.b.view" -> ["a.b", "a"])."""
    parts = endpoint.split(".")[:-1]
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def _read_body(environ) -> bytes | None:
    """The request body when it has a declared length the lane takes (re-attached for Flask), else None."""
    length = environ.get("CONTENT_LENGTH", "")
    if environ.get("HTTP_TRANSFER_ENCODING") or not length.isdigit() or not 0 < int(length) <= MAX_BODY:
        return None
    body = environ["wsgi.input"].read(int(length))
    environ["wsgi.input"] = io.BytesIO(body)
    return body if len(body) == int(length) else None
