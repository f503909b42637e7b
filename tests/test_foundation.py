"""Foundation behaviour: tenancy headers, auth flows, error envelope, OpenAPI, /api prefix."""


def test_health_needs_no_tenant(app):
    client = app.test_client()
    assert client.get("/health").get_json() == {"ok": True}
    assert client.get("/api/health").get_json() == {"ok": True}


def test_missing_orgid_is_400(app):
    response = app.test_client().post("/client/auth/login", json={"email": "a@b.co", "password": "x"})
    assert response.status_code == 400
    assert response.get_json()["type"] == "missing_orgid"


def test_unknown_orgid_is_404(app):
    response = app.test_client().post("/client/auth/login", json={"email": "a@b.co", "password": "x"},
                                      headers={"orgid": "no-such-org"})
    assert response.status_code == 404
    assert response.get_json()["type"] == "unknown_org"


def test_customer_register_login_and_duplicate(tenant):
    guest = tenant.guest
    first = guest.post("/client/auth/register", json={"email": "Ana@Example.com", "password": "s3cret-pass"})
    assert first.status_code == 201
    assert first.get_json()["customer"]["email"] == "ana@example.com"
    again = guest.post("/client/auth/register", json={"email": "ana@example.com", "password": "other-pass"})
    assert again.status_code == 409 and again.get_json()["type"] == "email_taken"
    ok = guest.post("/client/auth/login", json={"email": "ana@example.com", "password": "s3cret-pass"})
    assert ok.status_code == 200 and ok.get_json()["token"]
    wrong_pw = guest.post("/client/auth/login", json={"email": "ana@example.com", "password": "nope-nope"})
    wrong_user = guest.post("/client/auth/login", json={"email": "bob@example.com", "password": "s3cret-pass"})
    assert wrong_pw.status_code == wrong_user.status_code == 401
    assert wrong_pw.get_json() == wrong_user.get_json()


def test_token_of_other_org_is_403(tenant, other_tenant):
    foreign = other_tenant.staff.token
    response = tenant.guest.as_token(foreign).get("/auth/me")
    assert response.status_code == 403
    assert response.get_json()["type"] == "org_mismatch"


def test_bad_json_and_unknown_fields_are_clear_4xx(tenant):
    bad = tenant.guest.post("/client/auth/login", data="{oops", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.get_json()["type"] == "invalid_json"
    extra = tenant.guest.post("/client/auth/login", json={"email": "a@b.co", "password": "x", "evil": 1})
    assert extra.status_code == 422 and extra.get_json()["type"] == "validation_error"
    assert "evil" in extra.get_json()["errors"]["json"]


def test_api_key_exchange(tenant):
    bad = tenant.guest.post("/auth/token", json={"apiKey": "bo_not-a-real-key"})
    assert bad.status_code == 401 and bad.get_json()["type"] == "invalid_api_key"
    me = tenant.staff.get("/auth/me").get_json()
    assert me["role"] == "admin" and me["org"] == tenant.orgid


def test_openapi_and_docs(app):
    client = app.test_client()
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/client/auth/login" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_expired_tokens_are_refused_even_after_a_successful_use(tenant, config, monkeypatch):
    from core import auth

    stale = auth.issue_token(config.secret_key, sub="s", org=tenant.orgid, role="staff", ttl_seconds=-5)
    response = tenant.guest.as_token(stale).get("/auth/me")
    assert response.status_code == 401 and response.get_json()["type"] == "token_expired"

    fresh = auth.issue_token(config.secret_key, sub="s", org=tenant.orgid, role="staff", ttl_seconds=60)
    assert tenant.guest.as_token(fresh).get("/auth/me").status_code == 200
    later = auth.time.time() + 120
    monkeypatch.setattr(auth.time, "time", lambda: later)
    again = tenant.guest.as_token(fresh).get("/auth/me")
    assert again.status_code == 401 and again.get_json()["type"] == "token_expired"
