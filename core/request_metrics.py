"""What every answered request records: its latency in the route/status histogram (`core.metrics`) and, with
JSON logs, its access line. `RequestClock` stamps the start at the WSGI call; `record` runs in the app's one
after_request hook (`core.api.http_headers.finish_response`).

Costs a clock read and a few dictionary lookups per request: no query, no I/O unless the access line is on.
"""

from __future__ import annotations

from time import perf_counter

from flask import g, request
from werkzeug.wrappers import Response

from core import log_format
from core.metrics import UNMATCHED_ROUTE, observe_request

STARTED = "boxoffice.started"
"""The WSGI environ key holding `perf_counter()` at the start of the request."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods recorded by name; any other a client invents is recorded as `OTHER` (the series count stays bounded)."""


class RequestClock:
    """WSGI middleware, outermost: notes when a request started (`STARTED` in its environ)."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        environ[STARTED] = perf_counter()
        return self.wsgi_app(environ, start_response)


def record(response: Response) -> Response:
    """Observe the answered request: histogram by route (the URL rule, `unmatched` for none), method (`METHODS`,
    else `OTHER`) and status; with JSON logs also its access line. A request that did not come through
    `RequestClock` is not timed."""
    started = request.environ.get(STARTED)
    if started is None:
        return response
    seconds = perf_counter() - started
    rule = request.url_rule
    route = rule.rule if rule is not None else UNMATCHED_ROUTE
    status = response.status_code
    method = request.method
    if method not in METHODS:
        method = "OTHER"
    observe_request(route, method, status, seconds)
    if log_format.access_lines():
        org = g.get("org")
        log_format.log_request(method=method, route=route, status=status, duration_ms=seconds * 1000,
                               tenant=org.id if org is not None else None)
    return response
