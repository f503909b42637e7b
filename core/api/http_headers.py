"""The headers every answer carries: security headers (no sniffing, referrer policy, frame protection, HSTS
over HTTPS) and the tenant's CORS; `register_http_headers` is the one place that installs them.

Sets headers only, from constants and the cached tenant (`g.org`); it never reads the database per request.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, g, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from core import request_id, request_metrics, web_origins
from core.api import cors

ALWAYS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "strict-origin-when-cross-origin"))
NO_FRAMES = (("X-Frame-Options", "DENY"), ("Content-Security-Policy", "frame-ancestors 'none'"))
HSTS = "max-age=31536000"  # one year; only sent on answers to HTTPS requests
_EMBEDDABLE = "boxoffice_embeddable"


def embeddable(view: Callable) -> Callable:
    """Mark a view function or MethodView class as a page the tenant may let other sites frame.

    Its answers carry `Content-Security-Policy: frame-ancestors <origins>` for the tenant's `embedOrigins`
    setting (and no `X-Frame-Options`); with no such origins they are protected like every other answer.
    """
    setattr(view, _EMBEDDABLE, True)
    return view


def _is_embeddable() -> bool:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return bool(getattr(view, _EMBEDDABLE, False) or getattr(getattr(view, "view_class", None), _EMBEDDABLE, False))


def frame_headers() -> tuple[tuple[str, str], ...]:
    """The frame protection for the current request: `frame-ancestors <origins>` on an embeddable view of a
    tenant that lists embed origins, otherwise no framing at all."""
    org = g.get("org")
    origins = web_origins.embed_origins(org) if org is not None else None
    if origins and _is_embeddable():
        return (("Content-Security-Policy", "frame-ancestors " + " ".join(origins)),)
    return NO_FRAMES


def set_security_headers(response: Response) -> Response:
    """after_request: the security headers on every answer (JSON, errors, files, docs pages, routing 404s);
    a header a view set itself is kept."""
    headers = response.headers
    present = {name.lower() for name in headers.keys()}  # noqa: SIM118 - Headers iterate as (name, value)
    headers.extend([(name, value) for name, value in ALWAYS + frame_headers() if name.lower() not in present])
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def finish_response(response: Response) -> Response:
    """after_request: the request id (`request_id.stamp`), the tenant's CORS answer (`cors.allow_tenant_origin`),
    the security headers (`set_security_headers`), then the request's latency and access line
    (`request_metrics.record`), in one hook (Flask costs a dispatch per hook and request)."""
    return request_metrics.record(set_security_headers(cors.allow_tenant_origin(request_id.stamp(response))))


def register_http_headers(app: Flask, trusted_proxies: int = 0) -> None:
    """Install the headers every answer carries: its request id, the security headers and the tenant's CORS
    (the preflight answer is the first step of the app's `before_request` hook, see `create_app`).

    With `trusted_proxies` > 0 (BOXOFFICE_TRUSTED_PROXIES) werkzeug's ProxyFix takes the client address and
    the scheme from that many `X-Forwarded-For`/`X-Forwarded-Proto` hops, so HSTS follows the proxy's TLS.
    """
    if trusted_proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted_proxies, x_proto=trusted_proxies)
    app.after_request(finish_response)
