"""Free registration / RSVP: confirmed tickets without payment; paid types are refused."""

from __future__ import annotations

from test_purchase_support import counters, make_event, make_type

REGISTER = "/client/events/tickets/register"


def test_guest_and_customer_register_for_free(tenant):
    event = make_event(tenant)
    rsvp = make_type(tenant, event, name="RSVP", price=0, capacity=2)
    guest = tenant.guest.post(REGISTER, json={"eventId": event, "ticketTypeId": rsvp, "email": "Sam@Example.com",
                                              "name": "Sam"})
    assert guest.status_code == 201, guest.get_json()
    body = guest.get_json()
    assert body["status"] == "confirmed" and body["amount"] == 0 and body["source"] == "register"
    assert [t["holderEmail"] for t in body["tickets"]] == ["sam@example.com"]
    customer = tenant.customer()
    mine = customer.post(REGISTER, json={"eventId": event, "items": [{"ticketTypeId": rsvp, "quantity": 1}]})
    assert mine.status_code == 201 and mine.get_json()["tickets"][0]["holderEmail"] == customer.email
    full = tenant.guest.post(REGISTER, json={"eventId": event, "ticketTypeId": rsvp, "email": "a@b.co", "name": "A"})
    assert full.status_code == 409 and full.get_json()["type"] == "sold_out"
    assert counters(event, rsvp) == {"event_sold": 2, "event_held": 0, "tickets": 2, "sold": 2, "held": 0}


def test_paid_type_is_refused(tenant):
    event = make_event(tenant)
    paid = make_type(tenant, event, price=10)
    fee_only = make_type(tenant, event, name="Fee", price=0, serviceFeeAmount=1)
    for tt in (paid, fee_only):
        response = tenant.guest.post(REGISTER, json={"eventId": event, "ticketTypeId": tt, "email": "a@b.co",
                                                     "name": "A"})
        assert response.status_code == 422 and response.get_json()["type"] == "payment_required"
    assert counters(event)["tickets"] == 0


def test_register_validation(tenant):
    event = make_event(tenant)
    rsvp = make_type(tenant, event)
    no_contact = tenant.guest.post(REGISTER, json={"eventId": event, "ticketTypeId": rsvp})
    assert no_contact.status_code == 422 and set(no_contact.get_json()["errors"]["json"]) == {"email", "name"}
    nothing = tenant.guest.post(REGISTER, json={"eventId": event, "email": "a@b.co", "name": "A"})
    assert nothing.status_code == 422
    assert tenant.guest.post(REGISTER, json={"eventId": event, "ticketTypeId": rsvp, "email": "a@b.co", "name": "A",
                                             "paymentGateway": "free"}).status_code == 422
