"""CORS for tenants' web apps: answer browser preflights and let a tenant's allowed origins read its answers.

Reads only cached origin lists (`core.web_origins`, `g.org`), never the database per request; never answers
`*` and never allows credentials (the API authenticates with the `Authorization` header, not cookies).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, g, request
from marshmallow import fields, validate
from werkzeug.wrappers import Response

from core import web_origins
from core.errors import Forbidden
from core.models import Org
from core.tenancy import is_exempt

ALLOWED_REQUEST_HEADERS = "orgid, Authorization, Content-Type, Idempotency-Key, Queue-Pass"
EXPOSED_HEADERS = "Retry-After, Location, Content-Disposition, X-Code-Expires-At"
PREFLIGHT_MAX_AGE = "600"  # seconds a browser may reuse a preflight answer
_NOT_REQUEST_METHODS = {"OPTIONS", "HEAD"}


def answer_preflight() -> Response | None:
    """before_request: answer a browser preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`).

    A preflight carries no `orgid`, so the origin is checked against the origins ANY active tenant allows:
    204 with the route's methods and the request headers the API reads, or 403 `origin_not_allowed` (always
    on routes without a tenant: operator API, docs, provider webhooks). The tenant's own list is checked on
    the real request (`allow_tenant_origin`). Other requests pass through.
    """
    if request.method != "OPTIONS" or request.url_rule is None:
        return None
    origin = request.headers.get("Origin")
    if not origin or not request.headers.get("Access-Control-Request-Method"):
        return None
    if is_exempt(request.blueprint) or not web_origins.any_tenant_allows(origin):
        raise Forbidden(f"No organisation lets the origin {origin[:100]!r} call this API from a browser; an admin "
                        "adds it to `corsOrigins` in /org/settings.", type="origin_not_allowed")
    response = current_app.response_class(status=204)
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Methods"] = ", ".join(
        sorted(request.url_rule.methods - _NOT_REQUEST_METHODS))
    response.headers["Access-Control-Allow-Headers"] = ALLOWED_REQUEST_HEADERS
    response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    response.vary.add("Origin")
    return response


def allow_tenant_origin(response: Response) -> Response:
    """after_request: on a request with an `Origin` the request's tenant allows, let that origin read the
    answer (`Access-Control-Allow-Origin: <origin>`); every answer to a request with an `Origin` varies by it."""
    origin = request.headers.get("Origin")
    if not origin or "Access-Control-Allow-Origin" in response.headers:
        return response
    response.vary.add("Origin")
    org = g.get("org")
    if org is not None and origin in web_origins.cors_origins(org):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return response


CORS_ORIGINS_DOC = "Origins whose web pages may call this organisation's API from a browser (CORS)"
EMBED_ORIGINS_DOC = "Origins that may show this organisation's embeddable pages in a frame"


def origins_field(doc: str, read: Callable[[Org], list[str]] | None = None) -> fields.Field:
    """The schema field for one of a tenant's origin lists in the settings APIs: a list of strings in a
    request body, or with `read` (`web_origins.cors_origins`...) the list read from an Org in an answer."""
    description = (f"{doc}: scheme://host[:port], no path; at most {web_origins.MAX_ORIGINS}; an empty list "
                   "clears them.")
    if read is not None:
        return fields.Function(read, metadata={"description": description, "type": "array",
                                               "items": {"type": "string"}})
    return fields.List(fields.String(validate=validate.Length(max=300)),
                       validate=validate.Length(max=web_origins.MAX_ORIGINS), metadata={"description": description})
