"""The waiting list through the API: join only when sold out, position, leave; seats that come back (refund,
cancel, an expired hold, raised capacity) are offered to the first in line as a held booking before anyone
else can buy them; a paid offer issues tickets, a lapsed one passes on once; staff see the line and CSV."""

from __future__ import annotations

import csv
import io

import pytest
from test_purchase_support import age_booking, counters
from ticket_factory import issue, make_event

from core import db as database
from core.models import Booking, Ticket
from core.services import holds
from plugins.resale.waitlist_models import WaitlistEntry, WaitlistOffer

PURCHASE = "/client/events/tickets/purchase"


@pytest.fixture
def resale(tenant):
    tenant.enable("resale")
    return tenant


def sold_out(tenant, capacity: int = 2, price: int = 2500):
    """An event whose only type (`capacity` seats) is sold to a holder; returns (event, type, tickets)."""
    event, ticket_type = make_event(tenant, capacity=capacity, price=price)
    tickets = issue(tenant, ticket_type, capacity)
    return event, ticket_type, tickets


def join(customer, event, ticket_type, seats: int = 1):
    return customer.post(f"/client/events/{event.id}/waitlist",
                         json={"ticketTypeId": ticket_type.id, "seats": seats})


def entries_of(customer, event) -> list[dict]:
    response = customer.get(f"/client/events/{event.id}/waitlist")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["entries"]


def offers(tenant) -> list[WaitlistOffer]:
    """The tenant's offers, oldest first."""
    with database.db.connection_context():
        return list(WaitlistOffer.select().where(WaitlistOffer.org == tenant.orgid)
                    .order_by(WaitlistOffer.created_at, WaitlistOffer.id))


def test_join_is_refused_while_seats_are_on_sale_and_accepted_once_sold_out(resale):
    event, ticket_type = make_event(resale, capacity=3, price=2500)
    fan = resale.customer()
    refused = join(fan, event, ticket_type)
    assert refused.status_code == 409 and refused.get_json()["type"] == "not_sold_out"
    issue(resale, ticket_type, 3)
    joined = join(fan, event, ticket_type, 2)
    assert joined.status_code == 201, joined.get_json()
    entry = joined.get_json()["entry"]
    assert (entry["status"], entry["seats"], entry["position"], entry["offer"]) == ("waiting", 2, 1, None)

    second = resale.customer()
    assert join(second, event, ticket_type).get_json()["entry"]["position"] == 2
    again = join(fan, event, ticket_type, 4)   # joining again changes the seats, keeps the place
    assert again.status_code == 201 and again.get_json()["entry"]["position"] == 1
    assert [e["seats"] for e in entries_of(fan, event)] == [4]


def test_bad_input_is_a_4xx_and_changes_nothing(resale, other_tenant):
    event, ticket_type, _ = sold_out(resale)
    fan = resale.customer()
    assert join(fan, event, ticket_type, 0).status_code == 422
    too_many = join(fan, event, ticket_type, 11)
    assert too_many.status_code == 422 and too_many.get_json()["type"] == "too_many_seats"
    missing = fan.post(f"/client/events/{event.id}/waitlist", json={"ticketTypeId": "nope"})
    assert missing.status_code == 404 and missing.get_json()["type"] == "ticket_type_not_found"
    assert resale.guest.post(f"/client/events/{event.id}/waitlist",
                             json={"ticketTypeId": ticket_type.id}).status_code == 401
    leave = fan.delete(f"/client/events/{event.id}/waitlist")
    assert leave.status_code == 404 and leave.get_json()["type"] == "waitlist_entry_not_found"
    other_tenant.enable("resale")
    stranger = other_tenant.customer()
    foreign = stranger.post(f"/client/events/{event.id}/waitlist", json={"ticketTypeId": ticket_type.id})
    assert foreign.status_code == 404
    assert other_tenant.staff.get(f"/events/{event.id}/waitlist").status_code == 404
    with database.db.connection_context():
        assert WaitlistEntry.select().where(WaitlistEntry.org == resale.orgid).count() == 0


def test_a_tenant_without_the_plugin_gets_plugin_not_enabled(tenant):
    event, ticket_type, _ = sold_out(tenant)
    response = join(tenant.customer(), event, ticket_type)
    assert response.status_code == 404 and response.get_json()["type"] == "plugin_not_enabled"


def test_a_refund_offers_the_seat_to_the_first_in_line_before_any_buyer(resale):
    event, ticket_type, tickets = sold_out(resale)
    first, second = resale.customer(), resale.customer()
    assert join(first, event, ticket_type).status_code == 201
    assert join(second, event, ticket_type).status_code == 201

    refund = resale.staff.post(f"/events/tickets/{tickets[0].id}/cancel", json={})
    assert refund.status_code == 200, refund.get_json()

    (offer,) = offers(resale)
    assert offer.customer_id == first.customer_id and offer.status == "offered" and offer.seats == 1
    mine = entries_of(first, event)[0]
    assert mine["status"] == "offered" and mine["offer"]["bookingId"] == offer.booking_id
    assert mine["offer"]["expiresAt"]
    assert counters(event.id, ticket_type.id)["held"] == 1
    # nobody else can take it: the seat is held for the first in line
    stranger = resale.customer()
    bought = stranger.post(PURCHASE, json={"eventId": event.id, "items": [{"ticketTypeId": ticket_type.id,
                                                                             "quantity": 1}]})
    assert bought.status_code == 409 and bought.get_json()["type"] == "sold_out"
    assert entries_of(second, event)[0]["position"] == 2

    paid = resale.staff.post(f"/events/bookings/{offer.booking_id}/mark-paid", json={"reference": "cash-1"})
    assert paid.status_code == 200, paid.get_json()
    with database.db.connection_context():
        issued = Ticket.select().where(Ticket.booking == offer.booking_id)
        assert [(t.customer_id, t.status) for t in issued] == [(first.customer_id, "valid")]
    assert entries_of(first, event)[0]["status"] == "accepted"
    assert entries_of(second, event)[0]["position"] == 1


def test_an_offer_that_runs_out_passes_to_the_next_in_line_once(resale):
    event, ticket_type, tickets = sold_out(resale)
    first, second, third = resale.customer(), resale.customer(), resale.customer()
    for fan in (first, second, third):
        assert join(fan, event, ticket_type).status_code == 201
    resale.staff.post(f"/events/tickets/{tickets[0].id}/cancel", json={})
    (offer,) = offers(resale)
    age_booking(offer.booking_id, minutes=31)
    with database.db.connection_context():
        booking = Booking.get_by_id(offer.booking_id)
        assert holds.expire_booking(booking) and not holds.expire_booking(booking)   # one sweeper wins

    lapsed, passed = offers(resale)
    assert (lapsed.customer_id, lapsed.status) == (first.customer_id, "lapsed")
    assert (passed.customer_id, passed.status) == (second.customer_id, "offered")
    assert entries_of(first, event)[0]["status"] == "lapsed"
    assert entries_of(third, event)[0]["position"] == 2
    assert counters(event.id, ticket_type.id)["held"] == 1


def test_skip_ahead_a_bigger_request_keeps_its_place(resale):
    event, ticket_type, tickets = sold_out(resale, capacity=3)
    wants_two, wants_one = resale.customer(), resale.customer()
    assert join(wants_two, event, ticket_type, 2).status_code == 201
    assert join(wants_one, event, ticket_type, 1).status_code == 201
    resale.staff.post(f"/events/tickets/{tickets[0].id}/cancel", json={})
    (offer,) = offers(resale)
    assert offer.customer_id == wants_one.customer_id
    assert entries_of(wants_two, event)[0] | {"offer": None} == entries_of(wants_two, event)[0]
    assert entries_of(wants_two, event)[0]["status"] == "waiting"
    resale.staff.post(f"/events/tickets/{tickets[1].id}/cancel", json={})
    resale.staff.post(f"/events/tickets/{tickets[2].id}/cancel", json={})
    assert [o.customer_id for o in offers(resale)] == [wants_one.customer_id, wants_two.customer_id]
    assert offers(resale)[1].seats == 2


def test_raising_capacity_offers_the_new_seats_and_the_rest_go_on_sale(resale):
    event, ticket_type, _ = sold_out(resale)
    fan = resale.customer()
    assert join(fan, event, ticket_type, 2).status_code == 201
    raised = resale.staff.patch(f"/events/ticket-types/{ticket_type.id}", json={"capacity": 5})
    assert raised.status_code == 200, raised.get_json()
    (offer,) = offers(resale)
    assert offer.seats == 2 and offer.customer_id == fan.customer_id
    buyer = resale.customer()
    bought = buyer.post(PURCHASE, json={"eventId": event.id, "items": [{"ticketTypeId": ticket_type.id,
                                                                         "quantity": 1}]})
    assert bought.status_code in (200, 201), bought.get_json()


def test_raising_the_events_capacity_offers_the_new_seats(resale):
    event, ticket_type = make_event(resale, capacity_total=2, capacity=5, price=2500)
    issue(resale, ticket_type, 2)   # the event is full though its type has seats left
    fan = resale.customer()
    assert join(fan, event, ticket_type, 2).status_code == 201
    raised = resale.staff.patch(f"/events/{event.id}", json={"event": {"capacity": 4}})
    assert raised.status_code == 200, raised.get_json()
    (offer,) = offers(resale)
    assert offer.seats == 2 and offer.customer_id == fan.customer_id


def test_leaving_with_an_open_offer_gives_the_seats_to_the_next(resale):
    event, ticket_type, tickets = sold_out(resale)
    first, second = resale.customer(), resale.customer()
    join(first, event, ticket_type)
    join(second, event, ticket_type)
    resale.staff.post(f"/events/tickets/{tickets[0].id}/cancel", json={})
    left = first.delete(f"/client/events/{event.id}/waitlist")
    assert left.status_code == 200 and left.get_json()["entries"][0]["status"] == "left"
    withdrawn, passed = offers(resale)
    assert withdrawn.status == "withdrawn" and passed.customer_id == second.customer_id
    with database.db.connection_context():
        assert Booking.get_by_id(withdrawn.booking_id).status == "cancelled"
    assert counters(event.id, ticket_type.id)["held"] == 1


def test_staff_see_demand_the_line_and_offers_and_export_csv(resale):
    event, ticket_type, tickets = sold_out(resale)
    fans = [resale.customer(name=f"Fan {i}") for i in range(3)]
    for i, fan in enumerate(fans):
        assert join(fan, event, ticket_type, i + 1).status_code == 201
    resale.staff.post(f"/events/tickets/{tickets[0].id}/cancel", json={})
    view = resale.staff.get(f"/events/{event.id}/waitlist")
    assert view.status_code == 200, view.get_json()
    body = view.get_json()
    assert body["demand"] == [{"ticketTypeId": ticket_type.id, "ticketTypeName": "General", "entries": 3,
                               "seatsWanted": 6, "offered": 1}]
    assert [(row["position"], row["email"], row["status"]) for row in body["line"]] == [
        (1, fans[0].email, "offered"), (2, fans[1].email, "waiting"), (3, fans[2].email, "waiting")]
    assert [o["customerId"] for o in body["offers"]] == [fans[0].customer_id]
    exported = resale.staff.get(f"/events/{event.id}/waitlist.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [(r["position"], r["email"], r["offer_status"]) for r in rows] == [
        ("1", fans[0].email, "offered"), ("2", fans[1].email, ""), ("3", fans[2].email, "")]
    negotiated = resale.staff.get(f"/events/{event.id}/waitlist", headers={"Accept": "text/csv"})
    assert negotiated.get_data(as_text=True) == exported.get_data(as_text=True)


def test_each_state_change_is_emailed_and_sent_as_a_webhook(resale, config, monkeypatch):
    """Real SMTP to the loopback server and real HTTP to a loopback receiver: joined, offered (with the link to
    the booking's checkout page, read back from the e-mail and opened), accepted, lapsed and left."""
    from smtp_server import HttpReceiver, SmtpServer

    smtp, receiver = SmtpServer().start(), HttpReceiver().start()
    monkeypatch.setattr(config, "webhooks_allow_private", True)
    try:
        for plugin in ("notifications", "automation", "pages"):
            resale.enable(plugin)
        resale.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(smtp.port))
        from plugins.automation.service import EVENT_TYPES

        hooked = resale.staff.post("/automation/endpoints", json={"url": receiver.url,
                                                                  "eventTypes": list(EVENT_TYPES)})
        assert hooked.status_code == 201, hooked.get_json()
        event, ticket_type, tickets = sold_out(resale, capacity=2)
        first, second = resale.customer(name="First Fan"), resale.customer(name="Second Fan")
        join(first, event, ticket_type)
        join(second, event, ticket_type)
        resale.staff.post(f"/events/tickets/{tickets[0].id}/cancel", json={})
        (offer,) = offers(resale)
        age_booking(offer.booking_id, minutes=31)
        with database.db.connection_context():
            holds.expire_booking(Booking.get_by_id(offer.booking_id))
        passed = offers(resale)[1]
        resale.staff.post(f"/events/bookings/{passed.booking_id}/mark-paid", json={"reference": "cash-2"})
        resale.staff.post(f"/events/tickets/{tickets[1].id}/cancel", json={})
        third = resale.customer()
        # the seat freed went on sale (nobody waited any more): joining is refused
        assert join(third, event, ticket_type).get_json()["type"] == "not_sold_out"

        def mails(to):
            return [(m["Subject"], m) for m in smtp.messages if m["To"] == to and m["X-Boxoffice-Kind"] == "waitlist"]

        first_mails = mails(first.email)
        assert [s for s, _ in first_mails] == [
            f"You are on the waiting list for {event.name}", f"Seats are waiting for you: {event.name}",
            f"Your waiting-list offer for {event.name} ran out"]
        offered_text = first_mails[1][1].get_body(("plain",)).get_content()
        link = next(word for word in offered_text.split() if word.startswith("http"))
        page = resale.guest.flask.get(link.replace(config.public_url.rstrip("/"), ""))
        assert page.status_code == 200 and "General" in page.get_data(as_text=True)
        assert [s for s, _ in mails(second.email)] == [
            f"You are on the waiting list for {event.name}", f"Seats are waiting for you: {event.name}",
            f"Your waiting-list seats for {event.name} are yours"]
        left = second.delete(f"/client/events/{event.id}/waitlist")
        assert left.status_code == 404   # accepted: no longer in the line

        kinds = [(r.json()["type"], r.json()["data"]["entry"]["customerId"]) for r in receiver.received
                 if r.json()["type"].startswith("waitlist.")]
        assert kinds == [("waitlist.joined", first.customer_id), ("waitlist.joined", second.customer_id),
                         ("waitlist.offered", first.customer_id), ("waitlist.lapsed", first.customer_id),
                         ("waitlist.offered", second.customer_id), ("waitlist.accepted", second.customer_id)]
        assert all("checkout" not in r.body.decode() for r in receiver.received)
    finally:
        smtp.stop()
        receiver.stop()


def test_leaving_is_emailed(resale):
    from smtp_server import SmtpServer

    smtp = SmtpServer().start()
    try:
        resale.enable("notifications")
        resale.configure("notifications", smtp_host="127.0.0.1", smtp_port=str(smtp.port))
        event, ticket_type, _ = sold_out(resale)
        fan = resale.customer()
        join(fan, event, ticket_type)
        assert fan.delete(f"/client/events/{event.id}/waitlist?ticketTypeId={ticket_type.id}").status_code == 200
        subjects = [m["Subject"] for m in smtp.messages if m["X-Boxoffice-Kind"] == "waitlist"]
        assert subjects == [f"You are on the waiting list for {event.name}",
                            f"You left the waiting list for {event.name}"]
    finally:
        smtp.stop()


def test_an_offer_whose_booking_staff_cancelled_lapses_once_and_passes_on(resale):
    from plugins.resale import waitlist_offers

    event, ticket_type, tickets = sold_out(resale)
    first, second = resale.customer(), resale.customer()
    join(first, event, ticket_type)
    join(second, event, ticket_type)
    resale.staff.post(f"/events/tickets/{tickets[0].id}/cancel", json={})
    (offer,) = offers(resale)
    cancelled = resale.staff.post(f"/events/bookings/{offer.booking_id}/cancel", json={})
    assert cancelled.status_code == 200, cancelled.get_json()
    assert [o.status for o in offers(resale)] == ["offered"]   # no hook for it: the periodic sweep notices
    with database.db.connection_context():
        assert waitlist_offers.lapse_dead_booking_offers() == 1
        assert waitlist_offers.lapse_dead_booking_offers() == 0
    lapsed, passed = offers(resale)
    assert (lapsed.status, passed.customer_id, passed.status) == ("lapsed", second.customer_id, "offered")
    assert counters(event.id, ticket_type.id)["held"] == 1
