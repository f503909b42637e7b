"""Registration types (003) edited in place on POST/PATCH /events: `id` updates, `_destroy` removes, no `id`
creates, re-sending a list changes nothing; the ticket-types service's rules apply under 003's names."""

from __future__ import annotations

import datetime as dt

from test_purchase_support import guest_purchase, iso

from core import db as database
from core.models import TicketType

GA = {"name": "GA", "price": 50, "inventory": 100}
VIP = {"name": "VIP", "price": 125.5, "inventory": 10, "order_max": 4}


def create(tenant, **event) -> dict:
    body = {"name": "Gig", "starts_at": iso(dt.timedelta(days=30)), "ends_at": iso(dt.timedelta(days=30, hours=3)),
            "published_at": iso(-dt.timedelta(minutes=5)), **event}
    response = tenant.staff.post("/events", json={"event": body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def tiers(tenant, event_id: str) -> list[dict]:
    body = tenant.staff.get(f"/events/{event_id}?include=registration_types").get_json()["data"]
    return body["registration_types"]


def patch(tenant, event_id: str, **body):
    return tenant.staff.patch(f"/events/{event_id}", json={"event": body})


def rows(event_id: str) -> list[tuple]:
    with database.db.connection_context():
        return sorted((t.id, t.name, t.price, t.capacity, t.updated_at)
                      for t in TicketType.select().where(TicketType.event == event_id))


def test_an_item_with_id_updates_that_tier_in_place(tenant):
    event = create(tenant, registration_types=[GA, VIP])
    ga, vip = tiers(tenant, event["id"])
    response = patch(tenant, event["id"], registration_types=[{"id": ga["id"], "price": 60, "inventory": 80}])
    assert response.status_code == 200, response.get_json()
    after = {t["id"]: t for t in tiers(tenant, event["id"])}
    assert set(after) == {ga["id"], vip["id"]}  # no copy was appended; VIP, not listed, stays
    assert after[ga["id"]]["priceMinor"] == 6000 and after[ga["id"]]["capacity"] == 80
    assert after[ga["id"]]["name"] == "GA"  # fields not sent keep their value
    assert after[vip["id"]]["priceMinor"] == 12550 and after[vip["id"]]["orderMax"] == 4


def test_resending_the_full_list_unchanged_changes_nothing(tenant):
    event = create(tenant, registration_types=[GA, VIP])
    ga, vip = tiers(tenant, event["id"])
    listed = [{"id": ga["id"], **GA}, {"id": vip["id"], **VIP}]
    assert patch(tenant, event["id"], registration_types=listed).status_code == 200
    before = rows(event["id"])
    for _ in range(2):
        assert patch(tenant, event["id"], registration_types=listed).status_code == 200
    assert rows(event["id"]) == before and len(before) == 2


def test_an_item_without_id_adds_one_and_destroy_removes_an_unsold_one(tenant):
    event = create(tenant, registration_types=[GA])
    (ga,) = tiers(tenant, event["id"])
    response = patch(tenant, event["id"], registration_types=[{"id": ga["id"], "_destroy": True}, VIP])
    assert response.status_code == 200, response.get_json()
    assert [t["name"] for t in tiers(tenant, event["id"])] == ["VIP"]


def test_destroying_a_tier_with_sales_is_409_and_changes_nothing(tenant):
    event = create(tenant, registration_types=[{"name": "Free", "price": 0, "inventory": 10}, GA])
    free, ga = tiers(tenant, event["id"])
    bought = tenant.guest.post("/client/events/tickets/purchase",
                               json=guest_purchase(tenant, event["id"], [(free["id"], 1)]))
    assert bought.status_code == 201, bought.get_json()
    before = rows(event["id"])
    response = patch(tenant, event["id"], name="Renamed", registration_types=[
        {"id": ga["id"], "price": 1}, {"id": free["id"], "_destroy": True}])
    assert response.status_code == 409 and response.get_json()["type"] == "ticket_type_has_sales"
    assert rows(event["id"]) == before  # the GA price change in the same body was rolled back too
    assert tenant.staff.get(f"/events/{event['id']}").get_json()["data"]["name"] == "Gig"


def test_lowering_inventory_below_sold_is_refused_by_the_ticket_type_rule(tenant):
    event = create(tenant, registration_types=[{"name": "Free", "price": 0, "inventory": 10}])
    (free,) = tiers(tenant, event["id"])
    assert tenant.guest.post("/client/events/tickets/purchase", json=guest_purchase(
        tenant, event["id"], [(free["id"], 3)])).status_code == 201
    response = patch(tenant, event["id"], registration_types=[{"id": free["id"], "inventory": 2}])
    assert response.status_code == 409 and response.get_json()["type"] == "capacity_below_sold"
    assert patch(tenant, event["id"], registration_types=[{"id": free["id"], "inventory": 3}]).status_code == 200


def test_field_errors_name_the_item_and_003_field(tenant):
    event = create(tenant, registration_types=[GA])
    (ga,) = tiers(tenant, event["id"])
    cases = [
        ({"id": ga["id"], "order_min": 5, "order_max": 2}, "registration_types[0].order_max"),
        ({"id": ga["id"], "inventory": -1}, "registration_types[0].inventory"),
        ({"id": ga["id"], "price": 1.234}, "registration_types[0].price"),
        ({"id": ga["id"], "currency": "XXX1"}, None),
    ]
    for item, field in cases:
        response = patch(tenant, event["id"], registration_types=[item])
        assert response.status_code == 422, (item, response.get_json())
        if field:
            assert field in response.get_json()["errors"], response.get_json()
    no_name = patch(tenant, event["id"], registration_types=[{"price": 5}])
    assert no_name.status_code == 422 and "name" in no_name.get_json()["errors"]["json"]["registration_types"]["0"]
    no_id = patch(tenant, event["id"], registration_types=[{"name": "X", "_destroy": True}])
    assert no_id.status_code == 422 and "id" in no_id.get_json()["errors"]["json"]["registration_types"]["0"]
    assert [(t["priceMinor"], t["capacity"]) for t in tiers(tenant, event["id"])] == [(5000, 100)]


def test_an_id_of_another_event_or_tenant_is_422_naming_it(tenant, other_tenant):
    event = create(tenant, registration_types=[GA])
    other_event = create(tenant, registration_types=[VIP])
    foreign = create(other_tenant, registration_types=[VIP])
    (theirs,) = tiers(other_tenant, foreign["id"])
    (elsewhere,) = tiers(tenant, other_event["id"])
    answers = []
    for tier_id in (elsewhere["id"], theirs["id"], "00000000-0000-4000-8000-000000000000"):
        response = patch(tenant, event["id"], registration_types=[GA, {"id": tier_id, "price": 1}])
        assert response.status_code == 422, response.get_json()
        assert list(response.get_json()["errors"]) == ["registration_types[1].id"]
        answers.append(response.get_json()["type"])
    assert answers == ["unknown_ids"] * 3
    assert [t["name"] for t in tiers(tenant, event["id"])] == ["GA"]  # the new GA of the body was rolled back
    assert tiers(other_tenant, foreign["id"])[0]["priceMinor"] == 12550
    twice = patch(tenant, event["id"], registration_types=[{"id": tiers(tenant, event["id"])[0]["id"]}] * 2)
    assert twice.status_code == 422 and "registration_types[1].id" in twice.get_json()["errors"]
    on_create = tenant.staff.post("/events", json={"event": {
        "name": "New", "starts_at": iso(dt.timedelta(days=3)), "ends_at": iso(dt.timedelta(days=3, hours=1)),
        "registration_types": [{"id": elsewhere["id"], "name": "Stolen"}]}})
    assert on_create.status_code == 422 and "registration_types[0].id" in on_create.get_json()["errors"]


def test_session_registration_types_are_edited_in_place(tenant):
    session = {"name": "A", "starts_at": iso(dt.timedelta(days=5)), "ends_at": iso(dt.timedelta(days=5, hours=2)),
               "registration_types": [GA]}
    parent = create(tenant, type="parent", sessions=[session])
    full = tenant.staff.get(f"/events/{parent['id']}?include=sessions,registration_types").get_json()["data"]
    child = full["sessions"][0]
    (ga,) = child["registration_types"]
    response = patch(tenant, parent["id"], sessions=[{"id": child["id"], "registration_types": [
        {"id": ga["id"], "name": "Standing"}, VIP]}])
    assert response.status_code == 200, response.get_json()
    names = sorted(t["name"] for t in tiers(tenant, child["id"]))
    assert names == ["Standing", "VIP"] and ga["id"] in {t["id"] for t in tiers(tenant, child["id"])}
    wrong = patch(tenant, parent["id"], sessions=[{"id": child["id"], "registration_types": [
        {"id": "nope", "price": 1}]}])
    assert wrong.status_code == 422 and "sessions[0].registration_types[0].id" in wrong.get_json()["errors"]


def test_only_staff_with_the_events_scope_edit_registration_types(tenant):
    event = create(tenant, registration_types=[GA])
    (ga,) = tiers(tenant, event["id"])
    body = {"event": {"registration_types": [{"id": ga["id"], "price": 1}]}}
    assert tenant.guest.patch(f"/events/{event['id']}", json=body).status_code == 401
    assert tenant.customer().patch(f"/events/{event['id']}", json=body).status_code == 403
    assert tiers(tenant, event["id"])[0]["priceMinor"] == 5000


def test_an_archived_tier_resent_unchanged_passes_and_a_change_is_409(tenant):
    event = create(tenant, registration_types=[{"name": "Free", "price": 0, "inventory": 10}])
    (free,) = tiers(tenant, event["id"])
    assert tenant.guest.post("/client/events/tickets/purchase", json=guest_purchase(
        tenant, event["id"], [(free["id"], 1)])).status_code == 201
    assert tenant.staff.delete(f"/events/ticket-types/{free['id']}").get_json()["data"]["archived"] is True
    same = {"id": free["id"], "name": "Free", "price": 0, "inventory": 10}
    assert patch(tenant, event["id"], registration_types=[same]).status_code == 200
    changed = patch(tenant, event["id"], registration_types=[{**same, "inventory": 20}])
    assert changed.status_code == 409 and changed.get_json()["type"] == "ticket_type_archived"
    assert tiers(tenant, event["id"])[0]["capacity"] == 10


def test_the_editable_fields_are_edited_in_place_too(tenant):
    event = create(tenant, registration_types=[{**GA, "editable": True, "editable_change_fee": 5}])
    (ga,) = tiers(tenant, event["id"])
    response = patch(tenant, event["id"], registration_types=[{"id": ga["id"], "editable_minutes": 30}])
    assert response.status_code == 200, response.get_json()
    (after,) = tiers(tenant, event["id"])
    assert (after["editable"], after["editableChangeFeeMinor"], after["editableMinutes"]) == (True, 500, 30)
    bad = patch(tenant, event["id"], registration_types=[{"id": ga["id"], "editable_change_fee": -1}])
    assert bad.status_code == 422 and "registration_types[0].editable_change_fee" in bad.get_json()["errors"]


def test_sale_times_are_stored_in_utc_and_an_out_of_range_one_is_a_422(tenant):
    event = create(tenant, registration_types=[{**GA, "sale_start": "2030-01-01T10:00:00+02:00"}])
    (ga,) = tiers(tenant, event["id"])
    assert ga["saleStart"] == "2030-01-01T08:00:00Z"
    far = patch(tenant, event["id"], registration_types=[{"id": ga["id"], "sale_start": "0001-01-01T00:00:00+14:00"}])
    assert far.status_code == 422 and "registration_types[0].sale_start" in far.get_json()["errors"]
