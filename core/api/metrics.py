"""`GET /metrics`: the Prometheus scrape (`core.metrics_export`), guarded by the operator token, or, with
BOXOFFICE_METRICS_ADDRESS, answered only on that address's port (404 on every other).

A thin view: it checks the caller and returns the exposition; it never records or computes a metric itself.
"""

from __future__ import annotations

from flask import Response, current_app, request

from core.api.blueprint import Blueprint
from core.api.throttle import Guard, document_429, throttle_blueprint
from core.errors import NotFound
from core.metrics_export import exposition
from core.operator_token import require_operator_token
from core.tenancy import tenant_exempt

blp = tenant_exempt(Blueprint("metrics", __name__, description="Prometheus metrics for the hosting operator"))
# A wrong token counts with the operator API's failed attempts (one token, counted per client address).
throttle_blueprint(blp, Guard("operator", frozenset({401})))

METRICS_DOC = {
    "security": [{"operatorToken": []}],
    "responses": {"200": {"description": "Every metric in the Prometheus text format (OpenMetrics when the "
                                         "`Accept` header asks for it)",
                          "content": {"text/plain": {"schema": {"type": "string"}},
                                      "application/openmetrics-text": {"schema": {"type": "string"}}}}}}


def _require_scraper() -> None:
    """The operator token, or the metrics port when BOXOFFICE_METRICS_ADDRESS is set (404 on any other: the
    port comes from the listening socket, never from the `Host` header)."""
    listen = current_app.config["BOXOFFICE"].metrics_listen
    if listen is None:
        require_operator_token()
    elif request.environ.get("SERVER_PORT") != str(listen[1]):
        raise NotFound("No such route.", type="not_found")


def _documented(view):
    """The operation's OpenAPI: the operator token's security, the exposition, 401, 404 and 429."""
    view = blp.doc(**METRICS_DOC)(view)
    view = blp.error_responses({401: "`invalid_operator_token`: no or a wrong operator token",
                                404: "`not_found`: metrics are served on BOXOFFICE_METRICS_ADDRESS only"})(view)
    return document_429(blp, view)


@blp.route("/metrics")
@_documented
def metrics():
    """The deployment's metrics for Prometheus: request latency per route and status, sales, tickets sold and
    check-ins per tenant, holds, seats held, outbox backlog and lag, job queue depth, plugin counters."""
    _require_scraper()
    body, content_type = exposition(request.headers.get("Accept"))
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
