"""Staff venues: CRUD, timezone validation, tenant isolation."""


def test_venue_crud_and_isolation(tenant, other_tenant):
    staff = tenant.staff
    created = staff.post("/venues", json={"name": "Hall", "tz": "Europe/Paris", "capacity": 300})
    assert created.status_code == 201
    venue = created.get_json()["data"]
    assert venue["tz"] == "Europe/Paris" and len(venue["id"]) == 36
    assert staff.post("/venues", json={"name": "Bad", "tz": "Nowhere/City"}).status_code == 422
    assert staff.post("/venues", json={"name": "Neg", "capacity": -1}).status_code == 422
    patched = staff.patch(f"/venues/{venue['id']}", json={"city": "Paris"}).get_json()["data"]
    assert patched["city"] == "Paris"
    assert [v["name"] for v in staff.get("/venues").get_json()["data"]] == ["Hall"]
    assert other_tenant.staff.get(f"/venues/{venue['id']}").status_code == 404
    assert other_tenant.staff.get("/venues").get_json()["data"] == []
    event = staff.post("/events", json={"name": "E", "venue_id": venue["id"], "starts_at": "2030-06-01T18:00:00Z",
                                        "ends_at": "2030-06-01T20:00:00Z"}).get_json()["data"]
    assert event["start"]["local"] == "2030-06-01T20:00:00+02:00"
    assert staff.delete(f"/venues/{venue['id']}").status_code == 204
    assert staff.get(f"/events/{event['id']}").get_json()["data"]["venue_id"] is None
    assert tenant.guest.get("/venues").status_code == 401


def test_answers_are_utf8_json_with_validation_errors_keyed_by_position(tenant):
    """What a client parses: non-ASCII names come back as sent (UTF-8 JSON), and a nested validation error names
    the list position as a string key, as JSON object keys must be."""
    staff = tenant.staff
    created = staff.post("/venues", json={"name": "Zürich Hallenstadion ☃", "tz": "Europe/Zurich"})
    assert created.status_code == 201 and created.mimetype == "application/json"
    assert created.get_data().decode("utf-8").count("Zürich Hallenstadion ☃") == 1
    assert staff.get(f"/venues/{created.get_json()['data']['id']}").get_json()["data"]["name"] == (
        "Zürich Hallenstadion ☃")
    refused = staff.post("/events/tickets/purchase", json={"eventId": "x", "email": "a@example.com",
                                                           "items": [{"ticketTypeId": "t", "quantity": "many"}]})
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["json"]["items"]["0"]["quantity"]
