"""A tenant's admins manage its staff API keys (`/org/api-keys`, issue 17 item 3), through the HTTP API: an
officer key they issue checks in and is refused elsewhere; a staff key granted `officer` acts as an officer from
its next request (sent directly and as a token exchanged before); revocation; the key an admin calls with can be
neither revoked nor demoted; other roles are refused; another tenant's key is 404."""

from __future__ import annotations

from test_usernames_officers import _allowed, _door_world, _refused_elsewhere, token_client

from core import db as database
from core.models import ApiKey

KEYS = "/org/api-keys"


def issue_key(tenant, role="staff", scopes=None, client=None) -> dict:
    body = {"name": f"{role} key", "role": role, **({"scopes": scopes} if scopes else {})}
    response = (client or tenant.staff).post(KEYS, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def exchanged(tenant, key: str):
    answer = tenant.guest.post("/auth/token", json={"apiKey": key})
    assert answer.status_code == 200, answer.get_json()
    return tenant.guest.as_token(answer.get_json()["token"])


def test_an_admin_issues_an_officer_key_that_checks_in_and_nothing_else(tenant):
    event, (first, second) = _door_world(tenant)
    created = issue_key(tenant, "officer")
    assert set(created) == {"id", "name", "role", "scopes", "apiKey"} and created["role"] == "officer"
    assert created["apiKey"].startswith("bo_")
    officer = token_client(tenant, created["apiKey"])
    assert officer.get("/auth/me").get_json()["officer"] is True
    _allowed(officer, tenant, event.id, first)
    assert officer.post(f"/events/check-in/{first.id}/undo", json={}).status_code == 200
    _refused_elsewhere(officer, event.id, first.id)
    assert officer.get(KEYS).get_json()["type"] == "forbidden_role"

    listed = tenant.staff.get(KEYS)
    assert listed.status_code == 200
    rows = listed.get_json()
    assert rows[0]["id"] == created["id"] and rows[0]["role"] == "officer" and rows[0]["revokedAt"] is None
    assert created["apiKey"].startswith(rows[0]["prefix"]) and rows[0]["lastUsedAt"] is not None
    assert all(set(row) == {"id", "name", "role", "scopes", "prefix", "createdAt", "lastUsedAt", "revokedAt"}
               for row in rows)
    with database.db.connection_context():
        digest = ApiKey.get_by_id(created["id"]).key_hash
    assert digest not in listed.get_data(as_text=True) and created["apiKey"] not in listed.get_data(as_text=True)


def test_bad_input_is_refused_and_changes_nothing(tenant):
    before = tenant.staff.get(KEYS).get_json()
    for body in ({"name": "x", "role": "root"}, {"role": "staff"}, {"name": ""}, {"name": "x", "scopes": []},
                 {"name": "x", "scopes": ["everything"]}):
        answer = tenant.staff.post(KEYS, json=body)
        assert answer.status_code == 422 and answer.get_json()["type"], body
    key = issue_key(tenant)
    for body in ({"role": "root"}, {"scopes": []}, {"name": ""}, {"name": "x" * 201}):
        answer = tenant.staff.patch(f"{KEYS}/{key['id']}", json=body)
        assert answer.status_code == 422, body
    assert len(tenant.staff.get(KEYS).get_json()) == len(before) + 1
    assert tenant.staff.get(KEYS).get_json()[0]["role"] == "staff"


def test_a_staff_key_granted_officer_is_an_officer_on_its_next_request(tenant):
    event, (first, _) = _door_world(tenant)
    key = issue_key(tenant, "staff")
    direct = token_client(tenant, key["apiKey"])
    as_jwt = exchanged(tenant, key["apiKey"])
    assert direct.get("/events").status_code == 200 and as_jwt.get("/events").status_code == 200

    granted = tenant.staff.patch(f"{KEYS}/{key['id']}", json={"role": "officer", "name": "door 1"})
    assert granted.status_code == 200, granted.get_json()
    assert granted.get_json()["role"] == "officer" and granted.get_json()["name"] == "door 1"
    for client in (direct, as_jwt):
        me = client.get("/auth/me").get_json()
        assert me["role"] == "officer" and me["officer"] is True
        _refused_elsewhere(client, event.id, first.id)
    _allowed(direct, tenant, event.id, first)
    assert as_jwt.get(f"/events/tickets/{first.id}").status_code == 200

    # scopes narrowed: the key and its token lose the scope at once; back to staff, both are staff again
    narrowed = tenant.staff.patch(f"{KEYS}/{key['id']}", json={"role": "staff", "scopes": ["read"]})
    assert narrowed.get_json()["scopes"] == ["read"]
    for client in (direct, as_jwt):
        assert client.get("/events").status_code == 200
        refused = client.post("/venues", json={"name": "Hall", "tz": "UTC"})
        assert refused.status_code == 403 and refused.get_json()["type"] == "insufficient_scope"
        assert client.get("/auth/me").get_json()["scopes"] == ["read"]


def test_revoking_a_key_stops_it_and_its_tokens_and_repeating_is_harmless(tenant):
    key = issue_key(tenant, "admin")
    direct, as_jwt = token_client(tenant, key["apiKey"]), exchanged(tenant, key["apiKey"])
    assert direct.get(KEYS).status_code == 200  # an admin key manages keys too
    revoked = tenant.staff.delete(f"{KEYS}/{key['id']}")
    assert revoked.status_code == 200 and revoked.get_json()["revokedAt"]
    again = tenant.staff.delete(f"{KEYS}/{key['id']}")
    assert again.status_code == 200 and again.get_json()["revokedAt"] == revoked.get_json()["revokedAt"]
    for client in (direct, as_jwt):
        answer = client.get("/auth/me")
        assert answer.status_code == 401 and answer.get_json()["type"] == "api_key_revoked"
    changed = tenant.staff.patch(f"{KEYS}/{key['id']}", json={"role": "staff"})
    assert changed.status_code == 409 and changed.get_json()["type"] == "api_key_revoked_already"
    listed = {row["id"]: row for row in tenant.staff.get(KEYS).get_json()}
    assert listed[key["id"]]["revokedAt"] == revoked.get_json()["revokedAt"] and listed[key["id"]]["role"] == "admin"


def test_an_admin_cannot_revoke_or_demote_the_key_it_calls_with(tenant):
    key = issue_key(tenant, "admin")
    for client in (token_client(tenant, key["apiKey"]), exchanged(tenant, key["apiKey"])):
        for method, body in (("DELETE", None), ("PATCH", {"role": "staff"}), ("PATCH", {"role": "officer"}),
                             ("PATCH", {"scopes": ["read", "checkin"]})):
            answer = client.request(method, f"{KEYS}/{key['id']}", json=body)
            assert answer.status_code == 409 and answer.get_json()["type"] == "own_api_key", (method, body)
        renamed = client.patch(f"{KEYS}/{key['id']}", json={"name": "my own key"})  # harmless: allowed
        assert renamed.status_code == 200 and renamed.get_json()["role"] == "admin"
        assert client.get(KEYS).status_code == 200
    # another admin may
    assert tenant.staff.patch(f"{KEYS}/{key['id']}", json={"role": "staff"}).get_json()["role"] == "staff"
    assert tenant.staff.delete(f"{KEYS}/{key['id']}").status_code == 200


def test_staff_officer_and_customer_are_refused_and_another_tenants_key_is_404(tenant, other_tenant):
    staff_key = issue_key(tenant, "staff")
    officer_key = issue_key(tenant, "officer")
    no_admin_scope = issue_key(tenant, "admin", scopes=["read", "events", "orders", "checkin"])
    callers = [(token_client(tenant, staff_key["apiKey"]), "forbidden_role"),
               (exchanged(tenant, staff_key["apiKey"]), "forbidden_role"),
               (token_client(tenant, officer_key["apiKey"]), "forbidden_role"),
               (tenant.customer(), "forbidden_role"),
               (token_client(tenant, no_admin_scope["apiKey"]), "insufficient_scope")]
    for client, kind in callers:
        for method, path, body in (("GET", KEYS, None), ("POST", KEYS, {"name": "mine", "role": "admin"}),
                                   ("PATCH", f"{KEYS}/{staff_key['id']}", {"role": "admin"}),
                                   ("DELETE", f"{KEYS}/{officer_key['id']}", None)):
            answer = client.request(method, path, json=body)
            assert answer.status_code == 403 and answer.get_json()["type"] == kind, (method, path, kind)
    assert tenant.guest.get(KEYS).status_code == 401
    rows = {row["id"]: row for row in tenant.staff.get(KEYS).get_json()}
    assert rows[staff_key["id"]]["role"] == "staff" and rows[officer_key["id"]]["revokedAt"] is None

    theirs = issue_key(other_tenant, "staff", client=other_tenant.staff)
    for method, body in (("PATCH", {"role": "officer"}), ("DELETE", None)):
        answer = tenant.staff.request(method, f"{KEYS}/{theirs['id']}", json=body)
        assert answer.status_code == 404 and answer.get_json()["type"] == "api_key_not_found"
    assert tenant.staff.patch(f"{KEYS}/no-such-key", json={"name": "x"}).get_json()["type"] == "api_key_not_found"
    assert theirs["id"] not in {row["id"] for row in tenant.staff.get(KEYS).get_json()}
    mine = {row["id"]: row for row in other_tenant.staff.get(KEYS).get_json()}[theirs["id"]]
    assert mine["role"] == "staff" and mine["revokedAt"] is None
    assert token_client(other_tenant, theirs["apiKey"]).get("/events").status_code == 200


def test_operator_and_tenant_admin_see_the_same_keys(tenant, operator):
    made = operator.post(f"/operator/tenants/{tenant.orgid}/api-keys", json={"name": "ops", "role": "officer"})
    assert made.status_code == 201
    mine = issue_key(tenant, "staff")
    ops_view = operator.get(f"/operator/tenants/{tenant.orgid}/api-keys").get_json()
    assert ops_view == tenant.staff.get(KEYS).get_json()
    assert [row["id"] for row in ops_view[:2]] == [mine["id"], made.get_json()["id"]]
    assert tenant.staff.delete(f"{KEYS}/{made.get_json()['id']}").status_code == 200
    listed = {row["id"]: row for row in operator.get(f"/operator/tenants/{tenant.orgid}/api-keys").get_json()}
    assert listed[made.get_json()["id"]]["revokedAt"] is not None


def test_a_role_changed_by_another_worker_is_seen_at_its_next_re_read(tenant, monkeypatch):
    from core import api_keys

    key = issue_key(tenant, "staff")
    direct, as_jwt = token_client(tenant, key["apiKey"]), exchanged(tenant, key["apiKey"])
    assert direct.get("/events").status_code == 200 and as_jwt.get("/events").status_code == 200
    with database.db.connection_context():  # another worker's change: this process is not told
        ApiKey.update(role="officer").where(ApiKey.id == key["id"]).execute()
    monkeypatch.setattr(api_keys._GRANTS, "seconds", 0.0)
    monkeypatch.setattr(api_keys._REVOKED, "seconds", 0.0)
    for client in (direct, as_jwt):
        answer = client.get("/events")
        assert answer.status_code == 403 and answer.get_json()["type"] == "forbidden_role"
