"""The data API (001): /data/event_ticket_type/create|list|get|update|delete, its envelopes, paging,
errors nested at `json.data`, unknown collections and actions, tenant isolation and roles."""

from __future__ import annotations

import pytest
from test_ticket_types import GA_001, count_ticket_types, make_event

BASE = "/data/event_ticket_type"


def data_create(client, event, **overrides):
    return client.post(f"{BASE}/create", json={"data": {"event": event.id, **GA_001, **overrides}})


def data_created(client, event, **overrides) -> dict:
    response = data_create(client, event, **overrides)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def test_create_exactly_as_001_documents_it(tenant):
    event = make_event(tenant)
    response = tenant.staff.post("/data/event_ticket_type/create", json={"data": {
        "event": event.id, "name": "General Admission", "price": 199, "currency": "USD", "capacity": 800,
        "saleStart": "2026-04-01T00:00:00Z", "saleEnd": "2026-09-12T00:00:00Z", "perks": ["lunch", "tote"],
        "allowReentry": True, "reentryLimit": 3, "acceptedScanPoints": ["main-door"], "visibility": "public",
        "transferable": True, "refundPolicy": "until-7-days"}})
    assert response.status_code == 201
    tt = response.get_json()["data"]
    assert tt["eventId"] == event.id and tt["priceMinor"] == 19900 and tt["reentryLimit"] == 3
    # the same record through the staff endpoint
    assert tenant.staff.get(f"/events/ticket-types/{tt['id']}").get_json()["data"] == tt


def test_also_served_under_api_prefix(tenant):
    event = make_event(tenant)
    response = tenant.staff.post("/api/data/event_ticket_type/create", json={"data": {"event": event.id,
                                                                                      "name": "GA"}})
    assert response.status_code == 201


@pytest.mark.parametrize("overrides, field", [
    ({"price": "free"}, "price"),
    ({"price": -10}, "price"),
    ({"capacity": -1}, "capacity"),
    ({"currency": "XYZ"}, "currency"),
    ({"saleEnd": "2026-03-01T00:00:00Z"}, "saleEnd"),
    ({"reentryLimit": 0}, "reentryLimit"),
    ({"order_min": 3, "order_max": 1}, "orderMax"),
    ({"service_fee_percentage": 150}, "serviceFeePercentage"),
    ({"visibility": "invite-only"}, "inviteCode"),
    ({"tz": "Nowhere/Land"}, "tz"),
    ({"pass": True}, "pass"),
    ({"surprise": True}, "surprise"),
])
def test_validation_errors_are_nested_at_json_data(tenant, overrides, field):
    event = make_event(tenant)
    response = data_create(tenant.staff, event, **overrides)
    payload = response.get_json()
    assert response.status_code == 422 and payload["type"] == "validation_error", payload
    errors = payload["errors"]["json"]["data"]
    assert field in errors or (field == "pass" and "isPass" in errors), payload
    assert count_ticket_types(event) == 0


def test_missing_data_or_event(tenant):
    no_data = tenant.staff.post(f"{BASE}/create", json={})
    assert no_data.status_code == 422 and "data" in no_data.get_json()["errors"]["json"]
    no_event = tenant.staff.post(f"{BASE}/create", json={"data": {"name": "GA"}})
    assert no_event.status_code == 422 and "event" in no_event.get_json()["errors"]["json"]["data"]
    for event_id in ("no-such-event", "x" * 500):
        ghost = tenant.staff.post(f"{BASE}/create", json={"data": {"event": event_id, "name": "GA"}})
        assert ghost.status_code == 404 and ghost.get_json()["type"] == "event_not_found"
    for body in ({"data": {"event": "nul\x00id", "name": "GA"}}, {"id": "a\x00b"}):
        nul = tenant.staff.post(f"{BASE}/create" if "data" in body else f"{BASE}/get", json=body)
        assert nul.status_code == 400 and nul.get_json()["type"] == "invalid_characters"


def test_get_update_delete(tenant):
    event = make_event(tenant)
    tt = data_created(tenant.staff, event)
    by_body = tenant.staff.post(f"{BASE}/get", json={"id": tt["id"]})
    by_path = tenant.staff.get(f"{BASE}/{tt['id']}")
    assert by_body.status_code == by_path.status_code == 200
    assert by_body.get_json()["data"]["id"] == by_path.get_json()["data"]["id"] == tt["id"]

    updated = tenant.staff.post(f"{BASE}/update", json={"id": tt["id"], "data": {"price": 150, "quantity": 2}})
    assert updated.status_code == 200
    assert (updated.get_json()["data"]["priceMinor"], updated.get_json()["data"]["quantity"]) == (15000, 2)
    bad = tenant.staff.post(f"{BASE}/update", json={"id": tt["id"], "data": {"saleEnd": "2020-01-01T00:00:00Z"}})
    assert bad.status_code == 422 and "saleEnd" in bad.get_json()["errors"]["json"]["data"]
    moved = tenant.staff.post(f"{BASE}/update", json={"id": tt["id"], "data": {"event": event.id}})
    assert moved.status_code == 422  # a ticket type cannot change events

    deleted = tenant.staff.post(f"{BASE}/delete", json={"id": tt["id"]})
    assert deleted.get_json()["data"] == {"id": tt["id"], "deleted": True, "archived": False}
    gone = tenant.staff.post(f"{BASE}/get", json={"id": tt["id"]})
    assert gone.status_code == 404 and gone.get_json()["type"] == "ticket_type_not_found"


def test_list_filters_and_pages(tenant):
    first, second = make_event(tenant), make_event(tenant)
    ids = [data_created(tenant.staff, first, name=f"T{i}", position=i)["id"] for i in range(3)]
    data_created(tenant.staff, second, name="Other")

    page1 = tenant.staff.post(f"{BASE}/list", json={"filter": {"event": first.id}, "page": 1, "limit": 2})
    assert page1.status_code == 200
    body = page1.get_json()
    assert [t["id"] for t in body["data"]] == ids[:2]
    assert body["meta"] == {"page": 1, "limit": 2, "count": 2, "hasNextPage": True, "nextPage": 2}
    page2 = tenant.staff.get(f"{BASE}/list?event={first.id}&page=2&limit=2").get_json()
    assert [t["id"] for t in page2["data"]] == ids[2:] and page2["meta"]["hasNextPage"] is False

    everything = tenant.staff.post(f"{BASE}/list", json={}).get_json()
    assert len(everything["data"]) == 4
    assert tenant.staff.get(f"{BASE}/list?limit=500").status_code == 422
    assert tenant.staff.post(f"{BASE}/list", json={"page": 0}).status_code == 422
    unknown_event = tenant.staff.post(f"{BASE}/list", json={"filter": {"event": "nope"}})
    assert unknown_event.status_code == 404 and unknown_event.get_json()["type"] == "event_not_found"


def test_unknown_collection_and_action(tenant):
    response = tenant.staff.post("/data/event_ticket/create", json={"data": {}})
    assert response.status_code == 404 and response.get_json()["type"] == "unknown_collection"
    assert tenant.staff.get("/data/nothing/list").get_json()["type"] == "unknown_collection"
    response = tenant.staff.post(f"{BASE}/explode", json={})
    assert response.status_code == 404 and response.get_json()["type"] == "unknown_action"
    assert tenant.guest.post("/data/event_ticket/create", json={}).status_code == 401


def test_other_tenant_cannot_reach_records(tenant, other_tenant):
    event = make_event(tenant)
    tt = data_created(tenant.staff, event)
    staff = other_tenant.staff
    for response in (staff.post(f"{BASE}/get", json={"id": tt["id"]}), staff.get(f"{BASE}/{tt['id']}"),
                     staff.post(f"{BASE}/update", json={"id": tt["id"], "data": {"name": "mine"}}),
                     staff.post(f"{BASE}/delete", json={"id": tt["id"]})):
        assert response.status_code == 404 and response.get_json()["type"] == "ticket_type_not_found"
    assert staff.post(f"{BASE}/list", json={}).get_json()["data"] == []
    assert data_create(staff, event).get_json()["type"] == "event_not_found"
    assert tenant.staff.get(f"{BASE}/{tt['id']}").get_json()["data"]["name"] == "General Admission"


def test_only_staff_may_use_the_data_api(tenant):
    event = make_event(tenant)
    assert data_create(tenant.guest, event).status_code == 401
    customer = tenant.customer()
    assert data_create(customer, event).status_code == 403
    assert customer.get(f"{BASE}/list").status_code == 403
    assert count_ticket_types(event) == 0


def test_data_api_is_documented(app):
    spec = app.test_client().get("/openapi.json").get_json()
    create = spec["paths"][f"{BASE}/create"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "EventTicketTypeCreateRequest")
    assert "201" in create["responses"]
    for action in ("list", "get", "update", "delete"):
        assert f"{BASE}/{action}" in spec["paths"]
    assert "get" in spec["paths"][f"{BASE}/list"] and f"{BASE}/{{record_id}}" in spec["paths"]
