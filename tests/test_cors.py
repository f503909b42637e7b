"""CORS a tenant configures: origins set through /org/settings and the operator API (validated), preflights
answered from the origins any tenant allows, real requests checked against the request's own tenant."""

from __future__ import annotations

import secrets

import pytest

from core import db as database
from core.models import Org

SETTINGS = "/org/settings"


def new_origin() -> str:
    """An origin no other test's tenant allows."""
    return f"https://app-{secrets.token_hex(4)}.example"


def preflight(client, path: str, origin: str, method: str = "PATCH"):
    """A browser's preflight: OPTIONS with Origin and Access-Control-Request-Method, and no orgid."""
    return client.options(path, headers={"Origin": origin, "Access-Control-Request-Method": method,
                                         "Access-Control-Request-Headers": "authorization, content-type, orgid"})


def allow(tenant, *origins: str) -> dict:
    response = tenant.staff.patch(SETTINGS, json={"corsOrigins": list(origins)})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_preflight_from_an_origin_some_tenant_allows(app, tenant):
    origin = new_origin()
    refused = preflight(app.test_client(), SETTINGS, origin)
    assert refused.status_code == 403 and refused.get_json()["type"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in refused.headers

    allow(tenant, origin)  # takes effect at once: the cached union is dropped on change
    answer = preflight(app.test_client(), SETTINGS, origin)
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    assert set(answer.headers["Access-Control-Allow-Methods"].split(", ")) == {"GET", "PATCH"}
    assert answer.headers["Access-Control-Allow-Headers"] == ("orgid, Authorization, Content-Type, Idempotency-Key, "
                                                              "Queue-Pass")
    assert "Origin" in answer.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in answer.headers
    assert answer.headers["X-Content-Type-Options"] == "nosniff"

    other = preflight(app.test_client(), SETTINGS, new_origin())
    assert other.status_code == 403 and "Access-Control-Allow-Origin" not in other.headers
    allow(tenant)  # cleared: refused again
    assert preflight(app.test_client(), SETTINGS, origin).status_code == 403


def test_real_request_gets_acao_only_for_its_own_tenants_origins(tenant, other_tenant):
    origin = new_origin()
    allow(tenant, origin)
    mine = tenant.staff.get(SETTINGS, headers={"Origin": origin})
    assert mine.status_code == 200
    assert mine.headers["Access-Control-Allow-Origin"] == origin
    assert "Origin" in mine.headers["Vary"]
    assert "Retry-After" in mine.headers["Access-Control-Expose-Headers"]

    theirs = other_tenant.staff.get(SETTINGS, headers={"Origin": origin})
    assert theirs.status_code == 200
    assert "Access-Control-Allow-Origin" not in theirs.headers
    assert "Origin" in theirs.headers["Vary"]
    stranger = tenant.staff.get(SETTINGS, headers={"Origin": new_origin()})
    assert "Access-Control-Allow-Origin" not in stranger.headers
    refused = tenant.guest.get("/org/settings", headers={"Origin": origin})  # an error answer, same tenant
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == origin
    assert "Access-Control-Allow-Origin" not in tenant.staff.get(SETTINGS).headers  # no Origin sent


def test_origins_are_normalised_and_shown(tenant):
    body = allow(tenant, "HTTPS://App.Example.com:443", "http://localhost:5173", "https://app.example.com",
                 "http://[::1]:8080")
    assert body["corsOrigins"] == ["https://app.example.com", "http://localhost:5173", "http://[::1]:8080"]
    assert body["embedOrigins"] == []
    assert tenant.staff.get(SETTINGS).get_json()["corsOrigins"] == body["corsOrigins"]


@pytest.mark.parametrize("bad", ["https://app.example/", "https://app.example/path", "ftp://app.example", "*",
                                 "null", "app.example", "https://user@app.example", "https://app.example:99999",
                                 "https://app.example?x=1", "https://exa mple.com", "https://bücher.example", ""])
def test_bad_origins_are_refused_and_change_nothing(tenant, bad):
    allow(tenant, "https://kept.example")
    for field in ("corsOrigins", "embedOrigins"):
        response = tenant.staff.patch(SETTINGS, json={field: ["https://fine.example", bad], "name": "Changed"})
        assert response.status_code == 422, (field, bad)
        assert response.get_json()["type"] in {"invalid_origin", "validation_error"}
        assert field in response.get_json()["errors"] or field in response.get_json()["errors"].get("json", {})
    with database.db.connection_context():
        org = Org.get_by_id(tenant.orgid)
    assert org.name == "Tenant A" and org.settings["cors_origins"] == ["https://kept.example"]
    assert "embed_origins" not in org.settings


def test_too_many_origins_are_refused(tenant):
    response = tenant.staff.patch(SETTINGS, json={"corsOrigins": [f"https://a{i}.example" for i in range(21)]})
    assert response.status_code == 422


def test_operator_sets_and_reads_a_tenants_origins(app, operator, tenant):
    origin = new_origin()
    changed = operator.patch(f"/operator/tenants/{tenant.orgid}",
                             json={"corsOrigins": [origin], "embedOrigins": ["https://blog.example"]})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["corsOrigins"] == [origin]
    assert changed.get_json()["embedOrigins"] == ["https://blog.example"]
    assert operator.get(f"/operator/tenants/{tenant.orgid}").get_json()["corsOrigins"] == [origin]
    assert preflight(app.test_client(), "/auth/me", origin, "GET").status_code == 204
    no_tenant = preflight(app.test_client(), f"/operator/tenants/{tenant.orgid}", origin)  # never cross-origin
    assert no_tenant.status_code == 403 and "Access-Control-Allow-Origin" not in no_tenant.headers
    assert "Access-Control-Allow-Origin" not in operator.get(f"/operator/tenants/{tenant.orgid}",
                                                              headers={"Origin": origin}).headers
    assert tenant.staff.get(SETTINGS, headers={"Origin": origin}).headers["Access-Control-Allow-Origin"] == origin
    bad = operator.patch(f"/operator/tenants/{tenant.orgid}", json={"corsOrigins": ["https://x.example/"]})
    assert bad.status_code == 422 and bad.get_json()["type"] == "invalid_origin"


def test_customers_cannot_set_origins(tenant):
    fan = tenant.customer()
    assert fan.patch(SETTINGS, json={"corsOrigins": [new_origin()]}).status_code in (401, 403)
