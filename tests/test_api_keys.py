"""Staff API keys used directly: `Authorization: Token <key>` (003) and `Authorization: Bearer <key>` (002) name
their tenant (no `orgid`), hold scopes every staff route checks, are throttled when wrong like /auth/token, and
record their last use at most once a minute per key and process.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets

import pytest
from test_throttle import PER_ACCOUNT, PER_ADDRESS, address, assert_rate_limited, low_limits  # noqa: F401

from core import api_keys
from core.auth import STAFF_ROLES, require_role
from core.models import ApiKey, utcnow

VENUE = {"name": "Key Hall", "city": "Lyon", "country": "FR", "tz": "Europe/Paris"}


@pytest.fixture
def operator(app, config):
    """Call the operator API in-process with the operator token."""
    client = app.test_client()

    def call(method, path, json=None):
        return client.open(f"/operator{path}", method=method, json=json,
                           headers={"Authorization": f"Bearer {config.operator_token}"})

    return call


def new_key(operator, tenant, scopes=None, role="staff") -> dict:
    body = {"name": f"key-{secrets.token_hex(3)}", "role": role} | ({"scopes": scopes} if scopes else {})
    created = operator("POST", f"/tenants/{tenant.orgid}/api-keys", body)
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def call(app, method, path, authorization, orgid=None, json=None, **kwargs):
    headers = {"Authorization": authorization} | ({"orgid": orgid} if orgid else {})
    return app.test_client().open(path, method=method, json=json, headers=headers, **kwargs)


def test_token_and_bearer_keys_work_without_orgid(app, tenant, operator):
    key = new_key(operator, tenant)
    assert key["scopes"] == list(api_keys.SCOPES)
    for authorization in (f"Token {key['apiKey']}", f"Bearer {key['apiKey']}"):
        venue = call(app, "POST", "/venues", authorization, json=VENUE)
        assert venue.status_code == 201, venue.get_json()
        listed = call(app, "GET", "/venues", authorization).get_json()
        assert venue.get_json()["data"]["id"] in {row["id"] for row in listed["data"]}
    me = call(app, "GET", "/auth/me", f"Token {key['apiKey']}").get_json()
    assert me == {"sub": f"key:{key['id']}", "org": tenant.orgid, "role": "staff", "email": key["name"],
                  "scopes": list(api_keys.SCOPES), "officer": False}
    # The matching `orgid` header is fine too; the venue was made in the key's tenant.
    assert call(app, "GET", "/venues", f"Token {key['apiKey']}", orgid=tenant.orgid).status_code == 200
    assert len(tenant.staff.get("/venues").get_json()["data"]) == 2


def test_key_of_another_tenant_is_refused_and_jwt_still_needs_orgid(app, tenant, other_tenant, operator):
    key = new_key(operator, tenant)
    mismatch = call(app, "GET", "/venues", f"Token {key['apiKey']}", orgid=other_tenant.orgid)
    assert mismatch.status_code == 403 and mismatch.get_json()["type"] == "org_mismatch"
    no_orgid = call(app, "GET", "/venues", f"Bearer {tenant.staff_token}")
    assert no_orgid.status_code == 400 and no_orgid.get_json()["type"] == "missing_orgid"
    assert call(app, "GET", "/venues", f"Bearer {tenant.staff_token}", orgid=tenant.orgid).status_code == 200


def test_wrong_and_revoked_keys(app, tenant, operator, monkeypatch):
    wrong = call(app, "GET", "/venues", "Token bo_" + secrets.token_urlsafe(32), **address())
    assert wrong.status_code == 401 and wrong.get_json()["type"] == "invalid_token"
    key = new_key(operator, tenant)
    assert call(app, "GET", "/venues", f"Token {key['apiKey']}").status_code == 200
    assert operator("DELETE", f"/tenants/{tenant.orgid}/api-keys/{key['id']}").status_code == 200
    revoked = call(app, "GET", "/venues", f"Token {key['apiKey']}", **address())
    assert revoked.status_code == 401 and revoked.get_json()["type"] == "api_key_revoked"
    # Revoked by another process: this one sees it at its next re-read (REVOCATION_SECONDS; now, here).
    other = new_key(operator, tenant)
    assert call(app, "GET", "/venues", f"Bearer {other['apiKey']}").status_code == 200
    with app.app_context():
        ApiKey.update(revoked_at=utcnow()).where(ApiKey.id == other["id"]).execute()
    assert call(app, "GET", "/venues", f"Bearer {other['apiKey']}").status_code == 200  # within the bound
    monkeypatch.setattr(api_keys._GRANTS, "seconds", 0.0)
    refused = call(app, "GET", "/venues", f"Bearer {other['apiKey']}", **address())
    assert refused.status_code == 401 and refused.get_json()["type"] == "api_key_revoked"


def test_wrong_header_keys_are_throttled_with_the_exchange(app, tenant, operator, low_limits):  # noqa: F811
    prefix = tenant.admin_api_key[:10]
    first = address()
    for _ in range(PER_ACCOUNT):
        wrong = call(app, "GET", "/events", f"Token {prefix}{secrets.token_urlsafe(20)}", **first)
        assert wrong.status_code == 401
    # The same key prefix, from another address, on /auth/token: the counters are shared.
    exchange = tenant.guest.post("/auth/token", json={"apiKey": prefix + "z" * 20}, **address())
    assert_rate_limited(exchange)
    for n in range(PER_ADDRESS - PER_ACCOUNT):
        assert call(app, "GET", "/venues", f"Bearer bo_{n}{'x' * 20}", **first).status_code == 401
    # This address is past its limit: even a right key it never used before is refused, wherever it is sent.
    fresh = new_key(operator, tenant)
    assert_rate_limited(call(app, "GET", "/venues", f"Token {fresh['apiKey']}", **first))
    assert_rate_limited(tenant.guest.post("/auth/token", json={"apiKey": "bo_new" + "y" * 20}, **first))
    assert call(app, "GET", "/venues", f"Token {fresh['apiKey']}", **address()).status_code == 200


def test_scopes_limit_keys_and_tokens_exchanged_from_them(app, tenant, operator):
    reader = new_key(operator, tenant, ["read"])
    assert reader["scopes"] == ["read"]
    assert call(app, "GET", "/venues", f"Token {reader['apiKey']}").status_code == 200
    refused = call(app, "POST", "/venues", f"Token {reader['apiKey']}", json=VENUE)
    assert refused.status_code == 403
    assert refused.get_json()["type"] == "insufficient_scope" and refused.get_json()["scope"] == "events"
    exchanged = tenant.guest.post("/auth/token", json={"apiKey": reader["apiKey"]}).get_json()
    assert exchanged["scopes"] == ["read"]
    as_jwt = tenant.guest.as_token(exchanged["token"])
    assert as_jwt.get("/venues").status_code == 200
    assert as_jwt.post("/venues", json=VENUE).get_json()["type"] == "insufficient_scope"
    assert as_jwt.get("/auth/me").get_json()["scopes"] == ["read"]
    assert len(tenant.staff.get("/venues").get_json()["data"]) == 0

    door = new_key(operator, tenant, ["checkin", "read"])
    assert door["scopes"] == ["read", "checkin"]
    assert call(app, "POST", "/events/check-in", f"Token {door['apiKey']}", json={}).status_code == 422
    denied = call(app, "PATCH", "/org/settings", f"Token {door['apiKey']}", json={})
    assert denied.status_code == 403 and denied.get_json()["type"] == "forbidden_role"
    staff_admin = new_key(operator, tenant, ["read"], role="admin")
    scoped_out = call(app, "PATCH", "/org/settings", f"Token {staff_admin['apiKey']}", json={})
    assert scoped_out.get_json()["scope"] == "admin"
    # Customers and staff tokens not from a key are not limited by scopes.
    assert tenant.customer().get("/auth/me").get_json()["scopes"] is None


def test_creating_keys_checks_scopes(tenant, operator):
    for scopes in ([], ["write"], "read", ["read", 3]):
        bad = operator("POST", f"/tenants/{tenant.orgid}/api-keys", {"name": "x", "scopes": scopes})
        assert bad.status_code == 422, scopes
    assert len(operator("GET", f"/tenants/{tenant.orgid}/api-keys").get_json()) == 1


def test_last_use_written_at_most_once_a_minute(app, tenant, operator, monkeypatch):
    key = new_key(operator, tenant, ["read"])

    def listed() -> dict:
        rows = operator("GET", f"/tenants/{tenant.orgid}/api-keys").get_json()
        return next(row for row in rows if row["id"] == key["id"])

    assert listed()["lastUsedAt"] is None
    writes = []
    real = api_keys.write_transaction
    monkeypatch.setattr(api_keys, "write_transaction", lambda: writes.append(1) or real())
    for n in range(30):
        assert call(app, "GET", "/venues", f"Token {key['apiKey']}" if n % 2 else f"Bearer {key['apiKey']}",
                    ).status_code == 200
    assert len(writes) == 1
    first = listed()["lastUsedAt"]
    assert first is not None
    stamp = dt.datetime.fromisoformat(first.replace("Z", "+00:00")).replace(tzinfo=None)
    assert abs((utcnow() - stamp).total_seconds()) < 5
    # A minute later in this process: written again, unless another worker wrote it within the minute.
    with app.app_context():
        ApiKey.update(last_used_at=utcnow() - dt.timedelta(seconds=30)).where(ApiKey.id == key["id"]).execute()
    api_keys._LAST_USE["key:" + key["id"]] -= api_keys.LAST_USE_SECONDS
    assert call(app, "GET", "/venues", f"Token {key['apiKey']}").status_code == 200
    assert len(writes) == 2 and listed()["lastUsedAt"] != first  # the UPDATE matched no row
    old = utcnow() - dt.timedelta(minutes=5)
    with app.app_context():
        ApiKey.update(last_used_at=old).where(ApiKey.id == key["id"]).execute()
    api_keys._LAST_USE["key:" + key["id"]] -= api_keys.LAST_USE_SECONDS
    assert tenant.guest.post("/auth/token", json={"apiKey": key["apiKey"]}).status_code == 200
    assert len(writes) == 3 and listed()["lastUsedAt"] > old.isoformat()


def test_warm_key_costs_no_query(app, tenant, operator, monkeypatch):
    from core import db as database

    key = new_key(operator, tenant, ["read"])
    headers = f"Token {key['apiKey']}"
    assert call(app, "GET", "/auth/me", headers).status_code == 200
    statements = []
    real = database.db.obj.execute_sql
    monkeypatch.setattr(database.db.obj, "execute_sql",
                        lambda sql, *args, **kwargs: statements.append(sql) or real(sql, *args, **kwargs))
    for _ in range(5):
        assert call(app, "GET", "/auth/me", headers).status_code == 200
    assert statements == []


def test_every_staff_operation_declares_its_scope(app):
    spec = app.test_client().get("/openapi.json").get_json()
    schemes = spec["components"]["securitySchemes"]
    for scope in api_keys.SCOPES:
        assert schemes[f"apiKey.{scope}"] == {"type": "apiKey", "in": "header", "name": "Authorization",
                                             "description": schemes[f"apiKey.{scope}"]["description"]}
    declared = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            func = getattr(getattr(view, "view_class", None), method.lower(), view)
            if getattr(func, "required_scope", None):
                declared[(path, method.lower())] = func.required_scope
    staff_operations = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            security = operation.get("security") or []
            key_schemes = [name for requirement in security for name in requirement if name.startswith("apiKey.")]
            scope = declared.get((path, method))
            if scope is None:
                assert not key_schemes, f"{method} {path} has a key scheme but declares no scope"
                continue
            staff_operations += 1
            assert {"bearerAuth": []} in security, f"{method} {path}"
            assert key_schemes == [f"apiKey.{scope}"], f"{method} {path} declares {key_schemes}, needs {scope}"
    # Every operation a staff role may call is one of them (customer-only and public ones have no scope).
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            if operation.get("x-member-sign-in"):   # signed-in members only: no API key, so no scope
                continue
            if (path, method) not in declared and {"bearerAuth": []} in (operation.get("security") or []):
                assert not path.startswith(("/events", "/venues", "/org", "/storefront", "/data")), (method, path)
    assert staff_operations >= 80


def test_a_staff_route_without_a_scope_is_refused_at_import():
    for role in STAFF_ROLES:
        with pytest.raises(TypeError, match="scope"):
            require_role(role)
    with pytest.raises(ValueError, match="Unknown API key scope"):
        require_role("staff", scope="write")
    assert require_role("customer")  # customer routes have no scope
