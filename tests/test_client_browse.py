"""Client browse (000): only published public events of the tenant; ticket types, sessions, schedule."""

import datetime as dt

from test_events import iso

from core.models.base import utcnow

PAST = "2020-01-01T00:00:00Z"


def add(client, name, start, **extra):
    body = {"name": name, "starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=2)), **extra}
    response = client.post("/events", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def test_visibility_rules(tenant, other_tenant):
    start = utcnow() + dt.timedelta(days=3)
    live = add(tenant.staff, "Live", start, published_at=PAST)
    draft = add(tenant.staff, "Draft", start)
    scheduled = add(tenant.staff, "Later", start, published_at=iso(utcnow() + dt.timedelta(days=1)))
    private = add(tenant.staff, "Private", start, published_at=PAST, visibility="private")
    archived = add(tenant.staff, "Archived", start, published_at=PAST)
    tenant.staff.patch(f"/events/{archived['id']}", json={"archived_at": iso(utcnow())})
    foreign = add(other_tenant.staff, "Foreign", start, published_at=PAST)
    for client in (tenant.guest, tenant.customer()):
        listed = client.get("/client/events").get_json()
        assert [e["name"] for e in listed["data"]] == ["Live"]
        assert "deletable" not in listed["data"][0] and listed["data"][0]["start"]["tz"] == "UTC"
    assert tenant.guest.get("/api/client/events").get_json()["data"][0]["id"] == live["id"]
    assert tenant.guest.get(f"/client/events/{live['id']}").status_code == 200
    for hidden in (draft, scheduled, private, archived, foreign):
        response = tenant.guest.get(f"/client/events/{hidden['id']}")
        assert response.status_code == 404 and response.get_json()["type"] == "event_not_found"
        assert tenant.guest.get(f"/client/events/{hidden['id']}/ticket-types").status_code == 404


def test_ticket_types_with_availability_and_sale_window(tenant):
    event = add(tenant.staff, "Show", utcnow() + dt.timedelta(days=5), published_at=PAST, capacity=100,
                registration_types=[
                    {"name": "Free", "price": 0, "inventory": 10},
                    {"name": "Paid", "price": 25, "inventory": 50, "sale_start": iso(utcnow() + dt.timedelta(days=1))},
                    {"name": "Hidden", "price": 5, "visibility": "private"}])
    types = tenant.guest.get(f"/client/events/{event['id']}/ticket-types").get_json()["data"]
    assert [t["name"] for t in types] == ["Free", "Paid"]
    free, paid = types
    assert free["priceMinor"] == 0 and free["currency"] == "USD" and free["available"] == 10 and free["onSale"]
    assert paid["price"] == "25.00" and paid["available"] == 50 and paid["onSale"] is False and paid["saleStart"]


def test_sessions_and_schedule(tenant):
    day = (utcnow() + dt.timedelta(days=7)).replace(hour=10, minute=0, second=0, microsecond=0)
    parent = tenant.staff.post("/events", json={"event": {"type": "parent", "name": "Conf", "tz": "Asia/Tokyo",
        "sessions": [
            {"name": "Keynote", "starts_at": iso(day), "ends_at": iso(day + dt.timedelta(hours=1)),
             "published_at": PAST},
            {"name": "Workshop", "starts_at": iso(day + dt.timedelta(days=1)),
             "ends_at": iso(day + dt.timedelta(days=1, hours=2)), "published_at": PAST},
            {"name": "Secret", "starts_at": iso(day), "ends_at": iso(day + dt.timedelta(hours=1))}]}})
    parent_id = parent.get_json()["data"]["id"]
    listed = [e["name"] for e in tenant.guest.get("/client/events").get_json()["data"]]
    assert listed == ["Conf"]
    sessions = tenant.guest.get(f"/client/events/{parent_id}/sessions").get_json()
    assert [s["name"] for s in sessions["data"]] == ["Keynote", "Workshop"]
    assert sessions["meta"]["page"]["last"] is True
    schedule = tenant.guest.get(f"/client/events/{parent_id}/schedule").get_json()["data"]
    assert schedule["tz"] == "Asia/Tokyo" and len(schedule["days"]) == 2
    assert [d["items"][0]["name"] for d in schedule["days"]] == ["Keynote", "Workshop"]
    assert schedule["days"][0]["date"] == (day + dt.timedelta(hours=9)).date().isoformat()
    included = tenant.guest.get(f"/client/events/{parent_id}?include=sessions").get_json()["data"]
    assert [s["name"] for s in included["sessions"]] == ["Keynote", "Workshop"]


def test_client_list_paginates_by_cursor(tenant):
    for i in range(12):
        add(tenant.staff, f"C{i:02d}", dt.datetime(2034, 1, 1) + dt.timedelta(days=i), published_at=PAST)
    first = tenant.guest.get("/client/events").get_json()
    assert len(first["data"]) == 10 and first["meta"]["page"]["next_cursor"]
    second = tenant.guest.get(f"/client/events?page[cursor]={first['meta']['page']['next_cursor']}").get_json()
    assert [e["name"] for e in second["data"]] == ["C10", "C11"] and second["meta"]["page"]["last"]


def _walk(client, query: str) -> list[str]:
    ids, cursor = [], ""
    while True:
        body = client.get(f"/client/events?page[size]=3&page[cursor]={cursor}{query}").get_json()
        ids += [e["id"] for e in body["data"]]
        cursor = body["meta"]["page"]["next_cursor"]
        if cursor is None:
            return ids


def test_default_list_fast_path_matches_the_general_query(tenant, other_tenant):
    """The unfiltered list runs compiled SQL; an explicit default sort runs the general query builder.
    Both must page through the same rows in the same order (ties on starts_at broken by id)."""
    start = (utcnow() + dt.timedelta(days=2)).replace(microsecond=0)
    for i in range(8):
        add(tenant.staff, f"E{i}", start + dt.timedelta(hours=i // 3), published_at=PAST)
    add(tenant.staff, "Draft", start)
    add(other_tenant.staff, "Foreign", start, published_at=PAST)
    fast = _walk(tenant.guest, "")
    general = _walk(tenant.guest, "&sort[starts_at]=asc")
    assert len(fast) == 8 and fast == general
    names = [tenant.guest.get(f"/client/events/{i}").get_json()["data"]["name"] for i in fast]
    assert sorted(names) == [f"E{i}" for i in range(8)]


def test_default_list_reads_only_the_columns_it_shows_and_answers_the_same(tenant):
    """The default list loads a narrow set of columns; asking for the same fields explicitly loads whole
    rows. Every event must render identically either way (venue, parent, times, status, description)."""
    from core.api.event_schemas import CLIENT_FIELDS

    venue = tenant.staff.post("/venues", json={"name": "Hall", "tz": "Asia/Tokyo"}).get_json()["data"]
    start = (utcnow() + dt.timedelta(days=3)).replace(microsecond=0)
    add(tenant.staff, "At the hall", start, published_at=PAST, venue_id=venue["id"], description="Doors 19:00")
    add(tenant.staff, "Now on", utcnow() - dt.timedelta(minutes=30), published_at=PAST, tz="America/New_York")
    add(tenant.staff, "Later", start + dt.timedelta(days=1), published_at=PAST)
    default = tenant.guest.get("/client/events").get_json()
    explicit = tenant.guest.get(f"/client/events?fields={','.join(CLIENT_FIELDS)}").get_json()
    assert [e["name"] for e in default["data"]] == ["Now on", "At the hall", "Later"]
    assert default["data"] == explicit["data"]
    assert default["meta"]["page"] == explicit["meta"]["page"] and default["meta"]["count"] == 3
    again = tenant.guest.get("/client/events")
    assert again.mimetype == "application/json" and again.get_json() == default
    assert default["data"][0]["status"] == "active" and default["data"][1]["venue_id"] == venue["id"]
    assert default["data"][1]["description"] == "Doors 19:00"
    assert default["data"][0]["start"]["tz"] == "America/New_York"
