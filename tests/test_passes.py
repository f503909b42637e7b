"""003 passes (`event[passes]` of a parent event) over HTTP: created and edited with the event, shown with
`include=passes`, admitted at every session's door without a choice of sessions (each session counting its
own entries), one ticket per holder or one combined ticket, and an inline ticket configuration."""

from __future__ import annotations

import datetime as dt

from test_purchase_support import iso
from test_races_tickets import poster, storm

from core import db as database
from core.models import CheckIn, EventTicketConfiguration, Org, PassAdmission, Ticket, TicketConfiguration, TicketType
from core.services import qr

PURCHASE = "/client/events/tickets/purchase"


def festival(tenant, passes: list[dict], **extra) -> tuple[str, list[str]]:
    """A parent event with sessions A and B and the given passes; returns (parent id, session ids)."""
    day = dt.timedelta(days=20)
    sessions = [{"name": f"Night {n}", "starts_at": iso(day + dt.timedelta(hours=h)),
                 "ends_at": iso(day + dt.timedelta(hours=h + 2)), "published_at": iso(-dt.timedelta(minutes=5))}
                for n, h in (("A", 17), ("B", 20))]
    response = tenant.staff.post("/events", json={"event": {"type": "parent", "name": "Weekender", "tz": "UTC",
                                                            "sessions": sessions, "passes": passes, **extra}})
    assert response.status_code == 201, response.get_json()
    parent = response.get_json()["data"]["id"]
    full = tenant.staff.get(f"/events/{parent}?include=sessions").get_json()["data"]
    return parent, [s["id"] for s in full["sessions"]]


def shown_passes(tenant, parent: str) -> list[dict]:
    return tenant.staff.get(f"/events/{parent}?include=passes,registration_types").get_json()["data"]["passes"]


def buy(customer, event_id: str, ticket_type_id: str, quantity: int = 1) -> list[dict]:
    response = customer.post(PURCHASE, json={"eventId": event_id,
                                             "tickets": [{"ticketTypeId": ticket_type_id, "quantity": quantity}]})
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()["tickets"]


def check_in(tenant, ticket_id: str, session: str):
    return tenant.staff.post(f"/events/check-in/{ticket_id}", json={"eventId": session})


def test_a_pass_is_created_with_its_parent_and_shown_apart_from_registration_types(tenant):
    parent, _ = festival(tenant, [{"name": "Weekend wristband", "price": 120, "inventory": 40, "order_max": 4}],
                         registration_types=[{"name": "Door", "price": 10}])
    body = tenant.staff.get(f"/events/{parent}?include=passes,registration_types").get_json()["data"]
    assert [rt["name"] for rt in body["registration_types"]] == ["Door"]
    (wristband,) = body["passes"]
    assert (wristband["name"], wristband["priceMinor"], wristband["capacity"], wristband["orderMax"]) == (
        "Weekend wristband", 12000, 40, 4)
    assert wristband["isPass"] is True and wristband["separate"] is True and wristband["ticket_type_id"] is None
    customer_view = tenant.customer().get(f"/client/events/{parent}?include=passes").get_json()["data"]
    assert [p["name"] for p in customer_view["passes"]] == ["Weekend wristband"]


def test_a_pass_is_admitted_once_at_each_session_without_choosing_sessions(tenant):
    parent, (night_a, night_b) = festival(tenant, [{"name": "Weekend", "price": 0, "inventory": 10}])
    (weekend,) = shown_passes(tenant, parent)
    holder = tenant.customer()
    (ticket,) = buy(holder, parent, weekend["id"])

    first = check_in(tenant, ticket["id"], night_a)
    assert first.status_code == 200, first.get_json()
    again = check_in(tenant, ticket["id"], night_a)
    assert again.status_code == 409 and again.get_json()["type"] == "already_checked_in"
    assert again.get_json()["sessionId"] == night_a
    second = check_in(tenant, ticket["id"], night_b)  # night A's entry does not use up night B's
    assert second.status_code == 200, second.get_json()
    assert second.get_json()["ticket"]["scanCount"] == 2
    assert check_in(tenant, ticket["id"], night_b).status_code == 409

    with database.db.connection_context():
        payload = qr.payload_for(Org.get_by_id(tenant.orgid), Ticket.get_by_id(ticket["id"]))
    verdict = tenant.staff.post("/events/tickets/validate", json={"qrPayload": payload, "eventId": night_b})
    assert (verdict.get_json()["valid"], verdict.get_json()["reason"]) == (False, "already_used")


def test_a_passes_re_entry_limit_applies_at_each_session(tenant):
    parent, (night_a, night_b) = festival(tenant, [{"name": "Weekend", "price": 0}])
    (weekend,) = shown_passes(tenant, parent)
    reentry = tenant.staff.patch(f"/events/ticket-types/{weekend['id']}", json={"allowReentry": True,
                                                                               "reentryLimit": 2})
    assert reentry.status_code == 200, reentry.get_json()
    (ticket,) = buy(tenant.customer(), parent, weekend["id"])
    assert [check_in(tenant, ticket["id"], night_a).status_code for _ in range(3)] == [200, 200, 409]
    assert [check_in(tenant, ticket["id"], night_b).status_code for _ in range(3)] == [200, 200, 409]
    no_longer = tenant.staff.patch(f"/events/ticket-types/{weekend['id']}", json={"isPass": False})
    assert no_longer.status_code == 422 and "isPass" in no_longer.get_json()["errors"]["json"]


def test_a_guests_pass_needs_no_account_but_a_001_pass_still_needs_a_choice(tenant):
    parent, (night_a, _b) = festival(tenant, [{"name": "Weekend", "price": 0}])
    (weekend,) = shown_passes(tenant, parent)
    comp = tenant.staff.post("/events/tickets/comp", json={"eventId": parent, "ticketTypeId": weekend["id"],
                                                           "holders": [{"email": "g@example.com", "name": "G"}]})
    assert comp.status_code == 201, comp.get_json()
    assert check_in(tenant, comp.get_json()["tickets"][0]["id"], night_a).status_code == 200

    old_style = tenant.staff.post(f"/events/{parent}/ticket-types", json={"name": "Old pass", "price": 0,
                                                                         "isPass": True}).get_json()["data"]
    comp = tenant.staff.post("/events/tickets/comp", json={"eventId": parent, "ticketTypeId": old_style["id"],
                                                           "holders": [{"email": "h@example.com", "name": "H"}]})
    refused = check_in(tenant, comp.get_json()["tickets"][0]["id"], night_a)
    assert refused.status_code == 409 and refused.get_json()["type"] == "not_registered_for_session"


def test_revoked_and_foreign_passes_follow_the_usual_door_rules(tenant, other_tenant):
    parent, (night_a, _b) = festival(tenant, [{"name": "Weekend", "price": 0}])
    (weekend,) = shown_passes(tenant, parent)
    (ticket,) = buy(tenant.customer(), parent, weekend["id"])
    assert tenant.staff.post(f"/events/tickets/{ticket['id']}/cancel", json={}).status_code == 200
    refused = check_in(tenant, ticket["id"], night_a)
    assert refused.status_code == 409 and refused.get_json()["type"] == "ticket_revoked"
    other_parent, (their_night, _) = festival(other_tenant, [{"name": "Weekend", "price": 0}])
    assert check_in(other_tenant, ticket["id"], their_night).status_code == 404


def test_separate_passes_issue_a_ticket_per_holder_and_combined_ones_a_single_ticket(tenant):
    parent, _ = festival(tenant, [{"name": "Family of four", "price": 0, "quantity": 4, "separate": True},
                                  {"name": "Group of four", "price": 0, "quantity": 4, "separate": False}])
    family, group = shown_passes(tenant, parent)
    assert (family["separate"], group["separate"]) == (True, False)
    holder = tenant.customer()
    assert len(buy(holder, parent, family["id"])) == 4
    combined = buy(holder, parent, group["id"])
    assert len(combined) == 1
    with database.db.connection_context():
        assert Ticket.get_by_id(combined[0]["id"]).seats == 4


def test_an_inline_ticket_type_creates_a_ticket_configuration_for_the_pass(tenant):
    parent, _ = festival(tenant, [{"name": "VIP weekend", "price": 300, "ticket_type": {
        "name": "VIP wristband", "display_name": "VIP", "transferable": False, "include_name": True,
        "require_name": True}}])
    (vip,) = shown_passes(tenant, parent)
    assert vip["ticket_type_id"]
    with database.db.connection_context():
        configuration = TicketConfiguration.get_by_id(vip["ticket_type_id"])
        assert (configuration.org_id, configuration.name, configuration.display_name) == (
            tenant.orgid, "VIP wristband", "VIP")
        assert (configuration.transferable, configuration.require_name, configuration.attachable) == (
            False, True, True)
        assert EventTicketConfiguration.select().where(
            (EventTicketConfiguration.event == parent)
            & (EventTicketConfiguration.configuration == configuration.id)).exists()


def test_passes_are_refused_on_other_event_types_and_bad_fields_name_themselves(tenant):
    start = dt.timedelta(days=5)
    date_event = tenant.staff.post("/events", json={"event": {
        "name": "Gig", "starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=2)),
        "passes": [{"name": "Pass"}]}})
    assert date_event.status_code == 422 and "passes" in date_event.get_json()["errors"]
    day = tenant.staff.post("/events", json={"event": {"name": "Day", "starts_at": iso(start),
                                                       "ends_at": iso(start + dt.timedelta(hours=2))}})
    patched = tenant.staff.patch(f"/events/{day.get_json()['data']['id']}", json={"passes": [{"name": "Pass"}]})
    assert patched.status_code == 422 and "passes" in patched.get_json()["errors"]
    day_session = [{"name": "S", "starts_at": iso(start), "ends_at": iso(start + dt.timedelta(hours=1))}]
    for bad, field in (({"name": "P", "ticket_type": {"name": "T", "pdf_template_id": 5}}, "ticket_type"),
                       ({"name": "P", "separate": True, "grouped": True}, "separate"),
                       ({"name": "P", "ticket_type": {"name": "T", "include_email": False, "require_email": True}},
                        "ticket_type"),
                       ({"name": "P", "id": "00000000-0000-4000-8000-000000000000"}, "passes[0].id")):
        response = tenant.staff.post("/events", json={"event": {"type": "parent", "name": "F", "tz": "UTC",
                                                                "sessions": day_session, "passes": [bad]}})
        assert response.status_code == 422, (bad, response.get_json())
        assert field in str(response.get_json()["errors"]), (field, response.get_json())
    with database.db.connection_context():
        assert not TicketType.select().where((TicketType.org == tenant.orgid) & TicketType.is_pass).exists()


def test_passes_are_changed_in_place_added_and_removed_on_update(tenant, other_tenant):
    parent, _ = festival(tenant, [{"name": "Weekend", "price": 100, "inventory": 10},
                                  {"name": "Sunday", "price": 40}])
    weekend, sunday = shown_passes(tenant, parent)
    changed = tenant.staff.patch(f"/events/{parent}", json={"event": {"passes": [
        {"id": weekend["id"], "price": 90, "separate": False, "editable": True, "editable_change_fee": 5},
        {"id": sunday["id"], "_destroy": True},
        {"name": "Friday", "price": 30, "ticket_type": {"name": "Friday band"}}]}})
    assert changed.status_code == 200, changed.get_json()
    after = {p["name"]: p for p in shown_passes(tenant, parent)}
    assert sorted(after) == ["Friday", "Weekend"]
    assert after["Weekend"]["id"] == weekend["id"]
    assert (after["Weekend"]["priceMinor"], after["Weekend"]["capacity"], after["Weekend"]["separate"]) == (
        9000, 10, False)
    assert after["Friday"]["ticket_type_id"] is not None
    assert (after["Weekend"]["editable"], after["Weekend"]["editableChangeFee"]) == (True, "5.00")

    their_parent, _ = festival(other_tenant, [{"name": "Theirs", "price": 5}])
    (theirs,) = shown_passes(other_tenant, their_parent)
    foreign = tenant.staff.patch(f"/events/{parent}", json={"passes": [{"id": theirs["id"], "price": 1}]})
    made_up = tenant.staff.patch(f"/events/{parent}", json={"passes": [
        {"id": "00000000-0000-4000-8000-000000000000", "price": 1}]})
    assert foreign.status_code == made_up.status_code == 422
    assert foreign.get_json()["errors"] == made_up.get_json()["errors"]
    assert shown_passes(other_tenant, their_parent)[0]["priceMinor"] == 500


def test_doors_racing_on_one_pass_admit_it_once_per_session(tenant, live_server):
    parent, (night_a, night_b) = festival(tenant, [{"name": "Weekend", "price": 0}])
    (weekend,) = shown_passes(tenant, parent)
    (ticket,) = buy(tenant.customer(), parent, weekend["id"])
    responses = storm([poster(live_server, tenant, f"/events/check-in/{ticket['id']}", {"eventId": session})
                       for session in (night_a, night_b) * 6])
    admitted = [session for session, r in zip((night_a, night_b) * 6, responses, strict=True) if r.status_code == 200]
    assert sorted(admitted) == sorted([night_a, night_b])
    assert {r.json()["type"] for r in responses if r.status_code != 200} == {"already_checked_in"}
    with database.db.connection_context():
        assert Ticket.get_by_id(ticket["id"]).scan_count == 2
        assert sorted(row.scan_count for row in PassAdmission.select().where(PassAdmission.ticket_id == ticket["id"])
                      ) == [1, 1]
        assert CheckIn.select().where((CheckIn.ticket == ticket["id"]) & (CheckIn.result == "admitted")).count() == 2


def test_a_pass_carries_pickups_like_a_registration_type(tenant):
    shirt = tenant.staff.post("/pickup-types", json={"name": "T-shirt"}).get_json()["data"]
    parent, _ = festival(tenant, [{"name": "Weekend", "price": 0,
                                   "pickups": [{"pickup_type_id": shirt["id"], "quantity": 2}]}])
    (weekend,) = shown_passes(tenant, parent)
    assert [(p["pickupTypeId"], p["quantity"]) for p in weekend["pickups"]] == [(shirt["id"], 2)]


def test_a_pass_may_name_an_existing_ticket_configuration(tenant, other_tenant):
    standard = tenant.staff.post("/ticket-configurations", json={"name": "Standard"}).get_json()["data"]
    parent, _ = festival(tenant, [{"name": "Weekend", "price": 0, "ticket_type_id": standard["id"]}])
    assert shown_passes(tenant, parent)[0]["ticket_type_id"] == standard["id"]
    attached = tenant.staff.get(f"/events/{parent}/ticket_types").get_json()["data"]
    assert [c["id"] for c in attached] == [standard["id"]]
    theirs = other_tenant.staff.post("/ticket-configurations", json={"name": "Theirs"}).get_json()["data"]
    answers = [tenant.staff.patch(f"/events/{parent}", json={"passes": [{"name": "Day", "ticket_type_id": ref}]})
               for ref in (theirs["id"], "00000000-0000-4000-8000-000000000000")]
    assert answers[0].status_code == answers[1].status_code == 422
    assert [(a.get_json()["type"], list(a.get_json()["errors"])) for a in answers] == [
        ("ticket_configuration_not_found", ["passes[0].ticket_type_id"])] * 2
    assert [p["name"] for p in shown_passes(tenant, parent)] == ["Weekend"]
