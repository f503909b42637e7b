"""Security headers on every answer (nosniff, referrer policy, frame protection, HSTS over HTTPS only), the
embeddable-page mechanism with a tenant's embed origins, and the short `unknown_org` message."""

from __future__ import annotations

import pytest
from flask import Flask, g
from smtp_server import make_tickets
from ticket_factory import issue, make_event

from core.api.http_headers import embeddable, register_http_headers
from core.config import Config
from core.models import Org

NO_FRAMES = {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}


def assert_protected(response, *, hsts: bool = False):
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    for name, value in NO_FRAMES.items():
        assert headers[name] == value, (name, response.status_code, response.mimetype)
    assert ("Strict-Transport-Security" in headers) is hsts


@pytest.mark.parametrize("path, status, mimetype", [
    ("/health", 200, "application/json"),
    ("/api/health", 200, "application/json"),
    ("/openapi.json", 200, "application/json"),
    ("/docs", 200, "text/html"),
    ("/no-such-route", 404, "application/json"),       # a routing 404
    ("/org/settings", 400, "application/json"),        # an error raised before any view (missing_orgid)
])
def test_every_kind_of_answer_carries_the_security_headers(app, path, status, mimetype):
    response = app.test_client().get(path)
    assert (response.status_code, response.mimetype) == (status, mimetype)
    assert_protected(response)


def test_json_errors_and_files_carry_them_too(tenant):
    fan = tenant.customer()
    event, ticket_type = make_event(tenant)
    (ticket,) = issue(tenant, ticket_type, email=fan.email, customer_id=fan.customer_id)
    png = fan.get(f"/client/events/tickets/{ticket.id}/qr")
    assert png.mimetype == "image/png"
    assert_protected(png)
    _, (mailed,) = make_tickets(tenant.orgid, 1, email_to=fan.email, customer_id=fan.customer_id)
    pdf = fan.get(f"/client/events/tickets/{mailed.id}/pdf")
    assert pdf.mimetype == "application/pdf"
    assert_protected(pdf)
    assert_protected(tenant.staff.get("/org/settings"))
    refused = tenant.staff.patch("/org/settings", json={"holdMinutes": 0})
    assert refused.status_code == 422
    assert_protected(refused)


def test_hsts_only_over_https_and_forwarded_proto_ignored_without_a_trusted_proxy(app):
    client = app.test_client()
    assert_protected(client.get("/health", base_url="https://api.example"), hsts=True)
    assert client.get("/health", base_url="https://api.example").headers["Strict-Transport-Security"] \
        == "max-age=31536000"
    assert_protected(client.get("/health"))  # plain http: no HSTS
    assert_protected(client.get("/health", headers={"X-Forwarded-Proto": "https"}))  # anyone can send it


def small_app(trusted_proxies: int = 0, org: Org | None = None) -> Flask:
    """A bare Flask app with only the header registration, a plain view and an embeddable one."""
    app = Flask("headers-test")
    register_http_headers(app, trusted_proxies)

    @app.before_request
    def _tenant():
        g.org = org

    app.add_url_rule("/plain", "plain", lambda: {"ok": True})
    app.add_url_rule("/page", "page", embeddable(lambda: "<p>hosted page</p>"))
    return app


def test_a_trusted_proxy_setting_honours_forwarded_proto():
    assert Config.from_env({"BOXOFFICE_TRUSTED_PROXIES": "1"}).trusted_proxies == 1
    assert Config.from_env({}).trusted_proxies == 0
    behind_proxy = small_app(trusted_proxies=1).test_client()
    assert_protected(behind_proxy.get("/plain", headers={"X-Forwarded-Proto": "https"}), hsts=True)
    assert_protected(behind_proxy.get("/plain", headers={"X-Forwarded-Proto": "http"}))
    assert_protected(small_app().test_client().get("/plain", headers={"X-Forwarded-Proto": "https"}))


def test_embeddable_views_let_only_the_tenants_embed_origins_frame_them():
    org = Org(id="embedder", settings={"embed_origins": ["https://shop.example", "https://blog.example:8443"]})
    client = small_app(org=org).test_client()
    page = client.get("/page")
    assert page.headers["Content-Security-Policy"] == "frame-ancestors https://shop.example https://blog.example:8443"
    assert "X-Frame-Options" not in page.headers
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert_protected(client.get("/plain"))  # the tenant's origins open only views marked embeddable
    assert_protected(small_app(org=Org(id="plain", settings={})).test_client().get("/page"))  # no origins: DENY
    assert_protected(small_app(org=None).test_client().get("/page"))  # no tenant: DENY


def test_unknown_org_shows_a_short_orgid(app):
    long_orgid = "x" * 4096
    response = app.test_client().get("/org/settings", headers={"orgid": long_orgid})
    assert response.status_code == 404
    body = response.get_json()
    assert body["type"] == "unknown_org"
    assert "x" * 64 + "..." in body["message"] and "x" * 65 not in body["message"]
    assert len(response.data) < 400
    short = app.test_client().get("/org/settings", headers={"orgid": "no-such-org"}).get_json()
    assert "'no-such-org'" in short["message"]
