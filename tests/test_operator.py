"""The operator API (/operator/*) over real HTTP: token guard, tenant provisioning, plugins, settings.

Secrets are shown once (admin API key at creation) and never again; settings come back masked.
"""

from __future__ import annotations

import os

import pytest
import requests


@pytest.fixture
def op(live_server):
    """Call the operator API of the live server with the right token (or `token=` to override)."""

    def call(method, path, json=None, token=None, headers=None):
        token = os.environ["BOXOFFICE_OPERATOR_TOKEN"] if token is None else token
        all_headers = {"Authorization": f"Bearer {token}"} if token else {}
        all_headers.update(headers or {})
        return requests.request(method, live_server.url + path, json=json, headers=all_headers, timeout=30)

    return call


def _api(live_server, method, path, orgid, token=None, json=None):
    headers = {"orgid": orgid}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, live_server.url + path, json=json, headers=headers, timeout=30)


def _operator_routes(app):
    """Every (method, concrete path) of the operator API, with placeholder ids filled in."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/operator"):
            continue
        path = rule.rule.replace("<org_id>", "demo-x").replace("<plugin>", "offline")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, path))
    return routes


def test_every_operator_route_refuses_a_missing_or_wrong_token(app, op, tenant):
    routes = _operator_routes(app)
    assert len(routes) >= 9
    for method, path in routes:
        for token in ("", "wrong-token", tenant.staff_token):
            response = op(method, path, json={"name": "Mallory"}, token=token)
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["Content-Type"] == "application/json"
            assert response.json()["type"] == "invalid_operator_token"
    basic = op("GET", "/operator/tenants", token=None,
               headers={"Authorization": f"Basic {os.environ['BOXOFFICE_OPERATOR_TOKEN']}"})
    assert basic.status_code == 401
    names = [t["name"] for t in op("GET", "/operator/tenants").json()]
    assert "Mallory" not in names  # nothing was created by the refused calls


def test_create_tenant_shows_the_admin_key_once(live_server, op):
    created = op("POST", "/operator/tenants", json={"name": "Jazz Club", "timezone": "Europe/Paris"})
    assert created.status_code == 201, created.text
    body = created.json()
    orgid, key = body["orgid"], body["adminApiKey"]
    assert orgid.startswith("jazz-club-") and key.startswith("bo_")
    assert body["plugins"] == ["offline"] and body["timezone"] == "Europe/Paris"
    assert body["publicKey"] and "private" not in created.text.lower()

    # The key works (exchanged for an admin JWT bound to this org)...
    token = _api(live_server, "POST", "/auth/token", orgid, json={"apiKey": key})
    assert token.status_code == 200 and token.json()["role"] == "admin"
    me = _api(live_server, "GET", "/auth/me", orgid, token=token.json()["token"]).json()
    assert me["org"] == orgid

    # ...and is never shown again, neither in the listing nor in the tenant itself.
    listing = op("GET", "/operator/tenants")
    one = op("GET", f"/operator/tenants/{orgid}")
    assert listing.status_code == one.status_code == 200
    assert orgid in [t["orgid"] for t in listing.json()]
    for response in (listing, one):
        assert key not in response.text and "adminApiKey" not in response.text
        assert "signing_private_key" not in response.text


def test_create_tenant_rejects_bad_input(op):
    first = op("POST", "/operator/tenants", json={"name": "Chosen", "orgId": "chosen-org-x1"})
    assert first.status_code == 201 and first.json()["orgid"] == "chosen-org-x1"
    cases = [
        ({"name": "Again", "orgId": "chosen-org-x1"}, 409, "tenant_exists"),
        ({"name": "Bad id", "orgId": "Not An Id!"}, 422, "validation_error"),
        ({"name": ""}, 422, "validation_error"),
        ({"name": "Zoned", "timezone": "Mars/Olympus"}, 422, "invalid_timezone"),
        ({"name": "Plugged", "plugins": ["offline", "no-such-plugin"]}, 422, "unknown_plugin"),
        ({"name": "Extra", "evil": True}, 422, "validation_error"),
    ]
    for body, status, type_ in cases:
        response = op("POST", "/operator/tenants", json=body)
        assert (response.status_code, response.json()["type"]) == (status, type_), body
    names = [t["name"] for t in op("GET", "/operator/tenants").json()]
    assert not {"Again", "Zoned", "Plugged", "Extra"} & set(names)
    accented = op("POST", "/operator/tenants", json={"name": "Café Ünïcode"})
    assert accented.json()["orgid"].startswith("cafe-unicode-")


def test_unknown_org_and_unknown_plugin_are_404(op, tenant):
    org_paths = [("GET", "/operator/tenants/nope-org"), ("PATCH", "/operator/tenants/nope-org"),
                 ("POST", "/operator/tenants/nope-org/api-keys"),
                 ("POST", "/operator/tenants/nope-org/plugins/offline/enable"),
                 ("POST", "/operator/tenants/nope-org/plugins/offline/disable"),
                 ("GET", "/operator/tenants/nope-org/plugins/offline/settings"),
                 ("PATCH", "/operator/tenants/nope-org/plugins/offline/settings")]
    bodies = {"PATCH": {"name": "x"}, "POST": {"name": "x"}}
    for method, path in org_paths:
        body = {"a": "b"} if path.endswith("settings") else bodies.get(method)
        response = op(method, path, json=body)
        assert (response.status_code, response.json()["type"]) == (404, "unknown_org"), (method, path)
    base = f"/operator/tenants/{tenant.orgid}/plugins/no-such-plugin"
    for method, suffix, body in [("POST", "/enable", None), ("POST", "/disable", None),
                                 ("GET", "/settings", None), ("PATCH", "/settings", {"a": "b"})]:
        response = op(method, base + suffix, json=body)
        assert (response.status_code, response.json()["type"]) == (404, "unknown_plugin"), suffix


def test_enable_and_disable_a_plugin(op, tenant):
    off = op("POST", f"/operator/tenants/{tenant.orgid}/plugins/offline/disable")
    assert off.json() == {"plugin": "offline", "enabled": False}
    assert op("GET", f"/operator/tenants/{tenant.orgid}").json()["plugins"] == []
    overview = {p["name"]: p for p in op("GET", "/operator/plugins").json()}
    assert tenant.orgid not in overview["offline"]["tenants"]
    on = op("POST", f"/operator/tenants/{tenant.orgid}/plugins/offline/enable")
    assert on.json() == {"plugin": "offline", "enabled": True}
    assert op("GET", f"/operator/tenants/{tenant.orgid}").json()["plugins"] == ["offline"]


def test_plugin_settings_are_masked_on_read(op, tenant):
    path = f"/operator/tenants/{tenant.orgid}/plugins/offline/settings"
    secret = "sk_live_0123456789abcdefWXYZ"
    written = op("PATCH", path, json={"instructions": "Pay cash at the door", "secret_key": secret,
                                      "webhook_token": "short"})
    assert written.status_code == 200, written.text
    expected = {"instructions": "Pay cash at the door", "secret_key": "****WXYZ", "webhook_token": "****"}
    assert written.json() == expected
    read = op("GET", path)
    assert read.json() == expected and secret not in read.text
    # The plugin itself sees the real value.
    from core import db as database
    from core.plugins import plugin_settings

    with database.db.connection_context():
        assert plugin_settings(tenant.orgid, "offline")["secret_key"] == secret
    removed = op("PATCH", path, json={"secret_key": "", "webhook_token": None})
    assert removed.json() == {"instructions": "Pay cash at the door"}
    nested = op("PATCH", path, json={"instructions": {"not": "a string"}})
    assert nested.status_code == 422 and nested.json()["type"] == "invalid_setting"


def test_api_key_is_shown_once_and_works(live_server, op, tenant):
    response = op("POST", f"/operator/tenants/{tenant.orgid}/api-keys", json={"name": "door scanner"})
    assert response.status_code == 201
    body = response.json()
    assert body["role"] == "staff" and body["apiKey"].startswith("bo_")
    token = _api(live_server, "POST", "/auth/token", tenant.orgid, json={"apiKey": body["apiKey"]}).json()
    assert token["role"] == "staff"
    bad_role = op("POST", f"/operator/tenants/{tenant.orgid}/api-keys", json={"name": "x", "role": "root"})
    assert bad_role.status_code == 422


def test_deactivated_tenant_gets_404_until_reactivated(live_server, op, tenant):
    assert _api(live_server, "GET", "/auth/me", tenant.orgid, token=tenant.staff_token).status_code == 200
    off = op("PATCH", f"/operator/tenants/{tenant.orgid}", json={"active": False})
    assert off.status_code == 200 and off.json()["active"] is False
    refused = _api(live_server, "GET", "/auth/me", tenant.orgid, token=tenant.staff_token)
    assert refused.status_code == 404 and refused.json()["type"] == "unknown_org"
    login = _api(live_server, "POST", "/auth/token", tenant.orgid, json={"apiKey": tenant.admin_api_key})
    assert login.status_code == 404
    on = op("PATCH", f"/operator/tenants/{tenant.orgid}", json={"active": True, "holdMinutes": 15})
    assert on.json()["active"] is True and on.json()["holdMinutes"] == 15
    assert _api(live_server, "GET", "/auth/me", tenant.orgid, token=tenant.staff_token).status_code == 200
    empty = op("PATCH", f"/operator/tenants/{tenant.orgid}", json={})
    assert empty.status_code == 422


def test_api_keys_are_listed_and_a_revoked_key_stops_its_tokens(live_server, op, tenant, other_tenant):
    created = op("POST", f"/operator/tenants/{tenant.orgid}/api-keys", json={"name": "door 3"}).json()
    token = _api(live_server, "POST", "/auth/token", tenant.orgid, json={"apiKey": created["apiKey"]}).json()["token"]
    assert _api(live_server, "GET", "/auth/me", tenant.orgid, token=token).status_code == 200

    listed = op("GET", f"/operator/tenants/{tenant.orgid}/api-keys").json()
    mine = next(k for k in listed if k["id"] == created["id"])
    assert mine["name"] == "door 3" and mine["revokedAt"] is None and created["apiKey"].startswith(mine["prefix"])
    assert all("apiKey" not in k and "key_hash" not in k for k in listed)

    # another tenant's key id is not this tenant's to revoke
    foreign = op("DELETE", f"/operator/tenants/{other_tenant.orgid}/api-keys/{created['id']}")
    assert foreign.status_code == 404 and foreign.json()["type"] == "unknown_api_key"
    assert _api(live_server, "GET", "/auth/me", tenant.orgid, token=token).status_code == 200

    revoked = op("DELETE", f"/operator/tenants/{tenant.orgid}/api-keys/{created['id']}")
    assert revoked.status_code == 200 and revoked.json()["revokedAt"]
    again = op("DELETE", f"/operator/tenants/{tenant.orgid}/api-keys/{created['id']}")
    assert again.status_code == 200 and again.json()["revokedAt"] == revoked.json()["revokedAt"]

    refused = _api(live_server, "GET", "/auth/me", tenant.orgid, token=token)
    assert refused.status_code == 401 and refused.json()["type"] == "api_key_revoked"
    exchange = _api(live_server, "POST", "/auth/token", tenant.orgid, json={"apiKey": created["apiKey"]})
    assert exchange.status_code == 401 and exchange.json()["type"] == "invalid_api_key"
    # the tenant's other staff keep working
    assert _api(live_server, "GET", "/auth/me", tenant.orgid, token=tenant.staff_token).status_code == 200
