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
