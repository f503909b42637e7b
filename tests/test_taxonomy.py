"""Categories, tags, campaigns and calendars: their CRUD routes, attaching them to events on create/PATCH,
the event includes (`categories`, `tags`, active `campaigns`, `registration_types.stock_item`,
`registration_types.event.venue`), the list filters and permanence, and tenant isolation."""

from __future__ import annotations

import datetime as dt

import pytest

from core.models.base import utcnow


def iso(value: dt.datetime) -> str:
    return value.replace(microsecond=0).isoformat() + "Z"


def soon(days: float = 10) -> dt.datetime:
    return (utcnow() + dt.timedelta(days=days)).replace(microsecond=0, second=0)


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def make(client, plural: str, **body) -> dict:
    return ok(client.post(f"/{plural}", json=body), 201)["data"]


def new_event(client, name: str = "Gala", start: dt.datetime | None = None, status: int = 201, **fields):
    start = start or soon()
    body = {"name": name, "starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=3)), **fields}
    response = client.post("/events", json={"event": body})
    assert response.status_code == status, response.get_json()
    return response.get_json()["data"] if status == 201 else response.get_json()


def names(items: list[dict]) -> list[str]:
    return [item["name"] for item in items]


# --- CRUD ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("plural", "body", "change"), [
    ("categories", {"name": "Concerts", "description": "Live music", "position": 2}, {"position": 5}),
    ("tags", {"name": "Outdoor"}, {"name": "Open air"}),
    ("campaigns", {"name": "Summer", "description": "Promo", "starts_at": "2026-06-01T00:00:00Z",
                   "ends_at": "2026-09-01T00:00:00Z"}, {"description": "Summer promo"}),
    ("calendars", {"name": "Main", "description": "Everything", "color": "#1e88e5"}, {"color": None}),
])
def test_each_kind_is_created_read_listed_changed_and_deleted(tenant, plural, body, change):
    staff = tenant.staff
    created = make(staff, plural, **body)
    assert {k: created[k] for k in body} == body
    assert len(created["id"]) == 36 and created["created_at"] and created["updated_at"]
    assert ok(staff.get(f"/{plural}/{created['id']}"))["data"] == created
    listed = ok(staff.get(f"/{plural}"))
    assert [row["id"] for row in listed["data"]] == [created["id"]] and listed["meta"]["count"] == 1
    changed = ok(staff.patch(f"/{plural}/{created['id']}", json=change))["data"]
    assert {k: changed[k] for k in change} == change and changed["name"] == (change.get("name") or body["name"])
    assert staff.delete(f"/{plural}/{created['id']}").status_code == 204
    missing = staff.get(f"/{plural}/{created['id']}")
    assert missing.status_code == 404 and missing.get_json()["type"].endswith("_not_found")


def test_categories_list_by_position_then_name_in_cursor_pages(tenant):
    staff = tenant.staff
    for name, position in (("Workshops", 1), ("Concerts", 1), ("Theatre", 0)):
        make(staff, "categories", name=name, position=position)
    first = ok(staff.get("/categories?page[size]=2"))
    assert names(first["data"]) == ["Theatre", "Concerts"] and first["meta"]["page"]["last"] is False
    rest = ok(staff.get(f"/categories?page[size]=2&page[cursor]={first['meta']['page']['next_cursor']}"))
    assert names(rest["data"]) == ["Workshops"] and rest["meta"]["page"]["last"] is True


def test_bad_bodies_are_422_naming_the_field_and_change_nothing(tenant):
    staff = tenant.staff
    cases = [
        ("categories", {"description": "no name"}, "name"),
        ("categories", {"name": "X", "colour": "red"}, "colour"),
        ("tags", {"name": ""}, "name"),
        ("campaigns", {"name": "Backwards", "starts_at": "2026-06-02T00:00:00Z", "ends_at": "2026-06-01T00:00:00Z"},
         "ends_at"),
        ("calendars", {"name": "Cal", "color": "#12345z"}, "color"),
        ("calendars", {"name": "   "}, "name"),
    ]
    for plural, body, field in cases:
        response = staff.post(f"/{plural}", json=body)
        assert response.status_code == 422, (plural, body)
        assert field in str(response.get_json()["errors"]), response.get_json()
    for plural in ("categories", "tags", "campaigns", "calendars"):
        assert ok(staff.get(f"/{plural}"))["data"] == []
    campaign = make(staff, "campaigns", name="Spring", starts_at="2026-03-01T00:00:00Z")
    late = staff.patch(f"/campaigns/{campaign['id']}", json={"ends_at": "2026-02-01T00:00:00Z"})
    assert late.status_code == 422 and "ends_at" in late.get_json()["errors"]
    assert ok(staff.get(f"/campaigns/{campaign['id']}"))["data"]["ends_at"] is None


def test_tag_names_are_unique_per_tenant_ignoring_case(tenant, other_tenant):
    staff = tenant.staff
    outdoor = make(staff, "tags", name="Outdoor")
    clash = staff.post("/tags", json={"name": "  OUTDOOR "})
    assert clash.status_code == 409 and clash.get_json()["type"] == "tag_exists"
    assert clash.get_json()["tagId"] == outdoor["id"]
    indoor = make(staff, "tags", name="Indoor")
    renamed = staff.patch(f"/tags/{indoor['id']}", json={"name": "outdoor"})
    assert renamed.status_code == 409 and renamed.get_json()["type"] == "tag_exists"
    assert names(ok(staff.get("/tags"))["data"]) == ["Indoor", "Outdoor"]
    make(other_tenant.staff, "tags", name="Outdoor")  # another tenant's names are its own


def test_writes_need_staff_with_the_events_scope(tenant):
    fan = tenant.customer()
    assert fan.post("/categories", json={"name": "X"}).status_code == 403
    assert fan.get("/categories").status_code == 403
    assert tenant.guest.get("/tags").status_code == 401


# --- attaching to events ---------------------------------------------------------------------------------


def _records(staff) -> dict:
    return {
        "music": make(staff, "categories", name="Music", position=1),
        "family": make(staff, "categories", name="Family", position=0),
        "outdoor": make(staff, "tags", name="Outdoor"),
        "running": make(staff, "campaigns", name="Running", starts_at=iso(utcnow() - dt.timedelta(days=1))),
        "over": make(staff, "campaigns", name="Over", ends_at=iso(utcnow() - dt.timedelta(days=1))),
        "later": make(staff, "campaigns", name="Later", starts_at=iso(utcnow() + dt.timedelta(days=3))),
        "calendar": make(staff, "calendars", name="Main"),
    }


def test_an_event_is_created_with_its_relationships_and_shows_them_when_included(tenant):
    staff = tenant.staff
    r = _records(staff)
    event = new_event(staff, category_ids=[r["music"]["id"], r["family"]["id"]], tag_ids=[r["outdoor"]["id"]],
                      tags=["outdoor", "Night"], campaign_ids=[r["running"]["id"], r["over"]["id"], r["later"]["id"]],
                      calendar_id=r["calendar"]["id"], permanent=True)
    assert event["calendar_id"] == r["calendar"]["id"] and event["permanent"] is True
    shown = ok(staff.get(f"/events/{event['id']}?include=categories,tags,campaigns"))["data"]
    assert names(shown["categories"]) == ["Family", "Music"]
    assert shown["categories"][1] == r["music"]
    assert names(shown["tags"]) == ["Night", "Outdoor"]  # "outdoor" found the existing tag, "Night" was made
    assert names(shown["campaigns"]) == ["Running"] and shown["campaigns"][0]["active"] is True
    assert names(ok(staff.get("/tags"))["data"]) == ["Night", "Outdoor"]
    plain = ok(staff.get(f"/events/{event['id']}"))["data"]
    assert not {"categories", "tags", "campaigns"} & set(plain)


def test_patch_with_a_list_replaces_that_relationship_only(tenant):
    staff = tenant.staff
    r = _records(staff)
    event = new_event(staff, category_ids=[r["music"]["id"]], tags=["Outdoor"], calendar_id=r["calendar"]["id"])
    ok(staff.patch(f"/events/{event['id']}", json={"category_ids": [r["family"]["id"]], "name": "Gala 2"}))
    shown = ok(staff.get(f"/events/{event['id']}?include=categories,tags"))["data"]
    assert names(shown["categories"]) == ["Family"] and names(shown["tags"]) == ["Outdoor"]
    assert shown["calendar_id"] == r["calendar"]["id"] and shown["name"] == "Gala 2"
    ok(staff.patch(f"/events/{event['id']}", json={"tags": [], "calendar_id": None, "permanent": True}))
    shown = ok(staff.get(f"/events/{event['id']}?include=categories,tags"))["data"]
    assert shown["tags"] == [] and shown["calendar_id"] is None and shown["permanent"] is True
    assert names(shown["categories"]) == ["Family"]


def test_unknown_or_foreign_ids_are_422_naming_the_field_and_change_nothing(tenant, other_tenant):
    staff = tenant.staff
    mine = _records(staff)
    theirs = _records(other_tenant.staff)
    event = new_event(staff, category_ids=[mine["music"]["id"]], calendar_id=mine["calendar"]["id"])
    for field, value in (("category_ids", [theirs["music"]["id"]]), ("tag_ids", ["nope"]),
                         ("campaign_ids", [mine["running"]["id"], theirs["running"]["id"]]),
                         ("calendar_id", theirs["calendar"]["id"])):
        refused = staff.patch(f"/events/{event['id']}", json={field: value, "category_ids": [],
                                                               "tags": ["Fresh"], "name": "Changed"}
                              if field != "category_ids" else {field: value, "name": "Changed"})
        assert refused.status_code == 422, refused.get_json()
        assert refused.get_json()["type"] == "unknown_ids" and field in refused.get_json()["errors"]
        created = staff.post("/events", json={"name": "New", "starts_at": iso(soon()),
                                              "ends_at": iso(soon(11)), field: value})
        assert created.status_code == 422 and field in created.get_json()["errors"]
    shown = ok(staff.get(f"/events/{event['id']}?include=categories,tags"))["data"]
    assert shown["name"] == "Gala" and names(shown["categories"]) == ["Music"] and shown["tags"] == []
    assert names(ok(staff.get("/tags"))["data"]) == ["Outdoor"]  # "Fresh" was rolled back with the refusal
    assert [e["name"] for e in ok(staff.get("/events"))["data"]] == ["Gala"]


def test_deleting_a_record_detaches_it_from_its_events(tenant):
    staff = tenant.staff
    r = _records(staff)
    event = new_event(staff, category_ids=[r["music"]["id"], r["family"]["id"]], tags=["Outdoor"],
                      campaign_ids=[r["running"]["id"]], calendar_id=r["calendar"]["id"])
    for plural, key in (("categories", "music"), ("tags", "outdoor"), ("campaigns", "running"),
                        ("calendars", "calendar")):
        assert staff.delete(f"/{plural}/{r[key]['id']}").status_code == 204
    shown = ok(staff.get(f"/events/{event['id']}?include=categories,tags,campaigns"))["data"]
    assert names(shown["categories"]) == ["Family"] and shown["tags"] == [] and shown["campaigns"] == []
    assert shown["calendar_id"] is None
    assert staff.delete(f"/events/{event['id']}").status_code == 204  # and an event goes with its links
    assert names(ok(staff.get("/categories"))["data"]) == ["Family"]


# --- includes ------------------------------------------------------------------------------------------------


def test_stock_item_and_event_venue_includes_on_registration_types(tenant):
    staff = tenant.staff
    hall = ok(staff.post("/venues", json={"name": "Hall", "tz": "UTC"}), 201)["data"]
    annex = ok(staff.post("/venues", json={"name": "Annex", "tz": "UTC"}), 201)["data"]
    start = soon()
    parent = ok(staff.post("/events", json={"event": {"type": "parent", "name": "Fest", "venue_id": hall["id"],
                                                      "sessions": [{
        "name": "Talk", "venue_id": annex["id"], "starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=1)),
        "registration_types": [{"name": "Seat", "price": 0, "inventory": 30}]}],
        "registration_types": [{"name": "Pass", "price": 50, "inventory": 10}]}}), 201)["data"]
    query = "include=sessions,registration_types.stock_item,registration_types.event.venue"
    shown = ok(staff.get(f"/events/{parent['id']}?{query}"))["data"]
    pass_type = shown["registration_types"][0]
    assert pass_type["stock_item"] == {"inventory": 10, "sold": 0, "held": 0, "available": 10}
    assert pass_type["event"]["id"] == parent["id"] and pass_type["event"]["venue"]["name"] == "Hall"
    seat = shown["sessions"][0]["registration_types"][0]
    assert seat["stock_item"]["inventory"] == 30
    assert seat["event"]["parent_event_id"] == parent["id"] and seat["event"]["venue"]["id"] == annex["id"]
    only_types = ok(staff.get(f"/events/{parent['id']}?include=registration_types"))["data"]
    assert "stock_item" not in only_types["registration_types"][0]
    assert "event" not in only_types["registration_types"][0]


def test_includes_load_with_one_query_each_for_a_whole_page(tenant, app):
    from peewee import Database

    staff = tenant.staff
    r = _records(staff)
    venue = ok(staff.post("/venues", json={"name": "Hall", "tz": "UTC"}), 201)["data"]
    for n in range(6):
        new_event(staff, f"E{n}", venue_id=venue["id"], start=soon(10 + n), category_ids=[r["music"]["id"]],
                  tags=["Outdoor", f"T{n}"], campaign_ids=[r["running"]["id"]],
                  registration_types=[{"name": "GA", "price": 1, "inventory": 5}])
    include = ("categories,tags,campaigns,registration_types.stock_item,registration_types.event.venue")
    counts = []
    original = Database.execute_sql

    def counting(self, sql, *args, **kwargs):
        counts[-1] += sql.lstrip().upper().startswith("SELECT")
        return original(self, sql, *args, **kwargs)

    Database.execute_sql = counting
    try:
        for size in (2, 6):
            counts.append(0)
            body = ok(staff.get(f"/events?page[size]={size}&include={include}"))
            assert len(body["data"]) == size
    finally:
        Database.execute_sql = original
    assert counts[0] == counts[1] > 5, counts  # the same queries for 2 rows as for 6
    assert all(names(e["categories"]) == ["Music"] and len(e["tags"]) == 2 for e in body["data"])


def test_a_session_takes_its_own_categories_and_shows_them_under_its_parent(tenant):
    staff = tenant.staff
    music = make(staff, "categories", name="Music")
    start = soon()
    session = {"name": "Talk", "starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=1))}
    inline = staff.post("/events", json={"type": "parent", "name": "Fest",
                                         "sessions": [{**session, "category_ids": [music["id"]]}]})
    assert inline.status_code == 422 and "category_ids" in str(inline.get_json()["errors"])
    parent = ok(staff.post("/events", json={"type": "parent", "name": "Fest", "sessions": [session]}), 201)["data"]
    child = ok(staff.get(f"/events/{parent['id']}?include=sessions"))["data"]["sessions"][0]
    ok(staff.patch(f"/events/{child['id']}", json={"category_ids": [music["id"]], "tags": ["Keynote"]}))
    shown = ok(staff.get(f"/events/{parent['id']}?include=sessions,categories,tags"))["data"]
    assert shown["categories"] == [] and shown["tags"] == []
    assert names(shown["sessions"][0]["categories"]) == ["Music"]
    assert names(shown["sessions"][0]["tags"]) == ["Keynote"]
    assert [e["name"] for e in ok(staff.get(f"/events?filter[category_id]={music['id']}"))["data"]] == ["Talk"]


def test_unknown_and_not_yet_built_includes_are_refused(tenant):
    event = new_event(tenant.staff)
    for include in ("calendars",):
        refused = tenant.staff.get(f"/events/{event['id']}?include={include}")
        assert refused.status_code == 400 and refused.get_json()["type"] == "invalid_parameter", include


def test_customers_cannot_ask_for_staff_includes(tenant):
    new_event(tenant.staff, published_at=iso(utcnow() - dt.timedelta(minutes=1)))
    fan = tenant.customer()
    assert fan.get("/client/events?include=campaigns").status_code == 400
    assert fan.get("/client/events?include=registration_types").status_code == 200


# --- filters and permanence -------------------------------------------------------------------------------------


def test_list_filters_on_calendar_category_tag_and_permanence(tenant):
    staff = tenant.staff
    r = _records(staff)
    new_event(staff, "Concert", start=soon(1), category_ids=[r["music"]["id"]], tags=["Outdoor"],
              calendar_id=r["calendar"]["id"])
    new_event(staff, "Membership", start=soon(2), permanent=True, tags=["Members"])
    new_event(staff, "Picnic", start=soon(3), category_ids=[r["family"]["id"]], tags=["outdoor"])

    def listed(query: str) -> list[str]:
        return names(ok(staff.get(f"/events?{query}"))["data"])

    assert listed(f"filter[calendar_id]={r['calendar']['id']}") == ["Concert"]
    assert listed(f"filter[category_id]={r['music']['id']}") == ["Concert"]
    assert listed("filter[tag]=OUTDOOR") == ["Concert", "Picnic"]
    assert listed("filter[tag]=nothing") == []
    assert listed("filter[permanence]=permanent") == ["Membership"]
    assert listed("filter[permanence]=non_permanent") == ["Concert", "Picnic"]
    assert listed(f"filter[tag]=outdoor&filter[category_id]={r['family']['id']}") == ["Picnic"]
    bad = staff.get("/events?filter[permanence]=sometimes")
    assert bad.status_code == 422 and "filter[permanence]" in str(bad.get_json()["errors"])


def test_filters_naming_another_tenants_records_find_nothing(tenant, other_tenant):
    theirs = _records(other_tenant.staff)
    new_event(other_tenant.staff, category_ids=[theirs["music"]["id"]], calendar_id=theirs["calendar"]["id"])
    mine = new_event(tenant.staff, tags=["Outdoor"])
    for query in (f"filter[category_id]={theirs['music']['id']}", f"filter[calendar_id]={theirs['calendar']['id']}"):
        assert ok(tenant.staff.get(f"/events?{query}"))["data"] == []
    assert [e["id"] for e in ok(tenant.staff.get("/events?filter[tag]=outdoor"))["data"]] == [mine["id"]]


def test_events_are_not_permanent_unless_set(tenant):
    event = new_event(tenant.staff)
    assert event["permanent"] is False
    assert ok(tenant.staff.patch(f"/events/{event['id']}", json={"permanent": True}))["data"]["permanent"] is True
    assert ok(tenant.staff.get(f"/events/{event['id']}"))["data"]["permanent"] is True


# --- isolation -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("plural", ["categories", "tags", "campaigns", "calendars"])
def test_another_tenants_record_is_a_404_like_a_missing_one(tenant, other_tenant, plural):
    theirs = make(other_tenant.staff, plural, name="Theirs")
    for method, body in (("get", None), ("patch", {"name": "Mine now"}), ("delete", None)):
        foreign = tenant.staff.request(method.upper(), f"/{plural}/{theirs['id']}", json=body)
        missing = tenant.staff.request(method.upper(), f"/{plural}/00000000-0000-4000-8000-000000000000", json=body)
        assert foreign.status_code == missing.status_code == 404
        assert foreign.get_json()["type"] == missing.get_json()["type"]
    assert ok(tenant.staff.get(f"/{plural}"))["data"] == []
    assert ok(other_tenant.staff.get(f"/{plural}/{theirs['id']}"))["data"]["name"] == "Theirs"


# --- migration -------------------------------------------------------------------------------------------------

EVENT_INDEXES = ("event_org_id_calendar_id_starts_at_id", "event_org_id_permanent_starts_at_id")


def test_migration_creates_what_an_older_database_lacks_and_is_idempotent(tenant):
    from core.db import db as database
    from core.migrations import m0015_event_taxonomy
    from core.models import Calendar, Campaign, Category, Event, EventCampaign, EventCategory, EventTag, Tag

    event = new_event(tenant.staff, permanent=True)
    tables = [EventCategory, EventTag, EventCampaign, Category, Tag, Campaign, Calendar]
    with database.connection_context():
        for index in EVENT_INDEXES:
            database.execute_sql(f"DROP INDEX {index}")
        database.execute_sql('ALTER TABLE "event" DROP COLUMN "calendar_id"')
        database.execute_sql('ALTER TABLE "event" DROP COLUMN "permanent"')
        database.drop_tables(tables)
        m0015_event_taxonomy.upgrade()
        m0015_event_taxonomy.upgrade()  # idempotent
        assert all(model.table_exists() for model in tables)
        columns = {column.name for column in database.get_columns("event")}
        assert {"calendar_id", "permanent"} <= columns
        assert set(EVENT_INDEXES) <= {index.name for index in database.get_indexes("event")}
        assert Event.get_by_id(event["id"]).permanent is False  # the column came back with its default
    assert make(tenant.staff, "tags", name="After")["name"] == "After"
