"""The public_api_v2 plugin (003 at /api/public/v2) and the core's stable numeric ids behind it.

The seed's request examples are replayed in test_public_api_v2_replay.py; the shape helpers and the seed's
sample list response are here. Calls use `Authorization: Token <key>` and no `orgid`.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import make_tenant
from test_events import iso

PREFIX = "/api/public/v2"
LIMIT = 2 ** 53

# 003's "Sample response" of GET /events (shared/seeds/003_aa49a20f96df1203.txt), as it is.
SAMPLE_LIST = {
    "data": [{
        "id": 59978, "name": "Gourmet Steam Oven", "slug": "gourmet-steam-oven-10-30am-12-00pm", "type": "date",
        "status": "future", "venue_id": 1989, "parent_event_id": None, "calendar_id": None,
        "published_at": "2026-04-17T01:08:42.038414Z", "capacity": 50, "deletable": True,
        "start": {"tz": "Melbourne", "local": "2026-10-28T10:30:00+11:00", "utc": "2026-10-27T23:30:00Z"},
        "end": {"tz": "Melbourne", "local": "2026-10-28T12:00:00+11:00", "utc": "2026-10-28T01:00:00Z"},
        "registration_types": [{
            "id": 24, "variant_id": 1867, "name": "General admission", "price": 0,
            "prices": [{"decimal": "0.0", "amount": 0, "currency": "AUD", "default": True, "formatted": "$0.00"}],
        }],
    }],
    "meta": {
        "count": 25,
        "page": {"size": 25, "next_cursor": "WyIyMDI2LTA1LTAxVDEyOjMwOjAwWiIsNDIxXQ", "last": False, "first": True},
        "links": {"self": "https://app.guestmanager.com/api/public/v2/events?page[cursor]=&page[size]=25",
                  "next": "https://app.guestmanager.com/api/public/v2/events?page[cursor]=WyIy&page[size]=25"},
    },
}
# Where the sample shows a value the core cannot have yet (issue 14 items 4 and 7) or one that is null on the
# last page, null is the answer: (path, reason).
NULL_ALLOWED = {
    "data.registration_types.variant_id": "null unless the tenant mirrors ticket types to storefront variants",
    "data.capacity": "optional: 003's event[capacity] is not required",
    "data.published_at": "null while the event is a draft (003's event[published_at])",
    "meta.page.next_cursor": "null on the last page",
    "meta.links.next": "null on the last page",
}


def json_type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", dict: "object", list: "array"}[type(value)]


def assert_shape(sample, actual, path: str = "", null_allowed: dict | None = None) -> None:
    """Every field of `sample` is in `actual` with the same JSON type (null only where the sample has null or
    `null_allowed` (default NULL_ALLOWED) says why); lists compare each element with the sample's first."""
    null_allowed = NULL_ALLOWED if null_allowed is None else null_allowed
    expected, got = json_type(sample), json_type(actual)
    if expected == "null" or (got == "null" and path in null_allowed):
        return
    assert got == expected, f"{path or 'body'}: {got} where the sample has {expected}"
    if expected == "object":
        missing = sorted(set(sample) - set(actual))
        assert not missing, f"{path or 'body'} lacks {missing}"
        for key in sample:
            assert_shape(sample[key], actual[key], f"{path}.{key}" if path else key, null_allowed)
    elif expected == "array" and sample:
        assert actual, f"{path}: empty, the sample has elements"
        for item in actual:
            assert_shape(sample[0], item, path, null_allowed)


def key_call(tenant, method: str, path: str, scheme: str = "Token", **kwargs):
    """A request with the tenant's API key as `Authorization: <scheme> <key>` and no `orgid`."""
    return tenant._flask.open(PREFIX + path, method=method,
                              headers={"Authorization": f"{scheme} {tenant.admin_api_key}"}, **kwargs)


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


@pytest.fixture
def world(app):
    """A tenant with the plugin, a venue, a date event with two registration types and a parent with sessions."""
    tenant = make_tenant(app, "V2 Org", plugins=("public_api_v2",))
    staff = tenant.staff
    venue = ok(staff.post("/venues", json={"name": "Hall", "tz": "Australia/Melbourne"}), 201)["data"]
    start = dt.datetime(2031, 10, 27, 23, 30)
    gala = ok(staff.post("/events", json={
        "name": "Gourmet Steam Oven", "venue_id": venue["id"], "starts_at": iso(start),
        "ends_at": iso(start + dt.timedelta(hours=1, minutes=30)), "capacity": 50,
        "published_at": iso(dt.datetime(2026, 4, 17, 1, 8)),
        "registration_types": [{"name": "General admission", "price": 0, "currency": "AUD", "inventory": 40},
                               {"name": "VIP", "price": "70.50", "currency": "AUD", "inventory": 10}]}), 201)["data"]
    parent = ok(staff.post("/events", json={
        "type": "parent", "name": "Tasting Tour", "venue_id": venue["id"], "starts_at": iso(start),
        "ends_at": iso(start + dt.timedelta(hours=5)),
        "sessions": [{"name": f"Session {n}", "starts_at": iso(start + dt.timedelta(hours=2 * n)),
                      "ends_at": iso(start + dt.timedelta(hours=2 * n + 1)),
                      "registration_types": [{"name": "GA", "price": 50, "inventory": 50}]} for n in (0, 1)],
    }), 201)["data"]
    return tenant, venue, gala, parent


def test_bearer_key_and_a_wrong_key(world):
    tenant, venue, gala, parent = world
    listed = ok(key_call(tenant, "GET", "/events?filter[name]=Gourmet Steam Oven"))["data"][0]
    bearer = ok(key_call(tenant, "GET", f"/events/{listed['id']}", scheme="Bearer"))["data"]
    assert bearer["id"] == listed["id"] and "venue" not in bearer
    wrong = tenant._flask.get(PREFIX + "/events", headers={"Authorization": "Token " + "x" * 40})
    assert wrong.status_code == 401, wrong.get_json()


def test_numeric_ids_are_stable_unique_below_2_53_and_not_sequential(world):
    tenant, venue, gala, parent = world
    staff = tenant.staff
    for n in range(4):
        ok(staff.post("/events", json={"name": f"Extra {n}", "starts_at": "2032-01-01T10:00:00Z",
                                       "ends_at": "2032-01-01T12:00:00Z"}), 201)
    first = ok(key_call(tenant, "GET", "/events?include=sessions,registration_types&page[size]=200"))["data"]
    again = ok(key_call(tenant, "GET", "/events?include=sessions,registration_types&page[size]=200"))["data"]
    assert [e["id"] for e in first] == [e["id"] for e in again]
    event_ids = [e["id"] for e in first]
    type_ids = [t["id"] for e in first for t in e.get("registration_types", [])]
    for ids in (event_ids, type_ids):
        assert len(ids) == len(set(ids)) >= 3
        assert all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < LIMIT for i in ids)
        ordered = sorted(ids)
        assert max(b - a for a, b in zip(ordered, ordered[1:], strict=False)) > 1_000_000  # not a sequence
    tour = next(e for e in first if e["name"] == "Tasting Tour")
    assert len(tour["sessions"]) == 2 and all(s["parent_event_id"] == tour["id"] for s in tour["sessions"])
    sessions = ok(key_call(tenant, "GET", f"/events?filter[parent_event_id]={tour['id']}"))["data"]
    assert sorted(s["id"] for s in sessions) == sorted(s["id"] for s in tour["sessions"])
    at_venue = ok(key_call(tenant, "GET", f"/events?filter[venue_id]={tour['venue_id']}"))["data"]
    assert {e["name"] for e in at_venue} == {"Gourmet Steam Oven", "Tasting Tour", "Session 0", "Session 1"}
    assert ok(key_call(tenant, "GET", "/events?filter[venue_id]=12345"))["data"] == []


def test_pages_by_cursor(world):
    tenant, *_ = world
    page = ok(key_call(tenant, "GET", "/events?page[size]=2&sort[starts_at]=asc"))
    assert page["meta"]["page"]["first"] and not page["meta"]["page"]["last"]
    rest = ok(key_call(tenant, "GET", f"/events?page[size]=2&sort[starts_at]=asc"
                                      f"&page[cursor]={page['meta']['page']['next_cursor']}"))
    assert not {e["id"] for e in page["data"]} & {e["id"] for e in rest["data"]}


def test_another_tenants_numeric_id_is_a_404_and_the_core_keeps_uuids(world, app):
    tenant, venue, gala, parent = world
    other = make_tenant(app, "Other V2", plugins=("public_api_v2",))
    gala_id = ok(key_call(tenant, "GET", "/events?filter[name]=Gourmet Steam Oven"))["data"][0]["id"]
    missing = key_call(other, "GET", f"/events/{gala_id}")
    assert missing.status_code == 404 and missing.get_json()["type"] == "event_not_found"
    assert ok(key_call(other, "GET", "/events"))["data"] == []
    for bad in (0, LIMIT, LIMIT * 10):
        assert key_call(tenant, "GET", f"/events/{bad}").status_code == 404
    core = ok(tenant.staff.get(f"/events/{gala['id']}?include=registration_types,venue"))["data"]
    assert core["id"] == gala["id"] and isinstance(core["venue_id"], str) and "public_id" not in core
    assert all(isinstance(t["id"], str) for t in core["registration_types"])


def test_plugin_off_and_bad_parameters(world, app):
    tenant, *_ = world
    plain = make_tenant(app, "No V2")
    off = key_call(plain, "GET", "/events")
    assert off.status_code == 404 and off.get_json()["type"] == "plugin_not_enabled"
    for query, kind in (("filter[permanence]=sometimes", "validation_error"),
                        ("filter[category_id]=abc", "validation_error"),
                        ("include=friends", "invalid_parameter"), ("include=ticket_types", "invalid_parameter"),
                        ("include=passes", "invalid_parameter"),
                        ("filter[colour]=red", "invalid_parameter"), ("filter[venue_id]=abc", "validation_error"),
                        ("filter[venue_id]=0", "validation_error"), ("page=2", "invalid_parameter")):
        response = key_call(tenant, "GET", f"/events?{query}")
        assert response.status_code in (400, 422) and response.get_json()["type"] == kind, (query, response.get_json())


def test_list_and_recurrence_includes_show_numeric_ids(world):
    tenant, _venue, gala, _parent = world
    gala_id = public_id("Event", gala["id"])
    shown = ok(key_call(tenant, "GET", f"/events/{gala_id}?include=list.setting"))["data"]["list"]
    core_list = ok(tenant.staff.get(f"/events/{gala['id']}?include=list"))["data"]["list"]
    assert shown["id"] == public_id("EventList", core_list["id"]) and shown["event_id"] == gala_id
    assert shown["default"] is True and shown["permanent_list_id"] is None
    assert set(shown["setting"]) == {"description", "image"}
    listed = ok(key_call(tenant, "GET", "/events?include=list"))["data"]
    assert all(isinstance(event["list"]["id"], int) for event in listed)

    weekly = ok(key_call(tenant, "POST", "/events", json={"event": {
        "type": "recurring", "name": "Weekly", "starts_at": "2031-06-02T18:00:00Z",
        "ends_at": "2031-06-02T20:00:00Z", "recurrences": [{
            "starts_at": "2031-06-02T18:00:00Z", "ends": "after_occurrences", "max_occurrences": 3,
            "repeat_unit": "week", "repeat_value": 1, "days": ["monday"], "duration": 2}]}}), 201)["data"]
    rules = ok(key_call(tenant, "GET", f"/events/{weekly['id']}?include=recurrences"))["data"]["recurrences"]
    assert len(rules) == 1 and isinstance(rules[0]["id"], int) and rules[0]["repeat_unit"] == "week"
    assert isinstance(rules[0]["active_occurrences"], int)
    renamed = ok(key_call(tenant, "PATCH", f"/events/{weekly['id']}", json={"event": {
        "recurrences": [{"id": rules[0]["id"], "max_occurrences": 2}]}}))
    assert renamed["data"]["id"] == weekly["id"]
    after = ok(key_call(tenant, "GET", f"/events/{weekly['id']}?include=recurrences"))["data"]["recurrences"]
    assert [(r["id"], r["max_occurrences"]) for r in after] == [(rules[0]["id"], 2)]


# --- writes ------------------------------------------------------------------------------------------------


def public_id(model_name: str, uuid: str) -> int:
    """The numeric id of a record made through the core's routes."""
    from test_events import in_db

    import core.models

    return in_db(lambda: getattr(core.models, model_name).get_by_id(uuid).public_id)


def test_update_sessions_by_numeric_id_and_the_core_keeps_its_uuids(world):
    tenant, venue, gala, parent = world
    tour = ok(key_call(tenant, "GET", f"/events/{public_id('Event', parent['id'])}?include=sessions"))["data"]
    first, second = tour["sessions"]
    other_venue = ok(tenant.staff.post("/venues", json={"name": "Annex", "tz": "UTC"}), 201)["data"]
    changed = key_call(tenant, "PATCH", f"/events/{tour['id']}", json={"event": {"sessions": [
        {"id": first["id"], "name": "Renamed", "venue_id": public_id("Venue", other_venue["id"])},
        {"id": second["id"], "_destroy": True},
        {"name": "Late", "starts_at": "2031-10-28T09:00:00Z", "ends_at": "2031-10-28T10:00:00Z"}]}})
    assert ok(changed)["data"]["id"] == tour["id"] and changed.headers["X-Event-Sync-Job-ID"]
    after = ok(key_call(tenant, "GET", f"/events/{tour['id']}?include=sessions"))["data"]["sessions"]
    by_name = {s["name"]: s for s in after}
    assert set(by_name) == {"Renamed", "Late"} and by_name["Renamed"]["id"] == first["id"]
    assert by_name["Renamed"]["venue_id"] == public_id("Venue", other_venue["id"])
    assert by_name["Late"]["venue_id"] == tour["venue_id"] and by_name["Late"]["parent_event_id"] == tour["id"]
    core = ok(tenant.staff.get(f"/events/{parent['id']}?include=sessions"))["data"]["sessions"]
    assert {s["name"]: s["venue_id"] for s in core}["Renamed"] == other_venue["id"]  # the core still speaks UUIDs
    # The core's own create keeps taking UUIDs in the same fields (the plugin derives its bodies, never edits them).
    ok(tenant.staff.post("/events", json={"type": "parent", "name": "Core", "sessions": [
        {"name": "S", "venue_id": venue["id"], "starts_at": "2031-01-01T10:00:00Z",
         "ends_at": "2031-01-01T11:00:00Z"}]}), 201)


def test_bad_writes_are_refused_with_003_field_paths_and_change_nothing(world, app):
    tenant, venue, gala, parent = world
    other = make_tenant(app, "Other writer", plugins=("public_api_v2",))
    theirs = ok(other.staff.post("/venues", json={"name": "Theirs"}), 201)["data"]
    tour_id = public_id("Event", parent["id"])
    gala_id = public_id("Event", gala["id"])
    before = ok(key_call(tenant, "GET", "/events?include=sessions,registration_types&page[size]=200"))
    start, end = "2031-05-01T10:00:00Z", "2031-05-01T12:00:00Z"
    cases = [  # body, status, type, the fields `errors` names
        ({"event": {"name": "X", "starts_at": start, "ends_at": end, "venue_id": public_id("Venue", theirs["id"])}},
         422, "unknown_ids", {"venue_id"}),
        ({"event": {"name": "X", "starts_at": start, "ends_at": end, "venue_id": 4503599627370001}},
         422, "unknown_ids", {"venue_id"}),
        ({"event": {"name": "X", "starts_at": start, "ends_at": end, "venue_id": "abc"}},
         422, "validation_error", {"json"}),
        ({"event": {"name": "X", "starts_at": start, "ends_at": end, "venue_id": LIMIT}},
         422, "validation_error", {"json"}),
        ({"event": {"name": "X", "starts_at": end, "ends_at": start}}, 422, "invalid_event", {"ends_at"}),
        ({"event": {"type": "parent", "name": "X", "starts_at": start, "ends_at": end,
                    "sessions": [{"name": "S", "starts_at": end, "ends_at": start}]}},
         422, "invalid_event", {"sessions[0].ends_at"}),
        ({"event": {"name": "X", "starts_at": start, "ends_at": end, "colour": "red"}},
         422, "validation_error", {"json"}),
        ({"event": {"name": "X", "starts_at": start, "ends_at": end,
                    "registration_types": [{"name": "GA", "ticket_type_id": 2217}]}},
         422, "unknown_ids", {"registration_types[0].ticket_type_id"}),
    ]
    for body, status, kind, named in cases:
        answer = key_call(tenant, "POST", "/events", json=body)
        assert (answer.status_code, answer.get_json()["type"], set(answer.get_json()["errors"])) == \
            (status, kind, named), (body, answer.get_json())
    session_of_other_event = ok(key_call(tenant, "GET", f"/events/{tour_id}?include=sessions"))["data"]["sessions"][0]
    for event_id, body, status, kind in (
            (gala_id, {"event": {"sessions": [{"id": session_of_other_event["id"], "name": "Y"}]}}, 422,
             "invalid_event"),
            (tour_id, {"event": {"sessions": [{"id": gala_id, "name": "Y"}]}}, 422, "invalid_event"),
            (tour_id, {"event": {"sessions": [{"id": 4503599627370001, "name": "Y"}]}}, 422, "unknown_ids"),
            (tour_id, {"event": {"type": "date"}}, 422, "invalid_event")):
        answer = key_call(tenant, "PATCH", f"/events/{event_id}", json=body)
        assert (answer.status_code, answer.get_json()["type"]) == (status, kind), (body, answer.get_json())
    assert key_call(tenant, "PATCH", f"/events/{tour_id}", json={"event": {"sessions": [{"id": gala_id}]}}) \
        .get_json()["errors"] == {"sessions[0].id": ["no such session of this event"]}
    missing = key_call(other, "PATCH", f"/events/{tour_id}", json={"event": {"name": "Stolen"}})
    assert missing.status_code == 404 and missing.get_json()["type"] == "event_not_found"
    job = key_call(tenant, "PATCH", f"/events/{gala_id}", json={"event": {}}).headers["X-Event-Sync-Job-ID"]
    assert key_call(other, "GET", f"/events/{gala_id}/sync_jobs/{job}").get_json()["type"] == "event_not_found"
    assert key_call(tenant, "GET", f"/events/{tour_id}/sync_jobs/{job}").get_json()["type"] == "sync_job_not_found"
    after = ok(key_call(tenant, "GET", "/events?include=sessions,registration_types&page[size]=200"))
    assert [{k: v for k, v in e.items() if k != "updated_at"} for e in after["data"]] == \
        [{k: v for k, v in e.items() if k != "updated_at"} for e in before["data"]]


def test_writes_need_the_events_scope(world, operator):
    tenant, venue, gala, parent = world
    made = ok(operator.post(f"/operator/tenants/{tenant.orgid}/api-keys",
                            json={"name": "reader", "role": "staff", "scopes": ["read"]}), 201)
    reader = {"Authorization": f"Token {made['apiKey']}"}
    body = {"event": {"name": "X", "starts_at": "2031-05-01T10:00:00Z", "ends_at": "2031-05-01T12:00:00Z"}}
    refused = tenant._flask.post(PREFIX + "/events", json=body, headers=reader)
    assert refused.status_code == 403, refused.get_json()
    assert tenant._flask.get(PREFIX + "/events", headers=reader).status_code == 200


def test_categories_tags_campaigns_and_calendars_by_numeric_id(world):
    tenant, venue, gala, parent = world
    staff = tenant.staff
    made = {kind: ok(staff.post(f"/{plural}", json={"name": f"{kind} one"}), 201)["data"]["id"]
            for kind, plural in (("Category", "categories"), ("Tag", "tags"), ("Campaign", "campaigns"),
                                 ("Calendar", "calendars"))}
    number = {kind: public_id(kind, uuid) for kind, uuid in made.items()}
    created = key_call(tenant, "POST", "/events", json={"event": {
        "name": "Tagged", "venue_id": public_id("Venue", venue["id"]), "starts_at": "2031-03-01T10:00:00Z",
        "ends_at": "2031-03-01T12:00:00Z", "permanent": True, "calendar_id": number["Calendar"],
        "category_ids": [number["Category"]], "tag_ids": [number["Tag"]], "campaign_ids": [number["Campaign"]],
        "registration_types": [{"name": "GA", "price": 10, "inventory": 5}]}})
    event = ok(created, 201)["data"]
    assert event["calendar_id"] == number["Calendar"]
    shown = ok(key_call(tenant, "GET", f"/events/{event['id']}?include=categories,tags,campaigns,"
                                       "registration_types.stock_item,registration_types.event.venue"))["data"]
    assert [c["id"] for c in shown["categories"]] == [number["Category"]]
    assert [t["id"] for t in shown["tags"]] == [number["Tag"]]
    assert [c["id"] for c in shown["campaigns"]] == [number["Campaign"]]
    tier = shown["registration_types"][0]
    assert tier["stock_item"] == {"inventory": 5, "sold": 0, "held": 0, "available": 5}
    assert (tier["editable"], tier["editable_change_fee"], tier["editable_minutes"]) == (False, 0, None)
    assert tier["event"]["id"] == event["id"] and tier["event"]["venue"]["id"] == tier["event"]["venue_id"] \
        == public_id("Venue", venue["id"])
    for query in (f"filter[calendar_id]={number['Calendar']}", f"filter[category_id]={number['Category']}",
                  "filter[permanence]=permanent"):
        assert [e["id"] for e in ok(key_call(tenant, "GET", f"/events?{query}"))["data"]] == [event["id"]], query
    assert ok(key_call(tenant, "GET", "/events?filter[category_id]=4503599627370001"))["data"] == []
    wrong = key_call(tenant, "PATCH", f"/events/{event['id']}", json={"event": {"tag_ids": [number["Tag"], 12345]}})
    assert wrong.status_code == 422 and wrong.get_json()["errors"] == {
        "tag_ids[1]": ["no record of this organisation has id 12345"]}


def test_registration_types_edited_in_place_with_pickups_by_numeric_id(world):
    tenant, venue, gala, parent = world
    shirt = ok(tenant.staff.post("/pickup-types", json={"name": "T-shirt"}), 201)["data"]
    shirt_id = public_id("PickupType", shirt["id"])
    gala_id = public_id("Event", gala["id"])
    tiers = ok(key_call(tenant, "GET", f"/events/{gala_id}?include=registration_types"))["data"]["registration_types"]
    general, vip = tiers
    changed = key_call(tenant, "PATCH", f"/events/{gala_id}", json={"event": {"registration_types": [
        {"id": general["id"], "name": "General", "pickups": [{"pickup_type_id": shirt_id, "quantity": 2}]},
        {"id": vip["id"], "_destroy": True}]}})
    ok(changed)
    after = ok(key_call(tenant, "GET", f"/events/{gala_id}?include=registration_types.pickups"))["data"]
    [tier] = after["registration_types"]
    assert (tier["id"], tier["name"]) == (general["id"], "General")
    [pickup] = tier["pickups"]
    assert (pickup["pickup_type_id"], pickup["name"], pickup["quantity"]) == (shirt_id, "T-shirt", 2)
    assert isinstance(pickup["id"], int)
    ok(key_call(tenant, "PATCH", f"/events/{gala_id}", json={"event": {"registration_types": [
        {"id": general["id"], "pickups": [{"id": pickup["id"], "_destroy": True}]}]}}))
    again = ok(key_call(tenant, "GET", f"/events/{gala_id}?include=registration_types.pickups"))["data"]
    assert again["registration_types"][0]["pickups"] == []
    tour_tier = ok(key_call(tenant, "GET", f"/events/{public_id('Event', parent['id'])}?include=sessions,"
                                           "registration_types"))["data"]["sessions"][0]["registration_types"][0]
    wrong = key_call(tenant, "PATCH", f"/events/{gala_id}", json={"event": {"registration_types": [
        {"id": tour_tier["id"], "name": "Stolen"}, {"id": 4503599627370001, "name": "Nobody"},
        {"name": "New", "pickups": [{"pickup_type_id": 4503599627370001}]}]}})
    assert wrong.status_code == 422 and wrong.get_json()["type"] == "unknown_ids"
    assert set(wrong.get_json()["errors"]) == {"registration_types[1].id",
                                               "registration_types[2].pickups[0].pickup_type_id"}
    another_events = key_call(tenant, "PATCH", f"/events/{gala_id}", json={"event": {"registration_types": [
        {"id": tour_tier["id"], "name": "Stolen"}]}})
    assert another_events.status_code == 422, another_events.get_json()  # the core: not a tier of this event
    assert "registration_types[0].id" in another_events.get_json()["errors"]


def test_ticket_types_crud_by_numeric_id(world, app):
    tenant, venue, gala, parent = world
    made = ok(key_call(tenant, "POST", "/ticket_types", json={"name": "Standard", "require_name": True}), 201)["data"]
    assert isinstance(made["id"], int) and "public_id" not in made
    assert (made["require_name"], made["include_name"], made["attachable"]) == (True, True, True)
    assert ok(key_call(tenant, "GET", f"/ticket_types/{made['id']}"))["data"] == made
    changed = ok(key_call(tenant, "PATCH", f"/ticket_types/{made['id']}", json={"transferable": False}))["data"]
    assert changed["transferable"] is False and changed["id"] == made["id"]
    listed = ok(key_call(tenant, "GET", "/ticket_types?page[size]=1"))
    assert [t["id"] for t in listed["data"]] == [made["id"]] and listed["meta"]["page"]["last"]
    bad = key_call(tenant, "POST", "/ticket_types", json={"name": "T", "pdf_template_id": 3})
    assert bad.status_code == 422
    gala_id = public_id("Event", gala["id"])
    tier = {"name": "Seated", "price": 20, "ticket_type_id": made["id"]}
    ok(key_call(tenant, "PATCH", f"/events/{gala_id}", json={"event": {"registration_types": [tier]}}))
    attached = ok(key_call(tenant, "GET", f"/events/{gala_id}/ticket_types"))["data"]
    assert [t["id"] for t in attached] == [made["id"]]
    shown = ok(key_call(tenant, "GET", f"/events/{gala_id}?include=registration_types"))["data"]
    assert {t["name"]: t["ticket_type_id"] for t in shown["registration_types"]}["Seated"] == made["id"]
    with_type = ok(key_call(tenant, "GET", f"/events/{gala_id}?include=registration_types.ticket_type"))["data"]
    assert {t["name"]: t["ticket_type"] for t in with_type["registration_types"]}["Seated"] == changed
    in_use = key_call(tenant, "DELETE", f"/ticket_types/{made['id']}")
    assert in_use.status_code == 409 and in_use.get_json()["type"] == "ticket_configuration_in_use"
    other = make_tenant(app, "Other types", plugins=("public_api_v2",))
    for method in ("GET", "PATCH", "DELETE"):
        missing = key_call(other, method, f"/ticket_types/{made['id']}", json={} if method == "PATCH" else None)
        assert missing.status_code == 404 and missing.get_json()["type"] == "ticket_type_not_found", method
    their_event = ok(other.staff.post("/events", json={"name": "O", "starts_at": "2031-01-01T10:00:00Z",
                                                       "ends_at": "2031-01-01T11:00:00Z"}), 201)["data"]
    theirs = key_call(other, "POST", f"/events/{public_id('Event', their_event['id'])}/ticket_types/add",
                      json={"ticket_type_id": made["id"]})
    assert theirs.status_code == 422 and theirs.get_json()["errors"] == {
        "ticket_type_id": [f"no record of this organisation has id {made['id']}"]}
    spare = ok(key_call(tenant, "POST", "/ticket_types", json={"name": "Spare"}), 201)["data"]
    assert key_call(tenant, "DELETE", f"/ticket_types/{spare['id']}").status_code == 204
    assert key_call(tenant, "GET", f"/ticket_types/{spare['id']}").status_code == 404
