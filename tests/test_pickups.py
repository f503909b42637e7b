"""Pickups (003): pickup types, a registration type's pickups (003 and 001 bodies, in place), the pickups each
issued ticket carries (kept through later edits, moved by a transfer) and collecting one, once."""

from __future__ import annotations

import datetime as dt

from test_purchase_support import guest_purchase, iso
from test_races_tickets import poster, storm

from core import db as database
from core.models import TicketPickup, TicketTypePickup

MADE_UP = "00000000-0000-4000-8000-000000000000"


def pickup_type(tenant, name: str = "T-shirt", **fields) -> dict:
    response = tenant.staff.post("/pickup-types", json={"name": name, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def create_event(tenant, registration_types: list, **event) -> dict:
    body = {"name": "Fest", "starts_at": iso(dt.timedelta(days=30)), "ends_at": iso(dt.timedelta(days=30, hours=3)),
            "published_at": iso(-dt.timedelta(minutes=5)), "registration_types": registration_types, **event}
    response = tenant.staff.post("/events", json={"event": body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def tiers(tenant, event_id: str) -> list[dict]:
    return tenant.staff.get(f"/events/{event_id}?include=registration_types.pickups").get_json()["data"][
        "registration_types"]


def buy(tenant, event_id: str, tier_id: str, quantity: int = 1, client=None) -> dict:
    client = client or tenant.guest
    response = client.post("/client/events/tickets/purchase",
                           json=guest_purchase(tenant, event_id, [(tier_id, quantity)]))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def shirt_tickets(tenant, count: int = 1) -> list[dict]:
    """`count` free tickets bought by a guest, of a registration type that gives each a T-shirt."""
    shirt = pickup_type(tenant)
    event = create_event(tenant, [{"name": "GA", "price": 0, "pickups": [{"pickup_type_id": shirt["id"]}]}])
    (ga,) = tiers(tenant, event["id"])
    return buy(tenant, event["id"], ga["id"], count)["tickets"]


def test_pickup_types_crud_and_validation(tenant):
    shirt = pickup_type(tenant, description="One per attendee")
    assert shirt["name"] == "T-shirt" and shirt["description"] == "One per attendee"
    assert isinstance(shirt["public_id"], int)
    token = pickup_type(tenant, "Drink token")
    listed = tenant.staff.get("/pickup-types").get_json()["data"]
    assert [p["name"] for p in listed] == ["Drink token", "T-shirt"]
    changed = tenant.staff.patch(f"/pickup-types/{shirt['id']}", json={"name": "Tee"})
    assert changed.status_code == 200 and changed.get_json()["data"]["name"] == "Tee"
    assert tenant.staff.get(f"/pickup-types/{shirt['id']}").get_json()["data"]["description"] == "One per attendee"
    for body in ({}, {"name": ""}, {"name": "   "}, {"name": "x", "colour": "red"}):
        response = tenant.staff.post("/pickup-types", json=body)
        assert response.status_code == 422 and response.get_json()["type"] in ("validation_error",
                                                                                "invalid_pickup_type"), body
    assert tenant.staff.delete(f"/pickup-types/{token['id']}").status_code == 204
    assert tenant.staff.get(f"/pickup-types/{token['id']}").status_code == 404
    assert tenant.guest.get("/pickup-types").status_code == 401
    assert tenant.customer().post("/pickup-types", json={"name": "x"}).status_code == 403


def test_another_tenants_pickup_type_is_not_found(tenant, other_tenant):
    theirs = pickup_type(other_tenant)
    for call in (tenant.staff.get, tenant.staff.delete):
        response = call(f"/pickup-types/{theirs['id']}")
        assert response.status_code == 404 and response.get_json()["type"] == "pickup_type_not_found"
    assert tenant.staff.patch(f"/pickup-types/{theirs['id']}", json={"name": "Mine"}).status_code == 404
    assert tenant.staff.get("/pickup-types").get_json()["data"] == []
    answers = set()
    for type_id in (theirs["id"], MADE_UP):
        response = tenant.staff.post("/events", json={"event": {
            "name": "x", "starts_at": iso(dt.timedelta(days=2)), "ends_at": iso(dt.timedelta(days=2, hours=1)),
            "registration_types": [{"name": "GA", "pickups": [{"pickup_type_id": type_id}]}]}})
        answers.add((response.status_code, response.get_json()["type"], tuple(response.get_json()["errors"])))
    assert answers == {(422, "unknown_ids", ("registration_types[0].pickups[0].pickup_type_id",))}
    assert other_tenant.staff.get(f"/pickup-types/{theirs['id']}").get_json()["data"]["name"] == "T-shirt"


def test_registration_type_pickups_are_shown_and_edited_in_place(tenant):
    shirt, token = pickup_type(tenant), pickup_type(tenant, "Drink token")
    event = create_event(tenant, [{"name": "VIP", "price": 0, "pickups": [
        {"pickup_type_id": shirt["id"]}, {"pickup_type_id": token["id"], "quantity": 2}]}])
    plain = tenant.staff.get(f"/events/{event['id']}?include=registration_types").get_json()["data"]
    assert "pickups" not in plain["registration_types"][0]
    (vip,) = tiers(tenant, event["id"])
    assert [(p["name"], p["quantity"]) for p in vip["pickups"]] == [("T-shirt", 1), ("Drink token", 2)]
    shirt_pickup, token_pickup = vip["pickups"]
    assert shirt_pickup["pickupTypeId"] == shirt["id"]
    response = tenant.staff.patch(f"/events/{event['id']}", json={"event": {"registration_types": [
        {"id": vip["id"], "pickups": [{"id": token_pickup["id"], "quantity": 3},
                                      {"id": shirt_pickup["id"], "_destroy": True}]}]}})
    assert response.status_code == 200, response.get_json()
    (vip,) = tiers(tenant, event["id"])
    assert [(p["id"], p["quantity"]) for p in vip["pickups"]] == [(token_pickup["id"], 3)]
    # listing a pickup type the tier already has changes its quantity: re-sending never duplicates
    for _ in range(2):
        assert tenant.staff.patch(f"/events/{event['id']}", json={"event": {"registration_types": [
            {"id": vip["id"], "pickups": [{"pickup_type_id": token["id"], "quantity": 4}]}]}}).status_code == 200
    (vip,) = tiers(tenant, event["id"])
    assert [(p["id"], p["quantity"]) for p in vip["pickups"]] == [(token_pickup["id"], 4)]
    bad = tenant.staff.patch(f"/events/{event['id']}", json={"event": {"registration_types": [
        {"id": vip["id"], "pickups": [{"id": shirt_pickup["id"], "quantity": 1}]}]}})
    assert bad.status_code == 422 and list(bad.get_json()["errors"]) == ["registration_types[0].pickups[0].id"]
    zero = tenant.staff.patch(f"/events/{event['id']}", json={"event": {"registration_types": [
        {"id": vip["id"], "pickups": [{"pickup_type_id": token["id"], "quantity": 0}]}]}})
    assert zero.status_code == 422
    assert tiers(tenant, event["id"])[0]["pickups"][0]["quantity"] == 4


def test_pickups_on_the_core_ticket_type_routes(tenant, other_tenant):
    shirt = pickup_type(tenant)
    event = create_event(tenant, [])
    response = tenant.staff.post(f"/events/{event['id']}/ticket-types", json={
        "name": "Crew", "price": 0, "pickups": [{"pickupTypeId": shirt["id"], "quantity": 2}]})
    assert response.status_code == 201, response.get_json()
    created = response.get_json()["data"]
    assert [(p["pickupTypeId"], p["name"], p["quantity"]) for p in created["pickups"]] == [(shirt["id"], "T-shirt", 2)]
    one = tenant.staff.get(f"/events/ticket-types/{created['id']}").get_json()["data"]
    assert one["pickups"] == created["pickups"]
    listed = tenant.staff.get(f"/events/{event['id']}/ticket-types").get_json()["data"]
    assert listed[0]["pickups"] == created["pickups"]
    data_api = tenant.staff.get("/data/event_ticket_type/list").get_json()["data"]
    assert data_api[0]["pickups"] == created["pickups"]
    pickup_id = created["pickups"][0]["id"]
    patched = tenant.staff.patch(f"/events/ticket-types/{created['id']}", json={
        "pickups": [{"id": pickup_id, "_destroy": True}]})
    assert patched.status_code == 200 and patched.get_json()["data"]["pickups"] == []
    theirs = pickup_type(other_tenant)
    refused = tenant.staff.patch(f"/events/ticket-types/{created['id']}", json={
        "pickups": [{"pickupTypeId": theirs["id"]}]})
    assert refused.status_code == 422 and refused.get_json()["type"] == "unknown_ids"
    assert "pickups[0].pickupTypeId" in refused.get_json()["errors"]["json"]


def test_issued_tickets_carry_their_pickups_and_keep_them_through_edits(tenant):
    shirt, token = pickup_type(tenant), pickup_type(tenant, "Drink token")
    event = create_event(tenant, [
        {"name": "VIP", "price": 0, "pickups": [{"pickup_type_id": shirt["id"]},
                                                 {"pickup_type_id": token["id"], "quantity": 2}]},
        {"name": "Table", "price": 0, "quantity": 4, "grouped": True,
         "pickups": [{"pickup_type_id": token["id"]}]}])
    vip, table = tiers(tenant, event["id"])
    fan = tenant.customer()
    bought = fan.post("/client/events/tickets/purchase", json={
        "eventId": event["id"], "items": [{"ticketTypeId": vip["id"], "quantity": 2}]})
    assert bought.status_code == 201, bought.get_json()
    tickets = bought.get_json()["tickets"]
    assert len(tickets) == 2
    for ticket in tickets:
        assert [(p["name"], p["quantity"], p["collectedAt"]) for p in ticket["pickups"]] == [
            ("T-shirt", 1, None), ("Drink token", 2, None)]
    group = buy(tenant, event["id"], table["id"])["tickets"]
    assert [(t["seats"], [(p["name"], p["quantity"]) for p in t["pickups"]]) for t in group] == [
        (4, [("Drink token", 4)])]
    # the tier's pickups change later: sold tickets keep what they were sold with
    assert tenant.staff.patch(f"/events/{event['id']}", json={"event": {"registration_types": [
        {"id": vip["id"], "pickups": [{"id": p["id"], "_destroy": True} for p in vip["pickups"]]}]}}).status_code == 200
    mine = fan.get("/client/events/tickets/mine").get_json()["tickets"]
    assert sorted(len(t["pickups"]) for t in mine) == [2, 2]
    one = fan.get(f"/client/events/tickets/{tickets[0]['id']}").get_json()
    assert one["pickups"] == tickets[0]["pickups"]
    staff_one = tenant.staff.get(f"/events/tickets/{tickets[0]['id']}").get_json()
    assert staff_one["pickups"] == tickets[0]["pickups"]
    page = tenant.staff.get(f"/events/{event['id']}/tickets").get_json()["data"]
    assert sorted(len(t["pickups"]) for t in page) == [1, 2, 2]
    later = buy(tenant, event["id"], vip["id"])["tickets"][0]
    assert later["pickups"] == []
    # a pickup type carried by sold tickets cannot be deleted (tickets keep theirs)
    response = tenant.staff.delete(f"/pickup-types/{shirt['id']}")
    assert response.status_code == 409 and response.get_json()["type"] == "pickup_type_in_use"


def test_a_pickup_is_collected_once(tenant):
    (ticket,) = shirt_tickets(tenant)
    pickup = ticket["pickups"][0]
    path = f"/events/tickets/{ticket['id']}/pickups/{pickup['id']}/collect"
    first = tenant.staff.post(path)
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["id"] == pickup["id"] and body["ticketId"] == ticket["id"] and body["collectedAt"].endswith("Z")
    again = tenant.staff.post(path)
    assert again.status_code == 409 and again.get_json()["type"] == "pickup_already_collected"
    assert again.get_json()["collectedAt"] == body["collectedAt"]
    shown = tenant.staff.get(f"/events/tickets/{ticket['id']}").get_json()["pickups"][0]
    assert shown["collectedAt"] == body["collectedAt"]
    assert tenant.staff.post(f"/events/tickets/{ticket['id']}/pickups/{MADE_UP}/collect").get_json()["type"] == \
        "pickup_not_found"
    assert tenant.staff.post(f"/events/tickets/{MADE_UP}/pickups/{pickup['id']}/collect").status_code == 404
    assert tenant.customer().post(path).status_code == 403
    assert tenant.guest.post(path).status_code == 401


def test_a_refunded_or_cancelled_tickets_pickups_cannot_be_collected(tenant):
    first, second = shirt_tickets(tenant, 2)
    assert tenant.staff.post(f"/events/tickets/{first['id']}/cancel").status_code == 200
    assert tenant.staff.post(f"/events/tickets/{second['id']}/refund", json={}).status_code == 200
    for ticket in (first, second):
        response = tenant.staff.post(f"/events/tickets/{ticket['id']}/pickups/{ticket['pickups'][0]['id']}/collect")
        assert response.status_code == 409 and response.get_json()["type"] == "ticket_revoked", response.get_json()
    with database.db.connection_context():
        assert TicketPickup.select().where(TicketPickup.collected_at.is_null(False)
                                           & (TicketPickup.org == tenant.orgid)).count() == 0


def test_concurrent_collects_have_one_winner(live_server, tenant):
    (ticket,) = shirt_tickets(tenant)
    path = f"/events/tickets/{ticket['id']}/pickups/{ticket['pickups'][0]['id']}/collect"
    responses = storm([poster(live_server, tenant, path, {}) for _ in range(10)])
    assert sorted(r.status_code for r in responses) == [200] + [409] * 9
    assert {r.json()["type"] for r in responses if r.status_code == 409} == {"pickup_already_collected"}


def test_a_transfer_moves_the_pickups_to_the_new_ticket(tenant):
    (ticket,) = shirt_tickets(tenant)
    pickup = ticket["pickups"][0]
    moved = tenant.staff.post(f"/events/tickets/{ticket['id']}/transfer", json={"toEmail": "friend@example.com"})
    assert moved.status_code == 201, moved.get_json()
    new = moved.get_json()["newTicket"]
    assert [p["id"] for p in new["pickups"]] == [pickup["id"]] and moved.get_json()["oldTicket"]["pickups"] == []
    collected = tenant.staff.post(f"/events/tickets/{new['id']}/pickups/{pickup['id']}/collect")
    assert collected.status_code == 200


def test_deleting_a_pickup_type_in_use_by_a_registration_type_is_409(tenant):
    shirt = pickup_type(tenant)
    event = create_event(tenant, [{"name": "GA", "price": 0, "pickups": [{"pickup_type_id": shirt["id"]}]}])
    response = tenant.staff.delete(f"/pickup-types/{shirt['id']}")
    assert response.status_code == 409 and response.get_json()["type"] == "pickup_type_in_use"
    (ga,) = tiers(tenant, event["id"])
    assert tenant.staff.patch(f"/events/{event['id']}", json={"event": {"registration_types": [
        {"id": ga["id"], "_destroy": True}]}}).status_code == 200
    assert tenant.staff.delete(f"/pickup-types/{shirt['id']}").status_code == 204
    with database.db.connection_context():
        assert TicketTypePickup.select().where(TicketTypePickup.org == tenant.orgid).count() == 0


def test_recurring_dates_copy_the_template_pickups(tenant):
    shirt = pickup_type(tenant)
    response = tenant.staff.post("/events", json={"event": {
        "type": "recurring", "name": "Weekly", "tz": "UTC",
        "starts_at": iso(dt.timedelta(days=1)), "ends_at": iso(dt.timedelta(days=1, hours=2)),
        "registration_types": [{"name": "GA", "price": 0, "pickups": [{"pickup_type_id": shirt["id"], "quantity": 2}]}],
        "recurrences": [{"starts_at": iso(dt.timedelta(days=1)), "ends": "after_occurrences", "max_occurrences": 3,
                         "repeat_unit": "week", "duration": 2}]}})
    assert response.status_code == 201, response.get_json()
    parent = response.get_json()["data"]["id"]
    dates = tenant.staff.get(f"/events?filter[parent_event_id]={parent}&include=registration_types.pickups")
    data = dates.get_json()["data"]
    assert len(data) == 3
    assert all([(p["name"], p["quantity"]) for p in d["registration_types"][0]["pickups"]] == [("T-shirt", 2)]
               for d in data)


def test_include_pickups_costs_one_query_for_a_page(tenant):
    from core.services import event_queries

    shirt = pickup_type(tenant)
    for n in range(3):
        create_event(tenant, [{"name": f"GA{n}", "pickups": [{"pickup_type_id": shirt["id"]}]},
                              {"name": f"VIP{n}", "pickups": [{"pickup_type_id": shirt["id"], "quantity": 2}]}],
                     name=f"E{n}")
    calls = []
    original = event_queries.ticket_type_pickups
    event_queries.ticket_type_pickups = lambda *a, **k: calls.append(a) or original(*a, **k)
    try:
        data = tenant.staff.get("/events?include=registration_types.pickups").get_json()["data"]
    finally:
        event_queries.ticket_type_pickups = original
    assert len(calls) == 1 and len(data) == 3
    quantities = sorted(p["quantity"] for e in data for t in e["registration_types"] for p in t["pickups"])
    assert quantities == [1] * 3 + [2] * 3
    customer = tenant.guest.get("/client/events?include=registration_types.pickups").get_json()["data"]
    assert all(t["pickups"][0]["name"] == "T-shirt" for e in customer for t in e["registration_types"])


def test_migration_creates_the_pickup_tables_and_is_idempotent(tenant):
    from core.migrations import m0012_pickups
    from core.models import PickupType

    tables = [TicketPickup, TicketTypePickup, PickupType]
    with database.db.connection_context():
        database.db.drop_tables(tables)
        m0012_pickups.upgrade()
        m0012_pickups.upgrade()  # idempotent
        assert all(model.table_exists() for model in tables)
        indexes = {i.name: i for i in database.db.get_indexes("ticket_type_pickup")}
        assert indexes["ticket_type_pickup_ticket_type_id_pickup_type_id"].unique
    (ticket,) = shirt_tickets(tenant)
    assert ticket["pickups"][0]["name"] == "T-shirt"


def test_a_door_key_collects_and_reads_but_cannot_manage_pickup_types(app, config, tenant):
    (ticket,) = shirt_tickets(tenant)
    created = app.test_client().post(f"/operator/tenants/{tenant.orgid}/api-keys",
                                     json={"name": "door", "scopes": ["checkin", "read"]},
                                     headers={"Authorization": f"Bearer {config.operator_token}"})
    assert created.status_code == 201, created.get_json()
    door = tenant.guest.as_token(None)
    headers = {"Authorization": f"Token {created.get_json()['apiKey']}"}
    assert door.get("/pickup-types", headers=headers).status_code == 200
    refused = door.post("/pickup-types", json={"name": "Cap"}, headers=headers)
    assert refused.status_code == 403 and refused.get_json()["scope"] == "events"
    path = f"/events/tickets/{ticket['id']}/pickups/{ticket['pickups'][0]['id']}/collect"
    assert door.post(path, headers=headers).status_code == 200


def test_concurrent_edits_adding_one_pickup_type_keep_one_row(live_server, tenant):
    import requests

    shirt = pickup_type(tenant)
    event = create_event(tenant, [{"name": "GA", "price": 0}])
    (ga,) = tiers(tenant, event["id"])
    headers = {"orgid": tenant.orgid, "Authorization": f"Bearer {tenant.staff_token}"}
    body = {"pickups": [{"pickupTypeId": shirt["id"], "quantity": 2}]}
    url = f"{live_server.url}/events/ticket-types/{ga['id']}"
    responses = storm([lambda: requests.patch(url, json=body, headers=headers, timeout=60) for _ in range(8)])
    assert {r.status_code for r in responses} <= {200, 409}, [r.text for r in responses]
    assert {r.json()["type"] for r in responses if r.status_code == 409} <= {"pickups_changed"}
    (ga,) = tiers(tenant, event["id"])
    assert [(p["pickupTypeId"], p["quantity"]) for p in ga["pickups"]] == [(shirt["id"], 2)]
