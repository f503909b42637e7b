"""Attendees as records: one per e-mail per tenant (case ignored) across purchases, comps, registrations,
activations and transfers; participants lists keyed by the attendee's stable id; `GET /attendees/{id}`;
concurrent purchases with one e-mail make one attendee; migration 22 backfills existing tickets."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests
from test_purchase_support import make_event, make_type

from core import db as database
from core.models import Attendee, Ticket

PURCHASE = "/client/events/tickets/purchase"
REGISTER = "/client/events/tickets/register"
COMP = "/events/tickets/comp"
PREGEN = "/events/tickets/pre-generate"


def participants(tenant, event_id: str) -> list[dict]:
    response = tenant.staff.get(f"/events/{event_id}/participants?page=1&limit=200")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["participants"]


def paid_purchase(tenant, event_id: str, ticket_type_id: str, email: str, name: str, quantity: int = 1) -> list:
    """A guest's paid order marked paid by staff; returns the issued tickets."""
    order = tenant.guest.post(PURCHASE, json={"eventId": event_id, "email": email, "name": name,
                                              "items": [{"ticketTypeId": ticket_type_id, "quantity": quantity}]})
    assert order.status_code == 201, order.get_json()
    paid = tenant.staff.post(f"/events/bookings/{order.get_json()['bookingId']}/mark-paid", json={"reference": "c"})
    assert paid.status_code == 200, paid.get_json()
    return paid.get_json()["tickets"]


def test_one_attendee_per_email_across_purchases_comps_and_registrations(tenant):
    event = make_event(tenant)
    paid = make_type(tenant, event, name="Seated", price=20)
    rsvp = make_type(tenant, event, name="RSVP", price=0)
    bought = paid_purchase(tenant, event, paid, "Ana@Example.com", "Ana Maria Lima", quantity=2)
    registered = tenant.guest.post(REGISTER, json={"eventId": event, "ticketTypeId": rsvp,
                                                   "email": "ANA@example.COM", "name": "Ana"}).get_json()["tickets"]
    comped = tenant.staff.post(COMP, json={"eventId": event, "ticketTypeId": rsvp, "holders": [
        {"email": "ana@example.com", "name": "Ana Lima"}, {"email": "bo@example.com", "name": "Bo"}]}).get_json()

    rows = participants(tenant, event)
    assert [(p["email"], p["first_name"], p["last_name"], p["ticket_count"]) for p in rows] == [
        ("ana@example.com", "Ana", "Maria Lima", 4), ("bo@example.com", "Bo", "", 1)]
    ana, bo = rows
    ana_tickets = [t["id"] for t in bought + registered] + [comped["tickets"][0]["id"]]
    assert sorted(ana["ticket_ids"]) == sorted(ana_tickets) and bo["ticket_ids"] == [comped["tickets"][1]["id"]]
    assert ana["id"] not in ana_tickets and ana["confirmed"] is True

    shown = tenant.staff.get(f"/attendees/{ana['id']}")
    assert shown.status_code == 200, shown.get_json()
    body = shown.get_json()
    assert {k: body[k] for k in ("id", "email", "first_name", "last_name", "phone", "address", "confirmed")} == {
        "id": ana["id"], "email": "ana@example.com", "first_name": "Ana", "last_name": "Maria Lima",
        "phone": None, "address": None, "confirmed": True}
    assert sorted(t["id"] for t in body["tickets"]) == sorted(ana_tickets)
    assert {t["holderEmail"] for t in body["tickets"]} == {"ana@example.com"}
    with database.db.connection_context():
        assert Attendee.select().where(Attendee.org == tenant.orgid).count() == 2


def test_participant_ids_are_stable_attendee_ids(tenant):
    event = make_event(tenant)
    paid = make_type(tenant, event, price=15)
    other_event = make_event(tenant)
    other_type = make_type(tenant, other_event, price=15)
    customer = tenant.customer(email="dee@example.com", name="Dee Doe")
    paid_purchase(tenant, event, paid, "cy@example.com", "Cy")
    (first,) = participants(tenant, event)

    order = customer.post(PURCHASE, json={"eventId": event, "items": [{"ticketTypeId": paid, "quantity": 1}]})
    tenant.staff.post(f"/events/bookings/{order.get_json()['bookingId']}/mark-paid", json={"reference": "r"})
    again = paid_purchase(tenant, event, paid, "CY@example.com", "Cy Young")
    paid_purchase(tenant, other_event, other_type, "cy@example.com", "Cy")
    rows = participants(tenant, event)
    assert [(p["id"], p["email"], p["ticket_count"]) for p in rows] == [
        (first["id"], "cy@example.com", 2), (rows[1]["id"], "dee@example.com", 1)]
    assert rows[0]["last_name"] == "Young"   # filled in later, never blanked
    assert again[0]["id"] in rows[0]["ticket_ids"]
    assert [p["id"] for p in participants(tenant, other_event)] == [first["id"]]

    page_one = tenant.staff.get(f"/participants?eventId={event}&page=1&limit=1").get_json()
    page_two = tenant.staff.get(f"/participants?eventId={event}&page=2&limit=1").get_json()
    assert [p["id"] for p in page_one["participants"] + page_two["participants"]] == [p["id"] for p in rows]
    assert page_one["paginate"] == {"hasNextPage": True, "nextPage": 2}


def test_cancelled_tickets_leave_the_list_and_a_customers_phone_is_kept(tenant):
    registered = tenant.guest.post("/client/auth/register", json={
        "email": "Eve@example.com", "password": "correct-horse-9", "name": "Eve Moss", "phone": "+1555000111"})
    eve = tenant.guest.as_token(registered.get_json()["token"])
    event = make_event(tenant)
    rsvp = make_type(tenant, event, price=0)
    mine = eve.post(REGISTER, json={"eventId": event, "items": [{"ticketTypeId": rsvp, "quantity": 1}]})
    assert mine.status_code == 201, mine.get_json()
    gone = tenant.guest.post(REGISTER, json={"eventId": event, "ticketTypeId": rsvp, "email": "zed@example.com",
                                             "name": "Zed"}).get_json()["tickets"][0]
    assert tenant.staff.post(f"/events/tickets/{gone['id']}/cancel").status_code == 200
    (row,) = participants(tenant, event)
    assert (row["email"], row["first_name"], row["last_name"], row["phone"]) == (
        "eve@example.com", "Eve", "Moss", "+1555000111")
    assert row["ticket_ids"] == [mine.get_json()["tickets"][0]["id"]]


def test_pre_generated_tickets_are_nobodys_until_activated(tenant):
    event = make_event(tenant)
    door = make_type(tenant, event, name="Door", price=10)
    batch = tenant.staff.post(PREGEN, json={"eventId": event, "ticketTypeId": door, "quantity": 3}).get_json()
    assert batch["count"] == 3 and participants(tenant, event) == []
    with database.db.connection_context():
        assert not Ticket.select().where((Ticket.event == event) & Ticket.attendee.is_null(False)).exists()

    first, second, _ = (t["id"] for t in batch["tickets"])
    sold = tenant.staff.post(f"/events/tickets/{first}/activate",
                             json={"holderEmail": "Walk.In@example.com", "holderName": "Walk In"})
    assert sold.status_code == 200, sold.get_json()
    tenant.staff.post(f"/events/tickets/{second}/activate", json={"holderName": "No Mail"})
    rows = participants(tenant, event)
    assert [(p["email"], p["first_name"], p["ticket_ids"]) for p in rows] == [
        ("walk.in@example.com", "Walk", [first]), (None, "No", [second])]
    refused = tenant.staff.post(f"/events/tickets/{first}/activate", json={"holderEmail": "x@example.com"})
    assert refused.status_code == 409
    assert [p["email"] for p in participants(tenant, event)] == ["walk.in@example.com", None]
    with database.db.connection_context():
        assert not Attendee.select().where(Attendee.email_key == "x@example.com").exists()


def test_a_transfer_moves_the_ticket_to_the_recipients_attendee(tenant):
    event = make_event(tenant)
    rsvp = make_type(tenant, event, price=0)
    (ticket,) = tenant.guest.post(REGISTER, json={"eventId": event, "ticketTypeId": rsvp, "email": "old@example.com",
                                                  "name": "Old Owner"}).get_json()["tickets"]
    sent = tenant.staff.post(f"/events/tickets/{ticket['id']}/transfer",
                             json={"toEmail": "friend@example.com", "toName": "Fran Friend"}).get_json()
    (row,) = participants(tenant, event)
    new_id = sent["newTicket"]["id"]
    assert (row["email"], row["first_name"], row["ticket_ids"]) == ("friend@example.com", "Fran", [new_id])

    claimer = tenant.customer(email="fran.other@example.com", name="Fran Other")
    assert claimer.post("/client/events/tickets/claim", json={"token": sent["claimToken"]}).status_code == 200
    (row,) = participants(tenant, event)
    assert (row["email"], row["ticket_ids"]) == ("fran.other@example.com", [new_id])


def test_a_holder_edit_moves_the_ticket_to_the_new_holders_attendee(tenant):
    fan = tenant.customer(email="pat@example.com", name="Pat Doe")
    event = make_event(tenant)
    editable = make_type(tenant, event, price=0, editable=True, editableMinutes=60)
    bought = fan.post(PURCHASE, json={"eventId": event, "tickets": [{"ticketTypeId": editable, "quantity": 2}]})
    first, second = (t["id"] for t in bought.get_json()["tickets"])
    (pat,) = participants(tenant, event)
    edited = fan.patch(f"/client/events/tickets/{second}", json={"holderName": "Robin Vale",
                                                                 "holderEmail": "Robin@example.com"})
    assert edited.status_code == 200, edited.get_json()
    rows = participants(tenant, event)
    assert [(p["id"], p["email"], p["ticket_ids"]) for p in rows] == [
        (pat["id"], "pat@example.com", [first]), (rows[1]["id"], "Robin@example.com", [second])]
    assert rows[1]["first_name"] == "Robin"


def test_another_tenants_attendees_are_invisible(tenant, other_tenant):
    event = make_event(tenant)
    rsvp = make_type(tenant, event, price=0)
    tenant.guest.post(REGISTER, json={"eventId": event, "ticketTypeId": rsvp, "email": "sam@example.com",
                                      "name": "Sam"})
    theirs = make_event(other_tenant)
    their_type = make_type(other_tenant, theirs, price=0)
    other_tenant.guest.post(REGISTER, json={"eventId": theirs, "ticketTypeId": their_type,
                                            "email": "sam@example.com", "name": "Sam"})
    (mine,) = participants(tenant, event)
    (their,) = participants(other_tenant, theirs)
    assert mine["id"] != their["id"]
    for staff, attendee_id in ((other_tenant.staff, mine["id"]), (tenant.staff, their["id"]),
                               (tenant.staff, "no-such-attendee"), (tenant.staff, "x" * 300)):
        refused = staff.get(f"/attendees/{attendee_id}")
        assert refused.status_code == 404 and refused.get_json()["type"] == "attendee_not_found"
    assert tenant.customer().get(f"/attendees/{mine['id']}").status_code == 403
    assert tenant.guest.get(f"/attendees/{mine['id']}").status_code == 401
    assert other_tenant.staff.get(f"/events/{event}/participants").status_code == 404


def test_concurrent_purchases_with_one_email_make_one_attendee(live_server, tenant):
    event = make_event(tenant)
    free = make_type(tenant, event, price=0, capacity=200)

    def buy(i):
        body = {"eventId": event, "email": "Same.Person@example.com" if i % 2 else "same.person@EXAMPLE.com",
                "name": f"Same Person{i}", "items": [{"ticketTypeId": free, "quantity": 1}]}
        return requests.post(live_server.url + PURCHASE, json=body, headers={"orgid": tenant.orgid}, timeout=60)

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(buy, range(32)))
    assert {a.status_code for a in answers} == {201}
    ticket_ids = {t["id"] for a in answers for t in a.json()["tickets"]}
    (row,) = participants(tenant, event)
    assert row["email"] == "same.person@example.com" and row["ticket_count"] == 32
    assert set(row["ticket_ids"]) == ticket_ids
    with database.db.connection_context():
        assert Attendee.select().where(Attendee.org == tenant.orgid).count() == 1


def test_attendee_for_finds_by_email_and_fills_only_empty_fields(tenant):
    from core.services import attendees

    with database.db.connection_context():
        made = attendees.attendee_for(tenant.org, email=" Kim@Example.com ", first_name="Kim")
        assert (made.email, made.first_name, made.last_name, made.phone, made.confirmed_at) == (
            "Kim@Example.com", "Kim", "", None, None)
        again = attendees.attendee_for(tenant.org, email="kim@example.COM", first_name="", last_name="Park",
                                       phone="+44 20 0000", address="1 Main St")
        assert again.id == made.id
        assert (again.first_name, again.last_name, again.phone, again.address) == ("Kim", "Park", "+44 20 0000",
                                                                                    "1 Main St")
        kept = attendees.attendee_for(tenant.org, email="KIM@example.com", first_name="Other", phone="+1")
        assert (kept.id, kept.first_name, kept.phone) == (made.id, "Kim", "+44 20 0000")
        assert attendees.attendee(tenant.org, made.id).last_name == "Park"
        nobody = attendees.anonymous_attendee(tenant.org, first_name="Walk")
        other = attendees.anonymous_attendee(tenant.org, first_name="Walk")
        assert nobody.id != other.id and nobody.email is None
        try:
            attendees.attendee_for(tenant.org, email="long@example.com", first_name="x" * 201)
        except Exception as exc:   # noqa: BLE001 - the ApiError is what a view would answer
            assert (exc.status, exc.type) == (422, "invalid_attendee")
        else:
            raise AssertionError("a 201-character first name was accepted")
        assert not Attendee.select().where(Attendee.email_key == "long@example.com").exists()


def test_migration_22_backfills_existing_tickets(tenant):
    from core.migrations import m0022_attendees

    event = make_event(tenant)
    rsvp = make_type(tenant, event, price=0)
    door = make_type(tenant, event, name="Door", price=5)
    for email, name in (("lee@example.com", "Lee One"), ("LEE@example.com", "Lee"), ("max@example.com", "Max")):
        tenant.guest.post(REGISTER, json={"eventId": event, "ticketTypeId": rsvp, "email": email, "name": name})
    boxed = tenant.staff.post("/events/tickets/purchase", json={"eventId": event, "items": [
        {"ticketTypeId": rsvp, "quantity": 2}]}).get_json()["tickets"]
    pregen = tenant.staff.post(PREGEN, json={"eventId": event, "ticketTypeId": door, "quantity": 2}).get_json()
    activated, idle = (t["id"] for t in pregen["tickets"])
    tenant.staff.post(f"/events/tickets/{activated}/activate", json={"holderEmail": "max@example.com"})
    before = {p["email"]: sorted(p["ticket_ids"]) for p in participants(tenant, event)}

    with database.db.connection_context():   # the pre-state: tickets without attendees, no attendee rows
        Ticket.update(attendee=None).where(Ticket.org == tenant.orgid).execute()
        Attendee.delete().where(Attendee.org == tenant.orgid).execute()
        for _ in range(2):   # idempotent; each run in its transaction, as `core.migrations.upgrade` runs it
            with database.write_transaction():
                m0022_attendees.upgrade()
        assert Attendee.select().where(Attendee.org == tenant.orgid).count() == 3
        assert Ticket.get_by_id(idle).attendee_id is None
    after = {p["email"]: sorted(p["ticket_ids"]) for p in participants(tenant, event)}
    assert after == before
    assert set(after) == {"lee@example.com", "max@example.com", None}
    assert after[None] == sorted(t["id"] for t in boxed)
    lee = next(p for p in participants(tenant, event) if p["email"] == "lee@example.com")
    assert (lee["first_name"], lee["last_name"], lee["ticket_count"]) == ("Lee", "One", 2)
